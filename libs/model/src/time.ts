/**
 * Nanosecond timestamps are bigint in code and decimal strings on the wire and in COPY
 * rows. They never pass through a JS number (2^53 ns is only 104 days).
 */
export type Nanos = bigint;

const NS_DIGITS = 9;

/**
 * Parses a decimal seconds value such as `202513.231785` or `1.000000123` into integer
 * nanoseconds without floating point. Returns null when the text is not a plain decimal.
 */
export function parseSecondsToNanos(text: string): Nanos | null {
  const m = /^(\d+)(?:\.(\d{1,9}))?$/.exec(text);
  if (!m) return null;
  const whole = m[1] ?? '0';
  const frac = (m[2] ?? '').padEnd(NS_DIGITS, '0');
  return BigInt(whole) * 1_000_000_000n + BigInt(frac);
}

const NS_PER_S = 1_000_000_000n;
const POW10 = [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000, 1_000_000_000];
/** Whole-second parts are at most 15 digits on the fast path: exact as a number. */
const MAX_FAST_WHOLE_DIGITS = 15;
let lastWhole = -1;
let lastWholeNs = 0n;

/**
 * {@link parseSecondsToNanos} of `text.slice(start, end)` without the slice or a regex: same
 * results, null in the same cases. Consecutive timestamps usually share their whole seconds,
 * whose nanoseconds are remembered, so most calls do one small bigint addition.
 */
export function parseSecondsToNanosAt(text: string, start: number, end: number): Nanos | null {
  let i = start;
  let whole = 0;
  while (i < end) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) break;
    whole = whole * 10 + (c - 48);
    i++;
  }
  const wholeEnd = i;
  if (wholeEnd === start) return null;
  let frac = 0;
  if (i < end) {
    if (text.charCodeAt(i) !== 46 /* . */) return null;
    i++;
    const fracStart = i;
    while (i < end) {
      const c = text.charCodeAt(i);
      if (c < 48 || c > 57) return null;
      frac = frac * 10 + (c - 48);
      i++;
    }
    const digits = i - fracStart;
    if (digits === 0 || digits > NS_DIGITS) return null;
    frac *= POW10[NS_DIGITS - digits] ?? 1;
  }
  if (wholeEnd - start > MAX_FAST_WHOLE_DIGITS)
    return BigInt(text.slice(start, wholeEnd)) * NS_PER_S + BigInt(frac);
  if (whole !== lastWhole) {
    lastWhole = whole;
    lastWholeNs = BigInt(whole) * NS_PER_S;
  }
  return frac === 0 ? lastWholeNs : lastWholeNs + BigInt(frac);
}

/** Parses an integer nanosecond string (as sent by the API); null when it is not one. */
export function parseNanos(text: string): Nanos | null {
  return /^-?\d{1,20}$/.test(text) ? BigInt(text) : null;
}
