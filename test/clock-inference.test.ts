import { openAsBlob, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CaptureDetail } from '@threadreel/model';
import { segmentRows, type TestDatabase } from './support/database.js';
import { REPO_ROOT } from './support/env.js';
import { startTestApi, type ApiProc } from './support/processes.js';
import { upload, waitSettled } from './support/client.js';

/**
 * Clocks from evidence, through the real API, with no manifest: perf placed by its own
 * reference pair printed in a `perf report --header-only` file uploaded beside the script, and
 * two sources that saw no moment in common left unplaced with the reason, not given a guess.
 */

const fixture = (rel: string) => path.join(REPO_ROOT, 'test/fixtures', rel);

async function part(name: string, rel: string): Promise<{ name: string; data: Blob }> {
  return { name, data: await openAsBlob(fixture(rel)) };
}

function perfFile(c: CaptureDetail) {
  const f = c.sourceFiles.find((x) => x.format === 'perf-script');
  if (!f) throw new Error(`no perf-script file in ${c.sourceFiles.map((x) => x.name).join(', ')}`);
  return f;
}

describe('clock inference from evidence (no manifest)', () => {
  let db: TestDatabase;
  let api: ApiProc;
  beforeAll(async () => {
    ({ api, db } = await startTestApi('clocks'));
  });
  afterAll(async () => {
    await api?.stop();
    await db?.drop();
  });

  it('perf script without a header is placed by the reference pair of perf report --header-only beside it', async () => {
    // perf-header-pair/record.sh: CLOCK_MONOTONIC and CLOCK_REALTIME read back to back just
    // before `perf record -k mono` started: the truth (perf prints its TOD to the µs).
    const [mono, real] = readFileSync(fixture('formats/perf-header-pair/clock-pair.txt'), 'utf8')
      .trim()
      .split(/\s+/);
    const truth = BigInt(real ?? '0') - BigInt(mono ?? '0');
    const r = await upload(api.url, [
      await part('samples.txt', 'formats/perf-header-pair/perf.script.txt'),
      await part('header.txt', 'formats/perf-header-pair/perf-report-header.txt'),
    ]);
    expect(r.status).toBe(202);
    const c = await waitSettled(api.url, r.body.captureId);
    const header = c.sourceFiles.find((x) => x.name === 'header.txt');
    expect(header?.format).toBe('perf-header');
    expect(header?.rejectedCount).toBe('0');
    const perf = perfFile(c);
    expect(perf.clockMethod).toMatch(/reference time.*header file header\.txt/);
    expect(perf.clockEvidence).toMatchObject({ clockid: 'monotonic', headerFile: 'header.txt' });
    const err = BigInt(perf.clockOffsetNs ?? '0') - truth;
    console.log(`perf offset from its header file: ${err} ns from the clock pair read before recording`);
    expect(perf.clockOffsetNs).not.toBeNull();
    expect(err < 0n ? -err : err).toBeLessThan(100_000n);
    // The samples land on the epoch axis: their thread has on-CPU time in the capture's range.
    await segmentRows(db, r.body.captureId);
    const rows = await db.query<{ n: string }>(
      `SELECT count(*)::text AS n FROM segment_rows WHERE capture_id = $1 AND state = 'cpu'`,
      [r.body.captureId],
    );
    expect(Number(rows[0]?.n ?? 0)).toBeGreaterThan(0);
  });

  it('perf and an strace of another run share no moment: perf is not placed, and says why', async () => {
    const r = await upload(api.url, [
      await part('perf.script.txt.gz', 'plain/python/perf.script.txt.gz'),
      await part('strace.txt.gz', 'captures/java/strace.txt.gz'),
    ]);
    const c = await waitSettled(api.url, r.body.captureId);
    const perf = perfFile(c);
    console.log(`unrelated perf and strace: ${perf.clockMethod}`);
    expect(perf.clockOffsetNs).toBeNull();
    expect(perf.clockMethod).toMatch(
      /^not placed: perf-default clock has no clock pair, .*strace: perf and strace share no thread id/,
    );
    const strace = c.sourceFiles.find((x) => x.format === 'strace');
    expect(strace?.clockOffsetNs).toBe('0');
  });
});
