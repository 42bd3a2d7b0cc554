// @ts-check
// The Python scenario: a CPython (stdlib only) HTTP service, server.py, with an `acceptor`
// thread feeding a ThreadPoolExecutor of 3 workers and one planted cause per route.
// See README.md for the routes, the files it writes and what CPython's GIL means for them.
import { spawn, execFile } from 'node:child_process';
import { request } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** @typedef {import('../scenario.d.ts').Scenario} Scenario */
/** @typedef {import('../scenario.d.ts').ScenarioContext} ScenarioContext */
/** @typedef {import('../scenario.d.ts').RunningService} RunningService */
/** @typedef {import('../scenario.d.ts').LoadStep} LoadStep */
/** A step with companion requests started ~20 ms after each main request (scripts/scenario.mjs). */
/** @typedef {LoadStep & { with?: LoadStep }} Step */

const here = path.dirname(fileURLToPath(import.meta.url));
const SERVER = path.join(here, 'server.py');
const PYTHON = process.env.PYTHON ?? 'python3';
const MIN_VERSION = [3, 8];
const START_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 15_000;

/** @returns {Promise<number[]>} major, minor, micro of the interpreter */
function pythonVersion() {
  return new Promise((resolve, reject) => {
    execFile(
      PYTHON,
      ['-c', 'import sys; print(".".join(map(str, sys.version_info[:3])))'],
      { timeout: 10_000 },
      (err, stdout) => {
        if (err)
          reject(
            new Error(`${PYTHON} is not runnable (${err.message}); the python scenario needs it on PATH`),
          );
        else resolve(stdout.trim().split('.').map(Number));
      },
    );
  });
}

/** GET url → status code, or 0 when it does not answer. @param {string} url */
function probe(url) {
  return new Promise((resolve) => {
    const req = request(url, { timeout: 1000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', () => resolve(0));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

const sleep = (/** @type {number} */ ms) => new Promise((r) => setTimeout(r, ms));

/**
 * One block of load, about 1.8 s without a recorder; plan() repeats it to fill `seconds`.
 * @returns {Step[]}
 */
function block() {
  return [
    // One /lock takes the lock and works ~100 ms of CPU inside it (its own time is cpu); two
    // /lock?work=5 arriving 20 ms later wait ~85-90 ms for that lock, then work 5 ms (lock).
    // Candidates (what the measurement chooses among) default to the planted cause and cpu; the holder may
    // also have waited for the lock.
    {
      route: '/lock',
      cause: 'cpu',
      candidates: ['cpu', 'lock'],
      count: 2,
      concurrency: 1,
      with: { route: '/lock?work=5', cause: 'lock', count: 2, concurrency: 1 },
    },
    { route: '/file', cause: 'file', count: 2, concurrency: 1 },
    { route: '/upstream?ms=150', cause: 'net', count: 2, concurrency: 1 },
    { route: '/cpu', cause: 'cpu', count: 2, concurrency: 1 },
    { route: '/alloc', cause: 'gc', count: 2, concurrency: 1 },
    // All 3 workers blocked ~150 ms on the upstream; a /fast arriving 20 ms later waits ~130 ms
    // for a worker (pool-queue) and then takes well under a millisecond.
    {
      route: '/upstream?ms=150',
      cause: 'net',
      count: 3,
      concurrency: 3,
      with: { route: '/fast', cause: 'pool-queue', count: 1, concurrency: 1 },
    },
  ];
}

/** @type {Scenario} */
const scenario = {
  name: 'python',

  async prepare(ctx) {
    const version = await pythonVersion();
    const [major = 0, minor = 0] = version;
    if (major < (MIN_VERSION[0] ?? 3) || (major === MIN_VERSION[0] && minor < (MIN_VERSION[1] ?? 8))) {
      throw new Error(
        `${PYTHON} is ${version.join('.')}; the python scenario needs ${MIN_VERSION.join('.')} or newer`,
      );
    }
    ctx.log(`${PYTHON} ${version.join('.')}${major === 3 && minor >= 12 ? ' (perf trampolines on)' : ''}`);
  },

  async start(ctx) {
    const baseUrl = `http://127.0.0.1:${ctx.port}`;
    const child = spawn(PYTHON, [SERVER], {
      cwd: ctx.workDir,
      env: {
        ...process.env,
        HOST: '127.0.0.1',
        PORT: String(ctx.port),
        UPSTREAM_URL: ctx.upstreamUrl,
        WORK_DIR: ctx.workDir,
        PYTHONUNBUFFERED: '1',
        // GIL hand-over after 1 ms instead of CPython's 5 ms: with 5 ms, under strace, the threads
        // woken while a /lock holder spins queue so long for the GIL that it rivals the lock wait.
        SWITCH_INTERVAL_MS: process.env.SWITCH_INTERVAL_MS ?? '1',
        // Python ≥ 3.12 writes /tmp/perf-<pid>.map so perf shows Python functions; 3.11 ignores it.
        PYTHONPERFSUPPORT: '1',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const pid = child.pid;
    if (pid === undefined) throw new Error(`could not start ${PYTHON} ${SERVER}`);
    let output = '';
    const keep = (/** @type {Buffer} */ d) => {
      const text = d.toString();
      output = (output + text).slice(-4000);
      for (const line of text.split('\n')) if (line.trim()) ctx.log(`server.py: ${line}`);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    /** @type {Promise<void>} */
    const exited = new Promise((resolve) => child.once('exit', () => resolve()));
    const hasExited = () => child.exitCode !== null || child.signalCode !== null;

    const deadline = Date.now() + START_TIMEOUT_MS;
    while ((await probe(`${baseUrl}/health`)) !== 200) {
      if (hasExited())
        throw new Error(`server.py exited (${child.exitCode ?? child.signalCode}):\n${output}`);
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`server.py did not answer on ${baseUrl} within ${START_TIMEOUT_MS} ms:\n${output}`);
      }
      await sleep(100);
    }

    return {
      pid,
      baseUrl,
      files: {
        logs: [path.join(ctx.workDir, 'app.log')],
        spans: [path.join(ctx.workDir, 'spans.otlp.jsonl')],
        gcLog: path.join(ctx.workDir, 'gc.jsonl'),
      },
      jfr: false,
      async stop() {
        if (hasExited()) return;
        child.kill('SIGTERM');
        const timedOut = await Promise.race([
          exited.then(() => false),
          sleep(STOP_TIMEOUT_MS).then(() => true),
        ]);
        if (timedOut) {
          ctx.log(`server.py did not exit ${STOP_TIMEOUT_MS} ms after SIGTERM; killing it`);
          child.kill('SIGKILL');
          await exited;
        } else if (child.exitCode !== 0) {
          ctx.log(`server.py exited with ${child.exitCode ?? child.signalCode}`);
        }
      },
    };
  },

  plan(seconds) {
    const blocks = Math.max(1, Math.round(seconds / 2));
    /** @type {Step[]} */
    const steps = [];
    for (let i = 0; i < blocks; i++) steps.push(...block());
    return steps;
  },
};

export default scenario;
