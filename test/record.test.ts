import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { MANIFEST_SCHEMA, type CaptureManifest } from '@threadreel/model';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_MAIN } from './support/env.js';
import { startTestApi, tempDir, waitFor } from './support/processes.js';

/**
 * `threadreel record` against real programs with the machine's real perf and strace.
 * Without them (or without the right to use them) the suite fails, unless
 * THREADREEL_ALLOW_NO_PERF=1, which turns that into a loud warning and skips it.
 */

const addFormats = addFormatsModule.default;
const ajv = new Ajv2020({ allErrors: true, strict: false });
addFormats(ajv);
const validateManifest = ajv.compile<CaptureManifest>(MANIFEST_SCHEMA);

const dir = tempDir('record');

/** Why perf or strace cannot record here, or null when both work. */
function perfProblem(): string | null {
  const data = path.join(dir, 'probe.data');
  const perf = spawnSync(
    'perf',
    [
      'record',
      '-q',
      '-k',
      'mono',
      '-c',
      '1',
      '-e',
      'sched:sched_switch',
      '-e',
      'cpu-clock',
      '-o',
      data,
      '--',
      'true',
    ],
    { encoding: 'utf8' },
  );
  if (perf.error) return `perf is not runnable: ${perf.error.message}`;
  if (perf.status !== 0) return `perf record of sched:sched_switch failed: ${perf.stderr.trim()}`;
  const strace = spawnSync('strace', ['-f', '-o', '/dev/null', 'true'], { encoding: 'utf8' });
  if (strace.error) return `strace is not runnable: ${strace.error.message}`;
  if (strace.status !== 0) return `strace failed: ${strace.stderr.trim()}`;
  return null;
}

const problem = perfProblem();
const allowed = process.env.THREADREEL_ALLOW_NO_PERF === '1';
if (problem !== null && allowed) {
  console.warn(
    `\n${'!'.repeat(78)}\n!! THREADREEL_ALLOW_NO_PERF=1: SKIPPING the threadreel record e2e tests\n!! ${problem}\n${'!'.repeat(78)}\n`,
  );
}

/** A busy multi-threaded Node program: two worker threads spinning and sleeping, a log line every 20 ms. */
const WORKLOAD = `
const { Worker } = require('node:worker_threads');
const fs = require('node:fs');
const [log, lifeMs] = [process.argv[2], Number(process.argv[3] || 600000)];
for (let i = 0; i < 2; i++) {
  new Worker('const s = new Int32Array(new SharedArrayBuffer(4)); let x = 0;' +
    'for (;;) { for (let i = 0; i < 3e6; i++) x += i % 7; Atomics.wait(s, 0, 0, 3); }', { eval: true });
}
setInterval(() => fs.appendFileSync(log, new Date().toISOString() + ' INFO tick\\n'), 20);
setTimeout(() => process.exit(0), lifeMs);
process.stdout.write('ready\\n');
`;

const workloads: ChildProcess[] = [];

