// Scale benchmark (issue 13): end-to-end ingest of large captures through the real product.
//
// The real java plain-tools capture (test/fixtures/plain/java) is grown in time to about 1 M,
// 10 M and 50 M events (test/bench/grow-capture.mjs: consecutive copies shifted in every
// file's own clock, new trace and span ids per copy, gzip'd), then uploaded through the API to
// a fresh database, with the API (`--no-workers`) and N worker processes as separate processes
// (each worker WORKER_CONCURRENCY=1 unless --concurrency says otherwise), once per worker count.
// Printed per size and worker count: state, events, input MiB, upload → ready seconds (and the
// parse and correlate phases), events/s, peak RSS (VmHWM) of the API and of each worker,
// bytes on disk per input event (every user table with its partitions, indexes and TOAST,
// minus the empty migrated database), replay p50/p95 (GET /api/traces/:id?lanes=auto as the UI
// asks, for ~200 random requests), and the correlation check: requests, requests with a
// dominant cause, agreement with the fixture's answer key over all copies. Baselines on the
// same data in the same run: a plain COPY of one 6-column row per event into one indexed
// table, and a stackcollapse-perf.pl-style fold of the generated perf script. Then the issue's
// targets beside the measured figures. Exit code 0 whatever the figures (setup errors aside).
//
// Usage: npm run bench:scale [-- SIZES… [--workers 1,2] [--concurrency 1] [--timeout S]
//                                       [--replays 200] [--plain] [--keep]]
//   SIZES default 1000000 10000000 50000000 (k/M suffixes accepted: 1M 10M);
//   --timeout (or SCALE_TIMEOUT_S) bounds each upload → ready, default 3600 s;
//   --plain uploads the files uncompressed (a perf script of 48 MiB or more is then parsed in
//     byte ranges by parallel jobs; gzip'd files, the default, are parsed whole);
//   --keep keeps the generated input and the databases (their names are printed).
// Needs PostgreSQL (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/test), Redis
// (REDIS_URL, default redis://127.0.0.1:6379) and the build (npm run build).
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, createReadStream } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { Redis } from 'ioredis';
import { copyTraceId, eventRows, loadFixture, recordsPerCopy, writeGrownCapture } from './grow-capture.mjs';
import {
  API_MAIN,
  ROOT,
  WORKER_MAIN,
  adminClient,
  benchDatabase,
  captureDetail,
  peakRss,
  quantile,
  sleep,
  startApi,
  startNode,
  uploadFiles,
} from './stack.mjs';

const FIXTURE = path.join(ROOT, 'test/fixtures/plain/java');
const REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
const FINISHED = new Set(['ready', 'degraded', 'failed']);
const MiB = 1024 * 1024;
const TARGETS = {
  eventsPerS: 250_000,
  bytesPerEvent: 40,
  rssBytes: 1.5 * 1024 * MiB,
  p95Ms: 50,
  p95Growth: 1.5,
};
const TARGET_WORKER_RATIO = 1.7;

// ---------------------------------------------------------------- arguments
function parseArgs(argv) {
  const o = {
    sizes: [],
    workers: [1, 2],
    concurrency: 1,
    timeoutS: Number(process.env.SCALE_TIMEOUT_S || 3600),
    replays: 200,
    keep: false,
    plain: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--keep') o.keep = true;
    else if (a === '--plain') o.plain = true;
    else if (a === '--workers') o.workers = value().split(',').map(Number);
    else if (a === '--concurrency') o.concurrency = Number(value());
    else if (a === '--timeout') o.timeoutS = Number(value());
    else if (a === '--replays') o.replays = Number(value());
    else {
      const m = /^(\d+(?:\.\d+)?)([kKmM]?)$/.exec(a.replaceAll('_', ''));
      if (!m) throw new Error(`unknown argument ${a}`);
      o.sizes.push(Math.round(Number(m[1]) * { '': 1, k: 1e3, K: 1e3, m: 1e6, M: 1e6 }[m[2]]));
    }
  }
  if (!o.sizes.length) o.sizes = [1_000_000, 10_000_000, 50_000_000];
  if (o.workers.some((w) => !(w >= 1))) throw new Error('--workers: counts ≥ 1, comma-separated');
  return o;
}

