// @ts-check
/**
 * threadreel's Node.js scenario service: an Express app with OpenTelemetry tracing (OTLP/HTTP JSON),
 * pino logging and one route per planted cause. See README.md beside this file.
 *
 * Run: node --perf-basic-prof --trace-gc --max-semi-space-size=1 --max-old-space-size=96 server.mjs
 * Env: PORT, UPSTREAM_URL, OTLP_URL, LOG_FILE, DATA_DIR (default: dirname of LOG_FILE), UV_THREADPOOL_SIZE=1.
 *
 * stdout carries only V8's --trace-gc lines (the GC log); the service's own diagnostics go to stderr.
 * GC_CLOCK_FILE (default: gc-clock.json beside LOG_FILE) gets where the --trace-gc clock is, measured at
 * start (see measureGcClock).
 * MEASURED_FILE (default: measured.jsonl beside LOG_FILE) gets one line per finished request with what the
 * service measured (the contract in ../scenario.d.ts; how, below at "internal measurement").
 */
import { createRequire } from 'node:module';
import { randomBytes, pbkdf2, pbkdf2Sync } from 'node:crypto';
import {
  closeSync,
  fstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  readdirSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { open } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { PerformanceObserver, performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { trace } from '@opentelemetry/api';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { AlwaysOnSampler, BatchSpanProcessor } from '@opentelemetry/sdk-trace-node';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { ExpressInstrumentation } from '@opentelemetry/instrumentation-express';
import { PinoInstrumentation } from '@opentelemetry/instrumentation-pino';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';

const PORT = Number(process.env.PORT ?? 8080);
const UPSTREAM_URL = (process.env.UPSTREAM_URL ?? 'http://127.0.0.1:8081').replace(/\/$/, '');
const OTLP_URL = (process.env.OTLP_URL ?? 'http://127.0.0.1:4318').replace(/\/$/, '');
const LOG_FILE = resolve(process.env.LOG_FILE ?? 'app.log');
const DATA_DIR = resolve(process.env.DATA_DIR ?? dirname(LOG_FILE));
const MEASURED_FILE = resolve(process.env.MEASURED_FILE ?? join(dirname(LOG_FILE), 'measured.jsonl'));
const GC_CLOCK_FILE = resolve(process.env.GC_CLOCK_FILE ?? join(dirname(LOG_FILE), 'gc-clock.json'));

/**
 * All JavaScript (so every span this process starts) runs on the main thread, whose OS tid is the pid.
 * @type {import('@opentelemetry/sdk-trace-node').SpanProcessor}
 */
const mainThreadAttributes = {
  onStart(span) {
    span.setAttribute('thread.id', process.pid);
    span.setAttribute('thread.name', 'main');
  },
  onEnd() {},
  forceFlush: () => Promise.resolve(),
  shutdown: () => Promise.resolve(),
};

const sdk = new NodeSDK({
  resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: 'scenario-node' }),
  // Record every request, even one whose traceparent says "not sampled": the ground truth covers them all.
  sampler: new AlwaysOnSampler(),
  spanProcessors: [
    mainThreadAttributes,
    new BatchSpanProcessor(new OTLPTraceExporter({ url: `${OTLP_URL}/v1/traces` }), {
      scheduledDelayMillis: 200,
      maxExportBatchSize: 256,
      maxQueueSize: 8192,
    }),
  ],
  // Traces only: no metric reader and no log exporter (they would default to OTLP on localhost:4318).
  metricReaders: [],
  logRecordProcessors: [],
  instrumentations: [
    new HttpInstrumentation({
      ignoreIncomingRequestHook: (req) => (req.url ?? '').startsWith('/healthz'),
      // A load generator may stamp when it sent the request (X-Request-Start: t=<epoch µs>, the APM
      // queue-time convention): time spent before the event loop reads the request is outside the span.
      headersToSpanAttributes: { server: { requestHeaders: ['x-request-start'] } },
    }),
    new ExpressInstrumentation(),
    // trace_id/span_id go into app.log lines; the logs are not also sent as OTLP log records.
    new PinoInstrumentation({ disableLogSending: true }),
  ],
});
sdk.start();

