// @ts-check
/**
 * threadreel's Node.js scenario service: an Express app with OpenTelemetry tracing (OTLP/HTTP JSON),
 * pino logging and one route per planted cause. See README.md beside this file.
 *
 * Run: node --perf-basic-prof --trace-gc --max-semi-space-size=1 --max-old-space-size=96 server.mjs
 * Env: PORT, UPSTREAM_URL, OTLP_URL, LOG_FILE, DATA_DIR (default: dirname of LOG_FILE), UV_THREADPOOL_SIZE=1.
 *
 * stdout carries only V8's --trace-gc lines (the GC log); the service's own diagnostics go to stderr.
 */
import { createRequire } from 'node:module';
import { randomBytes, pbkdf2, pbkdf2Sync } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
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
    pbkdf2(password, PBKDF2_SALT, PBKDF2_ITERATIONS * times, 64, 'sha512', (err, key) =>
      err ? fail(err) : ok(key),
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
  const t0 = performance.now();
  // ?x=N: one hash of N times the calibrated iterations (holds a pool worker N × ~100 ms).
  const x = Math.min(20, Math.max(1, Math.round(Number(req.query.x ?? 1)) || 1));
  const key = await hashPassword('correct horse battery staple', x);
  log.info({ iterations: PBKDF2_ITERATIONS, ms: +(performance.now() - t0).toFixed(1) }, 'password hashed');
  res.json({ key: key.toString('hex').slice(0, 16) });
});

app.get('/file', async (_req, res) => {
  const t0 = performance.now();
  const file = await writeJournal();
  const bytes = RECORDS * RECORD_BYTES;
  log.info({ file, bytes, ms: +(performance.now() - t0).toFixed(1) }, 'journal written and synced');
  res.json({ bytes });
});

app.get('/upstream', async (req, res) => {
  const ms = Math.min(10_000, Math.max(0, Number(req.query.ms ?? 150) || 0));
  const t0 = performance.now();
  const status = await callUpstream(ms);
  log.info({ upstreamStatus: status, ms: +(performance.now() - t0).toFixed(1) }, 'upstream answered');
  res.status(status === 200 ? 200 : 502).json({ upstreamStatus: status });
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

// ---- lifecycle ------------------------------------------------------------------------------------------

const server = http.createServer(app);
server.keepAliveTimeout = 5_000;
server.listen(PORT, '127.0.0.1', () => {
  const t = performance.nodeTiming;
  log.info(
    {
      port: PORT,
      uvThreadpoolSize: process.env.UV_THREADPOOL_SIZE ?? '4',
      pbkdf2Iterations: PBKDF2_ITERATIONS,
      // --trace-gc stamps "N ms" since V8's isolate started: wall ms ≈ timeOrigin + v8StartMs + N (a few ms early).
      gcClock: { timeOrigin: performance.timeOrigin, v8StartMs: t.v8Start, environmentMs: t.environment },
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
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown());
process.on('SIGINT', () => void shutdown());
