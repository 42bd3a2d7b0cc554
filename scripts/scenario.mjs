// @ts-check
// npm run scenario -- <java|node|python> [--seconds N] [--out DIR] [--perf-freq HZ] [--max-stack N] [--no-jfr]
//                      [--no-record | --plain]
//
// Starts a scenario service (test/scenarios/<name>/scenario.mjs), records it with
// `threadreel record` (perf, sched, strace, thread map, logs, spans, GC, JFR for the JVM),
// drives its load plan with W3C traceparent headers, and leaves a complete bundle with
// ground-truth.json: per request its trace id, route, client start/end (epoch ns), the
// cause planted in that route and the cause the service measured (its measured.jsonl,
// the contract in test/scenarios/scenario.d.ts).
//
// --plain records with plain tools instead, as a user would, and writes no manifest: perf
// record/script, strace, a /proc thread listing, the service's own logs, spans and GC files as
// it wrote them and the caller's client spans (loadgen.otlp.jsonl, as a trace backend's export
// of the trace would have them), plus clocks.json (the true clock offsets, not to be uploaded)
// and ground-truth.json. See recordPlain() for the commands.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  appendFileSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  createWriteStream,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer, request } from 'node:http';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

/** @typedef {import('../test/scenarios/scenario.js').Scenario} Scenario */
/** @typedef {import('../test/scenarios/scenario.js').LoadStep} Step */
/** @typedef {import('../test/scenarios/scenario.js').GroundTruth} GroundTruth */
/** @typedef {import('../test/scenarios/scenario.js').GroundTruthRequest} TruthRequest */
/** @typedef {import('../test/scenarios/scenario.js').MeasuredRequest} Measured */
/** @typedef {import('../test/scenarios/scenario.js').MeasuredCause} MeasuredCause */
/** @typedef {import('../test/scenarios/scenario.js').RunningService} RunningService */

const root = fileURLToPath(new URL('..', import.meta.url));
const SCENARIOS = ['java', 'node', 'python'];

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    seconds: { type: 'string', default: '10' },
    out: { type: 'string' },
    'no-record': { type: 'boolean', default: false },
    'perf-freq': { type: 'string', default: '199' },
    'max-stack': { type: 'string' },
    'no-jfr': { type: 'boolean', default: false },
    plain: { type: 'boolean', default: false },
  },
});
const name = positionals[0] ?? '';
if (!SCENARIOS.includes(name)) {
  console.error(`usage: npm run scenario -- <${SCENARIOS.join('|')}> [--seconds N] [--out DIR]`);
  process.exit(2);
}
const seconds = Number(values.seconds);
if (!Number.isFinite(seconds) || seconds < 2 || seconds > 600) {
  console.error('--seconds: expected a number from 2 to 600');
  process.exit(2);
}
const out = path.resolve(values.out ?? `scenario-${name}-${new Date().toISOString().replace(/[:.]/g, '-')}`);
const log = (/** @type {string} */ m) => console.error(`[scenario ${name}] ${m}`);

/**
 * Epoch ns from the monotonic clock, anchored once to the realtime clock at µs precision
 * (performance.timeOrigin + now(); Date.now() would truncate to the ms). Kept in bigint.
 */
const anchorMono = process.hrtime.bigint();
const anchorReal = BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000)) * 1000n;
const nowNs = () => anchorReal + (process.hrtime.bigint() - anchorMono);

/** @returns {Promise<import('node:http').Server>} */
const listen = (/** @type {import('node:http').Server} */ server) =>
  new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
const portOf = (/** @type {import('node:http').Server} */ s) => {
  const a = s.address();
  return typeof a === 'object' && a ? a.port : 0;
};
const freePort = async () => {
  const s = await listen(createServer());
  const p = portOf(s);
  await new Promise((r) => s.close(r));
  return p;
};

