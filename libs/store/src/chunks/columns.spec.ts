import { describe, expect, it } from 'vitest';
import { ByteReader, ByteWriter, decodeChunk, encodeChunk, type ColumnSpec } from './columns.js';

const SCHEMA: ColumnSpec[] = [
  { name: 'time_ns', kind: 'time' },
  { name: 'cpu', kind: 'int' },
  { name: 'stack_id', kind: 'int', delta: true },
  { name: 'duration_ns', kind: 'bigint' },
  { name: 'name', kind: 'string' },
];

describe('chunk columns', () => {
  it('round-trips every kind, nulls included, with 64-bit values exact', () => {
    const t0 = 1_764_000_000_123_456_789n;
    const columns = [
      [t0, t0 + 1n, null, t0 + 5_000_000_000n, t0 + 5_000_000_000n],
      [0, 1, 31, null, 2],
      [100, 99, 250_000, 250_001, null],
      [9_007_199_254_740_993n, -1n, null, -9_223_372_036_854_775_808n, 9_223_372_036_854_775_807n],
      ['futex', 'read', 'futex', null, 'épée ✓'],
    ];
    expect(decodeChunk(SCHEMA, encodeChunk(SCHEMA, columns))).toEqual(columns);
  });

  it('varints of bigints are exact on both sides of the number fast path (±2^52) and at the 64-bit ends', () => {
    const edges = [0n, 1n, -1n, 63n, -64n, 64n, 1n << 48n, (1n << 49n) - 1n, 1n << 49n, -(1n << 49n)];
    const half = BigInt(Math.floor(Number.MAX_SAFE_INTEGER / 2));
    for (const d of [-2n, -1n, 0n, 1n, 2n]) edges.push(half + d, -half + d);
    edges.push((1n << 63n) - 1n, -(1n << 63n), 12_345_678_901_234_567n, -98_765_432_109_876_543n);
    const w = new ByteWriter(4);
    for (const v of edges) w.bigvarint(v);
    const r = new ByteReader(w.finish());
    expect(edges.map(() => r.bigvarint())).toEqual(edges);
    expect(r.done).toBe(true);
  });

  it('costs about two bytes a row for regular samples (times 5 ms apart, few stacks)', () => {
    const n = 10_000;
    const t0 = 1_764_000_000_000_000_000n;
    const columns = [
      Array.from({ length: n }, (_, i) => t0 + BigInt(i) * 5_025_125n + BigInt(i % 7)),
      Array.from({ length: n }, (_, i) => i % 2),
      Array.from({ length: n }, (_, i) => 1000 + (i % 5)),
      Array.from({ length: n }, () => 5_025_125n),
      Array.from({ length: n }, (_, i) => (i % 3 === 0 ? 'cycles' : 'cpu-clock')),
    ];
    const bytes = encodeChunk(SCHEMA, columns).length;
    // time delta 4 B (5 ms < 2^28), cpu 1, stack delta 1, duration delta 1 (0 after the first), name 1.
    expect(bytes / n).toBeLessThan(8.5);
    expect(bytes / n).toBeGreaterThan(7);
    expect(decodeChunk(SCHEMA, encodeChunk(SCHEMA, columns))).toEqual(columns);
  });

  it('refuses decreasing times, ragged columns, damaged and foreign chunks', () => {
    expect(() => encodeChunk([SCHEMA[0]!], [[2n, 1n]])).toThrow(/must not decrease/);
    expect(() => encodeChunk(SCHEMA.slice(0, 2), [[1n], [1, 2]])).toThrow(/has 2 rows, not 1/);
    const good = encodeChunk(SCHEMA, [[1n], [1], [1], [1n], ['x']]);
    expect(() => decodeChunk(SCHEMA, good.subarray(0, good.length - 1))).toThrow(/truncated/);
    expect(() => decodeChunk(SCHEMA, Buffer.concat([good, Buffer.from([0])]))).toThrow(/trailing/);
    const foreign = Buffer.from(good);
    foreign[0] = 9;
    expect(() => decodeChunk(SCHEMA, foreign)).toThrow(/format 9/);
  });

  it('writes varints at their boundaries and reads them back', () => {
    const w = new ByteWriter(1);
    const values = [0, 127, 128, 16_383, 16_384, 2 ** 32, Number.MAX_SAFE_INTEGER];
    for (const v of values) w.uvarint(v);
    for (const v of [-1, 1, -(2 ** 40), 2 ** 40]) w.svarint(v);
    const r = new ByteReader(w.finish());
    expect(values.map(() => r.uvarint())).toEqual(values);
    expect([r.svarint(), r.svarint(), r.svarint(), r.svarint()]).toEqual([-1, 1, -(2 ** 40), 2 ** 40]);
    expect(r.done).toBe(true);
    expect(() => new ByteWriter().uvarint(-1)).toThrow(RangeError);
  });
});
