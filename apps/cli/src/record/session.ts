import { statSync } from 'node:fs';
import { join } from 'node:path';
import { endedCleanly, type ChildExit, type Child, type Children } from './children.js';
import { readClockPair, toRealtime, type ClockPairReading } from './clock.js';
import type { JvmRecorder } from './jvm.js';
import { BUNDLE_FILES } from './manifest.js';
import type { RecordOptions } from './options.js';
import { exitText, perfRecordArgv, waitForPerf } from './perf.js';
import type { Preflight } from './setup.js';
import type { Progress } from './report.js';
import type { StopControl, StopReason } from './stop.js';
import { straceArgv, waitForStrace } from './strace.js';
import { isAlive, ThreadSampler } from './threads.js';
import { errorText, isDiskFull, SafeWriter } from './write.js';

/** perf.data while recording: hidden, so an upload of the folder skips it. */
export const PERF_DATA_TEMP = '.perf.data';

export interface SessionContext {
  options: RecordOptions;
  pre: Preflight;
  children: Children;
  stop: StopControl;
  progress: Progress;
  jvm: JvmRecorder | null;
  commands: string[];
  warnings: string[];
  /** Sizes of the --logs/--spans/--gc-log files when the recording started. */
  startSizes: Map<string, number>;
}

export interface SessionResult {
  reason: StopReason;
  startPair: ClockPairReading;
  endPair: ClockPairReading;
  /** CLOCK_MONOTONIC when perf (and strace) were running, and when they were told to stop. */
  windowStartNs: bigint;
  windowEndNs: bigint;
  perf: { exit: ChildExit; output: string };
  strace: { exit: ChildExit; output: string; endedEarly: boolean } | null;
  sampler: ThreadSampler;
  jstackStart: boolean;
  jfrStarted: boolean;
}

