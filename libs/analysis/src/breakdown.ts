import {
  CAUSES,
  type Cause,
  type CauseBreakdown,
  type CauseEvidence,
  type CpuEvidence,
  type FileEvidence,
  type GcEvidence,
  type LockEvidence,
  type Nanos,
  type PeerEvidence,
  type PoolQueueEvidence,
  type RequestAnalysis,
  type Segment,
} from '@threadreel/model';
import { findDeadlock, type LockWait } from './deadlock.js';

/**
 * The per-request analysis: one request's wall time split into causes that sum exactly to
 * its duration, the dominant cause, and the evidence behind each cause. Pure: no I/O.
 * All arithmetic is bigint nanoseconds.
 *
 * Rules, as implemented:
 *
 * Window
 * - The window is `[arrivalNs, endNs)`. Inconsistent times never throw: an end before the
 *   arrival gives an empty window (`endNs` is raised to `arrivalNs`), and `serverStartNs` is
 *   clamped into the window.
 * - `[arrivalNs, serverStartNs)`: `gc` where a GC pause covers it (a stop-the-world pause, or
 *   a Python collection holding the GIL, stops the threads that accept and dispatch too), the
 *   rest `pool-queue` when `pool` is set, else `other` (time before the handler with no pool
 *   evidence).
 *
 * From the handler start on, instant by instant
 * - The active binding is the latest-starting binding covering the instant (by its own
 *   start, before clipping; equal starts: the later one in `bindings`). Bindings are
 *   clipped to `[serverStartNs, endNs)`; client spans likewise (for a peer, the
 *   latest-starting covering span is the call).
 * - No binding covers the instant → `net` if a client span covers it, else `unknown`.
 * - On the bound thread, the segment state is the cause: cpu, runqueue, lock, gc, net,
 *   file, sleep, other, unknown map to themselves; `idle` is `net` under a client span (an
 *   event loop waiting on an outgoing call), else `other` (idle inside a request is
 *   waiting on something not observed). Time the thread's segments do not cover (or a
 *   thread with no segments at all) is `unknown`.
 * - Offloaded work: where an `offload` piece covers the instant and no client span does, the
 *   time is the worker's whatever the bound thread does meanwhile (an event loop runs other
 *   requests' callbacks while this one's work is on the pool) — the worker's segment state
 *   (`idle`/`lock` on the worker, waiting for its queue, count as `other`) — or, for a
 *   queued piece, `pool-queue` (evidence: `offloadPool`, its queued time added to `waitNs`).
 * - A client span covering the instant turns `idle`/`unknown`/`other` (and gaps) into
 *   `net`; `lock`/`gc`/`file` keep their cause (the thread's evidence is more specific), and
 *   so do `cpu`, `runqueue`, `sleep` and `net`.
 * - Segments are read in start order; if a thread's segments overlap (inconsistent input)
 *   each one is clipped to start where the previous one ended, so the window is always
 *   partitioned: the breakdown sums exactly to `endNs − arrivalNs` and no value is negative.
 *
 * Dominant cause
 * - The largest value (cpu less the tracer overhead, file less profiler output, below); ties broken by the fixed order lock, gc, pool-queue, net, file, cpu,
 *   runqueue, sleep, other, unknown. An empty window (all zero) is `unknown`.
 *
 * Evidence (only for causes with time, per `CauseEvidence`)
 * - lock: one entry per distinct `lockId` (segments without one share the `null` entry),
 *   `waitNs` the sum of its lock time in the request. Waits group into acquisitions: a wait
 *   nobody woke (a timed park that ran out while the lock stayed held) continues into the
 *   thread's next wait on the same lock when only running (at most 2 ms, ptrace stops not
 *   counted), runqueue and GC pauses come between, up to the first wait someone woke.
 *   Waiter, holder and chain are those of the longest acquisition (ties: the earliest):
 *   holder = its last wait's `wakerThreadId` (the thread that released it), `holderName`
 *   from `threadNames`, `holderStackId` = `wakerStackId`. Chain: waiter → holder → …: a
 *   holder's own holder is the waker of the longest of its woken lock waits (acquisitions)
 *   inside the stretch it accounts for (in a convoy the thread that held the lock before it;
 *   with nested locks the holder of the lock it needed first), up to 8 hops; `chainHeldNs`
 *   splits the acquisition among them (see `lockChain`). When the chain comes back to a
 *   thread already in it, that thread is appended once more and the walk stops (a self-wait
 *   gives `[t, t]`). `deadlock` is decided apart from the chain (`findDeadlock`): a cycle of
 *   lock waits reachable from the waiter's acquisition that overlap in time — every thread of
 *   it blocked at once on a lock the next one held (a wait's holder: its waker, or for a timed
 *   re-wait nobody woke, the waker that ended its acquisition), each known lock with one
 *   holder — given in `deadlockCycle` with the locks and when. A chain that comes back to a
 *   thread through waits at disjoint times (a waker ping-pong) is not one.
 * - gc: the pauses overlapping the window, clipped to it, in start order.
 * - pool-queue: `pool` with `waitNs` = `serverStartNs − arrivalNs` less the GC pauses in it.
 * - net: per peer — a net segment's `target`, else the covering client span's `peer`, else
 *   `(unknown)`. A call is the covering client span (the outgoing call), else the segment;
 *   `calls` counts distinct calls, `slowestNs` is the largest time one call contributed.
 *   Sorted by total, largest first.
 * - file: per path (`target`, else `(unknown)`), total and `ops` = distinct segments per
 *   syscall name (`(unknown)` when none). Sorted by total, largest first. A JIT symbol map
 *   written for perf (`perf-PID.map`, `jit-PID.dump`) is marked `profilerOutput`: its time
 *   stays in `file` but is left out when choosing the dominant cause.
 * - cpu: sample count and the top 10 leaf frames by self samples (ties by name). Tracer
 *   overhead: per thread that ran cpu for the request (bound threads, pool workers), the
 *   share of its samples in the handler time inside the kernel's ptrace stop path
 *   (`ptrace_stop`, `ptrace_notify`, `ptrace_do_notify`: strace stopping the thread at a
 *   syscall) times its cpu; a thread with fewer than 5 samples takes the share pooled over
 *   all of them (none below 5 in all). `tracerOverheadNs` is the sum (capped at the cpu
 *   total), `tracerSamples` the pooled count. It stays in `cpu`; the dominant cause is chosen
 *   with it left out.
 * - runqueue: `starvedNs` = the runqueue total.
 *
 * Samples
 * - `sampleCount` counts samples in `[serverStartNs, endNs)` on the thread of the active
 *   binding at the sample's time (a sample of a thread after the request hopped away, or
 *   before the handler started, is not this request's work).
 * - `sparse` = handler time (`endNs − serverStartNs`) < 2 × `samplePeriodNs`: with fewer
 *   than two expected samples the cpu share is a guess. `samplePeriodNs` null → false.
 *
 * threadIds: the threads with a non-empty clipped binding (by binding start), then the pool
 * workers that ran its offloaded work (first use first), then the lock holders of the chains
 * (in chain order), each once.
 *
 * Cost: sorting bindings and client spans, one pass over the segments of each bound
 * thread inside its binding pieces (binary search to the first), binary search per sample
 * and per chain hop: O((segments + bindings + spans + samples) log n).
 */

