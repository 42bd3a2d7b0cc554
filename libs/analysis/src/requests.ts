import {
  appendAll,
  pushTo,
  type CorrelationThread,
  type DegradedParts,
  errorMessage,
  type GcEvidence,
  isInfrastructureError,
  type PoolQueueEvidence,
  type RequestAnalysis,
  type Segment,
  type SpanBinding,
  type SpanRow,
  type StackFramesById,
  type WindowSample,
} from '@threadreel/model';
import { analyzeRequest, type RequestInput } from './breakdown.js';
import { frameDisplayName } from './fold.js';
import { IntervalIndex, indexBy } from './time-index.js';
import {
  intersectIntervals,
  mergeIntervals,
  replayPool,
  saturatedNs,
  subtractIntervals,
  type Interval,
  type OffloadPiece,
  type OffloadRequest,
  type OffloadWorker,
} from './pool.js';

/**
 * The request stage of correlation: each request's breakdown (libs/analysis breakdown) from
 * the spans, their thread bindings and what the request's window holds — its threads'
 * segments and samples, read per request through {@link RequestReads}, so that the time per
 * request depends on its window, not on the capture.
 */

/** What request analysis reads, each bounded by a request's window (or a few threads). */
export interface RequestReads {
  /** A thread's segments overlapping [fromNs, toNs), in start order. */
  segmentsInWindow(threadId: string, fromNs: bigint, toNs: bigint): Promise<readonly Segment[]>;
  /** On-CPU samples of the threads in [fromNs, toNs). */
  samplesInWindow(threadIds: readonly string[], fromNs: bigint, toNs: bigint): Promise<WindowSample[]>;
  stackFrames(stackIds: readonly string[]): Promise<StackFramesById>;
  /** A few distinct stacks sampled on each thread. */
  threadStacks(threadIds: readonly string[]): Promise<Map<string, string[]>>;
}

/** A log line of a trace (what dates a request's arrival). */
export interface RequestLog {
  readonly timeNs: bigint | null;
  readonly traceIds: readonly string[];
}

/** A connection accepted on one thread and first read on another (strace). */
export interface RequestHandoff {
  readonly acceptNs: bigint;
  readonly readerThreadId: string;
  readonly readNs: bigint;
}

export interface RequestContext {
  reads: RequestReads;
  spans: readonly SpanRow[];
  bindings: readonly SpanBinding[];
  logs: readonly RequestLog[];
  handoffs: readonly RequestHandoff[];
  threads: readonly CorrelationThread[];
  /** Each thread's display name. */
  names: ReadonlyMap<string, string>;
  /** The pool a thread belongs to (a numbered name shared by several threads), if any. */
  poolOf: (t: CorrelationThread) => string | null;
  gcEvidence: readonly GcEvidence[];
  samplePeriodNs: bigint | null;
  runtime: string | null;
  degraded: DegradedParts;
}

/** The whole time axis, for reads of a thread's every segment. */
const ALL_FROM = -(1n << 63n);
const ALL_TO = (1n << 63n) - 1n;

function distance(a: bigint, b: bigint): bigint {
  return a > b ? a - b : b - a;
}

/** Who a request is: its span's ids, service, route (`http.route`) and name. */
export function requestIdentity(
  r: SpanRow,
): Pick<RequestInput, 'traceId' | 'spanId' | 'service' | 'route' | 'name'> {
  // Read without trusting the span: odd attributes may be what made an analysis throw.
  const route = (r.attributes as Partial<SpanRow['attributes']> | null)?.['http.route'];
  return {
    traceId: r.traceId,
    spanId: r.spanId,
    service: r.service,
    route: typeof route === 'string' ? route : null,
    name: r.name,
  };
}

/** A request whose breakdown could not be made: its whole wall time is unknown. */
export function unknownAnalysis(r: SpanRow): RequestAnalysis {
  return analyzeRequest({
    ...requestIdentity(r),
    arrivalNs: r.startNs,
    serverStartNs: r.startNs,
    endNs: r.endNs,
    bindings: [],
    segments: new Map(),
    clientSpans: [],
    gcPauses: [],
    pool: null,
    samples: [],
    samplePeriodNs: null,
    threadNames: new Map(),
  });
}

