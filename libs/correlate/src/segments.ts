import {
  THREAD_STATES,
  type Nanos,
  type RuntimeEventType,
  type Segment,
  type SegmentSource,
  type StraceCategory,
  type ThreadState,
  type Wakeup,
} from '@threadreel/model';

/**
 * The per-thread segment builder: turns one thread's scheduler points, syscalls, runtime
 * events, GC pauses and on-CPU samples into {@link Segment}s (state intervals) and
 * {@link Wakeup} edges. Pure: no I/O, no clocks (all times are aligned epoch ns, bigint).
 *
 * ## Rules as implemented
 *
 * **Quality.** `sched` when at least one `in`/`out` point exists (wakeup-only data gives
 * edges but no on/off-CPU intervals); else `strace` when there are syscalls; else `samples`
 * when there are samples; else `none`.
 *
 * **1. Sched data** (exact on/off-CPU):
 * - `in` → next `out`: `cpu` (source `sched`).
 * - `out` with prev_state `R`/`R+` (any state starting with `R`): `runqueue` until the next `in`
 *   (preempted, prevState carried, reason `preempted`).
 * - `out` with any other prev_state: blocked until the first `wakeup` before the next `in`,
 *   then `runqueue` from that wakeup to the `in` (reason `woken, waiting for a CPU`). No
 *   wakeup before the `in`: blocked until the `in`. The blocked state, first evidence wins:
 *   1. the syscall in flight at the out time (`start ≤ t ≤ end`; nested/overlapping spans: the
 *      latest-starting covering span): category lock → `lock` (lockId `futex:<addr>`), net →
 *      `net`, file → `file`, sleep → `sleep`, poll → `idle`, other → `other` (source `strace`);
 *   2. (not for `t`) the runtime event covering it: park / monitor-enter / monitor-wait →
 *      `lock` (lockId `monitor:<class>` for monitors, `park:<class>` for parks), sleep →
 *      `sleep`, socket-* → `net`, file-* → `file` (source `runtime`);
 *   3. (not for `t`) `stackState(stackId)` of the out point (source `stack`);
 *   4. prev_state containing `D` → `file` (reason `uninterruptible (D) …`, source `sched`);
 *   5. prev_state `t` (ptrace stop: strace stops the thread at each syscall entry and exit) with
 *      no syscall in flight → `cpu`, reason `ptrace stop (strace overhead) while running`: it
 *      interrupted running code, so measurement overhead does not pose as a wait;
 *   6. else `other`, reason `blocked, no syscall/stack evidence`.
 *   Idle versus lock is decided by the stack (ARCHITECTURE.md): when evidence 1 or 2 says
 *   `lock` but the out point's stack says `idle` (a pool worker parked in its queue's take),
 *   the segment is `idle`, keeping the syscall/lock detail, with the stack's reason.
 *   Detail carried: syscall, target, lockId, blockedStackId, prevState, reason, and
 *   wakerThreadId/wakerStackId of the wakeup that ended the block (for a lock: the holder;
 *   when that waker is unknown, a runtime monitor-enter's `ownerThreadId` stands in).
 * - Every `wakeup` point inside the life yields a `Wakeup` edge (source `sched_wakeup`, waker,
 *   waker stack, and the lockId of the lock wait it ended).
 * - Before the first `in`/`out`: first is `out` → `cpu` before it. First is `in` → the thread
 *   was off-CPU: `runqueue` from the last wakeup before the `in` (when there is one), and
 *   before that only syscall/runtime intervals give a state; the rest is `unknown`.
 * - After the last point: after `in` → `cpu` to the life end (it never switched out again);
 *   after `out` → the blocked/runqueue state continues to the life end.
 *
 * **2. No sched, strace present** (quality `strace`): each syscall interval of at least
 * 50 µs gives its category state (poll → `idle`, other → `other`, lock → `lock`…, source
 * `strace`). Shorter syscalls are not evidence of blocking and count as gaps. Runtime intervals
 * fill what syscalls leave (source `runtime`). Gaps: `cpu` where on-CPU samples fall (a sample at
 * t covers [t − period/2, t + period/2)), else `unknown`.
 *
 * **3. Samples only** (quality `samples`): `cpu` around samples as above (runtime intervals
 * still apply where present), `unknown` elsewhere. The period is `samplePeriodNs`, else the
 * median gap between samples; a single sample without a period covers nothing.
 * **Nothing** (quality `none`): one `unknown` segment (source `none`) — or runtime intervals
 * where a runtime reported some.
 *
 * - On-CPU inside a blocking syscall (≥ 2 sampling periods, no sample in it): a lost
 *   switch-out; the syscall's state. On-CPU inside a file syscall of ≥ 50 µs: `file` (the
 *   kernel's file I/O path), reason naming the syscall.
 *
 * **4. GC pauses**: for a mutator thread any time inside a pause is `gc` (source `gc`, reason
 * `gc pause: <phase>[, gc #id]`), overriding everything and splitting segments. Overlapping
 * pauses are merged (the earlier one's phase names the union).
 *
 * **5. Output**: sorted, non-overlapping, contiguous, covering exactly [lifeStartNs,
 * lifeEndNs); zero-length segments dropped; adjacent segments with identical state and detail
 * merged. Everything is clipped to the life (points before it still set the state at its
 * start; wakeups outside it give no edge). `lifeEndNs ≤ lifeStartNs` → no segments.
 * Inconsistent input never throws:
 * - unsorted input is sorted (stable, so equal times keep input order);
 * - a span with end < start is ignored; overlapping syscall/runtime spans: the later one
 *   starts where it starts and the earlier one is cut there;
 * - `in` while on CPU (lost `out`): ignored, cpu continues;
 * - `in` not recorded (`perf record -p` keeps only events in the target's context, so the
 *   switch back onto a CPU is usually missing): the thread runs again at its first sign of
 *   running — the exit of the syscall in flight, its next syscall, its next sample, or, with a
 *   per-task CPU clock (`cpu-clock`/`task-clock` periods count the thread's own CPU ns), the
 *   next sample's time minus the part of its period not run before the switch-out;
 * - `out` while off CPU (lost `in`): the interval since the previous out is `unknown`
 *   (reason `lost sched_switch in …`), then the new out starts over;
 * - `wakeup` while on CPU or already runnable: an edge only, the state does not change;
 * - an unknown prev_state is treated as blocked (rule 6).
 *
 * **6. Cost**: O(n) passes; the syscall/runtime covering an `out` is found with a forward
 * cursor (amortised O(1), binary search on jumps or out-of-order queries), so O(n log n) at
 * most; sorting only when the input is not already sorted. {@link BuildStats} counts the basic
 * steps for tests (1 M sched points build in about half a second).
 */

