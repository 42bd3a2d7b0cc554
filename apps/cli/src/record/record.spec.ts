import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Io } from '../io.js';
import { RecordExit } from './exit-codes.js';
import type { RecordOptions } from './options.js';
import type { SystemView } from './preflight.js';
import { runRecord } from './record.js';

function captureIo(): Io & { stdout: () => string; stderr: () => string } {
  let out = '';
  let err = '';
  return {
    out: (text) => void (out += text),
    err: (text) => void (err += text),
    errIsTty: false,
    columns: () => 80,
    stdout: () => out,
    stderr: () => err,
  };
}

const ALL_CAPS = '000001ffffffffff';
const STAT = '500 (app) S 1 500 500 0 -1 0 0 0 0 0 0 0 0 0 20 0 2 0 4242 0 0';

/** A machine with perf and strace in /usr/bin, a target pid 500 of uid 1000, and the given overrides. */
function machine(files: Record<string, string | null> = {}, euid = 0): SystemView {
  const all: Record<string, string | null> = {
    '/proc/self/status': `Name:\tnode\nCapEff:\t${ALL_CAPS}\n`,
    '/proc/sys/kernel/perf_event_paranoid': '2\n',
    '/proc/500/stat': STAT,
    '/proc/500/status': 'Tgid:\t500\nUid:\t1000\t1000\t1000\t1000\nGid:\t1000\t1000\t1000\t1000\n',
    '/proc/500/comm': 'app\n',
    '/proc/500/cmdline': 'app\0',
    ...files,
  };
  return {
    readText: (path) => all[path] ?? null,
    readLink: () => null,
    isExecutable: (path) =>
      all[`exec:${path}`] !== null && ['/usr/bin/perf', '/usr/bin/strace'].includes(path),
    euid,
    env: { PATH: '/usr/bin' },
  };
}

let cwd: string;
beforeEach(async () => {
  cwd = await mkdtemp(join(tmpdir(), 'threadreel-record-'));
});
afterEach(async () => {
  await rm(cwd, { recursive: true, force: true });
});

function options(overrides: Partial<RecordOptions> = {}): RecordOptions {
  return {
    pid: 500,
    durationMs: 1000,
    out: 'bundle',
    perfFreq: 199,
    maxStack: null,
    strace: true,
    jfr: false,
    logs: [],
    spans: [],
    gcLog: null,
    upload: null,
    name: null,
    ...overrides,
  };
}

describe('runRecord preflight', () => {
  it.each([
    [
      'not root, perf_event_paranoid 2',
      machine({ '/proc/self/status': 'CapEff:\t0000000000000000\n' }, 1000),
      RecordExit.ParanoidTooHigh,
      'not root: uid 1000 has no CAP_PERFMON',
    ],
    [
      'root without CAP_PERFMON/CAP_SYS_ADMIN',
      machine({ '/proc/self/status': 'CapEff:\t0000000000080000\n' }),
      RecordExit.NotPermitted,
      'without CAP_PERFMON',
    ],
    [
      'perf missing from PATH',
      machine({ 'exec:/usr/bin/perf': null }),
      RecordExit.ToolMissing,
      'not found in PATH: perf',
    ],
    [
      'strace missing from PATH',
      machine({ 'exec:/usr/bin/strace': null }),
      RecordExit.ToolMissing,
      'strace (apt-get install strace',
    ],
    ['no such pid', machine({ '/proc/500/stat': null }), RecordExit.NoSuchProcess, 'no process with pid 500'],
  ])('%s: a clear message and its exit code, nothing created', async (_what, system, code, message) => {
    const io = captureIo();
    expect(await runRecord(options(), io, { system, cwd, signals: () => () => undefined })).toBe(code);
    expect(io.stderr()).toMatch(/^threadreel record: /);
    expect(io.stderr()).toContain(message);
    expect(io.stdout()).toBe('');
    expect(existsSync(join(cwd, 'bundle'))).toBe(false);
  });

  it('refuses --jfr for a process that is not a JVM (exit 2)', async () => {
    const io = captureIo();
    const system = machine({ 'exec:/usr/bin/jcmd': '' });
    const withJdk: SystemView = { ...system, isExecutable: (p) => p.startsWith('/usr/bin/') };
    expect(await runRecord(options({ jfr: true }), io, { system: withJdk, cwd })).toBe(RecordExit.Usage);
    expect(io.stderr()).toContain('--jfr needs a JVM');
  });

  it('refuses an output folder under a regular file (exit 14)', async () => {
    const io = captureIo();
    const code = await runRecord(options({ out: '/etc/hostname/bundle' }), io, { system: machine(), cwd });
    expect(code).toBe(RecordExit.OutputUnusable);
    expect(io.stderr()).toContain('a parent is not a directory');
  });

  it('gives up with exit 130 and removes the new folder when Ctrl-C came during the checks', async () => {
    const io = captureIo();
    const interrupted = AbortSignal.abort();
    const code = await runRecord(options(), io, { system: machine(), cwd, signal: interrupted });
    expect(code).toBe(RecordExit.Interrupted);
    expect(io.stderr()).toContain('interrupted before the recording started');
    expect(existsSync(join(cwd, 'bundle'))).toBe(false);
  });
});