async function main() {
  const scenario = /** @type {Scenario} */ (
    (await import(pathToFileURL(path.join(root, 'test/scenarios', name, 'scenario.mjs')).href)).default
  );
  const workDir = mkdtempSync(path.join(tmpdir(), `threadreel-scenario-${name}-`));
  mkdirSync(out, { recursive: true });

  // A slow upstream: GET /slow?ms=N answers after N ms.
  const upstream = await listen(
    createServer((req, res) => {
      const ms = Math.min(5000, Number(new URL(req.url ?? '/', 'http://x').searchParams.get('ms') ?? 100));
      setTimeout(() => res.end(`slept ${ms} ms\n`), ms);
    }),
  );
  // OTLP/HTTP JSON receiver: one ExportTraceServiceRequest per line.
  const otlpFile = path.join(workDir, 'otlp-received.jsonl');
  writeFileSync(otlpFile, '');
  const otlp = await listen(
    createServer((req, res) => {
      /** @type {Buffer[]} */
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8').trim();
        if (req.url === '/v1/traces' && body) appendFileSync(otlpFile, body.replace(/\n/g, ' ') + '\n');
        res.setHeader('content-type', 'application/json');
        res.end('{}');
      });
    }),
  );
  const ctx = {
    workDir,
    seconds,
    upstreamUrl: `http://127.0.0.1:${portOf(upstream)}`,
    otlpUrl: `http://127.0.0.1:${portOf(otlp)}`,
    otlpFile,
    port: await freePort(),
    plain: values.plain,
    log,
  };

  log('preparing');
  await scenario.prepare(ctx);
  log('starting the service');
  const service = await scenario.start(ctx);
  log(`service pid ${service.pid} on ${service.baseUrl}`);
  /** @type {import('node:child_process').ChildProcess | undefined} */
  let recorder;
  let recorderExit;
  /** @type {PlainRecording | undefined} */
  let plainRecording;
  try {
    if (values.plain) {
      plainRecording = await recordPlain(service, workDir);
    } else if (!values['no-record']) {
      const args = [
        path.join(root, 'bin/threadreel.js'),
        'record',
        '--pid',
        String(service.pid),
        '--duration',
        `${seconds + 30}s`,
        '--out',
        // Relative when inside the working folder, so the bundle does not record where the repo lives.
        path.relative(process.cwd(), out).startsWith('..') ? out : path.relative(process.cwd(), out),
        '--perf-freq',
        values['perf-freq'] ?? '199',
        ...(values['max-stack'] ? ['--max-stack', values['max-stack']] : []),
        ...(service.jfr && !values['no-jfr'] ? ['--jfr'] : []),
        ...service.files.logs.flatMap((f) => ['--logs', f]),
        ...service.files.spans.flatMap((f) => ['--spans', f]),
        ...(service.files.gcLog ? ['--gc-log', service.files.gcLog] : []),
      ];
      log(`recording: threadreel ${args.slice(1).join(' ')}`);
      recorder = spawn(process.execPath, args, { stdio: ['ignore', 'inherit', 'pipe'] });
      recorderExit = new Promise((resolve) =>
        recorder?.once('exit', (code, signal) => resolve({ code, signal })),
      );
      await waitForRecording(recorder);
    }
    log(`load for about ${seconds} s`);
    const requests = await runPlan(service.baseUrl, scenario.plan(seconds));
    // Let the service's span batches and log buffers reach their files before the recorder copies them.
    await new Promise((r) => setTimeout(r, 700));
    if (recorder) {
      log('stopping the recording');
      recorder.kill('SIGINT');
      const { code, signal } = /** @type {{code: number|null, signal: string|null}} */ (await recorderExit);
      if (code !== 0) throw new Error(`threadreel record exited with ${code ?? signal}`);
    }
    if (plainRecording) await plainRecording.stopTools();
    // A graceful stop flushes measured.jsonl (and, for --plain, the logs, spans and GC files).
    await service.stop();
    const truth = groundTruth(service.pid, requests, readMeasured(path.join(workDir, 'measured.jsonl')));
    writeFileSync(path.join(out, 'ground-truth.json'), JSON.stringify(truth, null, 2) + '\n');
    if (plainRecording) {
      // The caller's client spans, as a trace backend's export of the same traces would have them.
      writeFileSync(path.join(out, 'loadgen.otlp.jsonl'), loadgenExport());
      await plainRecording.finish();
    } else {
      addToManifest(out, {
        path: 'ground-truth.json',
        role: 'ground-truth',
        format: 'threadreel-ground-truth',
        clock: 'realtime',
      });
      // The load generator's client spans: arrival evidence for the service's requests.
      mkdirSync(path.join(out, 'spans'), { recursive: true });
      writeFileSync(path.join(out, 'spans', 'loadgen.otlp.jsonl'), loadgenExport());
      addToManifest(out, {
        path: 'spans/loadgen.otlp.jsonl',
        role: 'spans',
        format: 'otlp-json',
        clock: 'realtime',
      });
    }
    const failed = requests.filter((r) => r.status !== 200);
    const byCause = new Map();
    for (const r of truth.requests) byCause.set(r.cause ?? '?', (byCause.get(r.cause ?? '?') ?? 0) + 1);
    log(
      `${requests.length} requests, ${failed.length} not 200; measured causes: ${[...byCause]
        .map(([c, n]) => `${c} ${n}`)
        .join(', ')}; ${values.plain ? 'capture' : 'bundle'} in ${out}`,
    );
    if (failed.length)
      throw new Error(
        `${failed.length} requests failed: ${failed
          .slice(0, 3)
          .map((r) => `${r.route} ${r.status}`)
          .join(', ')}`,
      );
  } finally {
    if (recorder && recorder.exitCode === null && recorder.signalCode === null) {
      recorder.kill('SIGINT');
      await recorderExit;
    }
    await plainRecording?.abort();
    await service.stop();
    upstream.close();
    otlp.close();
    rmSync(workDir, { recursive: true, force: true });
  }
}

/** A component below this (ms) names no cause: the request is `none`. */
const NONE_BELOW_MS = 10;
/** Candidates within this share of the largest are acceptable answers too. */
const ACCEPTABLE_SHARE = 0.8;
/** @type {MeasuredCause[]} */
const COMPONENTS = ['pool-queue', 'lock', 'gc', 'net', 'file', 'cpu'];

/** The lines of measured.jsonl by trace id (the service wrote it; none yet for a service that does not). @param {string} file */
function readMeasured(file) {
  /** @type {Map<string, Measured>} */
  const byTrace = new Map();
  if (!existsSync(file)) return byTrace;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const m = /** @type {Measured} */ (JSON.parse(line));
    byTrace.set(m.traceId, m);
  }
  return byTrace;
}

/** ns (decimal string) → ms with µs precision. @param {string | undefined} ns */
const nsToMs = (ns) => Number(BigInt(ns ?? '0') / 1000n) / 1000;