// Load the instrumented modules only now, through require, so the instrumentations' require hooks patch them.
const require = createRequire(import.meta.url);
/** @type {typeof import('node:http')} */
const http = require('node:http');
/** @type {typeof import('express')} */
const express = require('express');
/** @type {typeof import('pino')} */
const pino = require('pino');

const logDestination = pino.destination({ dest: LOG_FILE, sync: true, mkdir: true });
const log = pino({ base: { pid: process.pid, service: 'scenario-node' } }, logDestination);
mkdirSync(DATA_DIR, { recursive: true });

// ---- planted causes -------------------------------------------------------------------------------------

/** Iterations that make one crypto.pbkdf2 take about `targetMs` on this machine. @param {number} targetMs */
function calibratePbkdf2(targetMs) {
  const probe = 20_000;
  let best = Infinity;
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    pbkdf2Sync('calibrate', 'salt', probe, 64, 'sha512');
    best = Math.min(best, performance.now() - t0);
  }
  return Math.max(1000, Math.round((probe * targetMs) / Math.max(best, 0.01)));
}
const PBKDF2_ITERATIONS = Number(process.env.PBKDF2_ITERATIONS ?? calibratePbkdf2(100));
const PBKDF2_SALT = randomBytes(16);

/** @param {string} password @param {number} times @returns {Promise<Buffer>} on a libuv threadpool worker */
function hashPassword(password, times) {
  return new Promise((ok, fail) =>
    pbkdf2(
      password,
      PBKDF2_SALT,
      Math.max(1, Math.round(PBKDF2_ITERATIONS * times)),
      64,
      'sha512',
      (err, key) => (err ? fail(err) : ok(key)),
    ),
  );
}

const RECORD_BYTES = 8 * 1024;
const RECORDS = 256; // 2 MB per request, 256 fsyncs
const RECORD = Buffer.alloc(RECORD_BYTES, 'threadreel file scenario\n');
let journalSeq = 0;
/**
 * Appends ~2 MB as 256 records of 8 KB, each made durable with fsync (a write-ahead-journal pattern). Every
 * fs call runs on a libuv threadpool worker; the main thread waits in epoll.
 */
async function writeJournal() {
  const file = join(DATA_DIR, `journal-${journalSeq++ % 4}.bin`);
  const fh = await open(file, 'w');
  try {
    for (let i = 0; i < RECORDS; i++) {
      await fh.write(RECORD, 0, RECORD_BYTES, i * RECORD_BYTES);
      await fh.sync();
    }
  } finally {
    await fh.close();
  }
  return file;
}

/** @param {number} ms @returns {Promise<number>} status of GET {UPSTREAM_URL}/slow?ms= */
function callUpstream(ms) {
  return new Promise((ok, fail) => {
    const req = http.get(`${UPSTREAM_URL}/slow?ms=${ms}`, (res) => {
      res.resume();
      res.on('end', () => ok(res.statusCode ?? 0));
      res.on('error', fail);
    });
    req.on('error', fail);
    req.setTimeout(10_000, () => req.destroy(new Error('upstream timeout')));
  });
}

/**
 * Allocation churn: short-lived garbage (scavenges in the 1 MB semi-space) and batches kept long enough
 * to be promoted, then dropped (old-space growth → mark-compacts).
 * @param {number} rounds
 */
function buildIndex(rounds) {
  const perRound = 50_000;
  /** @type {{ id: number; key: string; tags: number[] }[][]} */
  const kept = [];
  let checksum = 0;
  for (let r = 0; r < rounds; r++) {
    /** @type {{ id: number; key: string; tags: number[] }[]} */
    const batch = new Array(perRound);
    for (let i = 0; i < batch.length; i++) {
      batch[i] = { id: i, key: `k${r}:${i}`, tags: [i, r, i ^ r] };
    }
    kept.push(batch);
    if (kept.length > 2) kept.shift();
    checksum += batch.length;
  }
  return checksum;
}

