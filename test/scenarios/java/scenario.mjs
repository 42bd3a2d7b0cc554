// @ts-check
/**
 * The Java test service: a real JVM (JDK 17, no third-party libraries) whose routes plant known
 * causes of latency. See README.md in this folder.
 */
// Type-only: '../scenario.js' resolves to ../scenario.d.ts (TypeScript rejects a '.d.ts' specifier, TS2846).
/** @import { Scenario, ScenarioContext, RunningService, LoadStep, PlantedCause } from '../scenario.js' */
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, openSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

const HERE = fileURLToPath(new URL('.', import.meta.url));
const SRC = join(HERE, 'src');
const BUILD = join(HERE, 'build');
/** Compiled classes, cached across runs (gitignored); rebuilt when a source or javac changes. */
export const CLASSES = join(BUILD, 'classes');
const MAIN_CLASS = 'com.threadreel.scenario.Server';
const STAMP = '.stamp';

/** Worker threads of the service's fixed pool (`http-worker-1` … `http-worker-N`). */
export const POOL_SIZE = 4;

/** Cheap variants of every route, requested (without telemetry) by start() before it resolves. */
const WARMUP_ROUTES = [
  '/fast',
  '/fast?ms=1',
  '/cpu?ms=5',
  '/lock?hold=5',
  '/file?mb=1&chunk=256',
  '/upstream?ms=1',
  '/alloc?rows=20&live=1',
];

/** Rounds of the load's own routes a plain capture's service serves before it is recorded. */
const PLAIN_WARMUP_ROUNDS = 3;

/** @param {string} tool */
function jdkTool(tool) {
  const home = process.env.JAVA_HOME;
  return home ? join(home, 'bin', tool) : tool;
}

/**
 * @param {string} dir
 * @returns {Promise<string[]>} absolute paths of the .java files under dir, sorted
 */
