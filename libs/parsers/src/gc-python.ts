import type { GcEvent, GcParsedItem } from './gc-common.js';
import { issue, minusClamped, parseScientificScaled } from './gc-common.js';
import { quoteNumberLiterals } from './jfr-json.js';
import { linuxTid } from './thread-list.js';

/**
 * JSON lines written by an application's own Python `gc.callbacks` hook. CPython calls the hook
 * with `phase` ("start"/"stop") and `info` ({generation, collected, uncollectable}) but no time
 * and no thread, so every hook writes its own layout; these field names are read
 * (test/fixtures/formats/python-gc has a real recording of each layout):
 *
 * - phase: `phase` = `start`|`begin` or `stop`|`end`. Without `phase`, a line is one whole
 *   collection, written at its stop, and needs a duration.
 * - generation: `generation` or `gen`, or CPython's `info` dict written as it is, nested
 *   (`"info": {"generation": 0, "collected": 0, "uncollectable": 0}`).
 * - time: `epochNs` (epoch ns) and `monotonicNs` (CLOCK_MONOTONIC ns), threadreel's own recorder
 *   (test/scenarios/python/server.py), which writes both; else `ts_ns`, `time_ns`, `t_ns`,
 *   `timestamp_ns` (integer ns), or `timestamp`, `ts`, `time` (an integer is ns, a decimal is
 *   seconds: `time.time()`, `time.monotonic()`). `start_ns` / `start` / `start_time` say the time is
 *   the collection's start (one-line records); any other time of a one-line or unpaired stop
 *   line is its end (start = end − duration).
 * - clock: `epochNs` is realtime and `monotonicNs` monotonic; any other time is CLOCK_REALTIME
 *   when it is at least 10^18 ns (2001-09-09 as an epoch, 31 years as an uptime), else
 *   CLOCK_MONOTONIC (`time.monotonic`, `time.perf_counter` and `monotonic_ns` read it on Linux):
 *   the event's clock says which, per line.
 * - duration: `durationNs`, `duration_ns`, `elapsed_ns` (ns), `duration_us`, `elapsed_us`,
 *   `duration_ms`, `elapsed_ms`, or `duration` / `elapsed` (integer ns, decimal seconds).
 * - thread: the first integer of `tid`, `native_id`, `thread_id`, `thread` pairs a start with its
 *   stop; it is the event's tid only when it can be a Linux tid (1..4194303, below PID_MAX_LIMIT = 2^22).
 *   A larger number is `threading.get_ident()` (a pthread_t address), which is not a tid. The
 *   thread's name: `thread_name`, `threadName`, or a `thread` that is text.
 * - `collected`, `uncollectable` (null or absent at start), `pid`: kept when given.
 *
 * Numbers are read as the text the writer printed (never through a JS number): integer ns as
 * bigint, decimal seconds split at the dot (and shifted by an exponent, `7.99e-05`).
 *
 * A start and the next stop of the same thread make one GcEvent: phase `gen<n>`, pause true (the
 * collector runs holding the GIL, so no other Python thread runs), startNs = the start's time,
 * durationNs = stop − start (in the monotonic clock when both lines carry one, else in the
 * lines' own clock, else the stop's duration field). `monotonicStartNs` is set when a realtime
 * line also carries `monotonicNs`.
 *
 * Issues: a line that is not a JSON object with a phase (or duration), a generation and a time;
 * a start while the same thread has a collection open (the earlier one is dropped); a stop
 * without a start and without a duration; a stop whose generation differs from its start. A
 * start still open at the end of input (the writer flushes in batches) is emitted with
 * durationNs null.
 */

const MAX_OPEN = 4096;
/** Times at or past this many ns are epoch (CLOCK_REALTIME) times; below, CLOCK_MONOTONIC. */
const EPOCH_MIN_NS = 10n ** 18n;

type Clock = 'realtime' | 'monotonic';
/** How a line's time relates to its collection: its start, its end, or the phase's moment. */
type TimeRole = 'start' | 'end' | 'event';

interface TimeKey {
  readonly key: string;
  /** `ns`: an integer of ns; `auto`: an integer of ns or decimal seconds. */
  readonly unit: 'ns' | 'auto';
  readonly role: TimeRole;
}

