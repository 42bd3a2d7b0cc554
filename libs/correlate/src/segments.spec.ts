import fc from 'fast-check';
import { THREAD_STATES, type Segment } from '@threadreel/model';
import { describe, expect, it } from 'vitest';
import {
  buildSegments,
  type BuildStats,
  type PauseSpan,
  type RuntimeSpan,
  type SchedPoint,
  type StackVerdict,
  type SyscallSpan,
  type ThreadInput,
} from './segments.js';

const T = 'th1';

function input(over: Partial<ThreadInput> = {}): ThreadInput {
  return {
    threadId: T,
    lifeStartNs: 0n,
    lifeEndNs: 1000n,
    sched: [],
    syscalls: [],
    runtime: [],
    pauses: [],
    mutator: true,
    samples: [],
    samplePeriodNs: null,
    stackState: () => null,
    ...over,
  };
}

/** [start, end, state] triples, for compact assertions. */
const shape = (segs: readonly Segment[]): [bigint, bigint, string][] =>
  segs.map((s) => [s.startNs, s.endNs, s.state]);

function checkInvariants(inp: ThreadInput, segs: readonly Segment[]): void {
  if (inp.lifeEndNs <= inp.lifeStartNs) {
    expect(segs).toEqual([]);
    return;
  }
  expect(segs.length).toBeGreaterThan(0);
  expect(segs[0]?.startNs).toBe(inp.lifeStartNs);
  expect(segs[segs.length - 1]?.endNs).toBe(inp.lifeEndNs);
  for (let i = 0; i < segs.length; i++) {
    const s = segs[i] as Segment;
    expect(s.threadId).toBe(inp.threadId);
    expect(s.endNs).toBeGreaterThan(s.startNs);
    expect(THREAD_STATES).toContain(s.state);
    const next = segs[i + 1];
    if (next !== undefined) expect(next.startNs).toBe(s.endNs); // sorted, contiguous, no overlap
  }
}

