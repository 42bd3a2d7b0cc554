import type { ParseIssue } from '@threadreel/model';

export type { GcClock, GcEvent, GcParsedItem, GcRuntime, SafepointEvent } from '@threadreel/model';

export function issue(line: number, reason: string, field?: string): ParseIssue {
  return field === undefined ? { kind: 'issue', line, reason } : { kind: 'issue', line, field, reason };
}

export function isDigitCode(c: number): boolean {
  return c >= 48 && c <= 57;
}

export function allDigits(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) if (!isDigitCode(s.charCodeAt(i))) return false;
  return true;
}

/**
 * Parses a plain decimal (`12.345`, `7`) and multiplies it by `scale` = 10^`scaleDigits`
 * without floating point; the fraction beyond `scaleDigits` digits is truncated.
 * Returns null unless the text is `\d+(\.\d+)?`.
 */
export function parseDecimalScaled(text: string, scaleDigits: number): bigint | null {
  const dot = text.indexOf('.');
  const whole = dot < 0 ? text : text.slice(0, dot);
  const frac = dot < 0 ? '' : text.slice(dot + 1);
  if (!allDigits(whole) || (dot >= 0 && !allDigits(frac))) return null;
  if (whole.length > 30 || frac.length > 30) return null;
  const f = frac.length >= scaleDigits ? frac.slice(0, scaleDigits) : frac.padEnd(scaleDigits, '0');
  return BigInt(whole) * 10n ** BigInt(scaleDigits) + (f.length > 0 ? BigInt(f) : 0n);
}

/**
 * {@link parseDecimalScaled} that also takes an exponent, as JSON writers print small and large
 * numbers (Python's `7.991e-05`, `1E+3`); still exact, the fraction past the scale truncated.
 */
export function parseScientificScaled(text: string, scaleDigits: number): bigint | null {
  const e = text.search(/[eE]/);
  if (e < 0) return parseDecimalScaled(text, scaleDigits);
  const exp = text.slice(e + 1);
  if (!/^[+-]?\d{1,3}$/.test(exp)) return null;
  const shift = scaleDigits + Number(exp);
  const mantissa = text.slice(0, e);
  if (shift >= 0) return parseDecimalScaled(mantissa, shift);
  const whole = parseDecimalScaled(mantissa, 0);
  return whole === null ? null : whole / 10n ** BigInt(-shift);
}

/** `12.5` (milliseconds) → ns. */
export function msToNanos(text: string): bigint | null {
  return parseDecimalScaled(text, 6);
}

const MIB = 1024n * 1024n;

/** A decimal number of MiB (`13.6`) → bytes, truncated. */
export function mibToBytes(text: string): bigint | null {
  const dot = text.indexOf('.');
  const digits = dot < 0 ? 0 : text.length - dot - 1;
  const scaled = parseDecimalScaled(text, digits);
  if (scaled === null) return null;
  return (scaled * MIB) / 10n ** BigInt(digits);
}

/** Non-negative difference, clamped at 0 (a start computed as end − duration may round below 0). */
export function minusClamped(a: bigint, b: bigint): bigint {
  return a > b ? a - b : 0n;
}
