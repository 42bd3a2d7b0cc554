import type { ParseIssue, SpanAttributeValue, SpanKind, SpanStatus } from '@threadreel/model';

/** Shared field readers of the span converters. They throw {@link SpanFieldError}; callers catch. */

/** A field of one span that cannot be accepted; turned into a {@link ParseIssue} by the caller. */
export class SpanFieldError extends Error {
  constructor(
    readonly field: string,
    reason: string,
  ) {
    super(reason);
  }
}

export function fail(field: string, reason: string): never {
  throw new SpanFieldError(field, reason);
}

export function toIssue(line: number, e: unknown, fallbackField: string): ParseIssue {
  if (e instanceof SpanFieldError) return { kind: 'issue', line, field: e.field, reason: e.message };
  const reason = e instanceof Error ? e.message : String(e);
  return { kind: 'issue', line, field: fallbackField, reason: `unexpected error: ${reason}` };
}

export type JsonObject = Readonly<Record<string, unknown>>;

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function asObject(v: unknown, field: string): JsonObject {
  if (!isObject(v)) fail(field, `expected an object, got ${describe(v)}`);
  return v;
}

/** Array, or empty for an absent (undefined/null) value. */
export function asArray(v: unknown, field: string): readonly unknown[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) fail(field, `expected an array, got ${describe(v)}`);
  return v;
}

export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return v.length > 40 ? `string "${v.slice(0, 40)}…"` : `string "${v}"`;
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return `${typeof v} ${v}`;
  return typeof v;
}

/** Optional string: absent → null. */
export function optString(v: unknown, field: string): string | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string') fail(field, `expected a string, got ${describe(v)}`);
  return v;
}

/**
 * A 64-bit integer as JSON carries it: a decimal string, a safe number, or a bigint (an
 * integer literal beyond 2^53 read by `parseJsonExact`). A number that is not a safe integer
 * (exponent form, fraction) has lost precision and is rejected.
 */
export function readInt64(v: unknown, field: string): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number') {
    if (Number.isSafeInteger(v)) return BigInt(v);
    fail(field, `number ${v} is not an exact integer (precision lost; 64-bit values must be strings)`);
  }
  if (typeof v === 'string' && /^-?\d{1,20}$/.test(v)) return BigInt(v);
  fail(field, `expected a 64-bit integer, got ${describe(v)}`);
}

/** Non-negative µs (Jaeger/Zipkin) → ns. */
export function microsToNanos(v: unknown, field: string): bigint {
  const us = readInt64(v, field);
  if (us < 0n) fail(field, `negative value ${us}`);
  return us * 1000n;
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** Integer attribute value: number while safe, else bigint. */
export function intAttr(n: bigint): number | bigint {
  return n <= MAX_SAFE && n >= -MAX_SAFE ? Number(n) : n;
}

const HEX = /^[0-9a-fA-F]+$/;
const BASE64 = /^[A-Za-z0-9+/_-]+={0,2}$/;

function isZero(hex: string): boolean {
  return /^0+$/.test(hex);
}

/**
 * Normalises a trace id (`bytes` 16) or span id (`bytes` 8) to lowercase hex of `bytes * 2`
 * characters. Accepted: hex (any case; shorter hex, a 64-bit trace id or leading zeros stripped,
 * is left-padded), base64 of exactly `bytes` bytes (protojson), and a decimal integer (a JSON
 * number, or a digit string too long to be hex). All-zero ids are invalid.
 */
export function normalizeId(v: unknown, bytes: 8 | 16, field: string): string {
  const width = bytes * 2;
  let hex: string | null = null;
  if (typeof v === 'number' || typeof v === 'bigint') {
    if (typeof v === 'number' && !Number.isSafeInteger(v)) fail(field, `id ${v} is not an exact integer`);
    const n = BigInt(v);
    if (n < 0n || n >= 1n << BigInt(bytes * 8)) fail(field, `id ${n} does not fit in ${bytes} bytes`);
    hex = n.toString(16).padStart(width, '0');
  } else if (typeof v === 'string') {
    if (v.length > 0 && v.length <= width && HEX.test(v)) {
      hex = v.toLowerCase().padStart(width, '0');
    } else if (/^\d+$/.test(v) && v.length <= 40) {
      const n = BigInt(v);
      if (n >= 1n << BigInt(bytes * 8)) fail(field, `id ${v} does not fit in ${bytes} bytes`);
      hex = n.toString(16).padStart(width, '0');
    } else if (BASE64.test(v)) {
      const b = Buffer.from(v, v.includes('-') || v.includes('_') ? 'base64url' : 'base64');
      if (b.length === bytes) hex = b.toString('hex');
    }
    if (hex === null) fail(field, `not a ${bytes}-byte id (hex, base64 or decimal): ${describe(v)}`);
  } else {
    fail(field, `expected an id string, got ${describe(v)}`);
  }
  if (isZero(hex)) fail(field, 'all-zero id is invalid');
  return hex;
}

/** Optional parent id: absent, empty or all-zero → null. */
export function normalizeParentId(v: unknown, field: string): string | null {
  if (v === undefined || v === null || v === '') return null;
  if ((typeof v === 'string' && isZero(v)) || v === 0) return null;
  return normalizeId(v, 8, field);
}

const KIND_BY_NAME: Readonly<Record<string, SpanKind>> = {
  server: 'server',
  client: 'client',
  producer: 'producer',
  consumer: 'consumer',
  internal: 'internal',
  unspecified: 'unspecified',
};

/** `SERVER`, `server`, `SPAN_KIND_SERVER` → `server`; null if unknown. */
export function kindFromName(name: string): SpanKind | null {
  const k = name.toLowerCase().replace(/^span_kind_/, '');
  return KIND_BY_NAME[k] ?? null;
}

/** Status from `otel.status_code` / `error` tags (Jaeger, Zipkin). */
export function statusFromTags(attrs: Readonly<Record<string, SpanAttributeValue>>): SpanStatus {
  const code = attrs['otel.status_code'];
  if (typeof code === 'string') {
    const c = code.toUpperCase();
    if (c === 'ERROR') return 'error';
    if (c === 'OK') return 'ok';
  }
  const err = attrs['error'];
  if (err === true || (typeof err === 'string' && err !== 'false')) return 'error';
  return 'unset';
}

export function checkTimes(startNs: bigint, endNs: bigint, field: string): void {
  if (endNs < startNs) fail(field, `span ends (${endNs}) before it starts (${startNs})`);
}
