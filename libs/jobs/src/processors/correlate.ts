import { analyzeRequest, frameDisplayName, samplingPeriodNs, type RequestInput } from '@threadreel/analysis';
import {
  alignClock,
  alignNearPrior,
  alignToMarkers,
  bindSpans,
  buildSegments,
  inferOffsetFromSwitches,
  inferRuntime,
  type ClockAlignment,
  type ClockEvidenceInterval,
  type ClockEvidenceMarker,
  classifyStack,
  estimateResidual,
  isMutator,
  LaneTileBuilder,
  lodBuckets,
  pairFutexes,
  poolName,
  intersectIntervals,
  mergeIntervals,
  replayPool,
  saturatedNs,
  subtractIntervals,
  type Interval,
  type OffloadPiece,
  type BindLog,
  type BindSpan,
  type BindThread,
  type ClockPair,
  type FdHandoff,
  type LaneTile,
  type LodBucket,
  type StackVerdict,
  type ThreadInput,
} from '@threadreel/correlate';
import {
  appendAll,
  pushTo,
  type CaptureManifest,
  type CorrelationThread,
  type FileOffsets,
  type SpanRow,
  type DegradedPart,
  type GcEvidence,
  type PoolQueueEvidence,
  type RequestAnalysis,
  type Segment,
  type SpanBinding,
  type Wakeup,
} from '@threadreel/model';
import type { CorrelationStore } from '@threadreel/store';
import { DegradedParts, errorMessage, isInfrastructureError } from './degraded.js';

/**
 * The correlate step of a capture: clocks → threads → segments and wakeups → span
 * bindings → per-request breakdowns, all stored so that listing and replay only read.
 * Pure decisions live in libs/correlate and libs/analysis; this module moves rows.
 */

const SAMPLING_FORMATS = new Set(['perf-script']);
const SYSCALL_FORMATS = new Set(['strace']);
const RUNTIME_FORMATS = new Set(['jfr-json']);

export interface CorrelationSummary {
  threads: number;
  segments: number;
  wakeups: number;
  bindings: number;
  requests: number;
  clocks: { file: string; clock: string | null; offsetNs: string | null; method: string }[];
  /** What degraded on the way (a thread, a source, a stage), each with why; the rest went through. */
  degraded: DegradedPart[];
}

interface FileClock {
  id: string;
  ordinal: number;
  name: string;
  format: string | null;
  offset: bigint | null;
}

function distance(a: bigint, b: bigint): bigint {
  return a > b ? a - b : b - a;
}
function min(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}
function max(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}

function manifestPairs(m: CaptureManifest | null): ClockPair[] {
  return (m?.clocks ?? []).map((c) => ({
    at: c.at,
    monotonicNs: BigInt(c.monotonicNs),
    realtimeNs: BigInt(c.realtimeNs),
    uncertaintyNs: c.uncertaintyNs === undefined ? null : BigInt(c.uncertaintyNs),
  }));
}

const GC_FORMATS = new Set(['jvm-unified', 'node-trace-gc', 'go-gctrace', 'python-gc-jsonl']);

type ParsedFile = Awaited<ReturnType<CorrelationStore['files']>>[number];

interface Placement {
  offsetNs: bigint | null;
  method: string;
  evidence: Record<string, unknown>;
}

function placementOf(a: ClockAlignment | null): Placement {
  if (a === null)
    return { offsetNs: null, method: 'no clock: not placed on the time axis', evidence: { confidence: 0 } };
  return {
    offsetNs: a.offsetNs,
    method: a.method,
    evidence: {
      ...a.evidence,
      confidence: a.confidence,
      ...(a.spreadNs != null ? { spreadNs: a.spreadNs.toString() } : {}),
    },
  };
}

/**
 * A perf file's place on the epoch axis when no manifest pair states it for its clock: perf's
 * own reference pair (`perf record -k` stores one; `perf script --header` and
 * `perf report --header-only` print it), else the moments strace (or JFR) saw on the same
 * threads, matched to perf's switch-outs (libs/correlate clock-evidence). Each failed method
 * says why, so an unplaced file explains itself.
 */
