import { open, type FileHandle } from 'node:fs/promises';

/** A byte range of a file that starts at a record, with the number of its first line. */
export interface ByteRange {
  readonly start: number;
  /** Exclusive. */
  readonly end: number;
  readonly firstLine: number;
}

const LF = 10;
const CR = 13;
const WINDOW = 64 * 1024;
const COUNT_CHUNK = 1024 * 1024;

/**
 * Cuts a plain `perf script` file into byte ranges of about `rangeBytes`, each starting at a
 * record: perf closes every record's call chain with a blank line, so a range starts at the
 * first line after a blank line past its nominal start, where the parser's state is that of a
 * fresh file (no open record). Line numbers come from one count of the newlines before the
 * last cut. A gzipped file cannot be cut (a deflate stream cannot be entered at an arbitrary
 * offset) and a file without blank lines (no call graphs) stays one range. strace output is
 * not cut either: a call's `<unfinished ...>` and `<... resumed>` halves may lie on both sides
 * of any cut.
 */
export async function perfScriptRanges(path: string, size: number, rangeBytes: number): Promise<ByteRange[]> {
  const fh = await open(path, 'r');
  try {
    const cuts: number[] = [];
    for (let target = rangeBytes; target < size; target += rangeBytes) {
      const last = cuts.at(-1) ?? 0;
      const cut = await recordStartFrom(fh, Math.max(target, last + 1), size);
      if (cut === null) break;
      cuts.push(cut);
    }
    const lines = await lineNumbersAt(fh, cuts);
    const starts = [0, ...cuts];
    return starts.map((start, i) => ({
      start,
      end: cuts[i] ?? size,
      firstLine: i === 0 ? 1 : (lines[i - 1] as number),
    }));
  } finally {
    await fh.close();
  }
}

/** Offset of the first non-empty line after a blank line that starts at or after `from`, else null. */
async function recordStartFrom(fh: FileHandle, from: number, size: number): Promise<number | null> {
  const buf = Buffer.allocUnsafe(WINDOW);
  // Start one line early: the blank line may end right at `from`.
  let pos = Math.max(0, from - 2);
  while (pos < size) {
    const { bytesRead } = await fh.read(buf, 0, WINDOW, pos);
    if (bytesRead === 0) return null;
    const b = buf.subarray(0, bytesRead);
    for (let i = b.indexOf(LF); i >= 0; i = b.indexOf(LF, i + 1)) {
      let k = i + 1;
      let blank = false;
      for (;;) {
        if (k < b.length && b[k] === LF) k++;
        else if (k + 1 < b.length && b[k] === CR && b[k + 1] === LF) k += 2;
        else break;
        blank = true;
      }
      if (!blank) continue;
      if (k >= b.length) break; // the run of blank lines reaches the window's end: read on from it
      if (pos + k >= from) return pos + k;
    }
    if (pos + bytesRead >= size) return null;
    pos += Math.max(1, bytesRead - 4);
  }
  return null;
}

/** For each offset (ascending, each at a line start): the number of the line that starts there. */
async function lineNumbersAt(fh: FileHandle, offsets: readonly number[]): Promise<number[]> {
  const out: number[] = [];
  const buf = Buffer.allocUnsafe(COUNT_CHUNK);
  let newlines = 0;
  let pos = 0;
  for (const offset of offsets) {
    while (pos < offset) {
      const { bytesRead } = await fh.read(buf, 0, Math.min(COUNT_CHUNK, offset - pos), pos);
      if (bytesRead === 0) break;
      for (let i = buf.indexOf(LF); i >= 0 && i < bytesRead; i = buf.indexOf(LF, i + 1)) newlines++;
      pos += bytesRead;
    }
    out.push(newlines + 1);
  }
  return out;
}
