import { chmod, chown, copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Children } from './children.js';
import type { TargetInfo, ToolPaths } from './preflight.js';
import { firstLine, runTool, type ToolRun } from './tools.js';

/** JFR event types converted to JSON (ARCHITECTURE: the JVM's lock, GC, I/O and thread evidence). */
export const JFR_JSON_EVENTS = [
  'jdk.ExecutionSample',
  'jdk.NativeMethodSample',
  'jdk.ThreadPark',
  'jdk.JavaMonitorEnter',
  'jdk.JavaMonitorWait',
  'jdk.ThreadSleep',
  'jdk.GarbageCollection',
  'jdk.GCPhasePause',
  'jdk.SafepointBegin',
  'jdk.SafepointEnd',
  'jdk.SocketRead',
  'jdk.SocketWrite',
  'jdk.FileRead',
  'jdk.FileWrite',
  'jdk.FileForce',
  'jdk.ThreadStart',
  'jdk.ThreadEnd',
] as const;

/** The JFR recording's name inside the target JVM. */
export const JFR_NAME = 'threadreel';

export interface JvmStep {
  ok: boolean;
  command: string;
  /** Why it failed, for the manifest warnings. */
  problem: string | null;
}

function step(run: ToolRun, what: string, success?: RegExp): JvmStep {
  const ok = run.ok && (success === undefined || success.test(run.output));
  return {
    ok,
    command: run.command,
    problem: ok ? null : `${what} failed: ${firstLine(run.error?.message ?? run.output)}`,
  };
}

/** Every step of the JVM side of a recording: jstack snapshots and JFR. */
export class JvmRecorder {
  /** Where the JVM writes the dump: the bundle, or a temp folder it owns when it runs as another user. */
  private dumpDir: string | null = null;

  constructor(
    private readonly children: Children,
    private readonly tools: ToolPaths,
    private readonly target: TargetInfo,
    /** Every command run is appended here, in order (the manifest's recorder.commands). */
    private readonly commands: string[],
  ) {}

  /** `jstack PID > dest`. */
  async jstack(dest: string, signal?: AbortSignal): Promise<JvmStep> {
    if (this.tools.jstack === undefined)
      return { ok: false, command: '', problem: 'jstack not found in PATH' };
    const run = await runTool(this.children, 'jstack', [this.tools.jstack, String(this.target.pid)], {
      stdoutTo: dest,
      timeoutMs: 30_000,
      signal,
    });
    this.commands.push(`${run.command} > ${dest}`);
    return step(run, 'jstack');
  }

  /** `jcmd PID JFR.start name=threadreel settings=profile`. */
  async jfrStart(): Promise<JvmStep> {
    return this.jcmd(['JFR.start', `name=${JFR_NAME}`, 'settings=profile'], 'JFR.start', /Started recording/);
  }

  /**
   * `jcmd PID JFR.dump name=threadreel filename=…` then `JFR.stop`, leaving the
   * recording at `dest`. A JVM running as another user cannot write into the bundle
   * (root's), so it dumps into a temp folder it owns, copied into the bundle after.
   */
  async jfrDumpAndStop(dest: string): Promise<JvmStep> {
    const ownDir = this.target.uid !== (process.geteuid?.() ?? -1);
    let file = dest;
    if (ownDir) {
      this.dumpDir = await mkdtemp(join(tmpdir(), 'threadreel-jfr-'));
      await chown(this.dumpDir, this.target.uid, this.target.gid);
      await chmod(this.dumpDir, 0o700);
      file = join(this.dumpDir, 'recording.jfr');
    }
    try {
      const dump = await this.jcmd(
        ['JFR.dump', `name=${JFR_NAME}`, `filename=${file}`],
        'JFR.dump',
        /Dumped recording/,
      );
      const stop = await this.jcmd(['JFR.stop', `name=${JFR_NAME}`], 'JFR.stop');
      if (dump.ok && ownDir) {
        await copyFile(file, dest);
        this.commands.push(`cp ${file} ${dest}`);
      }
      return dump.ok ? { ...dump, problem: stop.problem } : dump;
    } finally {
      if (this.dumpDir !== null) await rm(this.dumpDir, { recursive: true, force: true });
      this.dumpDir = null;
    }
  }

  /** Best effort when the recording is abandoned: stop the JFR recording in the target. */
  async jfrStopOnly(): Promise<void> {
    await this.jcmd(['JFR.stop', `name=${JFR_NAME}`], 'JFR.stop');
  }

  /** `jcmd PID Compiler.perfmap`: the JIT's symbols into /tmp/perf-PID.map for perf script. */
  async perfMap(): Promise<JvmStep> {
    return this.jcmd(['Compiler.perfmap'], 'Compiler.perfmap');
  }

  /**
   * `jfr print --json --events … recording.jfr | gzip > dest`: the event types threadreel
   * reads (samples, parks, monitors, GC, safepoints, socket and file I/O, thread lifetimes).
   * recording.jfr itself keeps every event.
   */
  async jfrPrint(jfrFile: string, dest: string, signal: AbortSignal): Promise<JvmStep> {
    if (this.tools.jfr === undefined) return { ok: false, command: '', problem: 'jfr not found in PATH' };
    const argv = [this.tools.jfr, 'print', '--json', '--events', JFR_JSON_EVENTS.join(','), jfrFile];
    const run = await runTool(this.children, 'jfr print', argv, {
      stdoutTo: dest,
      gzip: true,
      signal,
    });
    this.commands.push(`${run.command} | gzip > ${dest}`);
    return step(run, 'jfr print --json');
  }

  private async jcmd(args: string[], what: string, success?: RegExp): Promise<JvmStep> {
    if (this.tools.jcmd === undefined) return { ok: false, command: '', problem: 'jcmd not found in PATH' };
    const run = await runTool(this.children, 'jcmd', [this.tools.jcmd, String(this.target.pid), ...args], {
      timeoutMs: 60_000,
    });
    this.commands.push(run.command);
    return step(run, `jcmd ${what}`, success);
  }
}
