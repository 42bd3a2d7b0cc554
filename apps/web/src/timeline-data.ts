import type { SampleTimeline } from '@threadreel/model';
import { formatCount, msDigits, nsToMs, parseNs } from './format';

export interface TimelineRow {
  id: number;
  /** Unique within the chart (ECharts category names must not repeat). */
  label: string;
  total: number;
}

/** `SampleTimeline` reshaped for a heatmap: x = time bucket, y = thread, value = on-CPU samples. */
export interface TimelineHeatmap {
  bucketNs: bigint;
  bucketMs: number;
  /** Decimal places that suit the bucket width when printing ms. */
  digits: number;
  /** Start of each bucket in ms after `startNs` (bucket i covers [i, i+1) × bucketNs). */
  bucketStartMs: number[];
  /** Threads with at least one sample, busiest first. */
  rows: TimelineRow[];
  /** `[bucketIndex, rowIndex, count]` for non-empty cells only. */
  cells: [number, number, number][];
  maxCount: number;
  totalSamples: number;
  /** Threads of the DTO left out because they have no sample in the range. */
  idleThreads: number;
  startNs: bigint | null;
}

export function buildHeatmap(timeline: SampleTimeline): TimelineHeatmap {
  const bucketNs = parseNs(timeline.bucketNs);
  if (bucketNs === null || bucketNs <= 0n) {
    throw new Error(
      `The timeline has an invalid bucket width (bucketNs = ${JSON.stringify(timeline.bucketNs)})`,
    );
  }
  const threads = Array.isArray(timeline.threads) ? timeline.threads : [];
  const bucketCount = threads.reduce(
    (max, t) => Math.max(max, Array.isArray(t.counts) ? t.counts.length : 0),
    0,
  );
  const bucketStartMs = Array.from({ length: bucketCount }, (_, i) => nsToMs(bucketNs * BigInt(i)));

  const clean = (n: unknown): number => (typeof n === 'number' && Number.isFinite(n) && n > 0 ? n : 0);
  const active = threads
    .map((t, index) => {
      const counts = Array.isArray(t.counts) ? t.counts.map(clean) : [];
      return { thread: t, index, counts, total: counts.reduce((a, b) => a + b, 0) };
    })
    .filter((t) => t.total > 0)
    .sort((a, b) => b.total - a.total || a.index - b.index);

  const seen = new Set<string>();
  const rows: TimelineRow[] = [];
  const cells: [number, number, number][] = [];
  let maxCount = 0;
  let totalSamples = 0;
  active.forEach((entry, rowIndex) => {
    let label = entry.thread.label || `thread ${entry.thread.id}`;
    if (seen.has(label)) label = `${label} [#${entry.thread.id}]`;
    for (let n = 2; seen.has(label); n++) label = `${entry.thread.label} [#${entry.thread.id}.${n}]`;
    seen.add(label);
    rows.push({ id: entry.thread.id, label, total: entry.total });
    entry.counts.forEach((count, bucket) => {
      if (count <= 0) return;
      cells.push([bucket, rowIndex, count]);
      if (count > maxCount) maxCount = count;
    });
    totalSamples += entry.total;
  });

  const bucketMs = nsToMs(bucketNs);
  return {
    bucketNs,
    bucketMs,
    digits: msDigits(bucketMs),
    bucketStartMs,
    rows,
    cells,
    maxCount,
    totalSamples,
    idleThreads: threads.length - rows.length,
    startNs: parseNs(timeline.startNs),
  };
}

/** "12.5–15.0 ms" for a bucket. */
export function bucketRangeLabel(model: TimelineHeatmap, bucket: number): string {
  const from = model.bucketStartMs[bucket] ?? bucket * model.bucketMs;
  const to = nsToMs(model.bucketNs * BigInt(bucket + 1));
  const fmt = (ms: number): string =>
    ms.toLocaleString('en-US', { minimumFractionDigits: model.digits, maximumFractionDigits: model.digits });
  return `${fmt(from)}–${fmt(to)} ms`;
}

export function samplesLabel(count: number): string {
  return `${formatCount(count)} sample${count === 1 ? '' : 's'}`;
}