async function placePerfByEvidence(
  store: CorrelationStore,
  captureId: string,
  f: ParsedFile,
  placed: readonly FileClock[],
  manifestAlignment: ClockAlignment | null,
  headerFiles: readonly ParsedFile[],
  log: (m: string) => void,
): Promise<Placement> {
  const own = perfReference(f.headers);
  const sibling = own ? null : perfHeaderFor(f, headerFiles);
  const ref = own ?? (sibling ? perfReference(sibling.headers) : null);
  if (ref)
    return {
      offsetNs: ref.offsetNs,
      method: `perf's own reference time (${ref.clockid ?? 'its -k clock'} ↔ wall clock, from ${
        sibling ? `the header file ${sibling.name}` : 'its header'
      })`,
      evidence: { confidence: 0.95, ...ref.evidence, ...(sibling ? { headerFile: sibling.name } : {}) },
    };
  const tried: string[] = [];
  const sources: { format: string; source: 'strace' | 'runtime'; name: string }[] = [
    { format: 'strace', source: 'strace', name: 'strace' },
    { format: 'jfr-json', source: 'runtime', name: 'JFR' },
  ];
  for (const s of sources) {
    const offsets = offsetsOf(placed, new Set([s.format]));
    if (!offsets.size) continue;
    const { switchOuts, moments, perfHasSwitches } = await store.clockEvidence(
      captureId,
      f.ordinal,
      s.source,
      offsets,
    );
    if (!switchOuts.size) {
      const reason = perfHasSwitches
        ? `perf and ${s.name} share no thread id: they saw no moment in common`
        : 'perf has no sched_switch events to match against';
      log(`perf clock of ${f.name} from ${s.name}: ${reason}`);
      tried.push(`${s.name}: ${reason}`);
      continue;
    }
    const markers: ClockEvidenceMarker[] = [];
    const intervals: ClockEvidenceInterval[] = [];
    for (const m of moments) {
      markers.push({ tid: m.tid, atNs: m.startNs });
      if (m.durationNs !== null) {
        if (s.source === 'strace') markers.push({ tid: m.tid, atNs: m.startNs + m.durationNs });
        intervals.push({ tid: m.tid, startNs: m.startNs, durationNs: m.durationNs });
      }
    }
    const threads = [...switchOuts].map(([tid, outs]) => ({ tid, switchOuts: outs }));
    const r = inferOffsetFromSwitches(threads, markers, intervals, s.name);
    log(`perf clock of ${f.name} from ${s.name}: ${r.placed ? `offset ${r.offsetNs}` : r.reason}`);
    if (r.placed) {
      const agrees =
        manifestAlignment?.offsetNs != null
          ? { assumedMonotonicDiffNs: (r.offsetNs - manifestAlignment.offsetNs).toString() }
          : {};
      return {
        offsetNs: r.offsetNs,
        method:
          s.source === 'strace'
            ? 'inferred: strace’s syscall stops matched to perf’s sched_switch on the same threads'
            : 'inferred: JFR park/monitor events matched to perf’s sched_switch on the same threads',
        evidence: {
          ...r.evidence,
          ...agrees,
          confidence: r.confidence,
          matched: r.matched,
          spreadNs: r.spreadNs.toString(),
        },
      };
    }
    tried.push(`${s.name}: ${r.reason}`);
  }
  if (manifestAlignment?.offsetNs != null)
    return {
      ...placementOf(manifestAlignment),
      evidence: { ...placementOf(manifestAlignment).evidence, evidenceTried: tried },
    };
  return {
    offsetNs: null,
    method: `not placed: ${f.clock ?? 'its'} clock has no clock pair, perf printed no reference time${
      tried.length ? `, and ${tried.join('; ')}` : ', and no strace or JFR of the same threads to match'
    }`,
    evidence: { confidence: 0, tried },
  };
}

/**
 * The `perf report --header-only` file uploaded beside a perf script that printed no header
 * of its own: the one recorded with the same command line, else the only one with a pair.
 */
function perfHeaderFor(f: ParsedFile, headerFiles: readonly ParsedFile[]): ParsedFile | null {
  const withPair = headerFiles.filter((h) => perfReference(h.headers) !== null);
  const cmdline = f.headers.cmdline;
  if (cmdline) {
    const same = withPair.filter((h) => h.headers.cmdline === cmdline);
    if (same.length === 1) return same[0] ?? null;
  }
  return withPair.length === 1 ? (withPair[0] ?? null) : null;
}

/** perf's reference pair from its header items (`perf record -k CLOCK`), as an offset to the epoch. */
function perfReference(
  headers: Readonly<Record<string, string>>,
): { offsetNs: bigint; clockid: string | null; evidence: Record<string, string> } | null {
  const tod = headers.clockRefTodNs;
  const clk = headers.clockRefClockNs;
  if (!tod || !clk || !/^\d+$/.test(tod) || !/^\d+$/.test(clk)) return null;
  return {
    offsetNs: BigInt(tod) - BigInt(clk),
    clockid: headers.clockid ?? null,
    evidence: {
      clockRefTodNs: tod,
      clockRefClockNs: clk,
      ...(headers.clockid ? { clockid: headers.clockid } : {}),
    },
  };
}