const TIME_KEYS: readonly TimeKey[] = [
  { key: 'start_ns', unit: 'ns', role: 'start' },
  { key: 'start', unit: 'auto', role: 'start' },
  { key: 'start_time', unit: 'auto', role: 'start' },
  { key: 'ts_ns', unit: 'ns', role: 'event' },
  { key: 'time_ns', unit: 'ns', role: 'event' },
  { key: 't_ns', unit: 'ns', role: 'event' },
  { key: 'timestamp_ns', unit: 'ns', role: 'event' },
  { key: 'timestamp', unit: 'auto', role: 'event' },
  { key: 'ts', unit: 'auto', role: 'event' },
  { key: 'time', unit: 'auto', role: 'event' },
];

/** Duration keys and the power of ten of their unit in seconds (`auto`: integer ns, decimal s). */
const DURATION_KEYS: readonly (readonly [string, number | 'auto'])[] = [
  ['durationNs', 9],
  ['duration_ns', 9],
  ['elapsed_ns', 9],
  ['duration_us', 6],
  ['elapsed_us', 6],
  ['duration_ms', 3],
  ['elapsed_ms', 3],
  ['duration', 'auto'],
  ['elapsed', 'auto'],
];

const THREAD_ID_KEYS = ['tid', 'native_id', 'thread_id', 'thread'] as const;
const THREAD_NAME_KEYS = ['thread_name', 'threadName', 'thread'] as const;

interface Stamp {
  readonly ns: bigint;
  readonly clock: Clock;
  readonly role: TimeRole;
}

interface GcLine {
  readonly line: number;
  /** null: a one-line record of a whole collection. */
  readonly phase: 'start' | 'stop' | null;
  readonly generation: number;
  /** Pairs a start with its stop: the thread's id as printed ('' when the line has none). */
  readonly threadKey: string;
  readonly tid: number | null;
  readonly threadName: string | undefined;
  readonly at: Stamp;
  /** `monotonicNs` beside an epoch `epochNs` (threadreel's recorder). */
  readonly monoNs: bigint | null;
  readonly durationNs: bigint | null;
  readonly collected: number | undefined;
  readonly uncollectable: number | undefined;
  readonly pid: number | undefined;
}

type LineResult =
  | { readonly ok: true; readonly rec: GcLine }
  | { readonly ok: false; readonly field: string; readonly reason: string };

type Fields = { readonly [k: string]: unknown };

const INT = /^-?\d{1,25}$/;
const NUMBER = /^-?\d/;

/** A number field as printed (numbers were quoted before parsing), or undefined. */
function numText(o: Fields, key: string): string | undefined {
  const v = o[key];
  return typeof v === 'string' && NUMBER.test(v) ? v : undefined;
}

function smallInt(o: Fields, key: string): number | undefined {
  const t = numText(o, key);
  return t !== undefined && INT.test(t) && t.length <= 15 ? Number(t) : undefined;
}

/** `text` in ns: an integer as ns; with `auto`, a decimal as seconds. */
function nanos(text: string, unit: 'ns' | 'auto'): bigint | null {
  if (/^\d{1,25}$/.test(text)) return BigInt(text);
  return unit === 'auto' ? parseScientificScaled(text, 9) : null;
}

function clockOf(ns: bigint): Clock {
  return ns >= EPOCH_MIN_NS ? 'realtime' : 'monotonic';
}

type Found<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly field: string; readonly reason: string }
  | null;

function readTime(o: Fields): Found<{ at: Stamp; monoNs: bigint | null }> {
  const exact = (key: string): Found<bigint> => {
    if (o[key] === undefined || o[key] === null) return null;
    const t = numText(o, key);
    const v = t === undefined ? null : nanos(t, 'ns');
    return v === null
      ? { ok: false, field: key, reason: `${key} is not an integer of ns` }
      : { ok: true, value: v };
  };
  const epoch = exact('epochNs');
  const mono = exact('monotonicNs');
  if (epoch?.ok === false) return epoch;
  if (mono?.ok === false) return mono;
  if (epoch !== null)
    return {
      ok: true,
      value: { at: { ns: epoch.value, clock: 'realtime', role: 'event' }, monoNs: mono?.value ?? null },
    };
  if (mono !== null)
    return { ok: true, value: { at: { ns: mono.value, clock: 'monotonic', role: 'event' }, monoNs: null } };
  for (const k of TIME_KEYS) {
    const v = o[k.key];
    if (v === undefined || v === null) continue;
    const t = numText(o, k.key);
    const ns = t === undefined ? null : nanos(t, k.unit);
    if (ns === null)
      return {
        ok: false,
        field: k.key,
        reason: `${k.key} is not ${k.unit === 'ns' ? 'an integer of ns' : 'a time (integer ns or decimal seconds)'}`,
      };
    return { ok: true, value: { at: { ns, clock: clockOf(ns), role: k.role }, monoNs: null } };
  }
  return null;
}

