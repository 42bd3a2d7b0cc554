import { readFileSync } from 'node:fs';
import http from 'node:http';
import { gunzipSync } from 'node:zlib';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type {
  CaptureDetail,
  CompareDto,
  FlameGraphDto,
  FlameNodeDto,
  LaneItemDto,
  LogSearchDto,
  LookupDto,
  ReplayDto,
  RequestListDto,
  ThreadMapDto,
  ThreadState,
  ThreadTimelineDto,
} from '@threadreel/model';
import {
  LANE_TILES_MEDIA_TYPE,
  THREAD_STATES,
  decodeLaneTiles,
  decodeTile,
  tileIndexOf,
  tileSpanNs,
} from '@threadreel/model';
import { segmentRows, type TestDatabase } from './support/database.js';
import { REPO_ROOT } from './support/env.js';
import { startTestApi, type ApiProc } from './support/processes.js';
import { folderParts, upload, waitSettled } from './support/client.js';

/** Time per state covered by lane items (whole segments and summaries). */
function laneNs(items: readonly LaneItemDto[]): bigint {
  let ns = 0n;
  for (const it of items) {
    if (it.kind === 'segment') ns += BigInt(it.endNs) - BigInt(it.startNs);
    else for (const v of Object.values(it.summary)) ns += BigInt(v ?? '0');
  }
  return ns;
}

function leaves(n: FlameNodeDto): number {
  return n.children.length === 0 ? 1 : n.children.reduce((a, c) => a + leaves(c), 0);
}

