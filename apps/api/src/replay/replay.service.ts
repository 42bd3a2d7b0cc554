import { Injectable, NotFoundException } from '@nestjs/common';
import {
  buildFlameTree,
  compareRequests,
  frameDisplayName,
  isShort,
  levelOfDetail,
  paddedWindow,
  samplingPeriodNs,
  type WeightedStack,
} from '@threadreel/analysis';
import {
  CAUSES,
  THREAD_STATES,
  encodeLaneTiles,
  tileBucketNs,
  tileIndexOf,
  tileSpanNs,
  type CauseBreakdown,
  type CaptureOverviewDto,
  type CompareDto,
  type FlameGraphDto,
  type FlameKind,
  type LaneItemDto,
  type LanesDto,
  type StacksDto,
  type ReplayDto,
  type ReplaySpanDto,
  type ReplayThreadDto,
  type RequestAnalysis,
  type RequestCauseKey,
  type RequestDetailDto,
  type RequestRowDto,
  type RequestStatsDto,
  type RouteStatsDto,
  type ThreadRole,
  type ThreadTimelineDto,
} from '@threadreel/model';
import { NS_MAX, NS_MIN, ReplayReader, type ThreadInterval } from '@threadreel/store';
import { DataSource } from 'typeorm';
import { bad, resolutionFor } from './params.js';

/** Caps of one replay payload (each says when it cut). */
const MAX_LOGS = 2000;
const MAX_SYSCALLS = 2000;
const MAX_WAKEUPS = 2000;
const SECOND = 1_000_000_000n;
/** How far before a window a GC pause may start and still overlap it. */
const GC_LOOKBACK = 60n * SECOND;

const ROLE_RANK: Record<ThreadRole, number> = { bound: 0, offload: 1, holder: 2, waker: 3, pool: 4 };
/** A lane-tiles read covers at most this many tiles per lane (a view needs two to four). */
const MAX_TILES_PER_LANE = 64;
/** At most this many other workers of a bound thread's pool join the replay. */
const MAX_POOL_MATES = 64;

function maxBig(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}
function minBig(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}

