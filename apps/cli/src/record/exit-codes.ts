/**
 * Exit codes of `threadreel record` (documented in the usage text). 0–3 and 130 mean
 * what they mean for the other commands; 10–17 are the recorder's own.
 */
export const RecordExit = {
  /** Bundle written (a Ctrl-C that only ended the recording early is still a success). */
  Ok: 0,
  /** With --upload: the capture failed or a file was refused/failed on the server. */
  Failed: 1,
  /** Bad command line, or --logs/--spans/--gc-log files that cannot be read. */
  Usage: 2,
  /** With --upload: server unreachable or HTTP error. */
  Server: 3,
  /** Not root, or root without the capabilities perf and strace need. */
  NotPermitted: 10,
  /** Unprivileged user and kernel.perf_event_paranoid is above -1. */
  ParanoidTooHigh: 11,
  /** perf, strace (or jcmd/jfr for --jfr) not found in PATH. */
  ToolMissing: 12,
  /** The target process does not exist (gone before the recording started). */
  NoSuchProcess: 13,
  /** The output folder cannot be created, is not empty, or is not writable. */
  OutputUnusable: 14,
  /** The target exited during the recording: partial bundle written. */
  TargetExited: 15,
  /** The disk filled up (ENOSPC): recording stopped, what was written is kept. */
  DiskFull: 16,
  /** perf record, perf script or strace failed (see stderr); what could be saved is kept. */
  ToolFailed: 17,
  /** A second Ctrl-C (SIGINT/SIGTERM) aborted the post-processing or the upload. */
  Interrupted: 130,
} as const;
export type RecordExit = (typeof RecordExit)[keyof typeof RecordExit];

/** A failed check before or during the recording, with the exit code it maps to. */
export class RecordError extends Error {
  override readonly name = 'RecordError';
  constructor(
    readonly code: RecordExit,
    message: string,
  ) {
    super(message);
  }
}
