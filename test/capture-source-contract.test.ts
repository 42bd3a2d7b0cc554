import { openAsBlob, readdirSync } from 'node:fs';
import path from 'node:path';
import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CaptureSource, EventOffsets } from '@threadreel/correlate';
import type { CorrelationThread, FileOffsets } from '@threadreel/model';
import { createDataSource, PgCaptureSource } from '@threadreel/store';
import { loadCapture } from '../libs/correlate/src/testing/load-capture.js';
import { upload, waitSettled } from './support/client.js';
import type { TestDatabase } from './support/database.js';
import { REPO_ROOT } from './support/env.js';
import { startTestApi, type ApiProc } from './support/processes.js';

/**
 * The port contract: the in-memory capture the correlation specs run on (MemoryCapture, fed by
 * the parsers) must answer every read as the Postgres store does for the same files uploaded
 * through the API and parsed by the workers — or the specs would test something the product
 * never sees. Ids differ between the two (database ids, interned stack ids), so threads are
 * compared by tid and stacks by their frames.
 */

const CAPTURES = ['python', 'java'].map((n) => path.join(REPO_ROOT, 'test/fixtures/plain', n));
const NOT_UPLOADED = [/^clocks\.json/, /^ground-truth/, /^README/];

interface Pair {
  name: string;
  pg: CaptureSource;
  mem: CaptureSource;
}

/** Times as decimal strings and ids replaced, so that two reads compare with toEqual. */
function plain(v: unknown): unknown {
  return JSON.parse(JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x)));
}

async function framesOf(src: CaptureSource, ids: readonly (string | null)[]): Promise<string[]> {
  const frames = await src.stackFrames(ids.flatMap((i) => (i === null ? [] : [i])));
  return ids.map((i) =>
    i === null ? '-' : (frames.get(i) ?? []).map((f) => `${f.symbol}@${f.dso}`).join(';') || '?',
  );
}