/** Requests: server spans (or root spans when a trace has no server span). */
export function requestSpans(spans: readonly SpanRow[]): SpanRow[] {
  const byTrace = new Map<string, SpanRow[]>();
  for (const s of spans) pushTo(byTrace, s.traceId, s);
  const out: SpanRow[] = [];
  const ids = new Set(spans.map((s) => s.spanId));
  for (const list of byTrace.values()) {
    const servers = list.filter((s) => s.kind === 'server');
    appendAll(
      out,
      servers.length ? servers : list.filter((s) => s.parentSpanId === null || !ids.has(s.parentSpanId)),
    );
  }
  return out;
}

/** Spans by their parent's span id. */
function childrenOf(spans: readonly SpanRow[]): Map<string, SpanRow[]> {
  const children = new Map<string, SpanRow[]>();
  for (const s of spans) {
    if (!s.parentSpanId) continue;
    const list = children.get(s.parentSpanId);
    if (list) list.push(s);
    else children.set(s.parentSpanId, [s]);
  }
  return children;
}

function descendants(children: ReadonlyMap<string, SpanRow[]>, root: SpanRow): SpanRow[] {
  const out: SpanRow[] = [];
  const stack = [...(children.get(root.spanId) ?? [])];
  const seen = new Set<SpanRow>();
  while (stack.length) {
    const s = stack.pop() as SpanRow;
    // A span that is its own ancestor (a parent id cycle in odd input) is walked once.
    if (s.traceId !== root.traceId || seen.has(s)) continue;
    seen.add(s);
    out.push(s);
    appendAll(stack, children.get(s.spanId) ?? []);
  }
  return out;
}

function peerOf(s: SpanRow): string | null {
  const a = s.attributes;
  const host = a['server.address'] ?? a['net.peer.name'] ?? a['network.peer.address'];
  const port = a['server.port'] ?? a['net.peer.port'] ?? a['network.peer.port'];
  if (typeof host === 'string')
    return typeof port === 'string' || typeof port === 'number' ? `${host}:${port}` : host;
  return null;
}

/** States in which a pool worker is running work (not waiting on its queue). */
const WORKING_STATES = new Set(['cpu', 'runqueue', 'file', 'net', 'sleep', 'other']);

/**
 * Whether a thread's stacks show libuv's threadpool: its `worker` loop right under
 * `start_thread`, or the work functions node and libuv run on it.
 */
function isLibuvWorkerStack(frames: readonly { symbol: string; dso: string }[]): boolean {
  for (let i = 0; i < frames.length; i++) {
    const sym = frames[i]?.symbol ?? '';
    if (sym === 'uv__fs_work' || sym.startsWith('node::ThreadPoolWork::')) return true;
    if (sym === 'worker' && frames[i + 1]?.symbol === 'start_thread') return true;
  }
  return false;
}

/**
 * Node's libuv threadpool, replayed: which pool worker ran each request's file system,
 * crypto or zlib work while the event loop waited for it, and when that work sat queued
 * because every worker was busy. The workers are the target's threads named `libuv-worker`
 * (Node ≥ 22) or whose stacks show libuv's worker loop; a request's wait is its time between
 * the handler's first run on the loop and its last (the completion callback), with no
 * outgoing call in flight.
 */
