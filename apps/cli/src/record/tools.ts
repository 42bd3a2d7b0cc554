import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type { ChildExit, Children } from './children.js';
import { endedCleanly } from './children.js';
import { gzipStream } from './write.js';

export interface ToolRun {
  command: string;
  exit: ChildExit;
  /** stderr (and stdout unless it went to a file). */
  output: string;
  /** Writing stdout failed (ENOSPC …), the run was aborted, or it timed out. */
  error: Error | null;
  ok: boolean;
}

export interface RunOptions {
  /** Write stdout to this file (gzipped when `gzip`); otherwise it is kept in `output`. */
  stdoutTo?: string;
  gzip?: boolean;
  timeoutMs?: number;
  signal?: AbortSignal;
}

/**
 * Runs a short-lived tool to completion through `children` (so it is stopped with the
 * recorder), streaming its stdout to a file when asked. Never throws.
 */
export async function runTool(
  children: Children,
  name: string,
  argv: readonly string[],
  options: RunOptions = {},
): Promise<ToolRun> {
  const child = children.spawn(name, argv, { stdout: options.stdoutTo === undefined ? 'output' : 'pipe' });
  let error: Error | null = null;
  const stop = (why: string): void => {
    error ??= new Error(why);
    void child.stop('SIGTERM', 2000);
  };
  const onAbort = (): void => stop(`${name} aborted`);
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const timer =
    options.timeoutMs === undefined
      ? undefined
      : setTimeout(() => stop(`${name} timed out after ${options.timeoutMs} ms`), options.timeoutMs);
  try {
    if (options.stdoutTo !== undefined && child.stdout !== null) {
      try {
        if (options.gzip === true) await gzipStream(child.stdout, options.stdoutTo);
        else await pipeline(child.stdout, createWriteStream(options.stdoutTo, { flags: 'wx' }));
      } catch (err) {
        error ??= err instanceof Error ? err : new Error(String(err));
        await child.stop('SIGTERM', 2000);
      }
    }
    const exit = await child.exited;
    return {
      command: child.command,
      exit,
      output: child.output(),
      error,
      ok: error === null && exit.error === undefined && exit.code === 0 && endedCleanly(exit),
    };
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', onAbort);
  }
}

/** The first meaningful line of a tool's output, for a one-line warning. */
export function firstLine(output: string): string {
  return (
    output
      .split('\n')
      .map((line) => line.trim())
      .find((line) => line !== '' && !/^\d+:$/.test(line)) ?? 'no output'
  );
}
