import type { LogZone, Nanos } from '@threadreel/model';

/**
 * Shared pieces of the log parser: timestamps (ISO-ish text with a zone, or zone-less local
 * time resolved through an IANA zone), epoch numbers, and trace/span id normalisation.
 * Only anchored, fixed-shape regexes are used (no nested quantifiers).
 */

const NS_PER_MS = 1_000_000n;

export interface TimeResult {
  readonly timeNs: Nanos | null;
  readonly zone: LogZone;
  /** Set when the text looked like a time but a value was out of range. */
  readonly error?: string;
}

/** Parsed `YYYY-MM-DD[T ]HH:MM:SS[.,frac][Z|±HH[:]MM]` prefix. */
export interface IsoParts {
  readonly end: number;
  readonly y: number;
  readonly mo: number;
  readonly d: number;
  readonly h: number;
  readonly mi: number;
  readonly s: number;
  /** Fraction digits padded to 9 (ns). */
  readonly fracNs: bigint;
  /** Offset in minutes east of UTC; null when the text carries no zone. */
  readonly offsetMin: number | null;
}

const ISO_RE =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d{1,9}))?(Z|z|[+-]\d{2}(?::?\d{2})?)?/;

/** Matches an ISO-like date-time at the start of `s` (no validation of ranges). */
export function matchIsoPrefix(s: string): IsoParts | null {
  const m = ISO_RE.exec(s);
  if (!m) return null;
  const z = m[8];
  let offsetMin: number | null = null;
  if (z !== undefined) {
    if (z === 'Z' || z === 'z') offsetMin = 0;
    else {
      const sign = z.startsWith('-') ? -1 : 1;
      const digits = z.slice(1).replace(':', '');
      offsetMin = sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4) || '0'));
    }
  }
  return {
    end: m[0].length,
    y: Number(m[1]),
    mo: Number(m[2]),
    d: Number(m[3]),
    h: Number(m[4]),
    mi: Number(m[5]),
    s: Number(m[6]),
    fracNs: BigInt((m[7] ?? '').padEnd(9, '0')),
    offsetMin,
  };
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** Returns an error message when `timeZone` is not an IANA zone this runtime knows, else null. */
export function checkTimeZone(timeZone: string): string | null {
  try {
    formatterFor(timeZone);
    return null;
  } catch (e) {
    return e instanceof Error ? e.message : 'invalid time zone';
  }
}

/** Offset of `timeZone` from UTC at epoch ms `t`, in ms. */
function zoneOffsetMs(timeZone: string, t: number): number {
  const parts = formatterFor(timeZone).formatToParts(new Date(t));
  const get = (type: string): number => Number(parts.find((p) => p.type === type)?.value ?? '0');
  const asUtc = Date.UTC(
    get('year'),
    get('month') - 1,
    get('day'),
    get('hour'),
    get('minute'),
    get('second'),
  );
  return asUtc - (t - (((t % 1000) + 1000) % 1000));
}

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
const MAX_OFFSET_CACHE = 4096;
/** `zone|wall hour` → offset (ms). Zone transitions fall on whole wall hours in current tzdata. */
const offsetCache = new Map<string, number>();

/**
 * Epoch ms of a wall-clock time in `timeZone`. An ambiguous time (autumn fold) resolves to the
 * earlier instant; a time in a spring gap uses the offset before the gap (shifting it forward
 * by the gap length, as java.time does). Offsets are cached per zone and wall hour.
 */
function localToEpochMs(timeZone: string, wallAsUtc: number): number {
  const hour = Math.floor(wallAsUtc / HOUR_MS);
  const key = `${timeZone}|${hour}`;
  let offset = offsetCache.get(key);
  if (offset === undefined) {
    const probe = hour * HOUR_MS + HOUR_MS / 2;
    const before = zoneOffsetMs(timeZone, probe - DAY_MS);
    const after = zoneOffsetMs(timeZone, probe + DAY_MS);
    const valid = [before, after].filter((o) => zoneOffsetMs(timeZone, probe - o) === o);
    offset = valid.length > 0 ? Math.max(...valid) : before;
    if (offsetCache.size >= MAX_OFFSET_CACHE) offsetCache.clear();
    offsetCache.set(key, offset);
  }
  return wallAsUtc - offset;
}