// ---------------------------------------------------------------- cleanup (also on Ctrl-C)
const cleanups = [];
/** Runs `fn` at exit (latest first) unless it was run already. */
function atExit(fn) {
  let done = false;
  const once = async () => {
    if (done) return;
    done = true;
    await fn();
  };
  cleanups.push(once);
  return once;
}
async function cleanAll() {
  while (cleanups.length)
    await cleanups
      .pop()()
      .catch((e) => console.error(`cleanup: ${e.message}`));
}
let interrupted = false;
for (const sig of ['SIGINT', 'SIGTERM'])
  process.once(sig, () => {
    interrupted = true;
    console.error(`\n${sig}: stopping processes, dropping databases, removing temp files`);
    void cleanAll().finally(() => process.exit(130));
  });

// ---------------------------------------------------------------- formatting
const fmt = (n, d = 0) => (n === null || n === undefined || Number.isNaN(n) ? '-' : n.toFixed(d));
const kilo = (n) =>
  n >= 1e6 ? `${(n / 1e6).toFixed(2)} M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} k` : fmt(n);
const mib = (b) => (b === null ? '-' : `${(b / MiB).toFixed(0)}`);
const secs = (ms) => (ms === null ? '-' : (ms / 1000).toFixed(1));

// ---------------------------------------------------------------- database measures
const USER_TABLES = `FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
    AND n.nspname NOT LIKE 'pg_toast%'`;

/** Bytes on disk per top-level table (partitions summed into their root; indexes and TOAST included). */
async function tableBytes(client) {
  const { rows } = await client.query(
    `SELECT coalesce(pg_partition_root(c.oid), c.oid)::regclass::text AS t,
            sum(pg_total_relation_size(c.oid))::bigint::text AS b ${USER_TABLES} GROUP BY 1`,
  );
  return new Map(rows.map((r) => [r.t, Number(r.b)]));
}

async function dropQueueKeys(prefix) {
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    for await (const keys of redis.scanStream({ match: `bull:${prefix}-*`, count: 1000 }))
      if (keys.length) await redis.del(...keys);
  } finally {
    redis.disconnect();
  }
}

// ---------------------------------------------------------------- one ingest through the product
let runNo = 0;

/** The answer key per trace id of the grown capture (every copy). */
function answerKey(copies) {
  const truth = JSON.parse(readFileSync(path.join(FIXTURE, 'ground-truth.json'), 'utf8')).requests;
  const key = new Map();
  for (let i = 0; i < copies; i++)
    for (const q of truth) if (q.cause && q.cause !== 'none') key.set(copyTraceId(q.traceId, i), q);
  return key;
}

/** Requests, those with a dominant cause, agreement with the answer key, clocks against the truth. */
async function correlationCheck(client, captureId, detail, copies) {
  const { rows } = await client.query(
    `SELECT trace_id, dominant_cause, duration_ns::text AS d FROM requests WHERE capture_id = $1`,
    [captureId],
  );
  const byTrace = new Map();
  for (const r of rows) {
    const seen = byTrace.get(r.trace_id);
    if (!seen || BigInt(r.d) > BigInt(seen.d)) byTrace.set(r.trace_id, r);
  }
  let scored = 0;
  let agree = 0;
  for (const [id, q] of answerKey(copies)) {
    scored++;
    const got = byTrace.get(id)?.dominant_cause;
    if (got === q.cause || (q.acceptable ?? []).includes(got)) agree++;
  }
  const truth = JSON.parse(readFileSync(path.join(FIXTURE, 'clocks.json'), 'utf8')).files;
  const clocks = detail.sourceFiles
    .filter((f) => truth[f.name.replace(/\.gz$/, '')]?.truthOffsetNs != null)
    .map((f) => {
      const t = BigInt(truth[f.name.replace(/\.gz$/, '')].truthOffsetNs);
      if (f.clockOffsetNs === null) return `${f.name} not placed`;
      const d = BigInt(f.clockOffsetNs) - t;
      return `${f.name} ${d >= 0n ? '+' : ''}${(Number(d) / 1e3).toFixed(0)} µs`;
    });
  return {
    requests: rows.length,
    caused: rows.filter((r) => r.dominant_cause !== 'unknown').length,
    agree,
    scored,
    clocks,
  };
}

