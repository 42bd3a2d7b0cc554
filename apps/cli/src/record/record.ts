import { statSync } from 'node:fs';
import { readdir, rm, stat, writeFile } from 'node:fs/promises';
import { hostname, release } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_TIMEOUT_SECONDS } from '../args.js';
import { HttpError, UnreachableError } from '../client.js';
import { UsageError } from '../errors.js';
import type { Io } from '../io.js';
import { packageVersion } from '../paths.js';
import { runUpload } from '../upload.js';
import { Children } from './children.js';
import { RecordError, RecordExit } from './exit-codes.js';
import { JvmRecorder } from './jvm.js';
import { buildManifest, MANIFEST_FILE, writeManifest } from './manifest.js';
import type { RecordOptions } from './options.js';
import { postProcess } from './post.js';
import type { SystemView } from './preflight.js';
import { Progress, summary } from './report.js';
import { recordSession, type SessionContext } from './session.js';
import { preflight, realSystem, type Preflight } from './setup.js';
import { describeStop, processSignals, StopControl, type SignalSource } from './stop.js';
import { STRACE_WARNING } from './strace.js';
import { errorText, isDiskFull } from './write.js';

/** Space held back in the bundle so manifest.json can still be written after ENOSPC. */
const RESERVE_FILE = '.threadreel-reserve';
const RESERVE_BYTES = 256 * 1024;

/** What runRecord takes from its surroundings (tests replace them). */
export interface RecordDeps {
  env?: Readonly<Record<string, string | undefined>>;
  system?: SystemView;
  signals?: SignalSource;
  cwd?: string;
  now?: () => Date;
  /** Third signal: the children are already killed; end the process. */
  hardExit?: () => void;
  /** main.ts's Ctrl-C signal: only looked at before record's own handlers are installed. */
  signal?: AbortSignal;
}

