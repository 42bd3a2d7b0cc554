// Ingest benchmark. Prints throughput and memory for, in one process and on the same file:
//   1. baseline: reading lines only (readLines),
//   2. parsing (readLines + parsePerfScript, one item per step, then in batches), with the heap
//      sampled to show constant memory,
//   3. full ingest through the built API (upload → parse job → COPY → ready), when a
//      PostgreSQL is reachable (DATABASE_URL, default the local test database).
// Usage: npm run bench [-- SAMPLES]   (default 400000 samples, ~130 MB of perf script)
// Parser-only throughput on the real fixture recordings (perf and strace, against the
// line-split ceiling): npm run bench:parsers (test/bench/parsers.mjs).
import { mkdtempSync, statSync, createReadStream, openAsBlob, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import {
  readLineBatches,
  parsePerfScript,
  parsePerfScriptBatches,
} from '../../dist/libs/parsers/src/index.js';
import { writePerfScript } from '../support/perf-gen.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const samples = Number(process.argv[2] ?? 400_000);
const dir = mkdtempSync(path.join(tmpdir(), 'threadreel-bench-'));
const file = path.join(dir, 'bench.perf.txt');
await writePerfScript(file, { samples, threads: 16, seed: 7 });
const mb = statSync(file).size / 1024 / 1024;
console.log(`input: ${samples} samples, ${mb.toFixed(1)} MiB of perf script`);

let peakHeap = 0;
const sampler = setInterval(() => (peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed)), 50);
const time = async (label, fn) => {
  global.gc?.();
  peakHeap = process.memoryUsage().heapUsed;
  const t0 = performance.now();
  const n = await fn();
  const s = (performance.now() - t0) / 1000;
  console.log(
    `${label.padEnd(34)} ${s.toFixed(2).padStart(7)} s  ${(mb / s).toFixed(1).padStart(7)} MiB/s  ${(n / s / 1000).toFixed(0).padStart(6)} k items/s  peak heap ${(peakHeap / 1024 / 1024).toFixed(0)} MiB`,
  );
  return s;
};

const base = await time('baseline: read lines', async () => {
  let n = 0;
  for await (const batch of readLineBatches(createReadStream(file))) n += batch.length;
  return n;
});
const parse = await time('parse perf script', async () => {
  let n = 0;
  for await (const item of parsePerfScript(readLineBatches(createReadStream(file))))
    if (item.kind === 'perf') n++;
  if (n !== samples) throw new Error(`parsed ${n} of ${samples} samples`);
  return n;
});
await time('parse perf script in batches', async () => {
  let n = 0;
  for await (const batch of parsePerfScriptBatches(readLineBatches(createReadStream(file))))
    for (const item of batch) if (item.kind === 'perf') n++;
  if (n !== samples) throw new Error(`parsed ${n} of ${samples} samples`);
  return n;
});
clearInterval(sampler);
console.log(`parse costs ${(parse / base).toFixed(2)}x the line-reading baseline`);

const dbUrl = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';
const admin = new pg.Client({ connectionString: dbUrl });
try {
  await admin.connect();
} catch {
  console.log(`no PostgreSQL at ${dbUrl}: full-ingest benchmark skipped`);
  rmSync(dir, { recursive: true, force: true });
  process.exit(0);
}
const dbName = `threadreel_bench_${process.pid}`;
await admin.query(`CREATE DATABASE ${dbName}`);
const u = new URL(dbUrl);
u.pathname = `/${dbName}`;
const port = await new Promise((r) => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const p = s.address().port;
    s.close(() => r(p));
  });
});
const env = {
  PATH: process.env.PATH,
  HOME: process.env.HOME,
  DATABASE_URL: u.toString(),
  PORT: String(port),
  HOST: '127.0.0.1',
  DATA_DIR: path.join(dir, 'data'),
  QUEUE_PREFIX: 'bench',
};
if (process.env.REDIS_URL) env.REDIS_URL = process.env.REDIS_URL;
// Jobs run in the API's process; WORKER_CONCURRENCY=1 to compare with the default 2 (a large file
// is parsed as byte ranges by parallel jobs).
if (process.env.WORKER_CONCURRENCY) env.WORKER_CONCURRENCY = process.env.WORKER_CONCURRENCY;
// e.g. BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=some/dir" to profile the API and its in-process workers.
const nodeArgs = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
// BENCH_WORKERS=N: the jobs run in N worker processes (WORKER_CONCURRENCY=1 each), not in the API.
const workers = Number(process.env.BENCH_WORKERS ?? 0);
const api = spawn(
  process.execPath,
  [...nodeArgs, path.join(root, 'dist/apps/api/src/main.js'), ...(workers ? ['--no-workers'] : [])],
  { env, stdio: ['ignore', 'ignore', 'inherit'] },
);
const workerProcs = Array.from({ length: workers }, () =>
  spawn(process.execPath, [...nodeArgs, path.join(root, 'dist/apps/worker/src/main.js')], {
    env: { ...env, WORKER_CONCURRENCY: '1' },
    stdio: ['ignore', 'ignore', 'inherit'],
  }),
);
const baseUrl = `http://127.0.0.1:${port}`;
try {
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${baseUrl}/api/health`)).ok) break;
    } catch {}
    if (i > 300) throw new Error('API did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
  let parseMs = 0;
  const where = workers ? `${workers} worker processes` : 'in the API';
  const ingest = await time(`full ingest (${env.REDIS_URL ? 'redis' : 'postgres'}, ${where})`, async () => {
    const form = new FormData();
    form.append('files', await openAsBlob(file), 'bench.perf.txt');
    const { captureId } = await (
      await fetch(`${baseUrl}/api/captures`, { method: 'POST', body: form })
    ).json();
    for (;;) {
      const c = await (await fetch(`${baseUrl}/api/captures/${captureId}`)).json();
      if (c.state === 'ready') {
        if (c.sourceFiles[0].events !== String(samples))
          throw new Error(`ingested ${c.sourceFiles[0].events} events`);
        parseMs = c.sourceFiles[0].parseMs;
        break;
      }
      if (c.state === 'degraded' || c.state === 'failed') throw new Error(`${c.state}: ${c.error}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return samples;
  });
  console.log(
    `  of which parsing the file (all its jobs) ${(parseMs / 1000).toFixed(2)} s: ${(mb / (parseMs / 1000)).toFixed(1)} MiB/s, ${(samples / parseMs).toFixed(0)} k events/s`,
  );
  console.log(
    `full ingest costs ${(ingest / parse).toFixed(2)}x parsing alone (upload, COPY into PostgreSQL, interning, thread stats)`,
  );
} finally {
  for (const p of [api, ...workerProcs]) {
    p.kill('SIGTERM');
    await new Promise((r) => (p.exitCode !== null ? r() : p.once('exit', r)));
  }
  await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
  await admin.end();
  rmSync(dir, { recursive: true, force: true });
}