describe('buildSegments with sched data', () => {
  it('lock wait on a futex, ended by the holder’s wakeup', () => {
    const inp = input({
      sched: [
        { timeNs: 100n, kind: 'out', prevState: 'S', stackId: 'st1' },
        { timeNs: 180n, kind: 'wakeup', wakerThreadId: 'holder', wakerStackId: 'st9' },
        { timeNs: 190n, kind: 'in' },
      ],
      syscalls: [{ startNs: 90n, endNs: 185n, name: 'futex', category: 'lock', futexAddr: '0x7f00' }],
    });
    const { segments, wakeups, quality } = buildSegments(inp);
    expect(quality).toBe('sched');
    expect(shape(segments)).toEqual([
      [0n, 100n, 'cpu'],
      [100n, 180n, 'lock'],
      [180n, 190n, 'runqueue'],
      [190n, 1000n, 'cpu'],
    ]);
    expect(segments[1]).toEqual({
      threadId: T,
      startNs: 100n,
      endNs: 180n,
      state: 'lock',
      source: 'strace',
      syscall: 'futex',
      lockId: 'futex:0x7f00',
      blockedStackId: 'st1',
      prevState: 'S',
      wakerThreadId: 'holder',
      wakerStackId: 'st9',
    });
    expect(wakeups).toEqual([
      {
        timeNs: 180n,
        wakerThreadId: 'holder',
        wakeeThreadId: T,
        wakerStackId: 'st9',
        source: 'sched_wakeup',
        lockId: 'futex:0x7f00',
      },
    ]);
  });

  it('preemption: R+ is runqueue until switched back in', () => {
    const { segments } = buildSegments(
      input({
        sched: [
          { timeNs: 100n, kind: 'out', prevState: 'R+' },
          { timeNs: 150n, kind: 'in' },
        ],
      }),
    );
    expect(shape(segments)).toEqual([
      [0n, 100n, 'cpu'],
      [100n, 150n, 'runqueue'],
      [150n, 1000n, 'cpu'],
    ]);
    expect(segments[1]).toMatchObject({ prevState: 'R+', reason: 'preempted', source: 'sched' });
  });

  it('D state without syscall or stack evidence is file; D|K too', () => {
    for (const prevState of ['D', 'D|K']) {
      const { segments } = buildSegments(
        input({
          sched: [
            { timeNs: 100n, kind: 'out', prevState },
            { timeNs: 300n, kind: 'wakeup', wakerThreadId: null },
            { timeNs: 310n, kind: 'in' },
          ],
        }),
      );
      expect(shape(segments)).toEqual([
        [0n, 100n, 'cpu'],
        [100n, 300n, 'file'],
        [300n, 310n, 'runqueue'],
        [310n, 1000n, 'cpu'],
      ]);
      expect(segments[1]?.wakerThreadId).toBeUndefined();
      expect(segments[1]?.reason).toContain('uninterruptible');
    }
  });

  it('S without evidence is other; the stack verdict is used when there is one', () => {
    const stackState = (id: string): StackVerdict | null =>
      id === 'sleepy' ? { state: 'sleep', reason: 'timed sleep (do_nanosleep)' } : null;
    const { segments } = buildSegments(
      input({
        stackState,
        sched: [
          { timeNs: 100n, kind: 'out', prevState: 'S', stackId: 'mystery' },
          { timeNs: 200n, kind: 'in' },
          { timeNs: 300n, kind: 'out', prevState: 'S', stackId: 'sleepy' },
          { timeNs: 400n, kind: 'in' },
        ],
      }),
    );
    expect(shape(segments)).toEqual([
      [0n, 100n, 'cpu'],
      [100n, 200n, 'other'],
      [200n, 300n, 'cpu'],
      [300n, 400n, 'sleep'],
      [400n, 1000n, 'cpu'],
    ]);
    expect(segments[1]?.reason).toBe('blocked, no syscall/stack evidence');
    expect(segments[3]).toMatchObject({ source: 'stack', blockedStackId: 'sleepy' });
  });

  it('runtime monitor-enter: lock on monitor:<class>, holder from previousOwner when no waker thread', () => {
    const runtime: RuntimeSpan[] = [
      {
        startNs: 95n,
        endNs: 260n,
        type: 'monitor-enter',
        objectClass: 'com.acme.Cache',
        ownerThreadId: 'owner7',
      },
    ];
    const { segments } = buildSegments(
      input({
        runtime,
        sched: [
          { timeNs: 100n, kind: 'out', prevState: 'S' },
          { timeNs: 250n, kind: 'wakeup', wakerThreadId: null },
          { timeNs: 255n, kind: 'in' },
        ],
      }),
    );
    expect(segments[1]).toMatchObject({
      state: 'lock',
      source: 'runtime',
      lockId: 'monitor:com.acme.Cache',
      wakerThreadId: 'owner7',
    });
  });

  it('a futex whose stack says "worker waiting on its queue" is idle, not lock', () => {
    const { segments } = buildSegments(
      input({
        stackState: () => ({ state: 'idle', reason: 'worker waiting for work (LinkedBlockingQueue.take)' }),
        sched: [
          { timeNs: 100n, kind: 'out', prevState: 'S', stackId: 'q' },
          { timeNs: 500n, kind: 'in' },
        ],
        syscalls: [{ startNs: 99n, endNs: 499n, name: 'futex', category: 'lock', futexAddr: '0x1' }],
      }),
    );
    expect(segments[1]).toMatchObject({ state: 'idle', syscall: 'futex', lockId: 'futex:0x1' });
  });

  it('ptrace stop t: the traced syscall it precedes or covers, else the running it interrupted', () => {
    const { segments } = buildSegments(
      input({
        stackState: () => ({ state: 'lock', reason: 'would be wrong' }),
        sched: [
          { timeNs: 100n, kind: 'out', prevState: 't', stackId: 'x' }, // entry stop of the read
          { timeNs: 120n, kind: 'in' },
          { timeNs: 300n, kind: 'out', prevState: 't' }, // inside the read
          { timeNs: 320n, kind: 'in' },
        ],
        syscalls: [{ startNs: 250n, endNs: 400n, name: 'read', category: 'net', target: '10.0.0.5:5432' }],
      }),
    );
    expect(shape(segments)).toEqual([
      [0n, 100n, 'cpu'],
      [100n, 120n, 'net'],
      [120n, 300n, 'cpu'],
      [300n, 320n, 'net'],
      [320n, 1000n, 'cpu'],
    ]);
    expect(segments[3]).toMatchObject({ target: '10.0.0.5:5432', prevState: 't' });
    const alone = buildSegments(
      input({
        sched: [
          { timeNs: 100n, kind: 'out', prevState: 't' },
          { timeNs: 120n, kind: 'in' },
        ],
      }),
    );
    expect(alone.segments[1]).toMatchObject({
      state: 'cpu',
      reason: 'ptrace stop (strace overhead) while running',
    });
  });

  it('a lost switch-out: cpu inside a long blocking syscall with no sample takes the syscall state', () => {
    const MS = 1_000_000n;
    const { segments } = buildSegments(
      input({
        lifeEndNs: 200n * MS,
        samplePeriodNs: 5n * MS,
        sched: [
          { timeNs: 10n * MS, kind: 'out', prevState: 'S' },
          { timeNs: 11n * MS, kind: 'in' },
          { timeNs: 190n * MS, kind: 'out', prevState: 'S' },
        ],
        // recvfrom from 20 to 170 ms: perf lost its switch-out; no sample fell inside it.
        syscalls: [
          { startNs: 20n * MS, endNs: 170n * MS, name: 'recvfrom', category: 'net', target: '127.0.0.1:80' },
        ],
        samples: [15n * MS, 180n * MS],
      }),
    );
    const at = (t: bigint) => segments.find((x) => x.startNs <= t && t < x.endNs);
    expect(at(100n * MS)).toMatchObject({ state: 'net', syscall: 'recvfrom', target: '127.0.0.1:80' });
    expect(at(15n * MS)?.state).toBe('cpu');
    expect(at(180n * MS)?.state).toBe('cpu');
    // With a sample inside, the sched evidence stands.
    const sampled = buildSegments(
      input({
        lifeEndNs: 200n * MS,
        samplePeriodNs: 5n * MS,
        sched: [
          { timeNs: 10n * MS, kind: 'out', prevState: 'S' },
          { timeNs: 11n * MS, kind: 'in' },
        ],
        syscalls: [{ startNs: 20n * MS, endNs: 170n * MS, name: 'recvfrom', category: 'net' }],
        samples: [100n * MS],
      }),
    );
    expect(sampled.segments.find((x) => x.startNs <= 100n * MS && 100n * MS < x.endNs)?.state).toBe('cpu');
  });

  it('on CPU inside a file syscall of 50 µs or more is file (the kernel I/O path); shorter stays cpu', () => {
    const MS = 1_000_000n;
    const { segments } = buildSegments(
      input({
        lifeEndNs: 20n * MS,
        samplePeriodNs: 1n * MS,
        // fsync 2..8 ms: on CPU 2..3 (writeback), D 3..7, on CPU 7..8; a 20 µs write at 10 ms.
        sched: [
          { timeNs: 3n * MS, kind: 'out', prevState: 'D' },
          { timeNs: 7n * MS, kind: 'in' },
        ],
        syscalls: [
          { startNs: 2n * MS, endNs: 8n * MS, name: 'fsync', category: 'file', target: '/data/wal' },
          {
            startNs: 10n * MS,
            endNs: 10n * MS + 20_000n,
            name: 'write',
            category: 'file',
            target: '/data/wal',
          },
        ],
        samples: [2n * MS + 1n, 7n * MS + 1n, 10n * MS + 1n],
      }),
    );
    const at = (t: bigint) => segments.find((x) => x.startNs <= t && t < x.endNs);
    expect(at(2n * MS + MS / 2n)).toMatchObject({ state: 'file', syscall: 'fsync', target: '/data/wal' });
    expect(at(2n * MS + MS / 2n)?.reason).toContain('kernel');
    expect(at(5n * MS)).toMatchObject({ state: 'file', syscall: 'fsync' });
    expect(at(7n * MS + MS / 2n)).toMatchObject({ state: 'file', syscall: 'fsync' });
    expect(at(1n * MS)?.state).toBe('cpu');
    expect(at(10n * MS + 1000n)?.state).toBe('cpu');
  });

  it('a futex wake releases waiters: the caller is not waiting', () => {
    const { segments } = buildSegments(
      input({
        sched: [
          { timeNs: 100n, kind: 'out', prevState: 'S' },
          { timeNs: 200n, kind: 'in' },
        ],
        syscalls: [
          {
            startNs: 90n,
            endNs: 210n,
            name: 'futex',
            category: 'lock',
            futexAddr: '0xa',
            futexOp: 'FUTEX_WAKE_PRIVATE',
          },
        ],
      }),
    );
    expect(segments[1]).toMatchObject({ state: 'cpu', reason: 'futex wake: releasing, not waiting' });
    expect(segments[1]?.lockId).toBeUndefined();
  });

  it('first point in: off-CPU before it is unknown except where syscalls say; runqueue after a wakeup', () => {
    const { segments } = buildSegments(
      input({
        sched: [
          { timeNs: 300n, kind: 'wakeup', wakerThreadId: 'w' },
          { timeNs: 320n, kind: 'in' },
          { timeNs: 900n, kind: 'out', prevState: 'S' },
        ],
        syscalls: [{ startNs: 100n, endNs: 310n, name: 'epoll_wait', category: 'poll' }],
      }),
    );
    expect(shape(segments)).toEqual([
      [0n, 100n, 'unknown'],
      [100n, 300n, 'idle'],
      [300n, 320n, 'runqueue'],
      [320n, 900n, 'cpu'],
      [900n, 1000n, 'other'],
    ]);
  });

  it('clips to the life; points before the life still set the initial state; no edges outside', () => {
    const { segments, wakeups } = buildSegments(
      input({
        lifeStartNs: 100n,
        lifeEndNs: 200n,
        sched: [
          { timeNs: 50n, kind: 'out', prevState: 'D' },
          { timeNs: 60n, kind: 'wakeup', wakerThreadId: 'a' },
          { timeNs: 150n, kind: 'in' },
          { timeNs: 250n, kind: 'wakeup', wakerThreadId: 'b' },
        ],
      }),
    );
    expect(shape(segments)).toEqual([
      [100n, 150n, 'runqueue'],
      [150n, 200n, 'cpu'],
    ]);
    expect(wakeups).toEqual([]);
  });

  it('inconsistent input: unsorted, two outs in a row, two ins in a row, wakeup while running', () => {
    const sched: SchedPoint[] = [
      { timeNs: 400n, kind: 'in' },
      { timeNs: 100n, kind: 'out', prevState: 'S' },
      { timeNs: 200n, kind: 'out', prevState: 'S' },
      { timeNs: 300n, kind: 'in' },
      { timeNs: 350n, kind: 'wakeup', wakerThreadId: 'x' },
    ];
    const { segments, wakeups } = buildSegments(input({ sched }));
    // Two outs in a row: the switch-in between them was not recorded and nothing shows the
    // thread running in between, so it stays blocked up to the second out.
    expect(shape(segments)).toEqual([
      [0n, 100n, 'cpu'],
      [100n, 300n, 'other'],
      [300n, 1000n, 'cpu'],
    ]);
    expect(wakeups).toHaveLength(1);
  });

  it('perf -p loses switch-ins: the thread is back on CPU at its first sign of running', () => {
    const sched: SchedPoint[] = [
      { timeNs: 100n, kind: 'out', prevState: 'S' },
      { timeNs: 500n, kind: 'out', prevState: 'R' },
      { timeNs: 900n, kind: 'out', prevState: 'S' },
    ];
    const syscalls: SyscallSpan[] = [
      { startNs: 90n, endNs: 250n, name: 'futex', category: 'lock', futexAddr: '0xa' },
    ];
    const { segments } = buildSegments(input({ sched, syscalls, samples: [700n] }));
    expect(shape(segments)).toEqual([
      [0n, 100n, 'cpu'],
      [100n, 250n, 'lock'], // until strace printed the futex's return
      [250n, 500n, 'cpu'],
      [500n, 700n, 'runqueue'], // preempted until the next on-CPU sample
      [700n, 900n, 'cpu'],
      [900n, 1000n, 'other'],
    ]);
  });

  it('perf -p loses switch-ins: a per-task cpu-clock sample’s period dates the switch-in', () => {
    // Sampled at 400 (ran 100 of its 150 ns period before the preemption at 500), the next
    // cpu-clock sample at 800 counts 150 ns of the thread's own CPU time: 100 ns ran in
    // [400, 500], so it ran again from 800 − (150 − 100) = 750, not from the sample at 800.
    const sched: SchedPoint[] = [
      { timeNs: 100n, kind: 'out', prevState: 'S' },
      { timeNs: 500n, kind: 'out', prevState: 'R' },
      { timeNs: 900n, kind: 'out', prevState: 'S' },
    ];
    const syscalls: SyscallSpan[] = [
      { startNs: 90n, endNs: 250n, name: 'futex', category: 'lock', futexAddr: '0xa' },
    ];
    const first = { timeNs: 400n, periodNs: 150n };
    const cpuClock = [first, { timeNs: 800n, periodNs: 150n }];
    const { segments } = buildSegments(input({ sched, syscalls, samples: [400n, 800n], cpuClock }));
    expect(shape(segments)).toEqual([
      [0n, 100n, 'cpu'],
      [100n, 250n, 'lock'],
      [250n, 500n, 'cpu'],
      [500n, 750n, 'runqueue'],
      [750n, 900n, 'cpu'],
      [900n, 1000n, 'other'],
    ]);
    // A period shorter than what already ran since the previous sample says nothing new.
    const short = buildSegments(
      input({ sched, syscalls, samples: [400n, 800n], cpuClock: [first, { timeNs: 800n, periodNs: 50n }] }),
    );
    expect(shape(short.segments)).toContainEqual([500n, 800n, 'runqueue']);
  });

  it('never throws when stackState throws or returns garbage', () => {
    const r = buildSegments(
      input({
        stackState: (id) => {
          if (id === 'boom') throw new Error('boom');
          return { state: 'bogus' as 'cpu', reason: '?' };
        },
        sched: [
          { timeNs: 100n, kind: 'out', prevState: 'S', stackId: 'boom' },
          { timeNs: 200n, kind: 'in' },
          { timeNs: 300n, kind: 'out', prevState: 'S', stackId: 'garbage' },
        ],
      }),
    );
    expect(shape(r.segments).map((s) => s[2])).toEqual(['cpu', 'other', 'cpu', 'other']);
  });
});