/** Clock offsets of every parsed file (and of each clock inside GC logs), recorded with their evidence. */
async function alignClocks(
  store: CorrelationStore,
  captureId: string,
  manifest: CaptureManifest | null,
  log: (m: string) => void,
): Promise<{
  files: FileClock[];
  gcOffsets: Map<string, bigint>;
  summary: CorrelationSummary['clocks'];
  samplePeriodNs: bigint | null;
  unanchored: { id: string; ordinal: number; clock: string; format: string }[];
  monotonicOffsetNs: bigint | null;
  /** The formats of the parsed files (what runtime wrote them). */
  parsedFormats: (string | null)[];
}> {
  const pairs = manifestPairs(manifest);
  // The instant at which a time zone's offset is taken (DST): a pair, else the recording date.
  const recordedMs = manifest?.recordedAt ? Date.parse(manifest.recordedAt) : NaN;
  const around =
    pairs[0]?.realtimeNs ?? (Number.isFinite(recordedMs) ? BigInt(recordedMs) * 1_000_000n : null);
  const ctx = { pairs, timeZone: manifest?.timeZone ?? null, aroundNs: around };
  const files: FileClock[] = [];
  const gcOffsets = new Map<string, bigint>();
  const summary: CorrelationSummary['clocks'] = [];
  let samplePeriodNs: bigint | null = null;
  const unanchored: { id: string; ordinal: number; clock: string; format: string }[] = [];
  const parsed = (await store.files(captureId)).filter((f) => f.state === 'parsed');
  const record = async (f: ParsedFile, clock: string | null, p: Placement) => {
    files.push({ id: f.id, ordinal: f.ordinal, name: f.name, format: f.format, offset: p.offsetNs });
    await store.recordClock(f.id, p.offsetNs, p.method, p.evidence);
    summary.push({ file: f.name, clock, offsetNs: p.offsetNs?.toString() ?? null, method: p.method });
  };
  // Files with one clock, the sources evidence is read from first; then perf.
  const perfFiles: ParsedFile[] = [];
  const monotonicFiles: ParsedFile[] = [];
  for (const f of parsed) {
    if (f.format !== null && GC_FORMATS.has(f.format)) continue;
    if (f.format === 'perf-script') {
      samplePeriodNs ??= samplingPeriodNs(f.headers.cmdline);
      perfFiles.push(f);
      continue;
    }
    const clock = f.clock ?? (f.format === 'strace' || f.format === 'logs' ? 'realtime' : null);
    const a = clock === null ? null : alignClock(clock, ctx);
    // A monotonic source with no pair may still be placed through perf (below).
    if (clock === 'monotonic' && a?.offsetNs === null) monotonicFiles.push(f);
    else await record(f, clock, placementOf(a));
  }
  let monotonicOffsetNs = alignClock('monotonic', ctx).offsetNs;
  const headerFiles = parsed.filter((h) => h.format === 'perf-header');
  for (const f of perfFiles) {
    // The clock perf used: its own header's, else that of the header file uploaded beside it.
    const clock =
      f.clock !== null && f.clock !== 'perf-default'
        ? f.clock
        : (perfHeaderFor(f, headerFiles)?.headers.clockid ?? f.clock);
    const a = clock === null ? null : alignClock(clock, ctx);
    // A manifest pair for the very clock perf used is exact; anything else needs evidence.
    const exact = a !== null && a.offsetNs !== null && a.confidence >= 1;
    const p = exact
      ? placementOf(a)
      : await placePerfByEvidence(store, captureId, f, files, a, headerFiles, log);
    await record(f, clock, p);
    // perf timed in CLOCK_MONOTONIC and placed: the capture's monotonic↔epoch offset, for the
    // sources that print monotonic times (GC logs from a runtime's monotonic clock).
    if (monotonicOffsetNs === null && p.offsetNs !== null && clock === 'monotonic')
      monotonicOffsetNs = p.offsetNs;
  }
  const afterPerfCtx =
    pairs.length === 0 && monotonicOffsetNs !== null
      ? {
          ...ctx,
          pairs: [
            {
              at: 'perf (CLOCK_MONOTONIC) placed on the epoch axis',
              monotonicNs: 0n,
              realtimeNs: monotonicOffsetNs,
              uncertaintyNs: null,
            },
          ],
        }
      : ctx;
  for (const f of monotonicFiles) {
    const a = alignClock('monotonic', afterPerfCtx);
    await record(
      f,
      'monotonic',
      a.offsetNs === null
        ? placementOf(a)
        : {
            ...placementOf(a),
            method: 'CLOCK_MONOTONIC: the offset of perf, which timed its events in CLOCK_MONOTONIC',
          },
    );
  }
  for (const f of parsed) {
    if (f.format === null || !GC_FORMATS.has(f.format)) continue;
    // GC logs carry their clock per row.
    const parts: string[] = [];
    let first: ClockAlignment | null = null;
    for (const clock of await store.rowClocks(captureId, f.ordinal)) {
      const a = alignClock(clock, afterPerfCtx);
      first ??= a;
      if (a.offsetNs !== null) gcOffsets.set(`${f.ordinal}:${clock}`, a.offsetNs);
      else unanchored.push({ id: f.id, ordinal: f.ordinal, clock, format: f.format });
      parts.push(`${clock}: ${a.method}`);
    }
    await store.recordClock(f.id, first?.offsetNs ?? null, parts.join('; ') || 'no events', {
      perClock: parts,
    });
    summary.push({
      file: f.name,
      clock: f.clock,
      offsetNs: first?.offsetNs?.toString() ?? null,
      method: parts.join('; '),
    });
  }
  log(`clocks: ${summary.map((s) => `${s.file}=${s.offsetNs ?? 'n/a'}`).join(', ')}`);
  return {
    files,
    gcOffsets,
    summary,
    samplePeriodNs,
    unanchored,
    monotonicOffsetNs,
    parsedFormats: parsed.map((f) => f.format),
  };
}

function offsetsOf(files: readonly FileClock[], formats: ReadonlySet<string>): Map<number, bigint> {
  const m = new Map<number, bigint>();
  for (const f of files)
    if (f.format !== null && formats.has(f.format) && f.offset !== null) m.set(f.ordinal, f.offset);
  return m;
}