async function javaSources(dir) {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((e) => e.isFile() && e.name.endsWith('.java'))
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

/**
 * JVM options: a small fixed G1 heap so /alloc causes pauses; the GC log with the `tid` and
 * `uptime` decorators (safepoint lines too); frame pointers so perf can walk JIT-compiled stacks;
 * `/tmp/perf-<pid>.map` written at exit so perf can name JIT frames; TCP_NODELAY.
 *
 * `plain` (a plain-tools capture): the GC log without the wall-clock `time` decorator (`uptime`, seconds
 * since the JVM started, ms resolution, is its only clock), and a second output `gc-clock.log`, not to be
 * uploaded, whose `gc+init` lines at startup carry `timenanos` (CLOCK_MONOTONIC) and `uptimenanos` read
 * together: where uptime 0 is on the monotonic clock, to the ns. No JFR.
 * @param {string} workDir
 * @param {{ plain?: boolean }} [options]
 */
export function jvmOptions(workDir, options = {}) {
  return [
    '-Xms64m',
    '-Xmx64m',
    '-XX:+UseG1GC',
    `-Xlog:gc*,safepoint:file=${join(workDir, 'gc.log')}:${options.plain ? '' : 'time,'}uptime,tid,level,tags:filecount=0`,
    ...(options.plain
      ? [`-Xlog:gc+init:file=${join(workDir, 'gc-clock.log')}:timenanos,uptimenanos,uptime:filecount=0`]
      : []),
    '-XX:+PreserveFramePointer',
    '-XX:+UnlockDiagnosticVMOptions',
    '-XX:+DumpPerfMapAtExit',
    '-XX:+DebugNonSafepoints',
    // JFR running from the start (low-overhead `default` settings, repository in the work dir):
    // the recorder's later `jcmd JFR.start settings=profile` then finds JFR initialised. Without
    // it, that first JFR.start slows JIT-compiled code 2–10× for seconds (measured: a 20 ms /cpu
    // takes 80–100 ms, spikes to 600 ms) in the middle of the recording. Not in a plain-tools
    // capture: nothing starts JFR there, and its sampler's and the VM thread's wake-ups made a
    // third of perf's scheduler events.
    ...(options.plain
      ? []
      : [
          '-XX:StartFlightRecording=name=boot,settings=default,maxage=2m',
          `-XX:FlightRecorderOptions=repository=${join(workDir, 'jfr-repository')}`,
        ]),
    // TCP_NODELAY on accepted sockets: without it, Nagle + the client's delayed ACK stall some
    // responses (headers and body are separate writes) for ~40 ms, an unplanted cause.
    '-Dsun.net.httpserver.nodelay=true',
  ];
}

/** @param {ScenarioContext} ctx */
async function prepare(ctx) {
  const sources = await javaSources(SRC);
  if (sources.length === 0) throw new Error(`no Java sources under ${SRC}`);
  const javac = jdkTool('javac');
  const { stdout, stderr } = await execFileAsync(javac, ['-version']).catch((/** @type {Error} */ err) => {
    throw new Error(`cannot run ${javac} (the java scenario needs a JDK 17+): ${err.message}`, {
      cause: err,
    });
  });
  const hash = createHash('sha256').update(`${stdout}${stderr}`.trim());
  for (const file of sources) hash.update(`\0${relative(SRC, file)}\0`).update(await readFile(file));
  const stamp = hash.digest('hex');
  const current = await readFile(join(CLASSES, STAMP), 'utf8').catch(() => '');
  if (current === stamp) {
    ctx.log(`java: classes up to date in ${relative(process.cwd(), CLASSES) || CLASSES}`);
    return;
  }
  // Compile into a private folder and swap it in, so concurrent runs never see half a build.
  const tmp = join(BUILD, `classes.tmp-${process.pid}-${Date.now()}`);
  await mkdir(tmp, { recursive: true });
  try {
    const javacArgs = ['--release', '17', '-g', '-encoding', 'UTF-8', '-Xlint:all', '-d', tmp, ...sources];
    await execFileAsync(javac, javacArgs, { maxBuffer: 16 * 1024 * 1024 });
    await writeFile(join(tmp, STAMP), stamp);
    await rm(CLASSES, { recursive: true, force: true });
    await rename(tmp, CLASSES);
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    const raced = await readFile(join(CLASSES, STAMP), 'utf8').catch(() => '');
    if (raced === stamp) return; // another run built the same sources meanwhile
    const e = /** @type {Error & { stderr?: string }} */ (err);
    throw new Error(`javac failed: ${e.stderr || e.message}`, { cause: err });
  }
  ctx.log(`java: compiled ${sources.length} sources into ${relative(process.cwd(), CLASSES) || CLASSES}`);
}

/** @param {number} ms */
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** @param {ScenarioContext} ctx */
async function start(ctx) {
  await mkdir(ctx.workDir, { recursive: true });
  const files = {
    logs: [join(ctx.workDir, 'app.log')],
    spans: [join(ctx.workDir, 'spans.otlp.jsonl')],
    gcLog: join(ctx.workDir, 'gc.log'),
  };
  const outFile = join(ctx.workDir, 'java.out.log');
  const out = openSync(outFile, 'a');
  const args = [
    ...jvmOptions(ctx.workDir, { plain: ctx.plain }),
    '-cp',
    CLASSES,
    MAIN_CLASS,
    '--port',
    String(ctx.port),
    '--upstream',
    ctx.upstreamUrl,
    '--work-dir',
    ctx.workDir,
    '--pool',
    String(POOL_SIZE),
  ];
  // spawn without a shell: child.pid is the JVM itself.
  const child = spawn(jdkTool('java'), args, { cwd: ctx.workDir, stdio: ['ignore', out, out] });
  /** @type {{ code: number | null, signal: NodeJS.Signals | null } | null} */
  let exited = null;
  let outClosed = false;
  const closeOut = () => {
    if (!outClosed) closeSync(out);
    outClosed = true;
  };
  const exit = new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      exited = { code, signal };
      closeOut();
      resolve(undefined);
    });
  });
  /** @type {Error | null} */
  let spawnError = null;
  child.once('error', (err) => {
    spawnError = err;
    if (child.pid === undefined) closeOut();
  });
  const pid = child.pid;

  const baseUrl = `http://127.0.0.1:${ctx.port}`;
  const tail = async () => (await readFile(outFile, 'utf8').catch(() => '')).slice(-2000);
  try {
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (exited !== null || pid === undefined) {
        const why = spawnError ?? JSON.stringify(exited);
        throw new Error(`java service exited before answering (${String(why)}):\n${await tail()}`);
      }
      try {
        const res = await fetch(`${baseUrl}/health`, { signal: AbortSignal.timeout(1000) });
        await res.arrayBuffer();
        if (res.ok) break;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline)
        throw new Error(`java service did not answer on ${baseUrl} within 60 s:\n${await tail()}`);
      await sleep(100);
    }
    // Warm the request paths up (class loading, JIT) before any recording; the service builds but
    // drops the spans, log lines and measured lines of requests with this header.
    // A plain capture's service has served its load's routes a while before it (3 rounds, one at a
    // time): its perf keeps every scheduler switch with its stack, and after the cheap warm-up alone
    // the JIT compiler threads (a futex of theirs is a ptrace stop under strace) made a third of them
    // (~225 compilations in the first round of load, ~100 in the third); and a cold /alloc spent more
    // in its loop's compilation than in its pauses.
    const warmUp = Array.from({ length: 2 }, () => WARMUP_ROUTES).flat();
    if (ctx.plain)
      for (let i = 0; i < PLAIN_WARMUP_ROUNDS; i++)
        for (const step of round(ctx.seconds < ROUND_SECONDS))
          warmUp.push(
            ...Array.from({ length: step.count }, () => step.route),
            ...(step.with ? [step.with.route] : []),
          );
    for (const route of warmUp) {
      const res = await fetch(`${baseUrl}${route}`, {
        headers: { 'X-Threadreel-Warmup': '1' },
        signal: AbortSignal.timeout(10_000),
      });
      await res.arrayBuffer();
      if (!res.ok) throw new Error(`warm-up ${route} answered ${res.status}:\n${await tail()}`);
    }
  } catch (err) {
    if (exited === null && pid !== undefined) {
      child.kill('SIGKILL');
      await exit;
    }
    throw err;
  }
  ctx.log(`java: service pid ${pid} listening on ${baseUrl}`);

  /** @type {RunningService} */
  const service = {
    pid,
    baseUrl,
    files,
    ...(ctx.plain ? { gcClockTruth: join(ctx.workDir, 'gc-clock.log') } : {}),
    jfr: !ctx.plain,
    async stop() {
      if (exited === null) {
        child.kill('SIGTERM'); // the shutdown hook stops the server and flushes spans and logs
        const timedOut = await Promise.race([exit.then(() => false), sleep(20_000).then(() => true)]);
        if (timedOut) {
          ctx.log(`java: pid ${pid} ignored SIGTERM for 20 s, killing it`);
          child.kill('SIGKILL');
          await exit;
        }
      }
    },
  };
  return service;
}

