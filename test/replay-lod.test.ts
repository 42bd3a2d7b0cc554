import 'reflect-metadata';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DataSource } from 'typeorm';
import { THREAD_STATES, type LaneItemDto, type Segment, type ThreadState } from '@threadreel/model';
import {
  createDataSource,
  LOD_LEVELS,
  lodBucketNs,
  lodBuckets,
  lodLevelFor,
  PgCorrelationSink,
  ReplayReader,
} from '@threadreel/store';
import { lodRows, segmentRows, type TestDatabase } from './support/database.js';
import { REPO_ROOT } from './support/env.js';
import { startTestApi, type ApiProc } from './support/processes.js';
import { folderParts, upload, waitSettled } from './support/client.js';

/** Per state ns of lane items (summaries' totals, segments' lengths). */
function totals(items: readonly LaneItemDto[]): Map<ThreadState, bigint> {
  const m = new Map<ThreadState, bigint>();
  const add = (st: ThreadState, v: bigint) => m.set(st, (m.get(st) ?? 0n) + v);
  for (const it of items)
    if (it.kind === 'segment') add(it.state, BigInt(it.endNs) - BigInt(it.startNs));
    else for (const [st, v] of Object.entries(it.summary)) add(st as ThreadState, BigInt(v));
  return m;
}

/** Per pixel (relative to lo) and state ns of the items shorter than `res`; the longer ones as a list. */
function perPixel(items: readonly LaneItemDto[], lo: bigint, res: bigint) {
  const px = new Map<string, bigint>();
  const whole: string[] = [];
  for (const it of items) {
    const s = BigInt(it.startNs);
    const e = BigInt(it.endNs);
    if (it.kind === 'segment' && e - s >= res) {
      whole.push(`${it.startNs}-${it.endNs}-${it.state}`);
      continue;
    }
    const p = (s > lo ? s - lo : 0n) / res;
    const sums: [string, bigint][] =
      it.kind === 'segment'
        ? [[it.state, e - s]]
        : Object.entries(it.summary).map(([k, v]) => [k, BigInt(v)]);
    for (const [st, v] of sums) px.set(`${p}:${st}`, (px.get(`${p}:${st}`) ?? 0n) + v);
  }
  return { px, whole };
}

/**
 * The pyramid's lanes against the raw segments' lanes of the same threads: the same whole
 * segments, the same totals per state, and per pixel the same totals but for the segments
 * of a bucket that straddles a pixel edge (counted in the pixel of the bucket's first
 * segment): at most two buckets' worth (2 × 2 × bucket ≤ 4 × res) per pixel and state.
 */
async function compareLanes(
  reader: ReplayReader,
  captureId: string,
  threads: readonly { threadId: string; fromNs: bigint; toNs: bigint }[],
  pixels: bigint,
): Promise<number> {
  let compared = 0;
  for (const t of threads) {
    const span = t.toNs - t.fromNs;
    for (const res of [span / pixels, span / (pixels * 16n), span / 3n]) {
      if (lodLevelFor(res) === null) continue;
      const iv = [t];
      const lod = await reader.laneItems(captureId, iv, res);
      const raw = await reader.laneItems(captureId, iv, res, { raw: true });
      const a = lod.items[0] ?? [];
      const b = raw.items[0] ?? [];
      expect(totals(a)).toEqual(totals(b));
      const pa = perPixel(a, t.fromNs, res);
      const pb = perPixel(b, t.fromNs, res);
      expect(pa.whole).toEqual(pb.whole);
      const level = lodLevelFor(res) ?? 0;
      const slack = 4n * lodBucketNs(level);
      for (const k of new Set([...pa.px.keys(), ...pb.px.keys()])) {
        const d = (pa.px.get(k) ?? 0n) - (pb.px.get(k) ?? 0n);
        expect(d < 0n ? -d : d, `${t.threadId} res ${res} ${k}`).toBeLessThanOrEqual(slack);
      }
      // O(pixels): never more items than the raw reduction plus a bucket per pixel.
      expect(a.length).toBeLessThanOrEqual(b.length + Number(span / res) + 2);
      // The wakers named are wakers of the lane's segments (both paths keep the extreme ids per pixel).
      const w = (x: typeof lod) => new Set((x.wakers[0] ?? []).map((v) => `${v.threadId}:${v.lock}`));
      const truth = new Set(
        (await reader.segments(captureId, iv)).flatMap((s) =>
          s.wakerThreadId === undefined ? [] : [`${s.wakerThreadId}:${s.state === 'lock'}`],
        ),
      );
      for (const k of w(lod)) expect(truth.has(k), k).toBe(true);
      if (w(raw).size) expect(w(lod).size).toBeGreaterThan(0);
      // A lone segment comes whole, with its detail, whichever path read it.
      const detailOf = (items: readonly LaneItemDto[]) =>
        new Map(items.filter((x) => x.kind === 'segment').map((x) => [x.startNs, JSON.stringify(x)]));
      const da = detailOf(a);
      for (const [s, v] of detailOf(b)) if (da.has(s)) expect(da.get(s)).toEqual(v);
      compared++;
    }
  }
  return compared;
}

