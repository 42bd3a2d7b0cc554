// @ts-check
// npm run scenario -- <java|node|python> [--seconds N] [--out DIR] [--perf-freq HZ] [--max-stack N] [--no-jfr] [--no-record]
//
// Starts a scenario service (test/scenarios/<name>/scenario.mjs), records it with
// `threadreel record` (perf, sched, strace, thread map, logs, spans, GC, JFR for the JVM),
// drives its load plan with W3C traceparent headers, and leaves a complete bundle with
// ground-truth.json: per request its trace id, route, client start/end (epoch ns) and the
// cause planted in that route.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
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
  try {
    if (!values['no-record']) {
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
    /** @type {GroundTruth} */
    const truth = { scenario: name, pid: service.pid, requests };
    writeFileSync(path.join(out, 'ground-truth.json'), JSON.stringify(truth, null, 2) + '\n');
    addToManifest(out, {
      path: 'ground-truth.json',
      role: 'ground-truth',
      format: 'threadreel-ground-truth',
      clock: 'realtime',
    });
    // The load generator's client spans: arrival evidence for the service's requests.
    mkdirSync(path.join(out, 'spans'), { recursive: true });
    writeFileSync(
      path.join(out, 'spans', 'loadgen.otlp.jsonl'),
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
      }) + '\n',
    );
    addToManifest(out, {
      path: 'spans/loadgen.otlp.jsonl',
      role: 'spans',
      format: 'otlp-json',
      clock: 'realtime',
    });
    const failed = requests.filter((r) => r.status !== 200);
    log(`${requests.length} requests, ${failed.length} not 200; bundle in ${out}`);
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
    await service.stop();
    upstream.close();
    otlp.close();
    rmSync(workDir, { recursive: true, force: true });
  }
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

/** One request with a fresh W3C traceparent. @param {string} baseUrl @param {Step} step */
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
      });
    };
    const req = request(
      url,
      {
        method: step.method ?? 'GET',
        headers: { traceparent: `00-${traceId}-${spanId}-01` },
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
