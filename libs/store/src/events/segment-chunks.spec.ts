import { describe, expect, it } from 'vitest';
import type { Segment } from '@threadreel/model';
import { decodeSegmentChunk, SEGMENTS_PER_CHUNK, segmentChunks } from './segment-chunks.js';
import { segmentsOf } from './segments-of.spec-helper.js';

describe('segment chunks', () => {
  it('round-trip a thread of segments, details and 63-bit ids included, in runs of SEGMENTS_PER_CHUNK', () => {
    const plain = segmentsOf(
      Array.from({ length: SEGMENTS_PER_CHUNK * 2 + 7 }, (_, i) => [
        i % 3,
        1 + ((i * 7919) % 50_000),
        i,
        i % 4 ? null : i,
      ]),
      1_765_000_000_123_456_789n,
    );
    const segs: Segment[] = plain.map((s, i) =>
      i % 5 === 0
        ? {
            ...s,
            syscall: 'futex',
            lockId: `futex:0x7f${i.toString(16)}`,
            blockedStackId: (9_000_000_000_000_000_000n + BigInt(i)).toString(),
            wakerStackId: '-42',
            prevState: 'S',
            reason: 'futex wait on a lock',
            target: '10.0.0.1:5432',
          }
        : s,
    );
    const chunks = segmentChunks('th', segs);
    expect(chunks.map((c) => c.count)).toEqual([SEGMENTS_PER_CHUNK, SEGMENTS_PER_CHUNK, 7]);
    const back = chunks.flatMap((c) => decodeSegmentChunk('th', c.payload));
    expect(back).toEqual(segs);
    for (const c of chunks) {
      const own = decodeSegmentChunk('th', c.payload);
      expect(c.startNs).toBe(own[0]?.startNs);
      expect(c.endNs).toBe(own.reduce((m, s) => (s.endNs > m ? s.endNs : m), 0n));
      expect(c.maxDurationNs).toBe(
        own.reduce((m, s) => (s.endNs - s.startNs > m ? s.endNs - s.startNs : m), 0n),
      );
    }
    // A few bytes per segment before compression (a row was ≈ 330 bytes with its indexes).
    const bytes = chunks.reduce((n, c) => n + c.payload.length, 0);
    expect(bytes / segs.length).toBeLessThan(16);
  });

  it('sort a thread given out of order, and keep overlapping segments (signed end deltas)', () => {
    const segs = segmentsOf([
      [0, 100, 0, null],
      [5, 10, 1, 3],
      [0, 1000, 2, null],
    ]);
    const overlapping: Segment[] = [segs[2]!, segs[0]!, { ...segs[1]!, endNs: segs[1]!.startNs + 5_000n }];
    const back = segmentChunks('th', overlapping).flatMap((c) => decodeSegmentChunk('th', c.payload));
    expect(back.map((s) => s.startNs)).toEqual(segs.map((s) => s.startNs));
    expect(back[1]?.endNs).toBe(segs[1]!.startNs + 5_000n);
  });
});