async function replayLatency(baseUrl, client, captureId, n) {
  const { rows } = await client.query(
    `SELECT trace_id FROM requests WHERE capture_id = $1 ORDER BY random() LIMIT $2`,
    [captureId, n],
  );
  const ms = [];
  let errors = 0;
  for (const { trace_id: id } of rows) {
    const t0 = performance.now();
    const r = await fetch(`${baseUrl}/api/traces/${id}?capture=${captureId}&lanes=auto`);
    await r.arrayBuffer();
    if (r.ok) ms.push(performance.now() - t0);
    else errors++;
  }
  ms.sort((a, b) => a - b);
  return ms.length ? { n: ms.length, errors, p50: quantile(ms, 0.5), p95: quantile(ms, 0.95) } : null;
}

/**
 * Uploads `files` to a fresh database through the API with `workers` worker processes and
 * waits for the capture to settle (or the timeout): what the table prints.
 */
async function ingest(label, files, { workers, concurrency, timeoutS, replays, keep, copies }) {
  const n = ++runNo;
  const tag = `scale_${process.pid}_${n}`;
  const run = { label, workers, state: null, events: null, files };
  const stack = [];
  const admin = await adminClient();
  const db = await benchDatabase(admin, tag);
  const dataDir = mkdtempSync(path.join(tmpdir(), `threadreel-${tag}-`));
  const client = new pg.Client({ connectionString: db.url });
  const teardown = atExit(async () => {
    await Promise.all(stack.map((p) => p.stop(10_000)));
    await client.end().catch(() => undefined);
    if (keep) console.log(`  kept database ${db.name}`);
    else await db.drop();
    await admin.end();
    rmSync(dataDir, { recursive: true, force: true });
    await dropQueueKeys(tag).catch((e) => console.error(`redis cleanup: ${e.message}`));
  });
  try {
    const env = {
      DATABASE_URL: db.url,
      REDIS_URL,
      DATA_DIR: path.join(dataDir, 'data'),
      QUEUE_PREFIX: tag,
      UPLOAD_LIMIT: '1000g',
      WORKER_CONCURRENCY: String(concurrency),
    };
    const api = await startApi(env, ['--no-workers']);
    stack.push(api);
    await client.connect();
    const empty = await tableBytes(client);
    for (let w = 0; w < workers; w++) stack.push(startNode(WORKER_MAIN, [], env));
    for (const p of stack.slice(1))
      for (let i = 0; !p.output().includes('processing jobs on'); i++) {
        if (!p.alive() || i > 600) throw new Error(`worker did not start:\n${p.output()}`);
        await sleep(100);
      }
    const rss = new Map(stack.map((p) => [p.pid, 0]));
    const sample = () => {
      for (const p of stack) rss.set(p.pid, Math.max(rss.get(p.pid), peakRss(p.pid) ?? 0));
    };
    const sampler = setInterval(sample, 200);
    const t0 = performance.now();
    let captureId;
    try {
      captureId = await uploadFiles(api.url, files);
      run.uploadMs = performance.now() - t0;
      const seen = {};
      let detail;
      for (;;) {
        detail = await captureDetail(api.url, captureId);
        seen[detail.state] ??= performance.now() - t0;
        if (FINISHED.has(detail.state)) break;
        if (performance.now() - t0 > timeoutS * 1000) break;
        const dead = stack.find((p) => !p.alive());
        if (dead) throw new Error(`process ${dead.pid} exited with ${dead.proc.exitCode}:\n${dead.output()}`);
        await sleep(250);
      }
      sample();
      // Where correlation spent its time (the pipeline logs it per run, see libs/correlate port-timing.ts).
      run.timing = stack
        .slice(1)
        .flatMap((p) => p.output().split('\n'))
        .filter((l) => l.includes('correlation time:') || l.includes('event loop: longest block'))
        .map((l) =>
          l
            .slice(
              l.includes('correlation time:') ? l.indexOf('correlation time:') : l.indexOf('event loop:'),
            )
            .trim(),
        );
      run.state = detail.state;
      run.detail = detail;
      run.elapsedMs = performance.now() - t0;
      run.correlateMs = seen.correlating === undefined ? null : run.elapsedMs - seen.correlating;
      run.events = detail.sourceFiles.reduce((s, f) => s + Number(f.events), 0);
      run.perFile = Object.fromEntries(detail.sourceFiles.map((f) => [f.name, Number(f.events)]));
      if (!FINISHED.has(detail.state)) {
        run.timedOut = `timed out after ${fmt(run.elapsedMs / 1000)} s in state ${detail.state}`;
        return run;
      }
    } finally {
      clearInterval(sampler);
      run.rss = { api: rss.get(api.pid), workers: stack.slice(1).map((p) => rss.get(p.pid)) };
    }
    if (run.state === 'failed') return run;
    const after = await tableBytes(client);
    run.tables = [...after]
      .map(([t, b]) => [t, b - (empty.get(t) ?? 0)])
      .filter(([, b]) => b > 0)
      .sort((a, b) => b[1] - a[1]);
    run.diskBytes = run.tables.reduce((s, [, b]) => s + b, 0);
    run.check = await correlationCheck(client, captureId, run.detail, copies);
    run.replay = await replayLatency(api.url, client, captureId, replays);
    return run;
  } catch (e) {
    run.state = 'error';
    run.error = e instanceof Error ? e.message : String(e);
    return run;
  } finally {
    await teardown();
  }
}

