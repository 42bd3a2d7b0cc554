import type { GcEvent, GcParsedItem } from './gc-common.js';
import { allDigits, isDigitCode, issue, mibToBytes, minusClamped, msToNanos } from './gc-common.js';

/**
 * Node.js / V8 `--trace-gc` lines:
 *
 *   [<pid>:<isolate>] <ms> ms: <name> [(flags)] <before> (<committed>) -> <after> (<committed>) MB,
 *     [pooled: <n> MB, ] <pause> / <external> ms  [(+ … since start of marking …)] [(average mu = …)] <reason>[;]
 *
 * Old V8 (`Mark-sweep`, 1-decimal times, no trailing `;`) and new V8 (`Mark-Compact`, 2 decimals,
 * `;`) both parse; the `(average mu …)` group may be cut at the end of the line.
 *
 * Times: the `<ms>` column is the isolate's ms since its start (integer ms) read when the line is
 * printed, i.e. at the END of the pause, so startNs = ms − pause (clamped at 0), clock
 * 'process-start'. durationNs is the first (`pause`) number; the `external` callback time is not
 * added. Sizes are MiB (V8 divides by 1024²), converted to bytes with truncation.
 *
 * Threads: the log has no tid. On Linux the main thread's tid equals the process pid, so events of
 * the FIRST isolate seen in the file get tid = pid; events of other isolates (worker threads) get
 * tid null and are told apart by `isolate`.
 *
 * Lines without the `[pid:0x…] N ms: ` prefix (application stdout interleaved with the trace) and
 * prefixed lines that are not collections (`--trace-gc-verbose` detail) are skipped silently; a
 * collection line whose numbers cannot be read is an issue.
 */

const KNOWN = [
  'Scavenge',
  'Mark-Compact',
  'Mark-sweep',
  'Mark-Sweep',
  'Minor Mark-Compact',
  'Minor Mark-Sweep',
];
const MAX_LINE = 64 * 1024;

interface NodePrefix {
  readonly pid: number;
  readonly isolate: string;
  readonly ms: string;
  readonly bodyStart: number;
}

/** `[pid:0xaddr]   123 ms: ` → fields; null when the line does not start that way. */
export function parseNodeTraceGcPrefix(line: string): NodePrefix | null {
  if (line.charCodeAt(0) !== 91) return null;
  const colon = line.indexOf(':');
  const close = line.indexOf(']');
  if (colon < 2 || close < colon + 3 || close > 40) return null;
  const pidText = line.slice(1, colon);
  const isolate = line.slice(colon + 1, close);
  if (!allDigits(pidText) || pidText.length > 10 || !isolate.startsWith('0x')) return null;
  let i = close + 1;
  while (i < line.length && line.charCodeAt(i) === 32) i++;
  const msStart = i;
  while (i < line.length && (isDigitCode(line.charCodeAt(i)) || line.charCodeAt(i) === 46)) i++;
  if (i === msStart || !line.startsWith(' ms: ', i)) return null;
  return { pid: Number(pidText), isolate, ms: line.slice(msStart, i), bodyStart: i + 5 };
}

function isNumberToken(t: string): boolean {
  return t.length > 0 && isDigitCode(t.charCodeAt(0));
}

function unparen(t: string | undefined): string | null {
  return t !== undefined && t.startsWith('(') && t.endsWith(')') ? t.slice(1, -1) : null;
}

type NodeBody =
  | {
      readonly ok: true;
      readonly phase: string;
      readonly before: bigint;
      readonly after: bigint;
      readonly total: bigint;
      readonly pauseNs: bigint;
      readonly cause: string | undefined;
    }
  | { readonly ok: false; readonly field: string; readonly reason: string }
  | null;

function parseBody(body: string): NodeBody {
  const tokens = body.split(' ').filter((t) => t.length > 0);
  let k = 0;
  const name: string[] = [];
  while (k < tokens.length && !isNumberToken(tokens[k] ?? '')) {
    const t = tokens[k] ?? '';
    if (!t.startsWith('(')) name.push(t);
    k++;
  }
  const phase = name.join(' ');
  if (!KNOWN.includes(phase)) return null;
  // <before> (<committed>) -> <after> (<committed>) MB,
  const beforeText = tokens[k];
  const after = tokens[k + 3];
  const total = unparen(tokens[k + 4]);
  if (beforeText === undefined || tokens[k + 2] !== '->' || after === undefined || total === null)
    return {
      ok: false,
      field: 'heap',
      reason: 'expected <before> (<committed>) -> <after> (<committed>) MB',
    };
  if (tokens[k + 5] !== 'MB,')
    return { ok: false, field: 'heap', reason: "expected 'MB,' after the heap sizes" };
  const b = mibToBytes(beforeText);
  const a = mibToBytes(after);
  const t = mibToBytes(total);
  if (b === null || a === null || t === null)
    return { ok: false, field: 'heap', reason: 'unreadable heap size' };
  k += 6;
  if (tokens[k] === 'pooled:') k += 3;
  const pauseText = tokens[k];
  if (pauseText === undefined || tokens[k + 1] !== '/' || tokens[k + 3] !== 'ms')
    return { ok: false, field: 'pause', reason: 'expected <pause> / <external> ms' };
  const pauseNs = msToNanos(pauseText);
  if (pauseNs === null) return { ok: false, field: 'pause', reason: `unreadable pause '${pauseText}'` };
  // Reason: what is left after the parenthesised groups.
  const restStart = body.indexOf(' ms', body.indexOf(' / ')) + 3;
  let rest = body.slice(restStart).trim();
  while (rest.startsWith('(')) {
    let depth = 0;
    let j = 0;
    for (; j < rest.length; j++) {
      if (rest[j] === '(') depth++;
      else if (rest[j] === ')' && --depth === 0) break;
    }
    rest = j >= rest.length ? '' : rest.slice(j + 1).trim();
  }
  while (rest.endsWith(';')) rest = rest.slice(0, -1).trimEnd();
  return {
    ok: true,
    phase,
    before: b,
    after: a,
    total: t,
    pauseNs,
    cause: rest.length > 0 ? rest : undefined,
  };
}

/** Streams `node --trace-gc` output into {@link GcEvent}s and issues. */
export async function* parseNodeTraceGc(lines: AsyncIterable<string>): AsyncGenerator<GcParsedItem> {
  let lineNo = 0;
  let mainIsolate: string | null = null;
  for await (const raw of lines) {
    lineNo++;
    const line = raw.length > MAX_LINE ? raw.slice(0, MAX_LINE) : raw;
    const p = parseNodeTraceGcPrefix(line);
    if (p === null) continue;
    const b = parseBody(line.slice(p.bodyStart).trimEnd());
    if (b === null) continue;
    if (!b.ok) {
      yield issue(lineNo, b.reason, b.field);
      continue;
    }
    const endNs = msToNanos(p.ms);
    if (endNs === null) {
      yield issue(lineNo, `unreadable time '${p.ms}'`, 'time');
      continue;
    }
    mainIsolate ??= p.isolate;
    const ev: GcEvent = {
      kind: 'gc',
      line: lineNo,
      runtime: 'node',
      phase: b.phase,
      pause: true,
      tid: p.isolate === mainIsolate ? p.pid : null,
      clock: 'process-start',
      startNs: minusClamped(endNs, b.pauseNs),
      durationNs: b.pauseNs,
      heapBeforeBytes: b.before,
      heapAfterBytes: b.after,
      heapTotalBytes: b.total,
      ...(b.cause === undefined ? {} : { cause: b.cause }),
      pid: p.pid,
      isolate: p.isolate,
    };
    yield ev;
  }
}
