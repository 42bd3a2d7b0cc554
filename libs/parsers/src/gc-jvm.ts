import type { GcClock, GcEvent, GcParsedItem, SafepointEvent } from './gc-common.js';
import { allDigits, isDigitCode, issue, minusClamped, parseDecimalScaled } from './gc-common.js';

/**
 * JVM unified logging (`-Xlog:gc*,safepoint:…`, JDK 9+).
 *
 * A line is `[deco][deco]… message`: decorators are bracket groups glued together, the
 * message follows the first space after the last `]`. Each decorator is recognised by its
 * shape, so any subset/order works:
 *   ISO time (`time`/`utctime`, offset `+0000` or `+00:00`), `0.430s` (`uptime`), `<n>ms`
 *   (`timemillis` when ≥ 10^11, else `uptimemillis`), `<n>ns` (`timenanos`/`uptimenanos`,
 *   see {@link classifyNanos}), a level word, bare integers (`pid` then `tid`; a single one is
 *   the `tid`), tag lists (`gc,heap`, padded), anything else (`hostname`) ignored.
 *
 * Clock chosen for `startNs`, best first: `timenanos` → 'monotonic' (System.nanoTime, joins perf
 * `-k mono`); `time`/`utctime` → 'realtime' epoch ns (ms precision; tzOffsetMinutes set from
 * `time`); `timemillis` → 'realtime'; `uptimenanos`/`uptime`/`uptimemillis` → 'uptime'. When an
 * uptime decorator is present too, `uptimeStartNs` carries the start in uptime.
 *
 * Events: `GC(n) Pause …` lines with a duration → pause GcEvent; `Concurrent …`, ZGC `Major/Minor
 * Collection …` and `Garbage Collection …` with a duration → non-pause GcEvent. The log time is the
 * END of the event (the line prints when it finishes), so startNs = log time − duration.
 * `gc,start` lines (no duration) are remembered per GC id; a pause whose end never appears (file
 * cut) is emitted at end of input with durationNs null and startNs from its start line.
 * `Safepoint "op", … Total: N ns` (JDK 17+) and `Total time for which application threads were
 * stopped: S seconds` (JDK 9–16) → SafepointEvent.
 *
 * Policy for other lines: decorated lines that are not events (heap regions, metaspace, cpu,
 * sub-phases like `Evacuate Collection Set: 4.8ms`, init info) are skipped silently. A non-blank
 * line without decorators is reported as an issue (JDK 8 `-XX:+PrintGCDetails` text or foreign
 * output). An event line whose numbers cannot be read is an issue.
 */

interface Decorations {
  /** Log time in the chosen clock. */
  readonly timeNs: bigint | null;
  readonly clock: GcClock;
  readonly tzOffsetMinutes: number | undefined;
  readonly uptimeNs: bigint | null;
  readonly tid: number | null;
  readonly msgStart: number;
}

const KIND_GROUPS = new Set(['Normal', 'Concurrent Start', 'Prepare Mixed', 'Mixed', 'Major', 'Minor']);
const MAX_OPEN = 64;
const MAX_LINE = 64 * 1024;

function two(s: string, i: number): number {
  const a = s.charCodeAt(i) - 48;
  const b = s.charCodeAt(i + 1) - 48;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
}

/** `YYYY-MM-DDTHH:MM:SS[.f{1,9}][±HHMM|±HH:MM|Z]` → epoch ns and offset; null when not that shape. */
export function parseIsoTime(s: string): { epochNs: bigint; offsetMinutes: number | undefined } | null {
  if (s.length < 19 || s[4] !== '-' || s[7] !== '-' || (s[10] !== 'T' && s[10] !== ' ')) return null;
  if (s[13] !== ':' || s[16] !== ':' || !allDigits(s.slice(0, 4))) return null;
  const year = Number(s.slice(0, 4));
  const month = two(s, 5);
  const day = two(s, 8);
  const hour = two(s, 11);
  const minute = two(s, 14);
  const second = two(s, 17);
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour < 0 || hour > 23) return null;
  if (minute < 0 || minute > 59 || second < 0 || second > 60) return null;
  let i = 19;
  let fracNs = 0n;
  if (s[i] === '.') {
    let j = i + 1;
    while (j < s.length && isDigitCode(s.charCodeAt(j))) j++;
    const frac = s.slice(i + 1, j);
    if (frac.length === 0 || frac.length > 9) return null;
    fracNs = BigInt(frac.padEnd(9, '0'));
    i = j;
  }
  let offsetMinutes: number | undefined;
  if (i < s.length) {
    const sign = s[i];
    if (sign === 'Z' && i + 1 === s.length) offsetMinutes = 0;
    else if (sign === '+' || sign === '-') {
      const rest = s.slice(i + 1).replace(':', '');
      if (rest.length !== 4 || !allDigits(rest)) return null;
      const hh = Number(rest.slice(0, 2));
      const mm = Number(rest.slice(2));
      if (hh > 23 || mm > 59) return null;
      offsetMinutes = (sign === '-' ? -1 : 1) * (hh * 60 + mm);
    } else return null;
  }
  const ms = Date.UTC(year, month - 1, day, hour, minute, second);
  if (!Number.isFinite(ms)) return null;
  const epochNs = BigInt(ms) * 1_000_000n + fracNs - BigInt((offsetMinutes ?? 0) * 60) * 1_000_000_000n;
  return { epochNs, offsetMinutes };
}