// ---------------------------------------------------------------- baselines
/** A plain COPY of one 6-column row per event into one table with one index: rows/s, bytes/row. */
async function copyBaseline(fixture, copies) {
  const admin = await adminClient();
  const db = await benchDatabase(admin, `scale_copy_${process.pid}_${++runNo}`);
  const client = new pg.Client({ connectionString: db.url });
  const teardown = atExit(async () => {
    await client.end().catch(() => undefined);
    await db.drop();
    await admin.end();
  });
  try {
    await client.connect();
    await client.query(`CREATE TABLE events (capture_id uuid NOT NULL, thread integer NOT NULL,
      time_ns bigint NOT NULL, kind smallint NOT NULL, a bigint NOT NULL, b bigint NOT NULL)`);
    await client.query('CREATE INDEX ON events (capture_id, thread, time_ns)');
    const rows = recordsPerCopy(fixture) * copies;
    const t0 = performance.now();
    await pipeline(
      Readable.from(eventRows(fixture, copies, '6f1c3a9e-5b2d-4c8e-9a7f-0d1e2f3a4b5c')),
      client.query(copyFrom('COPY events FROM STDIN')),
    );
    const s = (performance.now() - t0) / 1000;
    const { rows: r } = await client.query(`SELECT pg_total_relation_size('events')::text AS b`);
    return { rows, rowsPerS: rows / s, bytesPerRow: Number(r[0].b) / rows, seconds: s };
  } finally {
    await teardown();
  }
}

/**
 * stackcollapse-perf.pl's work on the generated perf script: gunzip, split lines, fold each
 * record's stack (root first, `comm;frame;…`, offsets stripped) into a Map of counts.
 */
async function stackcollapseBaseline(file) {
  const folded = new Map();
  let bytes = 0;
  let records = 0;
  let comm = null;
  let frames = [];
  const flush = () => {
    if (comm !== null) {
      records++;
      const key = frames.length ? `${comm};${frames.reverse().join(';')}` : comm;
      folded.set(key, (folded.get(key) ?? 0) + 1);
    }
    comm = null;
    frames = [];
  };
  const line = (l) => {
    if (l.length === 0) flush();
    else if (l.charCodeAt(0) === 9 || l.charCodeAt(0) === 32) {
      // `\t   addr sym+0x1f (dso)`
      const t = l.trim();
      const sp = t.indexOf(' ');
      const paren = t.lastIndexOf(' (');
      let sym = sp < 0 ? t : t.slice(sp + 1, paren > sp ? paren : undefined);
      const plus = sym.lastIndexOf('+0x');
      if (plus > 0) sym = sym.slice(0, plus);
      if (sym === '[unknown]' && paren > 0) sym = `[${path.basename(t.slice(paren + 2, -1))}]`;
      frames.push(sym);
    } else {
      flush();
      const m = /^(.*?)\s+\d+(?:\/\d+)?\s+(?:\[\d+\]\s+)?\d+\.\d+:/.exec(l);
      comm = (m ? m[1] : l).replaceAll(' ', '_');
    }
  };
  const t0 = performance.now();
  const raw = createReadStream(file);
  const text = file.endsWith('.gz') ? raw.pipe(createGunzip()) : raw;
  text.setEncoding('utf8');
  let carry = '';
  for await (const chunk of text) {
    bytes += Buffer.byteLength(chunk);
    const s = carry + chunk;
    let at = 0;
    for (let nl = s.indexOf('\n'); nl >= 0; nl = s.indexOf('\n', at)) {
      line(s.slice(at, nl));
      at = nl + 1;
    }
    carry = s.slice(at);
  }
  if (carry) line(carry);
  flush();
  const s = (performance.now() - t0) / 1000;
  return {
    records,
    stacks: folded.size,
    mibPerS: bytes / MiB / s,
    eventsPerS: records / s,
    textMiB: bytes / MiB,
  };
}