/**
 * A step with companions (scripts/scenario.mjs): ~20 ms after each main request starts, `with.count`
 * requests of `with.route` are sent at once; the next main request waits for them.
 * @typedef {LoadStep & { with?: LoadStep }} Step
 */

/** One round of load: about 1.3 s on an idle 2-core machine, more under perf + strace. */
const ROUND_SECONDS = 3;

/**
 * Every cause in one round, each request labelled with what it really meets:
 * - /lock takes the shared monitor and hashes ~100 ms inside it (its own time is `cpu`); two
 *   /lock?hold=5 sent 20 ms later wait ~80 ms for that monitor, then work 5 ms (`lock`);
 * - 4× /upstream?ms=150 at concurrency 4 block all 4 workers on the network (`net`); the two /fast
 *   sent 20 ms after each wait ~130 ms in the executor queue and take ~1 ms (`pool-queue`).
 *
 * `short` (runs under 3 s: the plain-tools fixture, whose perf script must fit 1 MiB gzipped): /alloc
 * builds 200k rows instead of 600k, a third of the young pauses (each a safepoint that, under strace, fills
 * perf with the VM thread's and the GC workers' switches); the same 100k rows stay live.
 * @param {boolean} [short]
 * @returns {Step[]}
 */
function round(short = false) {
  return [
    { route: '/fast', cause: 'none', count: 2, concurrency: 1 },
    {
      route: '/lock',
      cause: 'cpu',
      count: 2,
      concurrency: 1,
      with: { route: '/lock?hold=5', cause: 'lock', count: 2, concurrency: 2 },
    },
    { route: short ? '/alloc?rows=200' : '/alloc', cause: 'gc', count: 2, concurrency: 1 },
    { route: '/file', cause: 'file', count: 2, concurrency: 1 },
    { route: '/cpu', cause: 'cpu', count: 2, concurrency: 1 },
    {
      route: '/upstream?ms=150',
      cause: 'net',
      count: POOL_SIZE,
      concurrency: POOL_SIZE,
      with: { route: '/fast', cause: 'pool-queue', count: 2, concurrency: 2 },
    },
  ];
}

