import { openAsBlob, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SourceFileReport } from '@threadreel/model';
import type { TestDatabase } from './support/database.js';
import { REPO_ROOT } from './support/env.js';
import { startTestApi, type ApiProc } from './support/processes.js';
import { upload, waitSettled } from './support/client.js';

/**
 * Raw files uploaded with no manifest, as users have them (test/fixtures/formats/*: recorded on a
 * real machine): each is detected from its content alone and parsed or kept, none fails.
 */

const FORMATS = path.join(REPO_ROOT, 'test/fixtures/formats');

/** Upload name → fixture path. The names say nothing about the format. */
const FILES: Record<string, string> = {
  'a.txt': 'thread-list/proc-task-tab.tsv',
  'b.txt': 'thread-list/ps-Lf.txt',
  'c.txt': 'thread-list/cat-task-status.txt',
  'd.txt': 'python-gc/start-stop-ts_ns-tid.jsonl',
  'e.txt': 'python-gc/one-line-start-duration.jsonl',
  'f.txt': 'perf-map/node-perf-basic-prof.map',
  'g.txt': 'perf-header/report-header-only-mono.txt',
  'h.txt': 'perf-header/script-header-default.txt',
  'i.txt': 'perf-header/script-header-mono.txt',
};

describe('raw files with no manifest are detected from their content', () => {
  let db: TestDatabase;
  let api: ApiProc;
  let files: Map<string, SourceFileReport>;
  let captureId: string;

  beforeAll(async () => {
    ({ api, db } = await startTestApi('formats'));
    const parts = await Promise.all(
      Object.entries(FILES).map(async ([name, rel]) => ({
        name,
        data: await openAsBlob(path.join(FORMATS, rel)),
      })),
    );
    const r = await upload(api.url, parts);
    expect(r.status).toBe(202);
    captureId = r.body.captureId;
    const c = await waitSettled(api.url, captureId, 180_000);
    files = new Map(c.sourceFiles.map((f) => [f.name, f]));
  });
  afterAll(async () => {
    await api?.stop();
    await db?.drop();
  });

  const headersOf = async (name: string): Promise<Record<string, string>> => {
    const [row] = await db.query<{ headers: Record<string, string> }>(
      `SELECT headers FROM source_files WHERE capture_id = $1 AND name = $2`,
      [captureId, name],
    );
    return row?.headers ?? {};
  };

  it('thread listings: parsed as thread-list into thread sightings (no clock)', async () => {
    for (const name of ['a.txt', 'b.txt', 'c.txt']) {
      const f = files.get(name);
      expect(f, name).toMatchObject({
        state: 'parsed',
        format: 'thread-list',
        rejectedCount: '0',
        clock: null,
      });
      expect(f?.detected.format).toBe('thread-list');
    }
    const rows = await db.query<{ n: number; named: number; withPid: number }>(
      `SELECT count(*)::int AS n, count(s.name)::int AS named, count(s.pid)::int AS "withPid"
         FROM thread_sightings s JOIN source_files f ON f.capture_id = s.capture_id AND f.ordinal = s.file_ordinal
        WHERE s.capture_id = $1 AND f.name = $2`,
      [captureId, 'a.txt'],
    );
    expect(rows[0]).toEqual({ n: 7, named: 7, withPid: 0 });
    // The worker threads are in the capture's threads, named by their comm.
    const threads = await db.query<{ names: string[] }>(
      `SELECT names FROM threads WHERE capture_id = $1 AND 'worker 1' = ANY(names)`,
      [captureId],
    );
    expect(threads).toHaveLength(1);
  });

  it('gc callback logs: python-gc-jsonl, realtime and monotonic rows', async () => {
    for (const name of ['d.txt', 'e.txt'])
      expect(files.get(name), name).toMatchObject({
        state: 'parsed',
        format: 'python-gc-jsonl',
        rejectedCount: '0',
      });
    const clocks = await db.query<{ name: string; clock: string }>(
      `SELECT DISTINCT f.name, g.clock FROM gc_events g JOIN source_files f ON f.capture_id = g.capture_id AND f.ordinal = g.file_ordinal
        WHERE g.capture_id = $1 ORDER BY f.name`,
      [captureId],
    );
    expect(clocks).toEqual([
      { name: 'd.txt', clock: 'realtime' },
      { name: 'e.txt', clock: 'monotonic' },
    ]);
  });

  it('a perf map is stored as perf-map with the manifest’s note, not failed', () => {
    const f = files.get('f.txt');
    expect(f).toMatchObject({ state: 'stored', format: 'perf-map', error: null });
    expect(f?.detected.format).toBe('perf-map');
    expect(f?.note).toMatch(/^stored unparsed \(perf-map\): .*START SIZE symbol.*JIT frames/);
  });

  it('a perf header alone is perf-header; perf clock and reference pair in the headers of both perf formats', async () => {
    expect(files.get('g.txt')).toMatchObject({ state: 'parsed', format: 'perf-header', clock: 'monotonic' });
    expect(files.get('h.txt')).toMatchObject({
      state: 'parsed',
      format: 'perf-script',
      clock: 'perf-default',
    });
    expect(files.get('i.txt')).toMatchObject({ state: 'parsed', format: 'perf-script', clock: 'monotonic' });
    const raw = readFileSync(path.join(FORMATS, FILES['g.txt'] ?? ''), 'utf8');
    const ref = /= (\d+)\.(\d{6}) \(TOD\) = (\d+)\.(\d{9}) \(monotonic\)$/m.exec(raw);
    for (const name of ['g.txt', 'i.txt']) {
      const h = await headersOf(name);
      expect(h, name).toMatchObject({
        clockid: 'monotonic',
        clockidFrom: 'clockid line',
        clockRefTodNs: `${ref?.[1] ?? ''}${ref?.[2] ?? ''}000`,
        clockRefClockNs: BigInt(`${ref?.[3] ?? ''}${ref?.[4] ?? ''}`).toString(),
        hostname: /^# hostname : (.*)$/m.exec(raw)?.[1],
      });
      expect(h['captured on'], name).toMatch(/\d\d:\d\d:\d\d/);
      expect(h['cmdline'], name).toMatch(/perf record .*-k mono/);
    }
    expect(await headersOf('h.txt')).toMatchObject({
      clockid: 'perf-default',
      clockidFrom: 'header without clock',
    });
  });

  it('nothing failed', () => {
    for (const [name, f] of files) expect([name, f.state, f.error]).not.toContain('failed');
  });
});
