import { appendAll, pushTo, type FutexWakeRow, type Segment, type Wakeup } from '@threadreel/model';

/** How long after a FUTEX_WAKE the woken waiter's futex may return (strace prints the wake first). */
const FUTEX_PAIR_SLACK_NS = 2_000_000n;

/** A FUTEX_WAKE (or REQUEUE) call seen by strace, on the capture's time axis. */
export type FutexWake = FutexWakeRow;

/**
 * Names the holder of futex lock waits from the FUTEX_WAKE calls on the wait's address by
 * other threads during the wait (up to a little after strace printed its return). In a convoy a
 * wait outlives several holders: each wake ends one holder's tenure (the stretch since the
 * previous wake), and the thread whose tenure covered most of the wait is named the holder —
 * the one the waiter really waited for. When that is not the thread whose wakeup ended the wait,
 * the waker's stack (the last releaser's) is dropped rather than shown as the holder's.
 *
 * A wait that a thread of the capture woke although no thread called FUTEX_WAKE on its address
 * anywhere near it (within the pairing slack either side) was not ended by a release: a signal
 * (the JVM's JFR sampler and safepoint machinery, a profiler) interrupted it, and the waker is
 * not the lock's holder. Its waker and waker stack are dropped, so the waiter's next wait on
 * the lock carries the acquisition on to the real release. (Strace traces every thread of the
 * process, so a waker inside the capture that released the lock would have left its wake.)
 *
 * Segments are patched in place; each naming is also returned as a `futex` wakeup edge.
 */
export function pairFutexes(
  segmentsByThread: Map<string, Segment[]>,
  wakes: readonly FutexWake[],
  threadOfTid: (tid: number) => string | undefined,
): Wakeup[] {
  const pair = futexPairer(wakes, threadOfTid);
  const out: Wakeup[] = [];
  for (const [threadId, segs] of segmentsByThread) appendAll(out, pair(threadId, segs));
  return out;
}

/**
 * {@link pairFutexes} one thread at a time: the wakes are indexed once, then each thread's
 * segments are patched (and its `futex` edges returned) as the thread is built.
 */
export function futexPairer(
  wakes: readonly FutexWake[],
  threadOfTid: (tid: number) => string | undefined,
): (threadId: string, segs: Segment[]) => Wakeup[] {
  const byAddr = new Map<string, FutexWake[]>();
  for (const w of wakes) pushTo(byAddr, w.addr, w);
  for (const list of byAddr.values())
    list.sort((a, b) => (a.startNs < b.startNs ? -1 : a.startNs > b.startNs ? 1 : 0));
  return (threadId, segs) => {
    const out: Wakeup[] = [];
    for (let i = 0; i < segs.length; i++) {
      const s = segs[i] as Segment;
      if (s.state !== 'lock' || !s.lockId?.startsWith('futex:')) continue;
      const list = byAddr.get(s.lockId.slice(6)) ?? [];
      let prev = s.startNs;
      let best: { id: string; tenure: bigint; at: bigint } | null = null;
      let near = false;
      for (let k = firstAtOrAfter(list, s.startNs - FUTEX_PAIR_SLACK_NS); k < list.length; k++) {
        const w = list[k] as FutexWake;
        if (w.startNs > s.endNs + FUTEX_PAIR_SLACK_NS) break;
        const waker = threadOfTid(w.tid);
        if (waker === threadId) continue;
        near = true;
        if (w.startNs < s.startNs || waker === undefined) continue;
        const tenure = w.startNs - prev;
        prev = w.startNs;
        if (best === null || tenure > best.tenure) best = { id: waker, tenure, at: w.startNs };
      }
      if (best === null) {
        if (!near && s.wakerThreadId !== undefined) {
          const patched: Segment = {
            ...s,
            reason: `woken by a thread that made no FUTEX_WAKE on this address (a signal, not a release)`,
          };
          delete (patched as { wakerThreadId?: string }).wakerThreadId;
          delete (patched as { wakerStackId?: string }).wakerStackId;
          segs[i] = patched;
        }
        continue;
      }
      if (best.id === s.wakerThreadId) continue;
      const patched: Segment = {
        ...s,
        wakerThreadId: best.id,
        reason: 'holder from the FUTEX_WAKE calls on this address',
      };
      if (s.wakerThreadId) delete (patched as { wakerStackId?: string }).wakerStackId;
      segs[i] = patched;
      out.push({
        timeNs: best.at,
        wakerThreadId: best.id,
        wakeeThreadId: threadId,
        source: 'futex',
        lockId: s.lockId,
      });
    }
    return out;
  };
}

function firstAtOrAfter(list: readonly FutexWake[], t: bigint): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((list[mid]?.startNs ?? 0n) < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
