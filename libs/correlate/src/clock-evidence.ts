import type { Nanos } from '@threadreel/model';

/**
 * Clock offsets inferred from moments two sources both saw, for captures that came without a
 * clock pair (perf's default clock, or no manifest at all).
 *
 * The anchors are perf's `sched_switch` switch-outs of a thread (its own clock, raw). The
 * markers are moments another source printed for the same thread on the epoch axis:
 *
 * - strace: every system call of a traced thread stops it twice (ptrace syscall-entry and
 *   syscall-exit stops: the thread leaves the CPU with `prev_state=t`, and on a blocking call
 *   once more in between), and strace reads its clock only after the stop woke it. So each
 *   entry time (`-ttt`) and each exit time (entry + `-T`) lies a little *after* one of the
 *   thread's switch-outs: by strace's own wake-up latency, from ~0 to some tens of µs.
 * - JFR: a `ThreadPark` / `JavaMonitorEnter` starts as the thread leaves the CPU.
 *
 * Two steps, both robust to the many switch-outs and calls that do not pair up:
 *
 * 1. Coarse, with no prior at all (perf's clock counts from boot, epoch from 1970): a long
 *    blocking call (≥ 2 ms) shows in perf as an off-CPU gap of about its length between two
 *    consecutive switch-outs of the same thread. Every (call, gap) pair of matching length
 *    votes for `marker − switch-out`; votes are binned at 2 ms and weighted by 1/candidates
 *    of the call; at least 5 calls must vote for the best bin, and its votes must clearly beat
 *    every bin more than 10 ms away (both scale-free: candidates grow with a capture's length).
 * 2. Fine, around the coarse offset: every marker minus every switch-out of its thread
 *    within ±5 ms, histogrammed at 1 µs; the offset is the fullest microsecond of the densest
 *    20 µs window (the front of strace's latency distribution), and that window must stand
 *    well above the histogram's background (Poisson z-score). The residual spread is the median absolute deviation of the
 *    differences within 250 µs after it.
 *
 * The differences handled in step 2 are short deltas (< 10 ms), never timestamps, so they are
 * counted in JS numbers; timestamps stay bigint.
 */

export interface ClockEvidenceThread {
  readonly tid: number;
  /** Times (source clock, ns) at which perf saw the thread leave the CPU, sorted ascending. */
  readonly switchOuts: readonly Nanos[];
}

export interface ClockEvidenceMarker {
  readonly tid: number;
  /** Epoch ns of the moment (a call's entry or exit), shortly after a switch-out of the thread. */
  readonly atNs: Nanos;
}

/** A blocking interval seen by the marker source (epoch ns), e.g. a syscall with `-T`. */
export interface ClockEvidenceInterval {
  readonly tid: number;
  readonly startNs: Nanos;
  readonly durationNs: Nanos;
}

export interface InferredOffset {
  /** Add to the anchor source's times (perf) to put them on the markers' epoch axis. */
  readonly offsetNs: Nanos;
  /** Markers that fell in the chosen 20 µs window. */
  readonly matched: number;
  readonly markers: number;
  /** Median absolute deviation of the marker − switch-out differences just after the offset. */
  readonly spreadNs: Nanos;
  /** 0..1 */
  readonly confidence: number;
  readonly evidence: Readonly<Record<string, string | number>>;
}

export type OffsetInference =
  | ({ readonly placed: true } & InferredOffset)
  | {
      readonly placed: false;
      readonly reason: string;
      readonly evidence: Readonly<Record<string, string | number>>;
    };

const MS = 1_000_000n;
const COARSE_BIN = 2n * MS;
const COARSE_SEPARATION = 10n * MS;
const MIN_LONG_CALL = 2n * MS;
const MIN_LONG_CALL_NS = Number(MIN_LONG_CALL);
const MS_NS = Number(MS);
const FINE_HALF_WIDTH_NS = 5_000_000;
const FINE_WINDOW_NS = 20_000;
const SPREAD_WINDOW_NS = 250_000;
const MAX_MARKERS = 60_000;
const MAX_INTERVALS = 4_000;
/** Gap visits the coarse step makes before it may stop (at least MIN_BUDGETED_CALLS calls counted). */
const MAX_CANDIDATE_VISITS = 3_000_000;
const MIN_BUDGETED_CALLS = 400;