export interface RequestInput {
  readonly traceId: string;
  readonly spanId: string;
  readonly service: string | null;
  readonly route: string | null;
  readonly name: string;
  /** Earliest evidence the request reached the process (≤ serverStartNs). */
  readonly arrivalNs: Nanos;
  /** The server span's start (handler started on a worker) and end. */
  readonly serverStartNs: Nanos;
  readonly endNs: Nanos;
  /** Threads that executed the request and when (a request may hop threads). */
  readonly bindings: readonly { readonly threadId: string; readonly startNs: Nanos; readonly endNs: Nanos }[];
  /** Segments of every bound thread (and of lock holders, for chains), sorted per thread, covering at least the window. */
  readonly segments: ReadonlyMap<string, readonly Segment[]>;
  /** Child client spans of this request (outgoing calls): their time counts as `net` when the bound thread is not on a CPU. */
  readonly clientSpans: readonly {
    readonly startNs: Nanos;
    readonly endNs: Nanos;
    readonly peer: string | null;
  }[];
  /** Stop-the-world pauses of the process overlapping the window. */
  readonly gcPauses: readonly GcEvidence[];
  /** Set when the request waited for a worker: the pool, its size and busy workers at arrival (and for an event loop the blocking request). */
  readonly pool: Omit<PoolQueueEvidence, 'waitNs'> | null;
  /** On-CPU samples on the bound threads inside the window: time, thread and frames (leaf first, display names). */
  readonly samples: readonly {
    readonly threadId: string;
    readonly timeNs: Nanos;
    readonly frames: readonly string[];
  }[];
  readonly samplePeriodNs: Nanos | null;
  readonly threadNames: ReadonlyMap<string, string>;
  /**
   * Work the request handed to a pool that runs it off the bound thread (libuv's threadpool
   * under an event loop): sorted disjoint pieces of the handler time, each run on worker
   * `threadId` (whose segments are in `segments`) or queued for one (`null`).
   */
  readonly offload?: readonly {
    readonly startNs: Nanos;
    readonly endNs: Nanos;
    readonly threadId: string | null;
  }[];
  /** The pool `offload` queued in, with its size. */
  readonly offloadPool?: { readonly pool: string; readonly size: number } | null;
}

type Key = Cause | 'unknown';

/** Breakdown keys in output order. */
const KEYS: readonly Key[] = [...CAUSES, 'unknown'];

/** Tie-break order of the dominant cause (and of compareRequests). */
const TIE_ORDER: readonly Key[] = [
  'lock',
  'gc',
  'pool-queue',
  'net',
  'file',
  'cpu',
  'runqueue',
  'sleep',
  'other',
  'unknown',
];

const MAX_CHAIN_HOPS = 8;
/** Longest run between a timed-out lock wait and the thread's next wait on the same lock. */
const ACQUIRE_RETRY_NS = 2_000_000n;
const TOP_FRAMES = 10;
const UNKNOWN_LABEL = '(unknown)';
/** Kernel frames of a thread stopping or resuming for its ptrace tracer (strace). */
const PTRACE_FRAMES = new Set(['ptrace_stop', 'ptrace_notify', 'ptrace_do_notify']);
/** Files a profiler makes the runtime write (JIT symbol maps for perf): measurement, not the program's I/O. */
const PROFILER_OUTPUT = /(^|\/)(perf-\d+\.map|jit-\d+\.dump)$/;
/** Fewer samples than this give no overhead estimate (one stray sample is not a share). */
const MIN_OVERHEAD_SAMPLES = 5;
/** Role marker of a pool worker's time walked on behalf of the request (not a thread id). */
const WORKER = '\u0000worker';

