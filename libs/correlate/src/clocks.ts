import type { Nanos } from '@threadreel/model';

/**
 * Maps each source's clock to epoch ns (CLOCK_REALTIME) and says how it knows.
 *
 * - `realtime`: already epoch ns (strace -ttt, OTLP, JFR, Python epochNs): offset 0.
 * - `monotonic`: the manifest's monotonic↔realtime pairs (taken at capture start and end):
 *   offset = realtime − monotonic of the start pair; the change between the pairs is the
 *   drift (NTP slew over the capture), reported as the residual spread.
 * - `perf-default` (sched_clock) and `boottime`: no pair exists for them. sched_clock counts
 *   from boot like CLOCK_MONOTONIC and usually stays within microseconds of it on x86 with a
 *   stable TSC, so the monotonic offset is used with low confidence, and the correlator then
 *   checks it against strace (see {@link estimateResidual}).
 * - `local-wall`: local time printed without a zone: the capture's IANA zone gives the offset
 *   (at the capture's time, DST included).
 * - `process-start` / `uptime`: ns since the process (JVM) started: needs the start's epoch,
 *   from evidence the caller found (a log line anchoring both clocks, a paired decorator).
 * - `relative` / `none` / unknown clocks: not alignable; events of that source stay off the axis.
 */

export interface ClockPair {
  readonly at: string;
  readonly monotonicNs: Nanos;
  readonly realtimeNs: Nanos;
  readonly uncertaintyNs: Nanos | null;
}

export interface ClockContext {
  readonly pairs: readonly ClockPair[];
  /** IANA zone of the capture (manifest `timeZone`). */
  readonly timeZone: string | null;
  /** A moment of the capture (epoch ns) at which to evaluate the zone's UTC offset. */
  readonly aroundNs: Nanos | null;
  /** Epoch ns of the process start, when some evidence gave it, and that evidence. */
  readonly processStart?: { readonly ns: Nanos; readonly evidence: string } | null;
}

export interface ClockAlignment {
  readonly clock: string;
  /** Add to a source time to get epoch ns; null when the clock cannot be aligned. */
  readonly offsetNs: Nanos | null;
  readonly method: string;
  /** 0..1 */
  readonly confidence: number;
  /** Spread of the evidence (pair drift, residual MAD), when measured. */
  readonly spreadNs: Nanos | null;
  readonly evidence: Readonly<Record<string, string>>;
}

function abs(x: bigint): bigint {
  return x < 0n ? -x : x;
}

function monotonicOffset(
  ctx: ClockContext,
): { offset: Nanos; spread: Nanos; evidence: Record<string, string> } | null {
  const [first] = ctx.pairs;
  if (!first) return null;
  const last = ctx.pairs[ctx.pairs.length - 1] ?? first;
  const offset = first.realtimeNs - first.monotonicNs;
  const drift = last.realtimeNs - last.monotonicNs - offset;
  const evidence: Record<string, string> = {
    pairs: String(ctx.pairs.length),
    startPair: `${first.monotonicNs} mono = ${first.realtimeNs} real (±${first.uncertaintyNs ?? '?'} ns)`,
    driftNs: drift.toString(),
  };
  return { offset, spread: abs(drift), evidence };
}

/** The UTC offset (ns, local − UTC) of an IANA zone at an instant; null for an unknown zone. */
export function zoneOffsetNs(timeZone: string, atNs: Nanos): Nanos | null {
  try {
    const ms = Number(atNs / 1_000_000n);
    const parts = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    }).formatToParts(new Date(ms));
    const get = (t: string) => Number(parts.find((p) => p.type === t)?.value ?? NaN);
    const local = Date.UTC(
      get('year'),
      get('month') - 1,
      get('day'),
      get('hour'),
      get('minute'),
      get('second'),
    );
    const utc = Math.floor(ms / 1000) * 1000;
    if (!Number.isFinite(local)) return null;
    return BigInt(local - utc) * 1_000_000n;
  } catch {
    return null;
  }
}

