import { execFile } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import type { TestDatabase } from './support/database.js';
import { CLI_MAIN, SHARED_DIR } from './support/env.js';
import { startTestApi, tempDir, type ApiProc } from './support/processes.js';

const run = (args: string[]) =>
  new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, [CLI_MAIN, ...args], { timeout: 120_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });

/** The `threadreel` command against a real API. */
describe('threadreel CLI', () => {
  let db: TestDatabase;
  let api: ApiProc;
  const dir = tempDir('cli');

  beforeAll(async () => {
    ({ api, db } = await startTestApi('cli'));
  });
  afterAll(async () => {
    await api?.stop();
    await db?.drop();
  });

  it('uploads a perf file, waits until ready and exits 0', async () => {
    const input = path.join(SHARED_DIR, 'conformance/flamegraph-perf/input/perf-js-stacks-01.txt');
    const r = await run(['upload', input, '--server', api.url]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/[0-9a-f-]{36}/);
    expect(r.stdout).toContain('perf-js-stacks-01.txt');
  });

  it('exits 1 and prints the per-file error when a file cannot be parsed', async () => {
    const bad = path.join(dir, 'garbage.bin');
    writeFileSync(bad, Buffer.from(Array.from({ length: 2048 }, (_, i) => (i * 31) % 256)));
    const r = await run(['upload', bad, '--server', api.url]);
    expect(r.code).toBe(1);
    expect(r.stdout + r.stderr).toContain('unrecognised format: binary data');
  });

  it('loads the demo capture', async () => {
    const r = await run(['demo', '--server', api.url]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`${api.url}/#/captures/`);
  });

  it('exits 3 when the server is unreachable and 2 on a usage error', async () => {
    expect(
      (await run(['upload', path.join(dir, 'garbage.bin'), '--server', 'http://127.0.0.1:9'])).code,
    ).toBe(3);
    expect((await run(['upload'])).code).toBe(2);
  });
});
