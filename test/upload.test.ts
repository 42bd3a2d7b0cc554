import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { create as tarCreate } from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { captureCounts, type TestDatabase } from './support/database.js';
import { SHARED_DIR } from './support/env.js';
import { startTestApi, tempDir, type ApiProc } from './support/processes.js';
import { capture, upload, waitSettled } from './support/client.js';

const perfInput = path.join(SHARED_DIR, 'conformance/flamegraph-perf/input/perf-funcab-cmd-01.txt');

describe('capture upload', () => {
  let db: TestDatabase;
  let api: ApiProc;

  beforeAll(async () => {
    ({ api, db } = await startTestApi('upload', { UPLOAD_LIMIT: '1mb' }));
  });
  afterAll(async () => {
    await api?.stop();
    await db?.drop();
  });

  const alive = async () => {
    const r = await fetch(`${api.url}/api/health`);
    expect(r.status).toBe(200);
  };
  const counts = (captureId: string) => captureCounts(db, captureId);

  it('parses a perf file, and the same bytes again are the same capture with the same rows', async () => {
    const first = await upload(api.url, [perfInput]);
    expect(first.status).toBe(202);
    const ready = await waitSettled(api.url, first.body.captureId);
    expect(ready.state).toBe('ready');
    const file = ready.sourceFiles[0]!;
    expect(file.format).toBe('perf-script');
    expect(Number(file.events)).toBe(169);
    expect(Number(file.lines)).toBeGreaterThan(169);
    const before = await counts(first.body.captureId);
    expect(before.samples).toBe(169);

    const again = await upload(api.url, [perfInput]);
    expect(again.status).toBe(202);
    expect(again.body.captureId).toBe(first.body.captureId);
    expect(again.body.duplicates).toEqual(['perf-funcab-cmd-01.txt']);
    await waitSettled(api.url, again.body.captureId);
    expect(await counts(first.body.captureId)).toEqual(before);
    const all = (await (await fetch(`${api.url}/api/captures`)).json()) as { id: string }[];
    expect(all.filter((c) => c.id === first.body.captureId)).toHaveLength(1);
  });

  it('rejects an empty file with a clear 400', async () => {
    const r = await upload(api.url, [{ name: 'empty.txt', data: '' }]);
    expect(r.status).toBe(400);
    expect(r.body.message).toContain('empty.txt: empty file (0 bytes)');
    await alive();
  });

  it('reports binary garbage as a per-file error and still ingests the other files', async () => {
    const garbage = new Uint8Array(4096);
    for (let i = 0; i < garbage.length; i++) garbage[i] = (i * 7919) % 256;
    const r = await upload(api.url, [{ name: 'garbage.bin', data: garbage }, perfInput], '?name=mixed');
    expect(r.status).toBe(202);
    const c = await waitSettled(api.url, r.body.captureId);
    // Usable (the perf file), with the failed file listed: degraded, not ready.
    expect(c.state).toBe('degraded');
    expect(c.degradedParts).toEqual([
      expect.objectContaining({
        stage: 'parse',
        file: 'garbage.bin',
        reason: expect.stringMatching(/unrecognised format/),
      }),
    ]);
    const bad = c.sourceFiles.find((f) => f.name === 'garbage.bin')!;
    expect(bad.state).toBe('failed');
    expect(bad.error).toMatch(/garbage\.bin: unrecognised format: binary data/);
    const good = c.sourceFiles.find((f) => f.name === 'perf-funcab-cmd-01.txt')!;
    expect(good.events).toBe('169');
    expect(c.error).toContain('1 of 2 files failed');
    await alive();
  });

  it('keeps what a truncated gzip held and says where it broke', async () => {
    const gz = gzipSync(readFileSync(perfInput));
    const cut = gz.subarray(0, Math.floor(gz.length * 0.6));
    const r = await upload(api.url, [{ name: 'cut.txt.gz', data: cut }]);
    expect(r.status).toBe(202);
    const c = await waitSettled(api.url, r.body.captureId);
    expect(c.state).toBe('degraded');
    expect(c.degradedParts.map((p) => [p.stage, p.file])).toEqual([['parse', 'cut.txt.gz']]);
    const f = c.sourceFiles[0]!;
    expect(f.error).toMatch(/cut\.txt\.gz: line \d+: .*(truncated|unexpected end)/i);
    expect(Number(f.events)).toBeGreaterThan(0);
    expect(Number(f.events)).toBeLessThan(169);
    await alive();
  });

  it('refuses a bundle whose paths escape its folder', async () => {
    const root = tempDir('bundle');
    mkdirSync(path.join(root, 'inner'));
    writeFileSync(path.join(root, 'evil.txt'), 'x');
    const bundle = path.join(root, 'evil.tar.gz');
    await tarCreate({ gzip: true, file: bundle, cwd: path.join(root, 'inner'), preservePaths: true }, [
      '../evil.txt',
    ]);
    const r = await upload(api.url, [bundle]);
    expect(r.status).toBe(400);
    expect(r.body.message).toContain('bundle path escapes its folder: "../evil.txt"');
    await alive();
  });

  it('accepts a bundle of files with a manifest, and refuses a truncated bundle', async () => {
    const bundledManifest = {
      version: 1,
      name: 'bundled',
      files: [{ path: 'perf.txt', role: 'perf', format: 'perf-script', clock: 'perf-default' }],
    };
    const root = tempDir('bundle-ok');
    mkdirSync(path.join(root, 'cap'));
    writeFileSync(path.join(root, 'cap', 'perf.txt'), readFileSync(perfInput));
    writeFileSync(path.join(root, 'cap', 'manifest.json'), JSON.stringify(bundledManifest));
    const bundle = path.join(root, 'cap.tar.gz');
    await tarCreate({ gzip: true, file: bundle, cwd: root }, ['cap']);
    const r = await upload(api.url, [bundle]);
    expect(r.status).toBe(202);
    const c = await waitSettled(api.url, r.body.captureId);
    expect(c.name).toBe('bundled');
    expect(c.manifest).toEqual(bundledManifest);
    expect(c.sourceFiles.map((f) => f.name).sort()).toEqual(['cap/manifest.json', 'cap/perf.txt']);
    expect(c.sourceFiles.find((f) => f.name === 'cap/perf.txt')!.events).toBe('169');

    const bytes = readFileSync(bundle);
    const cutBundle = bytes.subarray(0, Math.floor(bytes.length / 2));
    const t = await upload(api.url, [{ name: 'cut.tar.gz', data: cutBundle }]);
    expect(t.status).toBe(400);
    expect(t.body.message).toMatch(/cut\.tar\.gz: truncated or corrupt bundle/);

    // Cut inside one large entry's data (incompressible bytes): the entry never ends, and
    // the upload must still be answered.
    writeFileSync(path.join(root, 'cap', 'big.bin'), randomBytes(512 * 1024));
    const bigBundle = path.join(root, 'big.tar.gz');
    await tarCreate({ gzip: true, file: bigBundle, cwd: root }, ['cap']);
    const big = readFileSync(bigBundle);
    const midEntry = await upload(api.url, [
      { name: 'mid.tar.gz', data: big.subarray(0, Math.floor(big.length * 0.6)) },
    ]);
    expect(midEntry.status).toBe(400);
    expect(midEntry.body.message).toMatch(/mid\.tar\.gz: truncated or corrupt bundle/);
    await alive();
  });

  it('refuses uploads over the size limit with 413, invalid manifests and non-multipart bodies with 400', async () => {
    const big = new Uint8Array(1024 * 1024 + 10).fill(65);
    const r = await upload(api.url, [{ name: 'big.txt', data: big }]);
    expect(r.status).toBe(413);
    expect(r.body.message).toContain('UPLOAD_LIMIT');
    await alive();

    const m = await upload(api.url, [{ name: 'manifest.json', data: '{"version": 1,' }, perfInput]);
    expect(m.status).toBe(400);
    expect(m.body.message).toMatch(/manifest\.json: invalid manifest: .*JSON/);
    const wrong = JSON.stringify({ version: 1, files: [{ path: 'perf.txt', role: 'flamegraph' }] });
    const w = await upload(api.url, [{ name: 'manifest.json', data: wrong }, perfInput]);
    expect(w.status).toBe(400);
    expect(w.body.message).toContain(
      'manifest.json: invalid manifest: files/0/role: must be one of perf, perf-map',
    );

    const j = await fetch(`${api.url}/api/captures`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(j.status).toBe(400);
    expect(((await j.json()) as { message: string }).message).toContain('multipart/form-data');

    const none = await fetch(`${api.url}/api/captures/not-a-uuid`);
    expect(none.status).toBe(400);
    const missing = await fetch(`${api.url}/api/captures/00000000-0000-4000-8000-000000000000`);
    expect(missing.status).toBe(404);
    await alive();
  });

  it('deletes a capture by dropping its partitions', async () => {
    const r = await upload(api.url, [perfInput], '?name=to-delete');
    // Same bytes as the first test: same capture. Make it distinct with a manifest.
    const m = await upload(api.url, [
      perfInput,
      { name: 'manifest.json', data: '{"version":1,"name":"to-delete","files":[]}' },
    ]);
    expect(r.status).toBe(202);
    const id = m.body.captureId;
    await waitSettled(api.url, id);
    const suffix = id.replace(/-/g, '');
    const parts = async () =>
      (
        await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_class WHERE relname LIKE $1`, [
          `%_${suffix}`,
        ])
      )[0]!.n;
    expect(await parts()).toBeGreaterThanOrEqual(3);
    const del = await fetch(`${api.url}/api/captures/${id}`, { method: 'DELETE' });
    expect(del.status).toBe(204);
    expect(await parts()).toBe(0);
    expect((await counts(id)).files).toBe(0);
    expect((await fetch(`${api.url}/api/captures/${id}`)).status).toBe(404);
    // The first capture, sharing the perf file's bytes, is untouched and still readable.
    const first = await capture(api.url, r.body.captureId);
    expect(first.state).toBe('ready');
  });
});
