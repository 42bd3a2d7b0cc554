import { describe, expect, it } from 'vitest';
import { BUCKETS_PER_CHUNK, decodeLodChunk, lodChunks } from './lod-chunks.js';
import { lodBuckets } from './lod.js';
import { segmentsOf } from './segments-of.spec-helper.js';

describe('level-of-detail chunks', () => {
  it('round-trip every level of a thread’s pyramid, one level per chunk, in runs of BUCKETS_PER_CHUNK', () => {
    const segs = segmentsOf(
      Array.from({ length: 5000 }, (_, i) => [
        (i * 31) % 700,
        i % 97 === 0 ? 40_000_000 : 1 + ((i * 7919) % 30_000),
        i,
        i % 3 ? null : 1_000_000 + (i % 11),
      ]),
    );
    const buckets = [...lodBuckets('th', segs)];
    const chunks = lodChunks('th', buckets);
    for (const c of chunks) expect(c.count).toBeLessThanOrEqual(BUCKETS_PER_CHUNK);
    expect(new Set(chunks.map((c) => c.level)).size).toBe(new Set(buckets.map((b) => b.level)).size);
    const back = chunks.flatMap((c) => decodeLodChunk('th', c.level, c.payload));
    const key = (b: { level: number; bucketNs: bigint }) => `${b.level}:${b.bucketNs}`;
    expect(new Map(back.map((b) => [key(b), b]))).toEqual(new Map(buckets.map((b) => [key(b), b])));
    expect(back).toHaveLength(buckets.length);
    for (const c of chunks) {
      const own = decodeLodChunk('th', c.level, c.payload);
      expect(c.bucketNs).toBe(own[0]?.bucketNs);
      expect(c.lastBucketNs).toBe(own[own.length - 1]?.bucketNs);
    }
  });
});
