// @ts-check
/**
 * The Node.js scenario: an Express + OpenTelemetry + pino service (server.mjs) with one route per planted
 * cause. See README.md beside this file.
 */
// Type-only: '../scenario.js' resolves to ../scenario.d.ts (TypeScript rejects a '.d.ts' specifier, TS2846).
/** @import { Scenario, LoadStep } from '../scenario.js' */
/**
 * A step with companions (scripts/scenario.mjs): ~20 ms after each main request starts, `with.count`
 * requests of `with.route` are sent at once; the next main request waits for them.
 * A step with `keepCount` keeps its count in short runs (its count is what fills a pool).
 * @typedef {LoadStep & { with?: LoadStep, keepCount?: boolean }} NodeLoadStep
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { createRequire } from 'node:module';
import { request } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const SERVER = join(here, 'server.mjs');
export const NODE_FLAGS = [
  '--perf-basic-prof',
  '--trace-gc',
  '--max-semi-space-size=1',
  '--max-old-space-size=96',
];
const DEPENDENCIES = [
  'express',
  'pino',
  '@opentelemetry/api',
  '@opentelemetry/sdk-node',
  '@opentelemetry/sdk-trace-node',
  '@opentelemetry/exporter-trace-otlp-http',
  '@opentelemetry/instrumentation-http',
  '@opentelemetry/instrumentation-express',
  '@opentelemetry/instrumentation-pino',
  '@opentelemetry/resources',
  '@opentelemetry/semantic-conventions',
];

/** @param {string} url @returns {Promise<number>} status, or 0 when it does not answer */
function probe(url) {
  return new Promise((ok) => {
    const req = request(url, { timeout: 500 }, (res) => {
      res.resume();
      ok(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => ok(0));
    req.end();
  });
}

/** @param {number} ms */
const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));

/** @type {Scenario} */
const scenario = {
  name: 'node',

  prepare(ctx) {
    // Nothing to build: check that the service's dependencies resolve from here.
    const require = createRequire(SERVER);
    for (const dep of DEPENDENCIES) {
      try {
        require.resolve(dep);
      } catch {
        return Promise.reject(new Error(`node scenario: cannot resolve ${dep}; run npm ci at the repo root`));
      }
    }
    ctx.log(`node scenario: ${DEPENDENCIES.length} dependencies resolve`);
    return Promise.resolve();
  },

  async start(ctx) {
    mkdirSync(ctx.workDir, { recursive: true });
    const appLog = join(ctx.workDir, 'app.log');
    const gcLog = join(ctx.workDir, 'trace-gc.log');
    const stderrLog = join(ctx.workDir, 'server.stderr.log');
    const baseUrl = `http://127.0.0.1:${ctx.port}`;
    const out = openSync(gcLog, 'w');
    const err = openSync(stderrLog, 'w');
    const child = spawn(process.execPath, [...NODE_FLAGS, SERVER], {
      cwd: ctx.workDir,
      env: {
        ...process.env,
        PORT: String(ctx.port),
        UPSTREAM_URL: ctx.upstreamUrl,
        OTLP_URL: ctx.otlpUrl,
        LOG_FILE: appLog,
        MEASURED_FILE: join(ctx.workDir, 'measured.jsonl'),
        GC_CLOCK_FILE: join(ctx.workDir, 'gc-clock.json'),
        DATA_DIR: join(ctx.workDir, 'data'),
        UV_THREADPOOL_SIZE: '1',
        OTEL_METRICS_EXPORTER: 'none',
        OTEL_LOGS_EXPORTER: 'none',
        NODE_OPTIONS: '',
      },
      stdio: ['ignore', out, err],
    });
    closeSync(out);
    closeSync(err);
    const pid = child.pid;
    if (pid === undefined) throw new Error('node scenario: spawn failed');

    /** @type {Promise<void>} */
    const exited = new Promise((ok) => child.once('exit', () => ok()));
    /** @type {number | null} */
    let exitCode = null;
    child.once('exit', (code, signal) => {
      exitCode = code ?? (signal ? 128 : 1);
    });

    const deadline = Date.now() + 20_000;
    while ((await probe(`${baseUrl}/healthz`)) !== 200) {
      if (exitCode !== null) throw new Error(`node scenario: server exited (${exitCode}); see ${stderrLog}`);
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`node scenario: server did not answer on ${baseUrl} within 20 s; see ${stderrLog}`);
      }
      await sleep(100);
    }
    ctx.log(`node scenario: pid ${pid} on ${baseUrl}; perf map /tmp/perf-${pid}.map`);

    return {
      pid,
      baseUrl,
      files: { logs: [appLog], spans: [ctx.otlpFile], gcLog },
      gcClockTruth: join(ctx.workDir, 'gc-clock.json'),
      jfr: false,
      async stop() {
        if (exitCode !== null) return;
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
        await exited;
        clearTimeout(timer);
        if (exitCode !== 0) ctx.log(`node scenario: server exited with ${exitCode}; see ${stderrLog}`);
      },
    };
  },

  plan(seconds) {
    /** @type {NodeLoadStep[]} */
    const round = [
      { route: '/fast', cause: 'none', count: 4, concurrency: 1 },
      // One long hash takes the only worker of the libuv pool of 1 (~300 ms of pbkdf2: cpu, with
      // the other core left to the event loop and the recorder); its 3 companions arrive 20 ms
      // later and queue behind it, then behind each other (pool-queue).
      {
        route: '/pbkdf2?x=3',
        cause: 'cpu',
        // Candidates default to the planted cause and cpu; the long hash may also have queued.
        candidates: ['cpu', 'pool-queue'],
        count: 1,
        concurrency: 1,
        keepCount: true,
        with: { route: '/pbkdf2', cause: 'pool-queue', count: 3, concurrency: 1 },
      },
      { route: '/file', cause: 'file', count: 3, concurrency: 1 },
      { route: '/upstream?ms=150', cause: 'net', count: 4, concurrency: 2 },
      { route: '/alloc', cause: 'gc', count: 3, concurrency: 1 },
      {
        route: '/cpu',
        cause: 'cpu',
        count: 3,
        concurrency: 1,
        with: { route: '/fast', cause: 'pool-queue', count: 2, concurrency: 2 },
      },
    ];
    // A round takes ~2 s unrecorded but ~7 s under `threadreel record` (strace stops the process at each
    // of the many syscalls of /file, /pbkdf2 and /alloc, and perf and strace share the 2 cores): size for
    // that, so the load stays within the recording (`--duration seconds + 30`).
    const ROUND_SECONDS = 7;
    const rounds = Math.max(1, Math.round(seconds / ROUND_SECONDS));
    // Short runs (the committed fixtures) shrink each step; every cause still appears.
    const scale = seconds < 3 ? 1 / 3 : seconds < 4 ? 0.5 : 1;
    const least = seconds < 3 ? 1 : 2;
    const sized = round.map(({ keepCount, ...s }) => ({
      ...structuredClone(s),
      count: keepCount ? s.count : Math.max(least, Math.ceil(s.count * scale)),
    }));
    return Array.from({ length: rounds }, () => sized.map((s) => structuredClone(s))).flat();
  },
};

export default scenario;