const PTRACE_RUNNING = 'ptrace stop (strace overhead) while running';

export interface SchedPoint {
  /** sorted by timeNs; all times epoch ns (bigint) */
  readonly timeNs: Nanos;
  /** out: sched_switch prev=this thread; in: sched_switch next=this thread; wakeup: sched_wakeup/waking with pid=this thread */
  readonly kind: 'out' | 'in' | 'wakeup';
  /** for 'out': S, D, R, R+, t, I, D|K … */
  readonly prevState?: string;
  /** for 'out': where it blocked (interned stack id) */
  readonly stackId?: string;
  /** for 'wakeup': the thread that woke it (null: irq/idle/other process) */
  readonly wakerThreadId?: string | null;
  readonly wakerStackId?: string;
}
export interface SyscallSpan {
  readonly startNs: Nanos;
  readonly endNs: Nanos;
  readonly name: string;
  readonly category: StraceCategory;
  readonly target?: string;
  readonly fdKind?: string;
  readonly futexAddr?: string;
  readonly futexOp?: string;
}
export interface RuntimeSpan {
  readonly startNs: Nanos;
  readonly endNs: Nanos;
  readonly type: RuntimeEventType;
  readonly objectClass?: string;
  readonly address?: string;
  readonly ownerThreadId?: string | null;
  readonly stackId?: string;
  readonly target?: string;
}
export interface PauseSpan {
  readonly startNs: Nanos;
  readonly endNs: Nanos;
  readonly phase: string;
  readonly gcId?: number | null;
}
export interface ThreadInput {
  readonly threadId: string;
  /** observed life: segments cover exactly [lifeStart, lifeEnd) */
  readonly lifeStartNs: Nanos;
  readonly lifeEndNs: Nanos;
  readonly sched: readonly SchedPoint[];
  /** sorted by startNs, may overlap only if the source is broken */
  readonly syscalls: readonly SyscallSpan[];
  readonly runtime: readonly RuntimeSpan[];
  /** stop-the-world pauses of the thread's process (apply to mutator threads) */
  readonly pauses: readonly PauseSpan[];
  /** false for GC/VM/JIT threads: pauses do not apply */
  readonly mutator: boolean;
  /** on-CPU sample times (sorted), used when there is no sched data */
  readonly samples: readonly Nanos[];
  /**
   * Samples of a clock that counts the thread's own CPU time (perf `cpu-clock`/`task-clock`
   * recorded per task, `-p`/`-t`/a command), each with its period: the CPU ns the thread ran
   * since its previous sample of that event. Sorted by time. Dates a switch-in perf did not
   * record (see `resumeAt`).
   */
  readonly cpuClock?: readonly { readonly timeNs: Nanos; readonly periodNs: Nanos }[];
  readonly samplePeriodNs: Nanos | null;
  /** precomputed classification of an off-CPU stack */
  readonly stackState: (stackId: string) => StackVerdict | null;
}
export interface StackVerdict {
  readonly state: ThreadState;
  readonly reason: string;
  readonly lockId?: string;
}

export type SegmentQuality = 'sched' | 'strace' | 'samples' | 'none';

export interface BuildResult {
  segments: Segment[];
  wakeups: Wakeup[];
  quality: SegmentQuality;
}

/** Step counter (loop iterations, binary-search probes, sort comparisons) for complexity tests. */
export interface BuildStats {
  ops: number;
}

/** Syscalls shorter than this are not evidence of blocking without sched data. */
export const SHORT_SYSCALL_NS = 50_000n;

const VALID_STATES: ReadonlySet<string> = new Set(THREAD_STATES);

/** A segment as built internally (same shape; pieces are never mutated once pushed). */
type Piece = Segment;
type Mutable<T> = { -readonly [K in keyof T]: T[K] };
/**
 * Internal detail with every key present (undefined when absent): one hidden class for all of
 * them, so the hot loop stays monomorphic. {@link toSegment} drops the undefined keys.
 */
