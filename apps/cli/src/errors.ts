/** Process exit codes of the CLI (documented in the usage text). */
export const ExitCode = {
  /** The capture is ready and every file parsed cleanly. */
  Ok: 0,
  /** The capture failed or is degraded (a file failed / was refused / had rejected lines…), or waiting timed out. */
  Failed: 1,
  /** Bad command line, or a path that cannot be uploaded. */
  Usage: 2,
  /** The server could not be reached or answered with an HTTP error. */
  Server: 3,
  /** Interrupted by SIGINT while uploading or waiting. */
  Interrupted: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** A problem with the command line or the local files named on it (exit code 2). */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
