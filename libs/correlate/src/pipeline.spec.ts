import { describe, expect, it } from 'vitest';
import type {
  CorrelationThread,
  FutexWakeRow,
  RequestAnalysis,
  SchedRow,
  SpanRow,
  SyscallRow,
} from '@threadreel/model';
import { MemorySink } from './memory-sink.js';
import { correlate } from './pipeline.js';
import type { CaptureSource } from './ports.js';

const MS = 1_000_000n;
const T0 = 1_795_303_749_000_000_000n;

/**
 * A capture source in memory: one perf file on the epoch axis, the given threads with a few
 * scheduler switches each, spans, and hooks that throw where a test wants the data to be odd.
 * What correlation writes goes to a {@link MemorySink}.
 */
function fakeCapture(opts: {
  threads: CorrelationThread[];
  spans: SpanRow[];
  schedThrows?: (tid: number) => boolean;
  samplesThrow?: (fromNs: bigint) => boolean;
  syscalls?: (tid: number) => SyscallRow[];
  futexWakes?: FutexWakeRow[];
}): { source: CaptureSource; sink: MemorySink } {
  const none = () => Promise.resolve([]);
  const sched = (tid: number): SchedRow[] => {
    // A value the database should never have held: the row cannot be read.
    if (opts.schedThrows?.(tid)) throw new SyntaxError('Cannot convert 12x to a BigInt');
    return [
      { timeNs: T0, kind: 'in', prevState: null, stackId: null, otherTid: null },
      { timeNs: T0 + 40n * MS, kind: 'out', prevState: 'S', stackId: null, otherTid: null },
      { timeNs: T0 + 60n * MS, kind: 'in', prevState: null, stackId: null, otherTid: null },
      { timeNs: T0 + 100n * MS, kind: 'out', prevState: 'S', stackId: null, otherTid: null },
    ];
  };
  const source: CaptureSource = {
    files: () =>
      Promise.resolve([
        {
          id: 'f1',
          ordinal: 0,
          name: 'perf.script',
          format: 'perf-script',
          clock: 'realtime',
          state: 'parsed',
          headers: {},
        },
      ]),
    rowClocks: none,
    clockEvidence: () => Promise.resolve({ switchOuts: new Map(), moments: [], perfHasSwitches: false }),
    rawPauses: none,
    markerTimes: none,
    threads: () => Promise.resolve(opts.threads),
    threadEvents: (t) =>
      Promise.resolve().then(() => ({
        sched: sched(t.tid),
        syscalls: opts.syscalls?.(t.tid) ?? [],
        runtime: [],
        samples: [],
        cpuClock: [],
      })),
    stackFrames: () => Promise.resolve(new Map()),
    threadStacks: () => Promise.resolve(new Map()),
    pauses: none,
    futexWakes: () => Promise.resolve(opts.futexWakes ?? []),
    spans: () => Promise.resolve(opts.spans),
    tracedLogs: none,
    accepts: none,
    firstReads: none,
    samplesInWindow: (_t, fromNs) =>
      opts.samplesThrow?.(fromNs) ? Promise.reject(new TypeError('odd sample row')) : Promise.resolve([]),
  };
  return { source, sink: new MemorySink() };
}

const thread = (id: string, tid: number): CorrelationThread => ({
  id,
  pid: 1,
  tid,
  names: [`worker-${id}`],
  javaIds: [],
});

const span = (spanId: string, tid: number, startMs: bigint, endMs: bigint): SpanRow => ({
  traceId: `trace-${spanId}`,
  spanId,
  parentSpanId: null,
  name: 'GET /x',
  kind: 'server',
  service: 'svc',
  startNs: T0 + startMs * MS,
  endNs: T0 + endMs * MS,
  attributes: { 'thread.id': tid, 'http.route': '/x' },
});

/** What the correlation committed (it always commits, degraded parts or not). */
function committed(sink: MemorySink) {
  if (!sink.committed) throw new Error('nothing committed');
  return sink.committed;
}

const sum = (r: RequestAnalysis) => Object.values(r.breakdown).reduce((a, v) => a + v, 0n);