/** Largest value; ties by the fixed order; an all-zero breakdown is `unknown`. */
export function dominantCause(b: CauseBreakdown): Cause | 'unknown' {
  let best: Key = 'unknown';
  let bestNs = 0n;
  for (const key of TIE_ORDER) {
    const v = b[key];
    if (v > bestNs) {
      best = key;
      bestNs = v;
    }
  }
  return best;
}

/**
 * Cause-by-cause difference `a − b` over every cause (and unknown), largest |delta| first
 * (ties by the dominant-cause order). The deltas sum to `a.durationNs − b.durationNs`.
 */
export function compareRequests(
  a: RequestAnalysis,
  b: RequestAnalysis,
): { cause: Cause | 'unknown'; aNs: Nanos; bNs: Nanos; deltaNs: Nanos }[] {
  const rows = TIE_ORDER.map((cause) => {
    const aNs = a.breakdown[cause] ?? 0n;
    const bNs = b.breakdown[cause] ?? 0n;
    return { cause, aNs, bNs, deltaNs: aNs - bNs };
  });
  // Array.prototype.sort is stable: equal |delta| keep the tie order.
  return rows.sort((x, y) => {
    const ax = abs(x.deltaNs);
    const ay = abs(y.deltaNs);
    return ax > ay ? -1 : ax < ay ? 1 : 0;
  });
}

