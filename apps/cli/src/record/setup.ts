import { spawnSync } from 'node:child_process';
import { accessSync, constants, readFileSync, readlinkSync, statSync } from 'node:fs';
import { mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { RecordError, RecordExit } from './exit-codes.js';
import { defaultBundleName, type RecordOptions } from './options.js';
import {
  checkPrivileges,
  checkTools,
  inspectTarget,
  readPrivileges,
  type SystemView,
  type TargetInfo,
  type ToolPaths,
} from './preflight.js';

/** The real machine, for the pure checks in preflight.ts. */
export function realSystem(env: Readonly<Record<string, string | undefined>>): SystemView {
  return {
    readText: (path) => {
      try {
        return readFileSync(path, 'utf8');
      } catch {
        return null;
      }
    },
    readLink: (path) => {
      try {
        return readlinkSync(path);
      } catch {
        return null;
      }
    },
    isExecutable: (path) => {
      try {
        accessSync(path, constants.X_OK);
        return statSync(path).isFile();
      } catch {
        return false;
      }
    },
    euid: process.geteuid?.() ?? -1,
    env,
  };
}

export interface Preflight {
  target: TargetInfo;
  tools: ToolPaths;
  /** `setpriv --pdeathsig TERM --` when setpriv supports it: children die with the recorder. */
  wrapper: string[];
  bundleDir: string;
  /** The bundle folder did not exist before (so a failed start may remove it). */
  createdDir: boolean;
  warnings: string[];
}

/**
 * Every check before the recording, in the order the exit codes are documented:
 * platform, tools (12), target (13), privileges (10/11), input files (2), output (14).
 * Creates the bundle folder. Throws RecordError.
 */
export async function preflight(
  options: RecordOptions,
  sys: SystemView,
  cwd: string,
  now: Date,
): Promise<Preflight> {
  if (process.platform !== 'linux') {
    throw new RecordError(RecordExit.Usage, `record works on Linux only (this is ${process.platform})`);
  }
  const warnings: string[] = [];
  const tools = checkTools({ strace: options.strace, jfr: options.jfr }, sys.env['PATH'], sys.isExecutable);
  if (options.pid === process.pid) throw new RecordError(RecordExit.Usage, 'cannot record threadreel itself');
  const target = inspectTarget(options.pid, sys);
  const denied = checkPrivileges(readPrivileges(sys), { strace: options.strace, targetUid: target.uid });
  if (denied !== null) throw denied;
  if (options.jfr && target.runtime !== 'jvm') {
    throw new RecordError(
      RecordExit.Usage,
      `--jfr needs a JVM, but pid ${target.pid} is ${target.exe ?? target.comm}`,
    );
  }
  if (target.runtime === 'jvm' && tools.jstack === undefined) {
    warnings.push('jstack not found in PATH: no thread dumps of the JVM');
  }
  for (const file of [
    ...options.logs,
    ...options.spans,
    ...(options.gcLog === null ? [] : [options.gcLog]),
  ]) {
    await checkReadable(file);
  }
  const bundleDir = resolve(cwd, options.out ?? defaultBundleName(options.pid, now));
  const createdDir = await prepareOutputDir(bundleDir);
  return { target, tools, wrapper: deathSignalWrapper(tools.setpriv), bundleDir, createdDir, warnings };
}

async function checkReadable(path: string): Promise<void> {
  try {
    const info = await stat(path);
    if (!info.isFile()) throw new RecordError(RecordExit.Usage, `not a regular file: ${path}`);
    accessSync(path, constants.R_OK);
  } catch (err) {
    if (err instanceof RecordError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : String(code);
    throw new RecordError(RecordExit.Usage, `cannot read ${path}: ${why}`);
  }
}

const PROBE = '.threadreel-write-test';

/**
 * Creates the bundle folder (parents too); it must be new or empty, and writable.
 * Returns whether it was created.
 */
export async function prepareOutputDir(dir: string): Promise<boolean> {
  const fail = (err: unknown, what: string): never => {
    const code = (err as NodeJS.ErrnoException | null)?.code;
    if (code === 'ENOSPC') throw new RecordError(RecordExit.DiskFull, `disk full: cannot ${what} ${dir}`);
    const why =
      code === 'EACCES' || code === 'EPERM'
        ? 'permission denied'
        : code === 'EROFS'
          ? 'read-only file system'
          : code === 'ENOTDIR' || code === 'EEXIST'
            ? 'a parent is not a directory'
            : code === 'ENOENT'
              ? 'no such parent directory'
              : err instanceof Error
                ? err.message
                : String(err);
    throw new RecordError(RecordExit.OutputUnusable, `output folder unusable: cannot ${what} ${dir}: ${why}`);
  };
  let created = false;
  try {
    created = await makeDirs(dir);
  } catch (err) {
    fail(err, 'create');
  }
  let entries: string[] = [];
  try {
    if (!(await stat(dir)).isDirectory()) {
      throw new RecordError(
        RecordExit.OutputUnusable,
        `output folder unusable: ${dir} exists and is not a folder`,
      );
    }
    entries = await readdir(dir);
  } catch (err) {
    if (err instanceof RecordError) throw err;
    fail(err, 'read');
  }
  if (entries.length > 0) {
    throw new RecordError(
      RecordExit.OutputUnusable,
      `output folder ${dir} is not empty (${entries.slice(0, 3).join(', ')}${entries.length > 3 ? ', …' : ''}); ` +
        'give a new or empty folder with --out',
    );
  }
  try {
    await writeFile(resolve(dir, PROBE), 'x');
    await rm(resolve(dir, PROBE));
  } catch (err) {
    fail(err, 'write to');
  }
  return created;
}

/**
 * mkdir -p that gives up: Node's mkdir({recursive: true}) spins forever where mkdir
 * fails with ENOENT although the parent exists (e.g. under /proc). True when created.
 */
export async function makeDirs(dir: string, depth = 0): Promise<boolean> {
  try {
    await mkdir(dir);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    const parent = dirname(dir);
    if (code !== 'ENOENT' || parent === dir || depth > 64) throw err;
  }
  await makeDirs(dirname(dir), depth + 1);
  await mkdir(dir);
  return true;
}

/**
 * `setpriv --pdeathsig TERM --`, which makes the kernel send SIGTERM to a child when
 * the recorder dies, even by SIGKILL (perf record and strace stop cleanly on SIGTERM);
 * empty when setpriv is missing or too old for --pdeathsig.
 */
export function deathSignalWrapper(setpriv: string | undefined): string[] {
  if (setpriv === undefined) return [];
  const args = ['--pdeathsig', 'TERM', '--'];
  const probe = spawnSync(setpriv, [...args, 'true'], { stdio: 'ignore', timeout: 5000 });
  return probe.status === 0 ? [setpriv, ...args] : [];
}
