import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { CaptureManifest, FileRole } from '@threadreel/model';
import { checkManifest } from '@threadreel/parsers';
import type { GroundTruth } from './scenarios/scenario.js';
import { REPO_ROOT } from './support/env.js';
import { tempDir } from './support/processes.js';
import { allowNoPerf, runScenario, toolsUsable } from './support/scenario.js';

const unusable = toolsUsable();
const allowSkip = allowNoPerf;
if (unusable && allowSkip) {
  console.warn(`\n!!!!! LIVE SCENARIO RECORDING SKIPPED: ${unusable} (THREADREEL_ALLOW_NO_PERF=1) !!!!!\n`);
}

function read(file: string): string {
  const buf = readFileSync(file);
  return (file.endsWith('.gz') ? gunzipSync(buf) : buf).toString('utf8');
}

const EXPECT = {
  java: {
    worker: /^http-worker/,
    gc: /Pause (Young|Full|Remark|Cleanup)/,
    fileSync: /\b(fsync|fdatasync)\(/,
  },
  node: {
    worker: /^(node|libuv-worker)$/,
    gc: /(Scavenge|Mark-Compact|Mark-sweep)/i,
    fileSync: /\b(fsync|fdatasync)\(/,
  },
  python: { worker: /^worker/, gc: /"phase"/, fileSync: /\b(fsync|fdatasync)\(/ },
} as const;

/**
 * Records each scenario live with `threadreel record` (perf, sched, strace, thread map,
 * logs, spans, GC) and checks the bundle is complete, real and consistent with its
 * ground truth.
 */
describe.skipIf(unusable !== null && allowSkip)('live scenario recordings', () => {
  it('perf and strace are usable on this machine (set THREADREEL_ALLOW_NO_PERF=1 to skip elsewhere)', () => {
    expect(unusable).toBeNull();
  });

  for (const name of ['python', 'node', 'java'] as const) {
    it(`records the ${name} scenario into a valid, complete bundle`, { timeout: 300_000 }, async () => {
      const out = path.join(tempDir(`scn-${name}`), 'bundle');
      const run = await runScenario(name, out, 5);
      expect(run.code, run.output.slice(-4000)).toBe(0);

      const manifestRaw: unknown = JSON.parse(readFileSync(path.join(out, 'manifest.json'), 'utf8'));
      const check = checkManifest(manifestRaw);
      expect(check.ok, JSON.stringify(check)).toBe(true);
      const manifest = manifestRaw as CaptureManifest;
      for (const f of manifest.files) {
        const p = path.join(out, f.path);
        expect(existsSync(p), f.path).toBe(true);
        expect(statSync(p).size, `${f.path} is empty`).toBeGreaterThan(0);
      }
      const byRole = (role: FileRole) =>
        manifest.files.filter((f) => f.role === role).map((f) => read(path.join(out, f.path)));
      const truth = JSON.parse(readFileSync(path.join(out, 'ground-truth.json'), 'utf8')) as GroundTruth;
      expect(truth.requests.length).toBeGreaterThan(10);
      expect(truth.requests.every((r) => r.status === 200)).toBe(true);
      expect(new Set(truth.requests.map((r) => r.plantedCause)).size).toBeGreaterThanOrEqual(5);

      // Worker threads from the thread map, and their samples and sched events in perf.
      const threads = byRole('threads').join('\n');
      const workerTids = new Set<number>();
      for (const line of threads.split('\n')) {
        if (!line.trim()) continue;
        const entries = JSON.stringify(JSON.parse(line));
        for (const m of entries.matchAll(/"tid":(\d+),[^}]*?"comm":"([^"]*)"/g)) {
          if (EXPECT[name].worker.test(m[2]!)) workerTids.add(Number(m[1]));
        }
      }
      expect(workerTids.size, `worker threads in the thread map:\n${threads.slice(0, 500)}`).toBeGreaterThan(
        0,
      );
      const perf = byRole('perf').join('\n');
      const onWorkers = (event: RegExp) =>
        perf
          .split('\n')
          .filter((l) => event.test(l) && [...workerTids].some((t) => new RegExp(`\\s\\d+/${t}\\s`).test(l)))
          .length;
      expect(onWorkers(/ cpu-clock:/), 'cpu-clock samples on worker tids').toBeGreaterThan(0);
      expect(onWorkers(/sched:sched_switch:/), 'sched_switch events on worker tids').toBeGreaterThan(0);

      // Syscalls: lock waits, the fsync of /file and the connection to the upstream.
      const strace = byRole('strace').join('\n');
      expect(strace).toMatch(/\bfutex\(/);
      expect(strace).toMatch(EXPECT[name].fileSync);
      expect(strace).toMatch(/\bconnect\(.*127\.0\.0\.1/);

      expect(byRole('gc').join('\n')).toMatch(EXPECT[name].gc);

      // Logs and spans carry the trace ids the load generator sent.
      const logs = byRole('logs').join('\n');
      const spans = byRole('spans').join('\n');
      const missingInSpans = truth.requests.filter((r) => !spans.includes(r.traceId));
      const missingInLogs = truth.requests.filter((r) => !logs.includes(r.traceId));
      expect(
        missingInSpans.map((r) => r.route),
        'requests without a span',
      ).toEqual([]);
      expect(
        missingInLogs.map((r) => r.route),
        'requests without a log line',
      ).toEqual([]);
    });
  }
});

/** The committed fixtures (scripts/record-fixtures.sh): valid, small, and consistent with their ground truth. */
describe('committed scenario fixtures', () => {
  for (const name of ['java', 'node', 'python'] as const) {
    it(`test/fixtures/captures/${name} is a valid bundle under 1 MiB per file whose trace ids match its ground truth`, () => {
      const dir = path.join(REPO_ROOT, 'test/fixtures/captures', name);
      const manifest: unknown = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
      const check = checkManifest(manifest);
      expect(check.ok, JSON.stringify(check)).toBe(true);
      const files = (manifest as CaptureManifest).files;
      for (const f of files) {
        const size = statSync(path.join(dir, f.path)).size;
        expect(size, f.path).toBeGreaterThan(0);
        expect(size, f.path).toBeLessThan(1024 * 1024);
      }
      const text = (role: FileRole) =>
        files
          .filter((f) => f.role === role)
          .map((f) => read(path.join(dir, f.path)))
          .join('\n');
      const truth = JSON.parse(readFileSync(path.join(dir, 'ground-truth.json'), 'utf8')) as GroundTruth;
      expect(truth.requests.length).toBeGreaterThan(5);
      const spans = text('spans');
      const logs = text('logs');
      expect(truth.requests.filter((r) => !spans.includes(r.traceId))).toEqual([]);
      expect(truth.requests.filter((r) => !logs.includes(r.traceId))).toEqual([]);
      expect(text('perf')).toMatch(/sched:sched_switch/);
      expect(text('strace')).toMatch(/\bfutex\(/);
    });
  }
});
