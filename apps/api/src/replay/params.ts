import { BadRequestException } from '@nestjs/common';
import { parseNanos } from '@threadreel/model';

/**
 * Query and path parameter parsing for the replay endpoints: each bad value is a 400 whose
 * message names the parameter and what is expected. Query values arrive as strings, or as
 * arrays when repeated (refused).
 */

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const TRACE_ID = /^(?:[0-9a-f]{32}|[0-9a-f]{16})$/i;
const SPAN_ID = /^[0-9a-f]{16}$/i;
const THREAD_ID = /^[1-9]\d{0,17}$/;

/** Lanes are reduced to at most this many pixels (window / resolution). */
export const MAX_PIXELS = 100_000n;

export function bad(name: string, expected: string, got?: unknown): BadRequestException {
  return new BadRequestException(
    `${name}: expected ${expected}${got === undefined ? '' : `, got ${JSON.stringify(got)}`}`,
  );
}

/** The raw value of an optional query parameter; empty strings count as absent. */
export function text(name: string, v: unknown): string | undefined {
  if (v === undefined || v === '') return undefined;
  if (typeof v !== 'string') throw bad(name, 'a single value');
  return v;
}

export function uuid(name: string, v: unknown): string | undefined {
  const t = text(name, v);
  if (t === undefined) return undefined;
  if (!UUID.test(t)) throw bad(name, 'a uuid', t);
  return t.toLowerCase();
}

export function requiredUuid(name: string, v: unknown): string {
  const t = uuid(name, v);
  if (t === undefined) throw bad(name, 'a uuid');
  return t;
}

export function traceId(name: string, v: unknown): string | undefined {
  const t = text(name, v);
  if (t === undefined) return undefined;
  if (!TRACE_ID.test(t)) throw bad(name, 'a trace id of 32 (or 16) hex digits', t);
  return t.toLowerCase();
}

export function requiredTraceId(name: string, v: unknown): string {
  const t = traceId(name, v);
  if (t === undefined) throw bad(name, 'a trace id of 32 (or 16) hex digits');
  return t;
}

export function spanId(name: string, v: unknown): string | undefined {
  const t = text(name, v);
  if (t === undefined) return undefined;
  if (!SPAN_ID.test(t)) throw bad(name, 'a span id of 16 hex digits', t);
  return t.toLowerCase();
}

export function threadId(name: string, v: unknown): string | undefined {
  const t = text(name, v);
  if (t === undefined) return undefined;
  if (!THREAD_ID.test(t)) throw bad(name, 'a thread id (a positive whole number)', t);
  return t;
}

/** A comma-separated list of thread ids (at most 256). */
export function threadIdList(name: string, v: unknown): string[] | undefined {
  const t = text(name, v);
  if (t === undefined) return undefined;
  const ids = t.split(',').filter((x) => x !== '');
  if (ids.length > 256) throw bad(name, 'at most 256 thread ids');
  for (const id of ids) if (!THREAD_ID.test(id)) throw bad(name, 'comma-separated thread ids', id);
  return [...new Set(ids)];
}

const STACK_ID = /^-?\d{1,19}$/;

/** A comma-separated list of stack ids (signed 64-bit integers, at most 1000). */
export function stackIdList(name: string, v: unknown): string[] | undefined {
  const t = text(name, v);
  if (t === undefined) return undefined;
  const ids = t.split(',').filter((x) => x !== '');
  if (ids.length > 1000) throw bad(name, 'at most 1000 stack ids');
  for (const id of ids)
    if (!STACK_ID.test(id) || BigInt(id) > 9223372036854775807n || BigInt(id) < -9223372036854775808n)
      throw bad(name, 'comma-separated stack ids', id);
  return [...new Set(ids)];
}

export function nanos(name: string, v: unknown): bigint | undefined {
  const t = text(name, v);
  if (t === undefined) return undefined;
  const ns = parseNanos(t);
  if (ns === null) throw bad(name, 'integer nanoseconds', t);
  return ns;
}

export function nonNegativeNanos(name: string, v: unknown): bigint | undefined {
  const ns = nanos(name, v);
  if (ns !== undefined && ns < 0n) throw bad(name, 'integer nanoseconds ≥ 0', text(name, v));
  return ns;
}

/** Milliseconds (up to 6 decimals) as integer ns, without floating point. */
export function millisAsNanos(name: string, v: unknown): bigint | undefined {
  const t = text(name, v);
  if (t === undefined) return undefined;
  const m = /^(\d{1,12})(?:\.(\d{1,6}))?$/.exec(t);
  if (!m) throw bad(name, 'milliseconds ≥ 0 (up to 6 decimals)', t);
  return BigInt(m[1] ?? '0') * 1_000_000n + BigInt((m[2] ?? '').padEnd(6, '0'));
}

export function int(name: string, v: unknown, min: number, max: number, dflt: number): number {
  const t = text(name, v);
  if (t === undefined) return dflt;
  if (!/^\d{1,9}$/.test(t) || Number(t) < min || Number(t) > max)
    throw bad(name, `a whole number from ${min} to ${max}`, t);
  return Number(t);
}

export function oneOf<T extends string>(name: string, v: unknown, values: readonly T[], dflt: T): T {
  const t = text(name, v);
  if (t === undefined) return dflt;
  if (!(values as readonly string[]).includes(t)) throw bad(name, `one of ${values.join(', ')}`, t);
  return t as T;
}

/** The `resolution` parameter (ns per pixel ≥ 1), if given. */
export function resolution(v: unknown): bigint | undefined {
  const given = nanos('resolution', v);
  if (given !== undefined && given < 1n) throw bad('resolution', 'ns per pixel ≥ 1', text('resolution', v));
  return given;
}

/** A resolution (ns per pixel) for a window: given, or window / 1000; never more than MAX_PIXELS pixels. */
export function resolutionFor(given: bigint | undefined, fromNs: bigint, toNs: bigint): bigint {
  const span = toNs - fromNs;
  const res = given ?? (span / 1000n > 0n ? span / 1000n : 1n);
  if (span / res > MAX_PIXELS)
    throw bad(
      'resolution',
      `at least ${(span / MAX_PIXELS).toString()} ns per pixel for this window (at most ${MAX_PIXELS.toString()} pixels)`,
      given?.toString(),
    );
  return res;
}
