// Replay benchmark: the cost of GET /api/traces/:traceId must depend on the request's window,
// not on the size of the database. Loads the real java fixture capture, measures replay
// latency, then grows the same capture to ~1 M and ~20 M events by repeating its real events
// shifted in time (new trace ids for the copies, so every copy is its own set of requests)
// and measures again in the same run.
// Usage: npm run bench:replay [-- SMALL LARGE]   (default 1000000 20000000 events)
// THREADREEL_KEEP_DB=1 keeps the benchmark database (its name is printed) for EXPLAIN work.
import { readdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import http from 'node:http';
import pg from 'pg';
import {
  ROOT,
  adminClient,
  benchDatabase,
  captureDetail,
  quantile,
  startApi,
  uploadFiles,
} from './stack.mjs';

// The segment and pyramid chunks hold absolute times inside their payload: copies are re-encoded, shifted.
const { decodeLodChunk, decodeSegmentChunk, lodChunks, segmentChunks } = await import(
  path.join(ROOT, 'dist/libs/store/src/index.js')
);

const SMALL = Number(process.argv[2] ?? 1_000_000);
const LARGE = Number(process.argv[3] ?? 20_000_000);
const QUERIES = 200;
const KEEP_DB = process.env.THREADREEL_KEEP_DB === '1';

const EVENT_TABLES = [
  'samples',
  'sched_events',
  'syscalls',
  'log_records',
  'spans',
  'gc_events',
  'runtime_events',
  'thread_sightings',
  'segment_chunks',
  'wakeups',
  'span_bindings',
];

/** Copy k of the original rows, `shift` ns later; trace ids rewritten so copies are new requests. */
const TRACE = (col) => `substr(md5(${col} || ':' || $3::text), 1, 32)`;
const CLONES = {
  samples: `INSERT INTO samples (capture_id, thread_id, time_ns, file_ordinal, stack_id, weight, cpu, event_id, comm_id)
    SELECT capture_id, thread_id, time_ns + $2, file_ordinal, stack_id, weight, cpu, event_id, comm_id
    FROM samples WHERE capture_id = $1 AND time_ns <= $4`,
  sched_events: `INSERT INTO sched_events SELECT capture_id, file_ordinal, line, kind, time_ns + $2, cpu, pid, tid, prio,
    prev_state, other_tid, other_comm, other_prio, target_cpu, stack_id FROM sched_events WHERE capture_id = $1 AND time_ns <= $4`,
  syscalls: `INSERT INTO syscalls (capture_id, file_ordinal, line, tid, start_ns, duration_ns, name, category, fd_kind, fd_path,
      fd_peer, ret, errno, futex_op, incomplete, futex_addr, time_of_day_ns)
    SELECT capture_id, file_ordinal, line, tid, start_ns + $2, duration_ns, name, category, fd_kind, fd_path, fd_peer, ret,
      errno, futex_op, incomplete, futex_addr, time_of_day_ns FROM syscalls WHERE capture_id = $1 AND start_ns <= $5`,
  log_records: `INSERT INTO log_records (capture_id, file_ordinal, line, time_ns, zone, level, thread_name, tid, trace_ids, span_id, logger, message)
    SELECT capture_id, file_ordinal, line, time_ns + $2, zone, level, thread_name, tid,
      ARRAY(SELECT ${TRACE('t')} FROM unnest(trace_ids) t), span_id, logger, message
    FROM log_records WHERE capture_id = $1 AND time_ns <= $5`,
  spans: `INSERT INTO spans (capture_id, file_ordinal, line, trace_id, span_id, parent_span_id, name, kind, service, start_ns, end_ns, status, attributes)
    SELECT capture_id, file_ordinal, line, ${TRACE('trace_id')}, span_id, parent_span_id, name, kind, service, start_ns + $2,
      end_ns + $2, status, attributes FROM spans WHERE capture_id = $1 AND start_ns <= $5`,
  wakeups: `INSERT INTO wakeups SELECT capture_id, time_ns + $2, waker_thread_id, wakee_thread_id, waker_stack_id, source, lock_id
    FROM wakeups WHERE capture_id = $1 AND time_ns <= $5`,
  span_bindings: `INSERT INTO span_bindings SELECT capture_id, ${TRACE('trace_id')}, span_id, thread_id, start_ns + $2, end_ns + $2,
    method, confidence FROM span_bindings WHERE capture_id = $1 AND start_ns <= $5`,
  requests: `INSERT INTO requests (capture_id, trace_id, span_id, service, route, name, start_ns, end_ns, duration_ns, dominant_cause,
      breakdown, evidence, sample_count, sparse, thread_ids)
    SELECT capture_id, ${TRACE('trace_id')}, span_id, service, route, name, start_ns + $2, end_ns + $2, duration_ns, dominant_cause,
      breakdown, evidence, sample_count, sparse, thread_ids FROM requests WHERE capture_id = $1 AND start_ns <= $5`,
};

const admin = await adminClient();
if (!admin) throw new Error('no PostgreSQL (DATABASE_URL)');
const bench = await benchDatabase(admin, `threadreel_bench_replay_${process.pid}`);
const dir = mkdtempSync(path.join(tmpdir(), 'threadreel-bench-replay-'));
const env = { DATABASE_URL: bench.url, DATA_DIR: path.join(dir, 'data'), QUEUE_PREFIX: 'benchreplay' };
if (process.env.REDIS_URL) env.REDIS_URL = process.env.REDIS_URL;
// THREADREEL_REPLAY_LOD=0: lanes reduced from the segments at query time (for a before/after comparison).
if (process.env.THREADREEL_REPLAY_LOD) env.THREADREEL_REPLAY_LOD = process.env.THREADREEL_REPLAY_LOD;
let api;
let baseUrl;
const db = new pg.Client({ connectionString: bench.url });

async function eventCount(captureId) {
  let n = 0;
  for (const t of EVENT_TABLES)
    n += Number(
      (await db.query(`SELECT count(*)::bigint AS n FROM ${t} WHERE capture_id = $1`, [captureId])).rows[0].n,
    );
  return n;
}

/**
 * p50/p95 of GET /api/traces over random requests of the capture, per lanes mode: `full`
 * (every lane reduced to the resolution in the answer) and `auto` (what the UI asks: the
 * bound threads' waits only, the lanes coming from lane tiles), alternating per request.
 */
async function measure(label, captureId, events) {
  const ids = (
    await db.query(`SELECT trace_id FROM requests WHERE capture_id = $1 ORDER BY random() LIMIT $2`, [
      captureId,
      QUERIES,
    ])
  ).rows.map((r) => r.trace_id);
  const times = { full: [], auto: [] };
  for (const id of ids)
    for (const mode of ['full', 'auto']) {
      const t0 = performance.now();
      const r = await fetch(`${baseUrl}/api/traces/${id}?capture=${captureId}&lanes=${mode}`);
      await r.arrayBuffer();
      if (!r.ok) throw new Error(`GET /api/traces/${id}: ${r.status}`);
      times[mode].push(performance.now() - t0);
    }
  const out = {};
  for (const mode of ['full', 'auto']) {
    const t = times[mode].sort((a, b) => a - b);
    const q = (p) => quantile(t, p);
    console.log(
      `${label.padEnd(8)} ${String(events).padStart(10)} events  lanes=${mode.padEnd(4)}  ${ids.length} replays  p50 ${q(0.5).toFixed(1)} ms  p95 ${q(0.95).toFixed(1)} ms`,
    );
    out[mode] = { p50: q(0.5), p95: q(0.95) };
  }
  return out;
}

/** Bytes on the wire and time to the last byte of one GET, with the given Accept-Encoding. */
function wire(pathname, encoding) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    http
      .get(`${baseUrl}${pathname}`, { headers: { 'accept-encoding': encoding } }, (res) => {
        let bytes = 0;
        res.on('data', (c) => (bytes += c.length));
        res.on('end', () =>
          res.statusCode === 200
            ? resolve({
                bytes,
                ms: performance.now() - t0,
                encoding: res.headers['content-encoding'] ?? 'identity',
              })
            : reject(new Error(`GET ${pathname}: ${res.statusCode}`)),
        );
      })
      .on('error', reject);
  });
}

