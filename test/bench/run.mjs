// Ingest benchmark. Prints throughput and memory for, in one process and on the same file:
//   1. baseline: reading lines only (readLines),
//   2. parsing (readLines + parsePerfScript), with the heap sampled to show constant memory,
//   3. full ingest through the built API (upload → parse job → COPY → ready), when a
//      PostgreSQL is reachable (DATABASE_URL, default the local test database).
// Usage: npm run bench [-- SAMPLES]   (default 400000 samples, ~130 MB of perf script)
// Parser-only throughput on the real fixture recordings (perf and strace, against the
// line-split ceiling): npm run bench:parsers (test/bench/parsers.mjs).
import { mkdtempSync, statSync, createReadStream, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readLineBatches, parsePerfScript } from '../../dist/libs/parsers/src/index.js';
import { writePerfScript } from '../support/perf-gen.js';
import { DATABASE_URL, adminClient, benchDatabase, captureDetail, startApi, uploadFiles } from './stack.mjs';

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
let api;
try {
  api = await startApi(env);
  const ingest = await time(`full ingest (queue: ${env.REDIS_URL ? 'redis' : 'postgres'})`, async () => {
    const captureId = await uploadFiles(api.url, [{ name: 'bench.perf.txt', path: file }]);
    for (;;) {
      const c = await captureDetail(api.url, captureId);
      if (c.state === 'ready') {
        if (c.sourceFiles[0].events !== String(samples))
          throw new Error(`ingested ${c.sourceFiles[0].events} events`);
        break;
      }
      if (c.state === 'degraded' || c.state === 'failed') throw new Error(`${c.state}: ${c.error}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return samples;
  });
  console.log(
    `full ingest costs ${(ingest / parse).toFixed(2)}x parsing alone (upload, COPY into PostgreSQL, interning, thread stats)`,
  );
} finally {
  await api?.stop();
  await db.drop();
  await admin.end();
  rmSync(dir, { recursive: true, force: true });
}
