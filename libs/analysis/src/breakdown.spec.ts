import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  CAUSES,
  THREAD_STATES,
  type CauseBreakdown,
  type Segment,
  type ThreadState,
} from '@threadreel/model';
import { analyzeRequest, compareRequests, dominantCause, type RequestInput } from './breakdown.js';

const ALL_KEYS = [...CAUSES, 'unknown'] as const;

function seg(
  threadId: string,
  startNs: bigint,
  endNs: bigint,
  state: ThreadState,
  extra: Partial<Segment> = {},
): Segment {
  return { threadId, startNs, endNs, state, source: 'sched', ...extra };
}

function segMap(...segs: Segment[]): Map<string, Segment[]> {
  const m = new Map<string, Segment[]>();
  for (const s of segs) {
    const list = m.get(s.threadId) ?? [];
    list.push(s);
    m.set(s.threadId, list);
  }
  return m;
}

function input(over: Partial<RequestInput> = {}): RequestInput {
  return {
    traceId: 'trace1',
    spanId: 'span1',
    service: 'svc',
    route: 'GET /x',
    name: 'GET /x',
    arrivalNs: 0n,
    serverStartNs: 0n,
    endNs: 100n,
    bindings: [{ threadId: 't1', startNs: 0n, endNs: 100n }],
    segments: new Map(),
    clientSpans: [],
    gcPauses: [],
    pool: null,
    samples: [],
    samplePeriodNs: null,
    threadNames: new Map(),
    ...over,
  };
}

function sum(b: CauseBreakdown): bigint {
  return ALL_KEYS.reduce((acc, k) => acc + b[k], 0n);
}

/** The non-zero entries of a breakdown, for compact assertions. */
function nonZero(b: CauseBreakdown): Record<string, bigint> {
  return Object.fromEntries(Object.entries(b).filter(([, v]) => v !== 0n));
}