/**
 * ground-truth.json: each request with the cause its service measured: the largest measured component among
 * the step's candidates (`none` under NONE_BELOW_MS or for a `none` step), and the candidates within 80 % of it.
 * @param {number} pid @param {TruthRequest[]} requests @param {Map<string, Measured>} measured
 * @returns {GroundTruth}
 */
function groundTruth(pid, requests, measured) {
  const missing = requests.filter((r) => !measured.has(r.traceId));
  if (missing.length)
    log(
      `the service measured nothing for ${missing.length} of ${requests.length} requests: no cause for them`,
    );
  return {
    scenario: name,
    pid,
    causeRule:
      `cause: the largest of the step's candidate components in the service's own measurement ` +
      `(measured.jsonl, test/scenarios/scenario.d.ts); none when the step planted none or that component is ` +
      `under ${NONE_BELOW_MS} ms. acceptable: every candidate at least ${ACCEPTABLE_SHARE * 100} % of the largest.`,
    noneBelowMs: NONE_BELOW_MS,
    requests: requests.map((r) => {
      const m = measured.get(r.traceId);
      if (!m) return r;
      const ns = /** @type {Record<MeasuredCause, bigint>} */ (
        Object.fromEntries(COMPONENTS.map((c) => [c, BigInt(m.components[c] ?? '0')]))
      );
      const candidates = r.candidates ?? [];
      let best = /** @type {MeasuredCause | undefined} */ (undefined);
      for (const c of candidates) if (best === undefined || ns[c] > ns[best]) best = c;
      const largest = best === undefined ? 0n : ns[best];
      const none =
        r.plantedCause === 'none' || best === undefined || largest < BigInt(NONE_BELOW_MS) * 1_000_000n;
      return {
        ...r,
        cause: none ? 'none' : best,
        acceptable: none
          ? []
          : candidates.filter((c) => ns[c] * 10n >= largest * BigInt(ACCEPTABLE_SHARE * 10)),
        components: /** @type {Record<MeasuredCause, number>} */ (
          Object.fromEntries(COMPONENTS.map((c) => [c, nsToMs(m.components[c])]))
        ),
        tid: m.tid,
        thread: m.thread,
      };
    }),
  };
}

// ---- --plain: recording with plain tools, as a user would --------------------------------------------

/**
 * How each runtime is recorded, so that the corpus covers perf's default clock and `-k mono`, `perf script`
 * with and without `-F +pid`, and two thread listings users write: `tid<TAB>comm` from /proc/PID/task/*\/comm
 * (threads.tsv) and `ps -L -o pid,lwp,comm -p PID` (threads.txt).
 * @type {Record<string, { perfMono: boolean, perfPid: boolean, threads: 'proc' | 'ps' }>}
 */
const PLAIN = {
  python: { perfMono: false, perfPid: false, threads: 'ps' },
  node: { perfMono: true, perfPid: true, threads: 'proc' },
  java: { perfMono: false, perfPid: false, threads: 'ps' },
};

/**
 * @typedef {object} PlainRecording
 * @property {() => Promise<void>} stopTools stops strace and perf; the closing thread listing and clock reads
 * @property {() => Promise<void>} finish after the service stopped: perf script, the service's files, clocks.json
 * @property {() => Promise<void>} abort stops what still runs (on failure)
 */

const sleep = (/** @type {number} */ ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Runs a command to its end. @param {string} cmd @param {string[]} args
 * @param {{ stdoutFile?: string, input?: string }} [opts]
 * @returns {Promise<{ code: number | null, stdout: string, stderr: string }>}
 */
function run(cmd, args, opts = {}) {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    if (opts.stdoutFile) p.stdout.pipe(createWriteStream(opts.stdoutFile));
    else p.stdout.on('data', (d) => (stdout += d.toString()));
    p.stderr.on('data', (d) => (stderr += d.toString()));
    p.stdin.end(opts.input ?? '');
    p.once('error', reject);
    p.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Resolves with the exit of a child (at once if it has exited). @param {import('node:child_process').ChildProcess} p */
const exited = (p) =>
  p.exitCode !== null || p.signalCode !== null
    ? Promise.resolve()
    : new Promise((resolve) => p.once('exit', () => resolve(undefined)));

// CLOCK_MONOTONIC and CLOCK_REALTIME read back to back: the tightest of 50 mono-real-mono brackets.
const CLOCK_PAIR_PY = `import time
best = None
for _ in range(50):
    a = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
    r = time.clock_gettime_ns(time.CLOCK_REALTIME)
    b = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
    if best is None or b - a < best[2]:
        best = (a + (b - a) // 2, r, b - a)
print(*best)`;

/** @returns {Promise<{ clock_monotonic_ns: string, clock_realtime_ns: string, bracket_ns: string }>} */
async function readClocks() {
  const r = await run('python3', ['-c', CLOCK_PAIR_PY]);
  const [mono, real, bracket] = r.stdout.trim().split(/\s+/);
  if (r.code !== 0 || !mono || !real || !bracket) throw new Error(`reading the clocks failed: ${r.stderr}`);
  return { clock_monotonic_ns: mono, clock_realtime_ns: real, bracket_ns: bracket };
}

// A marker process: once told, it sleeps 20 times 0.5 ms on each CPU in turn (a sched_switch each time).
const MARKER_PY = `import os, sys, time
sys.stdin.readline()
for cpu in sorted(os.sched_getaffinity(0)):
    os.sched_setaffinity(0, {cpu})
    for _ in range(20):
        time.sleep(0.0005)`;

/** `360.106475123` (perf script --ns) → ns. @param {string} t */
const perfTimeNs = (t) => {
  const [s = '0', f = ''] = t.split('.');
  return BigInt(s) * 1_000_000_000n + BigInt((f + '000000000').slice(0, 9));
};

/** @param {bigint[]} v */
const median = (v) => [...v].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))[v.length >> 1] ?? 0n;