export function analyzeRequest(input: RequestInput): RequestAnalysis {
  const winStart = input.arrivalNs;
  const winEnd = max(input.endNs, winStart);
  const handlerStart = clamp(input.serverStartNs, winStart, winEnd);

  const totals = new Map<Key, bigint>(KEYS.map((k) => [k, 0n]));
  const add = (key: Key, ns: bigint): void => {
    if (ns > 0n) totals.set(key, (totals.get(key) ?? 0n) + ns);
  };

  // Before the handler: a stop-the-world pause (a JVM safepoint, a Python collection holding
  // the GIL) stops the accepting and dispatching threads too, so its time is gc; the rest is
  // the pool's when it had no free worker, else unexplained.
  let paused = 0n;
  let pauseCursor = winStart;
  for (const p of [...input.gcPauses].sort((a, b) =>
    a.startNs < b.startNs ? -1 : a.startNs > b.startNs ? 1 : 0,
  )) {
    const from = max(p.startNs, pauseCursor);
    const to = min(p.startNs + p.durationNs, handlerStart);
    if (to > from) {
      paused += to - from;
      pauseCursor = to;
    }
  }
  add('gc', paused);
  const queuedNs = handlerStart - winStart - paused;
  add(input.pool ? 'pool-queue' : 'other', queuedNs);

  const segs = new SegmentIndex(input.segments);
  const bindingPieces = activePieces(input.bindings, handlerStart, winEnd);
  const spanPieces = activePieces(input.clientSpans, handlerStart, winEnd);

  const lockByKey = new Map<string | null, LockAcc>();
  const peers = new Map<string, { total: bigint; calls: Map<object, bigint> }>();
  const files = new Map<string, { total: bigint; ops: Map<string, Set<Segment>> }>();

  const addNet = (peer: string, call: object, ns: bigint): void => {
    if (ns <= 0n) return;
    add('net', ns);
    let acc = peers.get(peer);
    if (!acc) peers.set(peer, (acc = { total: 0n, calls: new Map() }));
    acc.total += ns;
    acc.calls.set(call, (acc.calls.get(call) ?? 0n) + ns);
  };

  /** `[a, b)` with no thread evidence (no binding, a gap, idle/other/unknown): split by client spans. */
  const addUnderSpans = (a: bigint, b: bigint, otherwise: Key): void => {
    forEachPiece(spanPieces, a, b, (pa, pb, idx) => {
      const span = idx >= 0 ? input.clientSpans[idx] : undefined;
      if (span) addNet(span.peer ?? UNKNOWN_LABEL, span, pb - pa);
      else add(otherwise, pb - pa);
    });
  };

  const offloadPieces = activePieces(input.offload ?? [], handlerStart, winEnd);
  let offloadQueuedNs = 0n;
  /** Pool workers that ran some of the request's work, in first-use order. */
  const offloadWorkers = new Set<string>();
  /** A waiting bound thread: outgoing calls first, then the pool running its work, else `other`. */
  const addOffloaded = (a: bigint, b: bigint): void => {
    forEachPiece(spanPieces, a, b, (pa, pb, idx) => {
      const span = idx >= 0 ? input.clientSpans[idx] : undefined;
      if (span) {
        addNet(span.peer ?? UNKNOWN_LABEL, span, pb - pa);
        return;
      }
      forEachPiece(offloadPieces, pa, pb, (qa, qb, k) => {
        const piece = k >= 0 ? input.offload?.[k] : undefined;
        if (!piece) add('other', qb - qa);
        else if (piece.threadId === null) {
          add('pool-queue', qb - qa);
          offloadQueuedNs += qb - qa;
        } else {
          offloadWorkers.add(piece.threadId);
          walkThread(WORKER, piece.threadId, qa, qb);
        }
      });
    });
  };
  /** A bound thread's `[a, b)`: offloaded pieces are the pool's, the rest the thread's own. */
  const addBound = (threadId: string, a: bigint, b: bigint): void => {
    if (!offloadPieces.length) {
      walkThread(null, threadId, a, b);
      return;
    }
    forEachPiece(offloadPieces, a, b, (qa, qb, k) => {
      if (k >= 0) addOffloaded(qa, qb);
      else walkThread(null, threadId, qa, qb);
    });
  };

  /** cpu time per thread that ran it (bound threads and pool workers), for the overhead estimate. */
  const cpuByThread = new Map<string, bigint>();
  const addSegment = (threadId: string, seg: Segment, a: bigint, b: bigint): void => {
    const ns = b - a;
    switch (seg.state) {
      case 'cpu':
      case 'runqueue':
      case 'sleep':
      case 'gc':
        add(seg.state, ns);
        return;
      case 'lock': {
        add('lock', ns);
        const key = seg.lockId ?? null;
        let acc = lockByKey.get(key);
        if (!acc) lockByKey.set(key, (acc = { total: 0n, waits: new Map() }));
        acc.total += ns;
        const prev = acc.waits.get(seg);
        acc.waits.set(seg, { threadId, ns: (prev?.ns ?? 0n) + ns });
        return;
      }
      case 'file': {
        add('file', ns);
        const path = seg.target ?? UNKNOWN_LABEL;
        let acc = files.get(path);
        if (!acc) files.set(path, (acc = { total: 0n, ops: new Map() }));
        acc.total += ns;
        const op = seg.syscall ?? UNKNOWN_LABEL;
        let set = acc.ops.get(op);
        if (!set) acc.ops.set(op, (set = new Set()));
        set.add(seg);
        return;
      }
      case 'net':
        forEachPiece(spanPieces, a, b, (pa, pb, idx) => {
          const span = idx >= 0 ? input.clientSpans[idx] : undefined;
          addNet(seg.target ?? span?.peer ?? UNKNOWN_LABEL, span ?? seg, pb - pa);
        });
        return;
      case 'idle':
      case 'other':
        if (offloadPieces.length && threadId !== WORKER) addOffloaded(a, b);
        else addUnderSpans(a, b, 'other');
        return;
      case 'unknown':
        addUnderSpans(a, b, 'unknown');
        return;
    }
  };

  /**
   * `[from, to)` of a thread's segments; gaps are `unknown`. On a pool worker running the
   * request's work (`WORKER` role) idle and lock mean it waits for its queue: `other`.
   */
  function walkThread(role: string | null, threadId: string, from: bigint, to: bigint): void {
    const list = segs.get(threadId);
    let cursor = from;
    let i = firstEndingAfter(list, cursor);
    while (cursor < to) {
      const seg = list[i];
      if (!seg || seg.startNs >= to) {
        if (role === WORKER) add('other', to - cursor);
        else addUnderSpans(cursor, to, 'unknown');
        break;
      }
      if (seg.startNs > cursor) {
        if (role === WORKER) add('other', seg.startNs - cursor);
        else addUnderSpans(cursor, seg.startNs, 'unknown');
        cursor = seg.startNs;
      }
      const end = min(seg.endNs, to);
      if (seg.state === 'cpu') cpuByThread.set(threadId, (cpuByThread.get(threadId) ?? 0n) + end - cursor);
      if (role === WORKER && (seg.state === 'idle' || seg.state === 'lock' || seg.state === 'unknown'))
        add('other', end - cursor);
      else addSegment(role ?? threadId, seg, cursor, end);
      cursor = end;
      i++;
    }
  }

  for (const piece of bindingPieces) {
    const binding = piece.idx >= 0 ? input.bindings[piece.idx] : undefined;
    if (!binding) {
      addUnderSpans(piece.start, piece.end, 'unknown');
      continue;
    }
    addBound(binding.threadId, piece.start, piece.end);
  }

  const breakdown = Object.fromEntries(KEYS.map((k) => [k, totals.get(k) ?? 0n])) as Record<Key, Nanos>;

  // Threads: bound threads by binding start, then holders.
  const threadIds: string[] = [];
  const seen = new Set<string>();
  const pushThread = (t: string): void => {
    if (!seen.has(t)) {
      seen.add(t);
      threadIds.push(t);
    }
  };
  const bound = input.bindings
    .map((b, idx) => ({ b, idx }))
    .filter(({ b }) => min(b.endNs, winEnd) > max(b.startNs, handlerStart))
    .sort((x, y) => cmpBig(x.b.startNs, y.b.startNs) || x.idx - y.idx);
  for (const { b } of bound) pushThread(b.threadId);
  for (const w of offloadWorkers) pushThread(w);

  // Evidence.
  const evidence: Mutable<CauseEvidence> = {};

  if (breakdown.lock > 0n) {
    const list: LockEvidence[] = [];
    for (const [lockId, acc] of lockByKey) {
      // Waits of one acquisition (a thread's timed re-waits on the lock, ended by its release).
      const acquisitions = new Map<Segment, { threadId: string; ns: bigint; first: Segment }>();
      for (const [seg, w] of acc.waits) {
        const last = segs.acquisitionEnd(w.threadId, seg);
        const a = acquisitions.get(last);
        if (!a) acquisitions.set(last, { threadId: w.threadId, ns: w.ns, first: seg });
        else {
          a.ns += w.ns;
          if (seg.startNs < a.first.startNs) a.first = seg;
        }
      }
      let rep: { seg: Segment; threadId: string; ns: bigint; startNs: bigint } | undefined;
      for (const [last, a] of acquisitions) {
        if (!rep || a.ns > rep.ns || (a.ns === rep.ns && a.first.startNs < rep.startNs)) {
          rep = { seg: last, threadId: a.threadId, ns: a.ns, startNs: a.first.startNs };
        }
      }
      if (!rep) continue;
      const { chain, heldNs } = lockChain(rep.threadId, rep.startNs, rep.seg, segs);
      const cycle = findDeadlock(rep.threadId, rep.startNs, rep.seg.endNs, (t, from, to) =>
        segs.lockWaitsOverlapping(t, from, to),
      );
      const holder = rep.seg.wakerThreadId ?? null;
      list.push({
        lockId,
        waitNs: acc.total,
        waiterThreadId: rep.threadId,
        holderThreadId: holder,
        holderName: holder === null ? null : (input.threadNames.get(holder) ?? null),
        holderStackId: rep.seg.wakerStackId ?? null,
        chain,
        chainHeldNs: heldNs,
        deadlock: cycle !== null,
        ...(cycle ? { deadlockCycle: cycle } : {}),
      });
    }
    list.sort((x, y) => cmpBig(y.waitNs, x.waitNs) || cmpNullableStr(x.lockId, y.lockId));
    for (const l of list) for (const t of l.chain.slice(1)) pushThread(t);
    evidence.lock = list;
  }

  if (breakdown.gc > 0n) {
    const pauses: GcEvidence[] = [];
    for (const p of input.gcPauses) {
      const s = max(p.startNs, winStart);
      const e = min(p.startNs + p.durationNs, winEnd);
      if (e > s) pauses.push({ ...p, startNs: s, durationNs: e - s });
    }
    pauses.sort((x, y) => cmpBig(x.startNs, y.startNs));
    if (pauses.length > 0) evidence.gc = pauses;
  }

  if (input.pool && queuedNs > 0n)
    evidence['pool-queue'] = { ...input.pool, waitNs: queuedNs + offloadQueuedNs };
  else if (offloadQueuedNs > 0n && input.offloadPool)
    evidence['pool-queue'] = {
      pool: input.offloadPool.pool,
      size: input.offloadPool.size,
      busy: input.offloadPool.size,
      waitNs: offloadQueuedNs,
    };

  if (breakdown.net > 0n) {
    const list: PeerEvidence[] = [];
    for (const [peer, acc] of peers) {
      let slowest = 0n;
      for (const ns of acc.calls.values()) slowest = max(slowest, ns);
      list.push({ peer, totalNs: acc.total, calls: acc.calls.size, slowestNs: slowest });
    }
    list.sort((x, y) => cmpBig(y.totalNs, x.totalNs) || cmpStr(x.peer, y.peer));
    evidence.net = list;
  }

  let profilerFileNs = 0n;
  if (breakdown.file > 0n) {
    const list: FileEvidence[] = [];
    for (const [path, acc] of files) {
      const ops: Record<string, number> = {};
      for (const op of [...acc.ops.keys()].sort(cmpStr)) ops[op] = acc.ops.get(op)?.size ?? 0;
      list.push(
        PROFILER_OUTPUT.test(path)
          ? { path, totalNs: acc.total, ops, profilerOutput: true }
          : { path, totalNs: acc.total, ops },
      );
      if (PROFILER_OUTPUT.test(path)) profilerFileNs += acc.total;
    }
    list.sort((x, y) => cmpBig(y.totalNs, x.totalNs) || cmpStr(x.path, y.path));
    evidence.file = list;
  }

  // Samples: on the active binding's thread, inside the handler time.
  let sampleCount = 0;
  // Tracer overhead: per thread that ran cpu for the request, the share of its samples in the
  // window inside the ptrace stop path; threads with too few samples take the pooled share.
  const perThreadSamples = new Map<string, { n: number; tracer: number }>();
  for (const s of input.samples) {
    if (s.timeNs < handlerStart || s.timeNs >= winEnd || !cpuByThread.has(s.threadId)) continue;
    let acc = perThreadSamples.get(s.threadId);
    if (!acc) perThreadSamples.set(s.threadId, (acc = { n: 0, tracer: 0 }));
    acc.n++;
    if (s.frames.some((f) => PTRACE_FRAMES.has(f))) acc.tracer++;
  }
  let pooledN = 0;
  let tracerSamples = 0;
  for (const acc of perThreadSamples.values()) {
    pooledN += acc.n;
    tracerSamples += acc.tracer;
  }
  let overheadNs = 0n;
  if (tracerSamples > 0 && pooledN >= MIN_OVERHEAD_SAMPLES)
    for (const [t, cpuNs] of cpuByThread) {
      const acc = perThreadSamples.get(t);
      const [tr, n] = acc && acc.n >= MIN_OVERHEAD_SAMPLES ? [acc.tracer, acc.n] : [tracerSamples, pooledN];
      overheadNs += (cpuNs * BigInt(tr)) / BigInt(n);
    }
  const leafCounts = new Map<string, number>();
  for (const s of input.samples) {
    if (s.timeNs < handlerStart || s.timeNs >= winEnd) continue;
    const piece = bindingPieces[pieceAt(bindingPieces, s.timeNs)];
    const binding = piece && piece.idx >= 0 ? input.bindings[piece.idx] : undefined;
    if (!binding || binding.threadId !== s.threadId) continue;
    sampleCount++;
    const leaf = s.frames[0];
    if (leaf !== undefined) leafCounts.set(leaf, (leafCounts.get(leaf) ?? 0) + 1);
  }

  let tracerOverheadNs = 0n;
  if (breakdown.cpu > 0n) {
    const topFrames = [...leafCounts]
      .map(([frame, samples]) => ({ frame, samples }))
      .sort((x, y) => y.samples - x.samples || cmpStr(x.frame, y.frame))
      .slice(0, TOP_FRAMES);
    let cpu: CpuEvidence = { topFrames, samples: sampleCount };
    if (overheadNs > 0n) {
      tracerOverheadNs = overheadNs < breakdown.cpu ? overheadNs : breakdown.cpu;
      cpu = { ...cpu, tracerOverheadNs, tracerSamples };
    }
    evidence.cpu = cpu;
  }

  if (breakdown.runqueue > 0n) evidence.runqueue = { starvedNs: breakdown.runqueue };

  const period = input.samplePeriodNs;
  const sparse = period === null ? false : winEnd - handlerStart < 2n * period;

  return {
    traceId: input.traceId,
    spanId: input.spanId,
    service: input.service,
    route: input.route,
    name: input.name,
    startNs: winStart,
    endNs: winEnd,
    durationNs: winEnd - winStart,
    breakdown,
    dominantCause: dominantCause({
      ...breakdown,
      cpu: breakdown.cpu - tracerOverheadNs,
      file: breakdown.file - profilerFileNs,
    }),
    evidence,
    sampleCount,
    sparse,
    threadIds,
  };
}