describe('analyzeRequest: scenarios', () => {
  it('lock wait: holder, holder name and stack, and a 3-thread chain', () => {
    const r = analyzeRequest(
      input({
        segments: segMap(
          seg('t1', 0n, 20n, 'cpu'),
          seg('t1', 20n, 80n, 'lock', { lockId: 'futex:0xa', wakerThreadId: 't2', wakerStackId: 's2' }),
          seg('t1', 80n, 100n, 'cpu'),
          // t2 held L1 but was itself blocked on L2, released by t3, before it could release L1.
          seg('t2', 0n, 10n, 'cpu'),
          seg('t2', 10n, 70n, 'lock', { lockId: 'futex:0xb', wakerThreadId: 't3', wakerStackId: 's3' }),
          seg('t2', 70n, 100n, 'cpu'),
          seg('t3', 0n, 100n, 'cpu'),
        ),
        threadNames: new Map([
          ['t1', 'worker-1'],
          ['t2', 'worker-2'],
          ['t3', 'flusher'],
        ]),
      }),
    );
    expect(nonZero(r.breakdown)).toEqual({ cpu: 40n, lock: 60n });
    expect(r.dominantCause).toBe('lock');
    expect(r.evidence.lock).toEqual([
      {
        lockId: 'futex:0xa',
        waitNs: 60n,
        waiterThreadId: 't1',
        holderThreadId: 't2',
        holderName: 'worker-2',
        holderStackId: 's2',
        chain: ['t1', 't2', 't3'],
        // t2 ran from 70 (woken by t3) to its release at 80; before that t3 kept it waiting.
        chainHeldNs: [10n, 50n],
        deadlock: false,
      },
    ]);
    expect(r.threadIds).toEqual(['t1', 't2', 't3']);
    expect(r.evidence.cpu).toEqual({ topFrames: [], samples: 0 });
  });

  it('lock evidence: one entry per lockId, waits summed, representative = longest wait', () => {
    const r = analyzeRequest(
      input({
        segments: segMap(
          seg('t1', 0n, 10n, 'lock', { lockId: 'L', wakerThreadId: 'a' }),
          seg('t1', 10n, 40n, 'lock', { lockId: 'L', wakerThreadId: 'b' }),
          seg('t1', 40n, 45n, 'lock', { lockId: 'M' }),
          seg('t1', 45n, 100n, 'cpu'),
        ),
      }),
    );
    expect(
      r.evidence.lock?.map((l) => [l.lockId, l.waitNs, l.holderThreadId, l.holderName, l.chain]),
    ).toEqual([
      ['L', 40n, 'b', null, ['t1', 'b']],
      ['M', 5n, null, null, ['t1']],
    ]);
    expect(r.threadIds).toEqual(['t1', 'b']);
  });

  it('timed re-waits on one lock are one acquisition, its holder the waker of the last', () => {
    const r = analyzeRequest(
      input({
        segments: segMap(
          // A JVM monitor: timed parks that run out (nobody woke them), a few µs of spinning
          // between them, until the holder's release wakes the last one.
          seg('t1', 0n, 10n, 'cpu'),
          seg('t1', 10n, 40n, 'lock', { lockId: 'L' }),
          seg('t1', 40n, 41n, 'cpu'),
          seg('t1', 41n, 42n, 'runqueue'),
          seg('t1', 42n, 80n, 'lock', { lockId: 'L' }),
          seg('t1', 80n, 81n, 'cpu'),
          seg('t1', 81n, 90n, 'lock', { lockId: 'L', wakerThreadId: 'h', wakerStackId: 'hs' }),
          seg('t1', 90n, 100n, 'cpu'),
          seg('h', 0n, 90n, 'cpu'),
        ),
      }),
    );
    expect(r.evidence.lock).toEqual([
      {
        lockId: 'L',
        waitNs: 77n,
        waiterThreadId: 't1',
        holderThreadId: 'h',
        holderName: null,
        holderStackId: 'hs',
        chain: ['t1', 'h'],
        chainHeldNs: [80n],
        deadlock: false,
      },
    ]);
  });

  it('a convoy through timed re-waits: the chain walks back through the holders that woke each other', () => {
    // The JVM fixture's pattern: w3 parks (timed) while h1 holds the monitor; h1 releases
    // to w2 (who waited too), w2 holds it 12 ns and releases to w3. w2's wait has a short
    // unwoken tail (the rest of its futex after the wakeup) that must not hide it.
    const r = analyzeRequest(
      input({
        bindings: [{ threadId: 'w3', startNs: 0n, endNs: 120n }],
        segments: segMap(
          seg('w3', 0n, 5n, 'cpu'),
          seg('w3', 5n, 60n, 'lock', { lockId: 'futex:0x3' }),
          seg('w3', 60n, 61n, 'cpu'),
          seg('w3', 61n, 105n, 'lock', { lockId: 'futex:0x3', wakerThreadId: 'w2', wakerStackId: 'rel2' }),
          seg('w3', 105n, 120n, 'cpu'),
          seg('w2', 0n, 8n, 'cpu'),
          // w2's own wait: a timed park that ran out, then the re-wait h1's release ended.
          seg('w2', 8n, 40n, 'lock', { lockId: 'futex:0x2' }),
          seg('w2', 40n, 41n, 'cpu'),
          seg('w2', 41n, 92n, 'lock', { lockId: 'futex:0x2', wakerThreadId: 'h1', wakerStackId: 'rel1' }),
          seg('w2', 92n, 93n, 'lock', { lockId: 'futex:0x2' }),
          seg('w2', 93n, 120n, 'cpu'),
          seg('h1', 0n, 120n, 'cpu'),
        ),
      }),
    );
    expect(r.evidence.lock?.[0]).toMatchObject({
      lockId: 'futex:0x3',
      waitNs: 94n, // the request ends at 100
      holderThreadId: 'w2',
      holderStackId: 'rel2',
      chain: ['w3', 'w2', 'h1'],
      // w2 before it waited (5–8) and from its wakeup (92) to the release (105); h1 while
      // w2 was blocked (8–92).
      chainHeldNs: [16n, 84n],
    });
  });

  it("the chain follows the holder's longest woken wait, not a later short one on a VM mutex", () => {
    // w2 waited for the monitor (woken by h1 at 80), then briefly for a VM mutex the JFR
    // sampler held (85–87), then released the monitor to w3 at 95.
    const r = analyzeRequest(
      input({
        segments: segMap(
          seg('t1', 0n, 10n, 'cpu'),
          seg('t1', 10n, 95n, 'lock', { lockId: 'M3', wakerThreadId: 'w2' }),
          seg('t1', 95n, 100n, 'cpu'),
          seg('w2', 0n, 5n, 'cpu'),
          seg('w2', 5n, 80n, 'lock', { lockId: 'M2', wakerThreadId: 'h1' }),
          seg('w2', 80n, 85n, 'cpu'),
          seg('w2', 85n, 87n, 'lock', { lockId: 'VM', wakerThreadId: 'sampler' }),
          seg('w2', 87n, 100n, 'cpu'),
          seg('h1', 0n, 100n, 'cpu'),
        ),
      }),
    );
    expect(r.evidence.lock?.[0]).toMatchObject({
      holderThreadId: 'w2',
      chain: ['t1', 'w2', 'h1'],
      // w2: 80–85 and 87–95 (its VM mutex wait goes to nobody); h1: 10–80.
      chainHeldNs: [13n, 70n],
    });
  });

  it('a GC pause, a ptrace stop or the runqueue between a signalled wait and the re-wait keeps one acquisition', () => {
    const MS = 1_000_000n;
    const r = analyzeRequest(
      input({
        endNs: 100n * MS,
        bindings: [{ threadId: 't1', startNs: 0n, endNs: 100n * MS }],
        segments: segMap(
          seg('t1', 0n, 50n * MS, 'lock', { lockId: 'L' }),
          seg('t1', 50n * MS, 55n * MS, 'gc'),
          // strace holding the thread for 3 ms (a ptrace stop): the tracer's time, not the
          // thread's, so it does not count against the 2 ms between re-waits.
          seg('t1', 55n * MS, 58n * MS, 'cpu', {
            prevState: 't',
            reason: 'ptrace stop (strace overhead) while running',
          }),
          // 3 ms waiting for a CPU (a starved machine): not the thread doing something else.
          seg('t1', 58n * MS, 61n * MS, 'runqueue'),
          // Shorter than the first wait: as its own acquisition it would not be the longest.
          seg('t1', 61n * MS, 90n * MS, 'lock', { lockId: 'L', wakerThreadId: 'h' }),
          seg('t1', 90n * MS, 100n * MS, 'cpu'),
        ),
      }),
    );
    expect(r.evidence.lock?.map((l) => [l.lockId, l.waitNs, l.holderThreadId, l.chain])).toEqual([
      ['L', 79n * MS, 'h', ['t1', 'h']],
    ]);
  });

  it('a timed-out wait is its own acquisition when the thread did other things before waiting again', () => {
    const r = analyzeRequest(
      input({
        segments: segMap(
          seg('t1', 0n, 50n, 'lock', { lockId: 'L' }),
          seg('t1', 50n, 55n, 'file', { target: '/x' }),
          seg('t1', 55n, 70n, 'lock', { lockId: 'L', wakerThreadId: 'h' }),
          seg('t1', 70n, 80n, 'cpu'),
          seg('t1', 80n, 85n, 'lock', { lockId: 'M' }),
          seg('t1', 85n, 95n, 'cpu'),
          seg('t1', 95n, 100n, 'lock', { lockId: 'M', wakerThreadId: 'g' }),
        ),
      }),
    );
    expect(r.evidence.lock?.map((l) => [l.lockId, l.waitNs, l.holderThreadId])).toEqual([
      // 50 ns timed out and was followed by file I/O: not the acquisition the release ended.
      ['L', 65n, null],
      // 10 ns between the waits on M: a retry when ACQUIRE_RETRY_NS allows (ns here ≪ 2 ms).
      ['M', 10n, 'g'],
    ]);
  });

  it('deadlock: ABBA, each thread blocked on the lock the other holds during a common interval', () => {
    const ms = 1_000_000n;
    const r = analyzeRequest(
      input({
        endNs: 100n * ms,
        bindings: [{ threadId: 't1', startNs: 0n, endNs: 100n * ms }],
        segments: segMap(
          seg('t1', 0n, 10n * ms, 'cpu'),
          seg('t1', 10n * ms, 90n * ms, 'lock', { lockId: 'A', wakerThreadId: 't2' }),
          seg('t1', 90n * ms, 100n * ms, 'cpu'),
          seg('t2', 0n, 20n * ms, 'cpu'),
          seg('t2', 20n * ms, 95n * ms, 'lock', { lockId: 'B', wakerThreadId: 't1' }),
          seg('t2', 95n * ms, 100n * ms, 'cpu'),
        ),
      }),
    );
    expect(r.evidence.lock?.[0]).toMatchObject({
      lockId: 'A',
      holderThreadId: 't2',
      chain: ['t1', 't2', 't1'],
      deadlock: true,
      deadlockCycle: { threadIds: ['t1', 't2'], lockIds: ['A', 'B'], fromNs: 20n * ms, toNs: 90n * ms },
    });
    expect(r.threadIds).toEqual(['t1', 't2']);
  });

  it('no deadlock: a waker ping-pong at disjoint times (waiter → C2 CompilerThread0 → waiter)', () => {
    // The waiter's acquisition: a timed wait that ran out, a moment on the CPU in which it woke
    // the compiler thread (waiting meanwhile on its own futex), then the wait the compiler
    // thread ended. The chain comes back to the waiter; the two were never blocked at once.
    const ms = 1_000_000n;
    const r = analyzeRequest(
      input({
        endNs: 100n * ms,
        threadNames: new Map([['c2', 'C2 CompilerThread0']]),
        segments: segMap(
          seg('w', 0n, 10n * ms, 'cpu'),
          seg('w', 10n * ms, 40n * ms, 'lock', { lockId: 'futex:0xa' }),
          seg('w', 40n * ms, 41n * ms, 'cpu'),
          seg('w', 41n * ms, 100n * ms, 'lock', { lockId: 'futex:0xa', wakerThreadId: 'c2' }),
          seg('c2', 0n, 30n * ms, 'cpu'),
          seg('c2', 30n * ms, 40n * ms + 500_000n, 'cpu'),
          seg('c2', 40n * ms + 500_000n, 40n * ms + 900_000n, 'lock', {
            lockId: 'futex:0xb',
            wakerThreadId: 'w',
          }),
          seg('c2', 40n * ms + 900_000n, 100n * ms, 'cpu'),
        ),
        bindings: [{ threadId: 'w', startNs: 0n, endNs: 100n * ms }],
      }),
    );
    const l = r.evidence.lock?.[0];
    expect(l).toMatchObject({
      holderThreadId: 'c2',
      holderName: 'C2 CompilerThread0',
      chain: ['w', 'c2', 'w'],
    });
    expect(l?.deadlock).toBe(false);
    expect(l?.deadlockCycle).toBeUndefined();
  });

  it('chains stop after 8 hops', () => {
    const segs: Segment[] = [seg('t0', 0n, 100n, 'lock', { wakerThreadId: 'h1' })];
    for (let i = 1; i <= 12; i++) segs.push(seg(`h${i}`, 0n, 100n, 'lock', { wakerThreadId: `h${i + 1}` }));
    const r = analyzeRequest(
      input({ bindings: [{ threadId: 't0', startNs: 0n, endNs: 100n }], segments: segMap(...segs) }),
    );
    const l = r.evidence.lock?.[0];
    expect(l?.chain).toEqual(['t0', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'h7', 'h8']);
    expect(l?.deadlock).toBe(false);
  });

  it('pool-queue before the handler, with the pool as evidence', () => {
    const pool = { pool: 'http-nio-8080-exec', size: 10, busy: 10 };
    const r = analyzeRequest(
      input({
        arrivalNs: 0n,
        serverStartNs: 40n,
        bindings: [{ threadId: 't1', startNs: 40n, endNs: 100n }],
        segments: segMap(seg('t1', 0n, 100n, 'cpu')),
        pool,
      }),
    );
    expect(nonZero(r.breakdown)).toEqual({ 'pool-queue': 40n, cpu: 60n });
    expect(r.evidence['pool-queue']).toEqual({ ...pool, waitNs: 40n });
    expect(r.durationNs).toBe(100n);
    expect(r.startNs).toBe(0n);

    // Without pool evidence the same wait is `other`.
    const r2 = analyzeRequest(
      input({
        serverStartNs: 40n,
        bindings: [{ threadId: 't1', startNs: 0n, endNs: 100n }],
        segments: segMap(seg('t1', 0n, 100n, 'cpu')),
      }),
    );
    expect(nonZero(r2.breakdown)).toEqual({ other: 40n, cpu: 60n });
    expect(r2.evidence['pool-queue']).toBeUndefined();
  });

  it('a GC pause before the handler is gc: it stopped the threads that accept and dispatch', () => {
    const pool = { pool: 'worker', size: 2, busy: 2 };
    const gcPauses = [
      { phase: 'gen2', startNs: 10n, durationNs: 15n, gcId: null },
      { phase: 'gen0', startNs: 20n, durationNs: 10n, gcId: null }, // overlaps the first
      { phase: 'gen0', startNs: 90n, durationNs: 5n, gcId: null }, // after the handler started
    ];
    const r = analyzeRequest(
      input({
        arrivalNs: 0n,
        serverStartNs: 40n,
        bindings: [{ threadId: 't1', startNs: 40n, endNs: 100n }],
        segments: segMap(seg('t1', 0n, 100n, 'cpu')),
        gcPauses,
        pool,
      }),
    );
    expect(nonZero(r.breakdown)).toEqual({ gc: 20n, 'pool-queue': 20n, cpu: 60n });
    expect(r.evidence['pool-queue']?.waitNs).toBe(20n);
    const alone = analyzeRequest(
      input({
        arrivalNs: 0n,
        serverStartNs: 40n,
        bindings: [{ threadId: 't1', startNs: 40n, endNs: 100n }],
        segments: segMap(seg('t1', 0n, 100n, 'cpu')),
        gcPauses,
      }),
    );
    expect(nonZero(alone.breakdown)).toEqual({ gc: 20n, other: 20n, cpu: 60n });
  });

  it('event loop idle under a client span is net, idle elsewhere is other', () => {
    const r = analyzeRequest(
      input({
        segments: segMap(
          seg('loop', 0n, 10n, 'cpu'),
          seg('loop', 10n, 90n, 'idle', { syscall: 'epoll_wait' }),
          seg('loop', 90n, 100n, 'cpu'),
        ),
        bindings: [{ threadId: 'loop', startNs: 0n, endNs: 100n }],
        clientSpans: [
          { startNs: 12n, endNs: 50n, peer: '10.0.0.5:5432' },
          { startNs: 55n, endNs: 85n, peer: '10.0.0.5:5432' },
          // Covers cpu time too: cpu stays cpu.
          { startNs: 88n, endNs: 95n, peer: 'cache:6379' },
        ],
      }),
    );
    expect(nonZero(r.breakdown)).toEqual({ cpu: 20n, net: 38n + 30n + 2n, other: 2n + 5n + 3n });
    expect(r.dominantCause).toBe('net');
    expect(r.evidence.net).toEqual([
      { peer: '10.0.0.5:5432', totalNs: 68n, calls: 2, slowestNs: 38n },
      { peer: 'cache:6379', totalNs: 2n, calls: 1, slowestNs: 2n },
    ]);
  });

  it('net segments: target first, the client span as the call', () => {
    const r = analyzeRequest(
      input({
        segments: segMap(
          seg('t1', 0n, 10n, 'cpu'),
          seg('t1', 10n, 20n, 'net', { syscall: 'read', target: '10.0.0.5:5432' }),
          seg('t1', 20n, 25n, 'cpu'),
          seg('t1', 25n, 40n, 'net', { syscall: 'read', target: '10.0.0.5:5432' }),
          seg('t1', 40n, 60n, 'net', { syscall: 'recvfrom' }),
          seg('t1', 60n, 100n, 'cpu'),
        ),
        clientSpans: [{ startNs: 5n, endNs: 41n, peer: 'db' }],
      }),
    );
    // [10,40) is one call (the client span); [40,41) is the span too, with peer from the span; [41,60) is its own call.
    expect(r.evidence.net).toEqual([
      { peer: '10.0.0.5:5432', totalNs: 25n, calls: 1, slowestNs: 25n },
      { peer: '(unknown)', totalNs: 19n, calls: 1, slowestNs: 19n },
      { peer: 'db', totalNs: 1n, calls: 1, slowestNs: 1n },
    ]);
    expect(r.breakdown.net).toBe(45n);
  });

  it('a client span over lock, gc and file keeps the thread cause; over unknown and gaps it is net', () => {
    const r = analyzeRequest(
      input({
        segments: segMap(
          seg('t1', 0n, 10n, 'lock', { lockId: 'L' }),
          seg('t1', 10n, 20n, 'gc'),
          seg('t1', 20n, 30n, 'file', { target: '/f', syscall: 'read' }),
          seg('t1', 30n, 40n, 'unknown'),
          // gap [40, 50)
          seg('t1', 50n, 60n, 'other'),
          seg('t1', 60n, 70n, 'runqueue'),
          seg('t1', 70n, 80n, 'sleep'),
          seg('t1', 80n, 100n, 'cpu'),
        ),
        clientSpans: [{ startNs: 0n, endNs: 100n, peer: 'p' }],
      }),
    );
    expect(nonZero(r.breakdown)).toEqual({
      lock: 10n,
      gc: 10n,
      file: 10n,
      net: 30n,
      runqueue: 10n,
      sleep: 10n,
      cpu: 20n,
    });
    expect(r.evidence.runqueue).toEqual({ starvedNs: 10n });
    expect(r.evidence.net).toEqual([{ peer: 'p', totalNs: 30n, calls: 1, slowestNs: 30n }]);
  });

  it('GC pause: gc time and the pauses clipped to the window', () => {
    const r = analyzeRequest(
      input({
        arrivalNs: 10n,
        serverStartNs: 10n,
        bindings: [{ threadId: 't1', startNs: 10n, endNs: 100n }],
        segments: segMap(seg('t1', 0n, 20n, 'cpu'), seg('t1', 20n, 70n, 'gc'), seg('t1', 70n, 100n, 'cpu')),
        gcPauses: [
          { phase: 'G1 Young', startNs: 0n, durationNs: 15n, gcId: 1 },
          { phase: 'G1 Remark', startNs: 20n, durationNs: 50n, gcId: 2 },
          { phase: 'G1 Young', startNs: 95n, durationNs: 20n, gcId: 3 },
          { phase: 'G1 Young', startNs: 200n, durationNs: 20n, gcId: 4 },
        ],
      }),
    );
    expect(nonZero(r.breakdown)).toEqual({ cpu: 40n, gc: 50n });
    expect(r.dominantCause).toBe('gc');
    expect(r.evidence.gc).toEqual([
      { phase: 'G1 Young', startNs: 10n, durationNs: 5n, gcId: 1 },
      { phase: 'G1 Remark', startNs: 20n, durationNs: 50n, gcId: 2 },
      { phase: 'G1 Young', startNs: 95n, durationNs: 5n, gcId: 3 },
    ]);
  });

  it('file: per path totals and ops counted by syscall', () => {
    const segs: Segment[] = [];
    let t = 0n;
    for (let i = 0; i < 32; i++) {
      segs.push(seg('t1', t, t + 2n, 'file', { syscall: 'fsync', target: '/var/lib/app/wal' }));
      segs.push(seg('t1', t + 2n, t + 3n, 'cpu'));
      t += 3n;
    }
    for (let i = 0; i < 10; i++) {
      segs.push(seg('t1', t, t + 1n, 'file', { syscall: 'write', target: '/var/lib/app/wal' }));
      t += 1n;
    }
    segs.push(seg('t1', t, t + 4n, 'file', { prevState: 'D' }));
    t += 4n;
    const r = analyzeRequest(
      input({ endNs: t, bindings: [{ threadId: 't1', startNs: 0n, endNs: t }], segments: segMap(...segs) }),
    );
    expect(nonZero(r.breakdown)).toEqual({ file: 64n + 10n + 4n, cpu: 32n });
    expect(r.dominantCause).toBe('file');
    expect(r.evidence.file).toEqual([
      { path: '/var/lib/app/wal', totalNs: 74n, ops: { fsync: 32, write: 10 } },
      { path: '(unknown)', totalNs: 4n, ops: { '(unknown)': 1 } },
    ]);
  });

  it('thread hop: the latest-starting binding wins; samples count on the active thread only', () => {
    const r = analyzeRequest(
      input({
        bindings: [
          { threadId: 't1', startNs: 0n, endNs: 50n },
          { threadId: 't2', startNs: 40n, endNs: 100n },
        ],
        segments: segMap(
          seg('t1', 0n, 100n, 'cpu'),
          seg('t2', 0n, 40n, 'idle'),
          seg('t2', 40n, 60n, 'runqueue'),
          seg('t2', 60n, 100n, 'cpu'),
        ),
        samples: [
          { threadId: 't1', timeNs: 10n, frames: ['parse', 'main'] },
          { threadId: 't1', timeNs: 30n, frames: ['parse', 'main'] },
          { threadId: 't1', timeNs: 45n, frames: ['other-work'] }, // t1 no longer active
          { threadId: 't2', timeNs: 70n, frames: ['render', 'main'] },
          { threadId: 't2', timeNs: 99n, frames: [] },
          { threadId: 't2', timeNs: 100n, frames: ['after-end'] },
        ],
        samplePeriodNs: 10n,
      }),
    );
    expect(nonZero(r.breakdown)).toEqual({ cpu: 80n, runqueue: 20n });
    expect(r.threadIds).toEqual(['t1', 't2']);
    expect(r.sampleCount).toBe(4);
    expect(r.evidence.cpu).toEqual({
      samples: 4,
      topFrames: [
        { frame: 'parse', samples: 2 },
        { frame: 'render', samples: 1 },
      ],
    });
    expect(r.sparse).toBe(false);
  });

  it('gaps: no binding, no segments or a missing thread is unknown', () => {
    const r = analyzeRequest(
      input({
        bindings: [
          { threadId: 't1', startNs: 0n, endNs: 40n },
          { threadId: 'ghost', startNs: 60n, endNs: 80n },
          { threadId: 't1', startNs: 500n, endNs: 600n }, // outside the window: clipped away
        ],
        segments: segMap(seg('t1', 0n, 10n, 'cpu'), seg('t1', 20n, 100n, 'cpu')),
      }),
    );
    // [10,20) gap, [40,60) no binding, [60,80) no segments, [80,100) no binding.
    expect(nonZero(r.breakdown)).toEqual({ cpu: 30n, unknown: 70n });
    expect(r.dominantCause).toBe('unknown');
    expect(r.threadIds).toEqual(['t1', 'ghost']);
  });

  it('no binding at all: client span time is net, the rest unknown', () => {
    const r = analyzeRequest(
      input({ bindings: [], clientSpans: [{ startNs: 20n, endNs: 50n, peer: null }] }),
    );
    expect(nonZero(r.breakdown)).toEqual({ net: 30n, unknown: 70n });
    expect(r.evidence.net).toEqual([{ peer: '(unknown)', totalNs: 30n, calls: 1, slowestNs: 30n }]);
    expect(r.threadIds).toEqual([]);
  });

  it('cpu evidence: top 10 leaf frames by self samples, ties by name; sparse short spans', () => {
    const samples = [];
    for (let i = 0; i < 12; i++) {
      for (let j = 0; j <= i; j++)
        samples.push({ threadId: 't1', timeNs: BigInt(i * 10 + j), frames: [`f${i}`, 'root'] });
    }
    const r = analyzeRequest(
      input({
        endNs: 200n,
        bindings: [{ threadId: 't1', startNs: 0n, endNs: 200n }],
        segments: segMap(seg('t1', 0n, 200n, 'cpu')),
        samples,
        samplePeriodNs: 101n,
      }),
    );
    expect(r.sampleCount).toBe(78);
    expect(r.evidence.cpu?.topFrames.map((f) => f.frame)).toEqual([
      'f11',
      'f10',
      'f9',
      'f8',
      'f7',
      'f6',
      'f5',
      'f4',
      'f3',
      'f2',
    ]);
    expect(r.sparse).toBe(true);
    expect(analyzeRequest(input({ samplePeriodNs: 50n })).sparse).toBe(false);
    expect(analyzeRequest(input({ samplePeriodNs: 51n })).sparse).toBe(true);
    // sparse looks at the handler time only.
    expect(analyzeRequest(input({ serverStartNs: 60n, samplePeriodNs: 21n })).sparse).toBe(true);
  });

  it('inconsistent input never throws', () => {
    // End before arrival: an empty window.
    const empty = analyzeRequest(input({ arrivalNs: 100n, serverStartNs: 50n, endNs: 10n }));
    expect(empty.durationNs).toBe(0n);
    expect(sum(empty.breakdown)).toBe(0n);
    expect(empty.dominantCause).toBe('unknown');
    expect(empty.evidence).toEqual({});

    // Server start outside the window, overlapping and unsorted segments, inverted bindings and spans.
    const r = analyzeRequest(
      input({
        serverStartNs: -5n,
        bindings: [
          { threadId: 't1', startNs: 90n, endNs: 10n },
          { threadId: 't1', startNs: -50n, endNs: 500n },
        ],
        segments: segMap(
          seg('t1', 50n, 100n, 'cpu'),
          seg('t1', 0n, 60n, 'lock'),
          seg('t1', 30n, 20n, 'gc'),
          seg('t1', 10n, 30n, 'file'),
        ),
        clientSpans: [{ startNs: 80n, endNs: 20n, peer: 'x' }],
        gcPauses: [{ phase: 'x', startNs: 0n, durationNs: -5n, gcId: null }],
      }),
    );
    expect(sum(r.breakdown)).toBe(100n);
    expect(nonZero(r.breakdown)).toEqual({ lock: 60n, cpu: 40n });
  });
});