/**
 * perf's default clock (perf_clock(): the kernel's local_clock, which is not CLOCK_MONOTONIC) against
 * CLOCK_MONOTONIC, measured: two perf sessions record the same sched_switch events of a marker process at
 * once, one with the default clock and one with -k mono; each event is stamped by both within a few hundred
 * ns. Returns CLOCK_MONOTONIC − perf clock over the matched pairs (median, spread, per CPU).
 * @param {string} dir @param {string} label
 */
async function perfClockPairs(dir, label) {
  const marker = spawn('python3', ['-c', MARKER_PY], { stdio: ['pipe', 'ignore', 'inherit'] });
  const mpid = String(marker.pid);
  const files = {
    perf: path.join(dir, `${label}-clock-default.data`),
    mono: path.join(dir, `${label}-clock-mono.data`),
  };
  const sessions = [
    spawn('perf', ['record', '-q', '-e', 'sched:sched_switch', '-p', mpid, '-o', files.perf], {
      stdio: 'ignore',
    }),
    spawn('perf', ['record', '-q', '-k', 'mono', '-e', 'sched:sched_switch', '-p', mpid, '-o', files.mono], {
      stdio: 'ignore',
    }),
  ];
  await sleep(1000);
  marker.stdin?.end('\n');
  await exited(marker);
  const stopAt = setTimeout(() => sessions.forEach((p) => p.kill('SIGINT')), 5000);
  await Promise.all(sessions.map(exited));
  clearTimeout(stopAt);
  /** @param {string} f @returns {Promise<{ cpu: string, ns: bigint }[]>} */
  const events = async (f) =>
    (await run('perf', ['script', '--ns', '-F', 'cpu,time,trace', '-i', f])).stdout
      .split('\n')
      .filter((l) => l.includes(` prev_pid=${mpid} `))
      .map((l) => {
        const m = /\[(\d+)\]\s+(\d+\.\d+):/.exec(l);
        return { cpu: m?.[1] ?? '?', ns: perfTimeNs(m?.[2] ?? '0') };
      });
  const [a, b] = [await events(files.perf), await events(files.mono)];
  if (a.length === 0 || a.length !== b.length)
    throw new Error(`perf clock pairs (${label}): ${a.length} default-clock and ${b.length} mono events`);
  /** @type {Map<string, bigint[]>} */
  const perCpu = new Map();
  const diffs = a.map((e, i) => {
    const other = b[i];
    if (!other || other.cpu !== e.cpu) throw new Error(`perf clock pairs (${label}): event ${i} differs`);
    const d = other.ns - e.ns;
    perCpu.set(e.cpu, [...(perCpu.get(e.cpu) ?? []), d]);
    return d;
  });
  const sorted = [...diffs].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
  return {
    monotonic_minus_perf_ns: String(median(diffs)),
    pairs: diffs.length,
    min_ns: String(sorted[0]),
    max_ns: String(sorted[sorted.length - 1]),
    per_cpu_median_ns: Object.fromEntries([...perCpu].map(([cpu, v]) => [cpu, String(median(v))])),
  };
}

/**
 * Starts perf and strace on the service as a user would, with the thread listing and the clock reads around
 * them. @param {RunningService} service @param {string} workDir @returns {Promise<PlainRecording>}
 */
