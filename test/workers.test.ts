import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { captureCounts, createTestDatabase, type TestDatabase } from './support/database.js';
import { TEST_REDIS_URL } from './support/env.js';
import {
  queuePrefix,
  startApi,
  startWorker,
  tempDir,
  waitFor,
  type ApiProc,
  type Proc,
} from './support/processes.js';
import { upload, waitSettled } from './support/client.js';
import { writePerfScript } from './support/perf-gen.js';

/**
 * Worker processes on both queue backends: Redis, and BullMQ's PostgreSQL backend in
 * the data's own database. The API runs without processors (--no-workers), so only
 * the spawned workers parse.
 */
for (const backend of ['redis', 'postgres'] as const) {
  describe(`worker processes on the ${backend} queue backend`, () => {
    let db: TestDatabase;
    let api: ApiProc;
    let env: Record<string, string | undefined>;
    const workers: Proc[] = [];
    const data = tempDir(`workers-${backend}`);

    beforeAll(async () => {
      db = await createTestDatabase(`workers_${backend}`);
      env = {
        DATABASE_URL: db.url,
        REDIS_URL: backend === 'redis' ? TEST_REDIS_URL : undefined,
        DATA_DIR: path.join(data, 'data'),
        QUEUE_PREFIX: queuePrefix(),
        WORKER_CONCURRENCY: '1',
        JOB_LOCK_MS: '2000',
      };
      api = await startApi(env, ['--no-workers']);
    });
    afterAll(async () => {
      await Promise.all(workers.map((w) => w.kill()));
      await api?.stop();
      await db?.drop();
    });

    const counts = (captureId: string) => captureCounts(db, captureId);

    it('two worker processes share the parse jobs of an 8-file capture', async () => {
      const files: string[] = [];
      for (let i = 0; i < 8; i++) {
        const f = path.join(data, `part-${i}.perf.txt`);
        await writePerfScript(f, { samples: 15_000, seed: i + 1, pid: 5000 + i * 10, threads: 4 });
        files.push(f);
      }
      workers.push(startWorker(env), startWorker(env));
      for (const w of workers)
        await waitFor('worker ready', () => Promise.resolve(w.output().includes('processing jobs')), 60_000);
      const r = await upload(api.url, files);
      expect(r.status).toBe(202);
      const c = await waitSettled(api.url, r.body.captureId, 240_000);
      expect(c.state).toBe('ready');
      expect(c.sourceFiles.every((f) => f.state === 'parsed' && f.events === '15000')).toBe(true);
      const by = await db.query<{ parsed_by: string; n: number }>(
        `SELECT parsed_by, count(*)::int AS n FROM source_files WHERE capture_id = $1 GROUP BY 1`,
        [r.body.captureId],
      );
      const pids = workers.map((w) => String(w.proc.pid));
      expect(by.map((b) => b.parsed_by.split(':').pop()).sort()).toEqual([...pids].sort());
      expect((await counts(r.body.captureId)).samples).toBe(8 * 15_000);
      await Promise.all(workers.splice(0).map((w) => w.stop()));
    });

    it('a worker SIGKILLed mid-parse: the job is retried and the rows equal a clean run', async () => {
      const big = path.join(data, 'big.perf.txt');
      await writePerfScript(big, { samples: 200_000, seed: 99, threads: 6 });
      const manifest = (name: string) => ({
        name: 'manifest.json',
        data: JSON.stringify({ version: 1, name, files: [] }),
      });

      // Clean run.
      const cleanWorker = startWorker(env);
      workers.push(cleanWorker);
      await waitFor(
        'worker ready',
        () => Promise.resolve(cleanWorker.output().includes('processing jobs')),
        60_000,
      );
      const clean = await upload(api.url, [big, manifest('clean')]);
      expect((await waitSettled(api.url, clean.body.captureId, 240_000)).state).toBe('ready');
      await cleanWorker.stop();
      const expected = await counts(clean.body.captureId);
      expect(expected.samples).toBe(200_000);

      // Killed run: the same bytes under another manifest, so another capture.
      const victim = startWorker(env);
      workers.push(victim);
      const killed = await upload(api.url, [big, manifest('killed')]);
      await waitFor(
        'the parse job to be mid-way',
        async () => {
          const rows = await db.query<{ state: string }>(
            `SELECT state FROM source_files WHERE capture_id = $1 AND name = 'big.perf.txt'`,
            [killed.body.captureId],
          );
          return rows[0]?.state === 'parsing';
        },
        120_000,
        20,
      );
      await new Promise((r) => setTimeout(r, 300));
      await victim.kill();
      const midway = await db.query<{ state: string }>(
        `SELECT state FROM source_files WHERE capture_id = $1 AND name = 'big.perf.txt'`,
        [killed.body.captureId],
      );
      expect(midway[0]!.state).toBe('parsing');

      const rescuer = startWorker(env);
      workers.push(rescuer);
      const done = await waitSettled(api.url, killed.body.captureId, 240_000);
      expect(done.state).toBe('ready');
      const file = done.sourceFiles.find((f) => f.name === 'big.perf.txt')!;
      expect(file.events).toBe('200000');
      const attempts = await db.query<{ attempts: number }>(
        `SELECT attempts FROM source_files WHERE id = $1`,
        [file.id],
      );
      expect(attempts[0]!.attempts).toBeGreaterThanOrEqual(2);
      expect(await counts(killed.body.captureId)).toEqual(expected);
      await rescuer.stop();
    });
  });
}