/** Synchronous CPU work that blocks the event loop for `ms`. @param {number} ms */
function burnCpu(ms) {
  const end = performance.now() + ms;
  let x = 1;
  while (performance.now() < end) {
    for (let i = 0; i < 20_000; i++) x = (x * 31 + i) % 1_000_003;
  }
  return x;
}

// ---- internal measurement -------------------------------------------------------------------------------
//
// One line of MEASURED_FILE per finished request (../scenario.d.ts, MeasuredRequest). Everything is timed on
// process.hrtime (CLOCK_MONOTONIC) in bigint ns; epoch ns come from performance.timeOrigin (µs precision).
// All JavaScript runs on the main thread, so a request's "handler" is a few segments of synchronous work on it
// (the dispatch up to the first await, each continuation after one): the event loop is held by that request.
//   cpu         the main thread's CPU time (/proc/thread-self/schedstat, read with one pread per segment
//               boundary) over the request's segments, less the GC pauses inside them (a segment's CPU time
//               times the share of its wall time outside GC: a pause is timed in wall time only); plus, for
//               /pbkdf2, the libuv worker's CPU time (its schedstat) while it ran this request's job
//   pool-queue  from arrival to the handler's first segment, the time the loop was held by other requests'
//               segments (GC pauses excepted); plus, for /pbkdf2, the job's wait in the libuv queue (a pool of
//               one, FIFO: a job starts when the one before it completes)
//   gc          PerformanceObserver 'gc' pauses inside the request's segments or between arrival and its first
//               segment (the loop could not take the request)
//   net, file   the awaited upstream call; the awaited writes + fsyncs of /file (on the libuv pool)
// arrival is the load generator's send stamp (x-scenario-sent-ns, epoch ns; on loopback the kernel completes
// the connection then, while the loop may be busy), else the moment the loop read the request.

const hr = () => process.hrtime.bigint();
// performance.now() is process.hrtime since the time origin: the origin on both clocks.
const originHr = hr() - BigInt(Math.round(performance.now() * 1e6));
const originEpochNs = BigInt(Math.round(performance.timeOrigin * 1000)) * 1000n;
/** @param {bigint} h */
const epochOf = (h) => originEpochNs + (h - originHr);

const schedstatBuf = Buffer.alloc(256);
/** @param {string} path @returns {number | null} an fd kept open: pread at 0 re-reads the counters */
function openSchedstat(path) {
  try {
    return openSync(path, 'r');
  } catch {
    return null;
  }
}
/** CPU time (ns) the thread behind `fd` has run. @param {number | null} fd */
function runNs(fd) {
  if (fd === null) return 0n;
  const n = readSync(fd, schedstatBuf, 0, schedstatBuf.length, 0);
  return BigInt(schedstatBuf.toString('latin1', 0, n).split(' ')[0] ?? '0');
}
const mainCpuFd = openSchedstat('/proc/thread-self/schedstat');

/**
 * The libuv pool's worker (UV_THREADPOOL_SIZE=1; every thread's comm is `node`): the thread, other than the
 * main one, whose CPU time grows by most of a ~30 ms pbkdf2 job run on the pool.
 * @returns {Promise<number | null>}
 */
async function findPoolWorker() {
  const cpuOf = () =>
    new Map(
      readdirSync('/proc/self/task')
        .filter((t) => t !== String(process.pid))
        .map((t) => {
          const fd = openSchedstat(`/proc/self/task/${t}/schedstat`);
          const v = runNs(fd);
          if (fd !== null) closeSync(fd);
          return [t, v];
        }),
    );
  await hashPassword('start the pool', 0.05);
  const before = cpuOf();
  await hashPassword('find the pool worker', 0.3);
  let best = null;
  let most = 0n;
  for (const [t, v] of cpuOf()) {
    const grown = v - (before.get(t) ?? v);
    if (grown > most) [best, most] = [t, grown];
  }
  return best === null ? null : openSchedstat(`/proc/self/task/${best}/schedstat`);
}
const poolWorkerCpuFd = await findPoolWorker();