async function recordPlain(service, workDir) {
  const cfg = PLAIN[name] ?? { perfMono: false, perfPid: true, threads: 'proc' };
  const tmp = path.join(workDir, 'plain');
  mkdirSync(tmp, { recursive: true });
  const pid = String(service.pid);
  const perfData = path.join(tmp, 'perf.data');
  // cpu-clock sampled at the given rate through the event term (a global -F would sample the tracepoints
  // too, keeping a few % of the switches); every sched_switch and sched_wakeup recorded.
  const perfRecord = [
    'record',
    ...(cfg.perfMono ? ['-k', 'mono'] : []),
    '-g',
    '-e',
    `cpu-clock/freq=${values['perf-freq'] ?? '199'},name=cpu-clock/`,
    '-e',
    'sched:sched_switch',
    '-e',
    'sched:sched_wakeup',
    '-p',
    pid,
    '-o',
  ];
  const perfScript = ['script', ...(cfg.perfPid ? ['-F', '+pid'] : []), '-i'];
  const straceArgs = ['-f', '-ttt', '-T', '-yy', '-p', pid, '-o'];
  const threadsFile = cfg.threads === 'ps' ? 'threads.txt' : 'threads.tsv';
  const threadsCommand =
    cfg.threads === 'ps'
      ? `ps -L -o pid,lwp,comm -p ${pid}`
      : `for t in /proc/${pid}/task/*; do printf '%s\\t%s\\n' "\${t##*/}" "$(cat $t/comm)"; done`;
  const listing = async () => {
    if (cfg.threads === 'ps') return (await run('ps', ['-L', '-o', 'pid,lwp,comm', '-p', pid])).stdout;
    return readdirSync(`/proc/${pid}/task`)
      .sort((x, y) => Number(x) - Number(y))
      .map((t) => `${t}\t${readFileSync(`/proc/${pid}/task/${t}/comm`, 'utf8').trim()}\n`)
      .join('');
  };

  // The service's command line as it ran, after the environment variables its scenario set (those that
  // differ from this process's), its scratch folder named <workDir>.
  const procList = (/** @type {string} */ f) =>
    readFileSync(`/proc/${pid}/${f}`, 'utf8')
      .split('\0')
      .filter((a) => a !== '');
  const setEnv = procList('environ').filter((kv) => {
    const eq = kv.indexOf('=');
    return process.env[kv.slice(0, eq)] !== kv.slice(eq + 1);
  });
  const serviceCommand = [...setEnv, ...procList('cmdline')]
    .map((a) => a.split(workDir).join('<workDir>'))
    .map((a) => (/^[\w@%+=:,./<>-]*$/.test(a) && a !== '' ? a : `'${a.replace(/'/g, `'\\''`)}'`))
    .join(' ');
  const clocks = {
    start: await readClocks(),
    end: /** @type {Awaited<ReturnType<typeof readClocks>> | null} */ (null),
  };
  const perfPairs = {
    start: cfg.perfMono ? null : await perfClockPairs(tmp, 'start'),
    end: /** @type {Awaited<ReturnType<typeof perfClockPairs>> | null} */ (null),
  };
  const threadsAtStart = await listing();
  log(`plain: perf ${perfRecord.join(' ')} perf.data`);
  const perf = spawn('perf', [...perfRecord, perfData], { stdio: ['ignore', 'ignore', 'pipe'] });
  let perfErr = '';
  perf.stderr?.on('data', (d) => (perfErr += d.toString()));
  log(`plain: strace ${straceArgs.join(' ')} strace.txt`);
  const strace = spawn('strace', [...straceArgs, path.join(out, 'strace.txt')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let straceErr = '';
  await new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`strace did not attach within 20 s: ${straceErr}`)),
      20_000,
    );
    strace.stderr?.on('data', (d) => {
      straceErr += d.toString();
      if (/attached/.test(straceErr)) {
        clearTimeout(timer);
        resolve(undefined);
      }
    });
    strace.once('exit', (code) => reject(new Error(`strace exited (${code}): ${straceErr}`)));
  });
  await sleep(1000); // perf attaches asynchronously too
  if (perf.exitCode !== null) throw new Error(`perf record exited (${perf.exitCode}): ${perfErr}`);
  let threadsAtEnd = '';

  return {
    async stopTools() {
      threadsAtEnd = await listing();
      strace.kill('SIGINT');
      perf.kill('SIGINT');
      await Promise.all([exited(strace), exited(perf)]);
      log(`plain: perf record: ${perfErr.trim().replace(/\n/g, ' ')}`);
      clocks.end = await readClocks();
      perfPairs.end = cfg.perfMono ? null : await perfClockPairs(tmp, 'end');
    },

    async finish() {
      // After the service stopped: a JVM writes /tmp/perf-PID.map at exit, and perf script resolves JIT frames with it.
      const r = await run('perf', [...perfScript, perfData], {
        stdoutFile: path.join(out, 'perf.script.txt'),
      });
      if (r.code !== 0) throw new Error(`perf script failed: ${r.stderr}`);
      if (r.stderr.trim()) log(`plain: perf script: ${r.stderr.trim().replace(/\s*\n\s*/g, ' ')}`);
      // The thread listing: both snapshots, each line once (ps keeps its header first).
      const lines = [...new Set([...threadsAtStart.split('\n'), ...threadsAtEnd.split('\n')])].filter((l) =>
        l.trim(),
      );
      const header = cfg.threads === 'ps' ? lines.filter((l) => /\bLWP\b/.test(l)).slice(0, 1) : [];
      const body = lines.filter((l) => !header.includes(l));
      const tidOf = (/** @type {string} */ l) =>
        Number((cfg.threads === 'ps' ? l.trim().split(/\s+/)[1] : l.split('\t')[0]) ?? 0);
      body.sort((x, y) => tidOf(x) - tidOf(y));
      writeFileSync(path.join(out, threadsFile), [...header, ...body].join('\n') + '\n');
      const own = [
        ...service.files.logs,
        ...service.files.spans,
        ...(service.files.gcLog ? [service.files.gcLog] : []),
      ];
      for (const f of own) copyFileSync(f, path.join(out, path.basename(f)));
      writeFileSync(
        path.join(out, 'clocks.json'),
        JSON.stringify(
          clocksJson(service, clocks, perfPairs, {
            perf: `perf ${perfRecord.join(' ')} perf.data; perf ${perfScript.join(' ')} perf.data > perf.script.txt`,
            strace: `strace ${straceArgs.join(' ')} strace.txt`,
            threads: `${threadsCommand} > ${threadsFile} (before and after the load, each line once)`,
            service: serviceCommand,
            own: own.map((f) => path.basename(f)),
            caller: ['loadgen.otlp.jsonl'],
          }),
          null,
          1,
        ) + '\n',
      );
    },

    async abort() {
      for (const p of [strace, perf]) if (p.exitCode === null && p.signalCode === null) p.kill('SIGINT');
      await Promise.all([exited(strace), exited(perf)]);
    },
  };
}

/**
 * clocks.json: what the clocks really were (not to be uploaded: it exists to check the offsets threadreel
 * infers). Per file, `truthOffsetNs` is what must be added to the file's own timestamps to put them on the
 * epoch (CLOCK_REALTIME) axis, and `toleranceNs` how exact that truth is.
 * @param {RunningService} service
 * @param {{ start: Awaited<ReturnType<typeof readClocks>>, end: Awaited<ReturnType<typeof readClocks>> | null }} clocks
 * @param {{ start: Awaited<ReturnType<typeof perfClockPairs>> | null, end: Awaited<ReturnType<typeof perfClockPairs>> | null }} pairs
 * @param {{ perf: string, strace: string, threads: string, service: string, own: string[], caller: string[] }} commands
 */
function clocksJson(service, clocks, pairs, commands) {
  const cfg = PLAIN[name] ?? { perfMono: false, threads: 'proc' };
  const end = clocks.end ?? clocks.start;
  const realMinusMono = (/** @type {typeof end} */ c) =>
    BigInt(c.clock_realtime_ns) - BigInt(c.clock_monotonic_ns);
  const abs = (/** @type {bigint} */ v) => (v < 0n ? -v : v);
  const bracket =
    BigInt(clocks.start.bracket_ns) > BigInt(end.bracket_ns)
      ? BigInt(clocks.start.bracket_ns)
      : BigInt(end.bracket_ns);
  const rm = { start: realMinusMono(clocks.start), end: realMinusMono(end) };
  /** @type {{ start: bigint, end: bigint }} */
  let realMinusPerf = rm;
  let spread = 0n;
  if (!cfg.perfMono && pairs.start && pairs.end) {
    realMinusPerf = {
      start: rm.start + BigInt(pairs.start.monotonic_minus_perf_ns),
      end: rm.end + BigInt(pairs.end.monotonic_minus_perf_ns),
    };
    for (const p of [pairs.start, pairs.end]) {
      const med = BigInt(p.monotonic_minus_perf_ns);
      for (const v of [abs(BigInt(p.min_ns) - med), abs(BigInt(p.max_ns) - med)]) if (v > spread) spread = v;
    }
  }
  const mid = (/** @type {{ start: bigint, end: bigint }} */ v) => (v.start + v.end) / 2n;
  const halfDrift = (/** @type {{ start: bigint, end: bigint }} */ v) => abs(v.end - v.start) / 2n;
  // Local wall-clock text without a zone: the zone's offset (UTC − local) puts it on the epoch axis.
  const zoneNs = BigInt(new Date().getTimezoneOffset()) * 60_000_000_000n;
  /** @type {Record<string, { clock: string | null, truthOffsetNs: string | null, toleranceNs: string | null, how: string }>} */
  const files = {
    'perf.script.txt': {
      clock: cfg.perfMono
        ? 'CLOCK_MONOTONIC (perf record -k mono)'
        : "perf's default clock (perf_clock: local_clock)",
      truthOffsetNs: String(mid(realMinusPerf)),
      toleranceNs: String(halfDrift(realMinusPerf) + spread + bracket),
      how: cfg.perfMono
        ? 'realtime − monotonic from the clock reads at start and end (their mean; tolerance: half the drift plus the read bracket)'
        : 'realtime − monotonic from the clock reads, plus monotonic − perf clock from the marker pairs at start and end ' +
          '(their mean; tolerance: half the drift, the pairs’ spread and the read bracket)',
    },
    'strace.txt': {
      clock: 'CLOCK_REALTIME (strace -ttt, µs)',
      truthOffsetNs: '0',
      toleranceNs: '1000',
      how: 'epoch as recorded',
    },
  };
  files[cfg.threads === 'ps' ? 'threads.txt' : 'threads.tsv'] = {
    clock: null,
    truthOffsetNs: null,
    toleranceNs: null,
    how: 'no times',
  };
  // A GC clock measured on CLOCK_MONOTONIC goes to the epoch with realtime − monotonic (start and end mean).
  const onEpoch = (/** @type {bigint} */ mono, /** @type {bigint} */ uncertainty) => ({
    truthOffsetNs: String(mono + mid(rm)),
    toleranceNs: String(uncertainty + halfDrift(rm) + bracket),
  });
  const gcTruth = service.gcClockTruth && existsSync(service.gcClockTruth) ? service.gcClockTruth : null;
  for (const f of commands.own) {
    if (f === 'trace-gc.log') {
      // V8 stamps --trace-gc lines with ms since the isolate was initialised; the service measured where
      // that is on process.hrtime (CLOCK_MONOTONIC) at start and wrote it to gc-clock.json.
      /** @type {Record<string, string | number>} */
      const m = gcTruth ? JSON.parse(readFileSync(gcTruth, 'utf8')) : { error: 'no gc-clock.json' };
      files[f] = {
        clock: 'ms since the V8 isolate was initialised (--trace-gc "N ms", rounded to the whole ms)',
        ...(m.traceGcZeroMonotonicNs
          ? onEpoch(BigInt(m.traceGcZeroMonotonicNs), BigInt(m.uncertaintyNs ?? 0))
          : { truthOffsetNs: null, toleranceNs: null }),
        how: m.traceGcZeroMonotonicNs
          ? `measured by the service at start (gc-clock.json, not uploaded): ${m.rounds} scavenges forced with ` +
            `the gc extension, each bracketed by process.hrtime reads, matched in order to their "testing" lines; ` +
            `a stamp N rounds the print instant's ms since init, so init lies within [start − N − 0.5 ms, ` +
            `end − N + 0.5 ms] of each bracket, and the intersection over all is ` +
            `[${m.loMonotonicNs}, ${m.hiMonotonicNs}] ns CLOCK_MONOTONIC; its middle plus realtime − monotonic. ` +
            `Tolerance: half that interval, half the drift and the read bracket (each stamp itself is whole ms: ` +
            `± 0.5 ms). nodeTiming.v8Start (V8's platform init) was ` +
            `${(Number(BigInt(m.traceGcZeroEpochNs ?? 0) - BigInt(m.nodeTimingV8StartEpochNs ?? 0)) / 1e6).toFixed(3)} ms earlier`
          : `not measured: ${m.error}`,
      };
    } else if (f === 'gc.log' && name === 'java') {
      // -Xlog decorator `uptime` (s since the JVM started); the JVM's second output gc-clock.log carries
      // timenanos (CLOCK_MONOTONIC) and uptimenanos read together for each of its gc+init lines.
      const text = gcTruth ? readFileSync(gcTruth, 'utf8') : '';
      const zeros = [...text.matchAll(/^\[[0-9.]+s\]\[(\d+)ns\]\[(\d+)ns\]/gm)].map(
        ([, t, u]) => BigInt(t ?? '0') - BigInt(u ?? '0'),
      );
      const sorted = [...zeros].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
      const zero = median(zeros);
      const spread = zeros.length
        ? [abs((sorted[0] ?? zero) - zero), abs((sorted[sorted.length - 1] ?? zero) - zero)].reduce((x, y) =>
            x > y ? x : y,
          )
        : 0n;
      files[f] = {
        clock: 'seconds since the JVM started (-Xlog decorator uptime, ms resolution, rounded)',
        ...(zeros.length ? onEpoch(zero, spread) : { truthOffsetNs: null, toleranceNs: null }),
        how: zeros.length
          ? `the JVM's own clocks: a second unified-logging output (-Xlog:gc+init:file=gc-clock.log:timenanos,` +
            `uptimenanos,uptime, not uploaded) decorates each of its ${zeros.length} startup lines with ` +
            `CLOCK_MONOTONIC (timenanos) and the uptime clock (uptimenanos) read together; their difference ` +
            `(median ${zero} ns, spread ±${spread} ns) is uptime 0 on CLOCK_MONOTONIC, plus realtime − monotonic. ` +
            `Tolerance: that spread, half the drift and the read bracket (each uptime stamp itself is whole ms: ± 0.5 ms)`
          : 'not measured: no gc-clock.log lines',
      };
    } else if (name === 'python' && f === 'app.log') {
      files[f] = {
        clock: 'local wall clock, ms (logging asctime, no zone)',
        truthOffsetNs: String(zoneNs),
        toleranceNs: '1000000',
        how: 'UTC − local time of the recording machine',
      };
    } else if (f.endsWith('.log')) {
      files[f] = {
        clock: 'CLOCK_REALTIME text, ms',
        truthOffsetNs: '0',
        toleranceNs: '1000000',
        how: 'epoch as recorded',
      };
    } else {
      files[f] = {
        clock: 'CLOCK_REALTIME, epoch ns',
        truthOffsetNs: '0',
        toleranceNs: '0',
        how: 'epoch as recorded',
      };
    }
  }
  for (const f of commands.caller) {
    files[f] = {
      clock:
        'CLOCK_REALTIME, epoch ns (the load generator: performance.timeOrigin + now() once, then process.hrtime)',
      truthOffsetNs: '0',
      toleranceNs: '1000',
      how: 'epoch as recorded (anchored to the realtime clock at µs precision)',
    };
  }
  return {
    server_pid: service.pid,
    start: clocks.start,
    end,
    realtime_minus_monotonic_ns: { start: String(rm.start), end: String(rm.end) },
    how:
      'CLOCK_MONOTONIC, CLOCK_REALTIME, CLOCK_MONOTONIC read back to back 50 times (python3 -c how_script) before ' +
      'perf and strace start and after they stop; the tightest bracket: its midpoint against the realtime read',
    how_script: CLOCK_PAIR_PY,
    perf: {
      clock: files['perf.script.txt']?.clock,
      realtime_minus_perf_ns: { start: String(realMinusPerf.start), end: String(realMinusPerf.end) },
      ...(cfg.perfMono
        ? {}
        : {
            monotonic_minus_perf_clock: { start: pairs.start, end: pairs.end },
            perf_clock_method:
              "perf's default clock is the kernel's local_clock, not CLOCK_MONOTONIC. Measured at start and end: " +
              'a marker process sleeps 20 × 0.5 ms on each CPU while two perf sessions record its sched_switch ' +
              'events, one with the default clock and one with -k mono; every event is in both, stamped within ' +
              'a few hundred ns, and the median difference is monotonic − perf clock. Exact to the spread of ' +
              'the pairs (min_ns … max_ns) plus the drift between start and end.',
          }),
    },
    commands,
    files,
  };
}