/** Starts the workload and resolves once it runs; `lifeMs` ends it by itself. */
async function startWorkload(name: string, lifeMs = 600_000): Promise<{ pid: number; log: string }> {
  const script = path.join(dir, 'workload.cjs');
  if (!existsSync(script)) writeFileSync(script, WORKLOAD);
  const log = path.join(dir, `${name}.log`);
  writeFileSync(log, '');
  const proc = spawn(process.execPath, [script, log, String(lifeMs)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  workloads.push(proc);
  await new Promise<void>((resolve, reject) => {
    proc.stdout?.once('data', () => resolve());
    proc.once('exit', (code) => reject(new Error(`workload exited with ${code}`)));
  });
  return { pid: proc.pid!, log };
}

interface CliRun {
  proc: ChildProcess;
  stderr(): string;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
}

function record(args: string[], env: NodeJS.ProcessEnv = process.env, prefix: string[] = []): CliRun {
  const argv = [...prefix, process.execPath, CLI_MAIN, 'record', ...args];
  const proc = spawn(argv[0]!, argv.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  proc.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<{
    code: number | null;
    signal: NodeJS.Signals | null;
    stdout: string;
    stderr: string;
  }>((resolve) => proc.once('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
  return { proc, stderr: () => stderr, done };
}

/** Running perf/strace/jcmd processes whose command line names `needles` (zombies do not count). */
function leftovers(...needles: string[]): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (/^\d+ \(.*\) [ZX] /s.test(stat)) continue;
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
      if (/\b(perf|strace|jcmd|jstack|jfr)\b/.test(cmdline) && needles.some((n) => cmdline.includes(n))) {
        found.push(`${pid}: ${cmdline}`);
      }
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

function manifestOf(bundle: string): CaptureManifest {
  const manifest = JSON.parse(readFileSync(path.join(bundle, 'manifest.json'), 'utf8')) as unknown;
  expect(validateManifest(manifest), JSON.stringify(validateManifest.errors)).toBe(true);
  return manifest as CaptureManifest;
}

const straceArgs = (pid: number) => `-p ${pid} `;

/** Polls a synchronous condition (waitFor takes a promise). */
function until(what: string, condition: () => boolean, timeoutMs: number, everyMs = 200): Promise<true> {
  return waitFor(what, () => Promise.resolve(condition() || undefined), timeoutMs, everyMs);
}

afterAll(() => {
  for (const proc of workloads) proc.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

describe('threadreel record', () => {
  it.skipIf(allowed)('has perf and strace usable on this machine (THREADREEL_ALLOW_NO_PERF=1 skips)', () => {
    expect(problem, `threadreel record cannot be tested here: ${problem}`).toBeNull();
  });

  describe.skipIf(problem !== null)('with real perf and strace', () => {
    it('records perf samples, every sched switch, strace and the thread map of a busy multi-threaded process', async () => {
      const { pid, log } = await startWorkload('busy');
      const spans = path.join(dir, 'spans.otlp.json');
      writeFileSync(spans, '{"resourceSpans":[]}\n');
      const bundle = path.join(dir, 'busy-bundle');
      const run = await record([
        '--pid',
        String(pid),
        '--duration',
        '2s',
        '--out',
        bundle,
        '--logs',
        log,
        '--spans',
        spans,
      ]).done;
      expect(run.code, run.stderr).toBe(0);
      expect(run.stderr).toContain('strace stops the target');
      expect(run.stdout).toContain(`bundle: ${bundle}`);
      expect(run.stdout).toMatch(/perf\.script\.gz +\d/);

      const manifest = manifestOf(bundle);
      expect(manifest.target).toMatchObject({ pid, runtime: 'node' });
      expect(manifest.files.map((f) => [f.path, f.role, f.clock ?? null])).toEqual([
        ['perf.script.gz', 'perf', 'monotonic'],
        ['strace.txt.gz', 'strace', 'realtime'],
        ['threads.jsonl', 'threads', 'monotonic'],
        ['logs/busy.log', 'logs', null],
        ['spans/spans.otlp.json', 'spans', null],
      ]);
      for (const file of manifest.files) expect(existsSync(path.join(bundle, file.path))).toBe(true);
      expect(manifest.files.find((f) => f.role === 'logs')?.note).toMatch(/grew by/);
      expect(manifest.clocks?.map((c) => c.at)).toEqual(['start', 'end']);
      expect(Number(manifest.durationNs) / 1e9).toBeGreaterThan(1.9);
      expect(manifest.recorder?.commands?.join('\n')).toContain(
        `perf record -k mono -g --sample-cpu -N -c 1 -e cpu-clock/freq=199,name=cpu-clock/ -e sched:sched_switch -e sched:sched_wakeup -p ${pid}`,
      );
      expect(readdirSync(bundle).sort()).toEqual([
        'logs',
        'manifest.json',
        'perf.script.gz',
        'spans',
        'strace.txt.gz',
        'threads.jsonl',
      ]);

      // threads.jsonl: the target's threads, sampled about every second.
      const threads = readFileSync(path.join(bundle, 'threads.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map(
          (line) =>
            JSON.parse(line) as { snapshot: number; tNs: string; pid: number; tid: number; comm: string },
        );
      const tids = new Set(threads.map((t) => t.tid));
      expect(tids.size).toBeGreaterThanOrEqual(3);
      expect(new Set(threads.map((t) => t.snapshot)).size).toBeGreaterThanOrEqual(3);
      expect(threads.every((t) => t.pid === pid && /^\d+$/.test(t.tNs))).toBe(true);

      // perf.script.gz: cpu-clock samples on several of those threads, sched events, same clock as threads.jsonl.
      const script = gunzipSync(readFileSync(path.join(bundle, 'perf.script.gz'))).toString('utf8');
      expect(script).toMatch(/^# clockid: monotonic/m);
      const samples = [...script.matchAll(/^\S.*? +(\d+)\/(\d+) +\[\d+\] +(\d+\.\d{9}): +\d+ +(\S+):/gm)];
      const sampledTids = new Set(
        samples.filter((m) => m[4] === 'cpu-clock' && Number(m[1]) === pid).map((m) => Number(m[2])),
      );
      expect(sampledTids.size).toBeGreaterThanOrEqual(2);
      for (const tid of sampledTids) expect(tids.has(tid)).toBe(true);
      expect(samples.some((m) => m[4] === 'sched:sched_switch')).toBe(true);
      const times = samples.map((m) => Number(m[3]));
      const threadTimes = threads.map((t) => Number(t.tNs) / 1e9);
      expect(Math.min(...threadTimes)).toBeLessThan(Math.max(...times));
      expect(Math.max(...threadTimes)).toBeGreaterThan(Math.min(...times));

      // strace: epoch timestamps, durations, several threads.
      const strace = gunzipSync(readFileSync(path.join(bundle, 'strace.txt.gz'))).toString('utf8');
      expect(strace).toMatch(/^\d+ +\d{10}\.\d{6} \w+\(.*<\d+\.\d{6}>$/m);
      expect(leftovers(bundle, straceArgs(pid))).toEqual([]);
    });

    it('stops cleanly at SIGINT: exit 0, no perf or strace left, files marked partial', async () => {
      const { pid } = await startWorkload('sigint');
      const bundle = path.join(dir, 'sigint-bundle');
      const cli = record(['--pid', String(pid), '--duration', '60s', '--out', bundle]);
      await until('recording', () => /recording pid/.test(cli.stderr()), 30_000, 50);
      expect(leftovers(bundle).length).toBe(2);
      await new Promise((resolve) => setTimeout(resolve, 1000));
      cli.proc.kill('SIGINT');
      const run = await cli.done;
      expect(run.code, run.stderr).toBe(0);
      expect(leftovers(bundle, straceArgs(pid))).toEqual([]);
      const manifest = manifestOf(bundle);
      expect(manifest.warnings?.[0]).toMatch(/stopped early by SIGINT after \d/);
      expect(manifest.files.filter((f) => f.partial).map((f) => f.path)).toEqual([
        'perf.script.gz',
        'strace.txt.gz',
        'threads.jsonl',
      ]);
    });

    it('a second SIGINT skips the post-processing but still stops every child (exit 130)', async () => {
      const { pid } = await startWorkload('abort');
      const bundle = path.join(dir, 'abort-bundle');
      const cli = record(['--pid', String(pid), '--duration', '60s', '--out', bundle]);
      await until('recording', () => /recording pid/.test(cli.stderr()), 30_000, 50);
      await new Promise((resolve) => setTimeout(resolve, 500));
      cli.proc.kill('SIGINT');
      await until('stopping', () => /stopping/.test(cli.stderr()), 10_000, 10);
      cli.proc.kill('SIGINT');
      const run = await cli.done;
      expect(run.code, run.stderr).toBe(130);
      expect(leftovers(bundle, straceArgs(pid))).toEqual([]);
      const manifest = manifestOf(bundle);
      expect(manifest.warnings?.join('\n')).toContain('post-processing aborted');
      expect(manifest.files.map((f) => f.path)).toEqual(['perf.data', 'strace.txt', 'threads.jsonl']);
    });

    it('leaves no perf or strace behind even when the recorder is SIGKILLed', async () => {
      const { pid } = await startWorkload('sigkill');
      const bundle = path.join(dir, 'sigkill-bundle');
      const cli = record(['--pid', String(pid), '--duration', '60s', '--out', bundle]);
      await until('recording', () => /recording pid/.test(cli.stderr()), 30_000, 50);
      expect(leftovers(bundle).length).toBe(2);
      cli.proc.kill('SIGKILL');
      await cli.done;
      await until('perf and strace gone', () => leftovers(bundle, straceArgs(pid)).length === 0, 10_000);
    });

    it('ends with exit 15 and a partial bundle when the target exits during the recording', async () => {
      // Long enough for the recorder to attach on a loaded 2-core machine (2.5 s was not).
      const { pid } = await startWorkload('exits', 6000);
      const bundle = path.join(dir, 'exits-bundle');
      const run = await record(['--pid', String(pid), '--duration', '30s', '--out', bundle]).done;
      expect(run.code, run.stderr).toBe(15);
      const manifest = manifestOf(bundle);
      expect(manifest.warnings?.[0]).toMatch(/target process exited after/);
      expect(manifest.files.find((f) => f.role === 'perf')).toMatchObject({
        path: 'perf.script.gz',
        partial: true,
      });
      expect(leftovers(bundle)).toEqual([]);
    });

    it('refuses a dead pid (13), perf missing from PATH (12) and an unusable output folder (14)', async () => {
      const dead = spawnSync('true').pid;
      let run = await record(['--pid', String(dead), '--out', path.join(dir, 'dead')]).done;
      expect([run.code, run.stderr]).toEqual([13, `threadreel record: no process with pid ${dead}\n`]);
      expect(existsSync(path.join(dir, 'dead'))).toBe(false);

      const { pid } = await startWorkload('errors');
      const onlyStrace = path.join(dir, 'only-strace');
      mkdirSync(onlyStrace, { recursive: true });
      const straceBin = spawnSync('sh', ['-c', 'command -v strace'], { encoding: 'utf8' }).stdout.trim();
      if (!existsSync(path.join(onlyStrace, 'strace')))
        spawnSync('ln', ['-s', straceBin, path.join(onlyStrace, 'strace')]);
      run = await record(['--pid', String(pid), '--out', path.join(dir, 'noperf')], {
        ...process.env,
        PATH: onlyStrace,
      }).done;
      expect(run.code, run.stderr).toBe(12);
      expect(run.stderr).toContain('not found in PATH: perf');

      for (const out of ['/proc/forbidden/x', '/etc/hostname/x']) {
        run = await record(['--pid', String(pid), '--out', out]).done;
        expect(run.code, run.stderr).toBe(14);
        expect(run.stderr).toContain(`output folder unusable: cannot create ${out}`);
      }
    });

    it('refuses to run without root or its capabilities (10 or 11), checked by the real CLI', async () => {
      const { pid } = await startWorkload('privileges');
      const hasSetpriv = spawnSync('setpriv', ['--version']).status === 0;
      if (!hasSetpriv) {
        console.warn('setpriv is missing: the non-root paths are covered by the unit tests only');
        return;
      }
      const paranoid = Number(readFileSync('/proc/sys/kernel/perf_event_paranoid', 'utf8'));
      const out = path.join(dir, 'nobody');
      const nobody = await record(['--pid', String(pid), '--out', out], process.env, [
        'setpriv',
        '--reuid=65534',
        '--regid=65534',
        '--clear-groups',
        '--',
      ]).done;
      expect(nobody.code, nobody.stderr).toBe(paranoid > -1 ? 11 : 10);
      expect(nobody.stderr).toContain('not root');
      const noCaps = await record(['--pid', String(pid), '--out', out], process.env, [
        'setpriv',
        '--inh-caps=-all',
        '--bounding-set=-sys_admin,-perfmon,-sys_ptrace',
        '--',
      ]).done;
      expect(noCaps.code, noCaps.stderr).toBe(10);
      expect(noCaps.stderr).toContain('without CAP_PERFMON or CAP_SYS_ADMIN');
      expect(existsSync(out)).toBe(false);
    });

    it('stops at ENOSPC with exit 16 and still writes manifest.json', async (ctx) => {
      const mountPoint = path.join(dir, 'small-disk');
      mkdirSync(mountPoint, { recursive: true });
      if (spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=3m', 'tmpfs', mountPoint]).status !== 0) {
        console.warn('cannot mount a small tmpfs here: the disk-full path is not tested end to end');
        ctx.skip();
      }
      try {
        const { pid } = await startWorkload('diskfull');
        const bundle = path.join(mountPoint, 'bundle');
        const run = await record(['--pid', String(pid), '--duration', '30s', '--out', bundle]).done;
        expect(run.code, run.stderr).toBe(16);
        const manifest = manifestOf(bundle);
        expect(manifest.warnings?.[0]).toMatch(/^disk full after/);
        expect(manifest.files.every((f) => f.partial === true)).toBe(true);
        expect(leftovers(bundle)).toEqual([]);
      } finally {
        spawnSync('umount', ['-l', mountPoint]);
      }
    });

    it('records a JVM with jstack snapshots, JFR and its JIT perf map', async (ctx) => {
      const javaTools = ['java', 'jcmd', 'jstack', 'jfr'].every(
        (tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0,
      );
      if (!javaTools) {
        console.warn('no JDK (java, jcmd, jstack, jfr) here: the JVM path is not tested end to end');
        ctx.skip();
      }
      const source = path.join(dir, 'Busy.java');
      writeFileSync(
        source,
        `public class Busy { public static void main(String[] a) throws Exception {
  for (int i = 0; i < 2; i++) { Thread t = new Thread(() -> { long x = 0; while (true) {
    for (int j = 0; j < 1_000_000; j++) x += j * 31L; if (x == 42) System.out.println(x);
    try { Thread.sleep(2); } catch (InterruptedException e) { return; } } }, "busy-" + i);
    t.setDaemon(true); t.start(); }
  System.out.println("ready"); System.out.flush(); Thread.sleep(120_000); } }\n`,
      );
      const java = spawn('java', [source], { stdio: ['ignore', 'pipe', 'inherit'] });
      workloads.push(java);
      await new Promise<void>((resolve) => java.stdout.once('data', () => resolve()));
      const bundle = path.join(dir, 'jvm-bundle');
      const run = await record([
        '--pid',
        String(java.pid),
        '--duration',
        '3s',
        '--no-strace',
        '--jfr',
        '--out',
        bundle,
      ]).done;
      java.kill('SIGKILL');
      expect(run.code, run.stderr).toBe(0);
      const manifest = manifestOf(bundle);
      expect(manifest.target?.runtime).toBe('jvm');
      expect(manifest.files.map((f) => [f.path, f.role])).toEqual([
        ['perf.script.gz', 'perf'],
        ['recording.jfr', 'jfr'],
        ['jfr.json.gz', 'jfr'],
        ['jstack-start.txt', 'jstack'],
        ['jstack-end.txt', 'jstack'],
        ['threads.jsonl', 'threads'],
        [`perf-${java.pid}.map`, 'perf-map'],
      ]);
      expect(readFileSync(path.join(bundle, 'jstack-end.txt'), 'utf8')).toContain('"busy-0"');
      expect(gunzipSync(readFileSync(path.join(bundle, 'jfr.json.gz'))).toString('utf8')).toContain(
        '"recording"',
      );
      expect(existsSync(`/tmp/perf-${java.pid}.map`)).toBe(false);
      expect(manifest.recorder?.commands?.join('\n')).toContain(`JFR.start name=threadreel settings=profile`);
    });

    describe('--upload', () => {
      let api: Awaited<ReturnType<typeof startTestApi>> | undefined;
      beforeAll(async () => {
        api = await startTestApi('record');
      });
      afterAll(async () => {
        await api?.api.stop();
        await api?.db.drop();
      });

      it('uploads the bundle through the upload command and prints the capture id', async () => {
        const { pid } = await startWorkload('upload');
        const bundle = path.join(dir, 'upload-bundle');
        const run = await record([
          '--pid',
          String(pid),
          '--duration',
          '1s',
          '--out',
          bundle,
          '--name',
          'record e2e',
          '--upload',
          api!.api.url,
        ]).done;
        expect(run.stdout).toMatch(/^capture [0-9a-f-]{36}$/m);
        expect(run.stdout).toMatch(/^perf\.script\.gz +perf-script +parsed/m);
        // Every source of a live recording is parsed, the thread map too; nothing failed.
        expect(run.stdout).not.toMatch(/^\S+: failed: /m);
        expect(run.stdout).toMatch(/^strace\.txt\.gz +strace +parsed/m);
        expect(run.stdout).toMatch(/^threads\.jsonl +threads-jsonl +parsed/m);
        expect(run.code, run.stderr).toBe(0);
      });
    });
  });
});