/** Frames that run only inside a collection, per runtime GC log format (PostgreSQL regex). */
const GC_CODE: Readonly<Record<string, string>> = {
  'node-trace-gc':
    '^v8::internal::(Scavenger|ScavengerCollector|MarkCompactCollector|Heap::CollectGarbage|Heap::PerformGarbageCollection|MinorMarkCompactCollector)',
  'go-gctrace': '^runtime\\.(gcStart|gcMarkTermination|stopTheWorldWithSema|gcMarkDone)',
  // HotSpot's stop-the-world collections, run by the VM thread inside the safepoint: G1
  // young/mixed and full, Parallel scavenge and full, Serial (JDK 17 and 21 names).
  'jvm-unified':
    '^(G1CollectedHeap::do_collection_pause_at_safepoint|G1FullCollector::collect|PSScavenge::invoke|PSParallelCompact::invoke|GenCollectedHeap::do_collection|SerialHeap::do_collection|VM_G1CollectForAllocation::doit|G1CollectForAllocation::doit)',
};

/**
 * GC logs timed from process start (Node `--trace-gc`, Go gctrace) carry no anchor to epoch
 * time. Their pauses are placed where perf saw threads inside GC code: the offset that puts
 * the most such samples inside a pause, applied only when it clearly beats every other offset.
 */
async function anchorGcClocks(
  store: CorrelationStore,
  captureId: string,
  unanchored: readonly { id: string; ordinal: number; clock: string; format: string }[],
  perfOffsets: FileOffsets,
  gcOffsets: Map<string, bigint>,
  processStartNs: bigint | null,
  log: (m: string) => void,
): Promise<void> {
  for (const u of unanchored) {
    const pattern = GC_CODE[u.format];
    if (!pattern || (u.clock !== 'process-start' && u.clock !== 'uptime')) continue;
    const [pauses, markers] = await Promise.all([
      store.rawPauses(captureId, u.ordinal, u.clock),
      store.markerTimes(captureId, perfOffsets, pattern),
    ]);
    // The recorded process start bounds where the runtime's clock can begin: from one tick
    // (10 ms) before it to a second after (the runtime initialises after exec).
    const within =
      processStartNs === null
        ? undefined
        : { fromNs: processStartNs - 10_000_000n, toNs: processStartNs + 1_000_000_000n };
    const near = within ? alignNearPrior(pauses, markers, within) : null;
    const global = near?.strong ? null : alignToMarkers(pauses, markers);
    const a = near?.strong ? near : global;
    const evidence = {
      pauses: pauses.length,
      gcSamples: markers.length,
      ...(global
        ? { matched: global.matched, markersUsed: global.markers, bestDistantAlternative: global.runnerUp }
        : {}),
      ...(near && processStartNs !== null
        ? {
            processStartNs: processStartNs.toString(),
            pausesHitNearStart: near.hits,
            bestDistantAlternativeNearStart: near.runnerUp,
          }
        : {}),
    };
    if (a?.strong) {
      gcOffsets.set(`${u.ordinal}:${u.clock}`, a.offsetNs);
      await store.recordClock(
        u.id,
        a.offsetNs,
        near?.strong
          ? 'process start (manifest) refined by perf samples inside GC code'
          : 'process start placed by perf samples inside GC code',
        evidence,
      );
      log(`gc clock of file ${u.ordinal}: offset ${a.offsetNs} (${JSON.stringify(evidence)})`);
    } else {
      await store.recordClock(u.id, null, 'time since process start: no anchor strong enough', evidence);
    }
  }
}

/**
 * Checks strace against sched_switch: a blocking syscall's entry should sit just before the
 * thread leaves the CPU. Returns the residual (sched − strace) over the matched calls.
 */
function straceResidual(
  schedOut: readonly bigint[],
  calls: readonly { startNs: bigint; endNs: bigint }[],
): bigint[] {
  const diffs: bigint[] = [];
  let j = 0;
  for (const c of calls) {
    if (c.endNs - c.startNs < 1_000_000n) continue;
    while (j < schedOut.length && (schedOut[j] ?? 0n) < c.startNs - 2_000_000n) j++;
    const t = schedOut[j];
    if (t !== undefined && t <= c.startNs + 2_000_000n) diffs.push(t - c.startNs);
  }
  return diffs;
}