/** The offset that puts `clock` times on the epoch axis, with its method and evidence. */
export function alignClock(clock: string, ctx: ClockContext): ClockAlignment {
  const none = (method: string, evidence: Record<string, string> = {}): ClockAlignment => ({
    clock,
    offsetNs: null,
    method,
    confidence: 0,
    spreadNs: null,
    evidence,
  });
  switch (clock) {
    case 'realtime':
      return {
        clock,
        offsetNs: 0n,
        method: 'epoch time as recorded',
        confidence: 1,
        spreadNs: null,
        evidence: {},
      };
    case 'monotonic': {
      const m = monotonicOffset(ctx);
      if (!m) return none('no monotonic↔realtime pair in the manifest');
      return {
        clock,
        offsetNs: m.offset,
        method: 'manifest clock pair',
        confidence: 1,
        spreadNs: m.spread,
        evidence: m.evidence,
      };
    }
    case 'perf-default':
    case 'boottime': {
      const m = monotonicOffset(ctx);
      if (!m) return none(`no clock pair to place ${clock} times`);
      return {
        clock,
        offsetNs: m.offset,
        method: `assumed ≈ CLOCK_MONOTONIC (${clock} has no pair; record perf with -k mono)`,
        confidence: 0.3,
        spreadNs: m.spread,
        evidence: m.evidence,
      };
    }
    case 'local-wall': {
      if (ctx.timeZone === null || ctx.aroundNs === null)
        return none('local wall time without a capture time zone');
      const z = zoneOffsetNs(ctx.timeZone, ctx.aroundNs);
      if (z === null) return none(`unknown time zone ${ctx.timeZone}`);
      return {
        clock,
        offsetNs: -z,
        method: `local time in ${ctx.timeZone} (manifest time zone)`,
        confidence: 0.9,
        spreadNs: null,
        evidence: { timeZone: ctx.timeZone, utcOffsetNs: z.toString() },
      };
    }
    case 'process-start':
    case 'uptime':
    case 'process-uptime': {
      const s = ctx.processStart;
      if (!s) return none('time since process start, and no evidence of when the process started');
      return {
        clock,
        offsetNs: s.ns,
        method: 'process start anchored by evidence',
        confidence: 0.8,
        spreadNs: null,
        evidence: { processStartNs: s.ns.toString(), from: s.evidence },
      };
    }
    default:
      return none(`clock ${clock} has no mapping to epoch time`);
  }
}

export interface Residual {
  /** Median of (reference − source) over the matched moments. */
  readonly medianNs: Nanos;
  /** Median absolute deviation around it. */
  readonly madNs: Nanos;
  readonly matches: number;
  /** Strong enough to apply: ≥ 20 matches and |median| > 3 × MAD and > 100 µs. */
  readonly strong: boolean;
}

function median(sorted: readonly bigint[]): bigint {
  const n = sorted.length;
  const a = sorted[(n - 1) >> 1] ?? 0n;
  const b = sorted[n >> 1] ?? 0n;
  return (a + b) / 2n;
}

/**
 * Residual offset between two sources that saw the same moments (e.g. a thread leaving the
 * CPU in sched_switch and the blocking syscall strace printed): `diffs` are reference − source.
 */
