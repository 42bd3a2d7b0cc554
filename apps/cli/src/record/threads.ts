import { readdirSync, readFileSync } from 'node:fs';
import { parseProcStat } from './preflight.js';
import type { SafeWriter } from './write.js';

/**
 * The thread map: `threads.jsonl`, one JSON object per thread per snapshot, taken at
 * the start, every second and at the end:
 *   {"snapshot":0,"tNs":"…","realtimeNs":"…","pid":1,"tid":1,"comm":"java"}
 * tNs is CLOCK_MONOTONIC (the clock of perf -k mono); realtimeNs is tNs shifted by
 * the start clock pair. Nanoseconds are decimal strings.
 */

export interface ThreadEntry {
  tid: number;
  comm: string;
}

export interface ProcReader {
  /** Entry names of a directory, or null when it is gone. */
  list(path: string): string[] | null;
  /** File text, or null when it is gone. */
  read(path: string): string | null;
}

export const procReader: ProcReader = {
  list: (path) => {
    try {
      return readdirSync(path);
    } catch {
      return null;
    }
  },
  read: (path) => {
    try {
      return readFileSync(path, 'utf8');
    } catch {
      return null;
    }
  },
};

/** Threads of `pid` with their comm, in tid order; null when the process is gone. */
export function readThreads(pid: number, proc: ProcReader = procReader): ThreadEntry[] | null {
  const tids = proc.list(`/proc/${pid}/task`);
  if (tids === null) return null;
  const threads: ThreadEntry[] = [];
  for (const name of tids) {
    if (!/^\d+$/.test(name)) continue;
    const comm = proc.read(`/proc/${pid}/task/${name}/comm`);
    // A thread that exited between the listing and the read is left out.
    if (comm !== null) threads.push({ tid: Number(name), comm: comm.replace(/\n$/, '') });
  }
  return threads.sort((a, b) => a.tid - b.tid);
}

/** True while `pid` is the same live (non-zombie) process that started at `startTime`. */
export function isAlive(pid: number, startTime: string, proc: ProcReader = procReader): boolean {
  const stat = proc.read(`/proc/${pid}/stat`);
  const parsed = stat === null ? null : parseProcStat(stat);
  return parsed !== null && parsed.startTime === startTime && parsed.state !== 'Z' && parsed.state !== 'X';
}

export function threadLines(
  snapshot: number,
  pid: number,
  monotonicNs: bigint,
  realtimeNs: bigint,
  threads: readonly ThreadEntry[],
): string {
  return threads
    .map(
      (t) =>
        `${JSON.stringify({ snapshot, tNs: String(monotonicNs), realtimeNs: String(realtimeNs), pid, tid: t.tid, comm: t.comm })}\n`,
    )
    .join('');
}

export interface ThreadSamplerOptions {
  pid: number;
  startTime: string;
  writer: SafeWriter;
  /** Realtime for a monotonic reading (by the start clock pair). */
  toRealtime(monotonicNs: bigint): bigint;
  /** Called once when the target is found gone. */
  onGone(): void;
  intervalMs?: number;
  proc?: ProcReader;
  mono?: () => bigint;
}

/** Snapshots the thread map now, every interval, and once more at stop(). */
export class ThreadSampler {
  private snapshot = 0;
  private timer: NodeJS.Timeout | undefined;
  private gone = false;
  private stopped = false;
  /** Every tid seen, with its last comm. */
  readonly seen = new Map<number, string>();
  lastCount = 0;

  constructor(private readonly o: ThreadSamplerOptions) {}

  start(): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.o.intervalMs ?? 1000);
  }

  /** Final snapshot (when the target still lives) and no more. */
  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    if (this.stopped) return;
    this.sample();
    this.stopped = true;
  }

  get targetGone(): boolean {
    return this.gone;
  }

  private sample(): void {
    if (this.gone || this.stopped) return;
    const proc = this.o.proc ?? procReader;
    const mono = (this.o.mono ?? (() => process.hrtime.bigint()))();
    const threads = isAlive(this.o.pid, this.o.startTime, proc) ? readThreads(this.o.pid, proc) : null;
    if (threads === null || threads.length === 0) {
      this.gone = true;
      clearInterval(this.timer);
      this.o.onGone();
      return;
    }
    for (const t of threads) this.seen.set(t.tid, t.comm);
    this.lastCount = threads.length;
    this.o.writer.write(threadLines(this.snapshot++, this.o.pid, mono, this.o.toRealtime(mono), threads));
  }
}