interface Full {
  state: ThreadState;
  source: SegmentSource;
  syscall: string | undefined;
  target: string | undefined;
  lockId: string | undefined;
  blockedStackId: string | undefined;
  wakerThreadId: string | undefined;
  wakerStackId: string | undefined;
  prevState: string | undefined;
  reason: string | undefined;
}

function full(state: ThreadState, source: SegmentSource, reason?: string): Full {
  return {
    state,
    source,
    syscall: undefined,
    target: undefined,
    lockId: undefined,
    blockedStackId: undefined,
    wakerThreadId: undefined,
    wakerStackId: undefined,
    prevState: undefined,
    reason,
  };
}

/** A segment with only the defined detail keys, always added in the same order. */
function toSegment(threadId: string, startNs: Nanos, endNs: Nanos, d: Full): Segment {
  const s: Mutable<Segment> = { threadId, startNs, endNs, state: d.state, source: d.source };
  if (d.syscall !== undefined) s.syscall = d.syscall;
  if (d.target !== undefined) s.target = d.target;
  if (d.lockId !== undefined) s.lockId = d.lockId;
  if (d.blockedStackId !== undefined) s.blockedStackId = d.blockedStackId;
  if (d.wakerThreadId !== undefined) s.wakerThreadId = d.wakerThreadId;
  if (d.wakerStackId !== undefined) s.wakerStackId = d.wakerStackId;
  if (d.prevState !== undefined) s.prevState = d.prevState;
  if (d.reason !== undefined) s.reason = d.reason;
  return s;
}

const maxN = (a: Nanos, b: Nanos): Nanos => (a > b ? a : b);
const minN = (a: Nanos, b: Nanos): Nanos => (a < b ? a : b);

/** Returns `items` sorted by `key` (stable); the same array when already sorted. */
function sortedBy<T>(items: readonly T[], key: (item: T) => Nanos, stats: BuildStats): readonly T[] {
  let sorted = true;
  for (let i = 1; i < items.length; i++) {
    stats.ops++;
    if (key(items[i - 1] as T) > key(items[i] as T)) {
      sorted = false;
      break;
    }
  }
  if (sorted) return items;
  return [...items].sort((a, b) => {
    stats.ops++;
    const ka = key(a);
    const kb = key(b);
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  });
}

function syscallState(category: StraceCategory): ThreadState {
  switch (category) {
    case 'lock':
      return 'lock';
    case 'net':
      return 'net';
    case 'file':
      return 'file';
    case 'sleep':
      return 'sleep';
    case 'poll':
      return 'idle';
    case 'other':
      return 'other';
  }
}

function runtimeState(type: RuntimeEventType): ThreadState | null {
  switch (type) {
    case 'park':
    case 'monitor-enter':
    case 'monitor-wait':
      return 'lock';
    case 'sleep':
      return 'sleep';
    case 'socket-read':
    case 'socket-write':
      return 'net';
    case 'file-read':
    case 'file-write':
    case 'file-force':
      return 'file';
    case 'thread-start':
    case 'thread-end':
      return null;
  }
}

/** FUTEX_WAKE / REQUEUE / CMP_REQUEUE release waiters: the caller does not wait. */
function isFutexRelease(s: SyscallSpan): boolean {
  return s.futexOp !== undefined && /WAKE|REQUEUE/.test(s.futexOp) && !/WAIT/.test(s.futexOp);
}

function syscallDetail(s: SyscallSpan): Full {
  const release = isFutexRelease(s);
  const d = full(
    release ? 'cpu' : syscallState(s.category),
    'strace',
    release ? 'futex wake: releasing, not waiting' : undefined,
  );
  d.syscall = s.name;
  d.target = s.target;
  if (s.category === 'lock' && s.futexAddr !== undefined && !release) d.lockId = `futex:${s.futexAddr}`;
  return d;
}

function runtimeDetail(r: RuntimeSpan, state: ThreadState): Full {
  const d = full(state, 'runtime', `runtime ${r.type}`);
  d.target = r.target;
  if (r.objectClass !== undefined) {
    if (r.type === 'monitor-enter' || r.type === 'monitor-wait') d.lockId = `monitor:${r.objectClass}`;
    else if (r.type === 'park') d.lockId = `park:${r.objectClass}`;
  }
  d.blockedStackId = r.stackId;
  if (r.ownerThreadId !== undefined && r.ownerThreadId !== null && state === 'lock') {
    d.wakerThreadId = r.ownerThreadId;
  }
  return d;
}

/**
 * Finds, among spans sorted by start, the latest-starting one with start ≤ t ≤ end. `maxEndIdx[i]`
 * is the index of the span with the largest end among 0..i (handles a broken, overlapping source).
 */
