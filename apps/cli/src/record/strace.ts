import { setTimeout as delay } from 'node:timers/promises';
import type { Child } from './children.js';
import { RecordError, RecordExit } from './exit-codes.js';
import { exitText } from './perf.js';

export const STRACE_WARNING =
  'strace stops the target at every system call: expect it to run several times slower while recorded ' +
  '(use --no-strace to avoid it)';

/**
 * strace -f (every thread, and threads created later), -ttt (CLOCK_REALTIME epoch
 * seconds with µs), -T (time spent in each call), -yy (paths and socket addresses of
 * file descriptors).
 */
export function straceArgv(strace: string, pid: number, outPath: string): string[] {
  return [strace, '-f', '-ttt', '-T', '-yy', '-p', String(pid), '-o', outPath];
}

/** Waits for `strace: Process N attached` on stderr; throws when strace exits first. */
export async function waitForStrace(child: Child, targetAlive: () => boolean): Promise<void> {
  const started = Date.now();
  for (;;) {
    if (/Process \d+ attached/.test(child.output())) return;
    if (!child.running()) {
      const exit = await child.exited;
      if (!targetAlive())
        throw new RecordError(RecordExit.NoSuchProcess, 'the target exited before strace attached');
      const output = child.output().trim();
      const hint = /Operation not permitted/.test(output)
        ? ' (is another tracer, e.g. gdb or a second strace, attached?)'
        : '';
      throw new RecordError(
        RecordExit.ToolFailed,
        `strace failed to attach (${exitText(exit)})${hint}:\n${output}`,
      );
    }
    if (Date.now() - started > 10_000) return;
    await delay(20);
  }
}
