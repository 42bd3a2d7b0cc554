/** Where the CLI writes: results to stdout, progress and diagnostics to stderr. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** True when stderr is a terminal, so progress may be redrawn in place. */
  readonly errIsTty: boolean;
  /** Width of the stderr terminal (80 when unknown). */
  columns(): number;
}

export function processIo(): Io {
  return {
    out: (text) => void process.stdout.write(text),
    err: (text) => void process.stderr.write(text),
    errIsTty: process.stderr.isTTY === true,
    columns: () => process.stderr.columns || 80,
  };
}
