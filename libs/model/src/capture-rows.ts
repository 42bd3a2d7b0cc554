import type { SpanKind } from './span-events.js';

/**
 * What correlation reads of a capture, row by row, with every time already on the epoch axis
 * (shifted by its file's clock offset) unless said otherwise. The store produces these rows
 * from its tables; libs/correlate consumes them through its read port (`CaptureSource`).
 */

/** Offset (ns) to add to a file's times, per file ordinal; files not listed are not on the axis. */
export type FileOffsets = ReadonlyMap<number, bigint>;

/** A source file of the capture and what correlation needs to place it on the time axis. */
export interface CaptureFile {
  id: string;
  ordinal: number;
  name: string;
  format: string | null;
  /** The clock its times are in, as the parser recognised it (null: not known). */
  clock: string | null;
  state: string;
  /** Header items the parser kept (perf's cmdline, clockid, reference pair…). */
  headers: Record<string, string>;
}

/** One OS thread of the capture, with the names and Java thread ids the sources gave it. */
export interface CorrelationThread {
  id: string;
  pid: number | null;
  tid: number;
  names: string[];
  javaIds: string[];
}

export interface SchedRow {
  timeNs: bigint;
  kind: 'out' | 'in' | 'wakeup';
  prevState: string | null;
  stackId: string | null;
  /** For wakeups: the waker's tid (the row's thread); for in: the thread switched out. */
  otherTid: number | null;
}

export interface SyscallRow {
  startNs: bigint;
  endNs: bigint;
  name: string;
  category: string;
  fdKind: string | null;
  target: string | null;
  futexAddr: string | null;
  futexOp: string | null;
}

export interface RuntimeRow {
  startNs: bigint;
  endNs: bigint;
  type: string;
  objectClass: string | null;
  address: string | null;
  ownerTid: number | null;
  stackId: string | null;
  target: string | null;
}

/** A cpu-clock / task-clock sample and its period (CPU ns since the thread's previous sample). */
export interface CpuClockRow {
  timeNs: bigint;
  periodNs: bigint;
}

export interface PauseRow {
  startNs: bigint;
  endNs: bigint;
  phase: string;
  gcId: number | null;
  kind: string;
}

export interface SpanRow {
  traceId: string;
  spanId: string;
  parentSpanId: string | null;
  name: string;
  kind: SpanKind;
  service: string | null;
  startNs: bigint;
  endNs: bigint;
  attributes: Record<string, unknown>;
}

export interface LogRow {
  timeNs: bigint | null;
  tid: number | null;
  threadName: string | null;
  traceIds: string[];
  spanId: string | null;
}

/** An accepted connection (strace accept/accept4): the acceptor's tid and the client's address. */
export interface AcceptRow {
  tid: number;
  timeNs: bigint;
  peer: string;
}

/** The first read of a connection (by client address) on a thread. */
export interface ReadRow {
  tid: number;
  timeNs: bigint;
  peer: string;
}

/** A FUTEX_WAKE (or REQUEUE) call seen by strace. */
export interface FutexWakeRow {
  readonly tid: number;
  readonly startNs: bigint;
  readonly addr: string;
}

/** An on-CPU sample of a thread (a sampling event, not a switch) and its interned stack. */
export interface WindowSample {
  threadId: string;
  timeNs: bigint;
  stackId: string | null;
}

/** One frame of an interned stack. */
export interface FrameRow {
  symbol: string;
  dso: string;
}

/** Frames (leaf first) per interned stack id. */
export type StackFramesById = Map<string, FrameRow[]>;

/**
 * What clock inference matches: one perf file's switch-outs per thread in perf's own clock, and
 * the moments another source saw on the same threads, on the epoch axis.
 */
export interface ClockEvidenceRows {
  switchOuts: Map<number, bigint[]>;
  moments: { tid: number; startNs: bigint; durationNs: bigint | null }[];
  /** Whether the perf file has switch-outs at all (on threads the other source did not see). */
  perfHasSwitches: boolean;
}

/** Appends to the list under `key`, creating it: O(1), unlike rebuilding the list each time. */
export function pushTo<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

/**
 * Appends every item, one push each: `target.push(...items)` passes the items as arguments,
 * and past ~100 k of them (a capture's wakeups, a long lane's tiles) that overflows the stack.
 */
export function appendAll<T>(target: T[], items: Iterable<T>): T[] {
  for (const x of items) target.push(x);
  return target;
}

/** A socket address as strace prints it, without the brackets around it (`[::1]:80` keeps its inner ones). */
export function bareAddress(addr: string): string {
  return addr.replace(/^\[|\]$/g, '');
}

/**
 * The client's address of an accepted connection, from accept's decorated return value:
 * `23<TCPv6:[[::ffff:127.0.0.1]:32897->[::ffff:127.0.0.1]:60356]>` → the part after `->`.
 */
export function acceptedPeer(ret: string): string | null {
  const m = /->(.+?)\]?>$/.exec(ret);
  return m?.[1] ? bareAddress(m[1]) : null;
}

/**
 * At most `max` of `sorted`, evenly spread over it: every ⌈n / max⌉-th item from the first.
 * Evidence read from a long capture is sampled this way, never as its first `max` items: the
 * beginning of a capture alone can match another source at many offsets where the whole cannot
 * (a workload that repeats), and it leaves the rest of the capture unchecked. The store's SQL
 * does the same (`row_number() % step`), so both implementations of the read port agree.
 */
export function evenlySpaced<T>(sorted: readonly T[], max: number): T[] {
  const step = Math.max(1, Math.ceil(sorted.length / max));
  if (step === 1) return [...sorted];
  const out: T[] = [];
  for (let i = 0; i < sorted.length; i += step) out.push(sorted[i] as T);
  return out;
}