describe('analyzeRequest: work offloaded to a pool (libuv threadpool under an event loop)', () => {
  // The loop t1 waits in epoll 10..90 while the request's work is queued 10..40, then runs on
  // worker w1: cpu 40..60, fsync 60..85, back in its queue (futex) 85..90.
  const segments = segMap(
    seg('t1', 0n, 10n, 'cpu'),
    seg('t1', 10n, 90n, 'idle'),
    seg('t1', 90n, 100n, 'cpu'),
    seg('w1', 0n, 40n, 'cpu'),
    seg('w1', 40n, 60n, 'cpu'),
    seg('w1', 60n, 85n, 'file', { syscall: 'fsync', target: '/data/journal' }),
    seg('w1', 85n, 95n, 'lock', { lockId: 'futex:0x1' }),
  );
  const offload = [
    { startNs: 10n, endNs: 40n, threadId: null },
    { startNs: 40n, endNs: 90n, threadId: 'w1' },
  ];

  it("splits the loop's wait into pool-queue and the worker's states", () => {
    const r = analyzeRequest(
      input({ segments, offload, offloadPool: { pool: 'libuv threadpool', size: 1 } }),
    );
    expect(nonZero(r.breakdown)).toEqual({ cpu: 40n, file: 25n, 'pool-queue': 30n, other: 5n });
    expect(r.dominantCause).toBe('cpu');
    expect(r.evidence['pool-queue']).toEqual({ pool: 'libuv threadpool', size: 1, busy: 1, waitNs: 30n });
    expect(r.evidence.file).toEqual([{ path: '/data/journal', totalNs: 25n, ops: { fsync: 1 } }]);
    // The worker's lock (waiting on its own queue) is not the request's lock.
    expect(r.evidence.lock).toBeUndefined();
    expect(r.threadIds).toEqual(['t1', 'w1']);
  });

  it('an outgoing call in flight keeps the wait net', () => {
    const r = analyzeRequest(
      input({ segments, offload, clientSpans: [{ startNs: 10n, endNs: 50n, peer: 'db:5432' }] }),
    );
    expect(nonZero(r.breakdown)).toEqual({ cpu: 30n, net: 40n, file: 25n, other: 5n });
  });

  it('without offload pieces the wait stays other', () => {
    const r = analyzeRequest(input({ segments }));
    expect(nonZero(r.breakdown)).toEqual({ cpu: 20n, other: 80n });
  });
});