/**
 * @typedef {object} Measure
 * @property {string} traceId @property {string} spanId @property {string} route
 * @property {bigint} arrivalHr @property {bigint} startHr @property {bigint | null} endHr
 * @property {{ a: bigint, b: bigint, cpu: bigint }[]} held segments of synchronous work on the main thread
 * @property {bigint} net @property {bigint} file
 * @property {bigint} poolQueue @property {bigint} poolCpu
 */
/** @type {WeakMap<object, Measure>} */
const measures = new WeakMap();
/** Every request's segments (the loop held by it), for the pool-queue of the others. @type {{a: bigint, b: bigint, m: Measure}[]} */
const loopHeld = [];
/** GC pauses. @type {[bigint, bigint][]} */
const gcPauses = [];
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    const a = originHr + BigInt(Math.round(e.startTime * 1e6));
    gcPauses.push([a, a + BigInt(Math.round(e.duration * 1e6))]);
  }
}).observe({ entryTypes: ['gc'] });

/** Runs `fn` as a segment of `m`'s synchronous work. @template T @param {Measure | undefined} m @param {() => T} fn */
function held(m, fn) {
  if (!m) return fn();
  const a = hr();
  const cpu = runNs(mainCpuFd);
  try {
    return fn();
  } finally {
    const b = hr();
    m.held.push({ a, b, cpu: runNs(mainCpuFd) - cpu });
    loopHeld.push({ a, b, m });
  }
}

/** Awaits `fn`, charging the wait to `kind`. @template T @param {Measure | undefined} m @param {'net' | 'file'} kind @param {() => Promise<T>} fn */
async function waitFor(m, kind, fn) {
  const a = hr();
  try {
    return await fn();
  } finally {
    if (m) m[kind] += hr() - a;
  }
}

/** Jobs submitted to the pool of one by pooled(), oldest first. @type {{ submitHr: bigint, startHr: bigint | null, cpuAtStart: bigint }[]} */
const poolJobs = [];
/**
 * Awaits a job of the libuv pool of one (FIFO): it starts when submitted to an idle pool, else when the job
 * before it completes; the worker's CPU time from then to its completion is the job's.
 * @template T @param {Measure | undefined} m @param {() => Promise<T>} fn
 */
async function pooled(m, fn) {
  const job = { submitHr: hr(), startHr: /** @type {bigint | null} */ (null), cpuAtStart: 0n };
  if (poolJobs.length === 0) [job.startHr, job.cpuAtStart] = [job.submitHr, runNs(poolWorkerCpuFd)];
  poolJobs.push(job);
  try {
    return await fn();
  } finally {
    const doneHr = hr();
    const cpu = runNs(poolWorkerCpuFd);
    poolJobs.splice(poolJobs.indexOf(job), 1);
    const next = poolJobs.find((j) => j.startHr === null);
    if (next) [next.startHr, next.cpuAtStart] = [doneHr, cpu];
    if (m) {
      m.poolQueue += (job.startHr ?? doneHr) - job.submitHr;
      m.poolCpu += cpu - job.cpuAtStart;
    }
  }
}

/** Total length of the parts of `list` inside [a, b]. @param {readonly (readonly [bigint, bigint])[]} list @param {bigint} a @param {bigint} b */
function within(list, a, b) {
  let total = 0n;
  for (const [s, e] of list) {
    const lo = s > a ? s : a;
    const hi = e < b ? e : b;
    if (hi > lo) total += hi - lo;
  }
  return total;
}

/** @param {bigint} v */
const nonNegative = (v) => (v > 0n ? v : 0n);

