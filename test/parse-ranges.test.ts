import { appendFileSync, createReadStream, createWriteStream, statSync } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestDatabase } from './support/database.js';
import { startTestApi, tempDir, type ApiProc } from './support/processes.js';
import { upload, waitSettled } from './support/client.js';
import { writePerfScript } from './support/perf-gen.js';

const SAMPLES = 240_000;

/**
 * A perf script file over 48 MiB is parsed as 32 MiB byte ranges by parallel jobs. The same
 * bytes gzipped cannot be cut, so they are parsed whole: both captures must hold the same
 * rows, counts, rejected lines (with their line numbers) and headers.
 */
describe('a large perf script file parsed in byte ranges', () => {
  let db: TestDatabase;
  let api: ApiProc;
  const dir = tempDir('ranges');
  const plain = path.join(dir, 'big.perf.txt');
  const gz = `${plain}.gz`;

  beforeAll(async () => {
    ({ api, db } = await startTestApi('ranges'));
    await writePerfScript(plain, { samples: SAMPLES, threads: 12, seed: 3 });
    // A broken record in the last range: its line number must come out the same.
    appendFileSync(plain, 'not a perf header at all\n\tffff bogus (x)\n\n');
    await pipeline(createReadStream(plain), createGzip(), createWriteStream(gz));
  }, 120_000);
  afterAll(async () => {
    await api?.stop();
    await db?.drop();
  });

  it('stores exactly the rows of an unsplit parse, with true line numbers', async () => {
    expect(statSync(plain).size).toBeGreaterThan(64 * 1024 * 1024);
    const ids: string[] = [];
    for (const file of [plain, gz]) {
      const r = await upload(api.url, [file]);
      expect(r.status).toBe(202);
      ids.push(r.body.captureId);
    }
    const [split, whole] = await Promise.all(ids.map((id) => waitSettled(api.url, id, 600_000)));
    // Degraded, not ready: the broken record is a lost line.
    for (const c of [split, whole]) {
      expect(c?.state).toBe('degraded');
      expect(c?.degradedParts.map((p) => p.stage)).toEqual(['parse']);
    }
    const fileOf = (c: typeof split) => c?.sourceFiles[0];
    const report = (c: typeof split) => {
      const f = fileOf(c);
      return { events: f?.events, lines: f?.lines, rejected: f?.rejected, clock: f?.clock, state: f?.state };
    };
    expect(report(split)).toEqual(report(whole));
    expect(fileOf(split)?.events).toBe(String(SAMPLES));
    expect(fileOf(split)?.rejected).toEqual([
      expect.objectContaining({ line: Number(fileOf(split)?.lines) - 2 }),
    ]);

    // The split capture really was parsed in ranges: one per 32 MiB, all of one attempt.
    const ranges = await db.query<{ n: number; g: number }>(
      `SELECT count(*)::int AS n, count(DISTINCT generation)::int AS g
       FROM source_file_ranges r JOIN source_files f ON f.id = r.file_id WHERE f.capture_id = $1`,
      [ids[0]],
    );
    expect(ranges[0]).toEqual({ n: 3, g: 1 });
    const none = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM source_file_ranges r JOIN source_files f ON f.id = r.file_id
       WHERE f.capture_id = $1`,
      [ids[1]],
    );
    expect(none[0]?.n).toBe(0);

    // Rows by content (thread ids are per capture; stack ids derive from content).
    const digest = async (captureId: string | undefined) =>
      db.query<{ rows: number; sum: string }>(
        `SELECT count(*)::int AS rows, md5(string_agg(concat_ws(' ', t.tid, s.time_ns, s.stack_id, s.weight, s.cpu,
                  e.value, c.value), ',' ORDER BY s.time_ns, t.tid, s.stack_id)) AS sum
         FROM samples s JOIN threads t ON t.id = s.thread_id
         JOIN capture_strings e ON e.capture_id = s.capture_id AND e.id = s.event_id
         JOIN capture_strings c ON c.capture_id = s.capture_id AND c.id = s.comm_id
         WHERE s.capture_id = $1`,
        [captureId],
      );
    const [a, b] = await Promise.all(ids.map(digest));
    expect(a?.[0]?.rows).toBe(SAMPLES);
    expect(a).toEqual(b);
    const tree = async (captureId: string | undefined) =>
      db.query<{ frames: number; stacks: number }>(
        `SELECT (SELECT count(*)::int FROM frames WHERE capture_id = $1) AS frames,
                (SELECT count(*)::int FROM stacks WHERE capture_id = $1) AS stacks`,
        [captureId],
      );
    expect(await tree(ids[0])).toEqual(await tree(ids[1]));
  }, 900_000);
});