async function libuvOffload(
  c: RequestContext,
  roots: readonly SpanRow[],
  bySpan: ReadonlyMap<string, SpanBinding[]>,
  children: ReadonlyMap<string, SpanRow[]>,
): Promise<{ pieces: Map<string, OffloadPiece[]>; workers: string[] }> {
  const none = { pieces: new Map<string, OffloadPiece[]>(), workers: [] };
  const loops = new Set(roots.flatMap((r) => (bySpan.get(r.spanId) ?? []).map((b) => b.threadId)));
  const pids = new Set(c.threads.filter((t) => loops.has(t.id)).map((t) => t.pid));
  const candidates = c.threads.filter((t) => !loops.has(t.id) && pids.has(t.pid));
  if (!candidates.length) return none;
  const named = candidates.filter((t) => t.names.some((n) => n === 'libuv-worker'));
  let workers = named;
  if (!workers.length) {
    const stacks = await c.reads.threadStacks(candidates.map((t) => t.id));
    const frames = await c.reads.stackFrames([...stacks.values()].flat());
    workers = candidates.filter((t) =>
      (stacks.get(t.id) ?? []).some((id) => isLibuvWorkerStack(frames.get(id) ?? [])),
    );
  }
  if (!workers.length) return none;
  const requests: OffloadRequest[] = [];
  for (const r of roots) {
    const first = (bySpan.get(r.spanId) ?? [])[0];
    if (!first) continue;
    const from = first.startNs > r.startNs ? first.startNs : r.startNs;
    // The handler's first run on the loop (from its start while the loop stays busy) and the
    // last one (the completion callback writing the response) are the request's own; in
    // between it waits for what it started, while the loop serves other requests.
    const loop = await c.reads.segmentsInWindow(first.threadId, from, r.endNs);
    let waitFrom = from;
    for (const s of loop) {
      if (s.startNs > waitFrom || s.state === 'idle') break;
      waitFrom = s.endNs;
    }
    let waitTo = r.endNs;
    for (let k = loop.length - 1; k >= 0; k--) {
      const s = loop[k];
      if (!s || s.endNs < waitTo || s.state === 'idle') break;
      waitTo = s.startNs;
    }
    const calls = descendants(children, r)
      .filter((k) => k.kind === 'client')
      .map((k) => ({ startNs: k.startNs, endNs: k.endNs }));
    requests.push({
      id: r.spanId,
      orderNs: from,
      waits:
        waitTo > waitFrom
          ? subtractIntervals([{ startNs: waitFrom, endNs: waitTo }], mergeIntervals(calls))
          : [],
    });
  }
  const pool: OffloadWorker[] = [];
  for (const w of workers)
    pool.push({
      threadId: w.id,
      busy: (await c.reads.segmentsInWindow(w.id, ALL_FROM, ALL_TO)).filter((s) =>
        WORKING_STATES.has(s.state),
      ),
    });
  return { pieces: replayPool(requests, pool), workers: workers.map((w) => w.id) };
}

