import type { DeadlockCycle, Nanos } from '@threadreel/model';

/**
 * Deadlocks among lock waits. Pure: no I/O.
 *
 * A deadlock is a cycle of lock waits that overlap in time: threads T0 … Tn−1 such that at
 * some moment every Ti is blocked in a lock wait (a real lock: a `lock` segment) whose holder
 * is Ti+1 (Tn−1's is T0). A wait chain that merely comes back to a thread — a waker ping-pong
 * (the waiter woke a runtime thread, later that thread woke the waiter), waits at disjoint
 * times — is not one: at no moment are all of them blocked on each other.
 *
 * Locks are exclusive: waits on the same known lock must have the same holder, so a cycle
 * uses each known lock id at most once (which also rules out waits on one futex passed back
 * and forth, as Python's GIL is). A wait whose holder is the waiting thread itself ended by its
 * own doing (a timeout, a signal), so it is no evidence. And the threads must all be blocked
 * for at least `minOverlapNs` (2 ms): wait boundaries come from sources that disagree by about a
 * millisecond (strace prints a syscall's entry before the thread leaves the CPU; its ptrace
 * stops delay it), so a shorter overlap — seen between the GIL's mutex and condition variable
 * waits, or a JVM thread and a compiler thread handing a futex back and forth — is within
 * that disagreement, not a moment where all of them were stuck.
 */

/** A stretch a thread spent blocked on a lock, and the thread that held it. */
export interface LockWait {
  readonly startNs: Nanos;
  /** Exclusive. */
  readonly endNs: Nanos;
  readonly holderThreadId: string;
  readonly lockId: string | null;
}

/** Waits of `threadId` overlapping [fromNs, toNs), with a known holder. */
export type LockWaitsOf = (threadId: string, fromNs: Nanos, toNs: Nanos) => readonly LockWait[];

/** Threads in a cycle at most (as the wait chain's hops). */
const MAX_CYCLE = 8;
/** Shortest common blocked time that counts: above the sources' timing disagreement. */
export const MIN_DEADLOCK_OVERLAP_NS = 2_000_000n;
/** Waits looked at in one search at most: a bound on the depth-first walk. */
const MAX_VISITS = 10_000;

/**
 * A deadlock that `start` is part of or blocked behind, during [fromNs, toNs): a depth-first
 * walk from `start`'s waits to their holders' waits, each step keeping only the time every
 * thread on the path was blocked at once, until a holder is a thread already on the path. The
 * cycle starts at that thread; its interval is when all the path's threads were blocked, at
 * least `minOverlapNs` long. Null when there is none (within MAX_CYCLE threads and MAX_VISITS
 * waits).
 */
export function findDeadlock(
  start: string,
  fromNs: Nanos,
  toNs: Nanos,
  waitsOf: LockWaitsOf,
  minOverlapNs: Nanos = MIN_DEADLOCK_OVERLAP_NS,
): DeadlockCycle | null {
  const path: string[] = [start];
  const locks: (string | null)[] = [];
  let visits = 0;
  const walk = (from: Nanos, to: Nanos): DeadlockCycle | null => {
    const thread = path[path.length - 1] as string;
    for (const w of waitsOf(thread, from, to)) {
      if (++visits > MAX_VISITS) return null;
      const a = w.startNs > from ? w.startNs : from;
      const b = w.endNs < to ? w.endNs : to;
      if (b <= a || b - a < minOverlapNs || w.holderThreadId === thread) continue;
      // One lock, one holder: a lock the path already waits on held by another thread cannot be.
      const j = w.lockId === null ? -1 : locks.indexOf(w.lockId);
      if (j >= 0 && path[j + 1] !== w.holderThreadId) continue;
      const k = path.indexOf(w.holderThreadId);
      if (k >= 0)
        return { threadIds: path.slice(k), lockIds: [...locks.slice(k), w.lockId], fromNs: a, toNs: b };
      if (path.length >= MAX_CYCLE) continue;
      path.push(w.holderThreadId);
      locks.push(w.lockId);
      const found = walk(a, b);
      if (found) return found;
      path.pop();
      locks.pop();
    }
    return null;
  };
  return toNs > fromNs ? walk(fromNs, toNs) : null;
}
