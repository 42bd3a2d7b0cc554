import type {
  AcceptRow,
  CaptureFile,
  ClockEvidenceRows,
  CorrelationThread,
  CpuClockRow,
  FileOffsets,
  FutexWakeRow,
  LogRow,
  PauseRow,
  ReadRow,
  RequestAnalysis,
  RuntimeRow,
  SchedRow,
  Segment,
  SpanBinding,
  SpanRow,
  StackFramesById,
  SyscallRow,
  Wakeup,
  WindowSample,
} from '@threadreel/model';

/**
 * The two ports of `correlate(source, sink)` (ARCHITECTURE.md, "Correlation as a pipeline"):
 * what correlation reads of one capture ({@link CaptureSource}) and what it writes
 * ({@link CorrelationSink}). libs/store implements both against Postgres (and owns every
 * physical layout behind them); an in-memory implementation runs whole captures in specs.
 * Both are bound to one capture. Row types live in libs/model (the store produces them too).
 */

/** The clock offsets per source kind that place a thread's events on the epoch axis. */
export interface EventOffsets {
  /** perf files (sched_switch, wakeups, samples). */
  readonly perf: FileOffsets;
  /** strace files (syscalls). */
  readonly strace: FileOffsets;
  /** runtime profilers (JFR events). */
  readonly runtime: FileOffsets;
}

/** Everything of one thread the segment builder reads, each list in time order, on the epoch axis. */
export interface ThreadEvents {
  /** Switch-outs and wakeups of the thread, and switch-ins to it (`in`: the thread switched out is `otherTid`). */
  readonly sched: readonly SchedRow[];
  readonly syscalls: readonly SyscallRow[];
  readonly runtime: readonly RuntimeRow[];
  /** Times of on-CPU samples (sampling events). */
  readonly samples: readonly bigint[];
  /** cpu-clock / task-clock samples with a period. */
  readonly cpuClock: readonly CpuClockRow[];
}

/**
 * The read port: a capture's parsed events. Per-thread reads return one thread's events (the
 * unit of streaming: memory is bounded by the largest thread, not the capture); windowed reads
 * return what a request's window needs. Times on the epoch axis unless a method says otherwise.
 */
export interface CaptureSource {
  /** The capture's source files, by ordinal. */
  files(): Promise<CaptureFile[]>;
  /** Clocks a file's rows use (GC logs carry one per row). */
  rowClocks(fileOrdinal: number): Promise<string[]>;
  /**
   * One perf file's switch-outs (in perf's own clock) on the busiest threads another source
   * (`strace` syscalls or `runtime` events, placed by `offsets`) saw too, and that source's
   * moments on them.
   */
  clockEvidence(
    perfOrdinal: number,
    source: 'strace' | 'runtime',
    offsets: FileOffsets,
  ): Promise<ClockEvidenceRows>;
  /** Raw GC pauses of one file and clock, in that clock (for anchoring it). */
  rawPauses(fileOrdinal: number, clock: string): Promise<{ startNs: bigint; endNs: bigint }[]>;
  /**
   * Times of perf samples whose stack holds a frame matching `symbolPattern` (a PostgreSQL-style
   * regular expression, also valid in JS): moments a thread was inside that code. At most 5000,
   * evenly spread over the capture (libs/model `evenlySpaced`), in time order.
   */
  markerTimes(offsets: FileOffsets, symbolPattern: string): Promise<bigint[]>;
  /**
   * The capture's threads: one per OS thread any source names (under the pid a source gives,
   * else `targetPid`), with every name and Java thread id the sources gave it, by tid.
   */
  threads(targetPid: number | null): Promise<CorrelationThread[]>;
  /** One thread's events, each kind in time order (`id` for samples, `tid` for the rest). */
  threadEvents(thread: Pick<CorrelationThread, 'id' | 'tid'>, offsets: EventOffsets): Promise<ThreadEvents>;
  /** Frames (leaf first) of interned stacks; unknown ids are left out. */
  stackFrames(stackIds: readonly string[]): Promise<StackFramesById>;
  /** Up to `perThread` distinct stacks sampled on each thread, to tell what a thread is. */
  threadStacks(threadIds: readonly string[], perThread?: number): Promise<Map<string, string[]>>;
  /** Stop-the-world pauses and safepoints, placed by per `file ordinal:clock` offsets, by start. */
  pauses(gcOffsets: ReadonlyMap<string, bigint>): Promise<PauseRow[]>;
  /** FUTEX_WAKE / REQUEUE calls (who released which futex when), by time. */
  futexWakes(offsets: FileOffsets): Promise<FutexWakeRow[]>;
  /** The capture's spans (one per trace and span id). */
  spans(): Promise<SpanRow[]>;
  /** Log records that carry a trace id, by time (their times as the logs printed them). */
  tracedLogs(): Promise<LogRow[]>;
  /** Accepted connections (strace accept/accept4) with the client's address, by time. */
  accepts(offsets: FileOffsets): Promise<AcceptRow[]>;
  /** The first read of each connection (by client address) on each thread. */
  firstReads(offsets: FileOffsets): Promise<ReadRow[]>;
  /** On-CPU samples of the threads in [fromNs, toNs) (epoch axis), with their stacks. */
  samplesInWindow(
    threadIds: readonly string[],
    fromNs: bigint,
    toNs: bigint,
    offsets: FileOffsets,
  ): Promise<WindowSample[]>;
}

/**
 * The write port: what correlation derives. Clock placements and thread facts are recorded as
 * they are decided; segments, wakeups, bindings and requests replace the capture's earlier ones
 * at `commit` (all or nothing: `rollback` keeps the earlier ones).
 */
export interface CorrelationSink {
  /** A file's (or its first clock's) place on the epoch axis, how it was found and the evidence. */
  recordClock(
    fileId: string,
    offsetNs: bigint | null,
    method: string,
    evidence: Record<string, unknown>,
  ): Promise<void>;
  /** The pool a thread belongs to and the quality of its segments. */
  threadInfo(threadId: string, pool: string | null, quality: string): Promise<void>;
  /** One thread's segments (sorted, disjoint) and the wakeup edges that end on it. */
  threadSegments(threadId: string, segments: readonly Segment[], wakeups: readonly Wakeup[]): Promise<void>;
  /**
   * The views the store derives from a thread's segments for replay (its level-of-detail and
   * tiles): built whole before any is written, so a failure leaves the views out, not half
   * written, and costs the thread's views only (its segments are already kept).
   */
  threadViews(threadId: string, segments: readonly Segment[]): Promise<void>;
  bindings(bindings: readonly SpanBinding[]): Promise<void>;
  /**
   * The segments written so far for a thread that overlap [fromNs, toNs), in start order (what
   * request analysis reads per request, before the commit).
   */
  segmentsInWindow(threadId: string, fromNs: bigint, toNs: bigint): Promise<Segment[]>;
  /** Writes the requests' breakdowns and makes everything written visible at once. */
  commit(requests: readonly RequestAnalysis[]): Promise<void>;
  rollback(): Promise<void>;
}