// ---------------------------------------------------------------------------------------
// Internals

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

interface LockAcc {
  total: bigint;
  /** Per lock segment: the waiting (bound) thread and the time it contributed. */
  waits: Map<Segment, { threadId: string; ns: bigint }>;
}

/**
 * waiter → holder → holder's holder…, within the waiter's acquisition [fromNs, last.endNs):
 * the holder released it at the end. The parts of that stretch the holder spent in lock
 * waits someone woke (whole acquisitions) are not its own: the walk goes on inside the
 * longest of them, with its waker; the rest of the stretch stays with the holder.
 * `heldNs[i]` is how much of the waiter's wait `chain[i + 1]` accounts for (convoy: roughly
 * its tenure of the lock; nested locks: the time it kept the previous thread blocked). Stops
 * after 8 hops, at a holder without a woken lock wait in its stretch, or when a thread
 * repeats (the repeated thread gets no entry; whether that is a deadlock is `findDeadlock`'s
 * to say).
 */
function lockChain(
  waiter: string,
  fromNs: bigint,
  last: Segment,
  segs: SegmentIndex,
): { chain: string[]; heldNs: bigint[] } {
  const chain = [waiter];
  const heldNs: bigint[] = [];
  const inChain = new Set(chain);
  let from = fromNs;
  let to = last.endNs;
  let holder = last.wakerThreadId;
  for (let hop = 0; holder !== undefined && hop < MAX_CHAIN_HOPS; hop++) {
    chain.push(holder);
    if (inChain.has(holder)) return { chain, heldNs };
    inChain.add(holder);
    // Its woken lock waits in the stretch: blocked there, it was waiting for their wakers.
    // The walk follows the longest; the others (a VM mutex, a GIL hand-off) go to nobody.
    let blocked = 0n;
    let next: { a: bigint; b: bigint; waker: string } | null = null;
    for (const w of segs.wokenAcquisitionsOverlapping(holder, from, to)) {
      const a = max(from, w.startNs);
      const b = min(to, w.endNs);
      if (b <= a) continue;
      blocked += b - a;
      if (!next || b - a > next.b - next.a) next = { a, b, waker: w.wakerThreadId };
    }
    heldNs.push(to - from - blocked);
    if (!next) break;
    from = next.a;
    to = next.b;
    holder = next.waker;
  }
  return { chain, heldNs };
}

