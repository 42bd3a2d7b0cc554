import { hasJvmDecorations } from './gc-jvm.js';
import { parseNodeTraceGcPrefix } from './gc-node.js';
import { isGoGctraceLine } from './gc-go.js';
import { isPythonGcLine } from './gc-python.js';

export { parseJvmGcLog, parseIsoTime } from './gc-jvm.js';
export { parseNodeTraceGc, parseNodeTraceGcPrefix } from './gc-node.js';
export { parseGoGctrace } from './gc-go.js';
export { parsePythonGcJsonl } from './gc-python.js';

/** GC log formats {@link sniffGcFormat} can name. */
export const GC_FORMATS = ['jvm-unified', 'node-trace-gc', 'go-gctrace', 'python-gc-jsonl'] as const;
export type GcFormat = (typeof GC_FORMATS)[number];

const MAX_SNIFF_LINES = 200;

function jvmLooksGc(line: string): boolean {
  // A unified-logging line with a gc or safepoint tag set, or (no tags decorator) a GC(n) message.
  return (
    hasJvmDecorations(line) &&
    (line.includes('[gc') ||
      line.includes('[safepoint') ||
      line.includes('] GC(') ||
      line.includes('] Safepoint "'))
  );
}

/**
 * Guesses a GC log format from the first text of a file (decoded, one read chunk is enough).
 * Looks at up to 200 non-blank lines and returns the format of the first line that is
 * unmistakably one of them; null when none is (other output may precede the trace, e.g. Go's
 * gctrace interleaved with program stderr, so the first line alone is not decisive).
 */
export function sniffGcFormat(firstText: string): GcFormat | null {
  const lines = firstText.split('\n');
  let seen = 0;
  for (const raw of lines) {
    if (seen >= MAX_SNIFF_LINES) break;
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.trim().length === 0) continue;
    seen++;
    if (parseNodeTraceGcPrefix(line) !== null) return 'node-trace-gc';
    if (jvmLooksGc(line)) return 'jvm-unified';
    if (isGoGctraceLine(line) && / @\d+(\.\d+)?s \d+%: /.test(line)) return 'go-gctrace';
    if (isPythonGcLine(line)) return 'python-gc-jsonl';
  }
  return null;
}