describe('analyzeRequest: tracer overhead', () => {
  // 60 ns on CPU (6 of 10 samples inside strace's ptrace stop path), 40 ns in fsync.
  const segments = segMap(seg('t1', 0n, 60n, 'cpu'), seg('t1', 60n, 100n, 'file', { syscall: 'fsync' }));
  const samples = Array.from({ length: 10 }, (_, k) => ({
    threadId: 't1',
    timeNs: BigInt(k * 6),
    frames: k < 6 ? ['finish_task_switch', 'schedule', 'ptrace_stop', 'ptrace_notify'] : ['compute'],
  }));

  it('keeps the overhead in cpu but leaves it out of the dominant cause', () => {
    const r = analyzeRequest(input({ segments, samples }));
    expect(nonZero(r.breakdown)).toEqual({ cpu: 60n, file: 40n });
    expect(r.evidence.cpu).toMatchObject({ samples: 10, tracerSamples: 6, tracerOverheadNs: 36n });
    expect(r.dominantCause).toBe('file');
  });

  it("a JIT symbol map written for perf is the profiler's file time: kept, not dominant", () => {
    const r = analyzeRequest(
      input({
        segments: segMap(
          seg('t1', 0n, 30n, 'cpu'),
          seg('t1', 30n, 100n, 'file', { syscall: 'write', target: '/tmp/perf-4242.map' }),
        ),
      }),
    );
    expect(nonZero(r.breakdown)).toEqual({ cpu: 30n, file: 70n });
    expect(r.evidence.file).toEqual([
      { path: '/tmp/perf-4242.map', totalNs: 70n, ops: { write: 1 }, profilerOutput: true },
    ]);
    expect(r.dominantCause).toBe('cpu');
  });

  it('no estimate from fewer than 5 samples', () => {
    const r = analyzeRequest(input({ segments, samples: samples.slice(0, 4) }));
    expect(r.evidence.cpu?.tracerOverheadNs).toBeUndefined();
    expect(r.dominantCause).toBe('cpu');
  });
});

