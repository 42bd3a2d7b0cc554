import type { RawFrame } from './events.js';
import type { Nanos } from './time.js';

/**
 * Clock of a runtime event's time:
 * - `realtime`: UTC epoch ns (JFR, py-spy chrome trace with absolute `ts`);
 * - `monotonic`: CLOCK_MONOTONIC ns (`threads.jsonl` `tNs`);
 * - `local-wall`: local wall time with no known offset, as if it were UTC (jstack header);
 * - `relative`: ns since the start of the profile (pprof `time_nanos` absent, speedscope);
 * - `none`: the source gives no time (aggregated profiles).
 */
export type RuntimeClock = 'realtime' | 'monotonic' | 'local-wall' | 'relative' | 'none';

/**
 * A frame of a runtime stack. JFR frames also carry the source line and how the method ran;
 * other sources leave both out, so a plain {@link RawFrame} is a RuntimeFrame.
 */
export interface RuntimeFrame extends RawFrame {
  /** Source line number (JFR `lineNumber`), when known (absent for native frames, `-1`). */
  readonly lineNumber?: number;
  /** JFR frame `type`: `Interpreted`, `JIT compiled`, `Inlined`, `Native`. */
  readonly frameType?: string;
}

/** Profilers whose stack samples threadreel reads besides perf. */
export type ProfileSource = 'jfr' | 'pprof' | 'py-spy';

/**
 * One sampled (or aggregated) call stack of a runtime profiler: JFR ExecutionSample, a
 * pprof sample, a py-spy sample. Frames are leaf first, like perf's.
 */
export interface StackSample {
  readonly kind: 'stack-sample';
  /** 1-based line (text formats) or record ordinal (binary formats) of the sample. */
  readonly line: number;
  readonly source: ProfileSource;
  /** Event name as stored, e.g. `jdk.ExecutionSample`, `pprof:cpu/nanoseconds`, `py-spy`. */
  readonly event: string;
  readonly pid: number | null;
  /** OS thread id when the source knows it (JFR `osThreadId`, py-spy `tid`, pprof `thread_id` label). */
  readonly tid: number | null;
  /** The runtime's own thread id (JFR `javaThreadId`, Python `threading.get_ident`), as text. */
  readonly runtimeThreadId: string | null;
  readonly threadName: string | null;
  readonly clock: RuntimeClock;
  /** Null when {@link clock} is `none`. */
  readonly timeNs: Nanos | null;
  /** Weight of the sample in {@link weightUnit} (1 for one sample; ns of CPU for pprof cpu). */
  readonly weight: bigint;
  readonly weightUnit: string;
  readonly frames: readonly RuntimeFrame[];
  /** pprof labels (`span_id`, `trace_id`, `thread_id`…) and other per-sample tags. */
  readonly labels?: Readonly<Record<string, string>>;
}

/** What a thread was doing in a {@link RuntimeEvent}. */
export type RuntimeEventType =
  | 'park'
  | 'monitor-enter'
  | 'monitor-wait'
  | 'sleep'
  | 'socket-read'
  | 'socket-write'
  | 'file-read'
  | 'file-write'
  | 'file-force'
  | 'thread-start'
  | 'thread-end';

/** A thread as a runtime event names it. */
export interface RuntimeThreadRef {
  readonly tid: number | null;
  readonly runtimeThreadId: string | null;
  readonly name: string | null;
}

/**
 * A runtime-reported interval on one thread (JFR ThreadPark, JavaMonitorEnter/Wait,
 * SocketRead/Write, FileRead/Write/Force, ThreadSleep; ThreadStart/End as instants).
 */
export interface RuntimeEvent {
  readonly kind: 'runtime';
  readonly line: number;
  readonly source: 'jfr';
  readonly type: RuntimeEventType;
  /** The source's event name, e.g. `jdk.JavaMonitorEnter`. */
  readonly event: string;
  readonly thread: RuntimeThreadRef;
  readonly clock: RuntimeClock;
  readonly startNs: Nanos;
  /** 0 for instants (thread start/end). */
  readonly durationNs: Nanos;
  /** Monitor class (`monitorClass`), parked-on class (`parkedClass`). */
  readonly objectClass?: string;
  /** Monitor / parked-on object address as hex text. */
  readonly address?: string;
  /** JavaMonitorEnter `previousOwner`: the thread that held the monitor. */
  readonly previousOwner?: RuntimeThreadRef;
  /** ThreadStart: the thread that started it. */
  readonly parent?: RuntimeThreadRef;
  /** Socket peer `host:port` (or `ip:port`), file path. */
  readonly peer?: string;
  readonly path?: string;
  readonly bytes?: bigint;
  readonly timeoutNs?: Nanos;
  /** JavaMonitorWait `notifier`: the thread that called notify(). */
  readonly notifier?: RuntimeThreadRef;
  /** Stack at the event, leaf first, when recorded. */
  readonly frames?: readonly RuntimeFrame[];
}

/** Where a thread sighting comes from. */
export type ThreadMapSource = 'proc' | 'jstack' | 'jfr';

/**
 * One observation of a thread: a `/proc` comm snapshot line, a `jstack` thread entry, a JFR
 * thread start/end. The correlate job joins them into thread lifetimes.
 */
export interface ThreadSighting {
  readonly kind: 'thread';
  readonly line: number;
  readonly source: ThreadMapSource;
  readonly clock: RuntimeClock;
  readonly timeNs: Nanos | null;
  /** Epoch ns of the same moment when the source also gives it (`threads.jsonl` `realtimeNs`). */
  readonly realtimeNs?: Nanos;
  /** Snapshot number (`threads.jsonl`), or the dump's ordinal in a jstack file. */
  readonly snapshot?: number;
  readonly pid: number | null;
  /** OS thread id (`/proc` tid, jstack `nid=0x…`, JFR `osThreadId`). */
  readonly tid: number | null;
  /** Java thread id (jstack `#N`, JFR `javaThreadId`) as text. */
  readonly runtimeThreadId: string | null;
  /** Full name (jstack, JFR) or kernel comm (at most 15 bytes). */
  readonly name: string | null;
  /** jstack `java.lang.Thread.State` (`RUNNABLE`, `BLOCKED`, `WAITING`…). */
  readonly state?: string;
  readonly daemon?: boolean;
  /** jstack `prio=` (Java priority) and `os_prio=`. */
  readonly priority?: number;
  readonly osPriority?: number;
  /** jstack `cpu=12.34ms`: CPU time the thread used so far. */
  readonly cpuNs?: Nanos;
  /** jstack: the top frames (up to 8), leaf first, and the lock lines (`- waiting to lock <0x…>`). */
  readonly topFrames?: readonly string[];
  readonly locks?: readonly string[];
  /** `start`/`end` for JFR thread events, `snapshot` otherwise. */
  readonly event: 'snapshot' | 'start' | 'end';
}

export type RuntimeParsedItem = StackSample | RuntimeEvent | ThreadSighting;
