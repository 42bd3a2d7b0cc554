import { THREAD_STATES } from '@threadreel/model';
import type { Segment, ThreadState } from '@threadreel/model';

/**
 * Level-of-detail pyramid of a thread's segments (as Perfetto summarises tracks): level k
 * cuts the time axis into buckets of {@link lodBucketNs}(k) = 1 µs·4^k, aligned on
 * multiples of that size, and a bucket sums the segments *shorter than its size* that start
 * in it (per-state ns, count, waker ids). Segments at least a bucket long are not in the
 * buckets of that level: a reader at that level takes them whole from `segments`, by their
 * duration class ({@link lodDurationClass}, indexed), so a lane at a resolution costs
 * O(pixels) rows: the buckets of the coarsest level not wider than a pixel, plus the
 * segments at least that long (at most a few per pixel, as segments of a thread do not overlap).
 */
export const LOD_LEVELS = 17;
export const LOD_BASE_NS = 1000n;

/** Bucket size (ns) of level k. */
export function lodBucketNs(level: number): bigint {
  return LOD_BASE_NS << BigInt(2 * level);
}

/** Lower bounds of the duration classes: class c holds durations in [thresholds[c−1], thresholds[c]). */
export const LOD_CLASS_THRESHOLDS: readonly bigint[] = Array.from({ length: LOD_LEVELS }, (_, k) =>
  lodBucketNs(k),
);

/**
 * The duration class of a segment, 0 … LOD_LEVELS: how many bucket sizes it is at least
 * as long as (SQL: `width_bucket(end_ns − start_ns, thresholds)`). A segment of class c is
 * in the buckets of levels ≥ c and read whole at levels < c.
 */
export function lodDurationClass(durationNs: bigint): number {
  let c = 0;
  while (c < LOD_LEVELS && durationNs >= (LOD_CLASS_THRESHOLDS[c] ?? 0n)) c++;
  return c;
}

/** The coarsest level whose buckets are at most `resolutionNs` wide, or null below one bucket of level 0. */
export function lodLevelFor(resolutionNs: bigint): number | null {
  if (resolutionNs < LOD_BASE_NS) return null;
  let k = 0;
  while (k + 1 < LOD_LEVELS && lodBucketNs(k + 1) <= resolutionNs) k++;
  return k;
}

export interface LodBucket {
  threadId: string;
  /** 0 … LOD_LEVELS − 1; −1 is the thread's header row (every segment, one bucket). */
  level: number;
  /** Aligned start of the bucket (a multiple of its size; the first segment's start for the header). */
  bucketNs: bigint;
  /** Earliest start and latest end of its segments. */
  minStartNs: bigint;
  maxEndNs: bigint;
  count: number;
  /** ns per state, in THREAD_STATES order; null where no segment of that state. */
  totals: (bigint | null)[];
  /** The state with most ns (first in THREAD_STATES order on a tie). */
  dominant: ThreadState;
  /** Extreme waker thread ids of its lock waits and of its other segments (as ids compare). */
  lockWakerMin: bigint | null;
  lockWakerMax: bigint | null;
  otherWakerMin: bigint | null;
  otherWakerMax: bigint | null;
}

const STATE_INDEX = new Map<string, number>(THREAD_STATES.map((s, i) => [s, i]));

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n ? q - 1n : q;
}

function minOf(a: bigint | null, b: bigint | null): bigint | null {
  return a === null ? b : b === null ? a : a < b ? a : b;
}
function maxOf(a: bigint | null, b: bigint | null): bigint | null {
  return a === null ? b : b === null ? a : a > b ? a : b;
}

function emptyBucket(threadId: string, level: number, bucketNs: bigint, s: bigint, e: bigint): LodBucket {
  return {
    threadId,
    level,
    bucketNs,
    minStartNs: s,
    maxEndNs: e,
    count: 0,
    totals: THREAD_STATES.map(() => null),
    dominant: 'unknown',
    lockWakerMin: null,
    lockWakerMax: null,
    otherWakerMin: null,
    otherWakerMax: null,
  };
}