describe('dominantCause and compareRequests', () => {
  const zero = Object.fromEntries(ALL_KEYS.map((k) => [k, 0n])) as Record<(typeof ALL_KEYS)[number], bigint>;

  it('ties follow the fixed order', () => {
    expect(dominantCause({ ...zero, cpu: 5n, net: 5n })).toBe('net');
    expect(dominantCause({ ...zero, unknown: 5n, other: 5n })).toBe('other');
    expect(dominantCause({ ...zero, 'pool-queue': 5n, gc: 5n, lock: 5n })).toBe('lock');
    expect(dominantCause({ ...zero, cpu: 6n, lock: 5n })).toBe('cpu');
    expect(dominantCause(zero)).toBe('unknown');
  });

  it('compares cause by cause, largest |delta| first', () => {
    const a = analyzeRequest(
      input({ segments: segMap(seg('t1', 0n, 70n, 'lock'), seg('t1', 70n, 100n, 'cpu')) }),
    );
    const b = analyzeRequest(input({ endNs: 50n, segments: segMap(seg('t1', 0n, 50n, 'cpu')) }));
    const rows = compareRequests(a, b);
    expect(rows.slice(0, 2)).toEqual([
      { cause: 'lock', aNs: 70n, bNs: 0n, deltaNs: 70n },
      { cause: 'cpu', aNs: 30n, bNs: 50n, deltaNs: -20n },
    ]);
    expect(rows).toHaveLength(ALL_KEYS.length);
    expect(rows.reduce((acc, r) => acc + r.deltaNs, 0n)).toBe(50n);
  });
});