/**
 * Repeats {@link round} to fill about `seconds`.
 * @param {number} seconds
 * @returns {LoadStep[]}
 */
function plan(seconds) {
  const rounds = Math.max(1, Math.floor(seconds / ROUND_SECONDS));
  return Array.from({ length: rounds }, () => round(seconds < ROUND_SECONDS)).flat();
}

/**
 * @typedef {object} MeasuredRequest One line of `<workDir>/measured.jsonl`: where one request's time
 * went, measured inside the service (see Measured.java). Times are epoch ns, components ns, both as
 * decimal strings.
 * @property {string} traceId
 * @property {string} spanId the service's SERVER span
 * @property {string} route path without the query
 * @property {number} tid Linux thread id of the worker
 * @property {string} thread
 * @property {string} arrivalNs the exchange was submitted to the worker pool
 * @property {string} handlerStartNs a worker took it off the pool's queue
 * @property {string} handlerEndNs the response was written
 * @property {Record<'pool-queue' | 'lock' | 'gc' | 'net' | 'file' | 'cpu', string>} components
 */

/**
 * Reads `measured.jsonl` (complete once the service has stopped) and names, for each trace id, the
 * cause that measurably dominated the request inside the service. A step's planted cause is its
 * intent; what each request met differs: the first /lock request of a step holds the lock (CPU)
 * instead of waiting, the first wave of a burst does not queue. Off-CPU waits win ties: CPU time
 * must exceed the largest wait by 10 %. A request whose dominant part is under `minMs` (default 10)
 * is 'none'.
 * @param {string} workDir
 * @param {{ minMs?: number }} [options]
 * @returns {Promise<Map<string, { cause: PlantedCause, parts: Record<string, number>, record: MeasuredRequest }>>}
 *   parts: milliseconds per component
 */
export async function measuredCauses(workDir, options = {}) {
  const minMs = options.minMs ?? 10;
  const text = await readFile(join(workDir, 'measured.jsonl'), 'utf8');
  /** @type {Map<string, { cause: PlantedCause, parts: Record<string, number>, record: MeasuredRequest }>} */
  const out = new Map();
  /** @param {string} ns */
  const ms = (ns) => Math.round(Number(ns) / 1e5) / 10;
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const r = /** @type {MeasuredRequest} */ (JSON.parse(line));
    const c = r.components;
    /** @type {[PlantedCause, number][]} */
    const waits = [
      ['pool-queue', ms(c['pool-queue'])],
      ['lock', ms(c.lock)],
      ['net', ms(c.net)],
      ['file', ms(c.file)],
      ['gc', ms(c.gc)],
    ];
    let best = /** @type {[PlantedCause, number]} */ (['none', 0]);
    for (const w of waits) if (w[1] > best[1]) best = w;
    const cpu = ms(c.cpu);
    if (cpu > best[1] * 1.1) best = ['cpu', cpu];
    out.set(r.traceId, {
      cause: best[1] >= minMs ? best[0] : 'none',
      parts: Object.fromEntries([...waits, ['cpu', cpu]]),
      record: r,
    });
  }
  return out;
}

/** @type {Scenario} */
const scenario = { name: 'java', prepare, start, plan };
export default scenario;