/** Per-thread segments in start order, non-overlapping, non-empty; built lazily. */
class SegmentIndex {
  private readonly sorted = new Map<string, readonly Segment[]>();
  private readonly locks = new Map<string, readonly Segment[]>();
  private readonly acquisitionEnds = new Map<Segment, Segment>();

  constructor(private readonly source: ReadonlyMap<string, readonly Segment[]>) {}

  get(threadId: string): readonly Segment[] {
    let list = this.sorted.get(threadId);
    if (!list) {
      list = normalizeSegments(this.source.get(threadId) ?? []);
      this.sorted.set(threadId, list);
    }
    return list;
  }

  /**
   * The last wait of the acquisition `seg` belongs to. A wait nobody woke (a timed park that
   * ran out, as the JVM's monitors and glibc's timed locks do while the lock stays held, or
   * a signal) is not the end of the thread's wait for the lock when, after running for at
   * most ACQUIRE_RETRY_NS (runqueue and GC pauses aside), it waits on the same lock again: the
   * acquisition ends with the first wait that someone woke (the release), or the last
   * re-wait. `seg` itself when it was woken or is not followed by a re-wait.
   */
  acquisitionEnd(threadId: string, seg: Segment): Segment {
    if (seg.wakerThreadId !== undefined || seg.lockId === undefined) return seg;
    const known = this.acquisitionEnds.get(seg);
    if (known) return known;
    const list = this.get(threadId);
    let i = firstEndingAfter(list, seg.startNs);
    if (list[i] !== seg) return seg;
    let cur = seg;
    const members = [seg];
    while (cur.wakerThreadId === undefined) {
      // Between the waits: running (at most ACQUIRE_RETRY_NS of it), runnable, GC pauses and
      // ptrace stops (the scheduler's, runtime's and tracer's doing, not the thread's), no gap.
      let j = i + 1;
      let next = list[j];
      let at = cur.endNs;
      let busy = 0n;
      while (
        next &&
        next.startNs === at &&
        (next.state === 'cpu' || next.state === 'runqueue' || next.state === 'gc')
      ) {
        // Only running counts: waiting for a CPU, a GC pause or a ptrace stop (prev_state t:
        // strace holding the thread) is not the thread doing something else.
        if (next.state === 'cpu' && next.prevState !== 't') busy += next.endNs - next.startNs;
        at = next.endNs;
        next = list[++j];
      }
      if (
        !next ||
        next.startNs !== at ||
        busy > ACQUIRE_RETRY_NS ||
        next.state !== 'lock' ||
        next.lockId !== cur.lockId
      )
        break;
      cur = next;
      members.push(cur);
      i = j;
    }
    // Every wait of the acquisition ends there: asked again for any of them, no re-walk.
    for (const m of members) this.acquisitionEnds.set(m, cur);
    return cur;
  }

