// Replay UI benchmark: time from navigation to a fully drawn replay, and time of one zoom
// step, in headless Chromium, for requests that involve 32 threads of 200 k segments each,
// against a baseline of 32 threads × 1 k segments, all measured in the same run.
//
// Data: the real java fixture capture is uploaded (so the capture, its process, spans file
// and clocks are real); then three synthetic requests are added to it with COPY, each a copy
// of the slowest /lock request's server span stretched to 2 s and bound to 32 new threads of
// the JVM whose lanes follow a plausible state mix (cpu, run queue, lock, network, file,
// sleep, other; exponential durations), with wakeups between them:
//   1. baseline: 1 k segments per thread, all in the request's window;
//   2. 200 k segments per thread over 60 s of capture (the window holds ~1/27 of them);
//   3. worst case: 200 k segments per thread, all in the window (~10 µs each).
//
// "Fully drawn": `#replay[data-state=ready]`, set after the span chart's ECharts `finished`
// event and the lanes canvas drawn from the replay payload.
// "Zoom step": a W keypress → the lanes of the new visible range at its resolution drawn
// (`#replay[data-lod-seq]` advances), whether from the tile cache, a prefetch in flight or a
// new read; "pan step": a D keypress (a fifth of the view onto new ground), likewise. The
// steps that had to wait for a read are counted and timed apart.
// The correlate step writes a level-of-detail pyramid (lod_chunks) and lane tiles (lane_tiles)
// next to the segments; the synthetic threads get theirs from the same code (dist/libs/correlate
// lodBuckets, laneTiles). Zoom steps read tiles (the lanes read when there are none). Each case is
// measured twice in the same run: "before", the API reading lanes from the segments alone
// (THREADREEL_REPLAY_LOD=0 THREADREEL_REPLAY_TILES=0: reduction at query time, no tiles), and
// "after", the pyramid for the replay payload and tiles for zoom steps.
// THREADREEL_BENCH_BEFORE=0 skips the "before" pass.
// Usage: npm run bench:web [-- SEGMENTS RUNS]   (default 200000 10)
// THREADREEL_KEEP_DB=1 keeps the benchmark database (its name is printed);
// THREADREEL_BENCH_DB=<name> reuses such a database instead of generating the data again.
import { readdirSync, openAsBlob, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { chromium } from 'playwright-core';

const root = fileURLToPath(new URL('../..', import.meta.url));
const { lodBuckets, lodChunks, laneTiles, segmentChunks } = await import(
  path.join(root, 'dist/libs/store/src/index.js')
);
const { tileLevelFor } = await import(path.join(root, 'dist/libs/model/src/index.js'));
const BEFORE = process.env.THREADREEL_BENCH_BEFORE !== '0';
const LARGE = Number(process.argv[2] ?? 200_000);
const RUNS = Math.max(10, Number(process.argv[3] ?? 10));
const BASE = 1_000;
const THREADS = 32;
const SPAN_NS = 2_000_000_000n;
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const dbUrl = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';
const admin = new pg.Client({ connectionString: dbUrl });
await admin.connect();
const REUSE = process.env.THREADREEL_BENCH_DB;
const KEEP_DB = process.env.THREADREEL_KEEP_DB === '1' || REUSE !== undefined;
const dbName = REUSE ?? `threadreel_bench_web_${process.pid}`;
if (!REUSE) await admin.query(`CREATE DATABASE ${dbName}`);
const u = new URL(dbUrl);
u.pathname = `/${dbName}`;
const dir = mkdtempSync(path.join(tmpdir(), 'threadreel-bench-web-'));
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
  QUEUE_PREFIX: `benchweb${process.pid}`,
};
if (process.env.REDIS_URL) env.REDIS_URL = process.env.REDIS_URL;
let api = null;
async function startApi(lod) {
  api = spawn(process.execPath, [path.join(root, 'dist/apps/api/src/main.js')], {
    env: { ...env, THREADREEL_REPLAY_LOD: lod ? '1' : '0', THREADREEL_REPLAY_TILES: lod ? '1' : '0' },
    stdio: 'ignore',
  });
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${baseUrl}/api/health`)).ok) return;
    } catch {}
    if (i > 300) throw new Error('API did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
}
async function stopApi() {
  if (!api) return;
  const p = api;
  api = null;
  p.kill('SIGTERM');
  await new Promise((r) => p.once('exit', r));
}
const baseUrl = `http://127.0.0.1:${port}`;
const db = new pg.Client({ connectionString: u.toString() });

/** Seeded PRNG (mulberry32) so every run builds the same data. */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// State mix: weight, mean share of time; detail columns as the correlator fills them.
const MIX = [
  { state: 'cpu', w: 0.4, source: 'sched' },
  { state: 'runqueue', w: 0.1, source: 'sched' },
  { state: 'lock', w: 0.15, source: 'strace', syscall: 'futex', lock: true },
  { state: 'net', w: 0.1, source: 'strace', syscall: 'read', target: '10.0.0.7:5432' },
  { state: 'file', w: 0.05, source: 'strace', syscall: 'write', target: '/var/log/app/app.log' },
  { state: 'sleep', w: 0.1, source: 'strace', syscall: 'nanosleep' },
  { state: 'other', w: 0.1, source: 'sched' },
];

async function copyRows(table, columns, rows) {
  const stream = db.query(copyFrom(`COPY ${table} (${columns.join(', ')}) FROM STDIN`));
  await pipeline(Readable.from(rows()), stream);
}

/** A synthetic request of `perThread` segments on each of 32 new threads; returns its trace id. */
/**
 * A synthetic 2 s request on 32 new threads, each with `perThread` segments spread over
 * `extentNs` around the request (the request's window when 0, else the whole capture).
 */
async function addRequest(captureId, template, { key, perThread, extentNs, tidBase }) {
  const traceId = `${key.toString(16).padStart(2, '0')}${'b'.repeat(30)}`;
  const spanId = `${key.toString(16).padStart(2, '0')}${'c'.repeat(14)}`;
  const start = BigInt(template.start_ns);
  const end = start + SPAN_NS;
  const pad = extentNs > 0n ? (extentNs - SPAN_NS) / 2n : SPAN_NS / 20n;
  const lo = start - pad;
  const hi = end + pad;
  const ids = [];
  for (let i = 0; i < THREADS; i++) {
    const { rows } = await db.query(
      `INSERT INTO threads (capture_id, pid, tid, names) VALUES ($1, $2, $3, $4) RETURNING id::text AS id`,
      [captureId, template.pid, tidBase + i, [`bench-worker-${key}-${i}`]],
    );
    ids.push(rows[0].id);
  }
  await db.query(
    `INSERT INTO spans (capture_id, file_ordinal, line, trace_id, span_id, parent_span_id, name, kind, service,
       start_ns, end_ns, status, attributes)
     SELECT capture_id, file_ordinal, line, $2, $3, NULL, 'GET /bench', kind, service, $4::bigint, $5::bigint, status, attributes
     FROM spans WHERE capture_id = $1 AND trace_id = $6 AND span_id = $7`,
    [captureId, traceId, spanId, start.toString(), end.toString(), template.trace_id, template.span_id],
  );
  await db.query(
    `INSERT INTO requests (capture_id, trace_id, span_id, service, route, name, start_ns, end_ns, duration_ns,
       dominant_cause, breakdown, evidence, sample_count, sparse, thread_ids)
     VALUES ($1, $2, $3, 'bench', $9, 'GET /bench', $4, $5, $6, 'cpu', $7, '{}', 0, false, $8::bigint[])`,
    [
      captureId,
      traceId,
      spanId,
      start.toString(),
      end.toString(),
      SPAN_NS.toString(),
      JSON.stringify(
        Object.fromEntries(MIX.map((m) => [m.state, String(Math.round(Number(SPAN_NS) * m.w))])),
      ),
      ids,
      `/bench/${key}`,
    ],
  );
  await copyRows(
    'span_bindings',
    ['capture_id', 'trace_id', 'span_id', 'thread_id', 'start_ns', 'end_ns', 'method', 'confidence'],
    function* () {
      for (const id of ids) yield `${captureId}\t${traceId}\t${spanId}\t${id}\t${start}\t${end}\tbench\t1\n`;
    },
  );
  const mean = Number(hi - lo) / perThread;
  /** Thread t's segments (seeded: the same on every call). */
  const lane = (t) => {
    const rand = rng(perThread * 1000 + t);
    const out = [];
    let at = lo;
    for (let i = 0; i < perThread; i++) {
      let r = rand();
      let m = MIX[0];
      for (const x of MIX) {
        if (r < x.w) {
          m = x;
          break;
        }
        r -= x.w;
      }
      const dur = BigInt(Math.max(50, Math.round(-Math.log(1 - rand()) * mean)));
      const e = i === perThread - 1 ? (at + dur > hi ? at + dur : hi) : at + dur;
      out.push({
        threadId: ids[t],
        startNs: at,
        endNs: e,
        state: m.state,
        source: m.source,
        syscall: m.syscall,
        target: m.target,
        lockId: m.lock ? `futex:0x7f00${(i % 8).toString(16)}` : undefined,
        wakerThreadId: m.lock ? ids[(t + 1) % ids.length] : undefined,
      });
      at = e;
    }
    return out;
  };
  // The segments as the correlate step stores them: chunks (bytea in COPY's hex form).
  await copyRows(
    'segment_chunks',
    ['capture_id', 'thread_id', 'start_ns', 'end_ns', 'max_duration_ns', 'segment_count', 'payload'],
    function* () {
      for (let t = 0; t < ids.length; t++) {
        let buf = '';
        for (const c of segmentChunks(ids[t], lane(t))) {
          buf += `${captureId}\t${c.threadId}\t${c.startNs}\t${c.endNs}\t${c.maxDurationNs}\t${c.count}\t\\\\x${c.payload.toString('hex')}\n`;
          if (buf.length > 1 << 20) {
            yield buf;
            buf = '';
          }
        }
        yield buf;
      }
    },
  );
  // The pyramid, as the correlate step writes it (chunks of a level's buckets).
  await copyRows(
    'lod_chunks',
    ['capture_id', 'thread_id', 'level', 'bucket_ns', 'last_bucket_ns', 'bucket_count', 'payload'],
    function* () {
      for (let t = 0; t < ids.length; t++) {
        let buf = '';
        for (const c of lodChunks(ids[t], [...lodBuckets(ids[t], lane(t))])) {
          buf += `${captureId}\t${c.threadId}\t${c.level}\t${c.bucketNs}\t${c.lastBucketNs}\t${c.count}\t\\\\x${c.payload.toString('hex')}\n`;
          if (buf.length > 1 << 20) {
            yield buf;
            buf = '';
          }
        }
        yield buf;
      }
    },
  );
  // The lane tiles, as the correlate step writes them.
  await copyRows(
    'lane_tiles',
    ['capture_id', 'thread_id', 'level', 'tile', 'items', 'payload'],
    function* () {
      for (let t = 0; t < ids.length; t++) {
        const segs = lane(t);
        let buf = '';
        for (const x of laneTiles(ids[t], segs, lodBuckets(ids[t], segs))) {
          buf += `${captureId}\t${ids[t]}\t${x.level}\t${x.tile}\t${x.items}\t\\\\x${Buffer.from(x.bytes).toString('hex')}\n`;
          if (buf.length > 1 << 20) {
            yield buf;
            buf = '';
          }
        }
        yield buf;
      }
    },
  );
  // Wakeups: each thread is woken 64 times by its neighbour.
  await copyRows(
    'wakeups',
    ['capture_id', 'time_ns', 'waker_thread_id', 'wakee_thread_id', 'source', 'lock_id'],
    function* () {
      for (let t = 0; t < ids.length; t++)
        for (let k = 0; k < 64; k++) {
          const at = start + (SPAN_NS * BigInt(k * 37 + t)) / BigInt(64 * 37 + THREADS);
          yield `${captureId}\t${at}\t${ids[(t + 1) % ids.length]}\t${ids[t]}\tsched_wakeup\t\\N\n`;
        }
    },
  );
  return traceId;
}

const q = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))];
};
const fmt = (xs) =>
  `p50 ${q(xs, 0.5).toFixed(0).padStart(6)} ms  p95 ${q(xs, 0.95).toFixed(0).padStart(6)} ms`;