function addSegment(b: LodBucket, s: Segment): void {
  if (s.startNs < b.minStartNs) b.minStartNs = s.startNs;
  if (s.endNs > b.maxEndNs) b.maxEndNs = s.endNs;
  b.count++;
  const k = STATE_INDEX.get(s.state) ?? THREAD_STATES.length - 1;
  b.totals[k] = (b.totals[k] ?? 0n) + (s.endNs - s.startNs);
  if (s.wakerThreadId !== undefined && s.wakerThreadId !== null) {
    const w = BigInt(s.wakerThreadId);
    if (s.state === 'lock') {
      b.lockWakerMin = minOf(b.lockWakerMin, w);
      b.lockWakerMax = maxOf(b.lockWakerMax, w);
    } else {
      b.otherWakerMin = minOf(b.otherWakerMin, w);
      b.otherWakerMax = maxOf(b.otherWakerMax, w);
    }
  }
}

function addBucket(b: LodBucket, c: LodBucket): void {
  if (c.minStartNs < b.minStartNs) b.minStartNs = c.minStartNs;
  if (c.maxEndNs > b.maxEndNs) b.maxEndNs = c.maxEndNs;
  b.count += c.count;
  c.totals.forEach((v, k) => {
    if (v !== null) b.totals[k] = (b.totals[k] ?? 0n) + v;
  });
  b.lockWakerMin = minOf(b.lockWakerMin, c.lockWakerMin);
  b.lockWakerMax = maxOf(b.lockWakerMax, c.lockWakerMax);
  b.otherWakerMin = minOf(b.otherWakerMin, c.otherWakerMin);
  b.otherWakerMax = maxOf(b.otherWakerMax, c.otherWakerMax);
}

function finish(b: LodBucket): LodBucket {
  let best = -1n;
  b.totals.forEach((v, k) => {
    if (v !== null && v > best) {
      best = v;
      b.dominant = THREAD_STATES[k] ?? 'unknown';
    }
  });
  return b;
}

/**
 * The pyramid of one thread's segments (sorted by start, non-overlapping): a header row
 * (level −1) then the buckets of levels 0 … LOD_LEVELS − 1, each level in time order.
 * Level k+1 is built from level k's buckets and the segments of class k+1, so the whole
 * costs O(segments + buckets); a level holds at most as many buckets as segments.
 */
export function* lodBuckets(threadId: string, segs: readonly Segment[]): Generator<LodBucket> {
  const first = segs[0];
  if (first === undefined) return;
  const header = emptyBucket(threadId, -1, first.startNs, first.startNs, first.endNs);
  // Segments per duration class, in time order.
  const byClass: Segment[][] = Array.from({ length: LOD_LEVELS + 1 }, () => []);
  for (const s of segs) {
    addSegment(header, s);
    byClass[lodDurationClass(s.endNs - s.startNs)]?.push(s);
  }
  yield finish(header);
  let prev: LodBucket[] = [];
  for (let level = 0; level < LOD_LEVELS; level++) {
    const size = lodBucketNs(level);
    const fresh = byClass[level] ?? [];
    const next: LodBucket[] = [];
    let cur: LodBucket | null = null;
    let i = 0;
    let j = 0;
    // Merge the finer level's buckets and this level's new segments by start.
    while (i < prev.length || j < fresh.length) {
      const b = prev[i];
      const s = fresh[j];
      const takeBucket = b !== undefined && (s === undefined || b.minStartNs <= s.startNs);
      const start = takeBucket ? b.minStartNs : (s?.startNs ?? 0n);
      const at = floorDiv(takeBucket ? b.bucketNs : start, size) * size;
      if (cur === null || cur.bucketNs !== at) {
        if (cur !== null) next.push(finish(cur));
        const e = takeBucket ? b.maxEndNs : (s?.endNs ?? 0n);
        cur = emptyBucket(threadId, level, at, start, e);
      }
      if (takeBucket) {
        addBucket(cur, b);
        i++;
      } else if (s !== undefined) {
        addSegment(cur, s);
        j++;
      }
    }
    if (cur !== null) next.push(finish(cur));
    yield* next;
    prev = next;
  }
}