  /**
   * The thread's lock waits (segments) overlapping [from, to) whose holder is known: the
   * wait's waker, or for a timed re-wait nobody woke the waker that ended its acquisition.
   */
  lockWaitsOverlapping(threadId: string, from: bigint, to: bigint): LockWait[] {
    const list = this.lockSegments(threadId);
    const out: LockWait[] = [];
    for (let i = firstEndingAfter(list, from); i < list.length; i++) {
      const s = list[i];
      if (!s || s.startNs >= to) break;
      const holder = s.wakerThreadId ?? this.acquisitionEnd(threadId, s).wakerThreadId;
      if (holder !== undefined)
        out.push({ startNs: s.startNs, endNs: s.endNs, holderThreadId: holder, lockId: s.lockId ?? null });
    }
    return out;
  }

  private lockSegments(threadId: string): readonly Segment[] {
    let list = this.locks.get(threadId);
    if (!list) {
      list = this.get(threadId).filter((s) => s.state === 'lock');
      this.locks.set(threadId, list);
    }
    return list;
  }

  /**
   * The thread's acquisitions (see `acquisitionEnd`) overlapping [from, to) that someone
   * woke: from the first wait's start to the last wait's end, with that last wait's waker.
   * A short unwoken tail of a wait, or a timed re-wait, does not hide the acquisition it
   * belongs to.
   */
  wokenAcquisitionsOverlapping(
    threadId: string,
    from: bigint,
    to: bigint,
  ): { startNs: bigint; endNs: bigint; wakerThreadId: string }[] {
    const list = this.lockSegments(threadId);
    // Last index with startNs < to.
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((list[mid]?.startNs ?? 0n) < to) lo = mid + 1;
      else hi = mid;
    }
    const byEnd = new Map<Segment, { startNs: bigint; endNs: bigint; wakerThreadId: string }>();
    for (let i = lo - 1; i >= 0; i--) {
      const cand = list[i];
      if (!cand || cand.endNs <= from) break;
      const end = this.acquisitionEnd(threadId, cand);
      if (end.wakerThreadId === undefined) continue;
      const acq = byEnd.get(end);
      if (acq) acq.startNs = cand.startNs;
      else byEnd.set(end, { startNs: cand.startNs, endNs: end.endNs, wakerThreadId: end.wakerThreadId });
    }
    return [...byEnd.values()];
  }
}

function normalizeSegments(input: readonly Segment[]): readonly Segment[] {
  let clean = true;
  let prevEnd: bigint | null = null;
  for (const s of input) {
    if (s.endNs <= s.startNs || (prevEnd !== null && s.startNs < prevEnd)) {
      clean = false;
      break;
    }
    prevEnd = s.endNs;
  }
  if (clean) return input;
  const order = input.map((s, i) => ({ s, i })).sort((x, y) => cmpBig(x.s.startNs, y.s.startNs) || x.i - y.i);
  const out: Segment[] = [];
  let end: bigint | null = null;
  for (const { s } of order) {
    const start: bigint = end !== null && s.startNs < end ? end : s.startNs;
    if (s.endNs <= start) continue;
    out.push(start === s.startNs ? s : { ...s, startNs: start });
    end = s.endNs;
  }
  return out;
}

