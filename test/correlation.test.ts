import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestDatabase } from './support/database.js';
import { REPO_ROOT } from './support/env.js';
import { startTestApi, tempDir, type ApiProc } from './support/processes.js';
import { allowNoPerf, runScenario, toolsUsable } from './support/scenario.js';

const unusable = toolsUsable();
import { folderParts, upload, waitSettled } from './support/client.js';

interface Truth {
  requests: {
    traceId: string;
    route: string;
    plantedCause: string;
    clientStartNs: string;
    clientEndNs: string;
  }[];
}

interface Row {
  trace_id: string;
  dominant_cause: string;
  duration_ns: string;
  start_ns: string;
  end_ns: string;
  breakdown: Record<string, string>;
  evidence: {
    lock?: { holderThreadId: string | null; waitNs: string; chain: string[]; chainHeldNs?: string[] }[];
  };
  thread_ids: string[];
  server_thread: string | null;
}

/** Agreement of dominant causes with the planted ones, per cause, printed and returned. */
function agreement(truth: Truth, rows: readonly Row[]): Map<string, { n: number; ok: number }> {
  const byTrace = new Map(rows.map((r) => [r.trace_id, r]));
  const per = new Map<string, { n: number; ok: number }>();
  for (const q of truth.requests) {
    if (q.plantedCause === 'none') continue;
    const r = byTrace.get(q.traceId);
    const e = per.get(q.plantedCause) ?? { n: 0, ok: 0 };
    e.n++;
    if (r?.dominant_cause === q.plantedCause) e.ok++;
    per.set(q.plantedCause, e);
  }
  return per;
}

interface Outcome {
  per: Map<string, { n: number; ok: number }>;
  /** ok: named as the holder; inChain: in the wait chain; most: the chain thread accounting for most of the wait. */
  holders: Holders;
  captureId?: string;
}
interface Holders {
  n: number;
  ok: number;
  inChain: number;
  most: number;
}

/** All causes over every evaluated capture, and lock holders. */
const totals: Outcome = { per: new Map(), holders: { n: 0, ok: 0, inChain: 0, most: 0 } };

function add(o: Outcome): void {
  for (const [cause, e] of o.per) {
    const t = totals.per.get(cause) ?? { n: 0, ok: 0 };
    t.n += e.n;
    t.ok += e.ok;
    totals.per.set(cause, t);
  }
  totals.holders.n += o.holders.n;
  totals.holders.ok += o.holders.ok;
  totals.holders.inChain += o.holders.inChain;
  totals.holders.most += o.holders.most;
}

/**
 * Uploads a bundle folder, waits for correlation, prints every request's dominant cause
 * against the planted one, and checks what must hold for every capture: one request row per
 * server span, breakdowns summing exactly to durations. Lock waits: the holder named by the
 * evidence must be the thread that served the concurrent holding request (`/lock` planted cpu).
 */