class CoverIndex<T extends { readonly startNs: Nanos; readonly endNs: Nanos }> {
  private readonly maxEndIdx: Int32Array;
  constructor(
    private readonly spans: readonly T[],
    private readonly stats: BuildStats,
  ) {
    this.maxEndIdx = new Int32Array(spans.length);
    let best = -1;
    let bestEnd = 0n;
    for (let i = 0; i < spans.length; i++) {
      stats.ops++;
      const s = spans[i] as T;
      if (best < 0 || s.endNs > bestEnd) {
        best = i;
        bestEnd = s.endNs;
      }
      this.maxEndIdx[i] = best;
    }
  }
  /** Index of the last span with start ≤ the previous query (queries usually come in time order). */
  private cursor = -1;
  private lastT: Nanos | null = null;
  covering(t: Nanos): T | null {
    const spans = this.spans;
    let i: number;
    if (this.lastT !== null && t >= this.lastT) {
      // Monotone queries: walk forward, amortised O(1); gallop to a binary search on big jumps.
      i = this.cursor;
      let steps = 0;
      while (i + 1 < spans.length && (spans[i + 1] as T).startNs <= t && steps < 8) {
        this.stats.ops++;
        i++;
        steps++;
      }
      if (steps === 8) i = this.search(t, i);
    } else {
      i = this.search(t, -1);
    }
    this.cursor = i;
    this.lastT = t;
    if (i < 0) return null;
    const last = spans[i] as T;
    if (last.endNs >= t) return last;
    const widest = this.spans[this.maxEndIdx[i] ?? 0] as T;
    return widest.endNs >= t ? widest : null;
  }
  /** Last index with start ≤ t, searching above `from`. */
  private search(t: Nanos, from: number): number {
    let lo = from + 1;
    let hi = this.spans.length;
    while (lo < hi) {
      this.stats.ops++;
      const mid = (lo + hi) >>> 1;
      if ((this.spans[mid] as T).startNs <= t) lo = mid + 1;
      else hi = mid;
    }
    return lo - 1;
  }
}

/**
 * Pieces of `top` laid over `base`. `base` is sorted, non-overlapping and contiguous; `top` is
 * sorted and non-overlapping. O(|base| + |top|).
 */
function overlay(base: readonly Piece[], top: readonly Piece[], stats: BuildStats): Piece[] {
  if (top.length === 0) return [...base];
  const out: Piece[] = [];
  let j = 0;
  for (const b of base) {
    let cursor = b.startNs;
    while (j < top.length) {
      stats.ops++;
      const t = top[j] as Piece;
      if (t.startNs >= b.endNs) break;
      if (t.endNs <= cursor) {
        j++;
        continue;
      }
      if (t.startNs > cursor) out.push({ ...b, startNs: cursor, endNs: t.startNs });
      const s = maxN(t.startNs, cursor);
      const e = minN(t.endNs, b.endNs);
      out.push({ ...t, startNs: s, endNs: e });
      cursor = e;
      if (t.endNs <= b.endNs) j++;
      else break;
    }
    if (cursor === b.startNs) out.push(b);
    else if (cursor < b.endNs) out.push({ ...b, startNs: cursor, endNs: b.endNs });
  }
  return out;
}

/** Clips pieces (sorted by start) to [lo, hi) and cuts overlaps: a later piece cuts the earlier one. */
function tidy(pieces: readonly Piece[], lo: Nanos, hi: Nanos, stats: BuildStats): Piece[] {
  const out: Piece[] = [];
  for (const p of pieces) {
    stats.ops++;
    const s = maxN(p.startNs, lo);
    const e = minN(p.endNs, hi);
    if (e <= s) continue;
    const prev = out[out.length - 1];
    if (prev !== undefined && prev.endNs > s) {
      if (prev.startNs >= s) out.pop();
      else out[out.length - 1] = { ...prev, endNs: s };
    }
    out.push(s === p.startNs && e === p.endNs ? p : { ...p, startNs: s, endNs: e });
  }
  return out;
}

function sameDetail(a: Piece, b: Piece): boolean {
  return (
    a.state === b.state &&
    a.source === b.source &&
    a.syscall === b.syscall &&
    a.target === b.target &&
    a.lockId === b.lockId &&
    a.blockedStackId === b.blockedStackId &&
    a.wakerThreadId === b.wakerThreadId &&
    a.wakerStackId === b.wakerStackId &&
    a.prevState === b.prevState &&
    a.reason === b.reason
  );
}

function unknownPiece(
  threadId: string,
  startNs: Nanos,
  endNs: Nanos,
  source: SegmentSource,
  reason: string,
): Piece {
  return { threadId, startNs, endNs, state: 'unknown', source, reason };
}

/** Sorted sample windows [t − p/2, t + p/2), unioned. */
function sampleWindows(
  threadId: string,
  samples: readonly Nanos[],
  periodNs: Nanos | null,
  stats: BuildStats,
): Piece[] {
  let period = periodNs !== null && periodNs > 0n ? periodNs : null;
  if (period === null && samples.length >= 2) {
    const gaps: Nanos[] = [];
    for (let i = 1; i < samples.length; i++) {
      stats.ops++;
      const g = (samples[i] as Nanos) - (samples[i - 1] as Nanos);
      if (g > 0n) gaps.push(g);
    }
    // Median by sort: O(n log n), only when the period is not given.
    gaps.sort((a, b) => {
      stats.ops++;
      return a < b ? -1 : a > b ? 1 : 0;
    });
    period = gaps[gaps.length >> 1] ?? null;
  }
  if (period === null) return [];
  const half = period / 2n;
  const out: Piece[] = [];
  for (const t of samples) {
    stats.ops++;
    const s = t - half;
    const e = t - half + period;
    const prev = out[out.length - 1];
    if (prev !== undefined && prev.endNs >= s) {
      if (e > prev.endNs) out[out.length - 1] = { ...prev, endNs: e };
    } else {
      out.push({ threadId, startNs: s, endNs: e, state: 'cpu', source: 'samples', reason: 'on-CPU samples' });
    }
  }
  return out;
}

function parseRunnable(prevState: string | undefined): boolean {
  return prevState !== undefined && prevState.startsWith('R');
}

