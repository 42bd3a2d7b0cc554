import { readdirSync } from 'node:fs';
import path from 'node:path';
import { createConnection } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from './support/env.js';
import { freePort, startApi, tempDir, type ApiProc } from './support/processes.js';
import { text, upload, waitSettled } from './support/client.js';

const demoDir = path.join(REPO_ROOT, 'test/fixtures/demo');

const portOpen = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = createConnection({ port, host: '127.0.0.1' });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });

/** The laptop default: no DATABASE_URL, no REDIS_URL → embedded PostgreSQL + BullMQ on PostgreSQL. */
describe('embedded defaults (no DATABASE_URL, no REDIS_URL)', () => {
  let api: ApiProc | undefined;
  afterAll(async () => {
    await api?.stop();
  });

  it('starts an embedded PostgreSQL, processes a capture on the PostgreSQL queue, stops cleanly and keeps data across restarts', async () => {
    const dataDir = path.join(tempDir('embedded'), 'data');
    const pgPort = await freePort();
    const env = { DATA_DIR: dataDir, EMBEDDED_PG_PORT: String(pgPort) };
    api = await startApi(env);
    const health = (await (await fetch(`${api.url}/api/health`)).json()) as { queue: string };
    expect(health.queue).toBe('postgres');

    const files = readdirSync(demoDir)
      .filter((f) => f !== 'README.md')
      .map((f) => path.join(demoDir, f));
    const r = await upload(api.url, files);
    expect(r.status).toBe(202);
    const c = await waitSettled(api.url, r.body.captureId);
    expect(c.state).toBe('ready');
    const folded = await text(`${api.url}/api/captures/${r.body.captureId}/folded?groupBy=tid`);
    expect(folded.status).toBe(200);
    expect(folded.body.trim().split('\n').length).toBeGreaterThan(5);

    expect(await portOpen(pgPort)).toBe(true);
    // A clean SIGTERM exit: 0 or 128+15, never null (null would mean it had to be SIGKILLed).
    expect([0, 143]).toContain(await api.stop());
    api = undefined;
    expect(await portOpen(pgPort)).toBe(false);

    api = await startApi(env);
    const again = await (await fetch(`${api.url}/api/captures/${r.body.captureId}`)).json();
    expect((again as { state: string }).state).toBe('ready');
  });
});