describe('CaptureSource contract: MemoryCapture reads as PgCaptureSource on the same upload', () => {
  let db: TestDatabase;
  let api: ApiProc;
  let ds: DataSource;
  const pairs: Pair[] = [];

  beforeAll(async () => {
    ({ api, db } = await startTestApi('contract'));
    ds = createDataSource(db.url, { poolSize: 2 });
    await ds.initialize();
    for (const dir of CAPTURES) {
      const files = readdirSync(dir)
        .filter((f) => !NOT_UPLOADED.some((re) => re.test(f)))
        .sort();
      const parts = await Promise.all(
        files.map(async (f) => ({ name: f, data: await openAsBlob(path.join(dir, f)) })),
      );
      const r = await upload(api.url, parts);
      expect(r.status).toBe(202);
      await waitSettled(api.url, r.body.captureId, 170_000);
      const pgSource = new PgCaptureSource(ds, r.body.captureId);
      // The memory capture numbers its files as the upload did.
      const order = (await pgSource.files()).map((f) => f.name);
      const { capture } = await loadCapture(dir, { skip: NOT_UPLOADED, order });
      pairs.push({ name: path.basename(dir), pg: pgSource, mem: capture });
    }
  }, 400_000);

  afterAll(async () => {
    await ds?.destroy();
    await api?.stop();
    await db?.drop();
  });

  /** Every parsed file at offset 0 (on its own clock): the reads compare rows, not placement. */
  async function offsetsOf(src: CaptureSource): Promise<{ ev: EventOffsets; perfOrdinal: number }> {
    const files = await src.files();
    const of = (formats: string[]): FileOffsets =>
      new Map(files.filter((f) => formats.includes(f.format ?? '')).map((f) => [f.ordinal, 1_000n]));
    const perfOrdinal = files.find((f) => f.format === 'perf-script')?.ordinal ?? -1;
    return {
      ev: { perf: of(['perf-script']), strace: of(['strace']), runtime: of(['jfr-json']) },
      perfOrdinal,
    };
  }

  it.each(['python', 'java'])('%s: files, threads and every per-thread read agree', async (name) => {
    const p = pairs.find((x) => x.name === name);
    if (!p) throw new Error(`${name} not uploaded`);
    const strip = (fs: Awaited<ReturnType<CaptureSource['files']>>) =>
      fs.map((f) => ({ ordinal: f.ordinal, name: f.name, format: f.format, clock: f.clock, state: f.state }));
    expect(strip(await p.mem.files())).toEqual(strip(await p.pg.files()));
    const { ev } = await offsetsOf(p.pg);
    const byTid = (ts: CorrelationThread[]) =>
      ts.map((t) => ({ pid: t.pid, tid: t.tid, names: t.names, javaIds: [...t.javaIds].sort() }));
    const pgThreads = await p.pg.threads(null);
    const memThreads = await p.mem.threads(null);
    expect(byTid(memThreads)).toEqual(byTid(pgThreads));
    let rows = 0;
    for (const t of pgThreads) {
      const m = memThreads.find((x) => x.tid === t.tid);
      if (!m) throw new Error(`tid ${t.tid} missing in memory`);
      const [a, b] = [await p.pg.threadEvents(t, ev), await p.mem.threadEvents(m, ev)];
      // Same-time rows have no defined order in SQL: compare in a total order.
      const sched = async (src: CaptureSource, rs: typeof a.sched) => {
        const stacks = await framesOf(
          src,
          rs.map((r) => r.stackId),
        );
        return rs
          .map((r, i) => `${r.timeNs} ${r.kind} ${r.prevState ?? '-'} ${r.otherTid ?? '-'} ${stacks[i]}`)
          .sort();
      };
      expect(await sched(p.mem, b.sched), `tid ${t.tid} sched`).toEqual(await sched(p.pg, a.sched));
      const calls = (rs: typeof a.syscalls) =>
        plain(
          rs
            .map((r) => ({ ...r }))
            .sort((x, y) =>
              x.startNs < y.startNs ? -1 : x.startNs > y.startNs ? 1 : x.name.localeCompare(y.name),
            ),
        );
      expect(calls(b.syscalls), `tid ${t.tid} syscalls`).toEqual(calls(a.syscalls));
      expect(plain(b.samples), `tid ${t.tid} samples`).toEqual(plain(a.samples));
      expect(plain(b.cpuClock), `tid ${t.tid} cpu clock`).toEqual(plain(a.cpuClock));
      rows += a.sched.length + a.syscalls.length + a.samples.length;
    }
    expect(rows).toBeGreaterThan(10_000);
  });

  it.each(['python', 'java'])('%s: capture-wide reads agree', async (name) => {
    const p = pairs.find((x) => x.name === name);
    if (!p) throw new Error(`${name} not uploaded`);
    const { ev, perfOrdinal } = await offsetsOf(p.pg);
    const both = async <T>(
      read: (s: CaptureSource) => Promise<T>,
      label: string,
      norm = (x: T): unknown => x,
    ): Promise<T> => {
      const want = await read(p.pg);
      expect(plain(norm(await read(p.mem))), label).toEqual(plain(norm(want)));
      return want;
    };
    const sortText = (xs: readonly unknown[]): unknown => xs.map((x) => JSON.stringify(plain(x))).sort();
    // What each capture holds for sure (so no comparison is of two empty answers).
    const nonEmpty = (label: string, xs: readonly unknown[]) => expect(xs.length, label).toBeGreaterThan(0);
    nonEmpty('spans', await both((s) => s.spans(), 'spans'));
    nonEmpty('traced logs', await both((s) => s.tracedLogs(), 'traced logs', sortText));
    nonEmpty('futex wakes', await both((s) => s.futexWakes(ev.strace), 'futex wakes', sortText));
    nonEmpty('accepts', await both((s) => s.accepts(ev.strace), 'accepts', sortText));
    nonEmpty('first reads', await both((s) => s.firstReads(ev.strace), 'first reads', sortText));
    // Moments in the interpreter loop (python) or in the JVM's own code (java).
    const marker =
      name === 'python' ? '_PyEval_EvalFrame' : '^(JVM_|Unsafe_Park|GCTaskThread|SafepointSynchronize)';
    nonEmpty('marker times', await both((s) => s.markerTimes(ev.perf, marker), 'marker times'));
    const evidence = await both(
      (s) => s.clockEvidence(perfOrdinal, 'strace', ev.strace),
      'clock evidence',
      (e) => ({
        switchOuts: [...e.switchOuts].sort((x, y) => x[0] - y[0]),
        moments: e.moments.length,
        perfHasSwitches: e.perfHasSwitches,
      }),
    );
    nonEmpty('clock evidence moments', evidence.moments);
    const files = await p.pg.files();
    for (const f of files.filter((x) => /gc/.test(x.format ?? '')))
      for (const clock of await p.pg.rowClocks(f.ordinal)) {
        await both((s) => s.rawPauses(f.ordinal, clock), `raw pauses ${f.name} ${clock}`, sortText);
        await both((s) => s.pauses(new Map([[`${f.ordinal}:${clock}`, 0n]])), `pauses ${f.name}`, sortText);
      }
    // A window of every thread's on-CPU samples: the same samples, stacks compared by frames.
    const pgThreads = await p.pg.threads(null);
    const memThreads = await p.mem.threads(null);
    const window = async (src: CaptureSource, ts: CorrelationThread[]) => {
      const tidOf = new Map(ts.map((t) => [t.id, t.tid]));
      const all = await src.samplesInWindow(
        ts.map((t) => t.id),
        0n,
        1n << 62n,
        ev.perf,
      );
      const stacks = await framesOf(
        src,
        all.map((s) => s.stackId),
      );
      return all.map((s, i) => `${tidOf.get(s.threadId)} ${s.timeNs} ${stacks[i]}`).sort();
    };
    const [a, b] = [await window(p.pg, pgThreads), await window(p.mem, memThreads)];
    expect(a.length).toBeGreaterThan(100);
    expect(b).toEqual(a);
  });
});