export function estimateResidual(diffs: readonly bigint[]): Residual | null {
  if (diffs.length === 0) return null;
  const sorted = [...diffs].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const med = median(sorted);
  const dev = sorted.map((d) => abs(d - med)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const mad = median(dev);
  return {
    medianNs: med,
    madNs: mad,
    matches: diffs.length,
    strong: diffs.length >= 20 && abs(med) > 3n * mad && abs(med) > 100_000n,
  };
}

export interface MarkerAlignment {
  /** Add to the intervals' times to put them on the markers' axis. */
  readonly offsetNs: Nanos;
  /** Markers that fall inside a shifted interval at that offset. */
  readonly matched: number;
  readonly markers: number;
  /** Best count at any offset at least `minSeparationNs` away from the chosen one. */
  readonly runnerUp: number;
  /**
   * Strong enough to apply: ≥ 3 matched, and 1.5 × the best distant alternative, or a fifth
   * of its markers outside every interval (and 10 fewer).
   */
  readonly strong: boolean;
}

const MAX_MARKERS = 600;
const MAX_INTERVALS = 5000;
/** Widest span (ns) of offsets the sweep keeps exact in a float64 (2^51 ns ≈ 26 days). */
const MAX_SPAN = 2 ** 51;

/** Plateaus of constant coverage: offsets `base + from[k]` … `base + to[k]` (exclusive), `count[k]` markers in. */
interface Plateaus {
  base: bigint;
  from: number[];
  to: number[];
  count: number[];
}

/**
 * Offsets at which markers fall inside intervals, as plateaus of constant coverage. Every
 * (marker, interval) pair adds +1 coverage from offset `m − end` and −1 after `m − start`;
 * the sweep sorts those events. They are kept as float64 offsets relative to the smallest (exact
 * below 2^53 ns), two per pair and sorted as a typed array: millions of pairs in well under a
 * second. Null when the offsets span more than {@link MAX_SPAN}.
 */
function coveragePlateaus(
  ms: readonly Nanos[],
  ivs: readonly { readonly startNs: Nanos; readonly endNs: Nanos }[],
): Plateaus | null {
  const m0 = ms.reduce((a, b) => (b < a ? b : a));
  const i0 = ivs.reduce((a, b) => (b.startNs < a ? b.startNs : a), ivs[0]?.startNs ?? 0n);
  const mRel = ms.map((m) => Number(m - m0));
  const sRel = ivs.map((i) => Number(i.startNs - i0));
  const eRel = ivs.map((i) => Number(i.endNs - i0));
  const mMax = mRel.reduce((a, b) => Math.max(a, b), 0);
  const eMax = eRel.reduce((a, b) => Math.max(a, b), 0);
  // Offset = (m0 − i0) + mRel − iRel; relative to its smallest value, lo = −eMax.
  if (mMax + eMax + 1 > MAX_SPAN) return null;
  const keys = new Float64Array(ms.length * ivs.length * 2);
  let k = 0;
  for (const m of mRel)
    for (let j = 0; j < ivs.length; j++) {
      // Key = 2 × position + (1 for +1): at one position the −1 of a pair sorts first.
      keys[k++] = 2 * (m - (eRel[j] as number) + eMax) + 1;
      keys[k++] = 2 * (m - (sRel[j] as number) + 1 + eMax);
    }
  keys.sort();
  const from: number[] = [];
  const to: number[] = [];
  const count: number[] = [];
  let c = 0;
  for (let x = 0; x < keys.length; x++) {
    const key = keys[x] as number;
    const pos = Math.floor(key / 2);
    c += key % 2 === 1 ? 1 : -1;
    const nextKey = keys[x + 1];
    if (nextKey === undefined) continue;
    const next = Math.floor(nextKey / 2);
    if (next > pos && c > 0) {
      from.push(pos);
      to.push(next);
      count.push(c);
    }
  }
  return { base: m0 - i0 - BigInt(eMax), from, to, count };
}

/**
 * Places intervals of an unanchored clock (GC pauses in ns since process start) on the axis of
 * markers that must fall inside them (perf samples and switch-outs whose stack is in GC code):
 * the offset that puts the most markers inside an interval, by a sweep over every
 * (marker, interval) pair. Periodic GCs can match at several offsets, so the best must beat the
 * best distant alternative clearly. Markers are thinned evenly to 600, pauses kept (up to 5000).
 */
export function alignToMarkers(
  intervals: readonly { readonly startNs: Nanos; readonly endNs: Nanos }[],
  markers: readonly Nanos[],
  minSeparationNs: Nanos = 5_000_000n,
): MarkerAlignment | null {
  const thin = <T>(xs: readonly T[], n: number): T[] =>
    xs.length <= n ? [...xs] : Array.from({ length: n }, (_, i) => xs[Math.floor((i * xs.length) / n)] as T);
  // Overlapping intervals (a pause and its phases) are one stretch: a marker counts once.
  const merged: { startNs: Nanos; endNs: Nanos }[] = [];
  for (const i of [...intervals]
    .filter((x) => x.endNs > x.startNs)
    .sort((a, b) => (a.startNs < b.startNs ? -1 : a.startNs > b.startNs ? 1 : 0))) {
    const last = merged[merged.length - 1];
    if (last && i.startNs <= last.endNs) {
      if (i.endNs > last.endNs) last.endNs = i.endNs;
    } else merged.push({ startNs: i.startNs, endNs: i.endNs });
  }
  // Markers may be thinned evenly (each kept one still lies in a pause at the right offset);
  // pauses may not: a marker whose pause was dropped counts as a miss, and on a long capture
  // most would be. So every pause is kept up to MAX_INTERVALS.
  const ivs = thin(merged, MAX_INTERVALS);
  const ms = thin(markers, MAX_MARKERS);
  if (!ivs.length || !ms.length) return null;
  const p = coveragePlateaus(ms, ivs);
  if (!p?.count.length) return null;
  let b = 0;
  for (let k = 1; k < p.count.length; k++) if ((p.count[k] as number) > (p.count[b] as number)) b = k;
  const best = { count: p.count[b] as number };
  // Midpoint of the best plateau, rounded down as a bigint division would.
  const mid = Math.floor(((p.from[b] as number) + (p.to[b] as number) - 1) / 2);
  const offset = p.base + BigInt(mid);
  const sep = Number(minSeparationNs);
  let runnerUp = 0;
  for (let k = 0; k < p.count.length; k++) {
    const far = (p.to[k] as number) - 1 < mid - sep || (p.from[k] as number) > mid + sep;
    if (far && (p.count[k] as number) > runnerUp) runnerUp = p.count[k] as number;
  }
  // Dense pauses (a GC-heavy stretch) let a shift by one collection period keep most markers
  // inside some pause too: what tells the offsets apart is what falls *outside*. At the right
  // offset next to no marker of GC code lies outside a pause; at any other, many do.
  const missed = ms.length - best.count;
  const missedRunnerUp = ms.length - runnerUp;
  return {
    offsetNs: offset,
    matched: best.count,
    markers: ms.length,
    runnerUp,
    strong:
      best.count >= 3 &&
      (best.count >= 1.5 * runnerUp ||
        (missedRunnerUp >= 5 * Math.max(missed, 1) && missedRunnerUp - missed >= 10)),
  };
}

export interface PriorAlignment {
  readonly offsetNs: Nanos;
  /** Intervals with at least one marker inside at that offset. */
  readonly hits: number;
  readonly intervals: number;
  /** Best hit count at an offset more than `minSeparationNs` away. */
  readonly runnerUp: number;
  /** ≥ 5 intervals hit and 1.25 × the best distant alternative. */
  readonly strong: boolean;
}

/**
 * Places intervals of a clock that starts near a known instant (a GC log timed from process
 * start, and the process's recorded start) on the markers' axis: every offset in `within`, in
 * `stepNs` steps, scored by how many intervals hold at least one marker. Counting intervals
 * rather than markers keeps one long pause full of samples from outweighing the many short
 * ones whose position pins the offset down; the prior keeps the search to one plausible
 * second, so a lower margin over the runner-up suffices. O(steps · n log m).
 */
export function alignNearPrior(
  intervals: readonly { readonly startNs: Nanos; readonly endNs: Nanos }[],
  markers: readonly Nanos[],
  within: { readonly fromNs: Nanos; readonly toNs: Nanos },
  stepNs: Nanos = 250_000n,
  minSeparationNs: Nanos = 5_000_000n,
): PriorAlignment | null {
  const ivs = intervals.filter((i) => i.endNs > i.startNs);
  const step = Number(ivs.length) > 600 ? Math.ceil(ivs.length / 600) : 1;
  const sample = ivs.filter((_, k) => k % step === 0);
  const ms = [...markers].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  if (!sample.length || !ms.length || within.toNs < within.fromNs || stepNs <= 0n) return null;
  const firstAtOrAfter = (t: bigint): number => {
    let lo = 0;
    let hi = ms.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((ms[mid] as bigint) < t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  const scores: { offset: bigint; hits: number }[] = [];
  for (let off = within.fromNs; off <= within.toNs; off += stepNs) {
    let hits = 0;
    for (const i of sample) {
      const k = firstAtOrAfter(i.startNs + off);
      if (k < ms.length && (ms[k] as bigint) < i.endNs + off) hits++;
    }
    scores.push({ offset: off, hits });
  }
  let best = scores[0];
  for (const s of scores) if (best === undefined || s.hits > best.hits) best = s;
  if (best === undefined) return null;
  // The centre of the run of equal best scores around the first best offset.
  let end = scores.indexOf(best);
  while (scores[end + 1]?.hits === best.hits) end++;
  const offset = (best.offset + (scores[end]?.offset ?? best.offset)) / 2n;
  let runnerUp = 0;
  for (const s of scores) {
    const d = s.offset > offset ? s.offset - offset : offset - s.offset;
    if (d > minSeparationNs && s.hits > runnerUp) runnerUp = s.hits;
  }
  return {
    offsetNs: offset,
    hits: best.hits,
    intervals: sample.length,
    runnerUp,
    strong: best.hits >= 5 && best.hits >= 1.25 * runnerUp,
  };
}