/** `threadreel record`: preflight, record, post-process, manifest, summary, optional upload. */
export async function runRecord(options: RecordOptions, io: Io, deps: RecordDeps = {}): Promise<RecordExit> {
  const progress = new Progress(io);
  const fail = (err: RecordError): RecordExit => {
    progress.say(`threadreel record: ${err.message}`);
    return err.code;
  };
  let pre: Preflight;
  try {
    const system = deps.system ?? realSystem(deps.env ?? process.env);
    pre = await preflight(options, system, deps.cwd ?? process.cwd(), deps.now?.() ?? new Date());
    await writeFile(join(pre.bundleDir, RESERVE_FILE), Buffer.alloc(RESERVE_BYTES)).catch((err: unknown) => {
      throw isDiskFull(err)
        ? new RecordError(RecordExit.DiskFull, `disk full: no room in ${pre.bundleDir}`)
        : new RecordError(RecordExit.OutputUnusable, `cannot write to ${pre.bundleDir}: ${errorText(err)}`);
    });
  } catch (err) {
    if (err instanceof RecordError) return fail(err);
    throw err;
  }
  if (deps.signal?.aborted === true) {
    await removeBundle(pre);
    progress.say('threadreel record: interrupted before the recording started');
    return RecordExit.Interrupted;
  }
  for (const warning of pre.warnings) progress.warn(warning);
  if (options.strace) progress.warn(STRACE_WARNING);

  const children = new Children(pre.wrapper);
  const stop = new StopControl(() => {
    children.killAllNow('SIGKILL');
    progress.say('third signal: children killed, exiting');
    (deps.hardExit ?? (() => process.exit(RecordExit.Interrupted)))();
  });
  const unsubscribe = (deps.signals ?? processSignals)((signal) => {
    const first = stop.reason === null && !stop.recordingOver;
    progress.say(
      first
        ? `${signal}: stopping the recording (again to skip the post-processing)`
        : `${signal}: aborting; what is written is kept`,
    );
    stop.signal(signal);
  });
  const commands: string[] = [];
  const ctx: SessionContext = {
    options,
    pre,
    children,
    stop,
    progress,
    jvm: pre.target.runtime === 'jvm' ? new JvmRecorder(children, pre.tools, pre.target, commands) : null,
    commands,
    warnings: [...pre.warnings],
    startSizes: new Map(
      [...options.logs, ...options.spans, ...(options.gcLog === null ? [] : [options.gcLog])].map((f) => [
        f,
        sizeOf(f),
      ]),
    ),
  };
  try {
    let session;
    try {
      session = await recordSession(ctx);
    } catch (err) {
      if (!(err instanceof RecordError)) throw err;
      await removeBundle(pre);
      return fail(err);
    }
    stop.recordingOver = true;
    const elapsedMs = Number(session.windowEndNs - session.windowStartNs) / 1e6;
    const stopped = describeStop(session.reason, elapsedMs, options.durationMs);
    if (stopped !== null) ctx.warnings.unshift(stopped);
    const post = await postProcess(ctx, session);

    await rm(join(pre.bundleDir, RESERVE_FILE), { force: true });
    const manifest = buildManifest({
      name: options.name,
      host: hostname(),
      kernel: release(),
      timeZone: Intl.DateTimeFormat().resolvedOptions().timeZone,
      startRealtimeNs: session.startPair.realtimeNs,
      durationNs: session.windowEndNs - session.windowStartNs,
      target: pre.target,
      clocks: { start: session.startPair, end: session.endPair },
      files: post.entries,
      warnings: ctx.warnings,
      commands: ctx.commands,
      version: packageVersion(),
    });
    let manifestBytes: number | null = null;
    try {
      await writeManifest(pre.bundleDir, manifest);
      manifestBytes = (await stat(join(pre.bundleDir, MANIFEST_FILE))).size;
    } catch (err) {
      if (isDiskFull(err)) stop.noteDiskFull(`writing ${MANIFEST_FILE}`);
      progress.warn(`could not write ${MANIFEST_FILE}: ${errorText(err)}`);
    }
    for (const warning of ctx.warnings) progress.warn(warning);
    io.out(summary(pre.bundleDir, post.entries, manifestBytes));

    const code: RecordExit =
      stop.diskFull !== null
        ? RecordExit.DiskFull
        : stop.aborted
          ? RecordExit.Interrupted
          : post.toolFailed
            ? RecordExit.ToolFailed
            : session.reason.kind === 'target-exited'
              ? RecordExit.TargetExited
              : RecordExit.Ok;
    if (options.upload === null || stop.aborted || manifestBytes === null) return code;
    const uploaded = await upload(pre.bundleDir, options, stop.abortSignal, io);
    return code === RecordExit.Ok ? uploaded : code;
  } finally {
    unsubscribe();
    await children.stopAll();
  }
}

async function upload(dir: string, options: RecordOptions, signal: AbortSignal, io: Io): Promise<RecordExit> {
  try {
    return await runUpload(
      [dir],
      {
        server: options.upload ?? '',
        name: options.name,
        wait: true,
        timeoutMs: DEFAULT_TIMEOUT_SECONDS * 1000,
        signal,
      },
      io,
    );
  } catch (err) {
    if (err instanceof HttpError || err instanceof UnreachableError || err instanceof UsageError) {
      io.err(`threadreel record: upload failed: ${err.message}\n`);
      return err instanceof UsageError ? RecordExit.Usage : RecordExit.Server;
    }
    throw err;
  }
}

function sizeOf(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/** After a failed start: everything in the bundle folder is ours and worthless. */
async function removeBundle(pre: Preflight): Promise<void> {
  if (pre.createdDir) {
    await rm(pre.bundleDir, { recursive: true, force: true });
    return;
  }
  for (const entry of await readdir(pre.bundleDir).catch(() => [])) {
    await rm(join(pre.bundleDir, entry), { recursive: true, force: true });
  }
}