/**
 * HTTP compression: the same responses asked with `identity` (the baseline) and with `gzip`
 * (what browsers send), alternating: bytes on the wire and time to the last byte on loopback
 * (where the wire costs nothing, so this shows gzip's CPU price; over a real network the bytes
 * saved are the gain).
 */
async function compressionReport(captureId) {
  const ids = (
    await db.query(`SELECT trace_id FROM requests WHERE capture_id = $1 ORDER BY random() LIMIT 10`, [
      captureId,
    ])
  ).rows.map((r) => r.trace_id);
  const index = await (await fetch(`${baseUrl}/`)).text();
  const asset = /src="\.?(\/assets\/[^"]+\.js)"/.exec(index)?.[1];
  if (!asset) throw new Error('no UI bundle in index.html (npm run build builds it)');
  const bundle = asset;
  const cases = [
    ...['auto', 'full'].map((mode) => ({
      label: `replay lanes=${mode}`,
      paths: ids.map((id) => `/api/traces/${id}?capture=${captureId}&lanes=${mode}`),
    })),
    { label: 'request list (200 rows)', paths: [`/api/requests?capture=${captureId}&limit=200`] },
    { label: 'UI bundle', paths: [bundle] },
  ];
  for (const c of cases) {
    const sum = { identity: { bytes: 0, ms: [] }, gzip: { bytes: 0, ms: [] } };
    for (let round = 0; round < 3; round++)
      for (const p of c.paths)
        for (const enc of ['identity', 'gzip']) {
          const r = await wire(p, enc);
          if (enc === 'gzip' && r.encoding !== 'gzip') throw new Error(`${p}: not gzip'd (${r.encoding})`);
          if (round === 0) sum[enc].bytes += r.bytes;
          sum[enc].ms.push(r.ms);
        }
    const p50 = (a) => a.sort((x, y) => x - y)[Math.floor(a.length / 2)];
    console.log(
      `compression ${c.label.padEnd(24)} ${(sum.identity.bytes / c.paths.length / 1024).toFixed(1)} KB → ${(sum.gzip.bytes / c.paths.length / 1024).toFixed(1)} KB gzip (${(sum.identity.bytes / sum.gzip.bytes).toFixed(1)}×), loopback p50 ${p50(sum.identity.ms).toFixed(1)} ms identity / ${p50(sum.gzip.ms).toFixed(1)} ms gzip`,
    );
  }
}

