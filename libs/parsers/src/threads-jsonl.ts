import type { Nanos, ParseIssue, ThreadSighting } from '@threadreel/model';
import { issue } from './gc-common.js';

/**
 * `threads.jsonl` of a bundle (docs/bundle-format.md): one JSON object per thread per snapshot,
 *
 *   {"snapshot":0,"tNs":"2701782514199","realtimeNs":"1795301505824746378","pid":4242,"tid":4250,"comm":"http-nio-8080-e"}
 *
 * → one {@link ThreadSighting} per line: source 'proc', clock 'monotonic', timeNs = `tNs`,
 * realtimeNs, snapshot, pid, tid, name = `comm`, event 'snapshot'.
 *
 * Field checks (each failure is an issue naming the field, and the line is dropped):
 * `snapshot` a non-negative integer; `tNs` a decimal string of digits (a bare JSON integer is
 * also accepted, read from the raw text so it stays exact); `realtimeNs` the same but optional;
 * `pid` and `tid` positive integers; `comm` a string of at most 64 characters (the kernel cuts it
 * to 15 bytes; longer text is not a comm). Unknown extra fields are ignored. Blank lines are skipped.
 */

export type ThreadsJsonlItem = ThreadSighting | ParseIssue;

const MAX_LINE = 64 * 1024;
const MAX_COMM = 64;

type Check<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: string };

/** Reads `"key": <integer>` from the raw line (exact past 2^53); null when absent or not an integer. */
function rawInt(text: string, key: string): string | null {
  const m = new RegExp(`"${key}"\\s*:\\s*(-?\\d{1,25})(?![\\d.eE])`).exec(text);
  return m?.[1] ?? null;
}

function nanosField(o: { [k: string]: unknown }, text: string, key: string): Check<Nanos> {
  const v = o[key];
  if (typeof v === 'string') {
    if (!/^\d{1,20}$/.test(v)) return { ok: false, reason: `${key} is not a decimal string of digits` };
    return { ok: true, value: BigInt(v) };
  }
  if (typeof v === 'number') {
    const raw = rawInt(text, key);
    if (raw === null || raw.startsWith('-') || raw.length > 20)
      return { ok: false, reason: `${key} is not a non-negative integer` };
    return { ok: true, value: BigInt(raw) };
  }
  return { ok: false, reason: v === undefined ? `missing ${key}` : `${key} is not a string` };
}

function intField(o: { [k: string]: unknown }, key: string, min: number): Check<number> {
  const v = o[key];
  if (v === undefined) return { ok: false, reason: `missing ${key}` };
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min)
    return { ok: false, reason: `${key} is not an integer ≥ ${min}` };
  return { ok: true, value: v };
}

/** Streams threads.jsonl lines into {@link ThreadSighting}s and issues. */
export async function* parseThreadsJsonl(lines: AsyncIterable<string>): AsyncGenerator<ThreadsJsonlItem> {
  let lineNo = 0;
  for await (const raw of lines) {
    lineNo++;
    const text = raw.trim().replace(/^\uFEFF/, '');
    if (text.length === 0) continue;
    if (text.length > MAX_LINE || text.charCodeAt(0) !== 123 /* { */) {
      yield issue(lineNo, 'not a JSON object line', 'json');
      continue;
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      yield issue(lineNo, 'not valid JSON', 'json');
      continue;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      yield issue(lineNo, 'not a JSON object', 'json');
      continue;
    }
    const o = value as { [k: string]: unknown };
    const snapshot = intField(o, 'snapshot', 0);
    if (!snapshot.ok) {
      yield issue(lineNo, snapshot.reason, 'snapshot');
      continue;
    }
    const tNs = nanosField(o, text, 'tNs');
    if (!tNs.ok) {
      yield issue(lineNo, tNs.reason, 'tNs');
      continue;
    }
    let realtimeNs: Nanos | undefined;
    if (o['realtimeNs'] !== undefined) {
      const r = nanosField(o, text, 'realtimeNs');
      if (!r.ok) {
        yield issue(lineNo, r.reason, 'realtimeNs');
        continue;
      }
      realtimeNs = r.value;
    }
    const pid = intField(o, 'pid', 1);
    if (!pid.ok) {
      yield issue(lineNo, pid.reason, 'pid');
      continue;
    }
    const tid = intField(o, 'tid', 1);
    if (!tid.ok) {
      yield issue(lineNo, tid.reason, 'tid');
      continue;
    }
    const comm = o['comm'];
    if (typeof comm !== 'string' || comm.length > MAX_COMM) {
      yield issue(
        lineNo,
        comm === undefined ? 'missing comm' : `comm is not a string of at most ${MAX_COMM} characters`,
        'comm',
      );
      continue;
    }
    yield {
      kind: 'thread',
      line: lineNo,
      source: 'proc',
      clock: 'monotonic',
      timeNs: tNs.value,
      ...(realtimeNs === undefined ? {} : { realtimeNs }),
      snapshot: snapshot.value,
      pid: pid.value,
      tid: tid.value,
      runtimeThreadId: null,
      name: comm,
      event: 'snapshot',
    };
  }
}

/** Confident check on the first KiB: the first line is a threads.jsonl record. */
export function sniffThreadsJsonl(headText: string): boolean {
  const head = headText.slice(0, 1024).replace(/^\uFEFF/, '');
  const first = head.split('\n').find((l) => l.trim().length > 0);
  if (first === undefined) return false;
  const line = first.trim();
  if (!line.startsWith('{')) return false;
  // `snapshot` then `tNs` (the writer's field order) is distinctive enough, even on a cut line.
  return /^\{\s*"snapshot"\s*:\s*\d+\s*,\s*"tNs"\s*:\s*"?\d+"?\s*,/.test(line);
}
