import { analyzeRequests, requestSpans, unknownAnalysis, type RequestContext } from '@threadreel/analysis';
import {
  appendAll,
  DegradedParts,
  pushTo,
  type CaptureManifest,
  type CorrelationThread,
  type DegradedPart,
  type FileOffsets,
  type GcEvidence,
  type SpanRow,
} from '@threadreel/model';
import { alignClocks, placeGcClocks, StraceClockCheck, type ClockSummary, type Clocks } from './align.js';
import { bindSpans, type BindLog, type BindSpan, type BindThread, type FdHandoff } from './bindings.js';
import { futexPairer } from './futex.js';
import { PortClock, timed } from './port-timing.js';
import type { CaptureSource, CorrelationSink } from './ports.js';
import { SegmentStage } from './thread-segments.js';
import { bestName, inferRuntime, poolName } from './threads.js';

/**
 * Correlation as a pipeline (ARCHITECTURE.md): clocks → threads → segments and wakeups, one
 * thread at a time, each written as soon as it is built → span bindings → per-request
 * breakdowns (libs/analysis), each reading only its window. Reads through `source`, writes
 * through `sink`; pure otherwise. One odd part (a thread, a source, a request) degrades,
 * recorded with why, and the rest goes on; errors of the store itself are rethrown.
 */

export interface CorrelationSummary {
  threads: number;
  segments: number;
  wakeups: number;
  bindings: number;
  requests: number;
  clocks: ClockSummary;
  /** What degraded on the way (a thread, a source, a stage), each with why; the rest went through. */
  degraded: DegradedPart[];
}

export interface CorrelateOptions {
  manifest: CaptureManifest | null;
  log: (m: string) => void;
}

/** The capture's threads, what runtime they run and the pools they form. */
interface ThreadStage {
  threads: CorrelationThread[];
  byTid: Map<number, CorrelationThread>;
  names: Map<string, string>;
  runtime: string | null;
  poolOf: (t: CorrelationThread) => string | null;
}

async function threadStage(
  source: CaptureSource,
  clocks: Clocks,
  manifest: CaptureManifest | null,
  degraded: DegradedParts,
  log: (m: string) => void,
): Promise<ThreadStage> {
  const threads = await source.threads(manifest?.target?.pid ?? null);
  const inferred = manifest?.target?.runtime ? null : inferRuntime(clocks.parsedFormats, threads);
  const runtime = manifest?.target?.runtime ?? inferred?.runtime ?? null;
  if (inferred) log(`runtime: ${inferred.runtime ?? 'unknown'} (${inferred.evidence})`);
  for (const t of threads)
    if (t.names.length === 0)
      degraded.add(
        { stage: 'threads', thread: { id: t.id, tid: t.tid } },
        'no source names it (no perf comm, thread map, jstack or JFR entry): known by its tid only',
      );
  // Pools: numbered names shared by two or more threads.
  const poolCount = new Map<string, number>();
  for (const t of threads) {
    const p = poolName(bestName(t));
    if (p) poolCount.set(p, (poolCount.get(p) ?? 0) + 1);
  }
  const poolOf = (t: CorrelationThread): string | null => {
    const p = poolName(bestName(t));
    return p && (poolCount.get(p) ?? 0) >= 2 ? p : null;
  };
  return {
    threads,
    byTid: new Map(threads.map((t) => [t.tid, t])),
    names: new Map(threads.map((t) => [t.id, bestName(t)])),
    runtime,
    poolOf,
  };
}