function readDuration(o: Fields): Found<bigint> {
  for (const [key, unit] of DURATION_KEYS) {
    const v = o[key];
    if (v === undefined || v === null) continue;
    const t = numText(o, key);
    const ns =
      t === undefined ? null : unit === 'auto' ? nanos(t, 'auto') : parseScientificScaled(t, 9 - unit);
    if (ns === null) return { ok: false, field: key, reason: `${key} is not a non-negative duration` };
    return { ok: true, value: ns };
  }
  return null;
}

function readThread(o: Fields): { key: string; tid: number | null; name: string | undefined } {
  let key = '';
  let tid: number | null = null;
  for (const k of THREAD_ID_KEYS) {
    const t = numText(o, k);
    if (t === undefined || !INT.test(t)) continue;
    if (key === '') key = t;
    tid = linuxTid(t);
    if (tid !== null) {
      key = t;
      break;
    }
  }
  let name: string | undefined;
  for (const k of THREAD_NAME_KEYS) {
    const v = o[k];
    if (typeof v === 'string' && !NUMBER.test(v)) {
      name = v;
      break;
    }
  }
  return { key, tid, name };
}

const PHASES: Readonly<Record<string, 'start' | 'stop'>> = {
  start: 'start',
  begin: 'start',
  stop: 'stop',
  end: 'stop',
};

function readLine(text: string, line: number): LineResult {
  let obj: unknown;
  try {
    obj = JSON.parse(quoteNumberLiterals(text, NUMBER));
  } catch {
    return { ok: false, field: 'json', reason: 'not valid JSON' };
  }
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj))
    return { ok: false, field: 'json', reason: 'not a JSON object' };
  const o = obj as Fields;
  const rawPhase = o['phase'];
  const phase =
    typeof rawPhase === 'string'
      ? Object.hasOwn(PHASES, rawPhase)
        ? PHASES[rawPhase]
        : undefined
      : rawPhase === undefined
        ? null
        : undefined;
  if (phase === undefined)
    return { ok: false, field: 'phase', reason: "phase is not 'start'/'begin' or 'stop'/'end'" };
  // The callback's `info` dict may be written as it comes, nested.
  const nested = o['info'];
  const info: Fields =
    typeof nested === 'object' && nested !== null && !Array.isArray(nested) ? (nested as Fields) : o;
  const generation =
    smallInt(o, 'generation') ??
    smallInt(o, 'gen') ??
    (info === o ? undefined : smallInt(info, 'generation'));
  if (generation === undefined || generation < 0)
    return { ok: false, field: 'generation', reason: 'missing generation (generation, gen)' };
  const time = readTime(o);
  if (time === null)
    return {
      ok: false,
      field: 'time',
      reason: 'no time field (ts_ns, time_ns, t_ns, timestamp, ts, time, start, epochNs…)',
    };
  if (!time.ok) return time;
  const duration = readDuration(o);
  if (duration?.ok === false) return duration;
  if (phase === null && duration === null)
    return { ok: false, field: 'phase', reason: 'neither a phase nor a duration: not a collection record' };
  const thread = readThread(o);
  return {
    ok: true,
    rec: {
      line,
      phase,
      generation,
      threadKey: thread.key,
      tid: thread.tid,
      threadName: thread.name,
      at: time.value.at,
      monoNs: time.value.monoNs,
      durationNs: duration?.value ?? null,
      collected: smallInt(o, 'collected') ?? smallInt(info, 'collected'),
      uncollectable: smallInt(o, 'uncollectable') ?? smallInt(info, 'uncollectable'),
      pid: smallInt(o, 'pid'),
    },
  };
}

/** Whether a line is a Python gc callback record of one of the layouts above. */
export function isPythonGcLine(line: string): boolean {
  return line.startsWith('{') && readLine(line, 0).ok;
}