// ---------------------------------------------------------------- report
const HEAD =
  'run                 state     events     in MiB  upload→ready  (correlate)     ev/s  RSS MiB api | workers   B/event  replay p50/p95 ms  requests  caused  agreement';

function row(r) {
  if (r.state === 'error') return `${r.label.padEnd(19)} ERROR     ${r.error.split('\n')[0]}`;
  const inMiB = r.files.reduce((s, f) => s + f.bytes, 0) / MiB;
  const failed = r.state === 'failed' || r.timedOut;
  const c = r.check;
  return [
    r.label.padEnd(19),
    (r.timedOut ? 'TIMEOUT' : r.state).padEnd(9),
    String(r.events ?? '-').padStart(9),
    fmt(inMiB, 1).padStart(10),
    `${secs(r.elapsedMs)} s`.padStart(13),
    `(${secs(r.correlateMs)} s)`.padStart(12),
    (failed ? '-' : kilo(r.events / (r.elapsedMs / 1000))).padStart(9),
    `${mib(r.rss?.api ?? null)} | ${(r.rss?.workers ?? []).map(mib).join(' ')}`.padStart(21),
    (failed ? '-' : fmt(r.diskBytes / r.events)).padStart(9),
    (r.replay ? `${fmt(r.replay.p50, 1)} / ${fmt(r.replay.p95, 1)}` : '-').padStart(18),
    String(c?.requests ?? '-').padStart(9),
    String(c?.caused ?? '-').padStart(7),
    (c ? `${c.agree}/${c.scored} ${fmt((100 * c.agree) / Math.max(1, c.scored))} %` : '-').padStart(17),
  ].join(' ');
}

function details(r) {
  const lines = [];
  if (r.timedOut) lines.push(`  ${r.timedOut}`);
  if (r.state === 'failed' || r.state === 'degraded') {
    if (r.detail.error) lines.push(`  error: ${r.detail.error}`);
    for (const d of r.detail.degradedParts.slice(0, 8))
      lines.push(`  degraded ${d.stage}${d.file ? ` ${d.file}` : ''}: ${d.reason.slice(0, 200)}`);
    for (const f of r.detail.sourceFiles.filter((f) => f.error))
      lines.push(`  ${f.name}: ${f.error.slice(0, 200)}`);
  }
  if (r.tables && r.events)
    lines.push(
      `  disk per event: ${r.tables
        .slice(0, 10)
        .map(([t, b]) => `${t} ${fmt(b / r.events, 1)}`)
        .join(', ')} (B)`,
    );
  if (r.perFile) lines.push(`  upload ${secs(r.uploadMs)} s; events per file: ${JSON.stringify(r.perFile)}`);
  if (r.check) lines.push(`  clock offsets against the truth: ${r.check.clocks.join(', ')}`);
  for (const t of r.timing ?? []) lines.push(`  ${t}`);
  if (r.replay?.errors) lines.push(`  replay: ${r.replay.errors} requests answered an error`);
  return lines;
}

function verdict(measured, goal, better) {
  if (measured === null || measured === undefined || Number.isNaN(measured)) return 'n/a';
  return (better === 'higher' ? measured >= goal : measured <= goal) ? 'PASS' : 'FAIL';
}