export async function correlate(
  capture: CaptureSource,
  output: CorrelationSink,
  { manifest, log }: CorrelateOptions,
): Promise<CorrelationSummary> {
  // Where the time goes (store reads, store writes, the pipeline itself), logged at the end.
  const clock = new PortClock();
  const source = timed(capture, 'source', clock);
  const sink = timed(output, 'sink', clock);
  const degraded = new DegradedParts(log);
  const clocks = await alignClocks(source, sink, manifest, log);
  const { offsets, samplePeriodNs } = clocks;
  const th = await threadStage(source, clocks, manifest, degraded, log);
  const { threads, byTid, runtime } = th;
  await placeGcClocks(source, sink, clocks, manifest, degraded, log);
  const pauses = await source.pauses(clocks.gcOffsets);
  clock.mark('clocks+threads');
  const gcEvidence: GcEvidence[] = pauses.map((p) => ({
    phase: p.phase,
    startNs: p.startNs,
    durationNs: p.endNs - p.startNs,
    gcId: p.gcId,
  }));
  let segmentCount = 0;
  let wakeupCount = 0;
  try {
    const straceCheck = new StraceClockCheck();
    const stage = new SegmentStage({
      source,
      offsets,
      byTid,
      pauses,
      runtime,
      samplePeriodNs,
      straceCheck,
      degraded,
    });
    // Futex pairs: a lock wait with no recorded wakeup was ended by the FUTEX_WAKE on its
    // address that another thread made last before the wait returned: that thread held it.
    const pairFutexes = futexPairer(await source.futexWakes(offsets.strace), (tid) => byTid.get(tid)?.id);
    for (const t of threads) {
      const built = await stage.build(t);
      if (!built) continue;
      await sink.threadInfo(t.id, th.poolOf(t), built.quality);
      const wakeups = built.wakeups;
      appendAll(
        wakeups,
        await degraded.guard({ stage: 'wakeups', source: 'strace' }, [], () =>
          pairFutexes(t.id, built.segments),
        ),
      );
      await sink.threadSegments(t.id, built.segments, wakeups);
      segmentCount += built.segments.length;
      wakeupCount += wakeups.length;
      // The replay's views of the thread: one that cannot be built is left out, not half written.
      await degraded.guard({ stage: 'lanes', thread: { id: t.id, tid: t.tid } }, undefined, () =>
        sink.threadViews(t.id, built.segments),
      );
    }
    await degraded.guard({ stage: 'clocks', source: 'strace' }, undefined, () =>
      straceCheck.finish(sink, clocks.files, degraded, log),
    );
    clock.mark('segments');

    // Bindings.
    const spans = await source.spans();
    const logs = await source.tracedLogs();
    const bindThreads: BindThread[] = threads.map((t) => ({
      threadId: t.id,
      pid: t.pid,
      tid: t.tid,
      names: t.names,
      javaIds: t.javaIds,
    }));
    const handoffs = await degraded.guard({ stage: 'bindings', source: 'strace' }, [], () =>
      fdHandoffs(source, offsets.strace, byTid),
    );
    const bindLogs: BindLog[] = logs.map((l) => ({
      timeNs: l.timeNs,
      tid: l.tid,
      threadName: l.threadName,
      traceIds: l.traceIds,
      spanId: l.spanId,
    }));
    const bindings = await degraded.guard({ stage: 'bindings' }, [], () =>
      bindSpans(spans.map(toBindSpan), bindThreads, bindLogs, { runtime, handoffs }),
    );
    await sink.bindings(bindings);
    clock.mark('bindings');

    // Requests: each one's breakdown, or (when its analysis cannot be made) its whole wall
    // time as unknown, so that every request keeps a row whose breakdown sums to its duration.
    const context: RequestContext = {
      reads: {
        segmentsInWindow: (threadId, fromNs, toNs) => sink.segmentsInWindow(threadId, fromNs, toNs),
        samplesInWindow: (threadIds, fromNs, toNs) =>
          source.samplesInWindow(threadIds, fromNs, toNs, offsets.perf),
        stackFrames: (ids) => source.stackFrames(ids),
        threadStacks: (ids) => source.threadStacks(ids),
      },
      spans,
      bindings,
      logs: bindLogs,
      handoffs,
      threads,
      names: th.names,
      poolOf: th.poolOf,
      gcEvidence,
      samplePeriodNs,
      runtime,
      degraded,
    };
    const requests =
      (await degraded.guard({ stage: 'requests' }, null, () => analyzeRequests(context))) ??
      requestSpans(spans).map(unknownAnalysis);
    clock.mark('requests');
    await sink.commit(requests);
    clock.mark('commit');
    log(
      `correlated: ${threads.length} threads, ${segmentCount} segments, ${wakeupCount} wakeups, ${bindings.length} bindings, ${requests.length} requests${degraded.size ? `, ${degraded.size} degraded parts` : ''}`,
    );
    log(`correlation time: ${clock.summary()}`);
    return {
      threads: threads.length,
      segments: segmentCount,
      wakeups: wakeupCount,
      bindings: bindings.length,
      requests: requests.length,
      clocks: clocks.summary,
      degraded: degraded.list(),
    };
  } catch (e) {
    await sink.rollback().catch(() => undefined);
    throw e;
  }
}

function toBindSpan(s: SpanRow): BindSpan {
  const a = s.attributes;
  const tid = a['thread.id'];
  const pid = a['process.pid'];
  return {
    traceId: s.traceId,
    spanId: s.spanId,
    parentSpanId: s.parentSpanId,
    kind: s.kind,
    startNs: s.startNs,
    endNs: s.endNs,
    pid: typeof pid === 'number' ? pid : typeof pid === 'string' && /^\d+$/.test(pid) ? Number(pid) : null,
    threadAttr: typeof tid === 'number' || typeof tid === 'string' ? String(tid) : null,
    threadName: typeof a['thread.name'] === 'string' ? a['thread.name'] : null,
  };
}

/** strace accept → first read of the same connection on another thread. */
async function fdHandoffs(
  source: CaptureSource,
  offsets: FileOffsets,
  byTid: ReadonlyMap<number, CorrelationThread>,
): Promise<FdHandoff[]> {
  const accepts = await source.accepts(offsets);
  if (!accepts.length) return [];
  const reads = await source.firstReads(offsets);
  const readsByPeer = new Map<string, typeof reads>();
  for (const r of reads) pushTo(readsByPeer, r.peer, r);
  const out: FdHandoff[] = [];
  for (const a of accepts) {
    const acceptor = byTid.get(a.tid);
    if (!acceptor) continue;
    // Reads by the acceptor itself (a server without a pool) hand nothing off but still date the arrival.
    const first = (readsByPeer.get(a.peer) ?? [])
      .filter((r) => r.timeNs >= a.timeNs)
      .sort((x, y) => (x.timeNs < y.timeNs ? -1 : 1))[0];
    const reader = first ? byTid.get(first.tid) : undefined;
    if (!first || !reader) continue;
    out.push({
      acceptNs: a.timeNs,
      acceptorThreadId: acceptor.id,
      readerThreadId: reader.id,
      readNs: first.timeNs,
      fd: 0,
      peer: a.peer,
    });
  }
  return out;
}
