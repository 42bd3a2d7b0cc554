// Ingest benchmark. Prints throughput and memory for, in one process and on the same file:
//   1. baseline: reading lines only (readLines),
//   2. parsing (readLines + parsePerfScript, one item per step, then in batches), with the heap
//      sampled to show constant memory,
//   3. full ingest through the built API (upload → parse job → COPY → ready), when a
//      PostgreSQL is reachable (DATABASE_URL, default the local test database).
// Usage: npm run bench [-- SAMPLES]   (default 400000 samples, ~130 MB of perf script)
// Parser-only throughput on the real fixture recordings (perf and strace, against the
// line-split ceiling): npm run bench:parsers (test/bench/parsers.mjs).
import { mkdtempSync, statSync, createReadStream, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  readLineBatches,
  parsePerfScript,
  parsePerfScriptBatches,
} from '../../dist/libs/parsers/src/index.js';
import { writePerfScript } from '../support/perf-gen.js';
import {
  DATABASE_URL,
  WORKER_MAIN,
  adminClient,
  benchDatabase,
  captureDetail,
  startApi,
  startNode,
  uploadFiles,
} from './stack.mjs';

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

const admin = await adminClient();
if (!admin) {
  console.log(`no PostgreSQL at ${DATABASE_URL}: full-ingest benchmark skipped`);
  rmSync(dir, { recursive: true, force: true });
  process.exit(0);
}
const db = await benchDatabase(admin, `threadreel_bench_${process.pid}`);
const env = { DATABASE_URL: db.url, DATA_DIR: path.join(dir, 'data'), QUEUE_PREFIX: 'bench' };
if (process.env.REDIS_URL) env.REDIS_URL = process.env.REDIS_URL;
// Jobs run in the API's process; WORKER_CONCURRENCY=1 to compare with the default 2 (a large file
// is parsed as byte ranges by parallel jobs).
if (process.env.WORKER_CONCURRENCY) env.WORKER_CONCURRENCY = process.env.WORKER_CONCURRENCY;
// e.g. BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=some/dir" to profile the API and its workers.
if (process.env.BENCH_NODE_ARGS) env.NODE_OPTIONS = process.env.BENCH_NODE_ARGS;
// BENCH_WORKERS=N: the jobs run in N worker processes (WORKER_CONCURRENCY=1 each), not in the API.
const workers = Number(process.env.BENCH_WORKERS ?? 0);
let api;
const workerProcs = [];
try {
  api = await startApi(env, workers ? ['--no-workers'] : []);
  for (let i = 0; i < workers; i++)
    workerProcs.push(startNode(WORKER_MAIN, [], { ...env, WORKER_CONCURRENCY: '1' }));
  let parseMs = 0;
  const where = workers ? `${workers} worker processes` : 'in the API';
  const ingest = await time(`full ingest (${env.REDIS_URL ? 'redis' : 'postgres'}, ${where})`, async () => {
    const captureId = await uploadFiles(api.url, [{ name: 'bench.perf.txt', path: file }]);
    for (;;) {
      const c = await captureDetail(api.url, captureId);
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
  for (const w of workerProcs) await w.stop();
  await api?.stop();
  await db.drop();
  await admin.end();
  rmSync(dir, { recursive: true, force: true });
}