function suffixed(text: string, suffix: string): string | null {
  if (!text.endsWith(suffix)) return null;
  const num = text.slice(0, -suffix.length);
  return allDigits(num) ? num : null;
}

/**
 * A lone `<n>ns` decorator is `uptimenanos` unless an uptime in seconds/millis on the same line
 * disagrees with it by more than a second (then it is `timenanos`, System.nanoTime). Two `ns`
 * decorators are `timenanos` then `uptimenanos` (canonical order).
 */
function classifyNanos(
  values: bigint[],
  uptimeNs: bigint | null,
): { time: bigint | null; up: bigint | null } {
  if (values.length >= 2) return { time: values[0] ?? null, up: values[1] ?? null };
  const v = values[0];
  if (v === undefined) return { time: null, up: null };
  if (uptimeNs !== null) {
    const d = v > uptimeNs ? v - uptimeNs : uptimeNs - v;
    if (d > 1_000_000_000n) return { time: v, up: null };
  }
  return { time: null, up: v };
}

type DecoResult = { readonly ok: true; readonly deco: Decorations } | { readonly ok: false };

function parseDecorations(line: string): DecoResult {
  let i = 0;
  let iso: { epochNs: bigint; offsetMinutes: number | undefined } | null = null;
  let uptimeS: bigint | null = null;
  let uptimeMs: bigint | null = null;
  let timeMs: bigint | null = null;
  const nanos: bigint[] = [];
  const ints: number[] = [];
  while (i < line.length && line.charCodeAt(i) === 91 /* [ */) {
    const close = line.indexOf(']', i + 1);
    if (close < 0) return { ok: false };
    const text = line.slice(i + 1, close).trim();
    i = close + 1;
    if (text.length === 0) continue;
    const c0 = text.charCodeAt(0);
    if (isDigitCode(c0)) {
      const isoTime = text.length >= 19 && text[4] === '-' ? parseIsoTime(text) : null;
      if (isoTime !== null) {
        iso ??= isoTime;
        continue;
      }
      if (allDigits(text)) {
        if (text.length <= 10) ints.push(Number(text));
        continue;
      }
      let num = suffixed(text, 'ns');
      if (num !== null) {
        nanos.push(BigInt(num));
        continue;
      }
      num = suffixed(text, 'ms');
      if (num !== null) {
        if (num.length >= 12) timeMs ??= BigInt(num);
        else uptimeMs ??= BigInt(num);
        continue;
      }
      if (text.endsWith('s')) {
        const v = parseDecimalScaled(text.slice(0, -1), 9);
        if (v !== null) {
          uptimeS ??= v;
          continue;
        }
      }
    }
    // level, tags and hostname carry nothing we need.
  }
  if (i === 0) return { ok: false };
  let upFromText: bigint | null = uptimeS;
  if (upFromText === null && uptimeMs !== null) upFromText = uptimeMs * 1_000_000n;
  const ns = classifyNanos(nanos, upFromText);
  const uptimeNs = ns.up ?? upFromText;
  let timeNs: bigint | null = null;
  let clock: GcClock = 'uptime';
  let tz: number | undefined;
  if (ns.time !== null) {
    timeNs = ns.time;
    clock = 'monotonic';
  } else if (iso !== null) {
    timeNs = iso.epochNs;
    clock = iso.offsetMinutes === undefined ? 'local-wall' : 'realtime';
    tz = iso.offsetMinutes;
  } else if (timeMs !== null) {
    timeNs = timeMs * 1_000_000n;
    clock = 'realtime';
  } else if (uptimeNs !== null) {
    timeNs = uptimeNs;
  }
  const tid = ints.length > 0 ? (ints[ints.length - 1] ?? null) : null;
  const msgStart = i < line.length && line.charCodeAt(i) === 32 ? i + 1 : i;
  return { ok: true, deco: { timeNs, clock, tzOffsetMinutes: tz, uptimeNs, tid, msgStart } };
}