describe('replay API on the java, python and node fixtures', () => {
  let db: TestDatabase;
  let api: ApiProc;
  let java = '';
  let python = '';
  let node = '';

  async function get<T>(p: string): Promise<{ status: number; body: T & { message?: string } }> {
    const res = await fetch(`${api.url}${p}`);
    return { status: res.status, body: (await res.json()) as T & { message?: string } };
  }
  async function ok<T>(p: string): Promise<T> {
    const r = await get<T>(p);
    expect(r.status, `${p}: ${r.body.message ?? ''}`).toBe(200);
    return r.body;
  }

  beforeAll(async () => {
    ({ api, db } = await startTestApi('replay'));
    for (const scenario of ['java', 'python', 'node']) {
      const r = await upload(
        api.url,
        await folderParts(path.join(REPO_ROOT, 'test/fixtures/captures', scenario)),
      );
      expect(r.status).toBe(202);
      const c = await waitSettled(api.url, r.body.captureId, 300_000);
      expect(c.state).toBe('ready');
      if (scenario === 'java') java = r.body.captureId;
      else if (scenario === 'python') python = r.body.captureId;
      else node = r.body.captureId;
      // The segments as rows, for the SQL checks below.
      await segmentRows(db, r.body.captureId);
    }
  }, 600_000);
  afterAll(async () => {
    await api?.stop();
    if (!process.env.THREADREEL_KEEP_DB) await db?.drop();
  });

  describe('GET /api/requests', () => {
    it('lists every request, slowest first, with its breakdown summing to its duration', async () => {
      const [{ n }] = (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM requests')) as [
        { n: number },
      ];
      const list = await ok<RequestListDto>('/api/requests?limit=500');
      expect(list.total).toBe(n);
      expect(list.rows.length).toBe(n);
      for (let i = 1; i < list.rows.length; i++)
        expect(BigInt(list.rows[i]!.durationNs)).toBeLessThanOrEqual(BigInt(list.rows[i - 1]!.durationNs));
      for (const r of list.rows) {
        const sum = Object.values(r.breakdown).reduce((a, v) => a + BigInt(v), 0n);
        expect(sum, r.traceId).toBe(BigInt(r.durationNs));
        expect(r.traceId).toMatch(/^[0-9a-f]{32}$/);
        expect(typeof r.sampleCount).toBe('number');
        expect(typeof r.sparse).toBe('boolean');
      }
      expect((await ok<RequestListDto>('/api/requests')).rows.length).toBe(Math.min(50, n));
    });

    it('filters by capture, service, route, duration, cause and text', async () => {
      const [{ n }] = (await db.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM requests WHERE capture_id = $1',
        [java],
      )) as [{ n: number }];
      const byCapture = await ok<RequestListDto>(`/api/requests?capture=${java}&limit=500`);
      expect(byCapture.total).toBe(n);
      expect(byCapture.rows.every((r) => r.captureId === java)).toBe(true);

      const service = byCapture.rows[0]!.service!;
      const byService = await ok<RequestListDto>(
        `/api/requests?service=${encodeURIComponent(service)}&limit=500`,
      );
      expect(byService.total).toBeGreaterThan(0);
      expect(byService.rows.every((r) => r.service === service)).toBe(true);

      const byRoute = await ok<RequestListDto>(`/api/requests?capture=${java}&route=/lock&limit=500`);
      expect(byRoute.total).toBeGreaterThan(0);
      expect(byRoute.rows.every((r) => r.route === '/lock')).toBe(true);

      const slow = await ok<RequestListDto>('/api/requests?minDurationMs=100&maxDurationMs=300.5&limit=500');
      expect(slow.total).toBeGreaterThan(0);
      for (const r of slow.rows) {
        expect(BigInt(r.durationNs)).toBeGreaterThanOrEqual(100_000_000n);
        expect(BigInt(r.durationNs)).toBeLessThanOrEqual(300_500_000n);
      }
      const byNs = await ok<RequestListDto>('/api/requests?minNs=100000000&maxNs=300500000&limit=500');
      expect(byNs.total).toBe(slow.total);

      const lock = await ok<RequestListDto>('/api/requests?cause=lock&limit=500');
      expect(lock.total).toBeGreaterThan(0);
      expect(lock.rows.every((r) => r.dominantCause === 'lock')).toBe(true);

      const target = byCapture.rows[3]!;
      const byPrefix = await ok<RequestListDto>(
        `/api/requests?q=${target.traceId.slice(0, 10).toUpperCase()}`,
      );
      expect(byPrefix.rows.map((r) => r.traceId)).toContain(target.traceId);
      expect(byPrefix.rows.every((r) => r.traceId.startsWith(target.traceId.slice(0, 10)))).toBe(true);
      const byText = await ok<RequestListDto>('/api/requests?q=ALLOC&limit=500');
      expect(byText.total).toBeGreaterThan(0);
      expect(byText.rows.every((r) => `${r.route} ${r.name}`.toLowerCase().includes('alloc'))).toBe(true);
    });

    it('sorts by start or duration in either order and pages without overlap', async () => {
      const asc = await ok<RequestListDto>(`/api/requests?capture=${python}&sort=start&order=asc&limit=500`);
      for (let i = 1; i < asc.rows.length; i++)
        expect(BigInt(asc.rows[i]!.startNs)).toBeGreaterThanOrEqual(BigInt(asc.rows[i - 1]!.startNs));
      const shortest = await ok<RequestListDto>(`/api/requests?capture=${python}&order=asc&limit=1`);
      const all = await ok<RequestListDto>(`/api/requests?capture=${python}&order=desc&limit=500`);
      expect(shortest.rows[0]!.durationNs).toBe(all.rows.at(-1)!.durationNs);

      const ten = await ok<RequestListDto>(`/api/requests?sort=start&limit=10`);
      const p1 = await ok<RequestListDto>(`/api/requests?sort=start&limit=5&offset=0`);
      const p2 = await ok<RequestListDto>(`/api/requests?sort=start&limit=5&offset=5`);
      expect([...p1.rows, ...p2.rows].map((r) => r.traceId + r.spanId)).toEqual(
        ten.rows.map((r) => r.traceId + r.spanId),
      );
      expect(p2.total).toBe(ten.total);
      const beyond = await ok<RequestListDto>(`/api/requests?offset=100000`);
      expect(beyond.rows).toEqual([]);
      expect(beyond.total).toBe(ten.total);
    });
  });

  describe('GET /api/traces/:traceId', () => {
    it("shows the libuv workers that ran a node request's offloaded work as offload lanes", async () => {
      const rows = await db.query<{ trace_id: string; route: string }>(
        `SELECT trace_id, route FROM requests WHERE capture_id = $1 AND route LIKE '/pbkdf2%'`,
        [node],
      );
      expect(rows.length).toBeGreaterThan(0);
      let offloaded = 0;
      for (const row of rows) {
        const r = await ok<ReplayDto>(`/api/traces/${row.trace_id}?capture=${node}`);
        const bound = new Set(r.threads.filter((t) => t.role === 'bound').map((t) => t.threadId));
        const chained = new Set(
          ((r.request.evidence['lock'] ?? []) as { chain: string[] }[]).flatMap((l) => l.chain.slice(1)),
        );
        const workers = r.request.threadIds.filter((id) => !bound.has(id) && !chained.has(id));
        for (const id of workers) {
          const t = r.threads.find((x) => x.threadId === id);
          expect(t?.role, `${row.route} thread ${id}`).toBe('offload');
          // A worker thread of the same process (libuv's pool; the event loop is the main thread).
          expect(t?.tid, `${row.route} thread ${id}`).not.toBe(t?.pid);
          expect(t?.pid).toBe(r.threads.find((x) => bound.has(x.threadId))?.pid);
        }
        if (workers.length) offloaded++;
      }
      // /pbkdf2 hashes on the pool: every such request ran work there.
      expect(offloaded).toBe(rows.length);
    });

    it("names a lock request's holder thread, whose release ended a lock segment of a bound thread", async () => {
      const candidates = await db.query<{ trace_id: string }>(
        `SELECT trace_id FROM requests WHERE capture_id = $1 AND route = '/lock' AND dominant_cause = 'lock'
         ORDER BY duration_ns DESC`,
        [java],
      );
      expect(candidates.length).toBeGreaterThan(0);
      let shown = 0;
      for (const c of candidates) {
        const r = await ok<ReplayDto>(`/api/traces/${c.trace_id}`);
        expect(r.captureId).toBe(java);
        expect(r.request.traceId).toBe(c.trace_id);
        const holders = new Set(r.threads.filter((t) => t.role === 'holder').map((t) => t.threadId));
        const boundLocks = r.threads
          .filter((t) => t.role === 'bound')
          .flatMap((t) => t.segments)
          .filter((s) => s.kind === 'segment' && s.state === 'lock');
        const named = boundLocks.filter(
          (s) => s.kind === 'segment' && s.wakerThreadId && holders.has(s.wakerThreadId),
        );
        if (named.length) shown++;
        const segs = await db.query<{ waker: string }>(
          `SELECT DISTINCT waker_thread_id::text AS waker FROM segment_rows
           WHERE capture_id = $1 AND thread_id = ANY($2::bigint[]) AND state = 'lock' AND waker_thread_id IS NOT NULL
             AND start_ns < $4 AND end_ns > $3`,
          [
            java,
            r.threads.filter((t) => t.role === 'bound').map((t) => t.threadId),
            r.window.fromNs,
            r.window.toNs,
          ],
        );
        const wakers = new Set(segs.map((s) => s.waker));
        // Every holder woke a lock wait of a bound thread or is in a wait chain of the lock
        // evidence (a convoy's earlier holder); every chain thread is shown as a holder.
        const chained = new Set(
          ((r.request.evidence['lock'] ?? []) as { chain: string[] }[]).flatMap((l) => l.chain.slice(1)),
        );
        for (const h of holders) expect(wakers.has(h) || chained.has(h), `holder ${h}`).toBe(true);
        for (const t of chained)
          if (!r.threads.some((x) => x.threadId === t && x.role === 'bound'))
            expect(holders.has(t), `chain thread ${t}`).toBe(true);
        // The rest of the bound thread's pool is there for context, every worker once.
        const bound = r.threads.filter((t) => t.role === 'bound');
        const pools = new Set(bound.map((t) => t.pool).filter((p) => p !== null));
        const mates = await db.query<{ id: string }>(
          `SELECT id::text AS id FROM threads WHERE capture_id = $1 AND pool = ANY($2::text[])`,
          [java, [...pools]],
        );
        const shownIds = new Set(r.threads.map((t) => t.threadId));
        for (const m of mates) expect(shownIds.has(m.id), `pool mate ${m.id}`).toBe(true);
        for (const t of r.threads.filter((x) => x.role === 'pool'))
          expect(t.pool !== null && pools.has(t.pool), `pool of ${t.threadId}`).toBe(true);
        expect(shownIds.size).toBe(r.threads.length);
      }
      expect(shown).toBeGreaterThan(0);
    });

    it('sends the window, spans with bindings and sample counts, logs, syscalls, wakeups and GC pauses', async () => {
      const [row] = await db.query<{ trace_id: string; start_ns: string; end_ns: string; n: string }>(
        `SELECT trace_id, start_ns::text, end_ns::text, duration_ns::text AS n FROM requests
         WHERE capture_id = $1 AND route = '/lock' ORDER BY duration_ns DESC LIMIT 1`,
        [java],
      );
      const r = await ok<ReplayDto>(`/api/traces/${row!.trace_id}?capture=${java}`);
      const pad = (BigInt(row!.end_ns) - BigInt(row!.start_ns)) / 20n;
      expect(r.window).toEqual({
        fromNs: (BigInt(row!.start_ns) - pad).toString(),
        toNs: (BigInt(row!.end_ns) + pad).toString(),
      });
      expect(BigInt(r.resolutionNs)).toBe((BigInt(r.window.toNs) - BigInt(r.window.fromNs)) / 1000n);
      expect(r.samplePeriodNs).toBe('20408163');
      expect(r.spans.length).toBeGreaterThan(0);
      const server = r.spans.find((s) => s.spanId === r.request.spanId)!;
      expect(server.bindings.length).toBeGreaterThan(0);
      expect(server.short).toBe(BigInt(server.endNs) - BigInt(server.startNs) < 2n * 20_408_163n);
      for (const s of r.spans) expect(typeof s.sampleCount).toBe('number');
      // The server span's samples: those on its bound threads while bound.
      const b = server.bindings[0]!;
      const [cnt] = await db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM samples s JOIN capture_strings e ON e.id = s.event_id
         JOIN source_files f ON f.capture_id = s.capture_id AND f.ordinal = s.file_ordinal
         WHERE s.capture_id = $1 AND s.thread_id = $2 AND e.kind = 'event'
           AND s.time_ns + f.clock_offset_ns >= $3 AND s.time_ns + f.clock_offset_ns < $4`,
        [java, b.threadId, b.startNs, b.endNs],
      );
      if (server.bindings.length === 1) expect(server.sampleCount).toBe(cnt!.n);
      expect(r.logs.some((l) => l.traceIds.includes(row!.trace_id))).toBe(true);
      expect(r.syscalls.length).toBeGreaterThan(0);
      const involved = new Set(r.threads.map((t) => t.threadId));
      for (const s of r.syscalls) expect(involved.has(s.threadId)).toBe(true);
      for (const w of r.wakeups)
        expect(
          involved.has(w.wakeeThreadId) || (w.wakerThreadId !== null && involved.has(w.wakerThreadId)),
        ).toBe(true);
      for (const w of r.wakeups) {
        expect(BigInt(w.timeNs)).toBeGreaterThanOrEqual(BigInt(r.window.fromNs));
        expect(BigInt(w.timeNs)).toBeLessThan(BigInt(r.window.toNs));
      }
      expect(r.request.evidence).toBeTypeOf('object');

      const [alloc] = await db.query<{ trace_id: string }>(
        `SELECT trace_id FROM requests WHERE capture_id = $1 AND route = '/alloc' ORDER BY duration_ns DESC LIMIT 1`,
        [python],
      );
      const a = await ok<ReplayDto>(`/api/traces/${alloc!.trace_id}`);
      expect(a.captureId).toBe(python);
      expect(a.gcPauses.length).toBeGreaterThan(0);
      for (const g of a.gcPauses) {
        expect(BigInt(g.endNs)).toBeGreaterThan(BigInt(a.window.fromNs));
        expect(BigInt(g.startNs)).toBeLessThan(BigInt(a.window.toNs));
      }
    });

    it('bounds lane items at a coarse resolution and preserves the time they cover', async () => {
      const [row] = await db.query<{ trace_id: string }>(
        `SELECT trace_id FROM requests WHERE capture_id = $1 ORDER BY duration_ns DESC LIMIT 1`,
        [java],
      );
      const fine = await ok<ReplayDto>(`/api/traces/${row!.trace_id}`);
      const span = BigInt(fine.window.toNs) - BigInt(fine.window.fromNs);
      const res = span / 20n;
      const coarse = await ok<ReplayDto>(`/api/traces/${row!.trace_id}?resolution=${res}`);
      expect(coarse.resolutionNs).toBe(res.toString());
      let merged = 0;
      for (const t of coarse.threads) {
        // At most ~2 items per pixel of the window, plus the segments reaching past its edges.
        expect(t.segments.length, t.name).toBeLessThanOrEqual(2 * 21 + 2);
        const f = fine.threads.find((x) => x.threadId === t.threadId)!;
        expect(laneNs(t.segments)).toBe(laneNs(f.segments));
        merged += t.segments.filter((s) => s.kind === 'summary').length;
        const [sum] = await db.query<{ ns: string }>(
          `SELECT coalesce(sum(end_ns - start_ns), 0)::text AS ns FROM segment_rows
           WHERE capture_id = $1 AND thread_id = $2 AND start_ns < $4 AND end_ns > $3`,
          [java, t.threadId, coarse.window.fromNs, coarse.window.toNs],
        );
        expect(laneNs(t.segments)).toBe(BigInt(sum!.ns));
        for (const s of t.segments)
          if (s.kind === 'segment') expect(BigInt(s.endNs) - BigInt(s.startNs)).toBeGreaterThanOrEqual(0n);
      }
      expect(merged).toBeGreaterThan(0);
      const fineItems = fine.threads.reduce((a, t) => a + t.segments.length, 0);
      const coarseItems = coarse.threads.reduce((a, t) => a + t.segments.length, 0);
      expect(coarseItems).toBeLessThan(fineItems);
    });
  });

  describe('lane tiles (GET /api/captures/:id/lane-tiles, /api/traces?lanes=auto)', () => {
    async function tiles(cap: string, ids: readonly string[], level: number, from: bigint, to: bigint) {
      const res = await fetch(
        `${api.url}/api/captures/${cap}/lane-tiles?threadIds=${ids.join(',')}&level=${level}&from=${from}&to=${to}`,
      );
      expect(res.status, await res.clone().text()).toBe(200);
      expect(res.headers.get('content-type')).toContain(LANE_TILES_MEDIA_TYPE);
      return decodeLaneTiles(new Uint8Array(await res.arrayBuffer()));
    }

    it("covers every segment of every thread once per level: counts and ns per state equal the segments'", async () => {
      for (const cap of [java, python]) {
        const threads = await db.query<{ id: string; lo: string; hi: string; n: number }>(
          `SELECT thread_id::text AS id, min(start_ns)::text AS lo, max(end_ns)::text AS hi, count(*)::int AS n
           FROM segment_rows WHERE capture_id = $1 GROUP BY thread_id ORDER BY thread_id`,
          [cap],
        );
        expect(threads.length).toBeGreaterThan(3);
        const sums = await db.query<{ id: string; state: ThreadState; ns: string }>(
          `SELECT thread_id::text AS id, state, sum(end_ns - start_ns)::text AS ns FROM segment_rows
           WHERE capture_id = $1 GROUP BY 1, 2`,
          [cap],
        );
        // Levels whose tiles over a thread's life stay within the per-request cap.
        for (const level of [5, 7, 9, 12]) {
          for (const t of threads) {
            const lo = BigInt(t.lo);
            const hi = BigInt(t.hi);
            if (tileIndexOf(hi, level) - tileIndexOf(lo, level) >= 64n) continue;
            const p = await tiles(cap, [t.id], level, lo, hi);
            expect(p.level).toBe(level);
            // The first tile holds the first segment: nothing carries into it.
            expect(p.carryIns.filter((c) => c.tile === tileIndexOf(lo, level))).toEqual([]);
            const ns = new Map<number, number>();
            let count = 0;
            for (const tile of p.tiles) {
              const d = decodeTile(tile.bytes, 0);
              for (let i = 0; i < d.start.length; i++) {
                const c = d.count[i] ?? 0;
                count += c;
                const a = d.mixAt[i] ?? 0;
                const b = d.mixAt[i + 1] ?? 0;
                if (c === 1)
                  ns.set(
                    d.state[i] ?? 0,
                    (ns.get(d.state[i] ?? 0) ?? 0) + (d.end[i] ?? 0) - (d.start[i] ?? 0),
                  );
                for (let k = a; k < b; k++)
                  ns.set(d.mixState[k] ?? 0, (ns.get(d.mixState[k] ?? 0) ?? 0) + (d.mixNs[k] ?? 0));
              }
            }
            expect(count, `thread ${t.id} level ${level}`).toBe(t.n);
            for (const row of sums.filter((x) => x.id === t.id))
              expect(ns.get(THREAD_STATES.indexOf(row.state)), `${t.id} ${row.state}`).toBe(Number(row.ns));
          }
        }
      }
    });

    it('carries a long segment into a range that starts inside it', async () => {
      // A segment spanning a level-3 tile boundary (tiles of 65.5 ms), at least a bucket (64 µs) long.
      const level = 3;
      const span = tileSpanNs(level);
      const [seg] = await db.query<{ id: string; s: string; e: string; state: ThreadState }>(
        `SELECT thread_id::text AS id, start_ns::text AS s, end_ns::text AS e, state FROM segment_rows
         WHERE capture_id = $1 AND end_ns - start_ns >= 64000 AND start_ns / $2 <> (end_ns - 1) / $2
         ORDER BY end_ns - start_ns LIMIT 1`,
        [java, span.toString()],
      );
      expect(seg).toBeDefined();
      const inner = (BigInt(seg!.s) / span + 1n) * span;
      // Lane 0: a thread id not in the capture (nothing comes for it).
      const p = await tiles(java, ['999999999', seg!.id], level, inner, inner + span);
      expect(p.carryIns).toEqual([
        {
          lane: 1,
          tile: inner / span,
          state: THREAD_STATES.indexOf(seg!.state),
          startNs: BigInt(seg!.s),
          endNs: BigInt(seg!.e),
        },
      ]);
      // Asked for one tile, got at most that one per lane.
      for (const t of p.tiles) expect(t.tile).toBe(inner / span);
    });

    it('refuses bad levels and ranges with a reason, and says when a capture has no tiles', async () => {
      const bad = async (q: string, status = 400) => {
        const r = await get<{ message: string }>(`/api/captures/${java}/lane-tiles?${q}`);
        expect(r.status, q).toBe(status);
        return r.body.message ?? '';
      };
      expect(await bad('threadIds=1&level=13&from=0&to=1')).toMatch(/level/);
      expect(await bad('threadIds=1&level=x&from=0&to=1')).toMatch(/level/);
      expect(await bad('threadIds=&level=1&from=0&to=1')).toMatch(/threadIds/);
      expect(await bad('threadIds=1&level=0&from=0&to=1000000000')).toMatch(/at most 64 tiles/);
      expect(await bad('threadIds=1&level=0&from=10&to=1')).toMatch(/to/);
      const missing = await get<{ message: string }>(
        `/api/captures/00000000-0000-4000-8000-000000000000/lane-tiles?threadIds=1&level=1&from=0&to=1`,
      );
      expect(missing.status).toBe(404);
      // A capture correlated before tiles existed: 404 naming the way out.
      const [other] = await db.query<{ id: string }>(
        `INSERT INTO captures (name, content_key, state) VALUES ('no tiles', md5(random()::text) || md5(random()::text), 'ready')
         RETURNING id::text AS id`,
      );
      const none = await get<{ message: string }>(
        `/api/captures/${other!.id}/lane-tiles?threadIds=1&level=1&from=0&to=1`,
      );
      expect(none.status).toBe(404);
      expect(none.body.message).toMatch(/no lane tiles.*lanes/);
      await db.query(`DELETE FROM captures WHERE id = $1`, [other!.id]);
    });

    it('lanes=auto: the same threads and roles as the full replay, and the waits whole with their detail', async () => {
      const reqs = await db.query<{ trace_id: string }>(
        `SELECT trace_id FROM requests WHERE capture_id = ANY($1::uuid[]) ORDER BY duration_ns DESC LIMIT 6`,
        [[java, python]],
      );
      for (const { trace_id } of reqs) {
        const full = await ok<ReplayDto>(`/api/traces/${trace_id}`);
        const auto = await ok<ReplayDto>(`/api/traces/${trace_id}?lanes=auto`);
        expect(full.lanes).toBe('full');
        expect(auto.lanes).toBe('waits');
        const roles = (r: ReplayDto) => r.threads.map((t) => [t.threadId, t.roles.join('+')]);
        expect(roles(auto)).toEqual(roles(full));
        expect({ ...auto, threads: [], lanes: 'full' }).toEqual({ ...full, threads: [] });
        const res = BigInt(auto.resolutionNs);
        for (const t of auto.threads) {
          const f = full.threads.find((x) => x.threadId === t.threadId)!;
          if (t.role !== 'bound') {
            expect(t.segments).toEqual([]);
            continue;
          }
          // The full lane's whole waits at least a pixel long, exactly.
          const waits = f.segments.filter(
            (s) =>
              s.kind === 'segment' &&
              ['lock', 'net', 'file', 'gc'].includes(s.state) &&
              BigInt(s.endNs) - BigInt(s.startNs) >= res,
          );
          expect(t.segments, t.name).toEqual(waits);
        }
      }
    });
  });

  describe('GET /api/traces/:traceId reads (per file, per thread, index-bounded)', () => {
    it('sends the earliest syscalls and wakeups of the window, as whole-capture SQL finds them', async () => {
      const reqs = await db.query<{ trace_id: string }>(
        `SELECT trace_id FROM requests WHERE capture_id = $1 ORDER BY duration_ns DESC LIMIT 3`,
        [java],
      );
      let truncated = 0;
      for (const { trace_id } of reqs) {
        const r = await ok<ReplayDto>(`/api/traces/${trace_id}?capture=${java}`);
        const from = BigInt(r.window.fromNs);
        const to = BigInt(r.window.toNs);
        const lookback = to - from > 1_000_000_000n ? to - from : 1_000_000_000n;
        const tids = [...new Set(r.threads.map((t) => t.tid))];
        // Times aligned on the column (no index use), whole capture: the reference.
        const sys = await db.query<{ tid: number; s: string; name: string }>(
          `SELECT y.tid, (y.start_ns + f.clock_offset_ns)::text AS s, y.name FROM syscalls y
           JOIN source_files f ON f.capture_id = y.capture_id AND f.ordinal = y.file_ordinal
           WHERE y.capture_id = $1 AND f.clock_offset_ns IS NOT NULL AND y.tid = ANY($2::int[])
             AND y.start_ns + f.clock_offset_ns >= $3::bigint - $5::bigint AND y.start_ns + f.clock_offset_ns < $4::bigint
             AND y.start_ns + f.clock_offset_ns + coalesce(y.duration_ns, 0) >= $3::bigint
           ORDER BY y.start_ns + f.clock_offset_ns, y.tid LIMIT 2001`,
          [java, tids, from.toString(), to.toString(), lookback.toString()],
        );
        expect(r.syscallsTruncated).toBe(sys.length > 2000);
        if (r.syscallsTruncated) truncated++;
        expect(r.syscalls.map((y) => `${y.startNs} ${y.tid}`)).toEqual(
          sys.slice(0, 2000).map((y) => `${y.s} ${y.tid}`),
        );
        const ids = r.threads.map((t) => t.threadId);
        const wk = await db.query<{ t: string; wakee: string }>(
          `SELECT time_ns::text AS t, wakee_thread_id::text AS wakee FROM wakeups
           WHERE capture_id = $1 AND time_ns >= $3 AND time_ns < $4
             AND (wakee_thread_id = ANY($2::bigint[]) OR waker_thread_id = ANY($2::bigint[]))
           ORDER BY time_ns, wakee_thread_id::text LIMIT 2001`,
          [java, ids, r.window.fromNs, r.window.toNs],
        );
        expect(r.wakeupsTruncated).toBe(wk.length > 2000);
        expect(r.wakeups.map((w) => `${w.timeNs} ${w.wakeeThreadId}`)).toEqual(
          wk.slice(0, 2000).map((w) => `${w.t} ${w.wakee}`),
        );
      }
      expect(truncated).toBeGreaterThan(0);
    });

    it('sends every lane segment shown whole with its detail, at any resolution', async () => {
      const [row] = await db.query<{ trace_id: string }>(
        `SELECT trace_id FROM requests WHERE capture_id = $1 ORDER BY duration_ns DESC LIMIT 1`,
        [java],
      );
      const fine = await ok<ReplayDto>(`/api/traces/${row!.trace_id}`);
      const span = BigInt(fine.window.toNs) - BigInt(fine.window.fromNs);
      let whole = 0;
      for (const res of [span / 50n, span / 1000n, span / 20000n]) {
        const r = await ok<ReplayDto>(`/api/traces/${row!.trace_id}?resolution=${res}`);
        for (const t of r.threads) {
          const segs = await db.query<Record<string, string | null>>(
            `SELECT start_ns::text AS "startNs", end_ns::text AS "endNs", state, source, syscall, target,
                    lock_id AS "lockId", blocked_stack_id::text AS "blockedStackId",
                    waker_thread_id::text AS "wakerThreadId", waker_stack_id::text AS "wakerStackId",
                    prev_state AS "prevState", reason
             FROM segment_rows WHERE capture_id = $1 AND thread_id = $2 AND start_ns < $4 AND end_ns > $3`,
            [java, t.threadId, r.window.fromNs, r.window.toNs],
          );
          const byStart = new Map(segs.map((s) => [s.startNs, s]));
          for (const item of t.segments) {
            if (item.kind !== 'segment') continue;
            whole++;
            const stored = byStart.get(item.startNs);
            expect(stored, `${t.threadId} ${item.startNs}`).toBeDefined();
            const expected = Object.fromEntries(Object.entries(stored!).filter(([, v]) => v !== null));
            expect({ ...item, kind: undefined }).toEqual({ ...expected, kind: undefined });
          }
        }
      }
      expect(whole).toBeGreaterThan(0);
    });
  });

  it('GET /api/captures/:id/threads/:threadId/timeline: a window at a resolution, or the whole life', async () => {
    const [t] = await db.query<{ id: string; lo: string; hi: string; n: number }>(
      `SELECT thread_id::text AS id, min(start_ns)::text AS lo, max(end_ns)::text AS hi, count(*)::int AS n
       FROM segment_rows WHERE capture_id = $1 GROUP BY thread_id ORDER BY count(*) DESC LIMIT 1`,
      [java],
    );
    const whole = await ok<ThreadTimelineDto>(`/api/captures/${java}/threads/${t!.id}/timeline`);
    expect(whole.fromNs).toBe(t!.lo);
    expect(whole.toNs).toBe(t!.hi);
    expect(whole.items.length).toBeGreaterThan(0);
    expect(whole.items.length).toBeLessThanOrEqual(2 * 1000 + 2);
    const from = BigInt(t!.lo) + (BigInt(t!.hi) - BigInt(t!.lo)) / 4n;
    const to = from + 100_000_000n;
    const w = await ok<ThreadTimelineDto>(
      `/api/captures/${java}/threads/${t!.id}/timeline?from=${from}&to=${to}&resolution=1000000`,
    );
    expect(w.resolutionNs).toBe('1000000');
    expect(w.items.length).toBeLessThanOrEqual(2 * 100 + 2);
    for (const it of w.items) {
      expect(BigInt(it.endNs)).toBeGreaterThan(from);
      expect(BigInt(it.startNs)).toBeLessThan(to);
    }
  });

  describe('GET /api/captures/:id/flame', () => {
    let thread = '';
    beforeAll(async () => {
      const [t] = await db.query<{ id: string }>(
        `SELECT t.id::text AS id FROM threads t WHERE t.capture_id = $1 AND t.names && ARRAY['http-worker-1']::text[]`,
        [java],
      );
      thread = t!.id;
    });

    it('cpu: on-CPU samples of a thread, counts matching SQL', async () => {
      const f = await ok<FlameGraphDto>(`/api/captures/${java}/flame?kind=cpu&threadId=${thread}`);
      const [c] = await db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM samples s JOIN capture_strings e ON e.id = s.event_id
         JOIN source_files f ON f.capture_id = s.capture_id AND f.ordinal = s.file_ordinal AND f.clock_offset_ns IS NOT NULL
         WHERE s.capture_id = $1 AND s.thread_id = $2 AND e.kind = 'event'`,
        [java, thread],
      );
      expect(c!.n).toBeGreaterThan(0);
      expect(f.unit).toBe('samples');
      expect(f.samples).toBe(c!.n);
      expect(f.root.name).toBe('all');
      expect(f.root.value).toBe(c!.n);
      expect(f.root.children.length).toBeGreaterThan(0);
      expect(leaves(f.root)).toBeGreaterThan(0);
    });

    it('offcpu and wakers: blocked segments weighted by ns, counts matching SQL', async () => {
      const [c] = await db.query<{ n: number; ns: string; wn: number; wns: string }>(
        `SELECT count(*)::int AS n, coalesce(sum(end_ns - start_ns), 0)::text AS ns,
                (count(*) FILTER (WHERE waker_stack_id IS NOT NULL OR waker_thread_id IS NOT NULL))::int AS wn,
                coalesce(sum(end_ns - start_ns) FILTER (WHERE waker_stack_id IS NOT NULL OR waker_thread_id IS NOT NULL), 0)::text AS wns
         FROM segment_rows WHERE capture_id = $1 AND thread_id = $2 AND state NOT IN ('cpu', 'runqueue', 'unknown')
           AND end_ns > start_ns`,
        [java, thread],
      );
      const off = await ok<FlameGraphDto>(`/api/captures/${java}/flame?kind=offcpu&threadId=${thread}`);
      expect(off.unit).toBe('ns');
      expect(off.samples).toBe(c!.n);
      expect(BigInt(off.root.value)).toBe(BigInt(c!.ns));
      expect(off.root.children.length).toBeGreaterThan(0);
      const wk = await ok<FlameGraphDto>(`/api/captures/${java}/flame?kind=wakers&threadId=${thread}`);
      expect(wk.samples).toBe(c!.wn);
      expect(wk.samples).toBeGreaterThan(0);
      expect(BigInt(wk.root.value)).toBe(BigInt(c!.wns));
      expect(wk.root.children.length).toBeGreaterThan(0);
    });

    it("a trace's cpu flame counts the samples of its spans; a range covers all threads", async () => {
      const [row] = await db.query<{ trace_id: string }>(
        `SELECT trace_id FROM requests WHERE capture_id = $1 AND sample_count > 0 ORDER BY sample_count DESC LIMIT 1`,
        [python],
      );
      const r = await ok<ReplayDto>(`/api/traces/${row!.trace_id}`);
      const f = await ok<FlameGraphDto>(`/api/captures/${python}/flame?kind=cpu&traceId=${row!.trace_id}`);
      if (r.spans.length === 1) expect(f.samples).toBe(r.spans[0]!.sampleCount);
      const bySpan = await ok<FlameGraphDto>(
        `/api/captures/${python}/flame?kind=offcpu&traceId=${row!.trace_id}&spanId=${r.request.spanId}`,
      );
      expect(bySpan.threadIds.length).toBeGreaterThan(0);
      const range = await ok<FlameGraphDto>(
        `/api/captures/${python}/flame?kind=cpu&from=${r.window.fromNs}&to=${r.window.toNs}`,
      );
      expect(range.samples).toBeGreaterThanOrEqual(f.samples);
    });
  });

  it('GET /api/logs: by trace id and by text', async () => {
    const [row] = await db.query<{ trace_id: string; n: number }>(
      `SELECT t AS trace_id, count(*)::int AS n FROM log_records, unnest(trace_ids) t
       WHERE capture_id = $1 GROUP BY t ORDER BY count(*) DESC LIMIT 1`,
      [java],
    );
    const byTrace = await ok<LogSearchDto>(`/api/logs?traceId=${row!.trace_id}`);
    expect(byTrace.rows.length).toBe(row!.n);
    expect(byTrace.rows.every((l) => l.traceIds.includes(row!.trace_id) && l.captureId === java)).toBe(true);
    const byText = await ok<LogSearchDto>(`/api/logs?q=REQUEST%20START&capture=${python}&limit=5`);
    expect(byText.rows.length).toBe(5);
    expect(byText.truncated).toBe(true);
    expect(
      byText.rows.every((l) => l.message.toLowerCase().includes('request start') && l.captureId === python),
    ).toBe(true);
  });

  it('GET /api/lookup: a real log line, a traceparent in a URL, a Datadog decimal id', async () => {
    const [req] = await db.query<{ trace_id: string; span_id: string }>(
      `SELECT trace_id, span_id FROM requests WHERE capture_id = $1 AND route = '/lock' LIMIT 1`,
      [java],
    );
    const traceId = req!.trace_id;
    const line = readFileSync(path.join(REPO_ROOT, 'test/fixtures/captures/java/logs/app.log'), 'utf8')
      .split('\n')
      .find((l) => l.includes(traceId))!;
    expect(line).toBeDefined();
    const fromLog = await ok<LookupDto>(`/api/lookup?text=${encodeURIComponent(line)}`);
    expect(fromLog.found.map((f) => f.traceId)).toContain(traceId);
    expect(fromLog.requests.map((r) => r.traceId)).toContain(traceId);

    const url = `https://apm.example.com/trace?traceparent=00-${traceId}-${req!.span_id}-01&env=prod`;
    const fromUrl = await ok<LookupDto>(`/api/lookup?text=${encodeURIComponent(`see ${url}`)}`);
    expect(fromUrl.found).toEqual([
      { traceId, from: 'traceparent', text: `00-${traceId}-${req!.span_id}-01` },
    ]);
    expect(fromUrl.requests[0]?.traceId).toBe(traceId);

    const decimal = BigInt(`0x${traceId.slice(16)}`).toString();
    const dd = await ok<LookupDto>(`/api/lookup?text=${encodeURIComponent(`{"dd.trace_id":"${decimal}"}`)}`);
    expect(dd.found[0]).toMatchObject({ traceId: traceId.slice(16).padStart(32, '0'), from: 'decimal' });
    expect(dd.requests.map((r) => r.traceId)).toContain(traceId);

    expect((await ok<LookupDto>('/api/lookup?text=no%20ids%20here')).found).toEqual([]);
  });

  it('GET /api/requests/compare: a /lock against a /fast request', async () => {
    const [a] = await db.query<{ trace_id: string }>(
      `SELECT trace_id FROM requests WHERE capture_id = $1 AND route = '/lock' ORDER BY duration_ns DESC LIMIT 1`,
      [java],
    );
    const [b] = await db.query<{ trace_id: string }>(
      `SELECT trace_id FROM requests WHERE capture_id = $1 AND route = '/fast' ORDER BY duration_ns LIMIT 1`,
      [java],
    );
    const c = await ok<CompareDto>(`/api/requests/compare?a=${a!.trace_id}&b=${b!.trace_id}&capture=${java}`);
    expect(c.a.traceId).toBe(a!.trace_id);
    expect(c.b.traceId).toBe(b!.trace_id);
    expect(c.causes.length).toBe(10);
    const sum = c.causes.reduce((s, x) => s + BigInt(x.deltaNs), 0n);
    expect(sum).toBe(BigInt(c.a.durationNs) - BigInt(c.b.durationNs));
    for (let i = 1; i < c.causes.length; i++) {
      const abs = (v: string) => (BigInt(v) < 0n ? -BigInt(v) : BigInt(v));
      expect(abs(c.causes[i]!.deltaNs)).toBeLessThanOrEqual(abs(c.causes[i - 1]!.deltaNs));
    }
    for (const x of c.causes) expect(BigInt(x.aNs) - BigInt(x.bNs)).toBe(BigInt(x.deltaNs));
  });

  it('GET /api/captures/:id/thread-map and clock status per file', async () => {
    const m = await ok<ThreadMapDto>(`/api/captures/${java}/thread-map`);
    const [{ n }] = (await db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM threads WHERE capture_id = $1',
      [java],
    )) as [{ n: number }];
    expect(m.threads.length).toBe(n);
    const jstack = m.threads.filter((t) => t.mappings.some((x) => x.source === 'jstack'));
    expect(jstack.length).toBeGreaterThan(0);
    expect(jstack.some((t) => (t.runtimeIds.java ?? []).length > 0)).toBe(true);
    for (const t of m.threads) for (const x of t.mappings) expect(x.confidence).toBeGreaterThan(0);
    expect(m.threads.some((t) => t.pool !== null)).toBe(true);

    const c = await ok<CaptureDetail>(`/api/captures/${java}`);
    const perf = c.sourceFiles.find((f) => f.format === 'perf-script')!;
    expect(perf.clockOffsetNs).toMatch(/^-?\d+$/);
    expect(perf.clockMethod).toBeTruthy();
    expect(perf.clockEvidence).toBeTypeOf('object');
    for (const f of c.sourceFiles) expect(f).toHaveProperty('clockOffsetNs');
  });

  it('refuses bad parameters with a reason naming them, and unknown ids with 404', async () => {
    const [{ t }] = (await db.query<{ t: string }>(
      'SELECT min(id)::text AS t FROM threads WHERE capture_id = $1',
      [java],
    )) as [{ t: string }];
    const bad: [string, string][] = [
      ['/api/requests?limit=0', 'limit'],
      ['/api/requests?limit=501', 'limit'],
      ['/api/requests?offset=-1', 'offset'],
      ['/api/requests?sort=name', 'sort'],
      ['/api/requests?order=up', 'order'],
      ['/api/requests?cause=bogus', 'cause'],
      ['/api/requests?capture=nope', 'capture'],
      ['/api/requests?minDurationMs=abc', 'minDurationMs'],
      ['/api/requests?minNs=1.5', 'minNs'],
      ['/api/requests?minDurationMs=1&minNs=1', 'minNs'],
      ['/api/requests?limit=1&limit=2', 'limit'],
      ['/api/traces/not-a-trace', 'traceId'],
      [`/api/traces/${'a'.repeat(32)}?capture=x`, 'capture'],
      [`/api/traces/${'a'.repeat(32)}?resolution=0`, 'resolution'],
      [`/api/captures/${java}/threads/abc/timeline`, 'threadId'],
      [`/api/captures/${java}/threads/${t}/timeline?from=x`, 'from'],
      [`/api/captures/${java}/threads/${t}/timeline?from=10&to=5`, 'to'],
      [`/api/captures/${java}/threads/${t}/timeline?from=0&to=1000000000000&resolution=1`, 'resolution'],
      [`/api/captures/nope/flame?threadId=1`, 'id'],
      [`/api/captures/${java}/flame?kind=heap&threadId=1`, 'kind'],
      [`/api/captures/${java}/flame?kind=cpu`, 'threadId'],
      [`/api/captures/${java}/flame?spanId=00f067aa0ba902b7`, 'spanId'],
      ['/api/logs', 'traceId'],
      ['/api/logs?traceId=xyz', 'traceId'],
      ['/api/logs?q=x&limit=5000', 'limit'],
      ['/api/lookup', 'text'],
      ['/api/requests/compare?a=' + 'a'.repeat(32), 'b'],
      ['/api/captures/nope/thread-map', 'id'],
    ];
    for (const [p, param] of bad) {
      const r = await get<{ message: string }>(p);
      expect(r.status, p).toBe(400);
      expect(r.body.message, p).toContain(param);
    }
    const missing = 'f'.repeat(32);
    const unknownCapture = '00000000-0000-4000-8000-000000000000';
    const notFound = [
      `/api/traces/${missing}`,
      `/api/traces/${missing}?capture=${java}`,
      `/api/requests/compare?a=${missing}&b=${missing}`,
      `/api/captures/${unknownCapture}/thread-map`,
      `/api/captures/${unknownCapture}/flame?threadId=1`,
      `/api/captures/${unknownCapture}/threads/1/timeline`,
      `/api/captures/${java}/threads/999999999/timeline`,
      `/api/captures/${java}/flame?threadId=999999999`,
      `/api/captures/${java}/flame?traceId=${missing}`,
    ];
    for (const p of notFound) {
      const r = await get<{ message: string }>(p);
      expect(r.status, p).toBe(404);
      expect(r.body.message.length, p).toBeGreaterThan(0);
    }
    // Still alive.
    expect((await get<unknown>('/api/health')).status).toBe(200);
  });

  it('documents the endpoints in OpenAPI', async () => {
    const res = await fetch(`${api.url}/api/docs-json`);
    expect(res.status).toBe(200);
    const doc = (await res.json()) as { paths: Record<string, unknown> };
    for (const p of [
      '/api/requests',
      '/api/requests/compare',
      '/api/traces/{traceId}',
      '/api/captures/{id}/threads/{threadId}/timeline',
      '/api/captures/{id}/flame',
      '/api/captures/{id}/thread-map',
      '/api/logs',
      '/api/lookup',
    ])
      expect(doc.paths, p).toHaveProperty(p);
  });
  describe('HTTP: gzip and caching', () => {
    /** Raw GET: status, headers and the bytes as sent (not decompressed). */
    function raw(p: string, encoding: string) {
      return new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }>(
        (resolve, reject) => {
          http
            .get(`${api.url}${p}`, { headers: { 'accept-encoding': encoding } }, (res) => {
              const chunks: Buffer[] = [];
              res.on('data', (c: Buffer) => chunks.push(c));
              res.on('end', () =>
                resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
              );
            })
            .on('error', reject);
        },
      );
    }

    it('gzips JSON for clients that accept it, the same document as without', async () => {
      const [row] = await db.query<{ trace_id: string }>(
        `SELECT trace_id FROM requests WHERE capture_id = $1 ORDER BY duration_ns DESC LIMIT 1`,
        [java],
      );
      const p = `/api/traces/${row!.trace_id}?capture=${java}`;
      const plain = await raw(p, 'identity');
      const zipped = await raw(p, 'gzip, deflate');
      expect(plain.status).toBe(200);
      expect(plain.headers['content-encoding']).toBeUndefined();
      expect(zipped.headers['content-encoding']).toBe('gzip');
      expect(zipped.body.length * 4).toBeLessThan(plain.body.length);
      expect(JSON.parse(gunzipSync(zipped.body).toString('utf8'))).toEqual(
        JSON.parse(plain.body.toString('utf8')),
      );
    });

    it('leaves the packed lane tiles alone', async () => {
      const [t] = await db.query<{ id: string; lo: string; hi: string }>(
        `SELECT thread_id::text AS id, min(start_ns)::text AS lo, max(end_ns)::text AS hi
         FROM segment_rows WHERE capture_id = $1 GROUP BY thread_id ORDER BY count(*) DESC LIMIT 1`,
        [java],
      );
      const r = await raw(
        `/api/captures/${java}/lane-tiles?threadIds=${t!.id}&level=6&from=${t!.lo}&to=${t!.hi}`,
        'gzip',
      );
      expect(r.status).toBe(200);
      expect(r.headers['content-type']).toContain(LANE_TILES_MEDIA_TYPE);
      expect(r.headers['content-encoding']).toBeUndefined();
    });

    it('serves the UI bundle gzipped and cacheable for good, index.html re-checked', async () => {
      const index = await raw('/', 'gzip');
      expect(index.status).toBe(200);
      expect(index.headers['cache-control']).toBe('no-cache');
      const html = (
        index.headers['content-encoding'] === 'gzip' ? gunzipSync(index.body) : index.body
      ).toString();
      const asset = /src="\.?(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
      expect(asset, 'index.html names its bundle').toBeDefined();
      const js = await raw(asset!, 'gzip');
      expect(js.status).toBe(200);
      expect(js.headers['content-encoding']).toBe('gzip');
      expect(js.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    });
  });
});