// ---------------------------------------------------------------------------------------
// Properties

const THREADS = ['t1', 't2', 't3'] as const;

const arbState = fc.constantFrom<ThreadState>(...THREAD_STATES);
const arbTime = fc.bigInt({ min: -20n, max: 220n });
const arbInterval = fc
  .tuple(arbTime, arbTime)
  .map(([a, b]) => (a <= b ? { startNs: a, endNs: b } : { startNs: b, endNs: a }));

/** Per thread: a well-formed sorted sequence of segments (with optional gaps), or arbitrary overlapping ones. */
const arbThreadSegments = (threadId: string, wellFormed: boolean): fc.Arbitrary<Segment[]> =>
  wellFormed
    ? fc
        .array(
          fc.record({
            gap: fc.bigInt({ min: 0n, max: 10n }),
            len: fc.bigInt({ min: 1n, max: 40n }),
            state: arbState,
            waker: fc.option(fc.constantFrom(...THREADS), { nil: undefined }),
            lockId: fc.option(fc.constantFrom('A', 'B'), { nil: undefined }),
            target: fc.option(fc.constantFrom('p1', 'p2', '/f'), { nil: undefined }),
          }),
          { maxLength: 12 },
        )
        .chain((parts) =>
          fc.bigInt({ min: -30n, max: 50n }).map((start) => {
            const out: Segment[] = [];
            let t = start;
            for (const p of parts) {
              t += p.gap;
              out.push(
                seg(threadId, t, t + p.len, p.state, {
                  wakerThreadId: p.waker,
                  lockId: p.lockId,
                  target: p.target,
                  syscall: p.target ? 'read' : undefined,
                }),
              );
              t += p.len;
            }
            return out;
          }),
        )
    : fc
        .array(
          fc.record({
            i: arbInterval,
            state: arbState,
            waker: fc.option(fc.constantFrom(...THREADS), { nil: undefined }),
          }),
          { maxLength: 10 },
        )
        .map((xs) =>
          xs.map((x) => seg(threadId, x.i.startNs, x.i.endNs, x.state, { wakerThreadId: x.waker })),
        );