/** Index of the first segment whose end is after `t` (segments sorted and disjoint). */
function firstEndingAfter(list: readonly Segment[], t: bigint): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((list[mid]?.endNs ?? 0n) <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

interface Piece {
  readonly start: bigint;
  readonly end: bigint;
  /** Index of the active interval, -1 when none covers the piece. */
  readonly idx: number;
}

/**
 * Partitions `[from, to)` into pieces, each with the latest-starting interval covering it
 * (by its own start, before clipping; equal starts: the later index), or -1. Intervals are
 * clipped to `[from, to)`.
 * Adjacent pieces with the same interval are merged. O(n log n).
 */
function activePieces(
  items: readonly { readonly startNs: Nanos; readonly endNs: Nanos }[],
  from: bigint,
  to: bigint,
): Piece[] {
  if (to <= from) return [];
  const clipped: { start: bigint; end: bigint; idx: number; rank: bigint }[] = [];
  items.forEach((it, idx) => {
    const start = max(it.startNs, from);
    const end = min(it.endNs, to);
    if (end > start) clipped.push({ start, end, idx, rank: it.startNs });
  });
  clipped.sort((a, b) => cmpBig(a.start, b.start) || a.idx - b.idx);
  const bounds = new Set<bigint>([from, to]);
  for (const c of clipped) {
    bounds.add(c.start);
    bounds.add(c.end);
  }
  const points = [...bounds].sort(cmpBig);
  // Max-heap by (unclipped start, idx): the latest-starting interval is on top.
  const heap = new Heap<{ start: bigint; end: bigint; idx: number; rank: bigint }>(
    (a, b) => a.rank > b.rank || (a.rank === b.rank && a.idx > b.idx),
  );
  const out: Piece[] = [];
  let next = 0;
  for (let p = 0; p + 1 < points.length; p++) {
    const a = points[p] ?? from;
    const b = points[p + 1] ?? to;
    for (let c = clipped[next]; c && c.start <= a; c = clipped[++next]) heap.push(c);
    while (heap.peek() && (heap.peek()?.end ?? 0n) <= a) heap.pop();
    const idx = heap.peek()?.idx ?? -1;
    const last = out[out.length - 1];
    if (last && last.idx === idx && last.end === a) out[out.length - 1] = { start: last.start, end: b, idx };
    else out.push({ start: a, end: b, idx });
  }
  return out;
}

/** Index of the piece containing `t` (pieces contiguous), or -1. */
function pieceAt(pieces: readonly Piece[], t: bigint): number {
  let lo = 0;
  let hi = pieces.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((pieces[mid]?.end ?? 0n) <= t) lo = mid + 1;
    else hi = mid;
  }
  const p = pieces[lo];
  return p && p.start <= t ? lo : -1;
}

/** Calls `fn` for each piece ∩ `[a, b)`; pieces must cover `[a, b)` (they cover the handler time). */
function forEachPiece(
  pieces: readonly Piece[],
  a: bigint,
  b: bigint,
  fn: (start: bigint, end: bigint, idx: number) => void,
): void {
  let cursor = a;
  let lo = 0;
  let hi = pieces.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((pieces[mid]?.end ?? 0n) <= a) lo = mid + 1;
    else hi = mid;
  }
  for (let i = lo; cursor < b; i++) {
    const p = pieces[i];
    if (!p || p.start >= b) {
      fn(cursor, b, -1);
      return;
    }
    if (p.start > cursor) {
      fn(cursor, p.start, -1);
      cursor = p.start;
    }
    const end = min(p.end, b);
    fn(cursor, end, p.idx);
    cursor = end;
  }
}

class Heap<T> {
  private readonly items: T[] = [];
  constructor(private readonly above: (a: T, b: T) => boolean) {}

  peek(): T | undefined {
    return this.items[0];
  }

  push(item: T): void {
    const items = this.items;
    items.push(item);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >>> 1;
      const p = items[parent] as T;
      if (!this.above(item, p)) break;
      items[i] = p;
      i = parent;
    }
    items[i] = item;
  }

  pop(): T | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (items.length === 0 || last === undefined) return top;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let best = i;
      let bestItem = last;
      const li = items[l];
      if (l < items.length && li !== undefined && this.above(li, bestItem)) {
        best = l;
        bestItem = li;
      }
      const ri = items[r];
      if (r < items.length && ri !== undefined && this.above(ri, bestItem)) {
        best = r;
        bestItem = ri;
      }
      if (best === i) break;
      items[i] = bestItem;
      i = best;
    }
    items[i] = last;
    return top;
  }
}

function min(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}
function max(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}
function clamp(v: bigint, lo: bigint, hi: bigint): bigint {
  return v < lo ? lo : v > hi ? hi : v;
}
function abs(v: bigint): bigint {
  return v < 0n ? -v : v;
}
function cmpBig(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
function cmpStr(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
function cmpNullableStr(a: string | null, b: string | null): number {
  if (a === b) return 0;
  if (a === null) return 1;
  if (b === null) return -1;
  return cmpStr(a, b);
}