export async function analyzeRequests(c: RequestContext): Promise<RequestAnalysis[]> {
  const roots = requestSpans(c.spans);
  const rootIds = new Set(roots.map((r) => r.spanId));
  // A worker runs one request at a time: when a request's span opens before the same
  // thread finished the previous one (its span includes the time queued for a worker, as
  // when the acceptor starts it), the handler really starts when that thread is free.
  const perThread = new Map<string, SpanBinding[]>();
  // (Not for an event loop — Node — where requests interleave on one thread by design.)
  if (c.runtime !== 'node')
    for (const b of c.bindings) if (rootIds.has(b.spanId)) pushTo(perThread, b.threadId, b);
  const clipped = new Map<SpanBinding, SpanBinding>();
  for (const list of perThread.values()) {
    list.sort((a, b) => (a.startNs < b.startNs ? -1 : a.startNs > b.startNs ? 1 : 0));
    let free = 0n;
    for (const b of list) {
      const start = b.startNs < free && free < b.endNs ? free : b.startNs;
      clipped.set(b, start === b.startNs ? b : { ...b, startNs: start });
      if (b.endNs > free) free = b.endNs;
    }
  }
  const bySpan = new Map<string, SpanBinding[]>();
  for (const b of c.bindings) {
    const x = clipped.get(b) ?? b;
    pushTo(bySpan, x.spanId, x);
  }
  const threadById = new Map(c.threads.map((t) => [t.id, t]));
  const spanById = new Map(c.spans.map((s) => [s.spanId, s]));
  const children = childrenOf(c.spans);
  const logsByTrace = new Map<string, RequestLog[]>();
  for (const l of c.logs) {
    if (l.timeNs === null) continue;
    for (const t of l.traceIds) {
      const list = logsByTrace.get(t);
      if (list) list.push(l);
      else logsByTrace.set(t, [l]);
    }
  }
  // Busy intervals per pool: which worker runs which request when.
  const serverBindings = roots.flatMap((r) => (bySpan.get(r.spanId) ?? []).map((b) => ({ b, r })));
  const servingThreads = new Set(serverBindings.map(({ b }) => b.threadId));
  const servingByThread = new Map<string, SpanBinding[]>();
  for (const { b } of serverBindings) pushTo(servingByThread, b.threadId, b);
  // Each request reads the capture-wide lists only near its window (time-index.ts).
  const servingEnds = new Map(
    [...servingByThread].map(([t, list]) => [
      t,
      [...list].sort((x, y) => (x.endNs < y.endNs ? -1 : x.endNs > y.endNs ? 1 : 0)),
    ]),
  );
  const servingIndex = indexBy(
    serverBindings,
    ({ b }) => b.threadId,
    ({ b }) => b.startNs,
    ({ b }) => b.endNs,
  );
  const handoffIndex = indexBy(
    c.handoffs,
    (x) => x.readerThreadId,
    (x) => x.readNs,
    (x) => x.readNs,
  );
  const gcIndex = new IntervalIndex(
    c.gcEvidence,
    (g) => g.startNs,
    (g) => g.startNs + g.durationNs,
  );
  const noOffload = { pieces: new Map<string, OffloadPiece[]>(), workers: [] };
  const offload =
    c.runtime === 'node'
      ? await c.degraded.guard({ stage: 'requests', source: 'libuv threadpool' }, noOffload, () =>
          libuvOffload(c, roots, bySpan, children),
        )
      : noOffload;
  const analyzeOne = async (r: SpanRow): Promise<RequestAnalysis> => {
    const kids = descendants(children, r);
    const own = [r, ...kids].flatMap((s) => bySpan.get(s.spanId) ?? []);
    const first = (bySpan.get(r.spanId) ?? [])[0];
    const handlerStart = first && first.startNs > r.startNs ? first.startNs : r.startNs;
    // Arrival: the earliest evidence of this request in the process — its accept (strace fd
    // hand-off to the worker that served it), a log line of its trace on another thread.
    let arrival = r.startNs;
    const traceLogs = logsByTrace.get(r.traceId) ?? [];
    for (const l of traceLogs)
      if (l.timeNs !== null && l.timeNs < arrival && l.timeNs > r.startNs - 10_000_000_000n)
        arrival = l.timeNs;
    // A client span of the caller (the server span's parent) on the same host: when it started.
    const parent = r.parentSpanId ? spanById.get(r.parentSpanId) : undefined;
    if (parent?.kind === 'client' && parent.startNs < arrival && parent.startNs > r.startNs - 10_000_000_000n)
      arrival = parent.startNs;
    if (first) {
      // The connection this request came on: of the connections its thread read after that
      // thread's previous request ended and before this span ended, the one read nearest the
      // span's start (a worker may open the span well after the read — parsing, the GIL — or
      // before it; an event loop reads the requests it interleaves close to their own spans).
      const prevEnd = lastEndBefore(servingEnds.get(first.threadId) ?? [], first.startNs, r.spanId);
      let h: RequestHandoff | undefined;
      const earliest = r.startNs - 10_000_000_000n;
      const candidates =
        handoffIndex
          .get(first.threadId)
          ?.overlapping(prevEnd !== null && prevEnd > earliest ? prevEnd : earliest, r.endNs) ?? [];
      for (const x of candidates)
        if (
          x.readerThreadId === first.threadId &&
          x.readNs <= r.endNs &&
          (prevEnd === null || x.readNs >= prevEnd) &&
          x.readNs >= r.startNs - 10_000_000_000n &&
          (h === undefined || distance(x.readNs, r.startNs) < distance(h.readNs, r.startNs))
        )
          h = x;
      if (h && h.acceptNs < arrival) arrival = h.acceptNs;
    }
    // Pool evidence: every worker of the serving thread's pool bound to another request at arrival.
    let pool: Omit<PoolQueueEvidence, 'waitNs'> | null = null;
    const worker = first ? threadById.get(first.threadId) : undefined;
    const poolName = worker ? c.poolOf(worker) : null;
    if (worker && handlerStart - arrival > 1_000_000n) {
      // The pool's workers: threads of that name pattern that served requests in this capture
      // (a same-named thread that never took a request is not one of its workers).
      const members = c.threads.filter(
        (t) => (poolName ? c.poolOf(t) === poolName : t.id === worker.id) && servingThreads.has(t.id),
      );
      // Busy: bound to another request (an event loop only while not waiting in epoll: it
      // is free even with requests in flight). The gap is the pool's when every worker was
      // busy at arrival, or for most of the wait (a worker that freed up just before the
      // burst arrived took the next request a moment later, and the rest queued behind it).
      // Only the bindings near [arrival, handler start] (and a millisecond after arrival) count below.
      const busyTo = handlerStart > arrival + 1_000_000n ? handlerStart : arrival + 1_000_000n;
      const busyOf = async (m: CorrelationThread): Promise<Interval[]> => {
        const bound = mergeIntervals(
          (servingIndex.get(m.id)?.overlapping(arrival, busyTo) ?? [])
            .filter(({ r: other }) => other.spanId !== r.spanId)
            .map(({ b }) => ({ startNs: b.startNs, endNs: b.endNs })),
        );
        if (c.runtime !== 'node') return bound;
        const working = (await c.reads.segmentsInWindow(m.id, arrival, handlerStart)).filter(
          (s) => s.state !== 'idle',
        );
        return intersectIntervals(bound, mergeIntervals(working));
      };
      const busyLists: Interval[][] = [];
      for (const m of members) busyLists.push(await busyOf(m));
      const atArrival = busyLists.filter((list) =>
        list.some((x) => x.startNs <= arrival + 1_000_000n && x.endNs > arrival),
      ).length;
      const saturated = saturatedNs(busyLists, arrival, handlerStart);
      const busy = { size: saturated * 2n >= handlerStart - arrival ? members.length : atArrival };
      if (busy.size >= members.length) {
        pool = {
          pool: poolName ?? c.names.get(worker.id) ?? `tid ${worker.tid}`,
          size: members.length,
          busy: busy.size,
        };
        if (members.length === 1) {
          // A pool of one (an event loop): name the request whose handler held it.
          const holder = (servingIndex.get(worker.id)?.overlapping(arrival, arrival) ?? []).find(
            ({ b, r: other }) => other.spanId !== r.spanId && b.startNs <= arrival && b.endNs > arrival,
          );
          if (holder) pool = { ...pool, blockingTraceId: holder.r.traceId };
        }
      }
    }
    const threadIds = [...new Set(own.map((b) => b.threadId))];
    const offloaded = offload.pieces.get(r.spanId) ?? [];
    const workerIds = [...new Set(offloaded.flatMap((p) => (p.threadId ? [p.threadId] : [])))];
    const samples = await c.reads.samplesInWindow(
      [...threadIds, ...workerIds.filter((w) => !threadIds.includes(w))],
      arrival,
      r.endNs,
    );
    const frames = await c.reads.stackFrames(samples.flatMap((s) => (s.stackId ? [s.stackId] : [])));
    if (pool?.blockingTraceId && worker) {
      // What the loop ran meanwhile: the leaf frames of its samples before this handler started.
      const counts = new Map<string, number>();
      for (const x of samples) {
        if (x.threadId !== worker.id || x.timeNs >= handlerStart || !x.stackId) continue;
        const leaf = (frames.get(x.stackId) ?? []).find((f) => !f.dso.includes('kernel'));
        if (leaf) {
          const name = frameDisplayName(leaf.symbol, leaf.dso) ?? leaf.symbol;
          counts.set(name, (counts.get(name) ?? 0) + 1);
        }
      }
      const top = [...counts]
        .sort((a, b) => b[1] - a[1])
        .slice(0, 5)
        .map(([f]) => f);
      if (top.length) pool = { ...pool, blockingFrames: top };
    }
    const segments = new Map<string, readonly Segment[]>();
    const holders = new Set<string>();
    // The bound threads' segments in the window; a lock holder's over the stretch those
    // segments cover (the waits the lock chain walks lie inside it).
    let coveredFrom = arrival;
    let coveredTo = r.endNs;
    for (const id of threadIds) {
      const segs = await c.reads.segmentsInWindow(id, arrival, r.endNs);
      segments.set(id, segs);
      for (const s of segs) {
        if (s.state === 'lock' && s.wakerThreadId) holders.add(s.wakerThreadId);
        if (s.startNs < coveredFrom) coveredFrom = s.startNs;
        if (s.endNs > coveredTo) coveredTo = s.endNs;
      }
    }
    for (const h of holders)
      if (!segments.has(h)) segments.set(h, await c.reads.segmentsInWindow(h, coveredFrom, coveredTo));
    for (const w of workerIds)
      if (!segments.has(w)) segments.set(w, await c.reads.segmentsInWindow(w, arrival, r.endNs));
    return analyzeRequest({
      ...requestIdentity(r),
      arrivalNs: arrival,
      serverStartNs: handlerStart,
      endNs: r.endNs,
      bindings: own.map((b) => ({ threadId: b.threadId, startNs: b.startNs, endNs: b.endNs })),
      segments,
      clientSpans: kids
        .filter((k) => k.kind === 'client')
        .map((k) => ({ startNs: k.startNs, endNs: k.endNs, peer: peerOf(k) })),
      gcPauses: gcIndex
        .overlapping(arrival, r.endNs)
        .filter((g) => g.startNs < r.endNs && g.startNs + g.durationNs > arrival),
      pool,
      samples: samples.map((s) => ({
        threadId: s.threadId,
        timeNs: s.timeNs,
        frames: (s.stackId ? (frames.get(s.stackId) ?? []) : []).map(
          (f) => frameDisplayName(f.symbol, f.dso) ?? f.symbol,
        ),
      })),
      samplePeriodNs: c.samplePeriodNs,
      threadNames: c.names,
      offload: offloaded,
      offloadPool: offload.workers.length ? { pool: 'libuv threadpool', size: offload.workers.length } : null,
    });
  };
  const out: RequestAnalysis[] = [];
  for (const r of roots) {
    try {
      out.push(await analyzeOne(r));
    } catch (e) {
      // One request's odd data costs its breakdown (all unknown), not the other requests'.
      if (isInfrastructureError(e)) throw e;
      c.degraded.add(
        { stage: 'requests' },
        `request ${r.traceId} span ${r.spanId} (${r.name}): ${errorMessage(e)}; its wall time is left unknown`,
      );
      out.push(unknownAnalysis(r));
    }
  }
  return out;
}

/**
 * The latest end, at or before `atNs`, of a thread's bindings sorted by end, other than span
 * `spanId`'s own: when the thread's previous request ended.
 */
function lastEndBefore(byEnd: readonly SpanBinding[], atNs: bigint, spanId: string): bigint | null {
  let a = 0;
  let b = byEnd.length;
  while (a < b) {
    const m = (a + b) >> 1;
    if ((byEnd[m]?.endNs ?? 0n) <= atNs) a = m + 1;
    else b = m;
  }
  for (let i = a - 1; i >= 0; i--) {
    const x = byEnd[i];
    if (x && x.spanId !== spanId) return x.endNs;
  }
  return null;
}