/** Resolves when the recorder says it is recording (its stderr mentions it), rejects if it exits. */
function waitForRecording(/** @type {import('node:child_process').ChildProcess} */ rec) {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(
      () => reject(new Error(`threadreel record did not start within 60 s:\n${seen}`)),
      60_000,
    );
    rec.stderr?.on('data', (d) => {
      process.stderr.write(d);
      seen += d.toString();
      if (/\brecording\b/i.test(seen)) {
        clearTimeout(timer);
        // perf and strace attach asynchronously; give them a moment before the load.
        setTimeout(resolve, 500);
      }
    });
    rec.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`threadreel record exited (${code}) before recording:\n${seen}`));
    });
  });
}

/**
 * Runs the steps one after another; a step's requests run `concurrency` at a time. A step's
 * `with` companion requests start ~20 ms after each main request, concurrently with it.
 * @param {string} baseUrl @param {Step[]} steps
 */
async function runPlan(baseUrl, steps) {
  /** @type {GroundTruth['requests']} */
  const results = [];
  for (const step of steps) {
    log(
      `  ${step.count}× ${step.route} (${step.cause}) at concurrency ${step.concurrency}${step.with ? ` with ${step.with.route}` : ''}`,
    );
    let next = 0;
    const worker = async () => {
      while (next < step.count) {
        next++;
        const companions = step.with
          ? new Promise((r) => setTimeout(r, 20)).then(() =>
              Promise.all(
                Array.from({ length: step.with?.count ?? 0 }, () =>
                  send(baseUrl, /** @type {Step} */ (step.with)).then((r) => results.push(r)),
                ),
              ),
            )
          : Promise.resolve();
        results.push(await send(baseUrl, step));
        await companions;
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, step.concurrency) }, worker));
  }
  return results;
}