async function evaluate(label: string, dir: string, api: ApiProc, db: TestDatabase): Promise<Outcome> {
  const r = await upload(api.url, await folderParts(dir));
  const c = await waitSettled(api.url, r.body.captureId, 300_000);
  expect(c.error).toBeNull();
  const truth = JSON.parse(readFileSync(path.join(dir, 'ground-truth.json'), 'utf8')) as Truth;
  const rows = await db.query<Row>(
    `SELECT r.trace_id, r.dominant_cause, r.duration_ns::text, r.breakdown, r.evidence,
            r.thread_ids::text[] AS thread_ids, r.start_ns::text, r.end_ns::text,
            (SELECT b.thread_id::text FROM span_bindings b
              WHERE b.capture_id = r.capture_id AND b.span_id = r.span_id LIMIT 1) AS server_thread
     FROM requests r WHERE r.capture_id = $1 AND r.service IS DISTINCT FROM 'scenario-loadgen'`,
    [r.body.captureId],
  );
  const byTrace = new Map(rows.map((x) => [x.trace_id, x]));
  const ms = (v: string) => (Number(v) / 1e6).toFixed(1);
  for (const q of truth.requests) {
    const x = byTrace.get(q.traceId);
    const parts = x
      ? Object.entries(x.breakdown)
          .filter(([, v]) => v !== '0')
          .map(([k, v]) => `${k} ${ms(v)}`)
          .join(', ')
      : '';
    console.log(
      `${label} ${q.route.padEnd(18)} planted ${q.plantedCause.padEnd(10)} got ${(x?.dominant_cause ?? 'MISSING').padEnd(10)} ${x ? ms(x.duration_ns) : '-'} ms  ${parts}`,
    );
  }
  for (const x of rows) {
    const sum = Object.values(x.breakdown).reduce((a, v) => a + BigInt(v), 0n);
    expect(sum, x.trace_id).toBe(BigInt(x.duration_ns));
  }
  expect(truth.requests.filter((q) => !byTrace.has(q.traceId)).map((q) => q.route)).toEqual([]);
  const per = agreement(truth, rows);
  let n = 0;
  let ok = 0;
  for (const [cause, e] of per) {
    n += e.n;
    ok += e.ok;
    console.log(`${label} agreement ${cause}: ${e.ok}/${e.n}`);
  }
  console.log(`${label} agreement overall: ${ok}/${n} = ${((ok / Math.max(n, 1)) * 100).toFixed(0)} %`);

  // Lock holders.
  const holders: Holders = { n: 0, ok: 0, inChain: 0, most: 0 };
  const holding = truth.requests.filter((q) => q.route.startsWith('/lock') && q.plantedCause === 'cpu');
  for (const q of truth.requests.filter((x) => x.plantedCause === 'lock')) {
    const x = byTrace.get(q.traceId);
    const waits = x?.evidence.lock ?? [];
    if (!x || waits.length === 0) continue;
    const longest = [...waits].sort((a, b) => Number(BigInt(b.waitNs) - BigInt(a.waitNs)))[0];
    // The holding request is the /lock request in flight when this one started.
    const h = holding.find(
      (y) =>
        BigInt(y.clientStartNs) <= BigInt(q.clientStartNs) && BigInt(y.clientEndNs) > BigInt(q.clientStartNs),
    );
    const holderThread = h ? byTrace.get(h.traceId)?.server_thread : undefined;
    if (!holderThread) continue;
    holders.n++;
    const chain = longest?.chain.slice(1) ?? [];
    if (chain.includes(holderThread)) holders.inChain++;
    const held = (longest?.chainHeldNs ?? []).map(BigInt);
    const most = held.reduce((m, v, i) => (v > (held[m] ?? 0n) ? i : m), 0);
    if (chain[most] === holderThread) holders.most++;
    if (longest?.holderThreadId === holderThread) holders.ok++;
    else
      console.log(
        `${label} lock wait of ${q.traceId}: holder ${longest?.holderThreadId ?? 'none'} (${JSON.stringify(longest)}), the holding request ran on ${holderThread}`,
      );
  }
  console.log(
    `${label} lock waits naming the real holder: ${holders.ok}/${holders.n}; in the wait chain: ${holders.inChain}/${holders.n}; as the thread most of the wait was behind: ${holders.most}/${holders.n}`,
  );
  return { per, holders, captureId: r.body.captureId };
}

const overallOf = (per: Map<string, { n: number; ok: number }>) => {
  let n = 0;
  let ok = 0;
  for (const e of per.values()) {
    n += e.n;
    ok += e.ok;
  }
  return { n, ok, rate: ok / Math.max(1, n) };
};