try {
  await db.connect();
  api = await startApi(env);
  baseUrl = api.url;
  const fixture = path.join(ROOT, 'test/fixtures/captures/java');
  const files = readdirSync(fixture, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name !== 'README.md')
    .map((e) => path.join(e.parentPath, e.name))
    .map((p) => ({ name: path.relative(fixture, p), path: p }));
  const captureId = await uploadFiles(baseUrl, files);
  for (;;) {
    const c = await captureDetail(baseUrl, captureId);
    if (c.state === 'ready') break;
    if (c.state === 'degraded' || c.state === 'failed') throw new Error(`${c.state}: ${c.error}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  const base = await eventCount(captureId);
  // The original rows end here (raw clocks: perf times are monotonic, others epoch).
  const { rows } = await db.query(
    `SELECT (SELECT max(time_ns) FROM samples WHERE capture_id = $1)::text AS raw_end,
            (SELECT max(end_ns) FROM segment_chunks WHERE capture_id = $1)::text AS epoch_end,
            (SELECT max(end_ns) - min(start_ns) FROM segment_chunks WHERE capture_id = $1)::text AS span`,
    [captureId],
  );
  const rawEnd = BigInt(rows[0].raw_end ?? '0');
  const epochEnd = BigInt(rows[0].epoch_end);
  const spanNs = BigInt(rows[0].span) + 1_000_000_000n;
  console.log(`real capture (java fixture): ${base} events`);
  let copies = 0;
  let events = base;
  const original = (
    await db.query(
      `SELECT thread_id::text AS tid, payload FROM segment_chunks WHERE capture_id = $1 ORDER BY thread_id, start_ns`,
      [captureId],
    )
  ).rows.map((r) => ({ tid: r.tid, segs: decodeSegmentChunk(r.tid, r.payload) }));
  /** The original segments `shift` ns later, as chunks of the copy. */
  const cloneSegments = async (shift) => {
    const byThread = new Map();
    for (const { tid, segs } of original)
      for (const s of segs) {
        const list = byThread.get(tid) ?? [];
        list.push({ ...s, startNs: s.startNs + shift, endNs: s.endNs + shift });
        byThread.set(tid, list);
      }
    const chunks = [...byThread].flatMap(([tid, segs]) => segmentChunks(tid, segs));
    await db.query(
      `INSERT INTO segment_chunks (capture_id, thread_id, start_ns, end_ns, max_duration_ns, segment_count, payload)
       SELECT $1, * FROM unnest($2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[], $6::int[], $7::bytea[])`,
      [
        captureId,
        chunks.map((c) => c.threadId),
        chunks.map((c) => c.startNs.toString()),
        chunks.map((c) => c.endNs.toString()),
        chunks.map((c) => c.maxDurationNs.toString()),
        chunks.map((c) => c.count),
        chunks.map((c) => c.payload),
      ],
    );
  };
  // The level-of-detail pyramid of the copied segments (bucket starts shifted with them; the readers need no alignment).
  const originalLod = (
    await db.query(
      `SELECT thread_id::text AS tid, level, payload FROM lod_chunks WHERE capture_id = $1 AND level >= 0
       ORDER BY thread_id, level, bucket_ns`,
      [captureId],
    )
  ).rows.map((r) => ({ tid: r.tid, buckets: decodeLodChunk(r.tid, r.level, r.payload) }));
  const cloneLod = async (shift) => {
    const byThread = new Map();
    for (const { tid, buckets } of originalLod)
      for (const b of buckets) {
        const list = byThread.get(tid) ?? [];
        list.push({
          ...b,
          bucketNs: b.bucketNs + shift,
          minStartNs: b.minStartNs + shift,
          maxEndNs: b.maxEndNs + shift,
        });
        byThread.set(tid, list);
      }
    const chunks = [...byThread].flatMap(([tid, buckets]) => lodChunks(tid, buckets));
    await db.query(
      `INSERT INTO lod_chunks (capture_id, thread_id, level, bucket_ns, last_bucket_ns, bucket_count, payload)
       SELECT $1, * FROM unnest($2::bigint[], $3::smallint[], $4::bigint[], $5::bigint[], $6::int[], $7::bytea[])`,
      [
        captureId,
        chunks.map((c) => c.threadId),
        chunks.map((c) => c.level),
        chunks.map((c) => c.bucketNs.toString()),
        chunks.map((c) => c.lastBucketNs.toString()),
        chunks.map((c) => c.count),
        chunks.map((c) => c.payload),
      ],
    );
  };
  const grow = async (target) => {
    while (events < target) {
      copies++;
      const shift = spanNs * BigInt(copies);
      await db.query('BEGIN');
      for (const sql of Object.values(CLONES)) {
        // Values of this script only (numbers): inlined, so each statement names only what it uses.
        const text = sql
          .replaceAll('$2', `${shift}::bigint`)
          .replaceAll('$3::text', `'${copies}'`)
          .replaceAll('$4', `${rawEnd}::bigint`)
          .replaceAll('$5', `${epochEnd}::bigint`);
        await db.query(text, [captureId]);
      }
      await cloneSegments(shift);
      await cloneLod(shift);
      await db.query('COMMIT');
      events += base;
    }
    for (const t of [...EVENT_TABLES, 'lod_chunks', 'requests']) await db.query(`ANALYZE ${t}`);
    return eventCount(captureId);
  };
  const small = await measure('small', captureId, await grow(SMALL));
  const large = await measure('large', captureId, await grow(LARGE));
  await compressionReport(captureId);
  for (const mode of ['full', 'auto'])
    console.log(
      `lanes=${mode}: p95 large/small = ${(large[mode].p95 / small[mode].p95).toFixed(2)} (goal ≤ 1.5), p95 large ${large[mode].p95.toFixed(1)} ms (goal ≤ 50 ms)`,
    );
} finally {
  await api?.stop();
  await db.end().catch(() => undefined);
  if (KEEP_DB) console.log(`kept database ${bench.name} (THREADREEL_KEEP_DB=1)`);
  else await bench.drop();
  await admin.end();
  rmSync(dir, { recursive: true, force: true });
}