/** One key press on the replay; resolves when the lanes of the new view are drawn. */
function step(page, key) {
  return page.evaluate(
    (k) =>
      new Promise((resolve) => {
        const el = document.querySelector('#replay');
        const seq = Number(el.dataset.lodSeq);
        const t = performance.now();
        const obs = new MutationObserver(() => {
          if (Number(el.dataset.lodSeq) > seq && el.dataset.lodPending === '0') {
            obs.disconnect();
            resolve({
              ms: performance.now() - t,
              apiMs: Number(el.dataset.lodApiMs ?? 'NaN'),
              drawMs: Number(el.dataset.drawMs ?? 'NaN'),
            });
          }
        });
        obs.observe(el, { attributes: true });
        document.dispatchEvent(new KeyboardEvent('keydown', { key: k, bubbles: true }));
      }),
    key,
  );
}

async function measure(browser, label, traceId) {
  const first = [];
  const zoom = [];
  const pan = [];
  const waited = [];
  const draw = [];
  for (let run = 0; run < RUNS; run++) {
    const page = await browser.newPage({ viewport: { width: 1500, height: 1100 } });
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    const t0 = Date.now();
    await page.goto(`${baseUrl}/#/t/${traceId}`);
    await page.waitForSelector('#replay[data-state="ready"]', { timeout: 300_000 });
    first.push(Date.now() - t0);
    // Zoom steps: W from the whole window, then pan steps (D, a fifth of the view each, onto
    // ground not yet read); each waits for the lanes of the new view to be drawn.
    for (const [key, into] of [
      ['w', zoom],
      ['w', zoom],
      ['w', zoom],
      ['d', pan],
      ['d', pan],
      ['d', pan],
    ]) {
      const r = await step(page, key);
      into.push(r.ms);
      // A step that waited for a read (lodApiMs: from the step's read to its answer; ~0 from the tile cache).
      if (Number.isFinite(r.apiMs) && r.apiMs >= 1) waited.push(r.ms);
      if (Number.isFinite(r.drawMs)) draw.push(r.drawMs);
    }
    if (errors.length) throw new Error(`page errors: ${errors.join('; ')}`);
    await page.close();
  }
  console.log(`${label.padEnd(28)} first draw  ${fmt(first)}   (${RUNS} runs)`);
  console.log(`${''.padEnd(28)} zoom step   ${fmt(zoom)}   (${zoom.length} steps)`);
  console.log(`${''.padEnd(28)} pan step    ${fmt(pan)}   (${pan.length} steps)`);
  console.log(
    `${''.padEnd(28)}   steps that waited for a lanes read: ${waited.length}/${zoom.length + pan.length}${waited.length ? `, ${fmt(waited)}` : ''}`,
  );
  if (draw.length) console.log(`${''.padEnd(28)}   canvas draw ${fmt(draw)}`);
  return { first, zoom, pan };
}