function hasFlag(prevState: string | undefined, flag: string): boolean {
  if (prevState === undefined) return false;
  if (prevState === flag) return true;
  if (prevState.length <= 2 && !prevState.includes('|')) return prevState.replace('+', '') === flag;
  return prevState.split('|').some((f) => f === flag || f.replace('+', '') === flag);
}

/**
 * Builds one thread's segments and wakeup edges. See the module comment for the rules.
 * Never throws on inconsistent input.
 */
export function buildSegments(input: ThreadInput, stats: BuildStats = { ops: 0 }): BuildResult {
  const { threadId, lifeStartNs: L, lifeEndNs: E } = input;
  const validSpan = (s: { startNs: Nanos; endNs: Nanos }): boolean => s.endNs >= s.startNs;
  const sched = sortedBy(input.sched, (p) => p.timeNs, stats);
  const syscalls = sortedBy(input.syscalls.filter(validSpan), (s) => s.startNs, stats);
  const runtime = sortedBy(
    input.runtime.filter((r) => validSpan(r) && runtimeState(r.type) !== null),
    (r) => r.startNs,
    stats,
  );
  const samples = sortedBy(input.samples, (t) => t, stats);

  let hasSwitch = false;
  for (const p of sched) {
    stats.ops++;
    if (p.kind === 'in' || p.kind === 'out') {
      hasSwitch = true;
      break;
    }
  }
  const quality: SegmentQuality = hasSwitch
    ? 'sched'
    : syscalls.length > 0
      ? 'strace'
      : samples.length > 0
        ? 'samples'
        : 'none';

  const wakeups: Wakeup[] = [];
  let pieces: Piece[];

  const syscallPieces = (minDur: Nanos, lo: Nanos = L, hi: Nanos = E): Piece[] =>
    tidy(
      syscalls
        .filter((s) => s.endNs - s.startNs >= minDur && s.endNs > lo && s.startNs < hi)
        .map((s) => toSegment(threadId, s.startNs, s.endNs, syscallDetail(s))),
      L,
      E,
      stats,
    );
  const runtimePieces = (lo: Nanos = L, hi: Nanos = E): Piece[] =>
    tidy(
      runtime
        .filter((r) => r.endNs > lo && r.startNs < hi)
        .map((r) =>
          toSegment(threadId, r.startNs, r.endNs, runtimeDetail(r, runtimeState(r.type) ?? 'other')),
        ),
      L,
      E,
      stats,
    );

  if (hasSwitch) {
    pieces = buildFromSched(
      input,
      sched,
      syscalls,
      runtime,
      samples,
      wakeups,
      stats,
      syscallPieces,
      runtimePieces,
    );
  } else {
    // Wakeup-only sched data still yields edges.
    for (const p of sched) {
      stats.ops++;
      if (p.kind === 'wakeup' && p.timeNs >= L && p.timeNs < E) wakeups.push(wakeupEdge(threadId, p));
    }
    pieces = E > L ? [unknownPiece(threadId, L, E, 'none', 'no data')] : [];
    pieces = overlay(
      pieces,
      tidy(sampleWindows(threadId, samples, input.samplePeriodNs, stats), L, E, stats),
      stats,
    );
    pieces = overlay(pieces, runtimePieces(), stats);
    pieces = overlay(pieces, syscallPieces(SHORT_SYSCALL_NS), stats);
  }

  if (hasSwitch)
    pieces = overlay(
      pieces,
      tidy(unsampledBlocking(pieces, syscalls, samples, input, stats), L, E, stats),
      stats,
    );

  if (input.mutator && input.pauses.length > 0) {
    const pauses = sortedBy(input.pauses.filter(validSpan), (p) => p.startNs, stats);
    const gc: Piece[] = [];
    for (const p of pauses) {
      stats.ops++;
      const prev = gc[gc.length - 1];
      if (prev !== undefined && prev.endNs >= p.startNs) {
        if (p.endNs > prev.endNs) gc[gc.length - 1] = { ...prev, endNs: p.endNs };
        continue;
      }
      const id = p.gcId !== undefined && p.gcId !== null ? `, gc #${p.gcId}` : '';
      gc.push({
        threadId,
        startNs: p.startNs,
        endNs: p.endNs,
        state: 'gc',
        source: 'gc',
        reason: `gc pause: ${p.phase}${id}`,
      });
    }
    pieces = overlay(pieces, tidy(gc, L, E, stats), stats);
  }

  return { segments: finish(threadId, pieces, L, E, stats), wakeups, quality };
}

/**
 * A file syscall this long (the strace-only evidence threshold) spends its on-CPU time in the
 * kernel's I/O path: that time is `file`.
 */
const FILE_KERNEL_WORK_MIN_NS = SHORT_SYSCALL_NS;

/** A blocking syscall this long with no on-CPU sample inside cannot have been running throughout. */
const UNSAMPLED_BLOCKING_MIN_NS = 10_000_000n;

/**
 * perf drops events under load (LOST records), and a lost switch-out makes a blocked thread
 * look on-CPU. Where sched data says `cpu` inside a blocking syscall (lock, net, file, sleep,
 * poll; not a futex wake) that lasted at least two sampling periods (10 ms when unknown) and
 * took no on-CPU sample, the syscall's state wins: a thread running that long would have been
 * sampled. And on-CPU time inside a file syscall of at least 50 µs (fsync, a 32 KiB write) is
 * `file`: it is the kernel's file I/O path (copying to the page cache, writeback, the
 * journal commit), the cost of that file operation rather than the program's own work.
 */