/** The issue's targets beside the figures measured (the largest size, the most workers). */
function targets(results, sizes) {
  const ok = (r) => r && (r.state === 'ready' || r.state === 'degraded') && !r.timedOut;
  const largest = sizes.at(-1);
  const best = results.filter((r) => r.size === largest && ok(r)).sort((a, b) => b.workers - a.workers)[0];
  const lines = [
    `targets (issue 13) at the largest size, ${kilo(largest)} events, ${best ? `${best.workers} worker(s)` : 'no finished run'}:`,
  ];
  const line = (what, value, shown, goal, better) =>
    lines.push(
      `  ${what.padEnd(46)} ${shown.padStart(10)}   goal ${better === 'higher' ? '≥' : '≤'} ${String(goal.shown ?? goal.value).padEnd(9)} ${verdict(value, goal.value, better)}`,
    );
  const evs = best ? best.events / (best.elapsedMs / 1000) : null;
  line(
    'end-to-end ingest, events/s',
    evs,
    best ? kilo(evs) : '-',
    { value: TARGETS.eventsPerS, shown: '250 k' },
    'higher',
  );
  const bpe = best ? best.diskBytes / best.events : null;
  line('bytes on disk per input event', bpe, fmt(bpe), { value: TARGETS.bytesPerEvent }, 'lower');
  // Timed-out runs too: their processes were measured until stopped.
  const rssAll = results.filter((r) => r.rss).flatMap((r) => [r.rss.api, ...r.rss.workers]);
  const rss = rssAll.length ? Math.max(...rssAll) : null;
  line(
    'peak RSS of any threadreel process (all runs)',
    rss,
    `${mib(rss)} MiB`,
    { value: TARGETS.rssBytes, shown: '1536 MiB' },
    'lower',
  );
  const p95 = best?.replay?.p95 ?? null;
  line('replay p95, ms', p95, fmt(p95, 1), { value: TARGETS.p95Ms }, 'lower');
  const first = results.find((r) => r.size === sizes[0] && r.workers === best?.workers && ok(r));
  if (first && best && first !== best && first.replay && best.replay) {
    const g = best.replay.p95 / first.replay.p95;
    line(
      `replay p95 ${kilo(largest)} / ${kilo(sizes[0])}`,
      g,
      fmt(g, 2),
      { value: TARGETS.p95Growth },
      'lower',
    );
  }
  for (const size of sizes) {
    const one = results.find((r) => r.size === size && r.workers === 1 && ok(r));
    const two = results.find((r) => r.size === size && r.workers === 2 && ok(r));
    if (one && two) {
      const ratio = one.elapsedMs / two.elapsedMs;
      line(
        `2 workers / 1 worker speed at ${kilo(size)}`,
        ratio,
        fmt(ratio, 2),
        { value: TARGET_WORKER_RATIO },
        'higher',
      );
    }
  }
  for (let i = 1; i < sizes.length; i++) {
    const a = results.find((r) => r.size === sizes[i - 1] && r.workers === best?.workers && ok(r));
    const b = results.find((r) => r.size === sizes[i] && r.workers === best?.workers && ok(r));
    if (!a || !b) continue;
    const growth = b.events / a.events;
    const t = b.elapsedMs / a.elapsedMs;
    line(
      `time ${kilo(sizes[i])} / ${kilo(sizes[i - 1])} (${fmt(growth, 1)}× the events)`,
      t,
      fmt(t, 2),
      { value: growth * 1.1, shown: fmt(growth * 1.1, 2) },
      'lower',
    );
  }
  return lines;
}

