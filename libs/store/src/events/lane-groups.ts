import { THREAD_STATES, type Segment } from '@threadreel/model';

/**
 * Per-pixel reduction of a lane (what the replay draws at a resolution): parts — whole
 * segments, or level-of-detail buckets that sum the short segments starting in them — are
 * grouped per pixel bucket `(start − lo) / res` of their start, except a segment at least a
 * pixel long, which stays alone with its detail. A group sums its parts' per-state ns and
 * count and keeps the extreme waker ids of its lock waits and of its other segments.
 */
export interface LanePart {
  startNs: bigint;
  endNs: bigint;
  count: bigint;
  /** A whole segment (false: a bucket of the pyramid). */
  seg: boolean;
  /** ns per state in THREAD_STATES order, null where none. */
  sums: (bigint | null)[];
  lockWakerMin: bigint | null;
  lockWakerMax: bigint | null;
  otherWakerMin: bigint | null;
  otherWakerMax: bigint | null;
  /** The segment itself (whole segments only; a group keeps it only when it holds that one segment). */
  detail: Segment | null;
}

/** A pixel's group of parts: their sums, and the detail only of a group of one whole segment. */
export type LaneGroup = LanePart;

const STATE_INDEX = new Map<string, number>(THREAD_STATES.map((s, k) => [s, k]));

/** A whole segment as a lane part. */
export function segmentPart(s: Segment): LanePart {
  const sums: (bigint | null)[] = THREAD_STATES.map(() => null);
  const k = STATE_INDEX.get(s.state);
  if (k !== undefined) sums[k] = s.endNs - s.startNs;
  const waker = s.wakerThreadId === undefined ? null : BigInt(s.wakerThreadId);
  const lock = s.state === 'lock';
  return {
    startNs: s.startNs,
    endNs: s.endNs,
    count: 1n,
    seg: true,
    sums,
    lockWakerMin: lock ? waker : null,
    lockWakerMax: lock ? waker : null,
    otherWakerMin: lock ? null : waker,
    otherWakerMax: lock ? null : waker,
    detail: s,
  };
}

const min = (a: bigint | null, b: bigint | null): bigint | null =>
  a === null ? b : b === null || a <= b ? a : b;
const max = (a: bigint | null, b: bigint | null): bigint | null =>
  a === null ? b : b === null || a >= b ? a : b;

/** The parts of one lane grouped per pixel of `res` from `lo`, in start order. */
export function groupLane(parts: readonly LanePart[], lo: bigint, res: bigint): LaneGroup[] {
  const groups = new Map<string, LaneGroup>();
  for (const p of parts) {
    const key =
      p.seg && p.endNs - p.startNs >= res
        ? `s${p.startNs}`
        : `b${(p.startNs > lo ? p.startNs - lo : 0n) / res}`;
    const g = groups.get(key);
    if (!g) {
      groups.set(key, { ...p, sums: [...p.sums] });
      continue;
    }
    if (p.startNs < g.startNs) g.startNs = p.startNs;
    if (p.endNs > g.endNs) g.endNs = p.endNs;
    g.count += p.count;
    g.seg ||= p.seg;
    for (let k = 0; k < g.sums.length; k++) {
      const v = p.sums[k] ?? null;
      if (v !== null) g.sums[k] = (g.sums[k] ?? 0n) + v;
    }
    g.lockWakerMin = min(g.lockWakerMin, p.lockWakerMin);
    g.lockWakerMax = max(g.lockWakerMax, p.lockWakerMax);
    g.otherWakerMin = min(g.otherWakerMin, p.otherWakerMin);
    g.otherWakerMax = max(g.otherWakerMax, p.otherWakerMax);
    g.detail = null;
  }
  return [...groups.values()].sort((a, b) => (a.startNs < b.startNs ? -1 : a.startNs > b.startNs ? 1 : 0));
}
