import type { Cause, ThreadState } from './states.js';
import type { Nanos } from './time.js';

/**
 * What the correlate job derives from a capture's events: per-thread segments, wakeup
 * edges, span bindings and per-request breakdowns. Times are epoch ns after clock alignment.
 * Thread ids are the `threads.id` surrogate of the capture (as text: it is an int8).
 */

/** Where a segment's state was read from, best evidence first. */
export type SegmentSource =
  /** sched_switch / sched_wakeup: exact on/off-CPU and runqueue. */
  | 'sched'
  /** strace: a syscall in flight says why the thread was blocked. */
  | 'strace'
  /** the kernel/user stack at sched_switch says why (futex_wait, Unsafe.park, do_nanosleep…). */
  | 'stack'
  /** a runtime event (JFR park, monitor enter, socket read…). */
  | 'runtime'
  /** a stop-the-world GC pause or safepoint of the thread's process. */
  | 'gc'
  /** on-CPU samples only (no scheduler data): cpu where sampled, unknown elsewhere. */
  | 'samples'
  /** nothing observed. */
  | 'none';

/** One interval of one thread in one state. A thread's segments never overlap and cover its observed life. */
export interface Segment {
  readonly threadId: string;
  readonly startNs: Nanos;
  /** Exclusive. */
  readonly endNs: Nanos;
  readonly state: ThreadState;
  readonly source: SegmentSource;
  /** The syscall in flight (`futex`, `read`, `fsync`, `epoll_wait`…). */
  readonly syscall?: string;
  /** Socket peer `ip:port` (net) or file path (file). */
  readonly target?: string;
  /** Futex user address (`futex:0x7f…`) or monitor class (`monitor:java.lang.Object`). */
  readonly lockId?: string;
  /** The off-CPU stack (sched_switch stack, JFR stack), an interned stack id. */
  readonly blockedStackId?: string;
  /** The thread whose wakeup ended this blocked segment (for a lock: its holder). */
  readonly wakerThreadId?: string;
  /** The waker's stack at the wakeup (the holder's code at release). */
  readonly wakerStackId?: string;
  /** sched prev_state when the thread went off-CPU (`S`, `D`, `R+`, `t`…). */
  readonly prevState?: string;
  /** Why this state was chosen, when not obvious (e.g. `epoll_wait on the listener → idle`). */
  readonly reason?: string;
}

/** Where a wakeup edge comes from. */
export type WakeupSource = 'sched_wakeup' | 'sched_waking' | 'futex' | 'jfr-owner';

/** Thread A (the waker) made thread B runnable at `timeNs`. */
export interface Wakeup {
  readonly timeNs: Nanos;
  /** Null when the waker is not a thread of the capture (irq, swapper, another process). */
  readonly wakerThreadId: string | null;
  readonly wakeeThreadId: string;
  readonly wakerStackId?: string;
  readonly source: WakeupSource;
  readonly lockId?: string;
}

/** How a span was tied to a thread. */
export type BindingMethod =
  /** the span's `thread.id` attribute is the OS tid. */
  | 'tid-attribute'
  /** `thread.id` is a Java thread id, mapped to the OS tid via JFR or jstack. */
  | 'java-thread-id'
  /** `thread.name` matched one thread's name (kernel comm or runtime name). */
  | 'thread-name'
  /** log lines carrying the span or trace id were written by the thread. */
  | 'log-lines'
  /** strace: the acceptor accepted fd N, a worker's first read of fd N started the request. */
  | 'fd-handoff';

/** Span S executed on thread T during [startNs, endNs). */
export interface SpanBinding {
  readonly traceId: string;
  readonly spanId: string;
  readonly threadId: string;
  readonly startNs: Nanos;
  readonly endNs: Nanos;
  readonly method: BindingMethod;
  /** 0..1. */
  readonly confidence: number;
}

