import type { CaptureDetail, DegradedPart, SourceFileReport, UploadAccepted } from '@threadreel/model';
import type { Io } from './io.js';

/** Capture states after which nothing changes any more. */
export function isFinished(detail: Pick<CaptureDetail, 'state'>): boolean {
  return detail.state === 'ready' || detail.state === 'degraded' || detail.state === 'failed';
}

/** `clocks strace.txt.gz (strace), tid 4242: why` — one degraded part on one line. */
export function degradedLine(p: DegradedPart): string {
  const where = [
    p.file ? `${p.file}${p.source ? ` (${p.source})` : ''}` : p.source,
    p.thread ? `tid ${p.thread.tid}` : null,
  ]
    .filter((x) => x)
    .join(', ');
  return `${p.stage}${where ? ` ${where}` : ''}: ${p.reason}`;
}

function toBigInt(decimal: string | number | null | undefined): bigint | null {
  if (decimal === null || decimal === undefined) return null;
  try {
    return BigInt(decimal);
  } catch {
    return null;
  }
}

/** `1234567` → `1,234,567`; decimal strings stay exact beyond 2^53. */
export function formatCount(decimal: string | number | null | undefined): string {
  const value = toBigInt(decimal);
  if (value === null) return decimal === null || decimal === undefined ? '-' : String(decimal);
  const digits = (value < 0n ? -value : value).toString();
  const grouped = digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return value < 0n ? `-${grouped}` : grouped;
}

