import fc from 'fast-check';
import { THREAD_STATES, type Segment, type ThreadState } from '@threadreel/model';
import { describe, expect, it } from 'vitest';
import {
  LOD_CLASS_THRESHOLDS,
  LOD_LEVELS,
  lodBucketNs,
  lodBuckets,
  lodDurationClass,
  lodLevelFor,
  type LodBucket,
} from './lod.js';
import { segmentsOf } from './segments-of.spec-helper.js';

/** The level's buckets computed directly: segments shorter than a bucket, by the bucket of their start. */
function direct(
  segs: readonly Segment[],
  level: number,
): Map<bigint, { count: number; totals: (bigint | null)[] }> {
  const size = lodBucketNs(level);
  const out = new Map<bigint, { count: number; totals: (bigint | null)[] }>();
  for (const s of segs) {
    const d = s.endNs - s.startNs;
    if (d >= size) continue;
    const at = (s.startNs / size) * size;
    const b = out.get(at) ?? { count: 0, totals: THREAD_STATES.map(() => null) };
    b.count++;
    const k = THREAD_STATES.indexOf(s.state);
    b.totals[k] = (b.totals[k] ?? 0n) + d;
    out.set(at, b);
  }
  return out;
}

function byLevel(buckets: readonly LodBucket[]): Map<number, LodBucket[]> {
  const m = new Map<number, LodBucket[]>();
  for (const b of buckets) m.set(b.level, [...(m.get(b.level) ?? []), b]);
  return m;
}

describe('lod pyramid', () => {
  it('classes durations by the bucket sizes they reach', () => {
    expect(LOD_CLASS_THRESHOLDS).toHaveLength(LOD_LEVELS);
    expect(lodDurationClass(0n)).toBe(0);
    expect(lodDurationClass(999n)).toBe(0);
    expect(lodDurationClass(1000n)).toBe(1);
    expect(lodDurationClass(3999n)).toBe(1);
    expect(lodDurationClass(4000n)).toBe(2);
    expect(lodDurationClass(10n ** 18n)).toBe(LOD_LEVELS);
    expect(lodLevelFor(999n)).toBeNull();
    expect(lodLevelFor(1000n)).toBe(0);
    expect(lodLevelFor(15_999n)).toBe(1);
    expect(lodLevelFor(16_000n)).toBe(2);
    expect(lodLevelFor(10n ** 18n)).toBe(LOD_LEVELS - 1);
  });

  it('equals per-level bucketing computed from the raw segments', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            fc.integer({ min: 0, max: 50_000 }),
            fc.oneof(fc.integer({ min: 0, max: 3000 }), fc.integer({ min: 0, max: 5_000_000 })),
            fc.integer({ min: 0, max: 9 }),
            fc.option(fc.integer({ min: 1, max: 40 })),
          ),
          { maxLength: 300 },
        ),
        (parts) => {
          const segs = segmentsOf(parts);
          const levels = byLevel([...lodBuckets('th', segs)]);
          if (!segs.length) {
            expect(levels.size).toBe(0);
            return;
          }
          const header = levels.get(-1)?.[0];
          expect(header?.count).toBe(segs.length);
          for (let level = 0; level < LOD_LEVELS; level++) {
            const got = levels.get(level) ?? [];
            const want = direct(segs, level);
            expect(got.map((b) => b.bucketNs)).toEqual([...want.keys()]);
            for (const b of got) {
              const w = want.get(b.bucketNs);
              expect(b.count).toBe(w?.count);
              expect(b.totals).toEqual(w?.totals);
              expect(b.bucketNs % lodBucketNs(level)).toBe(0n);
              expect(b.minStartNs >= b.bucketNs && b.minStartNs < b.bucketNs + lodBucketNs(level)).toBe(true);
              let best: ThreadState = 'unknown';
              let ns = -1n;
              b.totals.forEach((v, k) => {
                if (v !== null && v > ns) {
                  ns = v;
                  best = THREAD_STATES[k] ?? 'unknown';
                }
              });
              expect(b.dominant).toBe(best);
            }
            // Every segment is either in a bucket of the level or at least a bucket long.
            const inBuckets = got.reduce((n, b) => n + b.count, 0);
            const whole = segs.filter((s) => s.endNs - s.startNs >= lodBucketNs(level)).length;
            expect(inBuckets + whole).toBe(segs.length);
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it('keeps the extreme waker ids of lock waits and of other segments', () => {
    const segs = segmentsOf([
      [0, 10, 2, 7],
      [0, 10, 2, 3],
      [0, 10, 6, 9],
      [0, 10, 0, null],
    ]);
    const b = [...lodBuckets('th', segs)].find((x) => x.level === 0);
    expect([b?.lockWakerMin, b?.lockWakerMax, b?.otherWakerMin, b?.otherWakerMax]).toEqual([3n, 7n, 9n, 9n]);
  });

  it('holds no more buckets per level than segments', () => {
    const parts: [number, number, number, number | null][] = Array.from({ length: 5000 }, (_, i) => [
      i % 7,
      (i * 37) % 900,
      i % 10,
      null,
    ]);
    const levels = byLevel([...lodBuckets('th', segmentsOf(parts))]);
    for (let level = 0; level < LOD_LEVELS; level++)
      expect((levels.get(level) ?? []).length).toBeLessThanOrEqual(5000);
    expect((levels.get(LOD_LEVELS - 1) ?? []).length).toBeLessThanOrEqual(2);
  });
});
