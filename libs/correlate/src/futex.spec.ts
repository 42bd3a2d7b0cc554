import { describe, expect, it } from 'vitest';
import type { Segment, Wakeup } from '@threadreel/model';
import { appendAll } from '@threadreel/model';
import { pairFutexes, type FutexWake } from './futex.js';

const MS = 1_000_000n;
const lock = (threadId: string, startNs: bigint, endNs: bigint, extra: Partial<Segment> = {}): Segment => ({
  threadId,
  startNs,
  endNs,
  state: 'lock',
  source: 'strace',
  syscall: 'futex',
  lockId: 'futex:0xa',
  ...extra,
});
const threads = new Map([
  [101, 'w'],
  [102, 'a'],
  [103, 'b'],
  [104, 'sampler'],
]);
const threadOf = (tid: number) => threads.get(tid);
const wake = (tid: number, startNs: bigint, addr = '0xa'): FutexWake => ({ tid, startNs, addr });

describe('pairFutexes', () => {
  it('names the thread whose tenure covered most of a convoy wait, dropping the last releaser stack', () => {
    const segs = new Map([['w', [lock('w', 0n, 100n * MS, { wakerThreadId: 'b', wakerStackId: 'sb' })]]]);
    // a held it from before the wait to 70 ms, then b until 100 ms (its release woke w).
    const edges = pairFutexes(segs, [wake(103, 99n * MS), wake(102, 70n * MS)], threadOf);
    const s = segs.get('w')?.[0];
    expect(s?.wakerThreadId).toBe('a');
    expect(s?.wakerStackId).toBeUndefined();
    expect(s?.reason).toBe('holder from the FUTEX_WAKE calls on this address');
    expect(edges).toEqual([
      { timeNs: 70n * MS, wakerThreadId: 'a', wakeeThreadId: 'w', source: 'futex', lockId: 'futex:0xa' },
    ]);
  });

  it('keeps the sched waker when it is the futex holder', () => {
    const seg = lock('w', 0n, 50n * MS, { wakerThreadId: 'a', wakerStackId: 'sa' });
    const segs = new Map([['w', [seg]]]);
    expect(pairFutexes(segs, [wake(102, 49n * MS)], threadOf)).toEqual([]);
    expect(segs.get('w')?.[0]).toBe(seg);
  });

  it('drops a waker that made no FUTEX_WAKE on the address (a signal, e.g. the JFR sampler)', () => {
    const segs = new Map([
      [
        'w',
        [
          lock('w', 0n, 40n * MS, { wakerThreadId: 'sampler', wakerStackId: 'ss' }),
          // Its re-wait on the same address is ended by a's release.
          lock('w', 40n * MS + 50_000n, 90n * MS, { wakerThreadId: 'a', wakerStackId: 'sa' }),
        ],
      ],
    ]);
    // Other addresses and the waiter's own wakes are not evidence.
    const edges = pairFutexes(
      segs,
      [wake(104, 20n * MS, '0xb'), wake(101, 10n * MS), wake(102, 89n * MS)],
      threadOf,
    );
    expect(edges).toEqual([]);
    const [first, second] = segs.get('w') ?? [];
    expect(first?.wakerThreadId).toBeUndefined();
    expect(first?.wakerStackId).toBeUndefined();
    expect(first?.reason).toMatch(/no FUTEX_WAKE on this address/);
    expect(second?.wakerThreadId).toBe('a');
    expect(second?.wakerStackId).toBe('sa');
  });

  it('keeps the waker when a wake on the address is near the wait (clock slack) or by a thread outside the capture', () => {
    const segs = new Map([
      [
        'w',
        [
          lock('w', 10n * MS, 20n * MS, { wakerThreadId: 'a' }),
          lock('w', 30n * MS, 40n * MS, { wakerThreadId: 'b' }),
        ],
      ],
    ]);
    // 1 ms before the first wait's start (inside the 2 ms slack); an unknown tid during the second.
    pairFutexes(segs, [wake(102, 9n * MS), wake(999, 35n * MS)], threadOf);
    expect(segs.get('w')?.map((s) => s.wakerThreadId)).toEqual(['a', 'b']);
  });
});

describe('appendAll', () => {
  it('appends a million futex edges, where push(...edges) overflows the call stack', () => {
    const edges = Array.from({ length: 1_000_000 }, (_, i): Wakeup => ({
      timeNs: BigInt(i),
      wakerThreadId: 'a',
      wakeeThreadId: 'w',
      source: 'futex',
    }));
    const all: Wakeup[] = [{ timeNs: -1n, wakerThreadId: null, wakeeThreadId: 'w', source: 'sched_wakeup' }];
    expect(() => [...all].push(...edges)).toThrow(RangeError);
    expect(appendAll(all, edges)).toHaveLength(1_000_001);
    expect(all[1_000_000]?.timeNs).toBe(999_999n);
  });
});