function cmpBig(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function bestName(names: readonly string[]): string {
  let best = '';
  for (const n of names) if (n.length > best.length) best = n;
  return best || '?';
}

/** Merges overlapping intervals of the same thread (so nothing is counted twice). */
export function mergeIntervals(intervals: readonly ThreadInterval[]): ThreadInterval[] {
  const byThread = new Map<string, ThreadInterval[]>();
  for (const i of intervals) {
    if (i.toNs <= i.fromNs) continue;
    const list = byThread.get(i.threadId) ?? [];
    list.push(i);
    byThread.set(i.threadId, list);
  }
  const out: ThreadInterval[] = [];
  for (const list of byThread.values()) {
    list.sort((a, b) => (a.fromNs < b.fromNs ? -1 : a.fromNs > b.fromNs ? 1 : 0));
    let cur: ThreadInterval | null = null;
    for (const i of list) {
      if (cur && i.fromNs <= cur.toNs) cur.toNs = maxBig(cur.toNs, i.toNs);
      else {
        if (cur) out.push(cur);
        cur = { ...i };
      }
    }
    if (cur) out.push(cur);
  }
  return out;
}

/** Display frames root → leaf of a leaf-first stack (inlined chains expanded). */
function displayFrames(frames: readonly { symbol: string; dso: string }[]): string[] {
  const out: string[] = [];
  for (let i = frames.length - 1; i >= 0; i--) {
    const f = frames[i];
    if (!f) continue;
    const name = frameDisplayName(f.symbol, f.dso, { tidyJava: true });
    if (name !== null) out.push(...name.split(';'));
  }
  return out;
}

export function toAnalysis(r: RequestRowDto): RequestAnalysis {
  const breakdown = Object.fromEntries(
    [...CAUSES, 'unknown' as const].map((k) => [k, BigInt(r.breakdown[k] ?? '0')]),
  ) as CauseBreakdown;
  return {
    traceId: r.traceId,
    spanId: r.spanId,
    service: r.service,
    route: r.route,
    name: r.name,
    startNs: BigInt(r.startNs),
    endNs: BigInt(r.endNs),
    durationNs: BigInt(r.durationNs),
    breakdown,
    dominantCause: r.dominantCause,
    evidence: {},
    sampleCount: r.sampleCount,
    sparse: r.sparse,
    threadIds: [],
  };
}

function rowOf(d: RequestDetailDto): RequestRowDto {
  const { evidence: _e, threadIds: _t, ...row } = d;
  return row;
}

/** Assembles replay payloads, timelines and flame graphs from the reader's window reads. */
@Injectable()
export class ReplayService {
  constructor(
    private readonly reader: ReplayReader,
    private readonly ds: DataSource,
  ) {}

  async mustHaveCapture(captureId: string): Promise<void> {
    if (!(await this.reader.captureExists(captureId)))
      throw new NotFoundException(`capture ${captureId} not found`);
  }

  async request(traceId: string, captureId: string | undefined, label = 'trace'): Promise<RequestDetailDto> {
    if (captureId !== undefined) await this.mustHaveCapture(captureId);
    const r = await this.reader.request(traceId, captureId ?? null);
    if (!r)
      throw new NotFoundException(
        `${label} ${traceId}: no request with this trace id${captureId ? ` in capture ${captureId}` : ' in any capture'}`,
      );
    return r;
  }

  async replay(
    traceId: string,
    captureId: string | undefined,
    given: bigint | undefined,
    lanesMode: 'full' | 'auto' = 'full',
  ): Promise<ReplayDto> {
    const request = await this.request(traceId, captureId);
    const cap = request.captureId;
    // lanes=auto on a capture with lane tiles: the client draws lanes from tiles; only the
    // bound threads' waits (for the cause panel) and their wakers (for the roles) are read here.
    const waitsOnly = lanesMode === 'auto' && (await this.reader.hasTiles(cap));
    const { fromNs, toNs } = paddedWindow(BigInt(request.startNs), BigInt(request.endNs));
    const res = resolutionFor(given, fromNs, toNs);
    const span = toNs - fromNs;
    // Reads run as soon as what they depend on is known, in parallel (each on its own
    // connection): the GC pauses need only the window; segments and sample counts the
    // bindings; logs and syscalls every involved thread.
    const gcPausesP = this.reader.gcPauses(cap, fromNs, toNs, GC_LOOKBACK);
    const [spanRows, bindings, cmdline] = await Promise.all([
      this.reader.spans(cap, traceId),
      this.reader.bindings(cap, traceId),
      this.reader.perfCmdline(cap),
    ]);
    const period = samplingPeriodNs(cmdline);

    // Involved threads: bound, then the holders of their lock waits, then their other wakers.
    const roles = new Map<string, Set<ThreadRole>>();
    const addRole = (id: string, role: ThreadRole) => {
      const s = roles.get(id) ?? new Set<ThreadRole>();
      s.add(role);
      roles.set(id, s);
    };
    // Bound: the threads the trace's spans are bound to. The request's other threads are
    // involved but did not run its spans: the threads of the lock evidence's wait chains are
    // holders (each held the lock, a convoy's earlier holders, or a lock its holder needed);
    // the rest ran its offloaded work (the analysis lists them between the two). Threads
    // whose release ended a lock wait of a bound thread become holders below.
    const bindingThreads = new Set(bindings.map((b) => b.threadId));
    const chained = new Set<string>();
    const lockEvidence = request.evidence['lock'];
    if (Array.isArray(lockEvidence))
      for (const l of lockEvidence as { chain?: unknown }[])
        if (Array.isArray(l.chain))
          for (const t of l.chain.slice(1)) if (typeof t === 'string') chained.add(t);
    for (const id of request.threadIds) {
      if (bindingThreads.size === 0 || bindingThreads.has(id)) addRole(id, 'bound');
      else addRole(id, chained.has(id) ? 'holder' : 'offload');
    }
    for (const b of bindings) addRole(b.threadId, 'bound');
    const bound = [...roles].filter(([, r]) => r.has('bound')).map(([id]) => id);
    const window = (ids: readonly string[]) => ids.map((threadId) => ({ threadId, fromNs, toNs }));

    // Samples per span: on its bound threads while bound.
    const spanIntervals: { spanId: string; interval: ThreadInterval }[] = [];
    const bySpan = new Map<string, ThreadInterval[]>();
    for (const b of bindings) {
      const list = bySpan.get(b.spanId) ?? [];
      list.push({ threadId: b.threadId, fromNs: BigInt(b.startNs), toNs: BigInt(b.endNs) });
      bySpan.set(b.spanId, list);
    }
    for (const [spanId, list] of bySpan)
      for (const interval of mergeIntervals(list)) spanIntervals.push({ spanId, interval });

    // Read for lanes at `res`: only the segments a lane may show whole come with their detail.
    const boundSegsP = waitsOnly
      ? this.reader.laneWaits(cap, window(bound), res)
      : this.reader.laneItems(cap, window(bound), res);
    // The rest of the bound threads' pools (same pool name and process): what the other workers
    // were doing while this request ran or waited for one of them.
    const matesP = this.ds.query<{ id: string }[]>(
      `SELECT t.id::text AS id FROM threads t
       WHERE t.capture_id = $1 AND t.pool IS NOT NULL AND NOT (t.id = ANY($2::bigint[]))
         AND EXISTS (SELECT 1 FROM threads b WHERE b.capture_id = t.capture_id AND b.id = ANY($2::bigint[])
                     AND b.pool = t.pool AND b.pid IS NOT DISTINCT FROM t.pid)
       ORDER BY t.tid LIMIT ${MAX_POOL_MATES}`,
      [cap, bound],
    );

    const countsP = this.reader.sampleStacks(
      cap,
      spanIntervals.map((s) => s.interval),
    );
    // Handled where awaited below; this only keeps an early failure from going unobserved.
    for (const p of [gcPausesP, boundSegsP, countsP, matesP]) p.catch(() => undefined);
    const boundSet = new Set(bound);
    const readOthers = (others: readonly string[]) => {
      const ids = [...bound, ...others];
      const segs = waitsOnly
        ? Promise.resolve({ items: [], wakers: [] })
        : this.reader.laneItems(cap, window(others), res);
      const infoP = this.reader.threadInfo(cap, ids);
      const wakeupsP = this.reader.wakeups(cap, ids, fromNs, toNs, MAX_WAKEUPS);
      const rest = infoP.then((info) => {
        const tidToThread = new Map<number, string>();
        for (const t of info) if (!tidToThread.has(t.tid)) tidToThread.set(t.tid, t.threadId);
        const nameToThread = new Map<string, string | null>();
        for (const t of info)
          for (const n of t.names) nameToThread.set(n, nameToThread.has(n) ? null : t.threadId);
        return Promise.all([
          this.reader.windowLogs(
            cap,
            fromNs,
            toNs,
            [...tidToThread.keys()],
            [...nameToThread.keys()],
            traceId,
            MAX_LOGS,
          ),
          this.reader.syscalls(cap, tidToThread, fromNs, toNs, maxBig(span, SECOND), MAX_SYSCALLS),
        ]).then(([logs, sys]) => ({ info, tidToThread, nameToThread, logs, sys }));
      });
      for (const p of [segs, wakeupsP, rest]) p.catch(() => undefined);
      return { segs, wakeupsP, rest };
    };
    // The other threads: the holders of the bound threads' lock waits and their other wakers.
    const boundSegs = await boundSegsP;
    bound.forEach((id, i) => {
      for (const w of boundSegs.wakers[i] ?? []) {
        if (w.threadId === id) continue;
        addRole(w.threadId, w.lock ? 'holder' : 'waker');
      }
    });
    const mates = await matesP;
    for (const { id } of mates) if (!roles.has(id)) addRole(id, 'pool');
    const others = [...roles.keys()].filter((id) => !boundSet.has(id));
    const reads = readOthers(others);
    const [otherSegs, wakeups, { info, tidToThread, nameToThread, logs, sys }, counts, gcPauses] =
      await Promise.all([reads.segs, reads.wakeupsP, reads.rest, countsP, gcPausesP]);
    const lanes = new Map<string, LaneItemDto[]>();
    bound.forEach((id, i) => lanes.set(id, boundSegs.items[i] ?? []));
    others.forEach((id, i) => lanes.set(id, otherSegs.items[i] ?? []));
    const firstBinding = new Map<string, bigint>();
    for (const b of bindings) {
      const t = BigInt(b.startNs);
      const cur = firstBinding.get(b.threadId);
      if (cur === undefined || t < cur) firstBinding.set(b.threadId, t);
    }
    const threads: ReplayThreadDto[] = info.map((t) => {
      const rs = [...(roles.get(t.threadId) ?? [])].sort((a, b) => ROLE_RANK[a] - ROLE_RANK[b]);
      return {
        threadId: t.threadId,
        tid: t.tid,
        pid: t.pid,
        name: bestName(t.names),
        names: t.names,
        pool: t.pool,
        role: rs[0] ?? 'waker',
        roles: rs,
        segments: lanes.get(t.threadId) ?? [],
      };
    });
    const fb = (id: string) => firstBinding.get(id) ?? NS_MAX;
    threads.sort(
      (a, b) =>
        ROLE_RANK[a.role] - ROLE_RANK[b.role] || cmpBig(fb(a.threadId), fb(b.threadId)) || a.tid - b.tid,
    );

    const spanSamples = new Map<string, number>();
    for (const c of counts) {
      const s = spanIntervals[c.interval];
      if (s) spanSamples.set(s.spanId, (spanSamples.get(s.spanId) ?? 0) + c.samples);
    }
    const spans: ReplaySpanDto[] = spanRows.map((s) => {
      const sampleCount = spanSamples.get(s.spanId) ?? 0;
      return {
        ...s,
        bindings: bindings
          .filter((b) => b.spanId === s.spanId)
          .map((b) => ({
            threadId: b.threadId,
            startNs: b.startNs,
            endNs: b.endNs,
            method: b.method,
            confidence: b.confidence,
          })),
        sampleCount,
        short: isShort(BigInt(s.endNs) - BigInt(s.startNs), period, sampleCount),
      };
    });

    for (const l of logs.logs) {
      l.threadId =
        (l.tid !== null ? tidToThread.get(l.tid) : undefined) ??
        (l.threadName !== null ? nameToThread.get(l.threadName) : undefined) ??
        null;
    }
    return {
      captureId: cap,
      request,
      window: { fromNs: fromNs.toString(), toNs: toNs.toString() },
      resolutionNs: res.toString(),
      lanes: waitsOnly ? 'waits' : 'full',
      samplePeriodNs: period?.toString() ?? null,
      spans,
      threads,
      logs: logs.logs,
      logsTruncated: logs.truncated,
      gcPauses,
      syscalls: sys.syscalls,
      syscallsTruncated: sys.truncated,
      wakeups: wakeups.wakeups,
      wakeupsTruncated: wakeups.truncated,
    };
  }

  async timeline(
    captureId: string,
    threadId: string,
    from: bigint | undefined,
    to: bigint | undefined,
    given: bigint | undefined,
  ): Promise<ThreadTimelineDto> {
    await this.mustHaveCapture(captureId);
    const [t] = await this.reader.threadInfo(captureId, [threadId]);
    if (!t) throw new NotFoundException(`thread ${threadId} not found in capture ${captureId}`);
    let fromNs = from;
    let toNs = to;
    if (fromNs === undefined || toNs === undefined) {
      const life = await this.reader.threadLife(captureId, threadId);
      fromNs ??= life?.fromNs ?? toNs ?? 0n;
      toNs ??= life?.toNs ?? fromNs;
    }
    if (toNs < fromNs) throw bad('to', 'a time not before from');
    if (toNs === fromNs) toNs = fromNs + 1n;
    const res = resolutionFor(given, fromNs, toNs);
    const segs = await this.reader.segments(captureId, [{ threadId, fromNs, toNs }]);
    return {
      captureId,
      threadId,
      tid: t.tid,
      pid: t.pid,
      names: t.names,
      fromNs: fromNs.toString(),
      toNs: toNs.toString(),
      resolutionNs: res.toString(),
      items: levelOfDetail(segs, res),
    };
  }

  /** Lanes of several threads over one range at one resolution: one read for all of them. */
  async lanes(
    captureId: string,
    threadIds: readonly string[],
    fromNs: bigint,
    toNs: bigint,
    given: bigint | undefined,
  ): Promise<LanesDto> {
    await this.mustHaveCapture(captureId);
    const to = toNs === fromNs ? fromNs + 1n : toNs;
    const res = resolutionFor(given, fromNs, to);
    const ids = [...new Set(threadIds)];
    const { items } = await this.reader.laneItems(
      captureId,
      ids.map((threadId) => ({ threadId, fromNs, toNs: to })),
      res,
    );
    return {
      captureId,
      fromNs: fromNs.toString(),
      toNs: to.toString(),
      resolutionNs: res.toString(),
      lanes: ids.map((threadId, i) => ({ threadId, items: items[i] ?? [] })),
    };
  }

  /**
   * Lane tiles of several threads at one level over [from, to) (the tiles holding those
   * times), packed for the replay UI (see libs/model lane-tiles.ts).
   */
  async laneTiles(
    captureId: string,
    threadIds: readonly string[],
    level: number,
    fromNs: bigint,
    toNs: bigint,
  ): Promise<Uint8Array> {
    const [exists, has] = await Promise.all([
      this.reader.captureExists(captureId),
      this.reader.hasTiles(captureId),
    ]);
    if (!exists) throw new NotFoundException(`capture ${captureId} not found`);
    if (!has)
      throw new NotFoundException(
        `capture ${captureId} has no lane tiles (correlated before they existed, or still correlating): read /lanes instead, or re-correlate it`,
      );
    const to = toNs > fromNs ? toNs - 1n : fromNs;
    const first = tileIndexOf(fromNs, level);
    const last = tileIndexOf(to, level);
    if (last - first >= BigInt(MAX_TILES_PER_LANE))
      throw bad(
        'to',
        `at most ${MAX_TILES_PER_LANE} tiles per lane at level ${level} (${tileSpanNs(level).toString()} ns each): a narrower range or a coarser level`,
        toNs.toString(),
      );
    const ids = [...new Set(threadIds)];
    const { tiles, carryIns } = await this.reader.laneTiles(
      captureId,
      ids,
      level,
      first,
      last,
      tileSpanNs(level),
      tileBucketNs(level),
    );
    return encodeLaneTiles({
      level,
      tiles,
      carryIns: carryIns.map((c) => ({ ...c, state: THREAD_STATES.indexOf(c.state) })),
    });
  }

  /** Frames of interned stacks, leaf first, with display names. */
  async stacks(captureId: string, stackIds: readonly string[]): Promise<StacksDto> {
    await this.mustHaveCapture(captureId);
    const frames = await this.reader.stackFrames(captureId, stackIds);
    return {
      captureId,
      stacks: [...new Set(stackIds)].map((stackId) => ({
        stackId,
        frames: (frames.get(stackId) ?? []).flatMap((f) => {
          const name = frameDisplayName(f.symbol, f.dso, { tidyJava: true });
          // Inlined chains come root → leaf joined by ';': leaf first here.
          return (name === null ? [f.symbol] : name.split(';').reverse()).map((n) => ({
            name: n,
            symbol: f.symbol,
            dso: f.dso,
          }));
        }),
      })),
    };
  }

  async flame(
    captureId: string,
    kind: FlameKind,
    sel: {
      threadId?: string;
      threadIds?: readonly string[];
      traceId?: string;
      spanId?: string;
      from?: bigint;
      to?: bigint;
    },
  ): Promise<FlameGraphDto> {
    await this.mustHaveCapture(captureId);
    const lo = sel.from ?? NS_MIN;
    const hi = sel.to ?? NS_MAX;
    if (hi < lo) throw bad('to', 'a time not before from');
    let intervals: ThreadInterval[];
    if (sel.spanId !== undefined && sel.traceId === undefined) throw bad('spanId', 'to come with traceId');
    if (sel.threadId !== undefined) {
      const [t] = await this.reader.threadInfo(captureId, [sel.threadId]);
      if (!t) throw new NotFoundException(`thread ${sel.threadId} not found in capture ${captureId}`);
    }
    if (sel.traceId !== undefined) {
      const bindings = await this.reader.bindings(captureId, sel.traceId, sel.spanId ?? null);
      if (!bindings.length) {
        const spans = await this.reader.spans(captureId, sel.traceId);
        if (!spans.length)
          throw new NotFoundException(`trace ${sel.traceId} not found in capture ${captureId}`);
        if (sel.spanId !== undefined && !spans.some((s) => s.spanId === sel.spanId))
          throw new NotFoundException(`span ${sel.spanId} not found in trace ${sel.traceId}`);
      }
      intervals = bindings
        .filter((b) => sel.threadId === undefined || b.threadId === sel.threadId)
        .map((b) => ({
          threadId: b.threadId,
          fromNs: maxBig(BigInt(b.startNs), lo),
          toNs: minBig(BigInt(b.endNs), hi),
        }));
    } else if (sel.threadId !== undefined) {
      intervals = [{ threadId: sel.threadId, fromNs: lo, toNs: hi }];
    } else if (sel.threadIds !== undefined && sel.threadIds.length > 0) {
      intervals = sel.threadIds.map((threadId) => ({ threadId, fromNs: lo, toNs: hi }));
    } else {
      if (sel.from === undefined || sel.to === undefined)
        throw bad('threadId', 'threadId, traceId, or both from and to');
      const all = await this.reader.threadMap(captureId);
      intervals = all.map((t) => ({ threadId: t.threadId, fromNs: lo, toNs: hi }));
    }
    intervals = mergeIntervals(intervals);

    const stacks: { stackId: string | null; value: bigint; samples: number; fallback: string }[] = [];
    if (kind === 'cpu') {
      const rows = await this.reader.sampleStacks(captureId, intervals);
      for (const r of rows)
        stacks.push({
          stackId: r.stackId,
          value: BigInt(r.samples),
          samples: r.samples,
          fallback: '[no stack]',
        });
    } else {
      const segs = await this.reader.segments(captureId, intervals, true);
      for (const s of segs) {
        const iv = intervals[s.interval];
        if (!iv) continue;
        const ns = minBig(s.endNs, iv.toNs) - maxBig(s.startNs, iv.fromNs);
        if (ns <= 0n) continue;
        if (kind === 'offcpu') {
          stacks.push({
            stackId: s.blockedStackId ?? null,
            value: ns,
            samples: 1,
            fallback: `[${s.state}, no stack]`,
          });
        } else if (s.wakerStackId !== undefined || s.wakerThreadId !== undefined) {
          stacks.push({
            stackId: s.wakerStackId ?? null,
            value: ns,
            samples: 1,
            fallback: '[waker, no stack]',
          });
        }
      }
    }
    const frames = await this.reader.stackFrames(
      captureId,
      stacks.map((s) => s.stackId).filter((s): s is string => s !== null),
    );
    const weighted: WeightedStack[] = stacks.map((s) => {
      const f = s.stackId === null ? [] : displayFrames(frames.get(s.stackId) ?? []);
      return { frames: f.length ? f : [s.fallback], value: Number(s.value), samples: s.samples };
    });
    const root = buildFlameTree(weighted);
    return {
      captureId,
      kind,
      unit: kind === 'cpu' ? 'samples' : 'ns',
      threadIds: [...new Set(intervals.map((i) => i.threadId))],
      fromNs: sel.from?.toString() ?? null,
      toNs: sel.to?.toString() ?? null,
      samples: root.samples,
      root,
    };
  }

  async compare(a: string, b: string, captureId: string | undefined): Promise<CompareDto> {
    const ra = rowOf(await this.request(a, captureId, 'a'));
    const rb = rowOf(await this.request(b, captureId, 'b'));
    return {
      a: ra,
      b: rb,
      causes: compareRequests(toAnalysis(ra), toAnalysis(rb)).map((c) => ({
        cause: c.cause,
        aNs: c.aNs.toString(),
        bNs: c.bNs.toString(),
        deltaNs: c.deltaNs.toString(),
      })),
    };
  }

  /**
   * Routes (with count, median, p95 and an equal-width duration histogram each), services and
   * dominant causes of the requests matching the filters, for the requests page.
   */
  async requestStats(
    f: { captureId?: string; service?: string; cause?: string; q?: string },
    buckets: number,
  ): Promise<RequestStatsDto> {
    if (f.captureId !== undefined) await this.mustHaveCapture(f.captureId);
    const where: string[] = [];
    const params: unknown[] = [];
    const p = (v: unknown) => {
      params.push(v);
      return `$${params.length}`;
    };
    if (f.captureId !== undefined) where.push(`r.capture_id = ${p(f.captureId)}`);
    if (f.service !== undefined) where.push(`r.service = ${p(f.service)}`);
    if (f.cause !== undefined) where.push(`r.dominant_cause = ${p(f.cause)}`);
    if (f.q !== undefined) {
      const escaped = f.q.replace(/[\\%_]/g, (c) => `\\${c}`);
      const prefix = p(`${escaped.toLowerCase()}%`);
      const inner = p(`%${escaped}%`);
      where.push(`(r.trace_id LIKE ${prefix} OR r.route ILIKE ${inner} OR r.name ILIKE ${inner})`);
    }
    const cond = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const b = p(buckets);
    const rows = await this.ds.query<
      {
        service: string | null;
        route: string | null;
        n: number;
        lo: string;
        hi: string;
        p50: string;
        p95: string;
        w: string;
        bucket: number | null;
        c: number | null;
      }[]
    >(
      // One pass over the matching requests (window min/max per route), then small joins.
      `WITH f AS (SELECT r.service, r.route, r.duration_ns AS d,
                         min(r.duration_ns) OVER w AS lo, max(r.duration_ns) OVER w AS hi
                  FROM requests r ${cond} WINDOW w AS (PARTITION BY r.service, r.route)),
            x AS (SELECT service, route, lo, hi,
                         ((d - lo) / greatest((hi - lo) / ${b}::int + 1, 1))::int AS bucket, count(*)::int AS c
                  FROM f GROUP BY service, route, lo, hi, bucket),
            g AS (SELECT service, route, count(*)::int AS n,
                         percentile_disc(0.5) WITHIN GROUP (ORDER BY d) AS p50,
                         percentile_disc(0.95) WITHIN GROUP (ORDER BY d) AS p95
                  FROM f GROUP BY service, route)
       SELECT x.service, x.route, g.n, x.lo::text AS lo, x.hi::text AS hi, g.p50::text AS p50,
              g.p95::text AS p95, greatest((x.hi - x.lo) / ${b}::int + 1, 1)::text AS w, x.bucket, x.c
       FROM x JOIN g ON g.service IS NOT DISTINCT FROM x.service AND g.route IS NOT DISTINCT FROM x.route
       ORDER BY g.n DESC, x.route NULLS LAST, x.service NULLS LAST, x.bucket`,
      params,
    );
    const routes: RouteStatsDto[] = [];
    let cur: RouteStatsDto | null = null;
    for (const r of rows) {
      if (!cur || cur.route !== r.route || cur.service !== r.service) {
        const lo = BigInt(r.lo);
        const w = BigInt(r.w);
        cur = {
          service: r.service,
          route: r.route,
          count: r.n,
          minNs: r.lo,
          medianNs: r.p50,
          p95Ns: r.p95,
          maxNs: r.hi,
          histogram: Array.from({ length: buckets }, (_, i) => ({
            fromNs: (lo + BigInt(i) * w).toString(),
            toNs: (lo + BigInt(i + 1) * w).toString(),
            count: 0,
          })),
        };
        routes.push(cur);
      }
      const bar = r.bucket === null ? undefined : cur.histogram[r.bucket];
      if (bar) bar.count += r.c ?? 0;
    }
    const facetParams = f.captureId !== undefined ? [f.captureId] : [];
    const facetCond = f.captureId !== undefined ? 'WHERE r.capture_id = $1' : '';
    const [services, causes] = await Promise.all([
      this.ds.query<{ service: string | null; count: number }[]>(
        `SELECT r.service, count(*)::int AS count FROM requests r ${facetCond}
         GROUP BY r.service ORDER BY count DESC, r.service NULLS LAST`,
        facetParams,
      ),
      this.ds.query<{ cause: RequestCauseKey; count: number }[]>(
        `SELECT r.dominant_cause AS cause, count(*)::int AS count FROM requests r ${facetCond}
         GROUP BY r.dominant_cause ORDER BY count DESC, r.dominant_cause`,
        facetParams,
      ),
    ]);
    return { total: routes.reduce((s, r) => s + r.count, 0), routes, services, causes };
  }

  /** Formats, ingest progress, request count and time range of each capture (or of one). */
  async captureOverview(captureId: string | undefined): Promise<CaptureOverviewDto[]> {
    if (captureId !== undefined) await this.mustHaveCapture(captureId);
    const rows = await this.ds.query<
      {
        id: string;
        formats: { format: string; files: number }[] | null;
        files_done: number;
        files: number;
        span_files: number;
        requests: number;
        from_ns: string | null;
        to_ns: string | null;
      }[]
    >(
      `SELECT c.id::text AS id,
              (SELECT json_agg(json_build_object('format', x.format, 'files', x.n) ORDER BY x.n DESC, x.format)
                 FROM (SELECT coalesce(s.format, s.detected_format) AS format, count(*)::int AS n
                       FROM source_files s WHERE s.capture_id = c.id
                         AND coalesce(s.format, s.detected_format) IS NOT NULL GROUP BY 1) x) AS formats,
              (SELECT count(*)::int FROM source_files s WHERE s.capture_id = c.id
                 AND s.state IN ('parsed', 'stored', 'failed')) AS files_done,
              (SELECT count(*)::int FROM source_files s WHERE s.capture_id = c.id) AS files,
              (SELECT count(*)::int FROM source_files s WHERE s.capture_id = c.id
                 AND coalesce(s.format, s.detected_format) IN ('otlp-json', 'otlp-proto', 'otlp-protobuf', 'zipkin', 'zipkin-json', 'jaeger-json')) AS span_files,
              rq.n AS requests,
              least(rq.lo, th.lo)::text AS from_ns, greatest(rq.hi, th.hi)::text AS to_ns
       FROM captures c
       CROSS JOIN LATERAL (SELECT count(*)::int AS n, min(r.start_ns) AS lo, max(r.end_ns) AS hi
                           FROM requests r WHERE r.capture_id = c.id) rq
       LEFT JOIN LATERAL (
         SELECT min(t.first_ns) + o.off AS lo, max(t.last_ns) + o.off AS hi
         FROM (SELECT s.clock_offset_ns AS off FROM source_files s WHERE s.capture_id = c.id
                 AND s.format = 'perf-script' AND s.clock_offset_ns IS NOT NULL ORDER BY s.ordinal LIMIT 1) o
         CROSS JOIN threads t WHERE t.capture_id = c.id GROUP BY o.off) th ON true
       WHERE ($1::uuid IS NULL OR c.id = $1::uuid)
       ORDER BY c.created_at DESC`,
      [captureId ?? null],
    );
    return rows.map((r) => ({
      captureId: r.id,
      formats: r.formats ?? [],
      filesDone: r.files_done,
      files: r.files,
      requests: r.requests,
      spanFiles: r.span_files,
      fromNs: r.from_ns,
      toNs: r.to_ns,
    }));
  }
}
