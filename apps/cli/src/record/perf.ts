import { stat } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import type { Child, ChildExit } from './children.js';
import { RecordError, RecordExit } from './exit-codes.js';

/**
 * perf record -k mono: timestamps are CLOCK_MONOTONIC. The tracepoints are recorded
 * one sample per event (-c 1); only cpu-clock is frequency-sampled (the freq= term), as
 * a global -F would also throttle the tracepoints. name= keeps the event called plain
 * "cpu-clock" in perf script. --sample-cpu adds the CPU to cpu-clock samples; -N skips
 * the build-id cache (~/.debug).
 */
export function perfRecordArgv(perf: string, pid: number, freq: number, dataPath: string): string[] {
  return [
    perf,
    'record',
    '-k',
    'mono',
    '-g',
    '--sample-cpu',
    '-N',
    '-c',
    '1',
    '-e',
    `cpu-clock/freq=${freq},name=cpu-clock/`,
    '-e',
    'sched:sched_switch',
    '-e',
    'sched:sched_wakeup',
    '-p',
    String(pid),
    '-o',
    dataPath,
  ];
}

/** Per-type field lists: `trace` (the tracepoint payload) is valid for tracepoints only. */
export function perfScriptArgv(perf: string, dataPath: string, maxStack: number | null = null): string[] {
  return [
    perf,
    'script',
    '-i',
    dataPath,
    '--header',
    '--ns',
    ...(maxStack === null ? [] : ['--max-stack', String(maxStack)]),
    '-F',
    'sw:comm,pid,tid,cpu,time,period,event,ip,sym,dso',
    '-F',
    'trace:comm,pid,tid,cpu,time,period,event,trace,ip,sym,dso',
  ];
}

/**
 * Waits until perf record has opened its events (it writes the perf.data header right
 * after) and a little more for it to enable them. Throws when perf exits first.
 */
export async function waitForPerf(child: Child, dataPath: string, targetAlive: () => boolean): Promise<void> {
  const started = Date.now();
  for (;;) {
    if (!child.running()) {
      const exit = await child.exited;
      if (!targetAlive())
        throw new RecordError(RecordExit.NoSuchProcess, 'the target exited before perf started');
      throw new RecordError(
        RecordExit.ToolFailed,
        `perf record failed to start (${exitText(exit)}):\n${child.output().trim()}`,
      );
    }
    const size = await stat(dataPath).then(
      (info) => info.size,
      () => 0,
    );
    const waited = Date.now() - started;
    if ((size > 0 && waited >= 300) || waited >= 5000) return;
    await delay(50);
  }
}

export function exitText(exit: ChildExit): string {
  if (exit.error !== undefined) return exit.error.message;
  return exit.signal !== null ? `killed by ${exit.signal}` : `exit code ${exit.code}`;
}

/** `[ perf record: Captured and wrote 4.928 MB perf.data (12049 samples) ]` → 12049. */
export function recordedSamples(output: string): number | null {
  const match = /Captured and wrote [\d.]+ \w+ .*\((\d+) samples\)/.exec(output);
  return match?.[1] === undefined ? null : Number(match[1]);
}

/**
 * perf's own reports of lost data, each as one line: "Processed N events and lost M
 * chunks!", "… lost samples", "N out of order events" (also a sign of overload).
 */
export function lostEventWarnings(output: string): string[] {
  const warnings: string[] = [];
  for (const block of output.split(/\n\s*\n/)) {
    const text = block.replace(/\s+/g, ' ').trim();
    if (/\blost\b|out of order events/i.test(text)) warnings.push(text.replace(/^Warning: ?/i, ''));
  }
  return [...new Set(warnings)];
}