describe('buildSegments without sched data', () => {
  it('strace only: syscalls give their category, gaps are cpu where sampled else unknown', () => {
    const syscalls: SyscallSpan[] = [
      { startNs: 100n, endNs: 300_000n, name: 'futex', category: 'lock', futexAddr: '0xa' },
      { startNs: 300_000n, endNs: 300_010n, name: 'getpid', category: 'other' }, // < 50 µs: a gap
      { startNs: 400_000n, endNs: 600_000n, name: 'epoll_wait', category: 'poll' },
      { startNs: 700_000n, endNs: 800_000n, name: 'fsync', category: 'file', target: '/var/lib/app/wal' },
    ];
    const { segments, quality } = buildSegments(
      input({ lifeEndNs: 1_000_000n, syscalls, samples: [350_000n], samplePeriodNs: 20_000n }),
    );
    expect(quality).toBe('strace');
    expect(shape(segments)).toEqual([
      [0n, 100n, 'unknown'],
      [100n, 300_000n, 'lock'],
      [300_000n, 340_000n, 'unknown'],
      [340_000n, 360_000n, 'cpu'],
      [360_000n, 400_000n, 'unknown'],
      [400_000n, 600_000n, 'idle'],
      [600_000n, 700_000n, 'unknown'],
      [700_000n, 800_000n, 'file'],
      [800_000n, 1_000_000n, 'unknown'],
    ]);
    expect(segments[1]).toMatchObject({ lockId: 'futex:0xa', source: 'strace' });
    expect(segments[7]).toMatchObject({ target: '/var/lib/app/wal' });
  });

  it('samples only: cpu around samples (period estimated when missing), unknown elsewhere', () => {
    const { segments, quality } = buildSegments(
      input({ samples: [100n, 120n, 140n, 600n], samplePeriodNs: null }),
    );
    expect(quality).toBe('samples');
    expect(shape(segments)).toEqual([
      [0n, 90n, 'unknown'],
      [90n, 150n, 'cpu'],
      [150n, 590n, 'unknown'],
      [590n, 610n, 'cpu'],
      [610n, 1000n, 'unknown'],
    ]);
    expect(segments[1]?.source).toBe('samples');
  });

  it('nothing: one unknown segment', () => {
    const { segments, quality } = buildSegments(input());
    expect(quality).toBe('none');
    expect(shape(segments)).toEqual([[0n, 1000n, 'unknown']]);
  });

  it('empty or inverted life: no segments', () => {
    expect(buildSegments(input({ lifeStartNs: 5n, lifeEndNs: 5n })).segments).toEqual([]);
    expect(buildSegments(input({ lifeStartNs: 9n, lifeEndNs: 5n })).segments).toEqual([]);
  });
});