/** Evidence of a lock wait inside a request. */
export interface LockEvidence {
  /** Futex address or monitor class. */
  readonly lockId: string | null;
  readonly waitNs: Nanos;
  readonly waiterThreadId: string;
  /** The holder: the thread whose wakeup ended the wait (its release). */
  readonly holderThreadId: string | null;
  readonly holderName: string | null;
  /** The holder's stack when it released the lock. */
  readonly holderStackId: string | null;
  /**
   * Wait chain: waiter → holder → the holder's own holder…; when the walk comes back to a
   * thread already in it, that thread is appended once more and the walk stops (that alone is
   * not a deadlock: see `deadlock`).
   */
  readonly chain: readonly string[];
  /**
   * Per chain thread after the waiter (`chain[i + 1]`): how much of the wait it accounts
   * for, walking back from the release — in a convoy each earlier holder's tenure, with
   * nested locks the time it kept the previous thread waiting. May cover less than the
   * wait when the chain stops (a holder not seen).
   */
  readonly chainHeldNs: readonly Nanos[];
  /**
   * A deadlock during the wait: a cycle of lock waits overlapping in time, each thread blocked
   * on a lock the next one held, all at once (`deadlockCycle` says which). Not a chain that
   * merely comes back to a thread at other times (a waker ping-pong).
   */
  readonly deadlock: boolean;
  readonly deadlockCycle?: DeadlockCycle;
}

/** Threads each blocked on a lock the next one held, all during [fromNs, toNs). */
export interface DeadlockCycle {
  /** `threadIds[i]` waited on `lockIds[i]`, held by `threadIds[i + 1]` (the last by the first). */
  readonly threadIds: readonly string[];
  readonly lockIds: readonly (string | null)[];
  readonly fromNs: Nanos;
  readonly toNs: Nanos;
}

export interface GcEvidence {
  readonly phase: string;
  readonly startNs: Nanos;
  readonly durationNs: Nanos;
  readonly gcId: number | null;
}

export interface PoolQueueEvidence {
  readonly pool: string;
  readonly size: number;
  /** Workers busy when the request arrived. */
  readonly busy: number;
  readonly waitNs: Nanos;
  /** For an event loop: the request whose handler held the loop, and its top frames. */
  readonly blockingTraceId?: string;
  readonly blockingFrames?: readonly string[];
}

export interface PeerEvidence {
  readonly peer: string;
  readonly totalNs: Nanos;
  readonly calls: number;
  readonly slowestNs: Nanos;
}

export interface FileEvidence {
  readonly path: string;
  readonly totalNs: Nanos;
  readonly ops: Readonly<Record<string, number>>;
  /**
   * Set when the file is the profiler's own (a JIT symbol map such as `/tmp/perf-PID.map`
   * that `--perf-basic-prof` makes the runtime write): counted in `file`, left out when
   * choosing the dominant cause.
   */
  readonly profilerOutput?: true;
}

export interface CpuEvidence {
  /** Top leaf-to-root frames of the samples on the bound threads in the request's window. */
  readonly topFrames: readonly { readonly frame: string; readonly samples: number }[];
  readonly samples: number;
  /**
   * On-CPU time of the bound threads spent stopping and resuming for the tracer (strace's
   * ptrace stops at every syscall): the share of their samples inside the kernel's ptrace
   * stop path times their cpu time. Counted in `cpu` (it happened), left out when choosing
   * the dominant cause (it is the measurement's cost, not the program's). With the samples
   * it is estimated from.
   */
  readonly tracerOverheadNs?: Nanos;
  readonly tracerSamples?: number;
}

/** Evidence per cause; a cause with no time has none. */
export interface CauseEvidence {
  readonly lock?: readonly LockEvidence[];
  readonly gc?: readonly GcEvidence[];
  readonly 'pool-queue'?: PoolQueueEvidence;
  readonly net?: readonly PeerEvidence[];
  readonly file?: readonly FileEvidence[];
  readonly cpu?: CpuEvidence;
  readonly runqueue?: { readonly starvedNs: Nanos };
}

/** Request wall time split into causes; the values sum to `durationNs` (±1 %). */
export type CauseBreakdown = Readonly<Record<Cause | 'unknown', Nanos>>;

/** One request (a server or root span) with its breakdown, as stored at correlate time. */
export interface RequestAnalysis {
  readonly traceId: string;
  readonly spanId: string;
  readonly service: string | null;
  readonly route: string | null;
  readonly name: string;
  /** Arrival (earliest evidence the request reached the process) … end of the server span. */
  readonly startNs: Nanos;
  readonly endNs: Nanos;
  readonly durationNs: Nanos;
  readonly breakdown: CauseBreakdown;
  readonly dominantCause: Cause | 'unknown';
  readonly evidence: CauseEvidence;
  /** On-CPU samples on the bound threads during the request. */
  readonly sampleCount: number;
  /** True when the span is shorter than ~2 sampling periods: its cpu share is a guess. */
  readonly sparse: boolean;
  readonly threadIds: readonly string[];
}
