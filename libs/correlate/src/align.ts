import { samplingPeriodNs } from '@threadreel/analysis';
import {
  appendAll,
  type CaptureFile,
  type CaptureManifest,
  type DegradedParts,
  type FileOffsets,
} from '@threadreel/model';
import {
  inferOffsetFromSwitches,
  type ClockEvidenceInterval,
  type ClockEvidenceMarker,
} from './clock-evidence.js';
import {
  alignClock,
  alignNearPrior,
  alignToMarkers,
  estimateResidual,
  type ClockAlignment,
  type ClockPair,
} from './clocks.js';
import type { CaptureSource, CorrelationSink, EventOffsets } from './ports.js';

/**
 * The clock stage of correlation: every parsed file placed on the epoch axis (manifest clock
 * pairs, perf's own reference time, evidence matched between sources, GC logs anchored by
 * perf samples inside GC code), each placement recorded with its method and evidence; and,
 * once the threads are built, strace's clock checked against perf's sched_switch.
 */

const SAMPLING_FORMATS = new Set(['perf-script']);
const SYSCALL_FORMATS = new Set(['strace']);
const RUNTIME_FORMATS = new Set(['jfr-json']);

/** How each file was placed (the correlation summary's `clocks`). */
export type ClockSummary = { file: string; clock: string | null; offsetNs: string | null; method: string }[];

/** A GC log clock (per row) not placed by a clock pair. */
interface UnanchoredClock {
  id: string;
  ordinal: number;
  clock: string;
  format: string;
}