function validParts(p: IsoParts): boolean {
  return p.mo >= 1 && p.mo <= 12 && p.d >= 1 && p.d <= 31 && p.h <= 23 && p.mi <= 59 && p.s <= 60;
}

/** Resolves matched ISO parts to epoch ns, applying the explicit offset or else `timeZone`. */
export function isoToNanos(p: IsoParts, timeZone: string | undefined): TimeResult {
  const zone: LogZone = p.offsetMin !== null ? 'explicit' : timeZone ? 'manifest' : 'assumed-utc';
  if (!validParts(p)) return { timeNs: null, zone, error: 'date or time value out of range' };
  const wall = Date.UTC(p.y, p.mo - 1, p.d, p.h, p.mi, p.s);
  if (Number.isNaN(wall)) return { timeNs: null, zone, error: 'unrepresentable date' };
  let ms: number;
  if (p.offsetMin !== null) ms = wall - p.offsetMin * 60_000;
  else if (timeZone) {
    try {
      ms = localToEpochMs(timeZone, wall);
    } catch {
      return { timeNs: null, zone, error: `unknown time zone '${timeZone}'` };
    }
  } else ms = wall;
  return { timeNs: BigInt(ms) * NS_PER_MS + p.fracNs, zone };
}

const DECIMAL_RE = /^(\d{1,20})(?:\.(\d{1,30}))?$/;

/**
 * Converts a non-negative decimal (as text) in the given unit to ns exactly, truncating
 * below 1 ns. `unitNs` is 1e9 for seconds, 1e6 for ms, 1e3 for µs, 1 for ns.
 */
export function decimalToNanos(text: string, unitNs: bigint): Nanos | null {
  const m = DECIMAL_RE.exec(text);
  if (!m) return null;
  const whole = BigInt(m[1] ?? '0') * unitNs;
  const fracText = m[2] ?? '';
  if (fracText === '' || unitNs === 1n) return whole;
  const scale = 10n ** BigInt(fracText.length);
  return whole + (BigInt(fracText) * unitNs) / scale;
}

/**
 * An epoch number of unknown unit (JSON `time`, `@timestamp` as number, OTel `timeUnixNano`):
 * the unit is guessed from the magnitude (seconds < 1e11 < ms < 1e14 < µs < 1e17 < ns).
 */
export function epochToNanos(value: number | string, unit?: 's' | 'ms' | 'us' | 'ns'): Nanos | null {
  const text = typeof value === 'number' ? numberText(value) : value.trim();
  if (text === null) return null;
  const intLen = (text.split('.')[0] ?? '').length;
  const u = unit ?? (intLen <= 11 ? 's' : intLen <= 14 ? 'ms' : intLen <= 17 ? 'us' : ('ns' as const));
  const unitNs = u === 's' ? 1_000_000_000n : u === 'ms' ? NS_PER_MS : u === 'us' ? 1000n : 1n;
  return decimalToNanos(text, unitNs);
}

function numberText(n: number): string | null {
  if (!Number.isFinite(n) || n < 0) return null;
  const t = String(n);
  return /e/i.test(t) ? (Number.isSafeInteger(n) ? BigInt(n).toString() : null) : t;
}

const HEX32_RE = /^[0-9a-fA-F]{32}$/;
const HEX16_RE = /^[0-9a-fA-F]{16}$/;
const DEC_RE = /^\d{1,20}$/;
const TRACEPARENT_RE = /^[0-9a-f]{2}-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$/i;
const ZERO32 = '0'.repeat(32);
const ZERO16 = '0'.repeat(16);
const U64_MASK = (1n << 64n) - 1n;

/**
 * Normalises a trace id value to 32 lower hex, or null (empty, `-`, `0`, all zeros, junk).
 * `decimal` marks Datadog-style fields whose ids are unsigned 64-bit decimal: they become
 * 16 hex left-padded to 32 (Datadog ids are the lower 64 bits of the W3C trace id).
 * A W3C `traceparent` value is accepted too.
 */