/**
 * The load generator's own client spans (one per request, the parent of the service's server
 * span through traceparent), as an instrumented caller on the same host would export them.
 * @type {object[]}
 */
const clientSpans = [];

/** The load generator's client spans as one OTLP/JSON ExportTraceServiceRequest line. */
function loadgenExport() {
  return (
    JSON.stringify({
      resourceSpans: [
        {
          resource: {
            attributes: [
              { key: 'service.name', value: { stringValue: 'scenario-loadgen' } },
              { key: 'host.name', value: { stringValue: hostname() } },
            ],
          },
          scopeSpans: [{ scope: { name: 'threadreel-scenario' }, spans: clientSpans }],
        },
      ],
    }) + '\n'
  );
}

/**
 * The causes a step's requests can really meet (LoadStep.candidates): by default its planted cause and cpu.
 * @param {Step} step @returns {MeasuredCause[]}
 */
function candidatesOf(step) {
  if (step.candidates) return step.candidates;
  return step.cause === 'none' ? [] : [...new Set(/** @type {MeasuredCause[]} */ ([step.cause, 'cpu']))];
}

/** One request with a fresh W3C traceparent. @param {string} baseUrl @param {Step} step @returns {Promise<TruthRequest>} */
function send(baseUrl, step) {
  const traceId = randomBytes(16).toString('hex');
  const spanId = randomBytes(8).toString('hex');
  const url = new URL(step.route, baseUrl);
  const clientStartNs = nowNs();
  return new Promise((resolve) => {
    const done = (/** @type {number} */ status) => {
      const clientEndNs = nowNs();
      clientSpans.push({
        traceId,
        spanId,
        name: `${step.method ?? 'GET'} ${url.pathname}`,
        kind: 3,
        startTimeUnixNano: clientStartNs.toString(),
        endTimeUnixNano: clientEndNs.toString(),
        attributes: [
          { key: 'http.request.method', value: { stringValue: step.method ?? 'GET' } },
          { key: 'url.full', value: { stringValue: url.toString() } },
          { key: 'server.address', value: { stringValue: url.hostname } },
          { key: 'server.port', value: { intValue: url.port } },
          { key: 'http.response.status_code', value: { intValue: String(status) } },
          { key: 'process.pid', value: { intValue: String(process.pid) } },
        ],
        status: { code: status === 200 ? 1 : 2 },
      });
      resolve({
        traceId,
        route: step.route,
        plantedCause: step.cause,
        clientStartNs: clientStartNs.toString(),
        clientEndNs: clientEndNs.toString(),
        status,
        candidates: candidatesOf(step),
      });
    };
    const req = request(
      url,
      {
        method: step.method ?? 'GET',
        // x-scenario-sent-ns: the send stamp, for the service's own measurement only (arrival of a request
        // the event loop cannot read yet); the services keep it out of their spans and logs.
        headers: {
          traceparent: `00-${traceId}-${spanId}-01`,
          'x-scenario-sent-ns': clientStartNs.toString(),
        },
        timeout: 30_000,
      },
      (res) => {
        res.resume();
        res.on('end', () => done(res.statusCode ?? 0));
      },
    );
    req.on('error', () => done(0));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

/** @param {string} dir @param {Record<string, unknown>} file */
function addToManifest(dir, file) {
  const p = path.join(dir, 'manifest.json');
  const manifest = existsSync(p)
    ? JSON.parse(readFileSync(p, 'utf8'))
    : { version: 1, name: `scenario-${name}`, files: [] };
  manifest.files = [
    ...(manifest.files ?? []).filter((/** @type {{path: string}} */ f) => f.path !== file.path),
    file,
  ];
  writeFileSync(p, JSON.stringify(manifest, null, 2) + '\n');
}

main().catch((e) => {
  console.error(`[scenario ${name}] FAILED: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
