/** Display formatting. Nanosecond values arrive as decimal strings and stay BigInt until made relative. */

const NS_INTEGER = /^-?\d{1,20}$/;

/** Parses an integer nanosecond string; null when absent or malformed. */
export function parseNs(text: string | null | undefined): bigint | null {
  return typeof text === 'string' && NS_INTEGER.test(text) ? BigInt(text) : null;
}

/** Converts a (relative) nanosecond duration to milliseconds, keeping microsecond precision. */
export function nsToMs(ns: bigint): number {
  return Number(ns / 1_000n) / 1_000;
}

/** Decimal places that make a millisecond value readable at the given resolution. */
export function msDigits(resolutionMs: number): number {
  if (!(resolutionMs > 0) || resolutionMs >= 10) return 0;
  if (resolutionMs >= 1) return 1;
  if (resolutionMs >= 0.1) return 2;
  return 3;
}

export function formatMs(ms: number, digits = 3): string {
  return `${ms.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })} ms`;
}

/** Formats an integer that may be a decimal string (counts are strings in the DTOs). */
export function formatCount(value: string | number | bigint | null | undefined): string {
  if (value === null || value === undefined) return '—';
  if (typeof value === 'string') {
    if (!/^-?\d+$/.test(value)) return value;
    return BigInt(value).toLocaleString('en-US');
  }
  return value.toLocaleString('en-US');
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'] as const;

export function formatBytes(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return '—';
  const bytes = typeof value === 'string' ? Number(value) : value;
  if (!Number.isFinite(bytes)) return String(value);
  let scaled = bytes;
  let unit = 0;
  while (Math.abs(scaled) >= 1024 && unit < UNITS.length - 1) {
    scaled /= 1024;
    unit++;
  }
  const digits = unit === 0 || scaled >= 100 ? 0 : 1;
  return `${scaled.toFixed(digits)} ${UNITS[unit] ?? 'B'}`;
}

export function formatDateTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return date.toLocaleString(undefined, {
    year: 'numeric',
    month: 'short',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  });
}

/** Message of anything thrown, for display. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === 'string') return error;
  try {
    return JSON.stringify(error) ?? String(error);
  } catch {
    return String(error);
  }
}

/** A nanosecond duration in the unit that reads best (ns, µs, ms, s). */
export function formatDuration(ns: bigint): string {
  const abs = ns < 0n ? -ns : ns;
  if (abs < 1_000n) return `${ns} ns`;
  if (abs < 1_000_000n) return `${(Number(ns) / 1e3).toFixed(1)} µs`;
  if (abs < 1_000_000_000n) return `${(Number(ns) / 1e6).toFixed(abs < 10_000_000n ? 2 : 1)} ms`;
  return `${(Number(ns) / 1e9).toFixed(2)} s`;
}

/** Exact milliseconds of a nanosecond count, as a decimal string without trailing zeros ("12.5"). */
export function nsToMsText(ns: bigint): string {
  const neg = ns < 0n;
  const abs = neg ? -ns : ns;
  const whole = abs / 1_000_000n;
  const frac = (abs % 1_000_000n).toString().padStart(6, '0').replace(/0+$/, '');
  return `${neg ? '-' : ''}${whole}${frac ? `.${frac}` : ''}`;
}

/** Parses milliseconds with up to 6 decimals ("12", "0.25") to integer ns; null when malformed. */
export function msTextToNs(text: string | null | undefined): bigint | null {
  if (typeof text !== 'string') return null;
  const m = /^(\d{1,12})(?:\.(\d{1,6}))?$/.exec(text.trim());
  if (!m) return null;
  return BigInt(m[1] ?? '0') * 1_000_000n + BigInt((m[2] ?? '').padEnd(6, '0'));
}

/** An epoch ns string as a UTC wall-clock time with milliseconds; "—" when absent. */
export function formatEpochNs(ns: string | null | undefined): string {
  const at = parseNs(ns);
  if (at === null) return '—';
  const date = new Date(Number(at / 1_000_000n));
  if (Number.isNaN(date.getTime())) return String(ns);
  return `${date.toISOString().replace('T', ' ').replace('Z', '')} UTC`;
}

/** A signed duration with an explicit sign ("+12.3 ms", "−4.0 ms"). */
export function formatSignedDuration(ns: bigint): string {
  if (ns === 0n) return '±0';
  return ns > 0n ? `+${formatDuration(ns)}` : `−${formatDuration(-ns)}`;
}