/** @param {Measure} m @param {bigint} endHr */
function measuredLine(m, endHr) {
  const gc = gcPauses.filter(([s, e]) => e > m.arrivalHr && s < endHr);
  let ownGc = 0n;
  let cpu = 0n;
  for (const { a, b, cpu: segmentCpu } of m.held) {
    const paused = within(gc, a, b);
    ownGc += paused;
    if (b > a) cpu += (segmentCpu * nonNegative(b - a - paused)) / (b - a);
  }
  const gcWaiting = within(gc, m.arrivalHr, m.startHr);
  let queued = 0n;
  for (const h of loopHeld) {
    if (h.m === m || h.b <= m.arrivalHr || h.a >= m.startHr) continue;
    const a = h.a > m.arrivalHr ? h.a : m.arrivalHr;
    const b = h.b < m.startHr ? h.b : m.startHr;
    queued += b - a - within(gc, a, b);
  }
  return {
    traceId: m.traceId,
    spanId: m.spanId,
    route: m.route,
    tid: process.pid,
    thread: 'main',
    arrivalNs: String(epochOf(m.arrivalHr)),
    handlerStartNs: String(epochOf(m.startHr)),
    handlerEndNs: String(epochOf(endHr)),
    components: {
      'pool-queue': String(queued + m.poolQueue),
      lock: '0',
      gc: String(ownGc + gcWaiting),
      net: String(m.net),
      file: String(m.file),
      cpu: String(cpu + m.poolCpu),
    },
  };
}

const measuredFd = openSync(MEASURED_FILE, 'a');
/** Finished requests waiting for their GC entries (delivered asynchronously). @type {{ m: Measure, endHr: bigint }[]} */
let finished = [];
/** Writes the lines of requests finished more than `settleMs` ago, and forgets old segments and pauses. */
function flushMeasured(settleMs = 300) {
  const cutoff = hr() - BigInt(settleMs) * 1_000_000n;
  const ready = finished.filter((f) => f.endHr <= cutoff);
  if (ready.length === 0) return;
  finished = finished.filter((f) => f.endHr > cutoff);
  writeSync(measuredFd, ready.map((f) => JSON.stringify(measuredLine(f.m, f.endHr)) + '\n').join(''));
  const keepFrom = hr() - 30_000_000_000n;
  while (loopHeld.length > 0 && (loopHeld[0]?.b ?? 0n) < keepFrom) loopHeld.shift();
  while (gcPauses.length > 0 && (gcPauses[0]?.[1] ?? 0n) < keepFrom) gcPauses.shift();
}
setInterval(flushMeasured, 200).unref();

/**
 * The request listener: opens the request's Measure (inside the HTTP instrumentation's context, so the
 * active span is the SERVER span) and runs the app as its first segment.
 * @param {import('node:http').IncomingMessage} req @param {import('node:http').ServerResponse} res
 */
function measuredApp(req, res) {
  const span = trace.getActiveSpan();
  if (!span || (req.url ?? '').startsWith('/healthz')) return app(req, res);
  const startHr = hr();
  const sent = String(req.headers['x-scenario-sent-ns'] ?? '');
  const sentHr = /^\d+$/.test(sent) ? originHr + (BigInt(sent) - originEpochNs) : null;
  const { traceId, spanId } = span.spanContext();
  /** @type {Measure} */
  const m = {
    traceId,
    spanId,
    route: new URL(req.url ?? '/', 'http://x').pathname,
    arrivalHr: sentHr !== null && sentHr < startHr ? sentHr : startHr,
    startHr,
    endHr: null,
    held: [],
    net: 0n,
    file: 0n,
    poolQueue: 0n,
    poolCpu: 0n,
  };
  measures.set(req, m);
  res.on('finish', () => finished.push({ m, endHr: hr() }));
  held(m, () => app(req, res));
}

// ---- routes ---------------------------------------------------------------------------------------------

const app = express();
app.disable('x-powered-by');

app.get('/healthz', (_req, res) => {
  res.type('text').send('ok');
});

app.use((req, res, next) => {
  const t0 = performance.now();
  log.info({ route: req.path, url: req.originalUrl }, 'request start');
  res.on('finish', () => {
    log.info(
      { route: req.path, status: res.statusCode, ms: +(performance.now() - t0).toFixed(1) },
      'request end',
    );
  });
  next();
});

