import { openAsBlob, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestDatabase } from './support/database.js';
import { REPO_ROOT } from './support/env.js';
import { startTestApi, type ApiProc } from './support/processes.js';
import { upload, waitSettled } from './support/client.js';

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
  breakdown: Record<string, string>;
  evidence: { lock?: { holderThreadId: string | null }[] };
  thread_ids: string[];
}

async function folderParts(dir: string): Promise<{ name: string; data: Blob }[]> {
  const files = readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name !== 'README.md')
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)));
  return Promise.all(files.map(async (f) => ({ name: f, data: await openAsBlob(path.join(dir, f)) })));
}

/** Agreement of dominant causes with the planted ones, per cause, printed and returned. */
export function agreement(truth: Truth, rows: readonly Row[]): Map<string, { n: number; ok: number }> {
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

  it.each(['java', 'node', 'python'])(
    '%s: requests, breakdowns summing to their durations, agreement with ground truth',
    async (scenario) => {
      const dir = path.join(REPO_ROOT, 'test/fixtures/captures', scenario);
      const r = await upload(api.url, await folderParts(dir));
      const c = await waitSettled(api.url, r.body.captureId, 300_000);
      expect(c.error).toBeNull();
      const truth = JSON.parse(readFileSync(path.join(dir, 'ground-truth.json'), 'utf8')) as Truth;
      const rows = await db.query<Row>(
        `SELECT trace_id, dominant_cause, duration_ns::text, breakdown, evidence, thread_ids::text[] AS thread_ids
         FROM requests WHERE capture_id = $1`,
        [r.body.captureId],
      );
      const byTrace = new Map(rows.map((x) => [x.trace_id, x]));
      for (const q of truth.requests) {
        const x = byTrace.get(q.traceId);
        console.log(
          `${scenario} ${q.route.padEnd(18)} planted ${q.plantedCause.padEnd(10)} got ${(x?.dominant_cause ?? 'MISSING').padEnd(10)} ${x ? (Number(x.duration_ns) / 1e6).toFixed(1) : '-'} ms ${
            x
              ? JSON.stringify(
                  Object.fromEntries(
                    Object.entries(x.breakdown)
                      .filter(([, v]) => v !== '0')
                      .map(([k, v]) => [k, (Number(v) / 1e6).toFixed(1)]),
                  ),
                )
              : ''
          }`,
        );
      }
      for (const x of rows) {
        const sum = Object.values(x.breakdown).reduce((a, v) => a + BigInt(v), 0n);
        expect(sum, x.trace_id).toBe(BigInt(x.duration_ns));
      }
      const per = agreement(truth, rows);
      let n = 0;
      let ok = 0;
      for (const [cause, e] of per) {
        n += e.n;
        ok += e.ok;
        console.log(`${scenario} agreement ${cause}: ${e.ok}/${e.n}`);
      }
      console.log(
        `${scenario} agreement overall: ${ok}/${n} = ${((ok / Math.max(n, 1)) * 100).toFixed(0)} %`,
      );
      expect(rows.length).toBeGreaterThan(0);
    },
    400_000,
  );
});