describe('GC pauses', () => {
  const pauses: PauseSpan[] = [
    { startNs: 150n, endNs: 170n, phase: 'Pause Young (Normal)', gcId: 12 },
    { startNs: 165n, endNs: 175n, phase: 'overlapping', gcId: 13 },
  ];
  const sched: SchedPoint[] = [
    { timeNs: 100n, kind: 'out', prevState: 'S' },
    { timeNs: 200n, kind: 'wakeup', wakerThreadId: 'h' },
    { timeNs: 210n, kind: 'in' },
  ];
  const syscalls: SyscallSpan[] = [
    { startNs: 90n, endNs: 205n, name: 'futex', category: 'lock', futexAddr: '0x2' },
  ];

  it('split a mutator’s lock wait and override it', () => {
    const { segments } = buildSegments(input({ sched, syscalls, pauses }));
    expect(shape(segments)).toEqual([
      [0n, 100n, 'cpu'],
      [100n, 150n, 'lock'],
      [150n, 175n, 'gc'],
      [175n, 200n, 'lock'],
      [200n, 210n, 'runqueue'],
      [210n, 1000n, 'cpu'],
    ]);
    expect(segments[2]).toMatchObject({ source: 'gc', reason: 'gc pause: Pause Young (Normal), gc #12' });
    expect(segments[3]).toMatchObject({ wakerThreadId: 'h', lockId: 'futex:0x2' });
  });

  it('do not apply to non-mutator threads', () => {
    const { segments } = buildSegments(input({ sched, syscalls, pauses, mutator: false }));
    expect(segments.map((s) => s.state)).not.toContain('gc');
  });
});

