import type { Nanos } from '@threadreel/model';

/**
 * Worker pools seen from the requests that wait for them: when was a pool saturated, and,
 * for a pool that runs a request's work off its own thread (libuv's threadpool under a Node
 * event loop), which worker ran that work when and when it sat in the pool's queue.
 * Pure bigint interval arithmetic; every interval is half-open `[startNs, endNs)`.
 */

export interface Interval {
  readonly startNs: Nanos;
  readonly endNs: Nanos;
}

const cmp = (a: bigint, b: bigint): number => (a < b ? -1 : a > b ? 1 : 0);

/** Sorted, non-overlapping union of the non-empty intervals (touching ones joined). */
export function mergeIntervals(list: readonly Interval[]): Interval[] {
  const sorted = list.filter((x) => x.endNs > x.startNs).sort((a, b) => cmp(a.startNs, b.startNs));
  const out: { startNs: bigint; endNs: bigint }[] = [];
  for (const x of sorted) {
    const last = out[out.length - 1];
    if (last && x.startNs <= last.endNs) {
      if (x.endNs > last.endNs) last.endNs = x.endNs;
    } else out.push({ startNs: x.startNs, endNs: x.endNs });
  }
  return out;
}

/** Intersection of two merged (sorted, disjoint) interval lists. */
export function intersectIntervals(a: readonly Interval[], b: readonly Interval[]): Interval[] {
  const out: Interval[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const x = a[i];
    const y = b[j];
    if (!x || !y) break;
    const s = x.startNs > y.startNs ? x.startNs : y.startNs;
    const e = x.endNs < y.endNs ? x.endNs : y.endNs;
    if (e > s) out.push({ startNs: s, endNs: e });
    if (x.endNs < y.endNs) i++;
    else j++;
  }
  return out;
}

/** `a` minus `b`, both merged lists. */
export function subtractIntervals(a: readonly Interval[], b: readonly Interval[]): Interval[] {
  const out: Interval[] = [];
  let j = 0;
  for (const x of a) {
    let start = x.startNs;
    while (j < b.length && (b[j]?.endNs ?? 0n) <= start) j++;
    let k = j;
    while (k < b.length) {
      const y = b[k];
      if (!y || y.startNs >= x.endNs) break;
      if (y.startNs > start) out.push({ startNs: start, endNs: y.startNs });
      if (y.endNs > start) start = y.endNs;
      if (start >= x.endNs) break;
      k++;
    }
    if (start < x.endNs) out.push({ startNs: start, endNs: x.endNs });
  }
  return out;
}

export function totalNs(list: readonly Interval[]): bigint {
  let t = 0n;
  for (const x of list) t += x.endNs - x.startNs;
  return t;
}

/**
 * Time inside `[fromNs, toNs)` during which every member of a pool was busy, given each
 * member's busy intervals (any order, may overlap). A pool with no members is never saturated.
 */
export function saturatedNs(
  busyByMember: readonly (readonly Interval[])[],
  fromNs: Nanos,
  toNs: Nanos,
): bigint {
  if (busyByMember.length === 0 || toNs <= fromNs) return 0n;
  let acc: Interval[] = [{ startNs: fromNs, endNs: toNs }];
  for (const busy of busyByMember) {
    acc = intersectIntervals(acc, mergeIntervals(busy));
    if (acc.length === 0) return 0n;
  }
  return totalNs(acc);
}

/** A request whose work a pool runs: when its own thread waited for that work. */
export interface OffloadRequest {
  readonly id: string;
  /** FIFO order: work submitted earlier is taken first (the handler's start). */
  readonly orderNs: Nanos;
  /** When the request's own thread waited with nothing else explaining it (merged or not). */
  readonly waits: readonly Interval[];
}

export interface OffloadWorker {
  readonly threadId: string;
  /** When the worker ran work (on CPU, in a file or socket syscall, runnable). */
  readonly busy: readonly Interval[];
}

/** A piece of a request's wait: its work ran on `threadId`, or sat queued (`null`). */
export interface OffloadPiece extends Interval {
  readonly threadId: string | null;
}

/**
 * Replays a FIFO pool: at each instant the requests waiting on it are ranked by `orderNs`,
 * the busy workers by when their current run of work began (the longest-running took the
 * oldest work), and the k-th waiting request is running on the k-th busy worker. A waiting
 * request with no busy worker left for it is queued (`threadId` null) when every worker is
 * busy; otherwise its wait is not the pool's doing and yields no piece. Sweep over the
 * boundaries of all waits and busy runs: O(b · (r + w)) for b boundaries, r requests and w
 * workers in flight at once.
 */
export function replayPool(
  requests: readonly OffloadRequest[],
  workers: readonly OffloadWorker[],
): Map<string, OffloadPiece[]> {
  const out = new Map<string, OffloadPiece[]>();
  if (workers.length === 0) return out;
  const waits = requests.map((r) => ({ r, list: mergeIntervals(r.waits) }));
  const runs = workers.map((w) => ({ w, list: mergeIntervals(w.busy) }));
  const points = new Set<bigint>();
  for (const { list } of waits) for (const x of list) points.add(x.startNs).add(x.endNs);
  if (points.size === 0) return out;
  const lo = [...points].reduce((a, b) => (b < a ? b : a));
  const hi = [...points].reduce((a, b) => (b > a ? b : a));
  for (const { list } of runs)
    for (const x of list) {
      if (x.endNs <= lo || x.startNs >= hi) continue;
      if (x.startNs > lo) points.add(x.startNs);
      if (x.endNs < hi) points.add(x.endNs);
    }
  const times = [...points].sort(cmp);
  // Cursors into each sorted list: the interval covering or following the current instant.
  const waitAt = waits.map(() => 0);
  const runAt = runs.map(() => 0);
  const covering = (list: readonly Interval[], cursor: number[], k: number, t: bigint): Interval | null => {
    let i = cursor[k] ?? 0;
    while (i < list.length && (list[i]?.endNs ?? 0n) <= t) i++;
    cursor[k] = i;
    const x = list[i];
    return x && x.startNs <= t ? x : null;
  };
  const push = (id: string, piece: OffloadPiece): void => {
    let list = out.get(id);
    if (!list) out.set(id, (list = []));
    const last = list[list.length - 1];
    if (last && last.threadId === piece.threadId && last.endNs === piece.startNs)
      list[list.length - 1] = { ...last, endNs: piece.endNs };
    else list.push(piece);
  };
  for (let i = 0; i + 1 < times.length; i++) {
    const t = times[i] ?? 0n;
    const next = times[i + 1] ?? t;
    const waiting: OffloadRequest[] = [];
    for (let k = 0; k < waits.length; k++) {
      const w = waits[k];
      if (w && covering(w.list, waitAt, k, t)) waiting.push(w.r);
    }
    if (waiting.length === 0) continue;
    const busy: { threadId: string; since: bigint }[] = [];
    for (let k = 0; k < runs.length; k++) {
      const run = runs[k];
      const x = run ? covering(run.list, runAt, k, t) : null;
      if (run && x) busy.push({ threadId: run.w.threadId, since: x.startNs });
    }
    waiting.sort((a, b) => cmp(a.orderNs, b.orderNs) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    busy.sort((a, b) => cmp(a.since, b.since) || (a.threadId < b.threadId ? -1 : 1));
    const saturated = busy.length >= workers.length;
    waiting.forEach((r, rank) => {
      const worker = busy[rank];
      if (worker) push(r.id, { startNs: t, endNs: next, threadId: worker.threadId });
      else if (saturated) push(r.id, { startNs: t, endNs: next, threadId: null });
    });
  }
  return out;
}
