import type { Io } from '../io.js';
import { fitWidth, formatBytes, formatDuration } from '../progress.js';
import type { BundleEntry } from './manifest.js';

/** What the status line shows while recording. */
export interface RecordingStatus {
  elapsedMs: number;
  durationMs: number;
  perfBytes: number;
  straceBytes: number | null;
  threads: number;
}

export function statusLine(s: RecordingStatus): string {
  const left = Math.max(0, s.durationMs - s.elapsedMs);
  const parts = [
    `[${formatSeconds(s.elapsedMs)} / ${formatSeconds(s.durationMs)}] recording`,
    `perf.data ${formatBytes(s.perfBytes)}`,
    ...(s.straceBytes === null ? [] : [`strace ${formatBytes(s.straceBytes)}`]),
    `${s.threads} thread${s.threads === 1 ? '' : 's'}`,
    `${formatDuration(left)} left (Ctrl-C stops)`,
  ];
  return parts.join(', ');
}

function formatSeconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

/** Non-TTY stderr gets a status line at most this often. */
const PLAIN_EVERY_MS = 5000;

/** Progress on stderr: a redrawn line on a terminal, a plain line every 5 s otherwise. */
export class Progress {
  private shown = false;
  private lastPlain = 0;

  constructor(private readonly io: Io) {}

  status(s: RecordingStatus): void {
    if (this.io.errIsTty) {
      this.io.err(`\r\x1b[2K${fitWidth(statusLine(s), Math.max(this.io.columns() - 1, 10))}`);
      this.shown = true;
    } else if (s.elapsedMs - this.lastPlain >= PLAIN_EVERY_MS) {
      this.lastPlain = s.elapsedMs;
      this.io.err(`${statusLine(s)}\n`);
    }
  }

  /** A message line (clearing the status line first). */
  say(text: string): void {
    this.clear();
    this.io.err(`${text}\n`);
  }

  warn(text: string): void {
    this.say(`warning: ${text}`);
  }

  clear(): void {
    if (this.shown) this.io.err('\r\x1b[2K');
    this.shown = false;
  }
}

/** The final summary on stdout: the bundle folder and each file with size, role, clock. */
export function summary(
  bundleDir: string,
  entries: readonly BundleEntry[],
  manifestBytes: number | null,
): string {
  const rows = [
    ...(manifestBytes === null ? [] : [['manifest.json', formatBytes(manifestBytes), 'manifest', '', '']]),
    ...entries.map((e) => [
      e.path,
      formatBytes(e.bytes),
      e.role,
      e.clock ?? '',
      e.partial === true ? 'partial' : '',
    ]),
  ];
  const widths = [0, 1, 2, 3].map((col) => Math.max(...rows.map((row) => (row[col] ?? '').length)));
  const lines = rows.map((row) =>
    [
      (row[0] ?? '').padEnd(widths[0] ?? 0),
      (row[1] ?? '').padStart(widths[1] ?? 0),
      (row[2] ?? '').padEnd(widths[2] ?? 0),
      (row[3] ?? '').padEnd(widths[3] ?? 0),
      row[4] ?? '',
    ]
      .join('  ')
      .trimEnd(),
  );
  const total = entries.reduce((sum, e) => sum + e.bytes, manifestBytes ?? 0);
  return `bundle: ${bundleDir}\n${lines.map((line) => `  ${line}\n`).join('')}  total ${formatBytes(total)}\n`;
}
