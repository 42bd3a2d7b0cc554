/** Why the recording ended. */
export type StopReason =
  | { kind: 'duration' }
  | { kind: 'signal'; signal: NodeJS.Signals }
  | { kind: 'target-exited' }
  | { kind: 'disk-full'; detail: string }
  | { kind: 'tool-failed'; detail: string };

/** Delivers SIGINT/SIGTERM to a handler; returns the unsubscribe function. */
export type SignalSource = (handler: (signal: NodeJS.Signals) => void) => () => void;

/**
 * The process's SIGINT and SIGTERM. While subscribed, neither kills the process:
 * the recorder decides (stop, abort, or exit at the third).
 */
export const processSignals: SignalSource = (handler) => {
  const onInt = (): void => handler('SIGINT');
  const onTerm = (): void => handler('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  return () => {
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
  };
};

/**
 * One place that decides when the recording stops and when the rest is abandoned:
 * the first stop request (duration, signal, target gone, disk full, tool failure)
 * ends the recording; a signal after that (a second Ctrl-C, or the first one once the
 * recording is over) aborts the post-processing and the upload; a third signal calls
 * `hardExit` (which kills the children and exits).
 */
export class StopControl {
  private reasonValue: StopReason | null = null;
  private resolveStopped: (reason: StopReason) => void = () => undefined;
  private readonly abortController = new AbortController();
  private signalCount = 0;
  /** Set once the children of the recording are stopped: any signal then aborts. */
  recordingOver = false;
  /** First disk-full error, whenever it happened. */
  diskFull: string | null = null;
  readonly stopped: Promise<StopReason>;

  constructor(private readonly hardExit: () => void) {
    this.stopped = new Promise((resolve) => (this.resolveStopped = resolve));
  }

  get reason(): StopReason | null {
    return this.reasonValue;
  }

  /** Aborted by a later signal: skip what is left, kill what runs. */
  get abortSignal(): AbortSignal {
    return this.abortController.signal;
  }

  get aborted(): boolean {
    return this.abortController.signal.aborted;
  }

  stop(reason: StopReason): void {
    if (this.reasonValue !== null) return;
    this.reasonValue = reason;
    this.resolveStopped(reason);
  }

  noteDiskFull(detail: string): void {
    this.diskFull ??= detail;
    this.stop({ kind: 'disk-full', detail });
  }

  signal(signal: NodeJS.Signals): void {
    this.signalCount++;
    if (this.signalCount >= 3) this.hardExit();
    else if (this.reasonValue === null && !this.recordingOver) this.stop({ kind: 'signal', signal });
    else this.abortController.abort();
  }
}

/** One line for the manifest warnings and stderr, or null for a normal end. */
export function describeStop(reason: StopReason, elapsedMs: number, durationMs: number): string | null {
  const when = `after ${(elapsedMs / 1000).toFixed(1)} s of ${(durationMs / 1000).toFixed(1)} s`;
  switch (reason.kind) {
    case 'duration':
      return null;
    case 'signal':
      return `recording stopped early by ${reason.signal} ${when}: the files cover only that time`;
    case 'target-exited':
      return `the target process exited ${when}: the recording ends there`;
    case 'disk-full':
      return `disk full ${when} (${reason.detail}): recording stopped, the files hold what was written until then`;
    case 'tool-failed':
      return `recording stopped ${when}: ${reason.detail}`;
  }
}
