import { constants, gunzipSync } from 'node:zlib';
import { isGzip } from './lines.js';
import { PERF_HEADER_KEYS } from './perf-header.js';
import { parsePerfFrame, parsePerfHeader } from './perf-script.js';

/** Formats {@link sniffFormat} can name. */
export const SNIFFED_FORMATS = ['perf-script'] as const;
export type SniffedFormat = (typeof SNIFFED_FORMATS)[number];

const MAX_SNIFF_LINES = 200;

function decompressPrefix(bytes: Buffer): Buffer | null {
  try {
    // Z_SYNC_FLUSH decodes a prefix of a gzip stream without failing on the missing end.
    return gunzipSync(bytes, { finishFlush: constants.Z_SYNC_FLUSH });
  } catch {
    return null;
  }
}

function looksBinary(bytes: Buffer): boolean {
  const n = Math.min(bytes.length, 4096);
  for (let i = 0; i < n; i++) if (bytes[i] === 0) return true;
  return false;
}

function sniffPerfScript(text: string, complete: boolean, fileName: string): boolean {
  const lines = text.split('\n');
  // The last line may be cut in the middle unless the buffer holds the whole file.
  if (!complete && lines.length > 1) lines.pop();
  let sawPerfComment = false;
  let seen = 0;
  for (let i = 0; i < lines.length && seen < MAX_SNIFF_LINES; i++) {
    const line = (lines[i] ?? '').replace(/\r$/, '');
    if (line.trim().length === 0) continue;
    seen++;
    if (line.startsWith('#')) {
      if (PERF_HEADER_KEYS.test(line)) sawPerfComment = true;
      continue;
    }
    // The first non-comment line of perf script output is a record header.
    const h = parsePerfHeader(line);
    if (!h.ok) return false;
    if (h.header.timeNs !== null || h.header.cpu !== null || h.header.frame !== null) return true;
    // Without time or cpu the header is weakly typed: require a stack line or a perf hint.
    const next = lines[i + 1];
    if (next !== undefined && /^\s/.test(next) && parsePerfFrame(next) !== null) return true;
    return sawPerfComment || /perf/i.test(fileName);
  }
  return sawPerfComment;
}

/**
 * Guesses the format of a source file from its first bytes (one read chunk is enough; gzip is
 * recognised and its first chunk decompressed) and its name. Returns `'perf-script'` for
 * `perf script` text, or null when no known format matches (binary `perf.data` included).
 */
export function sniffFormat(firstBytes: Buffer, fileName: string): SniffedFormat | null {
  let bytes = firstBytes;
  if (isGzip(bytes)) {
    const inflated = decompressPrefix(bytes);
    if (inflated === null) return null;
    bytes = inflated;
  }
  if (bytes.length === 0) return null;
  if (bytes.subarray(0, 7).toString('latin1') === 'PERFILE' || looksBinary(bytes)) return null;
  let text = bytes.toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const baseName = fileName.replace(/^.*[\\/]/, '');
  // A caller passes one chunk: its last line may be cut unless the chunk ends with a newline.
  return sniffPerfScript(text, text.endsWith('\n'), baseName) ? 'perf-script' : null;
}