const arbInput: fc.Arbitrary<RequestInput> = fc
  .record({
    arrival: fc.bigInt({ min: 0n, max: 40n }),
    queue: fc.bigInt({ min: 0n, max: 30n }),
    handler: fc.bigInt({ min: 0n, max: 150n }),
    wellFormed: fc.boolean(),
    pool: fc.boolean(),
    bindings: fc.array(fc.record({ threadId: fc.constantFrom(...THREADS, 'missing'), i: arbInterval }), {
      maxLength: 4,
    }),
    clientSpans: fc.array(fc.record({ i: arbInterval, peer: fc.option(fc.constantFrom('p1', 'p2')) }), {
      maxLength: 4,
    }),
    samples: fc.array(
      fc.record({
        threadId: fc.constantFrom(...THREADS),
        timeNs: arbTime,
        frames: fc.array(fc.constantFrom('a', 'b')),
      }),
      { maxLength: 10 },
    ),
    samplePeriodNs: fc.option(fc.bigInt({ min: 1n, max: 100n })),
  })
  .chain((r) =>
    fc.tuple(...THREADS.map((t) => arbThreadSegments(t, r.wellFormed))).map((perThread): RequestInput => {
      const segments = new Map<string, Segment[]>();
      THREADS.forEach((t, i) => segments.set(t, perThread[i] ?? []));
      return input({
        arrivalNs: r.arrival,
        serverStartNs: r.arrival + r.queue,
        endNs: r.arrival + r.queue + r.handler,
        bindings: r.bindings.map((b) => ({ threadId: b.threadId, ...b.i })),
        segments,
        clientSpans: r.clientSpans.map((c) => ({ ...c.i, peer: c.peer })),
        pool: r.pool ? { pool: 'p', size: 4, busy: 4 } : null,
        samples: r.samples,
        samplePeriodNs: r.samplePeriodNs,
      });
    }),
  );