describe('correlation on the scenario fixtures', () => {
  let db: TestDatabase;
  let api: ApiProc;
  beforeAll(async () => {
    ({ api, db } = await startTestApi('correlation'));
  });
  afterAll(async () => {
    await api?.stop();
    if (!process.env.THREADREEL_KEEP_DB) await db?.drop();
  });

  // The floors below are what this engine reaches today (issue 5 targets 90 % everywhere);
  // they keep regressions out.
  const FLOOR: Record<string, number> = { java: 0.9, python: 0.9, node: 0.8 };

  const withPairs = new Map<string, number>();
  it.each(['java', 'node', 'python'])(
    'fixture %s: requests, breakdowns summing to their durations, agreement with ground truth',
    async (scenario) => {
      const o = await evaluate(scenario, path.join(REPO_ROOT, 'test/fixtures/captures', scenario), api, db);
      add(o);
      withPairs.set(scenario, overallOf(o.per).rate);
      expect(overallOf(o.per).rate).toBeGreaterThanOrEqual(FLOOR[scenario] ?? 0);
      // Every planted lock wait of a fixture has its real holder in the wait chain, as the
      // thread most of the wait was behind (the named holder is the last releaser).
      expect(o.holders.inChain).toBe(o.holders.n);
      expect(o.holders.most).toBe(o.holders.n);
    },
    400_000,
  );

  it.each(['java', 'node', 'python'])(
    'fixture %s without its clock pairs: offsets inferred from evidence, agreement within 2 points',
    async (scenario) => {
      const src = path.join(REPO_ROOT, 'test/fixtures/captures', scenario);
      const dir = path.join(tempDir(`nopair-${scenario}`), scenario);
      cpSync(src, dir, { recursive: true });
      const manifestPath = path.join(dir, 'manifest.json');
      const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as {
        clocks?: { monotonicNs: string; realtimeNs: string; uncertaintyNs?: string }[];
      };
      // The truth: the manifest's tightest monotonic↔realtime pair (perf ran with -k mono).
      const pair = [...(manifest.clocks ?? [])].sort((a, b) =>
        BigInt(a.uncertaintyNs ?? '0') < BigInt(b.uncertaintyNs ?? '0') ? -1 : 1,
      )[0];
      if (!pair) throw new Error(`${scenario} fixture has no clock pair`);
      delete manifest.clocks;
      writeFileSync(manifestPath, JSON.stringify(manifest));
      const o = await evaluate(`${scenario} without clock pairs`, dir, api, db);
      const perf = await db.query<{ clock_offset_ns: string | null; clock_method: string | null }>(
        `SELECT clock_offset_ns::text, clock_method FROM source_files WHERE capture_id = $1 AND format = 'perf-script'`,
        [o.captureId],
      );
      const truth = BigInt(pair.realtimeNs) - BigInt(pair.monotonicNs);
      const err = perf[0]?.clock_offset_ns == null ? null : BigInt(perf[0].clock_offset_ns) - truth;
      console.log(
        `${scenario} without clock pairs: perf offset error ${err === null ? 'not placed' : `${err} ns`} (${perf[0]?.clock_method ?? '?'}), pair uncertainty ${pair.uncertaintyNs ?? '?'} ns`,
      );
      expect(err).not.toBeNull();
      const abs = err === null ? 0n : err < 0n ? -err : err;
      expect(abs).toBeLessThan(100_000n + BigInt(pair.uncertaintyNs ?? '0'));
      const rate = overallOf(o.per).rate;
      console.log(
        `${scenario} agreement with pairs ${((withPairs.get(scenario) ?? 0) * 100).toFixed(1)} %, without ${(rate * 100).toFixed(1)} %`,
      );
      expect(rate).toBeGreaterThanOrEqual((withPairs.get(scenario) ?? 1) - 0.02);
    },
    400_000,
  );

  describe.skipIf(unusable !== null && allowNoPerf)('fresh recordings made now', () => {
    it('perf and strace are usable (set THREADREEL_ALLOW_NO_PERF=1 to skip elsewhere)', () => {
      expect(unusable).toBeNull();
    });
    it.each(['python', 'java', 'node'])(
      'records the %s scenario and correlates it',
      async (scenario) => {
        const out = path.join(tempDir(`corr-${scenario}`), 'bundle');
        const run = await runScenario(scenario, out, 4);
        expect(run.code, run.output.slice(-3000)).toBe(0);
        const o = await evaluate(`fresh ${scenario}`, out, api, db);
        add(o);
        // A fresh run's timing varies (2 cores, strace overhead): a lower floor than the fixtures'.
        expect(overallOf(o.per).rate).toBeGreaterThanOrEqual((FLOOR[scenario] ?? 0) - 0.1);
      },
      400_000,
    );
  });

  it('prints the agreement over every capture evaluated above', () => {
    for (const [cause, e] of totals.per)
      console.log(`all captures agreement ${cause}: ${e.ok}/${e.n} = ${((e.ok / e.n) * 100).toFixed(0)} %`);
    const all = overallOf(totals.per);
    console.log(`all captures agreement overall: ${all.ok}/${all.n} = ${(all.rate * 100).toFixed(0)} %`);
    const h = totals.holders;
    console.log(
      `all captures lock waits naming the real holder: ${h.ok}/${h.n}; in the wait chain: ${h.inChain}/${h.n}; as the thread most of the wait was behind: ${h.most}/${h.n}`,
    );
    expect(all.n).toBeGreaterThan(0);
    // Issue 5 targets 90 % overall; measured 92–93 % here. The floor leaves room for one
    // unlucky fresh run on a loaded 2-core machine.
    expect(all.rate).toBeGreaterThanOrEqual(0.85);
    // Target 80 % (issue 5); the floor keeps regressions out without failing on one unlucky run.
    if (totals.holders.n > 0) expect(totals.holders.ok / totals.holders.n).toBeGreaterThanOrEqual(0.7);
    // The thread most of the wait was behind (the convoy's earlier holder): 24/24 here.
    if (totals.holders.n > 0) expect(totals.holders.most / totals.holders.n).toBeGreaterThanOrEqual(0.8);
  });
});