let browser;
try {
  await db.connect();
  await startApi(!BEFORE);
  // Three requests: the baseline; 200 k segments per thread over a 60 s capture (the
  // request's window holds ~1/30 of them); 200 k per thread inside the window (worst case).
  const CONFIGS = [
    { key: 1, label: `baseline 32 × ${BASE} in window`, perThread: BASE, extentNs: 0n, tidBase: 900_000 },
    {
      key: 2,
      label: `32 × ${LARGE} over 60 s`,
      perThread: LARGE,
      extentNs: 60_000_000_000n,
      tidBase: 910_000,
    },
    { key: 3, label: `32 × ${LARGE} in window`, perThread: LARGE, extentNs: 0n, tidBase: 920_000 },
  ];
  const traces = new Map();
  if (REUSE) {
    const { rows } = await db.query(`SELECT trace_id, route FROM requests WHERE route LIKE '/bench/%'`);
    for (const r of rows) traces.set(Number(r.route.slice('/bench/'.length)), r.trace_id);
    console.log(`reusing ${dbName}`);
  } else {
    const fixture = path.join(root, 'test/fixtures/captures/java');
    const form = new FormData();
    for (const e of readdirSync(fixture, { recursive: true, withFileTypes: true })) {
      if (!e.isFile() || e.name === 'README.md') continue;
      const rel = path.relative(fixture, path.join(e.parentPath, e.name));
      form.append('files', await openAsBlob(path.join(fixture, rel)), rel);
    }
    const { captureId } = await (
      await fetch(`${baseUrl}/api/captures`, { method: 'POST', body: form })
    ).json();
    for (;;) {
      const c = await (await fetch(`${baseUrl}/api/captures/${captureId}`)).json();
      if (c.state === 'ready') break;
      if (c.state === 'failed') throw new Error(c.error);
      await new Promise((r) => setTimeout(r, 200));
    }
    const { rows } = await db.query(
      `SELECT r.trace_id, r.span_id, r.start_ns::text, t.pid
       FROM requests r JOIN threads t ON t.capture_id = r.capture_id AND t.id = r.thread_ids[1]
       WHERE r.capture_id = $1 AND r.dominant_cause = 'lock' ORDER BY r.duration_ns DESC LIMIT 1`,
      [captureId],
    );
    const template = rows[0];
    if (!template) throw new Error('no lock request in the fixture');
    const tg = Date.now();
    for (const c of CONFIGS) traces.set(c.key, await addRequest(captureId, template, c));
    for (const table of [
      'segment_chunks',
      'lod_chunks',
      'lane_tiles',
      'span_bindings',
      'wakeups',
      'requests',
      'threads',
      'spans',
    ])
      await db.query(`ANALYZE ${table}`);
    console.log(
      `generated ${CONFIGS.map((c) => c.label).join(', ')} (${((Date.now() - tg) / 1000).toFixed(1)} s)`,
    );
  }
  const passes = BEFORE ? ['before', 'after'] : ['after'];
  const results = [];
  for (const pass of passes) {
    if (pass === 'after' && BEFORE) {
      await stopApi();
      await startApi(true);
    }
    console.log(
      pass === 'before'
        ? '— before: lanes reduced from the segments at query time, no tiles (THREADREEL_REPLAY_LOD=0 THREADREEL_REPLAY_TILES=0)'
        : '— after: replay lanes from the level-of-detail pyramid, zoom steps from lane tiles',
    );
    // The replay payloads themselves, for scale: the full lanes, what the UI asks (lanes=auto:
    // the waits only when there are tiles), and one read of the window's lane tiles.
    for (const c of CONFIGS) {
      const id = traces.get(c.key);
      // Segments in the window: counted from the chunks that overlap it (counts of whole chunks, an upper bound at the edges).
      const segs = await db.query(
        `SELECT coalesce(sum(s.segment_count), 0)::int AS n FROM segment_chunks s JOIN requests r ON r.capture_id = s.capture_id
         WHERE r.trace_id = $1 AND s.thread_id = ANY(r.thread_ids)
           AND s.start_ns < r.end_ns + r.duration_ns / 20 AND s.end_ns > r.start_ns - r.duration_ns / 20`,
        [id],
      );
      console.log(`${c.label.padEnd(28)} ${segs.rows[0].n} segments in the window`);
      let replay = null;
      for (const mode of ['full', 'auto']) {
        const t = performance.now();
        const r = await fetch(`${baseUrl}/api/traces/${id}?lanes=${mode}`);
        const body = await r.text();
        if (!r.ok) throw new Error(`GET /api/traces/${id}: ${r.status} ${body.slice(0, 200)}`);
        replay = JSON.parse(body);
        console.log(
          `${''.padEnd(28)}   GET /api/traces?lanes=${mode.padEnd(4)} ${(performance.now() - t).toFixed(0).padStart(5)} ms ${(body.length / 1024).toFixed(0).padStart(6)} KiB, ${replay.threads.length} threads, lanes: ${replay.lanes}`,
        );
      }
      if (replay?.lanes === 'waits') {
        // The level the UI reads for the whole window on a 1500 px page (~1250 px of plot).
        const from = BigInt(replay.window.fromNs);
        const to = BigInt(replay.window.toNs);
        const level = tileLevelFor((to - from) / 1250n);
        const ids = replay.threads.filter((x) => x.role === 'bound').map((x) => x.threadId);
        const t = performance.now();
        const r = await fetch(
          `${baseUrl}/api/captures/${replay.captureId}/lane-tiles?threadIds=${ids.join(',')}&level=${level}&from=${from}&to=${to}`,
        );
        const bytes = (await r.arrayBuffer()).byteLength;
        if (!r.ok) throw new Error(`lane-tiles: ${r.status}`);
        console.log(
          `${''.padEnd(28)}   GET lane-tiles level ${level}  ${(performance.now() - t).toFixed(0).padStart(5)} ms ${(bytes / 1024).toFixed(0).padStart(6)} KiB, ${ids.length} lanes`,
        );
      }
    }
    browser ??= await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
    });
    for (const c of CONFIGS) results.push({ pass, c, r: await measure(browser, c.label, traces.get(c.key)) });
  }
  console.log('goals: first draw ≤ 1000 ms, zoom step ≤ 100 ms (p95):');
  for (const { pass, c, r } of results)
    console.log(
      `  ${pass.padEnd(6)} ${c.label.padEnd(28)} first draw p50 ${q(r.first, 0.5).toFixed(0)} / p95 ${q(r.first, 0.95).toFixed(0)} ms, zoom step p50 ${q(r.zoom, 0.5).toFixed(0)} / p95 ${q(r.zoom, 0.95).toFixed(0)} ms, pan step p50 ${q(r.pan, 0.5).toFixed(0)} / p95 ${q(r.pan, 0.95).toFixed(0)} ms`,
    );
} finally {
  await browser?.close();
  await stopApi();
  await db.end().catch(() => undefined);
  if (KEEP_DB) console.log(`kept database ${dbName}`);
  else await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
  await admin.end();
  rmSync(dir, { recursive: true, force: true });
}
