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
  /** The parsed payload of a `sched_switch` / `sched_wakeup` / `sched_waking` / `sched_wakeup_new` tracepoint. */
  readonly sched?: SchedEvent;
}

/**
 * A scheduler tracepoint's fields. `switch` fires in prev's context (the record's thread goes
 * off-CPU and its stack is where it blocked); the wakeups fire in the waker's context (the
 * record's thread and stack are the waker's; `pid` is the wakee).
 */
export type SchedEvent =
  | {
      readonly type: 'switch';
      readonly prevComm: string;
      readonly prevPid: number;
      readonly prevPrio: number | null;
      /** `R`, `R+` (preempted), `S`, `D`, `I`… as printed. */
      readonly prevState: string;
      readonly nextComm: string;
      readonly nextPid: number;
      readonly nextPrio: number | null;
    }
  | {
      readonly type: 'wakeup' | 'waking' | 'wakeup_new';
      readonly comm: string;
      readonly pid: number;
      readonly prio: number | null;
      readonly targetCpu: number | null;
    };

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