describe('analyzeRequest: properties', () => {
  it('partitions the window: exact sum, no negative value, dominant is a maximum', () => {
    fc.assert(
      fc.property(arbInput, (inp) => {
        const r = analyzeRequest(inp);
        expect(r.durationNs).toBe(inp.endNs - inp.arrivalNs);
        expect(sum(r.breakdown)).toBe(r.durationNs);
        for (const k of ALL_KEYS) expect(r.breakdown[k] >= 0n).toBe(true);
        const maxNs = ALL_KEYS.reduce((m, k) => (r.breakdown[k] > m ? r.breakdown[k] : m), 0n);
        expect(r.breakdown[r.dominantCause]).toBe(maxNs);
        // Evidence totals agree with the breakdown.
        expect((r.evidence.lock ?? []).reduce((a, l) => a + l.waitNs, 0n)).toBe(r.breakdown.lock);
        expect((r.evidence.net ?? []).reduce((a, p) => a + p.totalNs, 0n)).toBe(r.breakdown.net);
        expect((r.evidence.file ?? []).reduce((a, f) => a + f.totalNs, 0n)).toBe(r.breakdown.file);
        expect(r.sampleCount).toBeLessThanOrEqual(inp.samples.length);
        expect(new Set(r.threadIds).size).toBe(r.threadIds.length);
        for (const l of r.evidence.lock ?? []) expect(l.chain.length).toBeLessThanOrEqual(9);
      }),
      { numRuns: 500 },
    );
  });

  it('with work offloaded to a pool: still an exact partition; queued time is pool-queue with evidence', () => {
    const arbOffload = fc.array(
      fc.record({ i: arbInterval, threadId: fc.option(fc.constantFrom('t2', 't3', 'missing')) }),
      { maxLength: 4 },
    );
    fc.assert(
      fc.property(arbInput, arbOffload, (base, pieces) => {
        const inp: RequestInput = {
          ...base,
          offload: pieces.map((p) => ({ ...p.i, threadId: p.threadId })),
          offloadPool: { pool: 'libuv threadpool', size: 2 },
        };
        const r = analyzeRequest(inp);
        expect(sum(r.breakdown)).toBe(r.durationNs);
        for (const k of ALL_KEYS) expect(r.breakdown[k] >= 0n).toBe(true);
        expect((r.evidence.file ?? []).reduce((a, f) => a + f.totalNs, 0n)).toBe(r.breakdown.file);
        const queued = r.evidence['pool-queue']?.waitNs ?? 0n;
        expect(queued).toBe(r.breakdown['pool-queue']);
      }),
      { numRuns: 500 },
    );
  });

  it('compareRequests deltas sum to durationA − durationB', () => {
    fc.assert(
      fc.property(arbInput, arbInput, (ia, ib) => {
        const a = analyzeRequest(ia);
        const b = analyzeRequest(ib);
        const rows = compareRequests(a, b);
        expect(rows.reduce((acc, r) => acc + r.deltaNs, 0n)).toBe(a.durationNs - b.durationNs);
        for (let i = 1; i < rows.length; i++) {
          const prev = rows[i - 1]!.deltaNs;
          const cur = rows[i]!.deltaNs;
          expect((prev < 0n ? -prev : prev) >= (cur < 0n ? -cur : cur)).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('matches a naive instant-by-instant reference on well-formed input', () => {
    fc.assert(
      fc.property(
        arbInput.filter((i) => [...i.segments.values()].every((s) => isSortedDisjoint(s))),
        (inp) => {
          expect(analyzeRequest(inp).breakdown).toEqual(reference(inp));
        },
      ),
      { numRuns: 300 },
    );
  });
});

function isSortedDisjoint(list: readonly Segment[]): boolean {
  for (let i = 0; i < list.length; i++) {
    const s = list[i]!;
    if (s.endNs <= s.startNs) return false;
    const prev = list[i - 1];
    if (prev && s.startNs < prev.endNs) return false;
  }
  return true;
}

/** The rules applied to every nanosecond of the window, one at a time. */
function reference(inp: RequestInput): CauseBreakdown {
  const out = Object.fromEntries(ALL_KEYS.map((k) => [k, 0n])) as Record<(typeof ALL_KEYS)[number], bigint>;
  const end = inp.endNs > inp.arrivalNs ? inp.endNs : inp.arrivalNs;
  for (let t = inp.arrivalNs; t < end; t++) {
    let key: (typeof ALL_KEYS)[number];
    if (t < inp.serverStartNs)
      key = inp.gcPauses.some((g) => g.startNs <= t && t < g.startNs + g.durationNs)
        ? 'gc'
        : inp.pool
          ? 'pool-queue'
          : 'other';
    else {
      const covered = inp.clientSpans.some((c) => c.startNs <= t && t < c.endNs);
      let bi = -1;
      inp.bindings.forEach((b, i) => {
        if (b.startNs <= t && t < b.endNs && (bi < 0 || b.startNs >= inp.bindings[bi]!.startNs)) bi = i;
      });
      const binding = inp.bindings[bi];
      const state: ThreadState = binding
        ? (inp.segments.get(binding.threadId)?.find((s) => s.startNs <= t && t < s.endNs)?.state ?? 'unknown')
        : 'unknown';
      if (state === 'idle') key = covered ? 'net' : 'other';
      else if (state === 'unknown' || state === 'other') key = covered ? 'net' : state;
      else key = state;
    }
    out[key] += 1n;
  }
  return out;
}