export async function correlateCapture(
  store: CorrelationStore,
  captureId: string,
  manifest: CaptureManifest | null,
  log: (m: string) => void,
): Promise<CorrelationSummary> {
  const degraded = new DegradedParts(log);
  const {
    files,
    gcOffsets,
    summary: clocks,
    samplePeriodNs,
    unanchored,
    monotonicOffsetNs,
    parsedFormats,
  } = await alignClocks(store, captureId, manifest, log);
  const perfOffsets: FileOffsets = offsetsOf(files, SAMPLING_FORMATS);
  const straceOffsets = offsetsOf(files, SYSCALL_FORMATS);
  const runtimeOffsets: FileOffsets = offsetsOf(files, RUNTIME_FORMATS);
  const threads = await store.resolveThreads(captureId, manifest?.target?.pid ?? null);
  const inferred = manifest?.target?.runtime ? null : inferRuntime(parsedFormats, threads);
  const runtime = manifest?.target?.runtime ?? inferred?.runtime ?? null;
  if (inferred) log(`runtime: ${inferred.runtime ?? 'unknown'} (${inferred.evidence})`);
  const byTid = new Map(threads.map((t) => [t.tid, t]));
  const names = new Map(threads.map((t) => [t.id, bestName(t)]));
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

  const monotonic = monotonicOffsetNs;
  const bootStart = manifest?.target?.startBoottimeNs;
  const processStartNs = bootStart !== undefined && monotonic !== null ? BigInt(bootStart) + monotonic : null;
  await degraded.guard({ stage: 'clocks' }, undefined, () =>
    anchorGcClocks(store, captureId, unanchored, perfOffsets, gcOffsets, processStartNs, log),
  );
  await unplacedSources(store, captureId, files, clocks, unanchored, gcOffsets, degraded);
  const pauses = await store.pauses(captureId, gcOffsets);
  const gcEvidence: GcEvidence[] = pauses.map((p) => ({
    phase: p.phase,
    startNs: p.startNs,
    durationNs: p.endNs - p.startNs,
    gcId: p.gcId,
  }));

  const writer = await store.openWriter(captureId);
  const segmentsByThread = new Map<string, Segment[]>();
  const allWakeups: Wakeup[] = [];
  let segmentCount = 0;
  let wakeupCount = 0;
  const residualDiffs: bigint[] = [];
  // Blocking strace calls (≥ 1 ms) of threads perf saw switch: nearly all meet a
  // switch-out within 2 ms (99–100 % in the fixtures); with strace's clock off, almost none do.
  let blockingCalls = 0;
  let blockingOutside = 0;
  try {
    const verdicts = new Map<string, StackVerdict | null>();
    const threadById = new Map(threads.map((t) => [t.id, t]));
    const threadRef = (t: CorrelationThread) => ({ id: t.id, tid: t.tid });
    for (const t of threads) {
      // One thread's odd data (or a bug it trips) costs that thread's segments, not the capture's.
      const built = await degraded.guard({ stage: 'segments', thread: threadRef(t) }, null, async () => {
        const [sched, calls, rt, samples, cpuClock] = await Promise.all([
          store.sched(captureId, t.tid, perfOffsets),
          store.syscalls(captureId, t.tid, straceOffsets),
          store.runtimeEvents(captureId, t.tid, runtimeOffsets),
          store.sampleTimes(captureId, t.id, perfOffsets),
          store.cpuClockSamples(captureId, t.id, perfOffsets),
        ]);
        const outs = sched.filter((s) => s.kind === 'out').map((s) => s.timeNs);
        const firstOut = outs[0];
        const lastOut = outs[outs.length - 1];
        if (residualDiffs.length < 5000 && firstOut !== undefined && lastOut !== undefined) {
          appendAll(residualDiffs, straceResidual(outs, calls));
          for (const c of calls) {
            if (c.endNs - c.startNs < 1_000_000n) continue;
            blockingCalls++;
            if (c.startNs < firstOut - 2_000_000n || c.startNs > lastOut + 2_000_000n) blockingOutside++;
          }
        }
        const overlapping = overlappingCalls(calls);
        if (overlapping > 2 && overlapping * 100 > calls.length)
          degraded.add(
            { stage: 'threads', source: 'strace', thread: threadRef(t) },
            `${overlapping} of ${calls.length} syscalls start before the previous one of the same tid ended: two threads under one tid (a reused tid?); its segments mix them`,
          );
        const stackIds = sched.flatMap((s) =>
          s.kind === 'out' && s.stackId && !verdicts.has(s.stackId) ? [s.stackId] : [],
        );
        for (const [id, frames] of await store.stackFrames(captureId, stackIds))
          verdicts.set(id, classifyStack(frames));
        let lo: bigint | null = null;
        let hi: bigint | null = null;
        const see = (a: bigint, b: bigint = a) => {
          lo = lo === null ? a : min(lo, a);
          hi = hi === null ? b : max(hi, b);
        };
        for (const s of sched) see(s.timeNs);
        for (const c of calls) see(c.startNs, c.endNs);
        for (const r of rt) see(r.startNs, r.endNs);
        for (const s of samples) see(s);
        if (lo === null || hi === null) return null;
        const input: ThreadInput = {
          threadId: t.id,
          lifeStartNs: lo,
          lifeEndNs: (hi as bigint) + 1n,
          sched: sched.map((s) => ({
            timeNs: s.timeNs,
            kind: s.kind,
            ...(s.prevState !== null ? { prevState: s.prevState } : {}),
            ...(s.kind === 'out' && s.stackId !== null ? { stackId: s.stackId } : {}),
            ...(s.kind === 'wakeup'
              ? {
                  wakerThreadId: s.otherTid !== null ? (byTid.get(s.otherTid)?.id ?? null) : null,
                  ...(s.stackId !== null ? { wakerStackId: s.stackId } : {}),
                }
              : {}),
          })),
          syscalls: calls.map((c) => ({
            startNs: c.startNs,
            endNs: c.endNs,
            name: c.name,
            category: c.category as ThreadInput['syscalls'][number]['category'],
            ...(c.target !== null ? { target: c.target } : {}),
            ...(c.fdKind !== null ? { fdKind: c.fdKind } : {}),
            ...(c.futexAddr !== null ? { futexAddr: c.futexAddr } : {}),
            ...(c.futexOp !== null ? { futexOp: c.futexOp } : {}),
          })),
          runtime: rt.map((r) => ({
            startNs: r.startNs,
            endNs: r.endNs,
            type: r.type as ThreadInput['runtime'][number]['type'],
            ...(r.objectClass !== null ? { objectClass: r.objectClass } : {}),
            ...(r.address !== null ? { address: r.address } : {}),
            ...(r.ownerTid !== null ? { ownerThreadId: byTid.get(r.ownerTid)?.id ?? null } : {}),
            ...(r.stackId !== null ? { stackId: r.stackId } : {}),
            ...(r.target !== null ? { target: r.target } : {}),
          })),
          pauses: pauses.map((p) => ({ startNs: p.startNs, endNs: p.endNs, phase: p.phase, gcId: p.gcId })),
          mutator: isMutator(bestName(t), runtime),
          samples,
          cpuClock,
          samplePeriodNs,
          stackState: (id) => verdicts.get(id) ?? null,
        };
        return buildSegments(input);
      });
      if (!built) continue;
      segmentsByThread.set(t.id, built.segments);
      appendAll(allWakeups, built.wakeups);
      await store.setThreadInfo(captureId, t.id, poolOf(t), built.quality);
    }
    // Futex pairs: a lock wait with no recorded wakeup was ended by the FUTEX_WAKE on its
    // address that another thread made last before the wait returned: that thread held it.
    const futexWakes = await store.futexWakes(captureId, straceOffsets);
    appendAll(
      allWakeups,
      await degraded.guard({ stage: 'wakeups', source: 'strace' }, [], () =>
        pairFutexes(segmentsByThread, futexWakes, (tid) => byTid.get(tid)?.id),
      ),
    );
    for (const [threadId, segs] of segmentsByThread) {
      const owner = threadById.get(threadId);
      const thread = owner ? threadRef(owner) : null;
      for (const s of segs) {
        const p = writer.segment(s);
        if (p) await p;
        segmentCount++;
      }
      // The replay's level-of-detail pyramid of the thread (segments sorted by start) and its
      // lane tiles, what the replay UI reads as it zooms (built level by level), built whole
      // before any is written: a lane that cannot be built is left out, not half written.
      const lanes = await degraded.guard({ stage: 'lanes', thread }, null, () => laneRows(threadId, segs));
      if (!lanes) continue;
      for (const b of lanes.buckets) {
        const p = writer.lodBucket(b);
        if (p) await p;
      }
      for (const t of lanes.tiles) {
        const q = writer.laneTile(t);
        if (q) await q;
      }
    }
    for (const w of allWakeups) {
      const p = writer.wakeup(w);
      if (p) await p;
      wakeupCount++;
    }
    await degraded.guard({ stage: 'clocks', source: 'strace' }, undefined, async () => {
      log(
        `strace vs sched_switch: ${residualDiffs.length} of ${blockingCalls} blocking calls meet a switch-out (${blockingOutside} outside perf's time of their thread)`,
      );
      if (blockingCalls >= 20 && residualDiffs.length * 4 < blockingCalls)
        for (const f of files.filter((x) => x.format === 'strace'))
          degraded.add(
            { stage: 'clocks', file: f.name, source: 'strace' },
            `only ${residualDiffs.length} of ${blockingCalls} blocking syscalls (≥ 1 ms) meet a switch-out of their thread in perf's sched_switch within 2 ms (${blockingOutside} fall outside the time perf saw the thread; a consistent capture: nearly all meet one): strace's clock disagrees with perf's, its syscalls are misplaced in the segments`,
          );
      const residual = estimateResidual(residualDiffs);
      if (!residual) return;
      log(
        `strace vs sched_switch: median ${residual.medianNs} ns, MAD ${residual.madNs} ns over ${residual.matches} blocking calls${residual.strong ? ' (strong)' : ''}`,
      );
      for (const f of files.filter((x) => x.format === 'strace'))
        await store.recordClock(f.id, f.offset, 'epoch time as recorded; checked against sched_switch', {
          residualMedianNs: residual.medianNs.toString(),
          residualMadNs: residual.madNs.toString(),
          matchedCalls: residual.matches,
          applied: false,
          why: residual.strong
            ? 'strong but within strace’s own ptrace latency: strace prints the entry before the thread blocks'
            : 'weak evidence: kept the recorded epoch time',
        });
    });

    // Bindings.
    const spans = await store.spans(captureId);
    const logs = await store.tracedLogs(captureId);
    const bindThreads: BindThread[] = threads.map((t) => ({
      threadId: t.id,
      pid: t.pid,
      tid: t.tid,
      names: t.names,
      javaIds: t.javaIds,
    }));
    const handoffs = await degraded.guard({ stage: 'bindings', source: 'strace' }, [], () =>
      fdHandoffs(store, captureId, straceOffsets, byTid),
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
    for (const b of bindings) {
      const p = writer.binding(b);
      if (p) await p;
    }

    // Requests: each one's breakdown, or (when its analysis cannot be made) its whole wall
    // time as unknown, so that every request keeps a row whose breakdown sums to its duration.
    const context: RequestContext = {
      store,
      captureId,
      spans,
      bindings,
      logs: bindLogs,
      handoffs,
      threads,
      segmentsByThread,
      names,
      poolOf,
      gcEvidence,
      perfOffsets,
      samplePeriodNs,
      runtime,
      degraded,
    };
    const requests =
      (await degraded.guard({ stage: 'requests' }, null, () => analyzeRequests(context))) ??
      requestSpans(spans).map(unknownAnalysis);
    await writer.commit(requests);
    log(
      `correlated: ${threads.length} threads, ${segmentCount} segments, ${wakeupCount} wakeups, ${bindings.length} bindings, ${requests.length} requests${degraded.size ? `, ${degraded.size} degraded parts` : ''}`,
    );
    return {
      threads: threads.length,
      segments: segmentCount,
      wakeups: wakeupCount,
      bindings: bindings.length,
      requests: requests.length,
      clocks,
      degraded: degraded.list(),
    };
  } catch (e) {
    await writer.rollback().catch(() => undefined);
    throw e;
  }
}

/** Syscalls of one tid that start before an earlier one ended (a thread makes one at a time). */
function overlappingCalls(calls: readonly { startNs: bigint; endNs: bigint }[]): number {
  const sorted = [...calls].sort((a, b) => (a.startNs < b.startNs ? -1 : a.startNs > b.startNs ? 1 : 0));
  let n = 0;
  let end: bigint | null = null;
  for (const c of sorted) {
    if (end !== null && c.startNs < end) n++;
    if (end === null || c.endNs > end) end = c.endNs;
  }
  return n;
}

/** A thread's level-of-detail buckets and lane tiles, all levels. */
function laneRows(threadId: string, segs: readonly Segment[]): { buckets: LodBucket[]; tiles: LaneTile[] } {
  const sorted = segs.every((s, i) => i === 0 || (segs[i - 1]?.startNs ?? s.startNs) <= s.startNs)
    ? segs
    : [...segs].sort((a, b) => (a.startNs < b.startNs ? -1 : a.startNs > b.startNs ? 1 : 0));
  const buckets: LodBucket[] = [];
  const tiles: LaneTile[] = [];
  const builder = new LaneTileBuilder(threadId, sorted);
  for (const b of lodBuckets(threadId, sorted)) {
    buckets.push(b);
    appendAll(tiles, builder.add(b));
  }
  appendAll(tiles, builder.finish());
  return { buckets, tiles };
}

/**
 * Sources the correlation had to leave off the time axis while others are on it: their
 * events (scheduler switches, syscalls, runtime events, GC pauses) are not in the segments.
 */
async function unplacedSources(
  store: CorrelationStore,
  captureId: string,
  files: readonly FileClock[],
  clocks: CorrelationSummary['clocks'],
  unanchored: readonly { id: string; ordinal: number; clock: string; format: string }[],
  gcOffsets: ReadonlyMap<string, bigint>,
  degraded: DegradedParts,
): Promise<void> {
  // With nothing on the axis (a lone perf file without a clock pair) there is nothing to join.
  if (!files.some((f) => f.offset !== null && f.format !== 'manifest')) return;
  const placedFormats = new Set([...SAMPLING_FORMATS, ...SYSCALL_FORMATS, ...RUNTIME_FORMATS]);
  for (const f of files) {
    if (f.offset !== null || f.format === null || !placedFormats.has(f.format)) continue;
    const method = clocks.find((c) => c.file === f.name)?.method ?? 'no clock';
    degraded.add(
      { stage: 'clocks', file: f.name, source: f.format },
      `not placed on the time axis (${method}): its events are left out of the threads' segments`,
    );
  }
  const left = unanchored.filter((u) => !gcOffsets.has(`${u.ordinal}:${u.clock}`));
  if (!left.length) return;
  const nameOf = new Map((await store.files(captureId)).map((f) => [f.id, f.name]));
  for (const u of left)
    degraded.add(
      { stage: 'clocks', file: nameOf.get(u.id) ?? null, source: u.format },
      `${u.clock} times not placed on the time axis: its GC pauses are left out`,
    );
}

/** Who a request is: its span's ids, service, route (`http.route`) and name. */
function requestIdentity(
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
function unknownAnalysis(r: SpanRow): RequestAnalysis {
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

function bestName(t: CorrelationThread): string {
  // The longest name is the runtime's full one (jstack/JFR) rather than the 15-byte comm.
  return [...t.names].sort((a, b) => b.length - a.length)[0] ?? `tid ${t.tid}`;
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
  store: CorrelationStore,
  captureId: string,
  offsets: FileOffsets,
  byTid: ReadonlyMap<number, CorrelationThread>,
): Promise<FdHandoff[]> {
  const accepts = await store.accepts(captureId, offsets);
  if (!accepts.length) return [];
  const reads = await store.firstReads(captureId, offsets);
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

interface RequestContext {
  store: CorrelationStore;
  captureId: string;
  spans: readonly SpanRow[];
  bindings: readonly SpanBinding[];
  logs: readonly BindLog[];
  handoffs: readonly FdHandoff[];
  threads: readonly CorrelationThread[];
  segmentsByThread: ReadonlyMap<string, Segment[]>;
  names: ReadonlyMap<string, string>;
  poolOf: (t: CorrelationThread) => string | null;
  gcEvidence: readonly GcEvidence[];
  perfOffsets: FileOffsets;
  samplePeriodNs: bigint | null;
  runtime: string | null;
  degraded: DegradedParts;
}

/** Requests: server spans (or root spans when a trace has no server span). */
function requestSpans(spans: readonly SpanRow[]): SpanRow[] {
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
    const stacks = await c.store.threadStacks(
      c.captureId,
      candidates.map((t) => t.id),
    );
    const frames = await c.store.stackFrames(c.captureId, [...stacks.values()].flat());
    workers = candidates.filter((t) =>
      (stacks.get(t.id) ?? []).some((id) => isLibuvWorkerStack(frames.get(id) ?? [])),
    );
  }
  if (!workers.length) return none;
  const requests = roots.flatMap((r) => {
    const first = (bySpan.get(r.spanId) ?? [])[0];
    if (!first) return [];
    const from = first.startNs > r.startNs ? first.startNs : r.startNs;
    // The handler's first run on the loop (from its start while the loop stays busy) and the
    // last one (the completion callback writing the response) are the request's own; in
    // between it waits for what it started, while the loop serves other requests.
    const loop = (c.segmentsByThread.get(first.threadId) ?? []).filter(
      (s) => s.endNs > from && s.startNs < r.endNs,
    );
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
    return [
      {
        id: r.spanId,
        orderNs: from,
        waits:
          waitTo > waitFrom
            ? subtractIntervals([{ startNs: waitFrom, endNs: waitTo }], mergeIntervals(calls))
            : [],
      },
    ];
  });
  const pool = workers.map((w) => ({
    threadId: w.id,
    busy: (c.segmentsByThread.get(w.id) ?? []).filter((s) => WORKING_STATES.has(s.state)),
  }));
  return { pieces: replayPool(requests, pool), workers: workers.map((w) => w.id) };
}

async function analyzeRequests(c: RequestContext): Promise<RequestAnalysis[]> {
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
  const logsByTrace = new Map<string, BindLog[]>();
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
      let prevEnd: bigint | null = null;
      for (const b of servingByThread.get(first.threadId) ?? [])
        if (b.spanId !== r.spanId && b.endNs <= first.startNs && (prevEnd === null || b.endNs > prevEnd))
          prevEnd = b.endNs;
      let h: FdHandoff | undefined;
      for (const x of c.handoffs)
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
      const busyOf = (m: CorrelationThread): Interval[] => {
        const bound = mergeIntervals(
          serverBindings
            .filter(({ b, r: other }) => other.spanId !== r.spanId && b.threadId === m.id)
            .map(({ b }) => ({ startNs: b.startNs, endNs: b.endNs })),
        );
        if (c.runtime !== 'node') return bound;
        const working = (c.segmentsByThread.get(m.id) ?? []).filter(
          (s) => s.state !== 'idle' && s.endNs > arrival && s.startNs < handlerStart,
        );
        return intersectIntervals(bound, mergeIntervals(working));
      };
      const busyLists = members.map(busyOf);
      const atArrival = busyLists.filter((list) =>
        list.some((x) => x.startNs <= arrival + 1_000_000n && x.endNs > arrival),
      ).length;
      const saturated = saturatedNs(busyLists, arrival, handlerStart);
      const busy = { size: saturated * 2n >= handlerStart - arrival ? members.length : atArrival };
      if (busy.size >= members.length) {
        pool = { pool: poolName ?? bestName(worker), size: members.length, busy: busy.size };
        if (members.length === 1) {
          // A pool of one (an event loop): name the request whose handler held it.
          const holder = serverBindings.find(
            ({ b, r: other }) =>
              other.spanId !== r.spanId &&
              b.threadId === worker.id &&
              b.startNs <= arrival &&
              b.endNs > arrival,
          );
          if (holder) pool = { ...pool, blockingTraceId: holder.r.traceId };
        }
      }
    }
    const threadIds = [...new Set(own.map((b) => b.threadId))];
    const offloaded = offload.pieces.get(r.spanId) ?? [];
    const workerIds = [...new Set(offloaded.flatMap((p) => (p.threadId ? [p.threadId] : [])))];
    const samples = await c.store.samplesInWindow(
      c.captureId,
      [...threadIds, ...workerIds.filter((w) => !threadIds.includes(w))],
      arrival,
      r.endNs,
      c.perfOffsets,
    );
    const frames = await c.store.stackFrames(
      c.captureId,
      samples.flatMap((s) => (s.stackId ? [s.stackId] : [])),
    );
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
    for (const id of threadIds) {
      const segs = (c.segmentsByThread.get(id) ?? []).filter((s) => s.endNs > arrival && s.startNs < r.endNs);
      segments.set(id, segs);
      for (const s of segs) if (s.state === 'lock' && s.wakerThreadId) holders.add(s.wakerThreadId);
    }
    for (const h of holders) if (!segments.has(h)) segments.set(h, c.segmentsByThread.get(h) ?? []);
    for (const w of workerIds)
      if (!segments.has(w))
        segments.set(
          w,
          (c.segmentsByThread.get(w) ?? []).filter((s) => s.endNs > arrival && s.startNs < r.endNs),
        );
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
      gcPauses: c.gcEvidence.filter((g) => g.startNs < r.endNs && g.startNs + g.durationNs > arrival),
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
