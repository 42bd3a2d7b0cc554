// Parser throughput benchmark on real recordings. Builds a large perf script file and a
// large strace file by repeating the fixture captures (test/fixtures/captures/*), then prints
// for each, in one process and on the same file:
//   1. the ceiling: splitting the file into lines only (readLineBatches),
//   2. the parser one item per asynchronous step (parsePerfScript / parseStrace),
//   3. the parser in batches, as ingest runs it (parsePerfScriptBatches / parseStraceBatches),
// as MB/s, the parser's share of the ceiling, items/s and the peak RSS.
// Exits non-zero only when a parser's record count is wrong, never on speed.
// Usage: npm run bench:parsers [-- PERF_MB [STRACE_MB]]   (default 200 MB and 100 MB)
import {
  closeSync,
  createReadStream,
  mkdtempSync,
  openSync,
  writeSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import {
  readLineBatches,
  parsePerfScript,
  parsePerfScriptBatches,
  parseStrace,
  parseStraceBatches,
} from '../../dist/libs/parsers/src/index.js';

const captures = fileURLToPath(new URL('../fixtures/captures', import.meta.url));
const perfMb = Number(process.argv[2] ?? 200);
const straceMb = Number(process.argv[3] ?? 100);
const dir = mkdtempSync(path.join(tmpdir(), 'threadreel-bench-parsers-'));

/** Concatenates the decompressed fixtures `name` of every capture, repeated up to `mb`. */
function repeatFixtures(name, mb) {
  const parts = [];
  for (const app of readdirSync(captures).sort()) {
    let text;
    try {
      text = gunzipSync(readFileSync(path.join(captures, app, name)));
    } catch {
      continue;
    }
    parts.push(text.at(-1) === 0x0a ? text : Buffer.concat([text, Buffer.from('\n')]));
  }
  const unit = Buffer.concat(parts);
  const times = Math.max(1, Math.round((mb * 1e6) / unit.length));
  const file = path.join(dir, name.replace(/\.gz$/, ''));
  const fd = openSync(file, 'w');
  for (let i = 0; i < times; i++) writeSync(fd, unit);
  closeSync(fd);
  return { file, unit, times };
}

/** What one copy of the fixtures yields, counted with the parser itself on the small input. */
async function countOnce(unit, parse, count) {
  const f = path.join(dir, 'once.txt');
  writeFileSync(f, unit);
  let n = 0;
  for await (const item of parse(readLineBatches(createReadStream(f)))) if (count(item)) n++;
  return n;
}

let peakRss = 0;
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 20);

async function time(label, file, fn) {
  global.gc?.();
  peakRss = process.memoryUsage().rss;
  const mb = statSync(file).size / 1e6;
  const t0 = performance.now();
  const n = await fn();
  const s = (performance.now() - t0) / 1000;
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
  const rate = mb / s;
  console.log(
    `${label.padEnd(24)} ${s.toFixed(2).padStart(6)} s  ${rate.toFixed(1).padStart(7)} MB/s  ${(n / s / 1000).toFixed(0).padStart(6)} k items/s  peak RSS ${(peakRss / 1024 / 1024).toFixed(0)} MiB`,
  );
  return { rate, n };
}

let failed = false;
const cases = [
  {
    name: 'perf',
    fixture: 'perf.script.gz',
    mb: perfMb,
    parse: (lines) => parsePerfScript(lines),
    batches: (lines) => parsePerfScriptBatches(lines),
    count: (item) => item.kind === 'perf',
  },
  {
    name: 'strace',
    fixture: 'strace.txt.gz',
    mb: straceMb,
    parse: (lines) => parseStrace(lines),
    batches: (lines) => parseStraceBatches(lines),
    count: (item) => item.kind === 'syscall',
  },
];
for (const c of cases) {
  const { file, unit, times } = repeatFixtures(c.fixture, c.mb);
  const expected = (await countOnce(unit, c.parse, c.count)) * times;
  console.log(`\n${c.name}: ${times} × the fixtures, ${(statSync(file).size / 1e6).toFixed(0)} MB`);
  const ceiling = await time(`${c.name}: split lines`, file, async () => {
    let n = 0;
    for await (const batch of readLineBatches(createReadStream(file))) n += batch.length;
    return n;
  });
  let records = 0;
  const parsed = await time(`${c.name}: parse`, file, async () => {
    let n = 0;
    for await (const item of c.parse(readLineBatches(createReadStream(file)))) {
      n++;
      if (c.count(item)) records++;
    }
    return n;
  });
  let batched = 0;
  const inBatches = await time(`${c.name}: parse batches`, file, async () => {
    let n = 0;
    for await (const batch of c.batches(readLineBatches(createReadStream(file)))) {
      n += batch.length;
      for (const item of batch) if (c.count(item)) batched++;
    }
    return n;
  });
  const share = (r) => ((100 * r.rate) / ceiling.rate).toFixed(0);
  console.log(
    `${c.name}: parser at ${share(parsed)} % of the line-split ceiling, ${share(inBatches)} % in batches`,
  );
  for (const [how, n] of [
    ['one by one', records],
    ['in batches', batched],
  ]) {
    if (n !== expected) {
      console.error(`${c.name}: parsed ${n} records ${how}, expected ${expected}`);
      failed = true;
    }
  }
  rmSync(file, { force: true });
}
clearInterval(sampler);
rmSync(dir, { recursive: true, force: true });
if (failed) process.exit(1);