describe('correlate degrades instead of failing', () => {
  it('a thread whose events cannot be read loses its segments; the other threads and the requests go through', async () => {
    const { source, sink } = fakeCapture({
      threads: [thread('1', 101), thread('2', 102)],
      spans: [span('a', 101, 10n, 90n), span('b', 102, 10n, 90n)],
      schedThrows: (tid) => tid === 102,
    });
    const summary = await correlate(source, sink, { manifest: null, log: () => undefined });
    const written = committed(sink);
    expect(summary.degraded).toEqual([
      {
        stage: 'segments',
        file: null,
        source: null,
        thread: { id: '2', tid: 102 },
        reason: 'Cannot convert 12x to a BigInt',
      },
    ]);
    expect([...written.segments.keys()]).toEqual(['1']);
    expect(written.requests.map((r) => r.spanId).sort()).toEqual(['a', 'b']);
    for (const r of written.requests) expect(sum(r)).toBe(r.durationNs);
    // The request on the thread without segments is unknown where nothing was seen.
    expect(written.requests.find((r) => r.spanId === 'b')?.breakdown.unknown).toBeGreaterThan(0n);
    expect(written.requests.find((r) => r.spanId === 'a')?.breakdown.cpu).toBeGreaterThan(0n);
  });

  it('a request whose analysis throws keeps a row, its wall time unknown, and is listed', async () => {
    const { source, sink } = fakeCapture({
      threads: [thread('1', 101)],
      spans: [span('a', 101, 10n, 90n), span('b', 101, 20n, 95n)],
      samplesThrow: (fromNs) => fromNs === T0 + 20n * MS,
    });
    const summary = await correlate(source, sink, { manifest: null, log: () => undefined });
    const written = committed(sink);
    expect(summary.degraded).toHaveLength(1);
    expect(summary.degraded[0]).toMatchObject({ stage: 'requests' });
    expect(summary.degraded[0]?.reason).toContain('request trace-b span b (GET /x): odd sample row');
    const b = written.requests.find((r) => r.spanId === 'b');
    expect(b?.breakdown.unknown).toBe(75n * MS);
    expect(b && sum(b)).toBe(b?.durationNs);
    expect(written.requests.find((r) => r.spanId === 'a')?.breakdown.unknown).not.toBe(80n * MS);
  });

  it('a span whose parent chain loops does not hang the request walk', async () => {
    const a = { ...span('a', 101, 10n, 90n), parentSpanId: 'b' };
    const b = { ...span('b', 101, 20n, 80n), kind: 'internal' as const, parentSpanId: 'a' };
    const { source, sink } = fakeCapture({ threads: [thread('1', 101)], spans: [a, b] });
    const summary = await correlate(source, sink, { manifest: null, log: () => undefined });
    const written = committed(sink);
    expect(summary.degraded).toEqual([]);
    expect(written.requests.map((r) => r.spanId)).toEqual(['a']);
  });
});

describe('correlate streams thread by thread', () => {
  it('a futex wait is paired with the other thread’s FUTEX_WAKE as its thread is written, and its request names that holder', async () => {
    const wait: SyscallRow = {
      startNs: T0 + 40n * MS,
      endNs: T0 + 60n * MS,
      name: 'futex',
      category: 'lock',
      fdKind: null,
      target: null,
      futexAddr: '0xa',
      futexOp: 'FUTEX_WAIT_PRIVATE',
    };
    const { source, sink } = fakeCapture({
      threads: [thread('1', 101), thread('2', 102)],
      spans: [span('a', 101, 10n, 90n)],
      syscalls: (tid) => (tid === 101 ? [wait] : []),
      futexWakes: [{ tid: 102, startNs: T0 + 59n * MS, addr: '0xa' }],
    });
    const summary = await correlate(source, sink, { manifest: null, log: () => undefined });
    expect(summary.degraded).toEqual([]);
    const written = committed(sink);
    const lock = written.segments.get('1')?.find((x) => x.state === 'lock');
    expect(lock).toMatchObject({
      startNs: T0 + 40n * MS,
      endNs: T0 + 60n * MS,
      lockId: 'futex:0xa',
      wakerThreadId: '2',
      reason: 'holder from the FUTEX_WAKE calls on this address',
    });
    expect(written.wakeups).toContainEqual({
      timeNs: T0 + 59n * MS,
      wakerThreadId: '2',
      wakeeThreadId: '1',
      source: 'futex',
      lockId: 'futex:0xa',
    });
    expect([...sink.views].sort()).toEqual(['1', '2']);
    expect(sink.threads.get('1')?.quality).toBe('sched');
    // The request reads its thread's segments for its window back from the sink: 20 ms of lock
    // wait behind thread 2, the rest on CPU.
    const [r] = written.requests;
    expect(r?.breakdown.lock).toBe(20n * MS);
    expect(r?.breakdown.cpu).toBe(60n * MS);
    expect(r?.evidence.lock?.[0]).toMatchObject({ holderThreadId: '2', chain: ['1', '2'] });
  });

  it('nothing is committed when the store fails midway (the earlier derived data stays)', async () => {
    const { source, sink } = fakeCapture({
      threads: [thread('1', 101)],
      spans: [span('a', 101, 10n, 90n)],
    });
    const failing = Object.assign(Object.create(sink) as MemorySink, {
      bindings: () =>
        Promise.reject(Object.assign(new Error('Connection terminated'), { code: 'ECONNRESET' })),
    });
    await expect(correlate(source, failing, { manifest: null, log: () => undefined })).rejects.toThrow(
      'Connection terminated',
    );
    expect(sink.committed).toBeNull();
  });
});