export function normalizeTraceId(value: unknown, decimal = false): string | null {
  if (typeof value === 'number') {
    return decimal && Number.isSafeInteger(value) && value > 0 ? normalizeTraceId(String(value), true) : null;
  }
  if (typeof value !== 'string') return null;
  const v = value.trim();
  if (HEX32_RE.test(v)) {
    const lower = v.toLowerCase();
    return lower === ZERO32 ? null : lower;
  }
  if (decimal && DEC_RE.test(v)) {
    const n = BigInt(v) & U64_MASK;
    return n === 0n ? null : n.toString(16).padStart(32, '0');
  }
  if (HEX16_RE.test(v) && !decimal) {
    // 64-bit hex trace ids (Zipkin B3 short ids): the lower 64 bits of the W3C id.
    const lower = v.toLowerCase().padStart(32, '0');
    return lower === ZERO32 ? null : lower;
  }
  const tp = TRACEPARENT_RE.exec(v);
  if (tp?.[1] !== undefined) {
    const lower = tp[1].toLowerCase();
    return lower === ZERO32 ? null : lower;
  }
  return null;
}

/** Span id to 16 lower hex (decimal for Datadog fields; the span part of a traceparent). */
export function normalizeSpanId(value: unknown, decimal = false): string | null {
  if (typeof value === 'number') {
    return decimal && Number.isSafeInteger(value) && value > 0 ? normalizeSpanId(String(value), true) : null;
  }
  if (typeof value !== 'string') return null;
  const v = value.trim();
  if (HEX16_RE.test(v)) {
    const lower = v.toLowerCase();
    return lower === ZERO16 ? null : lower;
  }
  if (decimal && DEC_RE.test(v)) {
    const n = BigInt(v) & U64_MASK;
    return n === 0n ? null : n.toString(16).padStart(16, '0');
  }
  const tp = TRACEPARENT_RE.exec(v);
  if (tp?.[2] !== undefined) {
    const lower = tp[2].toLowerCase();
    return lower === ZERO16 ? null : lower;
  }
  return null;
}

/** `key=value` keys in text that carry a trace id; `true` = Datadog decimal. */
const TEXT_TRACE_KEYS: readonly (readonly [string, boolean])[] = [
  ['trace_id=', false],
  ['traceId=', false],
  ['trace.id=', false],
  ['traceid=', false],
  ['otelTraceID=', false],
  ['dd.trace_id=', true],
  ['traceparent=', false],
];

const TEXT_SPAN_KEYS: readonly (readonly [string, boolean])[] = [
  ['span_id=', false],
  ['spanId=', false],
  ['span.id=', false],
  ['otelSpanID=', false],
  ['dd.span_id=', true],
];

function isIdChar(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70) || c === 45; /* - */
}

function valueAt(text: string, from: number): string {
  let i = from;
  if (text.charCodeAt(i) === 34 /* " */) i++;
  const start = i;
  while (i < text.length && i - start < 64 && isIdChar(text.charCodeAt(i))) i++;
  return text.slice(start, i);
}

function keyBoundary(text: string, at: number): boolean {
  if (at === 0) return true;
  const c = text.charCodeAt(at - 1);
  // Not preceded by an identifier character (so `xtrace_id=` and `dd.trace_id=` vs `trace_id=` differ).
  return !((c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c === 46);
}

/** Adds every `trace_id=`-style id found in free text to `out` (de-duplicated). */
export function scanTextTraceIds(text: string, out: string[]): void {
  for (const [key, decimal] of TEXT_TRACE_KEYS) {
    let at = text.indexOf(key);
    while (at >= 0) {
      if (keyBoundary(text, at)) {
        const id = normalizeTraceId(valueAt(text, at + key.length), decimal);
        if (id !== null && !out.includes(id)) out.push(id);
      }
      at = text.indexOf(key, at + key.length);
    }
  }
}

/** First `span_id=`-style id in free text, or null. */
export function scanTextSpanId(text: string): string | null {
  for (const [key, decimal] of TEXT_SPAN_KEYS) {
    let at = text.indexOf(key);
    while (at >= 0) {
      if (keyBoundary(text, at)) {
        const id = normalizeSpanId(valueAt(text, at + key.length), decimal);
        if (id !== null) return id;
      }
      at = text.indexOf(key, at + key.length);
    }
  }
  return null;
}

const PINO_LEVELS: Readonly<Record<number, string>> = {
  10: 'trace',
  20: 'debug',
  30: 'info',
  40: 'warn',
  50: 'error',
  60: 'fatal',
};

/** Level as text: pino numeric levels are mapped to their labels, other numbers kept as text. */
export function levelText(value: unknown): string | null {
  if (typeof value === 'number') return PINO_LEVELS[value] ?? String(value);
  if (typeof value === 'string') return value === '' ? null : value;
  return null;
}