/** `6M`, `2245K`, `1G`, `512B`, `74M(1%)` (percentage dropped) → bytes. */
function parseSize(text: string): bigint | null {
  const pct = text.indexOf('(');
  const t = pct > 0 ? text.slice(0, pct) : text;
  if (t.length < 1) return null;
  const unit = t[t.length - 1];
  let mult = 1n;
  let num = t;
  if (unit === 'K') mult = 1024n;
  else if (unit === 'M') mult = 1024n * 1024n;
  else if (unit === 'G') mult = 1024n * 1024n * 1024n;
  else if (unit === 'T') mult = 1024n ** 4n;
  if (unit === 'K' || unit === 'M' || unit === 'G' || unit === 'T' || unit === 'B') num = t.slice(0, -1);
  return allDigits(num) && num.length <= 20 ? BigInt(num) * mult : null;
}

interface Heap {
  readonly before: bigint;
  readonly after: bigint;
  readonly total: bigint | undefined;
}

/** `6M->2M(64M)` or ZGC `74M(1%)->36M(0%)`; null when the token is not a heap transition. */
function parseHeap(token: string): Heap | null {
  const arrow = token.indexOf('->');
  if (arrow <= 0) return null;
  const before = parseSize(token.slice(0, arrow));
  let rest = token.slice(arrow + 2);
  let total: bigint | undefined;
  const open = rest.indexOf('(');
  if (open > 0 && rest.endsWith(')')) {
    const inner = rest.slice(open + 1, -1);
    if (!inner.endsWith('%')) {
      const t = parseSize(inner);
      if (t === null) return null;
      total = t;
    }
    rest = rest.slice(0, open);
  }
  const after = parseSize(rest);
  return before === null || after === null ? null : { before, after, total };
}

/** `5.759ms`, `0.112s`, `12us`, `5ns` → ns; null when not a duration. */
function parseDuration(token: string): bigint | null {
  const units: readonly (readonly [string, number])[] = [
    ['ms', 6],
    ['us', 3],
    ['ns', 0],
    ['s', 9],
  ];
  for (const [unit, digits] of units) {
    if (token.endsWith(unit)) {
      const num = token.slice(0, -unit.length);
      return num.length > 0 && isDigitCode(num.charCodeAt(0)) ? parseDecimalScaled(num, digits) : null;
    }
  }
  return null;
}

interface GcBody {
  readonly gcId: number;
  /** `Pause Young (Normal)`, `Y: Pause Mark Start (Major)`, `Concurrent Mark Cycle`. */
  readonly phase: string;
  readonly pause: boolean;
  readonly cause: string | undefined;
  readonly heap: Heap | null;
  /** Null on a start line. */
  readonly durationNs: bigint | null;
}

type BodyResult =
  { readonly ok: true; readonly body: GcBody } | { readonly ok: false; readonly reason: string } | null;

