import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';

/** How a child ended; `error` when it could not be started at all. */
export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  error?: Error;
}

export interface Child {
  readonly name: string;
  /** The command line exactly as run (with the setpriv wrapper), for the manifest and messages. */
  readonly command: string;
  readonly pid: number | undefined;
  /** stdout when it was asked for as a pipe. */
  readonly stdout: Readable | null;
  readonly exited: Promise<ChildExit>;
  running(): boolean;
  /** The last 64 KiB of stderr (and stdout unless piped to the caller). */
  output(): string;
  /**
   * Sends `signal`, waits up to graceMs, then SIGTERM and after 3 s more SIGKILL.
   * Resolves when the child is gone.
   */
  stop(signal: NodeJS.Signals, graceMs: number): Promise<ChildExit>;
}

const KEEP_OUTPUT = 64 * 1024;

function quote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

export function commandLine(argv: readonly string[]): string {
  return argv.map(quote).join(' ');
}

/** A ChildExit that is a normal end: exit 0, or death by the signal we stop it with. */
export function endedCleanly(exit: ChildExit): boolean {
  return (
    exit.error === undefined &&
    (exit.code === 0 ||
      exit.code === 130 ||
      exit.code === 143 ||
      exit.signal === 'SIGINT' ||
      exit.signal === 'SIGTERM')
  );
}

/**
 * Starts and tracks the recorder's children so none outlives it: each runs in its own
 * process group (a terminal Ctrl-C reaches only the recorder, which stops them in
 * order), under `wrapper` (setpriv --pdeathsig TERM) when available so the kernel
 * stops them even if the recorder is SIGKILLed, and an `exit` hook signals any still
 * running when the recorder exits for any other reason.
 */
export class Children {
  private readonly live = new Set<ChildProcess>();
  private readonly onExit = (): void => this.killAllNow('SIGTERM');
  private hooked = false;

  constructor(private readonly wrapper: readonly string[] = []) {}

  spawn(name: string, argv: readonly string[], options: { stdout?: 'pipe' | 'output' } = {}): Child {
    const full = [...this.wrapper, ...argv];
    const [file, ...args] = full as [string, ...string[]];
    const proc = spawn(file, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    this.track(proc);
    let output = '';
    const keep = (chunk: Buffer): void => {
      output += chunk.toString('utf8');
      if (output.length > KEEP_OUTPUT * 2) output = output.slice(-KEEP_OUTPUT);
    };
    proc.stderr?.on('data', keep);
    if (options.stdout !== 'pipe') proc.stdout?.on('data', keep);
    const exited = new Promise<ChildExit>((resolve) => {
      proc.once('error', (error) => resolve({ code: null, signal: null, error }));
      proc.once('close', (code, signal) => resolve({ code, signal }));
    });
    void exited.then(() => this.untrack(proc));
    const running = (): boolean =>
      proc.exitCode === null && proc.signalCode === null && proc.pid !== undefined;
    const child: Child = {
      name,
      command: commandLine(full),
      pid: proc.pid,
      stdout: options.stdout === 'pipe' ? proc.stdout : null,
      exited,
      running,
      output: () => output.slice(-KEEP_OUTPUT),
      stop: async (signal, graceMs) => {
        const steps: [NodeJS.Signals, number][] = [
          [signal, graceMs],
          ['SIGTERM', 3000],
          ['SIGKILL', 5000],
        ];
        for (const [sig, wait] of steps) {
          if (!running()) break;
          signalProcess(proc, sig);
          if (await settlesWithin(exited, wait)) break;
        }
        return exited;
      },
    };
    return child;
  }

  /** Number of children still running. */
  get size(): number {
    return this.live.size;
  }

  /** Synchronously signals every child still running (and its process group). */
  killAllNow(signal: NodeJS.Signals): void {
    for (const proc of this.live) signalProcess(proc, signal);
  }

  /** SIGTERM to all, then SIGKILL after graceMs to any left; resolves when none is left. */
  async stopAll(graceMs = 3000): Promise<void> {
    const pending = [...this.live].map(
      (proc) =>
        new Promise<void>((resolve) =>
          proc.exitCode !== null ? resolve() : proc.once('close', () => resolve()),
        ),
    );
    this.killAllNow('SIGTERM');
    const all = Promise.all(pending);
    if (!(await settlesWithin(all, graceMs))) {
      this.killAllNow('SIGKILL');
      await settlesWithin(all, 5000);
    }
  }

  private track(proc: ChildProcess): void {
    this.live.add(proc);
    if (!this.hooked) {
      process.on('exit', this.onExit);
      this.hooked = true;
    }
  }

  private untrack(proc: ChildProcess): void {
    this.live.delete(proc);
    if (this.live.size === 0 && this.hooked) {
      process.off('exit', this.onExit);
      this.hooked = false;
    }
  }
}

/** Signals the child's process group (it leads one: detached), falling back to the child. */
function signalProcess(proc: ChildProcess, signal: NodeJS.Signals): void {
  if (proc.pid === undefined || proc.exitCode !== null || proc.signalCode !== null) return;
  try {
    process.kill(-proc.pid, signal);
  } catch {
    try {
      proc.kill(signal);
    } catch {
      // already gone
    }
  }
}

async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([promise.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
