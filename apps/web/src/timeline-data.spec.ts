import { describe, expect, it } from 'vitest';
import type { SampleTimeline } from '@threadreel/model';
import { bucketRangeLabel, buildHeatmap } from './timeline-data';

const timeline = (over: Partial<SampleTimeline> = {}): SampleTimeline => ({
  bucketNs: '5000000',
  startNs: '1700000000123456789',
  threads: [
    { id: 1, label: 'idle/1', counts: [0, 0, 0] },
    { id: 2, label: 'java/20', counts: [1, 0, 3] },
    { id: 3, label: 'java/30', counts: [4, 5, 6] },
  ],
  ...over,
});

describe('buildHeatmap', () => {
  it('orders threads busiest first, drops idle ones and keeps only non-empty cells', () => {
    const model = buildHeatmap(timeline());
    expect(model.rows.map((r) => r.label)).toEqual(['java/30', 'java/20']);
    expect(model.idleThreads).toBe(1);
    expect(model.cells).toEqual([
      [0, 0, 4],
      [1, 0, 5],
      [2, 0, 6],
      [0, 1, 1],
      [2, 1, 3],
    ]);
    expect(model.maxCount).toBe(6);
    expect(model.totalSamples).toBe(19);
  });

  it('computes bucket offsets with BigInt and keeps startNs exact', () => {
    const model = buildHeatmap(timeline());
    expect(model.bucketMs).toBe(5);
    expect(model.bucketStartMs).toEqual([0, 5, 10]);
    expect(model.startNs).toBe(1700000000123456789n);
    expect(bucketRangeLabel(model, 2)).toBe('10.0–15.0 ms');
  });

  it('makes duplicate labels unique and tolerates ragged or bad counts', () => {
    const model = buildHeatmap(
      timeline({
        threads: [
          { id: 7, label: 'worker', counts: [1] },
          { id: 8, label: 'worker', counts: [0, Number.NaN, 2] },
        ],
      }),
    );
    expect(model.rows.map((r) => r.label)).toEqual(['worker', 'worker [#7]']);
    expect(new Set(model.rows.map((r) => r.label)).size).toBe(2);
    expect(model.bucketStartMs).toHaveLength(3);
  });

  it('rejects an invalid bucket width', () => {
    expect(() => buildHeatmap(timeline({ bucketNs: '0' }))).toThrow(/bucket width/);
    expect(() => buildHeatmap(timeline({ bucketNs: 'abc' }))).toThrow(/bucket width/);
  });
});