app.get('/fast', (_req, res) => {
  res.json({ ok: true });
});

app.get('/pbkdf2', async (req, res) => {
  const m = measures.get(req);
  const t0 = performance.now();
  // ?x=N: one hash of N times the calibrated iterations (holds a pool worker N × ~100 ms).
  const x = Math.min(20, Math.max(1, Math.round(Number(req.query.x ?? 1)) || 1));
  const key = await pooled(m, () => hashPassword('correct horse battery staple', x));
  held(m, () => {
    log.info({ iterations: PBKDF2_ITERATIONS, ms: +(performance.now() - t0).toFixed(1) }, 'password hashed');
    res.json({ key: key.toString('hex').slice(0, 16) });
  });
});

app.get('/file', async (req, res) => {
  const m = measures.get(req);
  const t0 = performance.now();
  const file = await waitFor(m, 'file', writeJournal);
  const bytes = RECORDS * RECORD_BYTES;
  held(m, () => {
    log.info({ file, bytes, ms: +(performance.now() - t0).toFixed(1) }, 'journal written and synced');
    res.json({ bytes });
  });
});

app.get('/upstream', async (req, res) => {
  const m = measures.get(req);
  const ms = Math.min(10_000, Math.max(0, Number(req.query.ms ?? 150) || 0));
  const t0 = performance.now();
  const status = await waitFor(m, 'net', () => callUpstream(ms));
  held(m, () => {
    log.info({ upstreamStatus: status, ms: +(performance.now() - t0).toFixed(1) }, 'upstream answered');
    res.status(status === 200 ? 200 : 502).json({ upstreamStatus: status });
  });
});

app.get('/alloc', (req, res) => {
  const rounds = Math.min(50, Math.max(1, Number(req.query.rounds ?? 6) || 6));
  const t0 = performance.now();
  const n = buildIndex(rounds);
  log.info({ objects: n, ms: +(performance.now() - t0).toFixed(1) }, 'index built');
  res.json({ objects: n });
});

app.get('/cpu', (req, res) => {
  const ms = Math.min(5_000, Math.max(1, Number(req.query.ms ?? 150) || 150));
  const x = burnCpu(ms);
  log.info({ ms }, 'checksum computed');
  res.json({ x });
});

app.use(
  /**
   * @param {unknown} err @param {import('express').Request} _req @param {import('express').Response} res
   * @param {import('express').NextFunction} _next
   */
  (err, _req, res, _next) => {
    log.error({ err }, 'request failed');
    res.status(500).json({ error: String(err) });
  },
);

// ---- the --trace-gc clock ----------------------------------------------------------------------------------
//
// V8 stamps a --trace-gc line with `time_millis_since_init()` printed as "%8.0f ms" (rounded to the whole ms)
// when the collection ends: ms on the platform's monotonic clock (uv_hrtime, the clock of process.hrtime)
// since the isolate was initialised, an instant no API reports (nodeTiming.v8Start is V8's platform init,
// earlier by a few ms idle, ~30 ms on a loaded machine). So it is measured: a few scavenges forced with the
// `gc` extension (reason "testing"), each bracketed by process.hrtime reads [a, b], are matched in order to
// their lines in this process's stdout (the GC log, written as it goes); a stamp N says the print instant,
// inside [a, b], is within ±0.5 ms of init + N, so init ∈ [a − N − 0.5 ms, b − N + 0.5 ms]. The rounds are
// spread over sub-ms phases and intersected: the result is exact to about the bracket of a scavenge.

/** @param {bigint} ms */
const msNs = (ms) => ms * 1_000_000n;

/**
 * Measures where the --trace-gc clock's 0 is on process.hrtime, when stdout is a file it can read back.
 * @param {number} rounds
 * @returns {Record<string, unknown>} the result (or why there is none), as logged
 */