function thin<T>(xs: readonly T[], n: number): T[] {
  return xs.length <= n
    ? [...xs]
    : Array.from({ length: n }, (_, i) => xs[Math.floor((i * xs.length) / n)] as T);
}

/** `xs` in bit-reversed index order: every prefix samples the whole list evenly. */
function spreadOrder<T>(xs: readonly T[]): T[] {
  let bits = 0;
  while (1 << bits < xs.length) bits++;
  const out: T[] = [];
  for (let i = 0; i < 1 << bits; i++) {
    let r = 0;
    for (let b = 0; b < bits; b++) if (i & (1 << b)) r |= 1 << (bits - 1 - b);
    const x = xs[r];
    if (r < xs.length && x !== undefined) out.push(x);
  }
  return out;
}

/** Index of the first element ≥ t in a sorted array. */
function lowerBound(xs: readonly bigint[], t: bigint): number {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((xs[mid] as bigint) < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

interface Coarse {
  readonly offsetNs: Nanos;
  readonly votes: number;
  readonly runnerUp: number;
  readonly calls: number;
  /** Calls with a candidate at the best offset (its bin or the better neighbour). */
  readonly voters: number;
}

/** Step 1: long blocking calls voting through off-CPU gaps of matching length. */
export function coarseOffset(
  threads: ReadonlyMap<number, readonly Nanos[]>,
  intervals: readonly ClockEvidenceInterval[],
): Coarse | null {
  // Off-CPU gaps per thread, sorted by length, for the length look-up. In numbers, not
  // bigints (lengths in ns, starts in µs since the epoch: both exact below 2^53): a long
  // capture has millions of gaps and each long call tens of thousands of candidates, and
  // bigint arithmetic made this step the longest synchronous stretch of a correlation.
  const gaps = new Map<number, { lens: Float64Array; atsUs: Float64Array }>();
  for (const [tid, outs] of threads) {
    const idx: number[] = [];
    const len: number[] = [];
    const at: number[] = [];
    for (let k = 0; k + 1 < outs.length; k++) {
      const a = outs[k] as bigint;
      const l = Number((outs[k + 1] as bigint) - a);
      if (l >= MIN_LONG_CALL_NS / 2) {
        idx.push(idx.length);
        len.push(l);
        at.push(Number(a / 1000n));
      }
    }
    idx.sort((x, y) => (len[x] as number) - (len[y] as number));
    gaps.set(tid, {
      lens: Float64Array.from(idx, (i) => len[i] as number),
      atsUs: Float64Array.from(idx, (i) => at[i] as number),
    });
  }
  // In an order whose every prefix is spread over the whole capture (bit-reversed indices),
  // so that the work budget below can stop early without favouring its beginning.
  const long = spreadOrder(
    thin(
      intervals.filter((c) => c.durationNs >= MIN_LONG_CALL && gaps.has(c.tid)),
      MAX_INTERVALS,
    ),
  );
  const votes = new Map<number, number>();
  /** Calls with a candidate in the bin (each once). */
  const voters = new Map<number, number>();
  const binUs = Number(COARSE_BIN / 1000n);
  let calls = 0;
  let visited = 0;
  for (const c of long) {
    // Each call visits every gap of about its length, and a long capture repeats lengths many
    // times over: past a budget of visits (and with enough calls counted) the rest add nothing
    // the evidence does not already show, only a long synchronous stretch.
    if (visited > MAX_CANDIDATE_VISITS && calls >= MIN_BUDGETED_CALLS) break;
    const g = gaps.get(c.tid);
    if (!g) continue;
    const { lens, atsUs } = g;
    // The gap runs from the switch-out inside the call to the exit stop: a little shorter
    // than the call (strace's handling before the thread blocks), never much longer.
    const dur = Number(c.durationNs);
    const tol = MS_NS + Math.floor(dur / 50);
    let lo = 0;
    let hi = lens.length;
    const from = dur - tol;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((lens[mid] ?? 0) < from) lo = mid + 1;
      else hi = mid;
    }
    const startUs = Number(c.startNs / 1000n);
    const upTo = dur + Math.floor(tol / 4);
    let n = 0;
    for (let k = lo; k < lens.length && (lens[k] ?? 0) <= upTo; k++) n++;
    visited += n;
    if (!n) continue;
    calls++;
    const w = 1 / n;
    const seen = new Set<number>();
    for (let k = lo; k < lo + n; k++) {
      const bin = Math.floor((startUs - (atsUs[k] ?? 0)) / binUs);
      votes.set(bin, (votes.get(bin) ?? 0) + w);
      if (!seen.has(bin)) voters.set(bin, (voters.get(bin) ?? 0) + 1);
      seen.add(bin);
    }
  }
  if (!votes.size) return null;
  // Score a bin with its neighbour (a true offset near a bin edge splits its votes).
  let best: number | null = null;
  let bestScore = 0;
  const scoreOf = (b: number) => (votes.get(b) ?? 0) + Math.max(votes.get(b - 1) ?? 0, votes.get(b + 1) ?? 0);
  for (const b of votes.keys()) {
    const sc = scoreOf(b);
    if (sc > bestScore) {
      bestScore = sc;
      best = b;
    }
  }
  if (best === null) return null;
  let runnerUp = 0;
  const sepBins = Number(COARSE_SEPARATION / COARSE_BIN);
  for (const b of votes.keys()) if (Math.abs(b - best) > sepBins) runnerUp = Math.max(runnerUp, scoreOf(b));
  const near = (b: number) => voters.get(b) ?? 0;
  return {
    offsetNs: BigInt(best) * COARSE_BIN + COARSE_BIN / 2n,
    votes: bestScore,
    runnerUp,
    calls,
    voters: near(best) + Math.max(near(best - 1), near(best + 1)),
  };
}

interface Fine {
  readonly offsetNs: Nanos;
  readonly matched: number;
  readonly background: number;
  readonly spreadNs: Nanos;
  readonly pairs: number;
}

/** Step 2: the densest 20 µs window of marker − switch-out differences around a coarse offset. */
export function fineOffset(
  threads: ReadonlyMap<number, readonly Nanos[]>,
  markers: readonly ClockEvidenceMarker[],
  aroundNs: Nanos,
): Fine | null {
  const half = FINE_HALF_WIDTH_NS;
  const hist = new Int32Array((2 * half) / 1000 + 1);
  const deltas: number[] = [];
  let pairs = 0;
  for (const m of thin(markers, MAX_MARKERS)) {
    const outs = threads.get(m.tid);
    if (!outs?.length) continue;
    // Switch-outs K with |m − around − K| ≤ half.
    const centre = m.atNs - aroundNs;
    for (let k = lowerBound(outs, centre - BigInt(half)); k < outs.length; k++) {
      const d = centre - (outs[k] as bigint);
      if (d < -BigInt(half)) break;
      const x = Number(d) + half;
      const slot = hist[Math.floor(x / 1000)];
      if (slot !== undefined) hist[Math.floor(x / 1000)] = slot + 1;
      deltas.push(Number(d));
      pairs++;
    }
  }
  if (!pairs) return null;
  const win = FINE_WINDOW_NS / 1000;
  let sum = 0;
  for (let i = 0; i < win; i++) sum += hist[i] ?? 0;
  let best = 0;
  let bestSum = sum;
  const sums: number[] = [sum];
  for (let i = 1; i + win <= hist.length; i++) {
    sum += (hist[i + win - 1] ?? 0) - (hist[i - 1] ?? 0);
    sums.push(sum);
    if (sum > bestSum) {
      bestSum = sum;
      best = i;
    }
  }
  const sorted = [...sums].sort((a, b) => a - b);
  const background = sorted[sorted.length >> 1] ?? 0;
  // Within the densest window, its fullest microsecond: the sharp front of the latency.
  let mode = best;
  for (let i = best; i < best + win; i++) if ((hist[i] ?? 0) > (hist[mode] ?? 0)) mode = i;
  const startNs = mode * 1000 - half;
  const near = deltas
    .filter((d) => d >= startNs && d < startNs + SPREAD_WINDOW_NS)
    .map((d) => d - startNs)
    .sort((a, b) => a - b);
  const med = near[near.length >> 1] ?? 0;
  const dev = near.map((d) => Math.abs(d - med)).sort((a, b) => a - b);
  return {
    offsetNs: aroundNs + BigInt(startNs),
    matched: bestSum,
    background,
    spreadNs: BigInt(Math.round(dev[dev.length >> 1] ?? 0)),
    pairs,
  };
}

/**
 * The offset that puts perf's clock on the markers' epoch axis (see the module comment), or
 * why it cannot be placed. `source` names the marker source in the evidence and reasons.
 */
export function inferOffsetFromSwitches(
  perfThreads: readonly ClockEvidenceThread[],
  markers: readonly ClockEvidenceMarker[],
  intervals: readonly ClockEvidenceInterval[],
  source: string,
): OffsetInference {
  const threads = new Map<number, readonly Nanos[]>();
  for (const t of perfThreads) if (t.switchOuts.length) threads.set(t.tid, t.switchOuts);
  const shared = new Set(markers.filter((m) => threads.has(m.tid)).map((m) => m.tid));
  const base = {
    perfThreads: threads.size,
    [`${source}Markers`]: markers.length,
    sharedThreads: shared.size,
  };
  if (!threads.size)
    return {
      placed: false,
      reason: 'perf has no sched_switch events to match against',
      evidence: base,
    };
  if (!shared.size)
    return {
      placed: false,
      reason: `perf and ${source} share no thread id: they saw no moment in common`,
      evidence: base,
    };
  const coarse = coarseOffset(threads, intervals);
  // At least 5 calls agree (a count, not the weighted votes: a call's vote is split among the
  // gaps of its length, which grow with the capture — a 10 M-event capture repeats each gap
  // length hundreds of times — so an absolute vote threshold refused long captures), and the
  // weighted votes there clearly beat any offset more than 10 ms away.
  if (!coarse || coarse.voters < 5 || coarse.votes < 2 * coarse.runnerUp)
    return {
      placed: false,
      reason: coarse
        ? `${source}'s blocking calls match perf's off-CPU gaps at no single offset (best ${coarse.votes.toFixed(1)} votes, next ${coarse.runnerUp.toFixed(1)} more than 10 ms away)`
        : `no blocking ${source} call of 2 ms or more matches an off-CPU gap in perf`,
      evidence: {
        ...base,
        ...(coarse
          ? {
              coarseVotes: coarse.votes.toFixed(1),
              coarseRunnerUp: coarse.runnerUp.toFixed(1),
              coarseVoters: coarse.voters,
            }
          : {}),
      },
    };
  const fine = fineOffset(threads, markers, coarse.offsetNs);
  // The window must stand out of the background of unrelated switch-outs by many standard
  // deviations (Poisson), and by at least 20 markers.
  const excess = fine ? fine.matched - fine.background : 0;
  const z = fine ? excess / Math.sqrt(Math.max(fine.background, 1)) : 0;
  const evidence = {
    ...base,
    longCallsMatched: coarse.calls,
    coarseVoters: coarse.voters,
    coarseVotes: coarse.votes.toFixed(1),
    coarseRunnerUp: coarse.runnerUp.toFixed(1),
    ...(fine
      ? {
          pairsNearCoarse: fine.pairs,
          matchedIn20us: fine.matched,
          backgroundPer20us: fine.background,
          zScore: z.toFixed(1),
        }
      : {}),
  };
  if (!fine || excess < 20 || z < 8)
    return {
      placed: false,
      reason: `${source}'s moments show no sharp coincidence with perf's switch-outs near the coarse offset`,
      evidence,
    };
  const confidence = Math.min(0.95, 0.5 + 0.15 * Math.log2(z / 4));
  return {
    placed: true,
    offsetNs: fine.offsetNs,
    matched: fine.matched,
    markers: markers.length,
    spreadNs: fine.spreadNs,
    confidence: Math.round(confidence * 100) / 100,
    evidence,
  };
}