/** Parses a `GC(n) …` message; null when it is not a collection/pause/concurrent-phase line. */
function parseGcBody(msg: string): BodyResult {
  if (!msg.startsWith('GC(')) return null;
  const close = msg.indexOf(')', 3);
  if (close < 0 || !allDigits(msg.slice(3, close)) || close - 3 > 9) return null;
  const gcId = Number(msg.slice(3, close));
  let rest = msg.slice(close + 1).trim();
  let prefix = '';
  if (rest.length > 3 && rest[1] === ':' && rest[2] === ' ' && (rest[0] === 'Y' || rest[0] === 'O')) {
    prefix = rest.slice(0, 3);
    rest = rest.slice(3);
  }
  const pause = rest.startsWith('Pause ');
  if (
    !pause &&
    !rest.startsWith('Concurrent ') &&
    !rest.startsWith('Major Collection') &&
    !rest.startsWith('Minor Collection') &&
    !rest.startsWith('Garbage Collection')
  )
    return null;
  // Peel the trailing duration and heap tokens.
  let durationNs: bigint | null = null;
  let heap: Heap | null = null;
  let sp = rest.lastIndexOf(' ');
  if (sp > 0) {
    const d = parseDuration(rest.slice(sp + 1));
    if (d !== null) {
      durationNs = d;
      rest = rest.slice(0, sp).trimEnd();
      sp = rest.lastIndexOf(' ');
    }
  }
  if (sp > 0 && rest.indexOf('->', sp) > 0) {
    heap = parseHeap(rest.slice(sp + 1));
    if (heap === null) return { ok: false, reason: `unreadable heap sizes '${rest.slice(sp + 1)}'` };
    rest = rest.slice(0, sp).trimEnd();
  }
  // Name, then balanced `(…)` groups: leading kind groups belong to the phase, the rest are causes.
  const firstGroup = rest.indexOf(' (');
  let phase = firstGroup < 0 ? rest : rest.slice(0, firstGroup);
  const causes: string[] = [];
  let i = firstGroup < 0 ? rest.length : firstGroup + 1;
  while (i < rest.length) {
    if (rest[i] === ' ') {
      i++;
      continue;
    }
    if (rest[i] !== '(')
      return { ok: false, reason: `unexpected text '${rest.slice(i)}' after the phase name` };
    let depth = 0;
    let j = i;
    for (; j < rest.length; j++) {
      if (rest[j] === '(') depth++;
      else if (rest[j] === ')' && --depth === 0) break;
    }
    if (j >= rest.length) return { ok: false, reason: 'unbalanced parentheses' };
    const group = rest.slice(i + 1, j);
    if (causes.length === 0 && KIND_GROUPS.has(group)) phase += ` (${group})`;
    else causes.push(group);
    i = j + 1;
  }
  return {
    ok: true,
    body: {
      gcId,
      phase: prefix + phase,
      pause,
      cause: causes.length > 0 ? causes.join('; ') : undefined,
      heap,
      durationNs,
    },
  };
}

type SafepointBody =
  | {
      readonly ok: true;
      readonly operation: string | null;
      readonly totalNs: bigint;
      readonly reachingNs?: bigint;
      readonly cleanupNs?: bigint;
      readonly atSafepointNs?: bigint;
    }
  | { readonly ok: false; readonly reason: string }
  | null;

const TOTAL_STOPPED = 'Total time for which application threads were stopped: ';

function parseSafepoint(msg: string): SafepointBody {
  if (msg.startsWith('Safepoint "')) {
    const q = msg.indexOf('"', 11);
    if (q < 0) return { ok: false, reason: 'unterminated safepoint operation name' };
    const operation = msg.slice(11, q);
    const fields = new Map<string, bigint>();
    for (const part of msg.slice(q + 1).split(',')) {
      const colon = part.indexOf(':');
      if (colon < 0) continue;
      const value = part.slice(colon + 1).trim();
      if (!value.endsWith(' ns')) continue;
      const num = value.slice(0, -3);
      if (allDigits(num) && num.length <= 20) fields.set(part.slice(0, colon).trim(), BigInt(num));
    }
    const total = fields.get('Total');
    if (total === undefined) return { ok: false, reason: 'safepoint line without a Total' };
    const r = fields.get('Reaching safepoint');
    const c = fields.get('Cleanup');
    const a = fields.get('At safepoint');
    return {
      ok: true,
      operation,
      totalNs: total,
      ...(r === undefined ? {} : { reachingNs: r }),
      ...(c === undefined ? {} : { cleanupNs: c }),
      ...(a === undefined ? {} : { atSafepointNs: a }),
    };
  }
  if (msg.startsWith(TOTAL_STOPPED)) {
    const rest = msg.slice(TOTAL_STOPPED.length);
    const sp = rest.indexOf(' seconds');
    const total = sp > 0 ? parseDecimalScaled(rest.slice(0, sp), 9) : null;
    if (total === null) return { ok: false, reason: 'unreadable stopped time' };
    const key = 'Stopping threads took: ';
    const k = rest.indexOf(key);
    const k2 = k < 0 ? -1 : rest.indexOf(' seconds', k);
    const reaching = k2 > 0 ? parseDecimalScaled(rest.slice(k + key.length, k2), 9) : null;
    return {
      ok: true,
      operation: null,
      totalNs: total,
      ...(reaching === null ? {} : { reachingNs: reaching }),
    };
  }
  return null;
}

interface OpenPause {
  readonly line: number;
  readonly deco: Decorations;
  readonly body: GcBody;
}

