import type { GcEvent, GcParsedItem } from './gc-common.js';
import { issue, minusClamped } from './gc-common.js';

/**
 * JSON lines written by a Python `gc.callbacks` hook (test/scenarios/python/server.py):
 *
 *   {"phase":"start"|"stop","generation":n,"epochNs":…,"monotonicNs":…,"tid":…,"thread":"…",
 *    "collected":…,"uncollectable":…[,"durationNs":…]}
 *
 * A start and the next stop of the same tid make one GcEvent: phase `gen<n>`, pause true (the
 * collector runs holding the GIL, so no other Python thread runs), clock 'realtime' with
 * startNs = start `epochNs`, `monotonicStartNs` = start `monotonicNs`, durationNs = stop − start
 * in the monotonic clock (the stop's `durationNs` when the start is missing). The ns values exceed
 * 2^53, so they are read from the raw text as bigint, never through a JS number.
 *
 * Issues: a line that is not a JSON object with phase/generation/tid/epochNs/monotonicNs; a
 * start while the same tid has a collection open (the earlier one is dropped); a stop without a
 * start and without `durationNs`; a stop whose generation differs from its start. A start still
 * open at the end of input (the writer flushes in batches) is emitted with durationNs null.
 */

const MAX_OPEN = 4096;

/** Reads `"key": <integer>` from raw JSON text as bigint (exact past 2^53). */
function rawInt(text: string, key: string): bigint | null {
  const needle = `"${key}"`;
  let at = text.indexOf(needle);
  if (at < 0) return null;
  at += needle.length;
  while (at < text.length && (text[at] === ' ' || text[at] === ':')) at++;
  let end = at;
  if (text[end] === '-') end++;
  while (end < text.length && text.charCodeAt(end) >= 48 && text.charCodeAt(end) <= 57) end++;
  const digits = text.slice(at, end);
  if (digits.length === 0 || digits === '-' || digits.length > 21) return null;
  const next = text[end];
  if (next === '.' || next === 'e' || next === 'E') return null;
  return BigInt(digits);
}

interface Record {
  readonly line: number;
  readonly phase: 'start' | 'stop';
  readonly generation: number;
  readonly tid: number;
  readonly thread: string | undefined;
  readonly epochNs: bigint;
  readonly monoNs: bigint;
  readonly durationNs: bigint | null;
  readonly collected: number | undefined;
  readonly uncollectable: number | undefined;
}

type RecordResult =
  | { readonly ok: true; readonly rec: Record }
  | { readonly ok: false; readonly field: string; readonly reason: string };

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

function readRecord(text: string, line: number): RecordResult {
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch {
    return { ok: false, field: 'json', reason: 'not valid JSON' };
  }
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj))
    return { ok: false, field: 'json', reason: 'not a JSON object' };
  const o = obj as { [k: string]: unknown };
  const phase = o['phase'];
  if (phase !== 'start' && phase !== 'stop')
    return { ok: false, field: 'phase', reason: "phase is not 'start' or 'stop'" };
  const generation = num(o['generation']);
  if (generation === undefined || !Number.isInteger(generation))
    return { ok: false, field: 'generation', reason: 'missing generation' };
  const tid = num(o['tid']);
  if (tid === undefined || !Number.isInteger(tid)) return { ok: false, field: 'tid', reason: 'missing tid' };
  if (typeof o['epochNs'] !== 'number' && typeof o['epochNs'] !== 'string')
    return { ok: false, field: 'epochNs', reason: 'missing epochNs' };
  const epochNs = typeof o['epochNs'] === 'string' ? rawStringInt(o['epochNs']) : rawInt(text, 'epochNs');
  if (epochNs === null) return { ok: false, field: 'epochNs', reason: 'epochNs is not an integer' };
  const monoNs =
    typeof o['monotonicNs'] === 'string' ? rawStringInt(o['monotonicNs']) : rawInt(text, 'monotonicNs');
  if (monoNs === null) return { ok: false, field: 'monotonicNs', reason: 'monotonicNs is not an integer' };
  const durationNs =
    o['durationNs'] === undefined
      ? null
      : typeof o['durationNs'] === 'string'
        ? rawStringInt(o['durationNs'])
        : rawInt(text, 'durationNs');
  const thread = typeof o['thread'] === 'string' ? o['thread'] : undefined;
  return {
    ok: true,
    rec: {
      line,
      phase,
      generation,
      tid,
      thread,
      epochNs,
      monoNs,
      durationNs,
      collected: num(o['collected']),
      uncollectable: num(o['uncollectable']),
    },
  };
}

