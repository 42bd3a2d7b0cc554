import type { ParseIssue } from './events.js';
import type { Nanos } from './time.js';

export type GcRuntime = 'jvm' | 'node' | 'go' | 'python';

/**
 * Clock an event's `startNs` is expressed in:
 * - `uptime`: ns since JVM start (`uptime`/`uptimenanos` decorators);
 * - `realtime`: UTC epoch ns (JVM `time`/`utctime`/`timemillis`, Python `time.time_ns()`);
 * - `local-wall`: local wall time with no known offset, as if it were UTC (epoch ns);
 * - `monotonic`: CLOCK_MONOTONIC ns (JVM `timenanos` = System.nanoTime);
 * - `process-start`: ns since the runtime started (Node isolate start, Go program start).
 */
export type GcClock = 'uptime' | 'realtime' | 'local-wall' | 'monotonic' | 'process-start';

/** One collection (or one phase of one) reported by a runtime's GC log. */
export interface GcEvent {
  readonly kind: 'gc';
  /** 1-based line number of the line that completed the event. */
  readonly line: number;
  readonly runtime: GcRuntime;
  /** `Pause Young (Normal)`, `Concurrent Mark Cycle`, `Scavenge`, `Mark-Compact`, `gen2`… */
  readonly phase: string;
  /** True when application threads were stopped (stop-the-world, or Python holding the GIL). */
  readonly pause: boolean;
  /** OS thread id of the logging/collecting thread when the format gives one. */
  readonly tid: number | null;
  readonly clock: GcClock;
  /** Start of the event in {@link clock}. */
  readonly startNs: Nanos;
  /** Null when the end was never logged (file cut mid-GC). */
  readonly durationNs: Nanos | null;
  readonly heapBeforeBytes?: bigint;
  readonly heapAfterBytes?: bigint;
  /** Heap capacity/committed size after the event. */
  readonly heapTotalBytes?: bigint;
  /** JVM `GC(n)` id, Go `gc n` number. */
  readonly gcId?: number;
  readonly cause?: string;
  /** UTC offset of the local time the source printed (JVM `time` decorator), in minutes. */
  readonly tzOffsetMinutes?: number;
  /** Start in CLOCK_MONOTONIC ns when the source also recorded it (Python `monotonicNs`). */
  readonly monotonicStartNs?: Nanos;
  /** Start in JVM uptime ns when `clock` is not `uptime` but an uptime decorator was present. */
  readonly uptimeStartNs?: Nanos;
  /** Process id when printed (Node `[pid:isolate]`). */
  readonly pid?: number;
  /** V8 isolate address (Node), one per main/worker thread. */
  readonly isolate?: string;
  /** Thread name when the source records one (Python `threading.current_thread().name`). */
  readonly threadName?: string;
  /** Python: objects collected / uncollectable at stop. */
  readonly collected?: number;
  readonly uncollectable?: number;
}

/** A JVM safepoint (`-Xlog:safepoint`): every Java thread is stopped from start to start+duration. */
export interface SafepointEvent {
  readonly kind: 'safepoint';
  readonly line: number;
  readonly runtime: 'jvm';
  /** VM operation, e.g. `G1CollectForAllocation`; null for the JDK 9–16 summary line. */
  readonly operation: string | null;
  readonly tid: number | null;
  readonly clock: GcClock;
  /** Start of the stop (log time − total), in {@link clock}. */
  readonly startNs: Nanos;
  /** Total stop time (reaching + cleanup + at safepoint). */
  readonly durationNs: Nanos;
  /** Time to bring all threads to the safepoint, when printed. */
  readonly reachingNs?: Nanos;
  readonly cleanupNs?: Nanos;
  readonly atSafepointNs?: Nanos;
  readonly tzOffsetMinutes?: number;
  readonly uptimeStartNs?: Nanos;
}

export type GcParsedItem = GcEvent | SafepointEvent | ParseIssue;
