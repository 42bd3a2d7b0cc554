import type { Nanos } from './time.js';

/** One frame of a call chain as the source printed it. */
export interface RawFrame {
  /** Instruction address as printed (hex, no 0x), kept as text: kernel addresses exceed 2^53. */
  readonly addr: string;
  /** Symbol without its `+0x…` offset; `[unknown]` when the tool could not resolve it. */
  readonly symbol: string;
  /** Object the address belongs to: a path, `[kernel.kallsyms]`, `[unknown]`, `/tmp/perf-PID.map`… */
  readonly dso: string;
}

/**
 * A `perf script` record: an on-CPU sample (cpu-clock, cycles…) or a tracepoint
 * (sched:sched_switch…). Frames are leaf first, as perf prints them.
 */
export interface PerfRecord {
  readonly kind: 'perf';
  /** 1-based line number of the record's header line in its source file. */
  readonly line: number;
  readonly comm: string;
  /** Process id when perf printed `pid/tid`; null when only the tid was printed. */
  readonly pid: number | null;
  readonly tid: number;
  readonly cpu: number | null;
  /** Sample time in the perf clock (ns); null when the time field was not recorded. */
  readonly timeNs: Nanos | null;
  /** Sample period (weight) when printed. */
  readonly period: bigint | null;
  /** Event name with its modifiers, e.g. `cpu-clock`, `cycles:ppp`, `sched:sched_switch`. */
  readonly event: string;
  /** Tracepoint payload after the event name (`prev_comm=… ==> next_comm=…`), else null. */
  readonly trace: string | null;
  readonly frames: readonly RawFrame[];
}

/** A line a parser could not accept. Everything else in the file is still ingested. */
export interface ParseIssue {
  readonly kind: 'issue';
  readonly line: number;
  /** Which field was wrong, when one can be named. */
  readonly field?: string;
  readonly reason: string;
}

/** Header facts some formats carry (perf `--header`: hostname, os release, cmdline…). */
export interface SourceHeader {
  readonly kind: 'header';
  readonly key: string;
  readonly value: string;
}

export type ParsedItem = PerfRecord | ParseIssue | SourceHeader;