describe('replay level-of-detail pyramid', () => {
  let db: TestDatabase;
  let api: ApiProc;
  let ds: DataSource;
  let reader: ReplayReader;
  let java = '';

  beforeAll(async () => {
    ({ api, db } = await startTestApi('lod'));
    const r = await upload(api.url, await folderParts(path.join(REPO_ROOT, 'test/fixtures/captures/java')));
    expect(r.status).toBe(202);
    const c = await waitSettled(api.url, r.body.captureId, 300_000);
    expect(c.state).toBe('ready');
    java = r.body.captureId;
    ds = createDataSource(db.url);
    await ds.initialize();
    reader = new ReplayReader(ds);
    // The segments and the pyramid as rows, for the SQL checks below.
    await segmentRows(db, java);
    await lodRows(db, java);
  }, 400_000);
  afterAll(async () => {
    await ds?.destroy();
    await api?.stop();
    if (!process.env.THREADREEL_KEEP_DB) await db?.drop();
  });

  it('the correlate step writes per-level buckets equal to those summed from the raw segments', async () => {
    expect(await reader.hasLod(java)).toBe(true);
    const counts = await ds.query<{ threads: number; headers: number }[]>(
      `SELECT (SELECT count(DISTINCT thread_id)::int FROM segment_rows WHERE capture_id = $1) AS threads,
              (SELECT count(*)::int FROM segment_lod_rows WHERE capture_id = $1 AND level = -1) AS headers`,
      [java],
    );
    expect(counts[0]?.threads).toBeGreaterThan(0);
    expect(counts[0]?.headers).toBe(counts[0]?.threads);
    const cols = THREAD_STATES.map((st) => `${st}_ns`);
    for (let level = 0; level < LOD_LEVELS; level++) {
      const size = lodBucketNs(level).toString();
      const diff = await ds.query<unknown[]>(
        `(SELECT thread_id, bucket_ns, segment_count, ${cols.join(', ')} FROM segment_lod_rows WHERE capture_id = $1 AND level = $2
          EXCEPT
          SELECT thread_id, start_ns / $3::bigint * $3::bigint, count(*)::int,
                 ${THREAD_STATES.map((st) => `sum(end_ns - start_ns) FILTER (WHERE state = '${st}')`).join(', ')}
          FROM segment_rows WHERE capture_id = $1 AND end_ns - start_ns < $3::bigint
          GROUP BY thread_id, start_ns / $3::bigint)
         UNION ALL
         (SELECT thread_id, start_ns / $3::bigint * $3::bigint, count(*)::int,
                 ${THREAD_STATES.map((st) => `sum(end_ns - start_ns) FILTER (WHERE state = '${st}')`).join(', ')}
          FROM segment_rows WHERE capture_id = $1 AND end_ns - start_ns < $3::bigint
          GROUP BY thread_id, start_ns / $3::bigint
          EXCEPT
          SELECT thread_id, bucket_ns, segment_count, ${cols.join(', ')} FROM segment_lod_rows WHERE capture_id = $1 AND level = $2)`,
        [java, level, size],
      );
      expect(diff, `level ${level}`).toEqual([]);
    }
  });

  it('lanes from the pyramid equal the lanes reduced from the raw segments (fixture capture)', async () => {
    const rows = await ds.query<{ id: string; lo: string; hi: string }[]>(
      `SELECT thread_id::text AS id, min(start_ns)::text AS lo, max(end_ns)::text AS hi FROM segment_rows
       WHERE capture_id = $1 GROUP BY thread_id ORDER BY count(*) DESC LIMIT 12`,
      [java],
    );
    const threads = rows.map((r) => ({ threadId: r.id, fromNs: BigInt(r.lo), toNs: BigInt(r.hi) }));
    expect(await compareLanes(reader, java, threads, 1500n)).toBeGreaterThan(0);
    // A window inside the lanes (segments and buckets cut at its left edge).
    const t = threads[0];
    if (t) {
      const mid = t.fromNs + (t.toNs - t.fromNs) / 3n;
      const res = (t.toNs - mid) / 800n;
      const lod = await reader.laneItems(java, [{ ...t, fromNs: mid }], res);
      const raw = await reader.laneItems(java, [{ ...t, fromNs: mid }], res, { raw: true });
      const sum = (m: Map<ThreadState, bigint>) => [...m.values()].reduce((x, y) => x + y, 0n);
      const d = sum(totals(lod.items[0] ?? [])) - sum(totals(raw.items[0] ?? []));
      // The partial buckets at the edges are read from the segments: the same time exactly.
      expect(d).toBe(0n);
    }
  });

  it('generated lanes: pyramid equals raw; a new correlation replaces the pyramid', async () => {
    const ids = await ds.query<{ id: string }[]>(
      `INSERT INTO threads (capture_id, pid, tid, names)
       SELECT $1, 1, 990000 + g, ARRAY['lod-' || g] FROM generate_series(0, 2) g RETURNING id::text AS id`,
      [java],
    );
    let seed = 7;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    const base = 1_700_000_000_000_000_000n;
    const segs = new Map<string, Segment[]>();
    for (const { id } of ids) {
      const list: Segment[] = [];
      let at = base;
      for (let i = 0; i < 20_000; i++) {
        // Mostly short segments, a few long ones (so every level has whole segments).
        const dur = BigInt(Math.round(rand() < 0.01 ? rand() * 5e8 : -Math.log(1 - rand()) * 20_000));
        const state = THREAD_STATES[Math.floor(rand() * THREAD_STATES.length)] ?? 'unknown';
        const waker =
          state === 'lock' || rand() < 0.05 ? ids[Math.floor(rand() * ids.length)]?.id : undefined;
        list.push({
          threadId: id,
          startNs: at,
          endNs: at + dur,
          state,
          source: 'sched',
          ...(waker === undefined ? {} : { wakerThreadId: waker }),
          ...(state === 'lock' ? { lockId: `futex:0x${i % 5}`, syscall: 'futex' } : {}),
        });
        at += dur + BigInt(Math.floor(rand() * 3000));
      }
      segs.set(id, list);
    }
    await lodRows(db, java);
    const before = await ds.query<{ n: number }[]>(
      `SELECT count(*)::int AS n FROM segment_lod_rows WHERE capture_id = $1`,
      [java],
    );
    expect(before[0]?.n).toBeGreaterThan(0);
    // Written as the correlate step writes (it replaces every derived row of the capture).
    for (let pass = 0; pass < 2; pass++) {
      const sink = new PgCorrelationSink(ds, java);
      for (const [id, list] of segs) {
        await sink.threadSegments(id, list, []);
        await sink.threadViews(id, list);
      }
      await sink.commit([]);
    }
    await lodRows(db, java);
    const after = await ds.query<{ n: number; threads: number }[]>(
      `SELECT count(*)::int AS n, count(DISTINCT thread_id)::int AS threads FROM segment_lod_rows WHERE capture_id = $1`,
      [java],
    );
    expect(after[0]?.threads).toBe(ids.length);
    const expected = [...segs].reduce((n, [id, l]) => n + [...lodBuckets(id, l)].length, 0);
    expect(after[0]?.n).toBe(expected);
    const threads = [...segs].map(([id, l]) => ({
      threadId: id,
      fromNs: l[0]?.startNs ?? base,
      toNs: l[l.length - 1]?.endNs ?? base,
    }));
    expect(await compareLanes(reader, java, threads, 1500n)).toBeGreaterThanOrEqual(threads.length * 2);
    // Several lanes at once, as the replay asks.
    const all = await reader.laneItems(java, threads, (threads[0]!.toNs - threads[0]!.fromNs) / 1000n);
    expect(all.items.map((x) => x.length > 0)).toEqual(threads.map(() => true));
  }, 300_000);
});