// ---------------------------------------------------------------- main
async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (!existsSync(API_MAIN) || !existsSync(WORKER_MAIN))
    throw new Error('no build in dist/: run npm run build');
  const probe = await adminClient();
  if (!probe) throw new Error(`no PostgreSQL at ${process.env.DATABASE_URL || 'the default test URL'}`);
  await probe.end();
  const tmp = mkdtempSync(path.join(tmpdir(), 'threadreel-scale-'));
  atExit(async () => {
    if (opts.keep) console.log(`kept the generated captures in ${tmp}`);
    else rmSync(tmp, { recursive: true, force: true });
  });

  const fixture = loadFixture(FIXTURE);
  console.log(
    `fixture ${path.relative(ROOT, FIXTURE)}: ${fixture.files.map((f) => f.name).join(', ')}; ${fmt(Number(fixture.spanNs) / 1e9, 1)} s on the epoch axis, copies every ${fixture.periodNs / 1_000_000_000n} s + 0–999 ms, ${fixture.ids} trace/span ids rewritten per copy`,
  );
  console.log(
    `workers: ${opts.workers.join(', ')} process(es) of WORKER_CONCURRENCY=${opts.concurrency}; API with --no-workers; timeout ${opts.timeoutS} s per upload → ready`,
  );

  // One copy through the product: the events a copy makes (as the parsers count them).
  const oneDir = path.join(tmp, 'one');
  mkdirSync(oneDir);
  const oneFiles = await writeGrownCapture(fixture, oneDir, 1);
  const maxWorkers = Math.max(...opts.workers);
  const one = await ingest('1 copy', oneFiles, { ...opts, workers: maxWorkers, copies: 1 });
  one.size = 0;
  if (!one.events)
    throw new Error(
      `the one-copy capture did not ingest: ${one.error ?? one.state}\n${details(one).join('\n')}`,
    );
  const perCopy = one.events;
  console.log(
    `one copy = ${perCopy} events (${JSON.stringify(one.perFile)}); the COPY baseline counts ${recordsPerCopy(fixture)}`,
  );
  console.log(HEAD);
  console.log(row(one));
  for (const l of details(one)) console.log(l);

  const results = [];
  const baselines = [];
  for (const size of opts.sizes) {
    const copies = Math.max(1, Math.round(size / perCopy));
    const dir = path.join(tmp, String(size));
    mkdirSync(dir);
    const g0 = performance.now();
    const files = await writeGrownCapture(fixture, dir, copies, { gzip: !opts.plain });
    const text = files.reduce((s, f) => s + f.textBytes, 0);
    console.log(
      `\n${kilo(size)} events: ${copies} copies, ${fmt(text / MiB)} MiB of text, ${fmt(files.reduce((s, f) => s + f.bytes, 0) / MiB)} MiB ${opts.plain ? 'uncompressed' : "gzip'd"}, generated in ${secs(performance.now() - g0)} s`,
    );
    console.log(HEAD);
    for (const workers of opts.workers) {
      const r = await ingest(`${kilo(size)} ${workers}w`, files, { ...opts, workers, copies });
      r.size = size;
      results.push(r);
      console.log(row(r));
      for (const l of details(r)) console.log(l);
    }
    const copy = await copyBaseline(fixture, copies);
    const perf = files.find((f) => f.kind === 'perf');
    const fold = await stackcollapseBaseline(perf.path);
    baselines.push({ size, copy, fold });
    console.log(
      `baseline COPY: ${copy.rows} rows (capture_id, thread, time_ns, kind, a, b; one index) in ${fmt(copy.seconds, 1)} s = ${kilo(copy.rowsPerS)} rows/s, ${fmt(copy.bytesPerRow, 1)} B/row on disk`,
    );
    console.log(
      `baseline stackcollapse (${perf.path.endsWith('.gz') ? 'gunzip + ' : ''}fold): ${fold.records} perf records, ${fmt(fold.textMiB)} MiB of text at ${fmt(fold.mibPerS, 1)} MiB/s = ${kilo(fold.eventsPerS)} events/s, ${fold.stacks} distinct stacks`,
    );
    if (!opts.keep) rmSync(dir, { recursive: true, force: true });
  }

  console.log('\nsummary');
  console.log(HEAD);
  for (const r of results) console.log(row(r));
  for (const b of baselines)
    console.log(
      `baseline ${kilo(b.size).padEnd(8)} COPY ${kilo(b.copy.rowsPerS)} rows/s, ${fmt(b.copy.bytesPerRow, 1)} B/row; stackcollapse ${fmt(b.fold.mibPerS, 1)} MiB/s, ${kilo(b.fold.eventsPerS)} events/s`,
    );
  console.log('');
  for (const l of targets(results, opts.sizes)) console.log(l);
}

try {
  await main();
} catch (e) {
  // After Ctrl-C the runs fail as their processes stop: that is not news.
  if (!interrupted) console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
} finally {
  await cleanAll();
}