export interface FileClock {
  id: string;
  ordinal: number;
  name: string;
  format: string | null;
  offset: bigint | null;
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

type ParsedFile = CaptureFile;

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
  source: CaptureSource,
  sink: CorrelationSink,
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
    const { switchOuts, moments, perfHasSwitches } = await source.clockEvidence(f.ordinal, s.source, offsets);
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

/** Where the clock stage put the capture's files. */
export interface Clocks {
  files: FileClock[];
  /** Offsets of the GC logs' clocks, per `file ordinal:clock`. */
  gcOffsets: Map<string, bigint>;
  summary: ClockSummary;
  samplePeriodNs: bigint | null;
  unanchored: UnanchoredClock[];
  monotonicOffsetNs: bigint | null;
  /** The formats of the parsed files (what runtime wrote them). */
  parsedFormats: (string | null)[];
  /** The offsets that place each thread's events (perf, strace, runtime profilers). */
  offsets: EventOffsets;
}

/** Clock offsets of every parsed file (and of each clock inside GC logs), recorded with their evidence. */
export async function alignClocks(
  source: CaptureSource,
  sink: CorrelationSink,
  manifest: CaptureManifest | null,
  log: (m: string) => void,
): Promise<Clocks> {
  const pairs = manifestPairs(manifest);
  // The instant at which a time zone's offset is taken (DST): a pair, else the recording date.
  const recordedMs = manifest?.recordedAt ? Date.parse(manifest.recordedAt) : NaN;
  const around =
    pairs[0]?.realtimeNs ?? (Number.isFinite(recordedMs) ? BigInt(recordedMs) * 1_000_000n : null);
  const ctx = { pairs, timeZone: manifest?.timeZone ?? null, aroundNs: around };
  const files: FileClock[] = [];
  const gcOffsets = new Map<string, bigint>();
  const summary: ClockSummary = [];
  let samplePeriodNs: bigint | null = null;
  const unanchored: UnanchoredClock[] = [];
  const parsed = (await source.files()).filter((f) => f.state === 'parsed');
  const record = async (f: ParsedFile, clock: string | null, p: Placement) => {
    files.push({ id: f.id, ordinal: f.ordinal, name: f.name, format: f.format, offset: p.offsetNs });
    await sink.recordClock(f.id, p.offsetNs, p.method, p.evidence);
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
    const p = exact ? placementOf(a) : await placePerfByEvidence(source, sink, f, files, a, headerFiles, log);
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
    for (const clock of await source.rowClocks(f.ordinal)) {
      const a = alignClock(clock, afterPerfCtx);
      first ??= a;
      if (a.offsetNs !== null) gcOffsets.set(`${f.ordinal}:${clock}`, a.offsetNs);
      else unanchored.push({ id: f.id, ordinal: f.ordinal, clock, format: f.format });
      parts.push(`${clock}: ${a.method}`);
    }
    await sink.recordClock(f.id, first?.offsetNs ?? null, parts.join('; ') || 'no events', {
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
    offsets: {
      perf: offsetsOf(files, SAMPLING_FORMATS),
      strace: offsetsOf(files, SYSCALL_FORMATS),
      runtime: offsetsOf(files, RUNTIME_FORMATS),
    },
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
  source: CaptureSource,
  sink: CorrelationSink,
  unanchored: readonly UnanchoredClock[],
  perfOffsets: FileOffsets,
  gcOffsets: Map<string, bigint>,
  processStartNs: bigint | null,
  log: (m: string) => void,
): Promise<void> {
  for (const u of unanchored) {
    const pattern = GC_CODE[u.format];
    if (!pattern || (u.clock !== 'process-start' && u.clock !== 'uptime')) continue;
    const [pauses, markers] = await Promise.all([
      source.rawPauses(u.ordinal, u.clock),
      source.markerTimes(perfOffsets, pattern),
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
      await sink.recordClock(
        u.id,
        a.offsetNs,
        near?.strong
          ? 'process start (manifest) refined by perf samples inside GC code'
          : 'process start placed by perf samples inside GC code',
        evidence,
      );
      log(`gc clock of file ${u.ordinal}: offset ${a.offsetNs} (${JSON.stringify(evidence)})`);
    } else {
      await sink.recordClock(u.id, null, 'time since process start: no anchor strong enough', evidence);
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

/**
 * strace's clock checked against perf's sched_switch, thread by thread as the segments are
 * built: blocking strace calls (≥ 1 ms) of threads perf saw switch nearly all meet a
 * switch-out within 2 ms (99–100 % in the fixtures); with strace's clock off, almost none do.
 */
export class StraceClockCheck {
  private readonly residualDiffs: bigint[] = [];
  private blockingCalls = 0;
  private blockingOutside = 0;

  /** One thread's switch-outs (sorted) and syscalls. */
  observe(outs: readonly bigint[], calls: readonly { startNs: bigint; endNs: bigint }[]): void {
    const firstOut = outs[0];
    const lastOut = outs[outs.length - 1];
    if (this.residualDiffs.length >= 5000 || firstOut === undefined || lastOut === undefined) return;
    appendAll(this.residualDiffs, straceResidual(outs, calls));
    for (const c of calls) {
      if (c.endNs - c.startNs < 1_000_000n) continue;
      this.blockingCalls++;
      if (c.startNs < firstOut - 2_000_000n || c.startNs > lastOut + 2_000_000n) this.blockingOutside++;
    }
  }

  /** Logs the match, degrades the strace files when strace's clock disagrees, records the residual. */
  async finish(
    sink: CorrelationSink,
    files: readonly FileClock[],
    degraded: DegradedParts,
    log: (m: string) => void,
  ): Promise<void> {
    const { residualDiffs, blockingCalls, blockingOutside } = this;
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
      await sink.recordClock(f.id, f.offset, 'epoch time as recorded; checked against sched_switch', {
        residualMedianNs: residual.medianNs.toString(),
        residualMadNs: residual.madNs.toString(),
        matchedCalls: residual.matches,
        applied: false,
        why: residual.strong
          ? 'strong but within strace’s own ptrace latency: strace prints the entry before the thread blocks'
          : 'weak evidence: kept the recorded epoch time',
      });
  }
}

/**
 * The GC logs' clocks that no pair placed, anchored by perf (see `anchorGcClocks`; the
 * process start of the manifest narrows the search); then every source left off the axis is a
 * degraded part.
 */
export async function placeGcClocks(
  source: CaptureSource,
  sink: CorrelationSink,
  clocks: Clocks,
  manifest: CaptureManifest | null,
  degraded: DegradedParts,
  log: (m: string) => void,
): Promise<void> {
  const monotonic = clocks.monotonicOffsetNs;
  const bootStart = manifest?.target?.startBoottimeNs;
  const processStartNs = bootStart !== undefined && monotonic !== null ? BigInt(bootStart) + monotonic : null;
  await degraded.guard({ stage: 'clocks' }, undefined, () =>
    anchorGcClocks(
      source,
      sink,
      clocks.unanchored,
      clocks.offsets.perf,
      clocks.gcOffsets,
      processStartNs,
      log,
    ),
  );
  await unplacedSources(source, clocks, degraded);
}

/**
 * Sources the correlation had to leave off the time axis while others are on it: their
 * events (scheduler switches, syscalls, runtime events, GC pauses) are not in the segments.
 */
async function unplacedSources(
  source: CaptureSource,
  { files, summary: clocks, unanchored, gcOffsets }: Clocks,
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
  const nameOf = new Map((await source.files()).map((f) => [f.id, f.name]));
  for (const u of left)
    degraded.add(
      { stage: 'clocks', file: nameOf.get(u.id) ?? null, source: u.format },
      `${u.clock} times not placed on the time axis: its GC pauses are left out`,
    );
}