function measureGcClock(rounds) {
  try {
    if (!fstatSync(1).isFile())
      return { error: 'stdout is not a file: the --trace-gc lines cannot be read back' };
    const before = readFileSync('/proc/self/fd/1').length;
    setFlagsFromString('--expose-gc');
    const gc = /** @type {(o?: { type: 'minor' | 'major' }) => void} */ (runInNewContext('gc'));
    /** @type {[bigint, bigint][]} */
    const brackets = [];
    for (let i = 0; i < rounds; i++) {
      const a = hr();
      gc({ type: 'minor' });
      brackets.push([a, hr()]);
      // A different sub-ms phase for the next one: spin 0.2 … 1.2 ms (golden-ratio steps cover the ms evenly).
      const until = hr() + 200_000n + BigInt(Math.floor(((i * 0.618034) % 1) * 1_000_000));
      while (hr() < until);
    }
    const lines = readFileSync('/proc/self/fd/1', 'latin1')
      .slice(before)
      .split('\n')
      .filter((l) => /\bScavenge\b.*\btesting\b/.test(l));
    const stamps = lines.map((l) => /\]\s+(\d+) ms: /.exec(l)?.[1]);
    if (stamps.length !== rounds || stamps.some((n) => n === undefined))
      return { error: `${rounds} forced scavenges but ${stamps.length} "testing" Scavenge lines` };
    let lo = -1n << 62n;
    let hi = 1n << 62n;
    brackets.forEach(([a, b], i) => {
      const n = msNs(BigInt(stamps[i] ?? '0'));
      if (a - n - 500_000n > lo) lo = a - n - 500_000n;
      if (b - n + 500_000n < hi) hi = b - n + 500_000n;
    });
    if (lo > hi) return { error: `no instant fits every stamp (lo ${lo} > hi ${hi})` };
    const zero = lo + (hi - lo) / 2n;
    return {
      traceGcZeroMonotonicNs: String(zero),
      traceGcZeroEpochNs: String(epochOf(zero)),
      uncertaintyNs: String((hi - lo + 1n) / 2n),
      loMonotonicNs: String(lo),
      hiMonotonicNs: String(hi),
      rounds,
      widestBracketNs: String(brackets.reduce((w, [a, b]) => (b - a > w ? b - a : w), 0n)),
      nodeTimingV8StartEpochNs: String(
        epochOf(originHr + BigInt(Math.round(performance.nodeTiming.v8Start * 1e6))),
      ),
    };
  } catch (err) {
    return { error: String(err) };
  }
}

const gcClock = measureGcClock(60);
writeFileSync(GC_CLOCK_FILE, JSON.stringify(gcClock) + '\n');
process.stderr.write(`trace-gc clock: ${JSON.stringify(gcClock)}\n`);

// ---- lifecycle ------------------------------------------------------------------------------------------

const server = http.createServer(measuredApp);
server.keepAliveTimeout = 5_000;
server.listen(PORT, '127.0.0.1', () => {
  log.info(
    {
      port: PORT,
      uvThreadpoolSize: process.env.UV_THREADPOOL_SIZE ?? '4',
      pbkdf2Iterations: PBKDF2_ITERATIONS,
    },
    'listening',
  );
  process.stderr.write(`scenario-node listening on 127.0.0.1:${PORT} pid ${process.pid}\n`);
});

let stopping = false;
async function shutdown() {
  if (stopping) return;
  stopping = true;
  log.info('shutting down');
  const closed = new Promise((ok) => server.close(() => ok(undefined)));
  server.closeIdleConnections();
  const force = setTimeout(() => server.closeAllConnections(), 2_000);
  await closed;
  clearTimeout(force);
  try {
    await sdk.shutdown(); // flushes the BatchSpanProcessor
  } catch (err) {
    process.stderr.write(`otel shutdown: ${String(err)}\n`);
  }
  log.info('stopped');
  logDestination.flushSync();
  flushMeasured(0);
  closeSync(measuredFd);
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown());
process.on('SIGINT', () => void shutdown());
