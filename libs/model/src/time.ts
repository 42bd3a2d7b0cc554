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

/** Parses an integer nanosecond string (as sent by the API); null when it is not one. */
export function parseNanos(text: string): Nanos | null {
  return /^-?\d{1,20}$/.test(text) ? BigInt(text) : null;
}
