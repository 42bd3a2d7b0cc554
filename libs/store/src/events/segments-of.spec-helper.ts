import { THREAD_STATES, type Segment } from '@threadreel/model';

/** Sorted, non-overlapping segments from (gap, duration, state, waker) tuples. */
export function segmentsOf(
  parts: readonly [number, number, number, number | null][],
  origin = 1_000_000_000n,
): Segment[] {
  const segs: Segment[] = [];
  let t = origin;
  for (const [gap, dur, st, waker] of parts) {
    const s = t + BigInt(gap);
    const e = s + BigInt(dur);
    segs.push({
      threadId: 'th',
      startNs: s,
      endNs: e,
      state: THREAD_STATES[st % THREAD_STATES.length] ?? 'unknown',
      source: 'sched',
      ...(waker === null ? {} : { wakerThreadId: String(waker) }),
    });
    t = e;
  }
  return segs;
}
