import { describe, expect, it } from 'vitest';
import { findDeadlock, type LockWait, type LockWaitsOf } from './deadlock.js';

const MS = 1_000_000n;

/** Waits per thread (sorted), answered for any window they overlap. */
function waits(byThread: Record<string, LockWait[]>): LockWaitsOf {
  return (t, from, to) => (byThread[t] ?? []).filter((w) => w.endNs > from && w.startNs < to);
}
const wait = (startNs: bigint, endNs: bigint, holderThreadId: string, lockId: string | null): LockWait => ({
  startNs,
  endNs,
  holderThreadId,
  lockId,
});

describe('findDeadlock', () => {
  it('ABBA: two threads each blocked on the lock the other holds during a common interval', () => {
    const of = waits({
      t1: [wait(10n * MS, 90n * MS, 't2', 'A')],
      t2: [wait(20n * MS, 95n * MS, 't1', 'B')],
    });
    expect(findDeadlock('t1', 10n * MS, 90n * MS, of)).toEqual({
      threadIds: ['t1', 't2'],
      lockIds: ['A', 'B'],
      fromNs: 20n * MS,
      toNs: 90n * MS,
    });
  });

  it('ping-pong at disjoint times is not a deadlock', () => {
    // t2 woke t1 (t1 waited on it) and, earlier, t1 woke t2: never both blocked at once.
    const of = waits({
      t1: [wait(10n * MS, 50n * MS, 't2', 'A'), wait(60n * MS, 100n * MS, 't2', 'A')],
      t2: [wait(50n * MS, 60n * MS, 't1', 'B'), wait(0n * MS, 10n * MS, 't1', 'B')],
    });
    expect(findDeadlock('t1', 10n * MS, 100n * MS, of)).toBeNull();
  });

  it('a three-thread cycle, found through the waiter blocked behind it', () => {
    const of = waits({
      w: [wait(0n * MS, 100n * MS, 'a', 'L0')],
      a: [wait(5n * MS, 100n * MS, 'b', 'L1')],
      b: [wait(10n * MS, 100n * MS, 'c', 'L2')],
      c: [wait(15n * MS, 80n * MS, 'a', 'L3')],
    });
    expect(findDeadlock('w', 0n * MS, 100n * MS, of)).toEqual({
      threadIds: ['a', 'b', 'c'],
      lockIds: ['L1', 'L2', 'L3'],
      fromNs: 15n * MS,
      toNs: 80n * MS,
    });
  });

  it('every pair may overlap and still no moment hold them all', () => {
    // a–b overlap [10, 20), b–c [30, 40), c–a [50, 60): no instant where all three wait.
    const of = waits({
      a: [wait(10n * MS, 20n * MS, 'b', 'L1'), wait(50n * MS, 60n * MS, 'b', 'L1')],
      b: [wait(10n * MS, 40n * MS, 'c', 'L2')],
      c: [wait(30n * MS, 60n * MS, 'a', 'L3')],
    });
    expect(findDeadlock('a', 0n * MS, 100n * MS, of)).toBeNull();
  });

  it('one lock cannot be held by two threads: waits passing one futex back and forth are none', () => {
    const of = waits({
      t1: [wait(0n * MS, 50n * MS, 't2', 'gil')],
      t2: [wait(10n * MS, 40n * MS, 't1', 'gil')],
    });
    expect(findDeadlock('t1', 0n * MS, 50n * MS, of)).toBeNull();
    // Locks not known (null) cannot be told apart: the overlap decides.
    const unknown = waits({
      t1: [wait(0n * MS, 50n * MS, 't2', null)],
      t2: [wait(10n * MS, 40n * MS, 't1', null)],
    });
    expect(findDeadlock('t1', 0n * MS, 50n * MS, unknown)?.threadIds).toEqual(['t1', 't2']);
  });

  it('a wait its own thread ended (a timeout, a signal) is no evidence', () => {
    expect(findDeadlock('t', 0n, 10n * MS, waits({ t: [wait(0n, 10n * MS, 't', 'M')] }))).toBeNull();
  });

  it('an overlap shorter than the sources disagree (2 ms) is none: a mutex and condvar hand-off', () => {
    // The GIL's mutex and condition variable are separate futexes; strace and sched place the
    // waits' ends up to about a millisecond apart, so they seem to overlap for a moment.
    const of = waits({
      t1: [wait(0n, 10n * MS, 't2', 'futex:0xa5b8f4')],
      t2: [{ startNs: 9n * MS, endNs: 12n * MS, holderThreadId: 't1', lockId: 'futex:0xa5b8f0' }],
    });
    expect(findDeadlock('t1', 0n, 10n * MS, of)).toBeNull();
    expect(findDeadlock('t1', 0n, 10n * MS, of, 500_000n)?.threadIds).toEqual(['t1', 't2']);
  });

  it('an empty window has none', () => {
    expect(
      findDeadlock('t1', 10n * MS, 10n * MS, waits({ t1: [wait(0n * MS, 90n * MS, 't2', 'A')] })),
    ).toBeNull();
  });
});