function unsampledBlocking(
  pieces: readonly Piece[],
  syscalls: readonly SyscallSpan[],
  samples: readonly Nanos[],
  input: ThreadInput,
  stats: BuildStats,
): Piece[] {
  const minNs = input.samplePeriodNs !== null ? 2n * input.samplePeriodNs : UNSAMPLED_BLOCKING_MIN_NS;
  const out: Piece[] = [];
  let p = 0;
  let k = 0;
  for (const s of syscalls) {
    stats.ops++;
    const fileWork = s.category === 'file' && s.endNs - s.startNs >= FILE_KERNEL_WORK_MIN_NS;
    if (!fileWork) {
      if (s.category === 'other' || s.endNs - s.startNs < minNs || isFutexRelease(s)) continue;
      while (k < samples.length && (samples[k] as Nanos) < s.startNs) k++;
      if (k < samples.length && (samples[k] as Nanos) < s.endNs) continue;
    }
    while (p < pieces.length && (pieces[p] as Piece).endNs <= s.startNs) p++;
    for (let q = p; q < pieces.length && (pieces[q] as Piece).startNs < s.endNs; q++) {
      stats.ops++;
      const piece = pieces[q] as Piece;
      if (piece.state !== 'cpu') continue;
      const d = syscallDetail(s);
      d.reason = fileWork
        ? `on CPU inside ${s.name}: the kernel's file I/O path (page-cache copy, writeback, journal)`
        : 'in a blocking syscall with no on-CPU sample (a sched_switch was likely lost)';
      out.push(toSegment(input.threadId, maxN(piece.startNs, s.startNs), minN(piece.endNs, s.endNs), d));
    }
  }
  return out;
}

function wakeupEdge(threadId: string, p: SchedPoint, lockId?: string): Wakeup {
  const w: Mutable<Wakeup> = {
    timeNs: p.timeNs,
    wakerThreadId: p.wakerThreadId ?? null,
    wakeeThreadId: threadId,
    source: 'sched_wakeup',
  };
  if (p.wakerStackId !== undefined) w.wakerStackId = p.wakerStackId;
  if (lockId !== undefined) w.lockId = lockId;
  return w;
}

/** The blocked state at an `out` point (rule 1, evidence order). */
/** How far before a traced syscall's printed start its ptrace entry stop may be. */
const PTRACE_LEAD_NS = 2_000_000n;

function classifyOut(
  input: ThreadInput,
  p: SchedPoint,
  sysIdx: CoverIndex<SyscallSpan>,
  rtIdx: CoverIndex<RuntimeSpan>,
  nextSyscall: (t: Nanos) => SyscallSpan | null,
): Full {
  const prevState = p.prevState;
  const traced = hasFlag(prevState, 't');
  let stack: StackVerdict | null | undefined;
  const stackVerdict = (): StackVerdict | null => {
    if (stack === undefined) {
      stack = null;
      if (p.stackId !== undefined) {
        try {
          const v = input.stackState(p.stackId);
          stack = v !== null && VALID_STATES.has(v.state) ? v : null;
        } catch {
          stack = null;
        }
      }
    }
    return stack;
  };
  const withCommon = (d: Full): Full => {
    if (d.blockedStackId === undefined) d.blockedStackId = p.stackId;
    d.prevState = prevState;
    return d;
  };
  /** Lock evidence from a syscall/runtime, but the stack says idle (pool worker on its queue). */
  const idleByStack = (d: Full): Full => {
    if (d.state !== 'lock' || traced) return d;
    const v = stackVerdict();
    if (v !== null && v.state === 'idle') {
      d.state = 'idle';
      d.reason = v.reason;
    }
    return d;
  };

  const sys = sysIdx.covering(p.timeNs);
  if (sys !== null) return withCommon(idleByStack(syscallDetail(sys)));
  // A ptrace stop outside any traced syscall interrupts code that was running (strace stops the
  // thread at each syscall entry and exit before it prints it): measurement overhead on top of
  // on-CPU work, so it keeps that state rather than inventing a wait.
  if (traced) {
    // strace stops a thread at a syscall's entry before it reads the time it prints: a stop just
    // before a traced syscall belongs to that syscall.
    const next = nextSyscall(p.timeNs);
    if (next !== null && next.startNs - p.timeNs <= PTRACE_LEAD_NS) return withCommon(syscallDetail(next));
    return withCommon(full('cpu', 'sched', PTRACE_RUNNING));
  }
  const rt = rtIdx.covering(p.timeNs);
  if (rt !== null) return withCommon(idleByStack(runtimeDetail(rt, runtimeState(rt.type) ?? 'other')));
  const v = stackVerdict();
  if (v !== null) {
    const d = full(v.state, 'stack', v.reason);
    d.lockId = v.lockId;
    return withCommon(d);
  }
  if (hasFlag(prevState, 'D')) {
    return withCommon(full('file', 'sched', 'uninterruptible (D), no syscall/stack evidence'));
  }
  return withCommon(full('other', 'sched', 'blocked, no syscall/stack evidence'));
}

type Mode = 'start' | 'run' | 'blocked' | 'rq-preempt' | 'rq-woken';