function rawStringInt(s: string): bigint | null {
  return /^-?\d{1,21}$/.test(s) ? BigInt(s) : null;
}

function event(
  line: number,
  start: Record | null,
  stop: Record | null,
  startNs: bigint,
  monoStartNs: bigint,
  durationNs: bigint | null,
): GcEvent {
  const r = stop ?? start;
  const gen = r?.generation ?? 0;
  const thread = start?.thread ?? stop?.thread;
  return {
    kind: 'gc',
    line,
    runtime: 'python',
    phase: `gen${gen}`,
    pause: true,
    tid: r?.tid ?? null,
    clock: 'realtime',
    startNs,
    durationNs,
    monotonicStartNs: monoStartNs,
    ...(thread === undefined ? {} : { threadName: thread }),
    ...(stop?.collected === undefined ? {} : { collected: stop.collected }),
    ...(stop?.uncollectable === undefined ? {} : { uncollectable: stop.uncollectable }),
  };
}

/** Streams Python gc.callbacks JSON lines into {@link GcEvent}s (one per start/stop pair) and issues. */
export async function* parsePythonGcJsonl(lines: AsyncIterable<string>): AsyncGenerator<GcParsedItem> {
  let lineNo = 0;
  const open = new Map<number, Record>();
  for await (const raw of lines) {
    lineNo++;
    const text = raw.trim();
    if (text.length === 0) continue;
    if (text.charCodeAt(0) !== 123 /* { */ || text.length > 64 * 1024) {
      yield issue(lineNo, 'not a JSON object line', 'json');
      continue;
    }
    const r = readRecord(text, lineNo);
    if (!r.ok) {
      yield issue(lineNo, r.reason, r.field);
      continue;
    }
    const rec = r.rec;
    const prev = open.get(rec.tid);
    if (rec.phase === 'start') {
      if (prev !== undefined)
        yield issue(
          prev.line,
          `collection start without a stop (tid ${prev.tid}) before line ${lineNo}`,
          'phase',
        );
      else if (open.size >= MAX_OPEN) {
        const oldest = open.keys().next();
        if (oldest.done !== true) open.delete(oldest.value);
      }
      open.set(rec.tid, rec);
      continue;
    }
    open.delete(rec.tid);
    if (prev !== undefined && prev.generation !== rec.generation) {
      yield issue(
        lineNo,
        `stop of generation ${rec.generation} after start of generation ${prev.generation}`,
        'generation',
      );
      continue;
    }
    if (prev !== undefined) {
      const d = rec.monoNs >= prev.monoNs ? rec.monoNs - prev.monoNs : rec.durationNs;
      yield event(lineNo, prev, rec, prev.epochNs, prev.monoNs, d);
      continue;
    }
    if (rec.durationNs === null || rec.durationNs < 0n) {
      yield issue(lineNo, 'collection stop without a start or durationNs', 'phase');
      continue;
    }
    yield event(
      lineNo,
      null,
      rec,
      minusClamped(rec.epochNs, rec.durationNs),
      minusClamped(rec.monoNs, rec.durationNs),
      rec.durationNs,
    );
  }
  for (const s of open.values()) yield event(s.line, s, null, s.epochNs, s.monoNs, null);
}