function gcEvent(
  line: number,
  deco: Decorations,
  body: GcBody,
  startNs: bigint,
  durationNs: bigint | null,
  uptimeStartNs: bigint | null,
): GcEvent {
  return {
    kind: 'gc',
    line,
    runtime: 'jvm',
    phase: body.phase,
    pause: body.pause,
    tid: deco.tid,
    clock: deco.clock,
    startNs,
    durationNs,
    gcId: body.gcId,
    ...(body.heap === null
      ? {}
      : {
          heapBeforeBytes: body.heap.before,
          heapAfterBytes: body.heap.after,
          ...(body.heap.total === undefined ? {} : { heapTotalBytes: body.heap.total }),
        }),
    ...(body.cause === undefined ? {} : { cause: body.cause }),
    ...(deco.tzOffsetMinutes === undefined ? {} : { tzOffsetMinutes: deco.tzOffsetMinutes }),
    ...(uptimeStartNs === null || deco.clock === 'uptime' ? {} : { uptimeStartNs }),
  };
}

function isBlank(s: string): boolean {
  return s.trim().length === 0;
}

/** Exposed for sniffing: whether a line carries unified-logging decorators. */
export function hasJvmDecorations(line: string): boolean {
  return line.charCodeAt(0) === 91 && parseDecorations(line).ok;
}

/** Streams JVM unified GC/safepoint log lines into {@link GcEvent}s, {@link SafepointEvent}s and issues. */

export async function* parseJvmGcLog(lines: AsyncIterable<string>): AsyncGenerator<GcParsedItem> {
  let lineNo = 0;
  /** Pauses whose `gc,start` line was seen, by GC id (a GC's pauses never overlap). */
  const open = new Map<number, OpenPause>();
  for await (const raw of lines) {
    lineNo++;
    const line = raw.length > MAX_LINE ? raw.slice(0, MAX_LINE) : raw;
    if (line.length === 0 || line.charCodeAt(0) !== 91) {
      if (!isBlank(line))
        yield issue(lineNo, 'not a JVM unified logging line (no [decorators])', 'decorators');
      continue;
    }
    const d = parseDecorations(line);
    if (!d.ok) {
      yield issue(lineNo, 'unterminated decorator', 'decorators');
      continue;
    }
    const deco = d.deco;
    const msg = line.slice(deco.msgStart).trim();
    const sp = parseSafepoint(msg);
    if (sp !== null) {
      if (!sp.ok) {
        yield issue(lineNo, sp.reason, 'safepoint');
        continue;
      }
      if (deco.timeNs === null) {
        yield issue(lineNo, 'no time decorator', 'decorators');
        continue;
      }
      const ev: SafepointEvent = {
        kind: 'safepoint',
        line: lineNo,
        runtime: 'jvm',
        operation: sp.operation,
        tid: deco.tid,
        clock: deco.clock,
        startNs: minusClamped(deco.timeNs, sp.totalNs),
        durationNs: sp.totalNs,
        ...(sp.reachingNs === undefined ? {} : { reachingNs: sp.reachingNs }),
        ...(sp.cleanupNs === undefined ? {} : { cleanupNs: sp.cleanupNs }),
        ...(sp.atSafepointNs === undefined ? {} : { atSafepointNs: sp.atSafepointNs }),
        ...(deco.tzOffsetMinutes === undefined ? {} : { tzOffsetMinutes: deco.tzOffsetMinutes }),
        ...(deco.uptimeNs === null || deco.clock === 'uptime'
          ? {}
          : { uptimeStartNs: minusClamped(deco.uptimeNs, sp.totalNs) }),
      };
      yield ev;
      continue;
    }
    const b = parseGcBody(msg);
    if (b === null) continue;
    if (!b.ok) {
      yield issue(lineNo, b.reason, 'gc');
      continue;
    }
    const body = b.body;
    if (body.durationNs === null) {
      if (body.pause) {
        if (open.size >= MAX_OPEN) {
          const oldest = open.keys().next();
          if (oldest.done !== true) open.delete(oldest.value);
        }
        open.set(body.gcId, { line: lineNo, deco, body });
      }
      continue;
    }
    // Any pause end closes its GC's open start, even if the start line spelled the phase differently.
    if (body.pause) open.delete(body.gcId);
    if (deco.timeNs === null) {
      yield issue(lineNo, 'no time decorator', 'decorators');
      continue;
    }
    const up = deco.uptimeNs === null ? null : minusClamped(deco.uptimeNs, body.durationNs);
    yield gcEvent(lineNo, deco, body, minusClamped(deco.timeNs, body.durationNs), body.durationNs, up);
  }
  for (const o of open.values()) {
    if (o.deco.timeNs === null) continue;
    yield gcEvent(o.line, o.deco, o.body, o.deco.timeNs, null, o.deco.uptimeNs);
  }
}
