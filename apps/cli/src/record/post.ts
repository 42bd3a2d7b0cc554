import { existsSync } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { ManifestFile } from '@threadreel/model';
import { formatBytes } from '../progress.js';
import { commandLine } from './children.js';
import {
  BUNDLE_FILES,
  reservedNames,
  uniqueName,
  type BundleEntry,
  type BundleFileKind,
} from './manifest.js';
import { exitText, lostEventWarnings, perfScriptArgv, recordedSamples } from './perf.js';
import { PERF_DATA_TEMP, type SessionContext, type SessionResult } from './session.js';
import { isAlive } from './threads.js';
import { runTool } from './tools.js';
import { copySnapshot, errorText, gzipFile, isDiskFull } from './write.js';

export interface PostResult {
  entries: BundleEntry[];
  /** A tool failed in a way that lost data (exit code 17). */
  toolFailed: boolean;
}

/**
 * Everything after the recording: JVM end steps, perf script | gzip, gzip of strace,
 * jfr print, the perf map and the copied files. Each step that is aborted (second
 * Ctrl-C) or fails leaves the raw file in place and described; truncated outputs are
 * removed.
 */
export async function postProcess(ctx: SessionContext, session: SessionResult): Promise<PostResult> {
  const { pre, stop, progress, warnings, commands } = ctx;
  const dir = pre.bundleDir;
  const pid = pre.target.pid;
  const partial = session.reason.kind !== 'duration';
  const entries: BundleEntry[] = [];
  let toolFailed = session.reason.kind === 'tool-failed';
  const signal = stop.abortSignal;
  const skip = (what: string): boolean => {
    if (stop.aborted) warnings.push(`post-processing aborted (second Ctrl-C): ${what} skipped`);
    else if (stop.diskFull !== null) warnings.push(`disk full: ${what} skipped`);
    else return false;
    return true;
  };
  const add = async (
    kind: BundleFileKind | ManifestFile,
    extra: Partial<ManifestFile> = {},
  ): Promise<void> => {
    const file: ManifestFile = typeof kind === 'string' ? { ...BUNDLE_FILES[kind] } : kind;
    const info = await stat(join(dir, file.path)).catch(() => null);
    if (info === null) return;
    // The recorder's own files are of the target; copied logs may come from anywhere.
    const own = typeof kind === 'string' || file.role === 'perf-map';
    const windowed = typeof kind === 'string' && !kind.startsWith('jstack');
    entries.push({
      ...file,
      ...(own ? { pid } : {}),
      ...(partial && windowed ? { partial: true } : {}),
      ...extra,
      bytes: info.size,
    });
  };
  const failed = (what: string, err: unknown): void => {
    if (isDiskFull(err)) stop.noteDiskFull(`${what}: ${errorText(err)}`);
    warnings.push(`${what} failed: ${errorText(err)}`);
  };

  // JVM end: needs the target alive; the JIT perf map must exist before perf script.
  const jvm = ctx.jvm;
  const alive = isAlive(pid, pre.target.startTime);
  const perfMapPath = `/tmp/perf-${pid}.map`;
  const perfMapExisted = existsSync(perfMapPath);
  let createdPerfMap = false;
  if (jvm !== null) {
    if (!alive) {
      warnings.push(
        'the JVM exited: no end jstack snapshot' + (session.jfrStarted ? ' and no JFR dump' : ''),
      );
    } else {
      for (const result of [
        ...(skip('jstack at end') ? [] : [await jvm.jstack(join(dir, BUNDLE_FILES.jstackEnd.path), signal)]),
        ...(session.jfrStarted ? [await jvm.jfrDumpAndStop(join(dir, BUNDLE_FILES.jfr.path))] : []),
      ]) {
        if (result.problem !== null) warnings.push(result.problem);
      }
      if (!stop.aborted && pre.tools.jcmd !== undefined) {
        const map = await jvm.perfMap();
        if (map.problem !== null) warnings.push(map.problem);
        createdPerfMap = map.ok && !perfMapExisted;
      }
    }
  }

  // perf script | gzip > perf.script.gz; perf.data is dropped once converted.
  const data = join(dir, PERF_DATA_TEMP);
  const script = join(dir, BUNDLE_FILES.perfScript.path);
  lostEventWarnings(session.perf.output).forEach((w) => warnings.push(`perf record: ${w}`));
  let converted = false;
  if (existsSync(data) && !skip('perf script')) {
    const samples = recordedSamples(session.perf.output);
    progress.say(
      `perf script → perf.script.gz${samples === null ? '' : ` (${samples} samples and events)`}…`,
    );
    const run = await runTool(
      ctx.children,
      'perf script',
      perfScriptArgv(pre.tools.perf ?? 'perf', data, ctx.options.maxStack),
      {
        stdoutTo: script,
        gzip: true,
        signal,
      },
    );
    commands.push(`${run.command} | gzip > ${script}`);
    lostEventWarnings(run.output).forEach((w) => warnings.push(`perf script: ${w}`));
    if (run.error !== null) {
      failed('perf script', run.error);
      await rm(script, { force: true });
      if (!stop.aborted && !isDiskFull(run.error)) toolFailed = true;
    } else if (!run.ok) {
      warnings.push(
        `perf script ended with ${exitText(run.exit)}: ${run.output.trim().split('\n').pop() ?? ''}`,
      );
      await add('perfScript', {
        partial: true,
        note: 'perf script failed part way: see warnings; perf.data kept',
      });
      toolFailed = true;
    } else {
      converted = true;
      await add('perfScript');
    }
  }
  if (existsSync(data)) {
    if (converted) await rm(data, { force: true });
    else {
      await rename(data, join(dir, BUNDLE_FILES.perfData.path));
      await add('perfData', {
        note: `raw perf.data, not converted: run ${commandLine(perfScriptArgv('perf', 'perf.data'))}`,
      });
    }
  }

  // strace.txt → strace.txt.gz
  const straceRaw = join(dir, BUNDLE_FILES.straceRaw.path);
  const straceNote = session.strace?.endedEarly
    ? { partial: true, note: 'strace ended before the recording' }
    : {};
  if (existsSync(straceRaw)) {
    if (!skip('gzip of strace.txt')) {
      const gz = join(dir, BUNDLE_FILES.strace.path);
      try {
        await gzipFile(straceRaw, gz, signal);
        await rm(straceRaw);
        commands.push(`gzip ${straceRaw}`);
      } catch (err) {
        failed('gzip strace.txt', err);
        await rm(gz, { force: true });
      }
    }
    await add(existsSync(straceRaw) ? 'straceRaw' : 'strace', straceNote);
  }

  // JFR: the recording and its JSON form.
  const jfrFile = join(dir, BUNDLE_FILES.jfr.path);
  if (jvm !== null && existsSync(jfrFile)) {
    await add('jfr', { note: 'binary JFR recording; jfr.json.gz is its `jfr print --json` text' });
    if (!skip('jfr print')) {
      progress.say('jfr print --json → jfr.json.gz…');
      const printed = await jvm.jfrPrint(jfrFile, join(dir, BUNDLE_FILES.jfrJson.path), signal);
      if (printed.ok) await add('jfrJson');
      else {
        warnings.push(printed.problem ?? 'jfr print failed');
        await rm(join(dir, BUNDLE_FILES.jfrJson.path), { force: true });
      }
    }
  }
  if (session.jstackStart) await add('jstackStart');
  await add('jstackEnd');
  await add('threads');

  // Copies: the perf map (JIT symbols) and the user's files.
  const taken = reservedNames(pid);
  const copies: { src: string; folder: string; role: ManifestFile['role'] }[] = [
    ...(existsSync(perfMapPath) ? [{ src: perfMapPath, folder: '', role: 'perf-map' as const }] : []),
    ...ctx.options.logs.map((src) => ({ src, folder: 'logs', role: 'logs' as const })),
    ...ctx.options.spans.map((src) => ({ src, folder: 'spans', role: 'spans' as const })),
    ...(ctx.options.gcLog === null ? [] : [{ src: ctx.options.gcLog, folder: 'gc', role: 'gc' as const }]),
  ];
  for (const copy of copies) {
    if (skip(`copy of ${copy.src}`)) continue;
    const name = copy.role === 'perf-map' ? basename(copy.src) : uniqueName(basename(copy.src), taken);
    const path = copy.folder === '' ? name : `${copy.folder}/${name}`;
    try {
      if (copy.folder !== '') await mkdir(join(dir, copy.folder), { recursive: true });
      const result = await copySnapshot(copy.src, join(dir, path), signal);
      commands.push(
        `cp ${commandLine([copy.src])} ${commandLine([join(dir, path)])} (first ${result.bytes} bytes)`,
      );
      const before = ctx.startSizes.get(copy.src);
      const notes = [
        ...(copy.role === 'perf-map' ? ['JIT symbol map written by the target (perf-PID.map)'] : []),
        ...(before !== undefined && result.bytes !== before
          ? [`grew by ${formatBytes(result.bytes - before)} during the recording`]
          : []),
        ...(result.sizeAfter !== result.bytes
          ? [
              `still growing while copied: holds its first ${result.bytes} bytes (${result.sizeAfter} by the end of the copy)`,
            ]
          : []),
      ];
      await add({
        path,
        role: copy.role,
        ...(copy.role === 'perf-map' ? { format: 'perf-map' } : {}),
        ...(notes.length > 0 ? { note: `${copy.src}: ${notes.join('; ')}` } : { note: copy.src }),
      });
    } catch (err) {
      failed(`copy of ${copy.src}`, err);
      await rm(join(dir, path), { force: true });
    }
  }
  // Compiler.perfmap wrote it for perf script only: leave /tmp as it was.
  if (createdPerfMap) await rm(perfMapPath, { force: true });
  return { entries, toolFailed };
}