function event(
  line: number,
  start: GcLine | null,
  stop: GcLine | null,
  at: Stamp,
  monoStartNs: bigint | null,
  durationNs: bigint | null,
): GcEvent {
  const r = stop ?? start;
  const gen = r?.generation ?? 0;
  const thread = start?.threadName ?? stop?.threadName;
  const pid = stop?.pid ?? start?.pid;
  return {
    kind: 'gc',
    line,
    runtime: 'python',
    phase: `gen${gen}`,
    pause: true,
    tid: r?.tid ?? null,
    clock: at.clock,
    startNs: at.ns,
    durationNs,
    ...(monoStartNs === null ? {} : { monotonicStartNs: monoStartNs }),
    ...(pid === undefined ? {} : { pid }),
    ...(thread === undefined ? {} : { threadName: thread }),
    ...(stop?.collected === undefined ? {} : { collected: stop.collected }),
    ...(stop?.uncollectable === undefined ? {} : { uncollectable: stop.uncollectable }),
  };
}

/** The collection a stop line (or a one-line record) closes on its own, from its duration. */
function fromDuration(rec: GcLine, durationNs: bigint): GcEvent {
  const start = rec.at.role === 'start';
  const at: Stamp = start ? rec.at : { ...rec.at, ns: minusClamped(rec.at.ns, durationNs) };
  const mono = rec.monoNs === null ? null : start ? rec.monoNs : minusClamped(rec.monoNs, durationNs);
  return event(rec.line, null, rec, at, mono, durationNs);
}

/**
 * stop − start: in the monotonic clock when both lines have one, else in their own clock, else
 * the stop's duration field.
 */
function pairDuration(start: GcLine, stop: GcLine): bigint | null {
  const [a, b] =
    start.monoNs !== null && stop.monoNs !== null
      ? [start.monoNs, stop.monoNs]
      : start.at.clock === stop.at.clock
        ? [start.at.ns, stop.at.ns]
        : [null, null];
  return a !== null && b !== null && b >= a ? b - a : stop.durationNs;
}

/** Streams Python gc.callbacks JSON lines into {@link GcEvent}s (one per collection) and issues. */
export async function* parsePythonGcJsonl(lines: AsyncIterable<string>): AsyncGenerator<GcParsedItem> {
  let lineNo = 0;
  const open = new Map<string, GcLine>();
  for await (const raw of lines) {
    lineNo++;
    const text = raw.trim();
    if (text.length === 0) continue;
    if (text.charCodeAt(0) !== 123 /* { */ || text.length > 64 * 1024) {
      yield issue(lineNo, 'not a JSON object line', 'json');
      continue;
    }
    const r = readLine(text, lineNo);
    if (!r.ok) {
      yield issue(lineNo, r.reason, r.field);
      continue;
    }
    const rec = r.rec;
    if (rec.phase === null) {
      // One line per collection: its duration is there (readLine checked).
      yield fromDuration(rec, rec.durationNs ?? 0n);
      continue;
    }
    const prev = open.get(rec.threadKey);
    const who = rec.threadKey === '' ? '' : ` (thread ${rec.threadKey})`;
    if (rec.phase === 'start') {
      if (prev !== undefined)
        yield issue(prev.line, `collection start without a stop${who} before line ${lineNo}`, 'phase');
      else if (open.size >= MAX_OPEN) {
        const oldest = open.keys().next();
        if (oldest.done !== true) open.delete(oldest.value);
      }
      open.set(rec.threadKey, rec);
      continue;
    }
    open.delete(rec.threadKey);
    if (prev !== undefined && prev.generation !== rec.generation) {
      yield issue(
        lineNo,
        `stop of generation ${rec.generation} after start of generation ${prev.generation}`,
        'generation',
      );
      continue;
    }
    if (prev !== undefined) {
      yield event(lineNo, prev, rec, prev.at, prev.monoNs, pairDuration(prev, rec));
      continue;
    }
    if (rec.durationNs === null) {
      yield issue(lineNo, `collection stop without a start${who} or a duration`, 'phase');
      continue;
    }
    yield fromDuration(rec, rec.durationNs);
  }
  for (const s of open.values()) yield event(s.line, s, null, s.at, s.monoNs, null);
}