function buildFromSched(
  input: ThreadInput,
  sched: readonly SchedPoint[],
  syscalls: readonly SyscallSpan[],
  runtime: readonly RuntimeSpan[],
  samples: readonly Nanos[],
  wakeups: Wakeup[],
  stats: BuildStats,
  syscallPieces: (minDur: Nanos, lo?: Nanos, hi?: Nanos) => Piece[],
  runtimePieces: (lo?: Nanos, hi?: Nanos) => Piece[],
): Piece[] {
  const { threadId, lifeStartNs: L, lifeEndNs: E } = input;
  const sysIdx = new CoverIndex(syscalls, stats);
  /** First index in a sorted array whose key is > t. */
  const firstAfter = <T>(arr: readonly T[], key: (x: T) => Nanos, t: Nanos): number => {
    let lo = 0;
    let hi = arr.length;
    while (lo < hi) {
      stats.ops++;
      const mid = (lo + hi) >>> 1;
      if (key(arr[mid] as T) <= t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  /**
   * When a thread that went off-CPU at \`after\` was next seen running, before \`before\`:
   * \`perf record -p\` keeps only events in the target's context, so the sched_switch that puts
   * a thread back on a CPU is usually missing (it runs in the context of the task leaving the
   * CPU, often another process or the idle task). The earliest of: the exit of the syscall in
   * flight at \`after\` (strace prints it when the thread runs again), the next syscall entry,
   * the next on-CPU sample. Null when nothing shows it running before \`before\`.
   */
  const cpuClock = input.cpuClock ?? [];
  const resumeAt = (after: Nanos, before: Nanos): Nanos | null => {
    let best: Nanos | null = null;
    const take = (t: Nanos | undefined): void => {
      if (t !== undefined && t > after && t < before && (best === null || t < best)) best = t;
    };
    const inFlight = sysIdx.covering(after);
    if (inFlight !== null) take(inFlight.endNs);
    take(syscalls[firstAfter(syscalls, (x) => x.startNs, after)]?.startNs);
    take(samples[firstAfter(samples, (x) => x, after)]);
    take(cpuClockResume(after, before));
    return best;
  };
  /**
   * A per-task CPU clock sample at s1 after `after` says the thread ran `period` ns since its
   * previous sample s0: what it ran in [s0, after] is known (the cpu pieces so far), so the
   * rest ran right before s1 — it was back on a CPU at s1 − (period − ran). Null when no such
   * sample lies in (after, before) or the arithmetic leaves the interval.
   */
  const cpuClockResume = (after: Nanos, before: Nanos): Nanos | undefined => {
    const k = firstAfter(cpuClock, (x) => x.timeNs, after);
    const s1 = cpuClock[k];
    const s0 = cpuClock[k - 1];
    if (s1 === undefined || s0 === undefined || s1.timeNs >= before) return undefined;
    let ran = 0n;
    for (let i = out.length - 1; i >= 0; i--) {
      stats.ops++;
      const piece = out[i] as Piece;
      if (piece.endNs <= s0.timeNs) break;
      if (piece.state !== 'cpu' || piece.reason === PTRACE_RUNNING) continue;
      const from = piece.startNs > s0.timeNs ? piece.startNs : s0.timeNs;
      const to = piece.endNs < after ? piece.endNs : after;
      if (to > from) ran += to - from;
    }
    const rest = s1.periodNs - ran;
    if (rest <= 0n) return undefined;
    const t = s1.timeNs - rest;
    return t > after ? t : undefined;
  };
  const rtIdx = new CoverIndex(runtime, stats);
  const out: Piece[] = [];
  /** Emits only what can survive clipping: keeps the output proportional to the points. */
  const emit = (p: Piece): void => {
    if (p.endNs > p.startNs && p.endNs > L && p.startNs < E) out.push(p);
  };

  let mode: Mode = 'start';
  let since: Nanos = L;
  let blocked: Full | null = null;
  let outPoint: SchedPoint | null = null;
  let lastStartWake: SchedPoint | null = null;

  /** `blocked` is a fresh object per `out` (from classifyOut): completed in place, then emitted. */
  const closeBlocked = (end: Nanos, waker: SchedPoint | null): void => {
    if (blocked === null) return;
    const d = blocked;
    if (waker !== null) {
      if (waker.wakerThreadId !== undefined && waker.wakerThreadId !== null) {
        d.wakerThreadId = waker.wakerThreadId;
      }
      if (waker.wakerStackId !== undefined) d.wakerStackId = waker.wakerStackId;
    }
    if (end > since && end > L && since < E) out.push(toSegment(threadId, since, end, d));
  };

  for (const p of sched) {
    stats.ops++;
    const t = p.timeNs;
    switch (p.kind) {
      case 'wakeup': {
        let lockId: string | undefined;
        if (mode === 'blocked') {
          lockId = blocked?.state === 'lock' ? blocked.lockId : undefined;
          closeBlocked(t, p);
          mode = 'rq-woken';
          since = t;
          blocked = null;
        } else if (mode === 'start') {
          lastStartWake = p;
        }
        if (t >= L && t < E) wakeups.push(wakeupEdge(threadId, p, lockId));
        break;
      }
      case 'in': {
        if (mode === 'run') break; // lost `out`: cpu continues
        if (mode === 'start') {
          // Off-CPU before the first `in`: runqueue after the last wakeup, evidence-only before.
          const offEnd = lastStartWake !== null ? lastStartWake.timeNs : t;
          if (offEnd > L) {
            const hi = minN(offEnd, E);
            let region: Piece[] = [
              unknownPiece(threadId, L, hi, 'sched', 'off-CPU before the first sched_switch'),
            ];
            region = overlay(region, clipTo(runtimePieces(L, hi), L, hi), stats);
            region = overlay(region, clipTo(syscallPieces(0n, L, hi), L, hi), stats);
            for (const r of region) emit(r);
          }
          if (lastStartWake !== null) {
            emit({
              threadId,
              startNs: maxN(lastStartWake.timeNs, L),
              endNs: t,
              state: 'runqueue',
              source: 'sched',
              reason: 'woken, waiting for a CPU',
            });
          }
        } else if (mode === 'blocked') {
          closeBlocked(t, null);
        } else {
          emit({
            threadId,
            startNs: since,
            endNs: t,
            state: 'runqueue',
            source: 'sched',
            ...(mode === 'rq-preempt'
              ? {
                  reason: 'preempted',
                  ...(outPoint?.prevState !== undefined ? { prevState: outPoint.prevState } : {}),
                }
              : { reason: 'woken, waiting for a CPU' }),
          });
        }
        mode = 'run';
        since = t;
        blocked = null;
        outPoint = null;
        break;
      }
      case 'out': {
        if (mode === 'start') {
          emit({ threadId, startNs: L, endNs: t, state: 'cpu', source: 'sched' });
        } else if (mode === 'run') {
          emit({ threadId, startNs: since, endNs: t, state: 'cpu', source: 'sched' });
        } else {
          // The switch back in was not recorded (perf -p): it ran again at the first evidence.
          const r = resumeAt(since, t);
          const back = r ?? t;
          if (mode === 'blocked') closeBlocked(back, null);
          else if (back > since)
            emit({
              threadId,
              startNs: since,
              endNs: back,
              state: 'runqueue',
              source: 'sched',
              ...(mode === 'rq-preempt'
                ? {
                    reason: 'preempted',
                    ...(outPoint?.prevState !== undefined ? { prevState: outPoint.prevState } : {}),
                  }
                : { reason: 'woken, waiting for a CPU' }),
            });
          if (back < t)
            emit({
              threadId,
              startNs: back,
              endNs: t,
              state: 'cpu',
              source: 'sched',
              reason: 'on CPU from its first sign of running (switch-in not recorded)',
            });
        }
        since = t;
        outPoint = p;
        if (parseRunnable(p.prevState)) {
          mode = 'rq-preempt';
          blocked = null;
        } else {
          mode = 'blocked';
          blocked = classifyOut(
            input,
            p,
            sysIdx,
            rtIdx,
            (t) => syscalls[firstAfter(syscalls, (x) => x.startNs, t)] ?? null,
          );
        }
        break;
      }
    }
  }

  // After the last point.
  if (since < E) {
    switch (mode) {
      case 'run':
        emit({ threadId, startNs: since, endNs: E, state: 'cpu', source: 'sched' });
        break;
      case 'blocked': {
        const back = resumeAt(since, E) ?? E;
        closeBlocked(back, null);
        if (back < E)
          emit({
            threadId,
            startNs: back,
            endNs: E,
            state: 'cpu',
            source: 'sched',
            reason: 'on CPU from its first sign of running (switch-in not recorded)',
          });
        break;
      }
      case 'rq-preempt':
        emit({
          threadId,
          startNs: since,
          endNs: E,
          state: 'runqueue',
          source: 'sched',
          reason: 'preempted',
          ...(outPoint?.prevState !== undefined ? { prevState: outPoint.prevState } : {}),
        });
        break;
      case 'rq-woken':
        emit({
          threadId,
          startNs: since,
          endNs: E,
          state: 'runqueue',
          source: 'sched',
          reason: 'woken, waiting for a CPU',
        });
        break;
      case 'start':
        break;
    }
  }
  return out;
}

function clipTo(pieces: readonly Piece[], lo: Nanos, hi: Nanos): Piece[] {
  const out: Piece[] = [];
  for (const p of pieces) {
    const s = maxN(p.startNs, lo);
    const e = minN(p.endNs, hi);
    if (e > s) out.push({ ...p, startNs: s, endNs: e });
  }
  return out;
}

/**
 * Final pass: clip to [L, E), drop empty pieces, fill holes with `unknown`, resolve any overlap
 * (a later piece starts where it starts), merge equal neighbours.
 */
function finish(
  threadId: string,
  pieces: readonly Piece[],
  L: Nanos,
  E: Nanos,
  stats: BuildStats,
): Segment[] {
  if (E <= L) return [];
  const ordered = sortedBy(pieces, (p) => p.startNs, stats);
  const clipped = tidy(ordered, L, E, stats);
  const out: Piece[] = [];
  let cursor = L;
  const push = (p: Piece): void => {
    const prev = out[out.length - 1];
    if (prev !== undefined && prev.endNs === p.startNs && sameDetail(prev, p)) {
      out[out.length - 1] = { ...prev, endNs: p.endNs };
    } else {
      out.push(p);
    }
  };
  for (const p of clipped) {
    stats.ops++;
    if (p.startNs > cursor) push(unknownPiece(threadId, cursor, p.startNs, 'none', 'no data'));
    push(p);
    cursor = p.endNs;
  }
  if (cursor < E) push(unknownPiece(threadId, cursor, E, 'none', 'no data'));
  return out;
}