/** `1536` → `1.5 KiB`. */
export function formatBytes(decimal: string | number | null | undefined): string {
  const value = toBigInt(decimal);
  if (value === null) return '-';
  if (value < 1024n) return `${value} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let size = Number(value) / 1024;
  let unit = 0;
  while (size >= 1024 && unit < units.length - 1) {
    size /= 1024;
    unit++;
  }
  return `${size >= 100 ? size.toFixed(0) : size.toFixed(1)} ${units[unit]}`;
}

export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '-';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const minutes = Math.floor(ms / 60_000);
  return `${minutes} min ${Math.round((ms % 60_000) / 1000)} s`;
}

function elapsed(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

function fileProgress(file: SourceFileReport): string {
  const events = toBigInt(file.events);
  const parts: string[] = [file.state];
  if (events !== null && (events > 0n || file.state === 'parsed'))
    parts.push(`${formatCount(file.events)} events`);
  const rejected = toBigInt(file.rejectedCount);
  if (rejected !== null && rejected > 0n) parts.push(`${formatCount(file.rejectedCount)} rejected`);
  return `${file.name}: ${parts.join(', ')}`;
}

/** One line describing where the capture is, e.g. for a redrawn TTY status line. */
export function progressLine(detail: CaptureDetail, elapsedMs: number): string {
  const files = detail.sourceFiles;
  const done = files.filter(
    (file) => file.state === 'parsed' || file.state === 'stored' || file.state === 'failed',
  ).length;
  const head = `[${elapsed(elapsedMs)}] ${detail.state}`;
  if (files.length === 0) return head;
  return [`${head}, ${done}/${files.length} files done`, ...files.map(fileProgress)].join(' | ');
}

/**
 * Plain lines for what changed between two polls (non-TTY progress): the capture
 * state, and each file whose state changed.
 */
export function progressChanges(
  previous: CaptureDetail | null,
  next: CaptureDetail,
  elapsedMs: number,
): string[] {
  const lines: string[] = [];
  const stamp = `[${elapsed(elapsedMs).padStart(6)}]`;
  if (previous === null || previous.state !== next.state) lines.push(`${stamp} capture ${next.state}`);
  const before = new Map((previous?.sourceFiles ?? []).map((file) => [file.id || file.name, file]));
  for (const file of next.sourceFiles) {
    const old = before.get(file.id || file.name);
    if (old === undefined || old.state !== file.state) lines.push(`${stamp}   ${fileProgress(file)}`);
  }
  return lines;
}

/** Truncates to `width` columns (code points), ending in an ellipsis when cut. */
export function fitWidth(text: string, width: number): string {
  const chars = [...text];
  if (chars.length <= width) return text;
  return width <= 1 ? chars.slice(0, width).join('') : `${chars.slice(0, width - 1).join('')}…`;
}

/** The per-file summary table printed when the capture finished. */
export function summaryTable(files: readonly SourceFileReport[]): string {
  const header = ['FILE', 'FORMAT', 'STATE', 'SIZE', 'LINES', 'EVENTS', 'REJECTED', 'PARSE'];
  const rightAligned = [false, false, false, true, true, true, true, true];
  const rows = files.map((file) => [
    file.name,
    file.format ?? '-',
    file.state,
    formatBytes(file.bytes),
    formatCount(file.lines),
    formatCount(file.events),
    formatCount(file.rejectedCount),
    formatDuration(file.parseMs),
  ]);
  const table = [header, ...rows];
  const widths = header.map((_, column) => Math.max(...table.map((row) => [...(row[column] ?? '')].length)));
  return table
    .map((row) =>
      row
        .map((cell, column) => {
          const width = widths[column] ?? 0;
          return rightAligned[column] ? cell.padStart(width) : cell.padEnd(width);
        })
        .join('  ')
        .trimEnd(),
    )
    .map((line) => `${line}\n`)
    .join('');
}

/**
 * Every reason the upload is not clean: files refused at upload, a failed capture, what
 * degraded (files and stages of the correlation the server lists), failed files, and each
 * rejected line the server listed (plus how many it did not).
 */
export function problemLines(detail: CaptureDetail | null, accepted: UploadAccepted): string[] {
  const lines: string[] = [];
  for (const refused of accepted.rejected)
    lines.push(`${refused.name}: refused at upload: ${refused.reason}`);
  if (detail === null) return lines;
  if (detail.state === 'failed') lines.push(`capture failed${detail.error ? `: ${detail.error}` : ''}`);
  // A file with an error, a note or rejected lines has its own lines below; every other part
  // (a file with no events, one not uploaded, clocks, threads, stages) is said here.
  const parts = Array.isArray(detail.degradedParts) ? detail.degradedParts : [];
  const saidBelow = new Set(
    detail.sourceFiles
      .filter((f) => f.state === 'failed' || f.error || f.note || (toBigInt(f.rejectedCount) ?? 0n) > 0n)
      .map((f) => f.name),
  );
  for (const p of parts)
    if (!(p.stage === 'parse' && p.file !== null && saidBelow.has(p.file)))
      lines.push(`degraded: ${degradedLine(p)}`);
  for (const file of detail.sourceFiles) {
    if (file.state === 'failed' || file.error)
      lines.push(`${file.name}: ${file.state}: ${file.error ?? 'no reason given'}`);
    else if (file.note) lines.push(`${file.name}: ${file.state}: ${file.note}`);
    for (const rejected of file.rejected) {
      const field = rejected.field ? ` ${rejected.field}:` : '';
      lines.push(`${file.name}:${rejected.line}:${field} ${rejected.reason}`);
    }
    const total = toBigInt(file.rejectedCount) ?? 0n;
    const unlisted = total - BigInt(file.rejected.length);
    if (unlisted > 0n) {
      lines.push(
        `${file.name}: ${formatCount(unlisted.toString())} more rejected lines (the server lists the first ${file.rejected.length})`,
      );
    }
  }
  return lines;
}

/** True when the finished capture is ready (not degraded) and nothing was refused, failed or rejected. */
export function isClean(detail: CaptureDetail, accepted: UploadAccepted): boolean {
  if (detail.state !== 'ready' || accepted.rejected.length > 0) return false;
  return detail.sourceFiles.every(
    (file) =>
      file.state !== 'failed' &&
      !file.error &&
      (toBigInt(file.rejectedCount) ?? 0n) === 0n &&
      file.rejected.length === 0,
  );
}

/** Silence on a non-TTY longer than this prints a heartbeat line. */
const HEARTBEAT_MS = 10_000;

/**
 * Shows polling progress on stderr: a single redrawn line on a terminal, plain
 * lines for changes (and a heartbeat every 10 s) otherwise.
 */
export class ProgressReporter {
  private previous: CaptureDetail | null = null;
  private lastLineAt = 0;
  private lineShown = false;

  constructor(private readonly io: Io) {}

  update(detail: CaptureDetail, elapsedMs: number): void {
    if (this.io.errIsTty) {
      const line = fitWidth(progressLine(detail, elapsedMs), Math.max(this.io.columns() - 1, 10));
      this.io.err(`\r\x1b[2K${line}`);
      this.lineShown = true;
    } else {
      let lines = progressChanges(this.previous, detail, elapsedMs);
      if (lines.length === 0 && elapsedMs - this.lastLineAt >= HEARTBEAT_MS)
        lines = [progressLine(detail, elapsedMs)];
      if (lines.length > 0) {
        this.io.err(lines.map((line) => `${line}\n`).join(''));
        this.lastLineAt = elapsedMs;
      }
    }
    this.previous = detail;
  }

  /** Removes the TTY status line so normal output can follow. */
  clear(): void {
    if (this.lineShown) this.io.err('\r\x1b[2K');
    this.lineShown = false;
  }
}
