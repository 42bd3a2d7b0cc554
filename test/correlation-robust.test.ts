import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ThreadMapDto } from '@threadreel/model';
import type { TestDatabase } from './support/database.js';
import { REPO_ROOT } from './support/env.js';
import { startTestApi, tempDir, type ApiProc } from './support/processes.js';
import { folderParts, upload, waitSettled } from './support/client.js';

/** Odd inputs that once made correlation throw, each through a real upload. */
describe('correlation of odd captures', () => {
  let db: TestDatabase;
  let api: ApiProc;
  beforeAll(async () => {
    ({ api, db } = await startTestApi('corr_robust'));
  });
  afterAll(async () => {
    await api?.stop();
    await db?.drop();
  });

  const threadMap = async (id: string): Promise<ThreadMapDto> =>
    (await (await fetch(`${api.url}/api/captures/${id}/thread-map`)).json()) as ThreadMapDto;

  it('a tid that only strace saw (no source names it) gets a thread with no names', async () => {
    // Regression: resolveThreads set names to array_agg over no row (NULL) and the whole
    // correlation failed on `null value in column "names" of relation "threads"`.
    const strace = [
      '4242  1795303749.276186 read(3</tmp/x>, "abc", 3) = 3 <0.000010>',
      '4242  1795303749.286186 nanosleep({tv_sec=0, tv_nsec=1000000}, NULL) = 0 <0.001050>',
      '4243  1795303749.296186 write(1</dev/pts/0>, "x", 1) = 1 <0.000012>',
    ];
    const r = await upload(api.url, [{ name: 'strace.txt', data: `${strace.join('\n')}\n` }]);
    expect(r.status).toBe(202);
    const c = await waitSettled(api.url, r.body.captureId);
    // Correlated: the threads no source names are what degraded, nothing else.
    expect(c.state).toBe('degraded');
    expect(c.degradedParts).toEqual([
      {
        stage: 'threads',
        file: null,
        source: null,
        thread: null,
        reason:
          'no source names it (no perf comm, thread map, jstack or JFR entry): known by its tid only (2 threads: tid 4242, 4243)',
      },
    ]);
    const map = await threadMap(r.body.captureId);
    expect(map.threads.map((t) => [t.tid, t.names])).toEqual([
      [4242, []],
      [4243, []],
    ]);
  });

  it('the java fixture without its thread map and jstack, strace seeing a tid nothing else names', async () => {
    const dir = path.join(tempDir('corr-robust'), 'java');
    cpSync(path.join(REPO_ROOT, 'test/fixtures/captures/java'), dir, { recursive: true });
    for (const f of ['threads.jsonl', 'jstack-start.txt', 'jstack-end.txt']) rmSync(path.join(dir, f));
    const manifestPath = path.join(dir, 'manifest.json');
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { files: { path: string }[] };
    manifest.files = manifest.files.filter((f) => !/threads|jstack/.test(f.path));
    writeFileSync(manifestPath, JSON.stringify(manifest, null, 2));
    const stracePath = path.join(dir, 'strace.txt.gz');
    const lines = gunzipSync(readFileSync(stracePath)).toString('utf8').split('\n');
    const t = /^\d+\s+(\d+\.\d+)/.exec(lines[10] ?? '')?.[1] ?? '0';
    lines.splice(11, 0, `99999 ${t} getpid() = 1516 <0.000005>`);
    writeFileSync(stracePath, gzipSync(lines.join('\n')));

    const r = await upload(api.url, await folderParts(dir));
    const c = await waitSettled(api.url, r.body.captureId, 300_000);
    expect(c.state).toBe('degraded');
    expect(c.degradedParts.map((p) => p.stage)).toEqual(['threads']);
    expect(String(c.degradedParts[0]?.thread?.tid ?? c.degradedParts[0]?.reason)).toMatch(/99999/);
    const lone = (await threadMap(r.body.captureId)).threads.find((x) => x.tid === 99999);
    expect(lone?.names).toEqual([]);
    const rows = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM requests WHERE capture_id = $1`,
      [r.body.captureId],
    );
    expect(rows[0]?.n).toBeGreaterThan(0);
  });
});