describe('buildSegments properties (fast-check)', () => {
  const time = fc.bigInt({ min: -50n, max: 1050n });
  const prevState = fc.constantFrom('S', 'D', 'R', 'R+', 't', 'I', 'D|K', 'T', 'X', 'weird', undefined);
  const point: fc.Arbitrary<SchedPoint> = fc.record(
    {
      timeNs: time,
      kind: fc.constantFrom('out' as const, 'in' as const, 'wakeup' as const),
      prevState,
      stackId: fc.constantFrom('s1', 's2', undefined),
      wakerThreadId: fc.constantFrom('w1', null, undefined),
    },
    { requiredKeys: ['timeNs', 'kind'] },
  );
  const span = fc.tuple(time, time);
  const syscall: fc.Arbitrary<SyscallSpan> = fc
    .tuple(
      span,
      fc.constantFrom('net', 'file', 'lock', 'sleep', 'poll', 'other') as fc.Arbitrary<
        SyscallSpan['category']
      >,
    )
    .map(([[a, b], category]) => ({ startNs: a, endNs: b, name: 'sc', category, futexAddr: '0x1' }));
  const rt: fc.Arbitrary<RuntimeSpan> = fc
    .tuple(
      span,
      fc.constantFrom(
        'park',
        'monitor-enter',
        'sleep',
        'socket-read',
        'file-force',
        'thread-start',
      ) as fc.Arbitrary<RuntimeSpan['type']>,
    )
    .map(([[a, b], type]) => ({ startNs: a, endNs: b, type, objectClass: 'C' }));
  const pause: fc.Arbitrary<PauseSpan> = span.map(([a, b]) => ({
    startNs: a,
    endNs: b,
    phase: 'p',
    gcId: 1,
  }));
  const sorted = <T>(arb: fc.Arbitrary<T[]>, key: (t: T) => bigint): fc.Arbitrary<T[]> =>
    arb.map((xs) => [...xs].sort((x, y) => (key(x) < key(y) ? -1 : key(x) > key(y) ? 1 : 0)));
  const stackState = (id: string): StackVerdict | null =>
    id === 's1' ? { state: 'idle', reason: 'queue' } : id === 's2' ? { state: 'file', reason: 'io' } : null;

  const thread = (valid: boolean): fc.Arbitrary<ThreadInput> =>
    fc
      .record({
        life: valid
          ? fc.tuple(fc.bigInt({ min: 0n, max: 500n }), fc.bigInt({ min: 501n, max: 1000n }))
          : span,
        sched: valid
          ? sorted(fc.array(point, { maxLength: 40 }), (p) => p.timeNs)
          : fc.array(point, { maxLength: 40 }),
        syscalls: valid
          ? sorted(fc.array(syscall, { maxLength: 10 }), (s) => s.startNs)
          : fc.array(syscall, { maxLength: 10 }),
        runtime: fc.array(rt, { maxLength: 6 }),
        pauses: fc.array(pause, { maxLength: 4 }),
        samples: fc.array(time, { maxLength: 20 }),
        period: fc.constantFrom(null, 0n, 7n, 40n),
        mutator: fc.boolean(),
      })
      .map((r) => ({
        threadId: T,
        lifeStartNs: r.life[0],
        lifeEndNs: r.life[1],
        sched: r.sched,
        syscalls: valid
          ? r.syscalls.map((s) => (s.endNs < s.startNs ? { ...s, endNs: s.startNs } : s))
          : r.syscalls,
        runtime: r.runtime,
        pauses: r.pauses,
        mutator: r.mutator,
        samples: valid ? [...r.samples].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)) : r.samples,
        samplePeriodNs: r.period,
        stackState,
      }));

  it('valid inputs: segments are sorted, contiguous, non-overlapping, cover exactly the life', () => {
    fc.assert(
      fc.property(thread(true), (inp) => {
        const { segments, wakeups } = buildSegments(inp);
        checkInvariants(inp, segments);
        for (const w of wakeups) {
          expect(w.timeNs >= inp.lifeStartNs && w.timeNs < inp.lifeEndNs).toBe(true);
        }
        // Merged: no two neighbours with identical state and detail.
        for (let i = 1; i < segments.length; i++) {
          const { startNs: _a, endNs: _b, ...prev } = segments[i - 1] as Segment;
          const { startNs: _c, endNs: _d, ...cur } = segments[i] as Segment;
          expect(cur).not.toEqual(prev);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('invalid inputs (unsorted, inverted spans and life) never throw and keep the invariants', () => {
    fc.assert(
      fc.property(thread(false), (inp) => {
        checkInvariants(inp, buildSegments(inp).segments);
      }),
      { numRuns: 500 },
    );
  });

  it('input order does not matter', () => {
    fc.assert(
      fc.property(thread(true), fc.integer(), (inp, seed) => {
        const shuffled = [...inp.syscalls.map((s, i) => ({ s, k: (i * 7919 + seed) % 101 }))]
          .sort((a, b) => a.k - b.k)
          .map((x) => x.s);
        const a = buildSegments(inp).segments;
        const b = buildSegments({ ...inp, syscalls: shuffled }).segments;
        // Equal start times may tie-break differently; coverage must still hold.
        checkInvariants(inp, b);
        expect(b.length > 0).toBe(a.length > 0);
      }),
      { numRuns: 200 },
    );
  });
});

describe('buildSegments cost', () => {
  /** A busy worker: runs, blocks on a futex, gets woken, waits for a CPU, sometimes preempted. */
  function generated(points: number): ThreadInput {
    const sched: SchedPoint[] = [];
    const syscalls: SyscallSpan[] = [];
    let t = 1_000n;
    while (sched.length < points) {
      sched.push({ timeNs: t, kind: 'in' });
      t += 50_000n;
      if (sched.length % 7 === 0) {
        sched.push({ timeNs: t, kind: 'out', prevState: 'R+' });
        t += 3_000n;
        continue;
      }
      syscalls.push({
        startNs: t - 100n,
        endNs: t + 20_000n,
        name: 'futex',
        category: 'lock',
        futexAddr: '0xf',
      });
      sched.push({ timeNs: t, kind: 'out', prevState: 'S', stackId: 's' });
      t += 20_000n;
      sched.push({ timeNs: t, kind: 'wakeup', wakerThreadId: 'holder' });
      t += 2_000n;
    }
    const pauses: PauseSpan[] = [];
    for (let p = 0n; p < t; p += 5_000_000n) pauses.push({ startNs: p, endNs: p + 300_000n, phase: 'young' });
    return input({ lifeStartNs: 0n, lifeEndNs: t + 1n, sched, syscalls, pauses, stackState: () => null });
  }

  it('a 200k-point thread builds in near-linear steps', () => {
    const small: BuildStats = { ops: 0 };
    const big: BuildStats = { ops: 0 };
    const s = buildSegments(generated(20_000), small);
    const b = buildSegments(generated(200_000), big);
    checkInvariants(generated(20_000), s.segments);
    expect(b.segments.length).toBeGreaterThan(100_000);
    // 10× the points: linear is 10×, n log n about 12.3×; quadratic would be 100×.
    expect(big.ops / small.ops).toBeLessThan(13);
    // Per point: a constant number of passes plus one binary search (log2(200k) ≈ 18).
    expect(big.ops / 200_000).toBeLessThan(60);
  });
});