function size(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/**
 * The recording itself: thread map, JVM start steps, perf record and strace, until the
 * StopControl says stop; then every child is stopped (SIGINT: perf flushes, strace
 * detaches) and waited for. Throws RecordError when something fails to start; the
 * caller stops whatever did start.
 */
export async function recordSession(ctx: SessionContext): Promise<SessionResult> {
  const { options, pre, children, stop, progress } = ctx;
  const dir = pre.bundleDir;
  const alive = (): boolean => isAlive(pre.target.pid, pre.target.startTime);
  readClockPair(); // warm-up: the first run of the spin loop is not yet compiled
  const startPair = readClockPair();
  const writer = new SafeWriter(join(dir, BUNDLE_FILES.threads.path), (err) => {
    if (isDiskFull(err)) stop.noteDiskFull(`writing ${BUNDLE_FILES.threads.path}: ${errorText(err)}`);
    else ctx.warnings.push(`${BUNDLE_FILES.threads.path}: ${errorText(err)}`);
  });
  const sampler = new ThreadSampler({
    pid: pre.target.pid,
    startTime: pre.target.startTime,
    writer,
    toRealtime: (mono) => toRealtime(mono, startPair),
    onGone: () => stop.stop({ kind: 'target-exited' }),
  });
  let perf: Child | null = null;
  let strace: Child | null = null;
  const timers: NodeJS.Timeout[] = [];
  const onAbort = (): void => void children.stopAll(1000);
  stop.abortSignal.addEventListener('abort', onAbort, { once: true });
  let jfrStarted = false;
  try {
    sampler.start();
    let jstackStart = false;
    if (ctx.jvm !== null) {
      progress.say('jstack (start snapshot)…');
      const snap = await ctx.jvm.jstack(join(dir, BUNDLE_FILES.jstackStart.path), stop.abortSignal);
      jstackStart = snap.ok;
      if (snap.problem !== null) ctx.warnings.push(snap.problem);
      if (options.jfr) {
        const started = await ctx.jvm.jfrStart();
        jfrStarted = started.ok;
        if (started.problem !== null) ctx.warnings.push(started.problem);
      }
    }

    const dataPath = join(dir, PERF_DATA_TEMP);
    const perfArgv = perfRecordArgv(pre.tools.perf ?? 'perf', pre.target.pid, options.perfFreq, dataPath);
    perf = children.spawn('perf record', perfArgv);
    ctx.commands.push(perf.command);
    await waitForPerf(perf, dataPath, alive);
    const stracePath = join(dir, BUNDLE_FILES.straceRaw.path);
    if (options.strace) {
      strace = children.spawn('strace', straceArgv(pre.tools.strace ?? 'strace', pre.target.pid, stracePath));
      ctx.commands.push(strace.command);
      await waitForStrace(strace, alive);
    }
    const windowStartNs = process.hrtime.bigint();
    if (sampler.targetGone && stop.reason === null) stop.stop({ kind: 'target-exited' });

    const tools = [
      'perf record',
      ...(strace ? ['strace'] : []),
      'thread map',
      ...(jfrStarted ? ['JFR'] : []),
    ];
    progress.say(
      `recording pid ${pre.target.pid} (${pre.target.comm}) for ${(options.durationMs / 1000).toFixed(1)} s: ` +
        `${tools.join(', ')} → ${dir} (Ctrl-C stops)`,
    );
    timers.push(setTimeout(() => stop.stop({ kind: 'duration' }), options.durationMs));
    const started = Date.now();
    timers.push(
      setInterval(() => {
        progress.status({
          elapsedMs: Date.now() - started,
          durationMs: options.durationMs,
          perfBytes: size(dataPath),
          straceBytes: strace ? size(stracePath) : null,
          threads: sampler.lastCount,
        });
      }, 1000),
    );
    let straceEndedEarly = false;
    void perf.exited.then((exit) => {
      if (stop.reason !== null) return;
      if (!alive()) stop.stop({ kind: 'target-exited' });
      else if (/No space left on device/i.test(perf?.output() ?? ''))
        stop.noteDiskFull('perf record could not write');
      else {
        const last = perf?.output().trim().split('\n').pop() ?? '';
        stop.stop({
          kind: 'tool-failed',
          detail: `perf record ended by itself (${exitText(exit)}): ${last}`,
        });
      }
    });
    void strace?.exited.then((exit) => {
      if (stop.reason !== null) return;
      if (!alive()) return stop.stop({ kind: 'target-exited' });
      straceEndedEarly = true;
      const detail = `strace ended during the recording (${exitText(exit)}); strace.txt stops there`;
      if (/No space left on device/i.test(strace?.output() ?? '')) stop.noteDiskFull(detail);
      else ctx.warnings.push(detail);
    });

    const reason = await stop.stopped;
    const windowEndNs = process.hrtime.bigint();
    for (const timer of timers) clearTimeout(timer);
    progress.clear();
    progress.say(`stopping (${reason.kind}): perf record flushes${strace ? ', strace detaches' : ''}…`);
    const aborting = stop.aborted;
    const [perfExit, straceExit] = await Promise.all([
      perf.stop('SIGINT', aborting ? 1000 : 60_000),
      strace?.stop('SIGINT', aborting ? 1000 : 10_000) ?? Promise.resolve(null),
    ]);
    sampler.stop();
    await writer.close();
    const endPair = readClockPair();
    for (const [name, child, exit] of [
      ['perf record', perf, perfExit],
      ['strace', strace, straceExit],
    ] as const) {
      if (child !== null && exit !== null && !endedCleanly(exit) && reason.kind !== 'tool-failed') {
        ctx.warnings.push(
          `${name} ended with ${exitText(exit)}: ${child.output().trim().split('\n').pop() ?? ''}`,
        );
      }
    }
    return {
      reason,
      startPair,
      endPair,
      windowStartNs,
      windowEndNs,
      perf: { exit: perfExit, output: perf.output() },
      strace:
        strace !== null && straceExit !== null
          ? { exit: straceExit, output: strace.output(), endedEarly: straceEndedEarly }
          : null,
      sampler,
      jstackStart,
      jfrStarted,
    };
  } catch (err) {
    if (jfrStarted) await ctx.jvm?.jfrStopOnly();
    throw err;
  } finally {
    for (const timer of timers) clearTimeout(timer);
    stop.abortSignal.removeEventListener('abort', onAbort);
    sampler.stop();
    await writer.close();
    if (perf?.running() || strace?.running()) {
      await Promise.all([perf?.stop('SIGINT', 10_000), strace?.stop('SIGINT', 5000)]);
    }
  }
}
