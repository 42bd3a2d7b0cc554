import type { DataSource } from 'typeorm';
import { readStackFrames } from './stacks.js';
import { THREAD_STATES } from '@threadreel/model';
import { LOD_CLASS_THRESHOLDS, LOD_LEVELS, lodBucketNs, lodDurationClass, lodLevelFor } from './lod.js';
import type {
  LaneItemDto,
  LaneSegmentDto,
  LogSearchRowDto,
  ReplayBindingDto,
  ReplayGcPauseDto,
  ReplayLogDto,
  ReplaySyscallDto,
  ReplayWakeupDto,
  RequestCauseKey,
  RequestDetailDto,
  RequestRowDto,
  RequestSort,
  SortOrder,
  ThreadMapRowDto,
  ThreadMappingDto,
  ThreadState,
} from '@threadreel/model';

/** Open bounds of an interval: far from any epoch ns and from int8 overflow after an offset. */
export const NS_MIN = -4_000_000_000_000_000_000n;
export const NS_MAX = 4_000_000_000_000_000_000n;

/** Files placed on the time axis, with the offset (ns) the correlator added to their times. */
const OFFSETS = `(SELECT ordinal AS file_ordinal, clock_offset_ns AS off
                   FROM source_files WHERE capture_id = $1 AND clock_offset_ns IS NOT NULL)`;

/** The intervals of a lane read ($2 thread ids, $3 froms, $4 tos), numbered from 1 as `idx`. */
const LANE_INTERVALS = `unnest($2::bigint[], $3::bigint[], $4::bigint[]) WITH ORDINALITY AS iv(thread_id, lo, hi, idx)`;

/**
 * Segments of each interval `iv(thread_id, lo, hi, idx)` ($2, $3, $4) overlapping it: the one
 * segment of the thread that starts before the interval (segments of a thread do not overlap;
 * a backward index probe, LIMIT 1) and those starting in it (an index range).
 */
const INTERVAL_SEGMENTS = `${LANE_INTERVALS}
       CROSS JOIN LATERAL (
         (SELECT * FROM segments g WHERE g.capture_id = $1 AND g.thread_id = iv.thread_id AND g.start_ns < iv.lo
          ORDER BY g.start_ns DESC LIMIT 1)
         UNION ALL
         (SELECT * FROM segments g WHERE g.capture_id = $1 AND g.thread_id = iv.thread_id
            AND g.start_ns >= iv.lo AND g.start_ns < iv.hi)
       ) x`;

function intervalParams(captureId: string, intervals: readonly ThreadInterval[]): unknown[] {
  return [
    captureId,
    intervals.map((i) => i.threadId),
    intervals.map((i) => i.fromNs.toString()),
    intervals.map((i) => i.toNs.toString()),
  ];
}

export interface RequestFilter {
  captureId?: string;
  service?: string;
  route?: string;
  minNs?: bigint;
  maxNs?: bigint;
  cause?: string;
  /** Trace id prefix, or text in the route or name. */
  q?: string;
  sort: RequestSort;
  order: SortOrder;
  limit: number;
  offset: number;
}

/** One thread on one interval [lo, hi). */
export interface ThreadInterval {
  threadId: string;
  fromNs: bigint;
  toNs: bigint;
}

export interface ReplaySegmentRow {
  /** Index of the interval the row was read for. */
  interval: number;
  threadId: string;
  startNs: bigint;
  endNs: bigint;
  state: ThreadState;
  /** Absent (with the other detail but the waker) where `segments` was told it is not needed. */
  source?: string;
  syscall?: string;
  target?: string;
  lockId?: string;
  blockedStackId?: string;
  wakerThreadId?: string;
  wakerStackId?: string;
  prevState?: string;
  reason?: string;
}

export interface ThreadInfoRow {
  threadId: string;
  pid: number | null;
  tid: number;
  names: string[];
  pool: string | null;
}

export interface SpanReadRow {
  spanId: string;
  parentSpanId: string | null;
  name: string;
  kind: string;
  service: string | null;
  startNs: string;
  endNs: string;
  status: string;
  attributes: Record<string, unknown>;
}

export interface BindingReadRow extends ReplayBindingDto {
  spanId: string;
}

interface RequestDbRow {
  capture_id: string;
  trace_id: string;
  span_id: string;
  service: string | null;
  route: string | null;
  name: string;
  start_ns: string;
  end_ns: string;
  duration_ns: string;
  dominant_cause: RequestCauseKey;
  breakdown: Record<string, string>;
  sample_count: number;
  sparse: boolean;
}

const REQUEST_COLUMNS = `r.capture_id, r.trace_id, r.span_id, r.service, r.route, r.name, r.start_ns::text AS start_ns,
  r.end_ns::text AS end_ns, r.duration_ns::text AS duration_ns, r.dominant_cause, r.breakdown, r.sample_count, r.sparse`;

function toRow(r: RequestDbRow): RequestRowDto {
  return {
    captureId: r.capture_id,
    traceId: r.trace_id,
    spanId: r.span_id,
    service: r.service,
    route: r.route,
    name: r.name,
    startNs: r.start_ns,
    endNs: r.end_ns,
    durationNs: r.duration_ns,
    dominantCause: r.dominant_cause,
    breakdown: Object.fromEntries(Object.entries(r.breakdown).map(([k, v]) => [k, String(v)])),
    sampleCount: r.sample_count,
    sparse: r.sparse,
  };
}

function likeEscape(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

function opt(v: string | null): string | undefined {
  return v === null ? undefined : v;
}

interface LogDbRow {
  capture_id: string;
  file_ordinal: number;
  line: number;
  t: string | null;
  level: string | null;
  thread_name: string | null;
  tid: number | null;
  trace_ids: string[];
  span_id: string | null;
  logger: string | null;
  message: string;
}

const LOG_COLUMNS = `l.capture_id, l.file_ordinal, l.line, l.level, l.thread_name, l.tid, l.trace_ids, l.span_id,
  l.logger, left(l.message, 2000) AS message`;

function toLog(r: LogDbRow): ReplayLogDto {
  return {
    timeNs: r.t,
    level: r.level,
    threadName: r.thread_name,
    tid: r.tid,
    threadId: null,
    traceIds: r.trace_ids,
    spanId: r.span_id,
    logger: r.logger,
    message: r.message,
  };
}

/** A segment's detail columns as the lane and segment reads select them (ids as text). */
interface DetailColumns {
  source: string | null;
  syscall: string | null;
  target: string | null;
  lock_id: string | null;
  bstack: string | null;
  waker: string | null;
  wstack: string | null;
  prev_state: string | null;
  reason: string | null;
}

interface LaneRow extends DetailColumns {
  idx: number;
  s: string;
  e: string;
  n: string;
  /** ns per state in THREAD_STATES order, comma-separated, empty where none. */
  sums: string;
  /** Extreme waker ids: lock min, lock max, other min, other max (empty where none). */
  wk: string;
}

/**
 * The segments of each interval ($1 capture, {@link LANE_INTERVALS}) whose duration class is
 * at least `fromClass` (an SQL expression), as `g`: one index range per class (its longest
 * member bounds how early one may start). Rows starting before the interval are the caller's
 * to drop (`g.end_ns > iv.lo`).
 */
function classReads(fromClass: string): string {
  return `${LANE_INTERVALS} CROSS JOIN generate_series(${fromClass}, ${LOD_LEVELS}) AS c(j)
           CROSS JOIN LATERAL (
             SELECT * FROM segments g WHERE g.capture_id = $1 AND g.thread_id = iv.thread_id
               AND width_bucket(g.end_ns - g.start_ns, '{${LOD_CLASS_THRESHOLDS.join(',')}}'::bigint[]) = c.j
               AND g.start_ns >= CASE WHEN c.j >= ${LOD_LEVELS} THEN ${NS_MIN}::bigint
                                      ELSE iv.lo - (${LOD_CLASS_THRESHOLDS[0]}::bigint << (2 * c.j)) END
               AND g.start_ns < iv.hi
             OFFSET 0
           ) g`;
}

/** The states a replay's cause panel finds evidence on. */
const WAIT_STATES: readonly ThreadState[] = ['lock', 'net', 'file', 'gc'];

export interface LaneItems {
  items: LaneItemDto[][];
  wakers: { threadId: string; lock: boolean }[][];
}

/** Whether non-negative decimal integer `a` exceeds `b` (no leading zeros; no number conversion). */
function decimalAbove(a: string, b: string): boolean {
  return a.length !== b.length ? a.length > b.length : a > b;
}

/**
 * Lane rows (per interval: per-state sums, extreme wakers, the detail of a lone segment) to
 * lane items. Called on up to pixels × lanes rows: plain loops, no per-row allocation but the items.
 */
function toLaneItems(count: number, rows: readonly LaneRow[]): LaneItems {
  const items: LaneItemDto[][] = Array.from({ length: count }, () => []);
  const wakers: { threadId: string; lock: boolean }[][] = Array.from({ length: count }, () => []);
  for (const r of rows) {
    const list = items[r.idx - 1];
    if (!list) continue;
    const summary: Partial<Record<ThreadState, string>> = {};
    let state: ThreadState = 'unknown';
    let best = '';
    const sums = r.sums.split(',');
    for (let k = 0; k < sums.length; k++) {
      const ns = sums[k];
      const st = THREAD_STATES[k];
      if (ns === undefined || ns === '' || st === undefined) continue;
      summary[st] = ns;
      if (best === '' || decimalAbove(ns, best)) {
        best = ns;
        state = st;
      }
    }
    const w = wakers[r.idx - 1];
    if (r.wk !== ',,,' && w) {
      const ids = r.wk.split(',');
      for (let k = 0; k < ids.length; k++) {
        const id = ids[k];
        if (id) w.push({ threadId: id, lock: k < 2 });
      }
    }
    if (r.n === '1') {
      const item: LaneSegmentDto = { kind: 'segment', startNs: r.s, endNs: r.e, state };
      if (r.source !== null) item.source = r.source;
      if (r.syscall !== null) item.syscall = r.syscall;
      if (r.target !== null) item.target = r.target;
      if (r.lock_id !== null) item.lockId = r.lock_id;
      if (r.bstack !== null) item.blockedStackId = r.bstack;
      if (r.waker !== null) item.wakerThreadId = r.waker;
      if (r.wstack !== null) item.wakerStackId = r.wstack;
      if (r.prev_state !== null) item.prevState = r.prev_state;
      if (r.reason !== null) item.reason = r.reason;
      list.push(item);
    } else {
      list.push({ kind: 'summary', startNs: r.s, endNs: r.e, state, summary, count: Number(r.n) });
    }
  }
  return { items, wakers };
}

/**
 * SQL readers of the replay API. The request list reads only `requests`; everything about
 * one request is read for its window alone: every event query is bounded by capture
 * (one partition) and by the (capture, thread|tid, time) indexes, with the window shifted
 * into each file's own clock (raw time = aligned time − the file's offset), so an index
 * range applies per file. Per-file and per-thread reads are LATERAL subqueries with their
 * own ORDER BY … LIMIT (or GROUP BY): a plain one would be flattened into a join, which the
 * planner may then run as a hash join over a sequential scan of the whole partition.
 */
export class ReplayReader {
  constructor(private readonly ds: DataSource) {}

  async captureExists(captureId: string): Promise<boolean> {
    const r = await this.ds.query<unknown[]>('SELECT 1 FROM captures WHERE id = $1', [captureId]);
    return r.length > 0;
  }

  async listRequests(f: RequestFilter): Promise<{ total: number; rows: RequestRowDto[] }> {
    const where: string[] = [];
    const params: unknown[] = [];
    const p = (v: unknown) => {
      params.push(v);
      return `$${params.length}`;
    };
    if (f.captureId !== undefined) where.push(`r.capture_id = ${p(f.captureId)}`);
    if (f.service !== undefined) where.push(`r.service = ${p(f.service)}`);
    if (f.route !== undefined) where.push(`r.route = ${p(f.route)}`);
    if (f.minNs !== undefined) where.push(`r.duration_ns >= ${p(f.minNs.toString())}`);
    if (f.maxNs !== undefined) where.push(`r.duration_ns <= ${p(f.maxNs.toString())}`);
    if (f.cause !== undefined) where.push(`r.dominant_cause = ${p(f.cause)}`);
    if (f.q !== undefined) {
      const prefix = p(`${likeEscape(f.q.toLowerCase())}%`);
      const inner = p(`%${likeEscape(f.q)}%`);
      where.push(`(r.trace_id LIKE ${prefix} OR r.route ILIKE ${inner} OR r.name ILIKE ${inner})`);
    }
    const cond = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const dir = f.order === 'asc' ? 'ASC' : 'DESC';
    const key = f.sort === 'start' ? 'r.start_ns' : 'r.duration_ns';
    const countRows = await this.ds.query<{ n: number }[]>(
      `SELECT count(*)::int AS n FROM requests r ${cond}`,
      params,
    );
    const rows = await this.ds.query<RequestDbRow[]>(
      `SELECT ${REQUEST_COLUMNS} FROM requests r ${cond}
       ORDER BY ${key} ${dir}, r.id ${dir} LIMIT ${p(f.limit)} OFFSET ${p(f.offset)}`,
      params,
    );
    return { total: countRows[0]?.n ?? 0, rows: rows.map(toRow) };
  }

  /** The request of a trace: in the given capture, else in the newest capture holding it; its root-most row. */
  async request(traceId: string, captureId: string | null): Promise<RequestDetailDto | null> {
    const rows = await this.ds.query<
      (RequestDbRow & { evidence: Record<string, unknown>; thread_ids: string[] })[]
    >(
      `SELECT ${REQUEST_COLUMNS}, r.evidence, r.thread_ids::text[] AS thread_ids
       FROM requests r JOIN captures c ON c.id = r.capture_id
       WHERE r.trace_id = $1 AND ($2::uuid IS NULL OR r.capture_id = $2::uuid)
       ORDER BY c.created_at DESC, r.start_ns, r.id LIMIT 1`,
      [traceId, captureId],
    );
    const r = rows[0];
    if (!r) return null;
    return { ...toRow(r), evidence: r.evidence, threadIds: r.thread_ids };
  }

  /** Requests of trace ids (full 32 hex) or of Datadog ids (the low 16 hex), newest capture first. */
  async requestsByTraceIds(
    full: readonly string[],
    low64: readonly string[],
    limit: number,
  ): Promise<RequestRowDto[]> {
    if (!full.length && !low64.length) return [];
    const rows = await this.ds.query<RequestDbRow[]>(
      `SELECT ${REQUEST_COLUMNS} FROM requests r JOIN captures c ON c.id = r.capture_id
       WHERE r.trace_id = ANY($1::text[]) OR right(r.trace_id, 16) = ANY($2::text[])
       ORDER BY c.created_at DESC, r.start_ns, r.id LIMIT $3`,
      [full, low64, limit],
    );
    return rows.map(toRow);
  }

  /** The perf command line of the capture's first parsed perf file (for the sampling period). */
  async perfCmdline(captureId: string): Promise<string | null> {
    const r = await this.ds.query<{ cmdline: string | null }[]>(
      `SELECT headers->>'cmdline' AS cmdline FROM source_files
       WHERE capture_id = $1 AND format = 'perf-script' AND headers ? 'cmdline' ORDER BY ordinal LIMIT 1`,
      [captureId],
    );
    return r[0]?.cmdline ?? null;
  }

  async threadInfo(captureId: string, threadIds: readonly string[]): Promise<ThreadInfoRow[]> {
    if (!threadIds.length) return [];
    const rows = await this.ds.query<
      { id: string; pid: number | null; tid: number; names: string[]; pool: string | null }[]
    >(
      `SELECT id::text AS id, pid, tid, names, pool FROM threads WHERE capture_id = $1 AND id = ANY($2::bigint[])`,
      [captureId, threadIds],
    );
    return rows.map((r) => ({ threadId: r.id, pid: r.pid, tid: r.tid, names: r.names, pool: r.pool }));
  }

  /** Every thread of a capture with its identity, runtime ids, pool, segment quality and mappings. */
  async threadMap(captureId: string): Promise<ThreadMapRowDto[]> {
    const rows = await this.ds.query<
      {
        id: string;
        pid: number | null;
        tid: number;
        names: string[];
        runtime_ids: Record<string, unknown> | null;
        pool: string | null;
        segment_quality: string | null;
        sample_count: string;
        mappings: unknown;
      }[]
    >(
      `SELECT id::text AS id, pid, tid, names, runtime_ids, pool, segment_quality, sample_count::text AS sample_count, mappings
       FROM threads WHERE capture_id = $1 ORDER BY pid NULLS LAST, tid, id`,
      [captureId],
    );
    return rows.map((r) => ({
      threadId: r.id,
      tid: r.tid,
      pid: r.pid,
      names: r.names,
      runtimeIds: Object.fromEntries(
        Object.entries(r.runtime_ids ?? {}).map(([k, v]) => [
          k,
          Array.isArray(v) ? v.map(String) : [String(v)],
        ]),
      ),
      pool: r.pool,
      segmentQuality: r.segment_quality,
      sampleCount: r.sample_count,
      mappings: (Array.isArray(r.mappings) ? r.mappings : []).map((m: unknown): ThreadMappingDto => {
        const o = (m ?? {}) as Record<string, unknown>;
        return {
          source: typeof o.source === 'string' ? o.source : 'unknown',
          name: typeof o.name === 'string' ? o.name : null,
          runtimeId:
            typeof o.runtimeId === 'string' || typeof o.runtimeId === 'number' ? String(o.runtimeId) : null,
          confidence: typeof o.confidence === 'number' ? o.confidence : Number(o.confidence ?? 0),
        };
      }),
    }));
  }

  /** The observed life of a thread: its first segment's start … last segment's end (else its aligned samples). */
  async threadLife(captureId: string, threadId: string): Promise<{ fromNs: bigint; toNs: bigint } | null> {
    const r = await this.ds.query<{ lo: string | null; hi: string | null }[]>(
      `SELECT (SELECT start_ns FROM segments WHERE capture_id = $1 AND thread_id = $2 ORDER BY start_ns LIMIT 1)::text AS lo,
              (SELECT end_ns FROM segments WHERE capture_id = $1 AND thread_id = $2 ORDER BY start_ns DESC LIMIT 1)::text AS hi`,
      [captureId, threadId],
    );
    let lo = r[0]?.lo ?? null;
    let hi = r[0]?.hi ?? null;
    if (lo === null || hi === null) {
      const s = await this.ds.query<{ lo: string | null; hi: string | null }[]>(
        `SELECT min(s.time_ns + o.off)::text AS lo, (max(s.time_ns + o.off) + 1)::text AS hi
         FROM ${OFFSETS} o JOIN samples s ON s.capture_id = $1 AND s.thread_id = $2 AND s.file_ordinal = o.file_ordinal`,
        [captureId, threadId],
      );
      lo = s[0]?.lo ?? null;
      hi = s[0]?.hi ?? null;
    }
    return lo === null || hi === null ? null : { fromNs: BigInt(lo), toNs: BigInt(hi) };
  }

  /**
   * Segments overlapping each interval, oldest first per interval: the one segment that
   * starts before the interval (segments of a thread do not overlap) and those starting in it.
   * `blockedOnly`: states other than cpu, runqueue and unknown.
   * `laneResolutionNs`: the rows are for lanes at this resolution (one lane per interval, see
   * `levelOfDetail`), which shows a segment with its detail only when it is at least one
   * pixel long or alone in its run, that is when the next segment of the lane is at least a
   * pixel long or a pixel or more after it (or there is none). Other rows come without
   * their detail (all but the waker thread), which is most of them at a coarse resolution.
   */
  async segments(
    captureId: string,
    intervals: readonly ThreadInterval[],
    blockedOnly = false,
    laneResolutionNs: bigint | null = null,
  ): Promise<ReplaySegmentRow[]> {
    if (!intervals.length) return [];
    const params = intervalParams(captureId, intervals);
    const res = laneResolutionNs === null ? null : laneResolutionNs > 0n ? laneResolutionNs : 1n;
    const detail = (col: string) => (res === null ? `y.${col}` : `CASE WHEN y.detail THEN y.${col} END`);
    const rows = await this.ds.query<
      (DetailColumns & { idx: number; s: string; e: string; state: ThreadState })[]
    >(
      `SELECT y.idx::int AS idx, y.start_ns::text AS s, y.end_ns::text AS e, y.state, ${detail('source')} AS source,
              ${detail('syscall')} AS syscall, ${detail('target')} AS target, ${detail('lock_id')} AS lock_id,
              ${detail('blocked_stack_id')}::text AS bstack, y.waker_thread_id::text AS waker,
              ${detail('waker_stack_id')}::text AS wstack, ${detail('prev_state')} AS prev_state,
              ${detail('reason')} AS reason
       FROM (
         SELECT iv.idx, x.*${
           res === null
             ? ''
             : `, (x.end_ns - x.start_ns >= $5::bigint
                  OR coalesce(lead(x.end_ns - x.start_ns) OVER w >= $5::bigint
                     OR lead(x.start_ns) OVER w - x.end_ns >= $5::bigint, true)) AS detail`
         }
         FROM ${INTERVAL_SEGMENTS}
         WHERE x.end_ns > iv.lo ${blockedOnly ? `AND x.state NOT IN ('cpu', 'runqueue', 'unknown')` : ''}
         ${res === null ? '' : 'WINDOW w AS (PARTITION BY iv.idx ORDER BY x.start_ns)'}
       ) y
       ORDER BY y.idx, y.start_ns`,
      res === null ? params : [...params, res.toString()],
    );
    // Each row's thread is its interval's (as the database spells the id), not sent per row.
    const threadOf = intervals.map((i) => BigInt(i.threadId).toString());
    return rows.map((r) => ({
      interval: r.idx - 1,
      threadId: threadOf[r.idx - 1] ?? '',
      startNs: BigInt(r.s),
      endNs: BigInt(r.e),
      state: r.state,
      source: opt(r.source),
      syscall: opt(r.syscall),
      target: opt(r.target),
      lockId: opt(r.lock_id),
      blockedStackId: opt(r.bstack),
      wakerThreadId: opt(r.waker),
      wakerStackId: opt(r.wstack),
      prevState: opt(r.prev_state),
      reason: opt(r.reason),
    }));
  }

  /**
   * Lanes at a resolution, reduced in the database: segments at least `res` long come whole
   * with their detail; the others are summed per pixel bucket (`(start − lo) / res`) and
   * state, so a lane costs about two rows per pixel whatever the number of segments. A
   * bucket holding one segment comes whole too. Also returns, per interval, the threads that
   * woke its segments (`lock`: they ended a lock wait), for the replay's holder and waker
   * roles; inside a bucket at most the two extreme waker ids per state are kept.
   */
  async laneItems(
    captureId: string,
    intervals: readonly ThreadInterval[],
    resolutionNs: bigint,
    opts: { raw?: boolean } = {},
  ): Promise<LaneItems> {
    if (!intervals.length) return { items: [], wakers: [] };
    const res = resolutionNs > 0n ? resolutionNs : 1n;
    const level = lodLevelFor(res);
    if (opts.raw !== true && this.useLod && level !== null && (await this.hasLod(captureId)))
      return this.lodLaneItems(captureId, intervals, res, level);
    return this.rawLaneItems(captureId, intervals, res);
  }

  /** THREADREEL_REPLAY_LOD=0 reads lanes from the segments alone (for before/after benchmarks). */
  private readonly useLod = process.env.THREADREEL_REPLAY_LOD !== '0';

  /** Captures known to hold a level-of-detail pyramid (a re-correlation rewrites it, never removes it). */
  private readonly lodCaptures = new Set<string>();

  /** Whether the capture's correlation wrote a pyramid (every thread with segments has its header row). */
  async hasLod(captureId: string): Promise<boolean> {
    if (this.lodCaptures.has(captureId)) return true;
    const r = await this.ds.query<unknown[]>(
      `SELECT 1 FROM segment_lod WHERE capture_id = $1 AND level = -1 LIMIT 1`,
      [captureId],
    );
    if (r.length) this.lodCaptures.add(captureId);
    return r.length > 0;
  }

  /**
   * {@link laneItems} from the pyramid: the buckets of `level` (not wider than `res`) wholly
   * inside the interval, the shorter segments of the two partial buckets at its edges, and
   * the segments at least one bucket long (read whole per duration class, an index range
   * each), grouped per pixel as the raw query groups segments; a bucket counts in the pixel
   * of its first segment's start. So a lane covers exactly the segments overlapping the
   * interval, in O(pixels) rows. A group of one segment comes whole, with its detail (read
   * by its start when it came from a bucket).
   */
  private async lodLaneItems(
    captureId: string,
    intervals: readonly ThreadInterval[],
    res: bigint,
    level: number,
  ): Promise<LaneItems> {
    const size = lodBucketNs(level);
    // Buckets wholly inside the interval, [a, b): a = lo rounded up, b = hi rounded down to the bucket size.
    const bounded = `(SELECT iv.*, iv.lo + ($7::bigint - ((iv.lo % $7::bigint) + $7::bigint) % $7::bigint) % $7::bigint AS a,
                             iv.hi - ((iv.hi % $7::bigint) + $7::bigint) % $7::bigint AS b FROM ${LANE_INTERVALS}) iv`;
    const bucketTotals = THREAD_STATES.map((st, k) => `b.${st}_ns AS s${k}`).join(', ');
    const segTotals = THREAD_STATES.map(
      (st, k) => `CASE WHEN g.state = '${st}' THEN g.end_ns - g.start_ns END AS s${k}`,
    ).join(', ');
    const sums = THREAD_STATES.map((_st, k) => `sum(x.s${k}) AS s${k}`).join(', ');
    const out = `concat(${THREAD_STATES.map((_st, k) => `z.s${k}`).join(`, ',', `)}) AS sums`;
    const detail = (col: string) => `coalesce(z.${col}, d.${col})`;
    // Each LATERAL read keeps its index range (OFFSET 0: not flattened into a join over the partition).
    const rows = await this.ds.transaction(async (em) => {
      await em.query(`SET LOCAL jit = off`);
      return em.query<LaneRow[]>(
        `WITH x AS (
           SELECT iv.idx, iv.thread_id AS tid, iv.lo, b.min_start_ns AS s, b.max_end_ns AS e, b.segment_count::bigint AS n,
                  false AS seg, ${bucketTotals}, b.lock_waker_min AS lw1, b.lock_waker_max AS lw2,
                  b.other_waker_min AS ow1, b.other_waker_max AS ow2, NULL::text AS state, NULL::text AS source,
                  NULL::text AS syscall, NULL::text AS target, NULL::text AS lock_id, NULL::bigint AS blocked_stack_id,
                  NULL::bigint AS waker_thread_id, NULL::bigint AS waker_stack_id, NULL::text AS prev_state,
                  NULL::text AS reason
           FROM ${bounded} CROSS JOIN LATERAL (
             SELECT * FROM segment_lod b WHERE b.capture_id = $1 AND b.thread_id = iv.thread_id AND b.level = $6::int
               AND b.bucket_ns >= iv.a AND b.bucket_ns < iv.b
             OFFSET 0
           ) b
           UNION ALL
           -- The segments shorter than a bucket in the partial buckets at the edges (read from the segments, so
           -- the lane covers exactly what overlaps the interval): starting in [lo − size, a) and in [max(a, b), hi).
           SELECT iv.idx, iv.thread_id, iv.lo, g.start_ns, g.end_ns, 1::bigint, true, ${segTotals},
                  CASE WHEN g.state = 'lock' THEN g.waker_thread_id END, CASE WHEN g.state = 'lock' THEN g.waker_thread_id END,
                  CASE WHEN g.state <> 'lock' THEN g.waker_thread_id END, CASE WHEN g.state <> 'lock' THEN g.waker_thread_id END,
                  g.state, g.source, g.syscall, g.target, g.lock_id, g.blocked_stack_id, g.waker_thread_id,
                  g.waker_stack_id, g.prev_state, g.reason
           FROM ${bounded}
           CROSS JOIN LATERAL (VALUES (iv.lo - $7::bigint, least(iv.a, iv.hi)), (greatest(iv.a, iv.b), iv.hi)) AS r(s, e)
           CROSS JOIN LATERAL (
             SELECT * FROM segments g WHERE g.capture_id = $1 AND g.thread_id = iv.thread_id
               AND g.start_ns >= r.s AND g.start_ns < r.e AND g.end_ns - g.start_ns < $7::bigint
             OFFSET 0
           ) g
           WHERE g.end_ns > iv.lo
           UNION ALL
           SELECT iv.idx, iv.thread_id, iv.lo, g.start_ns, g.end_ns, 1::bigint, true, ${segTotals},
                  CASE WHEN g.state = 'lock' THEN g.waker_thread_id END, CASE WHEN g.state = 'lock' THEN g.waker_thread_id END,
                  CASE WHEN g.state <> 'lock' THEN g.waker_thread_id END, CASE WHEN g.state <> 'lock' THEN g.waker_thread_id END,
                  g.state, g.source, g.syscall, g.target, g.lock_id, g.blocked_stack_id, g.waker_thread_id,
                  g.waker_stack_id, g.prev_state, g.reason
           FROM ${classReads('$6::int + 1')}
           WHERE g.end_ns > iv.lo
         ), z AS (
           SELECT x.idx, min(x.tid) AS tid, min(x.s) AS s, max(x.e) AS e, sum(x.n) AS n, bool_or(x.seg) AS seg, ${sums},
                  min(x.lw1) AS lw1, max(x.lw2) AS lw2, min(x.ow1) AS ow1, max(x.ow2) AS ow2,
                  min(x.source) AS source, min(x.syscall) AS syscall, min(x.target) AS target, min(x.lock_id) AS lock_id,
                  min(x.blocked_stack_id) AS blocked_stack_id, min(x.waker_thread_id) AS waker_thread_id,
                  min(x.waker_stack_id) AS waker_stack_id, min(x.prev_state) AS prev_state, min(x.reason) AS reason
           FROM x
           GROUP BY x.idx, CASE WHEN x.seg AND x.e - x.s >= $5::bigint THEN -1 - x.s
                                ELSE greatest(x.s - x.lo, 0) / $5::bigint END
         )
         SELECT z.idx::int AS idx, z.s::text AS s, z.e::text AS e, z.n::text AS n, ${out},
                concat(z.lw1, ',', z.lw2, ',', z.ow1, ',', z.ow2) AS wk,
                ${detail('source')} AS source, ${detail('syscall')} AS syscall, ${detail('target')} AS target,
                ${detail('lock_id')} AS lock_id, ${detail('blocked_stack_id')}::text AS bstack,
                ${detail('waker_thread_id')}::text AS waker, ${detail('waker_stack_id')}::text AS wstack,
                ${detail('prev_state')} AS prev_state, ${detail('reason')} AS reason
         FROM z LEFT JOIN LATERAL (
           SELECT * FROM segments g WHERE z.n = 1 AND NOT z.seg AND g.capture_id = $1 AND g.thread_id = z.tid
             AND g.start_ns = z.s LIMIT 1
         ) d ON true
         ORDER BY z.idx, z.s`,
        [...intervalParams(captureId, intervals), res.toString(), level, size.toString()],
      );
    });
    return toLaneItems(intervals.length, rows);
  }

  /**
   * What a replay needs of its lanes when the client draws them from lane tiles: per interval
   * the waits (lock, net, file, gc segments) at least `res` long, whole with their detail (the
   * cause panel finds its evidence on them), and the threads that woke its segments (as
   * {@link laneItems} reports them: at most the extreme waker ids per pixel bucket and kind).
   * Reads the segments at least `res` long by duration class and the pyramid's waker columns:
   * no per-pixel reduction. Without a pyramid: {@link laneItems}' whole waits and wakers.
   */
  async laneWaits(
    captureId: string,
    intervals: readonly ThreadInterval[],
    resolutionNs: bigint,
  ): Promise<LaneItems> {
    if (!intervals.length) return { items: [], wakers: [] };
    const res = resolutionNs > 0n ? resolutionNs : 1n;
    const level = lodLevelFor(res);
    if (level === null || !this.useLod || !(await this.hasLod(captureId))) {
      const all = await this.laneItems(captureId, intervals, res);
      return {
        items: all.items.map((l) =>
          l.filter(
            (i) =>
              i.kind === 'segment' &&
              WAIT_STATES.includes(i.state) &&
              BigInt(i.endNs) - BigInt(i.startNs) >= res,
          ),
        ),
        wakers: all.wakers,
      };
    }
    const size = lodBucketNs(level);
    const params = intervalParams(captureId, intervals);
    // Two reads, each on its own connection (JIT off: it costs more than these index reads take).
    const noJit = <T>(sql: string, args: unknown[]) =>
      this.ds.transaction(async (em) => {
        await em.query(`SET LOCAL jit = off`);
        return em.query<T>(sql, args);
      });
    const [waits, wakers] = await Promise.all([
      noJit<LaneRow[]>(
        `SELECT iv.idx::int AS idx, g.start_ns::text AS s, g.end_ns::text AS e, '1' AS n,
                  concat(${THREAD_STATES.map((st) => `CASE WHEN g.state = '${st}' THEN (g.end_ns - g.start_ns)::text END`).join(`, ',', `)}) AS sums,
                  ',,,' AS wk, g.source, g.syscall, g.target, g.lock_id, g.blocked_stack_id::text AS bstack,
                  g.waker_thread_id::text AS waker, g.waker_stack_id::text AS wstack, g.prev_state, g.reason
           FROM ${classReads('$6::int')}
           WHERE g.end_ns > iv.lo AND g.end_ns - g.start_ns >= $5::bigint
             AND g.state IN (${WAIT_STATES.map((st) => `'${st}'`).join(', ')})
           ORDER BY 1, g.start_ns`,
        [...params, res.toString(), lodDurationClass(res)],
      ),
      noJit<{ idx: number; w: string; lock: boolean }[]>(
        `SELECT DISTINCT x.idx::int AS idx, x.w::text AS w, x.lock FROM (
             SELECT iv.idx, v.w, v.lock FROM ${LANE_INTERVALS} CROSS JOIN LATERAL (
               SELECT b.lock_waker_min, b.lock_waker_max, b.other_waker_min, b.other_waker_max FROM segment_lod b
               WHERE b.capture_id = $1 AND b.thread_id = iv.thread_id AND b.level = $5::int
                 AND b.bucket_ns >= iv.lo - $6::bigint AND b.bucket_ns < iv.hi
               OFFSET 0
             ) b CROSS JOIN LATERAL (VALUES (b.lock_waker_min, true), (b.lock_waker_max, true),
                                            (b.other_waker_min, false), (b.other_waker_max, false)) AS v(w, lock)
             UNION ALL
             SELECT iv.idx, g.waker_thread_id, g.state = 'lock' FROM ${classReads('$5::int + 1')}
             WHERE g.end_ns > iv.lo
           ) x WHERE x.w IS NOT NULL`,
        [...params, level, size.toString()],
      ),
    ]);
    const out = toLaneItems(intervals.length, waits);
    for (const w of wakers) out.wakers[w.idx - 1]?.push({ threadId: w.w, lock: w.lock });
    return out;
  }

  /** {@link laneItems} from the segments alone (captures correlated before the pyramid, sub-µs resolutions). */
  private async rawLaneItems(
    captureId: string,
    intervals: readonly ThreadInterval[],
    res: bigint,
  ): Promise<LaneItems> {
    // One aggregation level, per (interval, bucket): per-state sums as FILTER columns keep
    // the groups few (about one per pixel), so the database hashes them in memory.
    const perState = `concat(${THREAD_STATES.map(
      (st) => `sum(x.end_ns - x.start_ns) FILTER (WHERE x.state = '${st}')`,
    ).join(`, ',', `)}) AS sums`;
    // A lane of many segments groups in memory rather than spilling to disk.
    const rows = await this.ds.transaction(async (em) => {
      await em.query(`SET LOCAL work_mem = '64MB'`);
      // JIT compilation adds ~100 ms to every such query and saves less than that.
      await em.query(`SET LOCAL jit = off`);
      return em.query<LaneRow[]>(
        `SELECT iv.idx::int AS idx, min(x.start_ns)::text AS s, max(x.end_ns)::text AS e, count(*)::text AS n,
              ${perState},
              concat(min(x.waker_thread_id) FILTER (WHERE x.state = 'lock'), ',',
                     max(x.waker_thread_id) FILTER (WHERE x.state = 'lock'), ',',
                     min(x.waker_thread_id) FILTER (WHERE x.state <> 'lock'), ',',
                     max(x.waker_thread_id) FILTER (WHERE x.state <> 'lock')) AS wk,
              min(x.state) AS state, min(x.source) AS source, min(x.syscall) AS syscall, min(x.target) AS target,
              min(x.lock_id) AS lock_id, min(x.blocked_stack_id)::text AS bstack, min(x.waker_thread_id)::text AS waker,
              min(x.waker_stack_id)::text AS wstack, min(x.prev_state) AS prev_state, min(x.reason) AS reason
       FROM ${INTERVAL_SEGMENTS}
       WHERE x.end_ns > iv.lo
       GROUP BY iv.idx, CASE WHEN x.end_ns - x.start_ns >= $5::bigint THEN -1 - x.start_ns
                             ELSE greatest(x.start_ns - iv.lo, 0) / $5::bigint END
       ORDER BY 1, min(x.start_ns)`,
        [...intervalParams(captureId, intervals), res.toString()],
      );
    });
    return toLaneItems(intervals.length, rows);
  }

  /** Captures known to hold lane tiles. */
  private readonly tileCaptures = new Set<string>();
  /** THREADREEL_REPLAY_TILES=0 answers as if no capture had tiles (for before/after benchmarks). */
  private readonly useTiles = process.env.THREADREEL_REPLAY_TILES !== '0';

  /** Whether the capture's correlation wrote lane tiles (captures correlated before them have none). */
  async hasTiles(captureId: string): Promise<boolean> {
    if (!this.useTiles) return false;
    if (this.tileCaptures.has(captureId)) return true;
    const r = await this.ds.query<unknown[]>(`SELECT 1 FROM lane_tiles WHERE capture_id = $1 LIMIT 1`, [
      captureId,
    ]);
    if (r.length) this.tileCaptures.add(captureId);
    return r.length > 0;
  }

  /**
   * Lane tiles of one level with index in [fromTile, toTile] of each thread (`lane`: its index
   * in `threadIds`), by primary key; and per thread and tile in that range its carry-in: the
   * segment at least `minDurationNs` long that began before the tile and reaches into it
   * (segments of a thread do not overlap: the last one to start before the tile's start).
   */
  async laneTiles(
    captureId: string,
    threadIds: readonly string[],
    level: number,
    fromTile: bigint,
    toTile: bigint,
    tileSpanNs: bigint,
    minDurationNs: bigint,
  ): Promise<{
    tiles: { lane: number; tile: bigint; bytes: Uint8Array }[];
    carryIns: { lane: number; tile: bigint; state: ThreadState; startNs: bigint; endNs: bigint }[];
  }> {
    if (!threadIds.length) return { tiles: [], carryIns: [] };
    const [tiles, carry] = await Promise.all([
      this.ds.query<{ lane: number; tile: string; payload: Buffer }[]>(
        `SELECT iv.idx::int - 1 AS lane, t.tile::text AS tile, t.payload
         FROM unnest($2::bigint[]) WITH ORDINALITY AS iv(thread_id, idx)
         CROSS JOIN LATERAL (
           SELECT tile, payload FROM lane_tiles
           WHERE capture_id = $1 AND thread_id = iv.thread_id AND level = $3 AND tile >= $4 AND tile <= $5
         ) t
         ORDER BY 1, t.tile`,
        [captureId, threadIds, level, fromTile.toString(), toTile.toString()],
      ),
      this.ds.query<{ lane: number; tile: string; state: ThreadState; s: string; e: string }[]>(
        `SELECT iv.idx::int - 1 AS lane, k.tile::text AS tile, g.state, g.start_ns::text AS s, g.end_ns::text AS e
         FROM unnest($2::bigint[]) WITH ORDINALITY AS iv(thread_id, idx)
         CROSS JOIN generate_series($3::bigint, $4::bigint) AS k(tile)
         CROSS JOIN LATERAL (
           SELECT state, start_ns, end_ns FROM segments
           WHERE capture_id = $1 AND thread_id = iv.thread_id AND start_ns < k.tile * $5::bigint
           ORDER BY start_ns DESC LIMIT 1
         ) g
         WHERE g.end_ns > k.tile * $5::bigint AND g.end_ns - g.start_ns >= $6::bigint`,
        [
          captureId,
          threadIds,
          fromTile.toString(),
          toTile.toString(),
          tileSpanNs.toString(),
          minDurationNs.toString(),
        ],
      ),
    ]);
    return {
      tiles: tiles.map((t) => ({
        lane: t.lane,
        tile: BigInt(t.tile),
        bytes: new Uint8Array(t.payload.buffer, t.payload.byteOffset, t.payload.byteLength),
      })),
      carryIns: carry.map((c) => ({
        lane: c.lane,
        tile: BigInt(c.tile),
        state: c.state,
        startNs: BigInt(c.s),
        endNs: BigInt(c.e),
      })),
    };
  }

  /** On-CPU samples (sampling events, not tracepoints) per interval and stack, times aligned. */
  async sampleStacks(
    captureId: string,
    intervals: readonly ThreadInterval[],
  ): Promise<{ interval: number; stackId: string | null; samples: number }[]> {
    if (!intervals.length) return [];
    const rows = await this.ds.query<{ idx: string; stack: string | null; n: number }[]>(
      `SELECT iv.idx::text AS idx, x.stack_id::text AS stack, sum(x.n)::int AS n
       FROM ${LANE_INTERVALS}
       CROSS JOIN ${OFFSETS} o
       CROSS JOIN LATERAL (
         SELECT s.stack_id, count(*) AS n FROM samples s
         WHERE s.capture_id = $1 AND s.thread_id = iv.thread_id AND s.file_ordinal = o.file_ordinal
           AND s.time_ns >= iv.lo - o.off AND s.time_ns < iv.hi - o.off
           AND s.event_id IN (SELECT e.id FROM capture_strings e WHERE e.capture_id = $1 AND e.kind = 'event')
         GROUP BY s.stack_id
       ) x
       GROUP BY iv.idx, x.stack_id`,
      intervalParams(captureId, intervals),
    );
    return rows.map((r) => ({ interval: Number(r.idx) - 1, stackId: r.stack, samples: r.n }));
  }

  /** Frames (symbol, dso) leaf first of interned stacks. */
  stackFrames(
    captureId: string,
    stackIds: readonly string[],
  ): Promise<Map<string, { symbol: string; dso: string }[]>> {
    return readStackFrames(this.ds, captureId, stackIds);
  }

  /** The spans of a trace (one row per span id), times aligned, oldest first. */
  async spans(captureId: string, traceId: string): Promise<SpanReadRow[]> {
    const rows = await this.ds.query<
      {
        span_id: string;
        parent_span_id: string | null;
        name: string;
        kind: string;
        service: string | null;
        s: string;
        e: string;
        status: string;
        attributes: Record<string, unknown>;
      }[]
    >(
      `SELECT * FROM (
         SELECT DISTINCT ON (sp.span_id) sp.span_id, sp.parent_span_id, sp.name, sp.kind, sp.service,
                (sp.start_ns + coalesce(f.clock_offset_ns, 0))::text AS s, (sp.end_ns + coalesce(f.clock_offset_ns, 0))::text AS e,
                sp.status, sp.attributes, sp.start_ns + coalesce(f.clock_offset_ns, 0) AS t
         FROM spans sp LEFT JOIN source_files f ON f.capture_id = sp.capture_id AND f.ordinal = sp.file_ordinal
         WHERE sp.capture_id = $1 AND sp.trace_id = $2
         ORDER BY sp.span_id, sp.file_ordinal
       ) x ORDER BY x.t, x.span_id`,
      [captureId, traceId],
    );
    return rows.map((r) => ({
      spanId: r.span_id,
      parentSpanId: r.parent_span_id,
      name: r.name,
      kind: r.kind,
      service: r.service,
      startNs: r.s,
      endNs: r.e,
      status: r.status,
      attributes: r.attributes,
    }));
  }

  async bindings(
    captureId: string,
    traceId: string,
    spanId: string | null = null,
  ): Promise<BindingReadRow[]> {
    const rows = await this.ds.query<
      { span_id: string; thread: string; s: string; e: string; method: string; confidence: number }[]
    >(
      `SELECT span_id, thread_id::text AS thread, start_ns::text AS s, end_ns::text AS e, method, confidence
       FROM span_bindings WHERE capture_id = $1 AND trace_id = $2 AND ($3::text IS NULL OR span_id = $3)
       ORDER BY start_ns, thread_id`,
      [captureId, traceId, spanId],
    );
    return rows.map((r) => ({
      spanId: r.span_id,
      threadId: r.thread,
      startNs: r.s,
      endNs: r.e,
      method: r.method,
      confidence: r.confidence,
    }));
  }

  /**
   * Log records in [from, to) written by the given threads (tid or thread name) or carrying
   * the trace id, plus the trace's records outside the window (GIN on trace_ids), oldest first.
   */
  async windowLogs(
    captureId: string,
    fromNs: bigint,
    toNs: bigint,
    tids: readonly number[],
    names: readonly string[],
    traceId: string,
    limit: number,
  ): Promise<{ logs: ReplayLogDto[]; truncated: boolean }> {
    const inWindow = await this.ds.query<LogDbRow[]>(
      `SELECT ${LOG_COLUMNS}, (l.time_ns + o.off)::text AS t
       FROM ${OFFSETS} o CROSS JOIN LATERAL (
         SELECT * FROM log_records l WHERE l.capture_id = $1 AND l.file_ordinal = o.file_ordinal
           AND l.time_ns >= $2::bigint - o.off AND l.time_ns < $3::bigint - o.off
           AND (l.tid = ANY($4::int[]) OR l.thread_name = ANY($5::text[]) OR l.trace_ids @> ARRAY[$6::text])
         ORDER BY l.time_ns, l.line LIMIT $7
       ) l
       ORDER BY l.time_ns + o.off, l.file_ordinal, l.line LIMIT $7`,
      [captureId, fromNs.toString(), toNs.toString(), tids, names, traceId, limit + 1],
    );
    const traced = await this.ds.query<LogDbRow[]>(
      `SELECT ${LOG_COLUMNS}, (l.time_ns + f.clock_offset_ns)::text AS t
       FROM log_records l LEFT JOIN source_files f ON f.capture_id = l.capture_id AND f.ordinal = l.file_ordinal
       WHERE l.capture_id = $1 AND l.trace_ids @> ARRAY[$2::text]
       ORDER BY l.time_ns NULLS FIRST, l.file_ordinal, l.line LIMIT $3`,
      [captureId, traceId, limit + 1],
    );
    const seen = new Set<string>();
    const all: LogDbRow[] = [];
    for (const r of [...inWindow, ...traced]) {
      const k = `${r.file_ordinal}:${r.line}`;
      if (seen.has(k)) continue;
      seen.add(k);
      all.push(r);
    }
    all.sort((a, b) => {
      const ta = a.t === null ? NS_MIN : BigInt(a.t);
      const tb = b.t === null ? NS_MIN : BigInt(b.t);
      return ta < tb ? -1 : ta > tb ? 1 : a.file_ordinal - b.file_ordinal || a.line - b.line;
    });
    return { logs: all.slice(0, limit).map(toLog), truncated: all.length > limit };
  }

  /** Stop-the-world GC pauses and safepoints overlapping [from, to), times aligned. */
  async gcPauses(
    captureId: string,
    fromNs: bigint,
    toNs: bigint,
    lookbackNs: bigint,
  ): Promise<ReplayGcPauseDto[]> {
    const rows = await this.ds.query<
      {
        s: string;
        d: string | null;
        kind: string;
        phase: string;
        gc_id: number | null;
        cause: string | null;
        runtime: string | null;
      }[]
    >(
      `SELECT (g.start_ns + o.off)::text AS s, g.duration_ns::text AS d, g.kind, g.phase, g.gc_id, g.cause, g.runtime
       FROM ${OFFSETS} o CROSS JOIN LATERAL (
         SELECT * FROM gc_events g WHERE g.capture_id = $1 AND g.file_ordinal = o.file_ordinal AND g.pause
           AND g.start_ns >= $2::bigint - o.off - $4::bigint AND g.start_ns < $3::bigint - o.off
           AND g.start_ns + coalesce(g.duration_ns, 0) > $2::bigint - o.off
         ORDER BY g.start_ns LIMIT 2000
       ) g
       ORDER BY g.start_ns + o.off LIMIT 2000`,
      [captureId, fromNs.toString(), toNs.toString(), lookbackNs.toString()],
    );
    return rows.map((r) => {
      const d = BigInt(r.d ?? '0');
      return {
        startNs: r.s,
        endNs: (BigInt(r.s) + d).toString(),
        durationNs: d.toString(),
        kind: r.kind,
        phase: r.phase,
        gcId: r.gc_id,
        cause: r.cause,
        runtime: r.runtime,
      };
    });
  }

  /** Syscalls of the given tids overlapping [from, to) (started at most `lookbackNs` before), oldest first. */
  async syscalls(
    captureId: string,
    tids: ReadonlyMap<number, string>,
    fromNs: bigint,
    toNs: bigint,
    lookbackNs: bigint,
    limit: number,
  ): Promise<{ syscalls: ReplaySyscallDto[]; truncated: boolean }> {
    if (!tids.size) return { syscalls: [], truncated: false };
    const rows = await this.ds.query<
      {
        tid: number;
        s: string;
        d: string | null;
        name: string;
        category: string;
        fd_path: string | null;
        fd_peer: string | null;
        ret: string | null;
        errno: string | null;
        futex_addr: string | null;
        futex_op: string | null;
      }[]
    >(
      `SELECT y.tid, (y.start_ns + o.off)::text AS s, y.duration_ns::text AS d, y.name, y.category, y.fd_path, y.fd_peer,
              y.ret, y.errno, y.futex_addr, y.futex_op
       FROM unnest($2::int[]) AS t(tid) CROSS JOIN ${OFFSETS} o
       CROSS JOIN LATERAL (
         SELECT * FROM syscalls y WHERE y.capture_id = $1 AND y.tid = t.tid AND y.file_ordinal = o.file_ordinal
           AND y.start_ns >= $3::bigint - o.off - $5::bigint AND y.start_ns < $4::bigint - o.off
           AND y.start_ns + coalesce(y.duration_ns, 0) >= $3::bigint - o.off
         ORDER BY y.start_ns LIMIT $6
       ) y
       ORDER BY y.start_ns + o.off, y.tid LIMIT $6`,
      [captureId, [...tids.keys()], fromNs.toString(), toNs.toString(), lookbackNs.toString(), limit + 1],
    );
    return {
      truncated: rows.length > limit,
      syscalls: rows.slice(0, limit).map((r) => ({
        threadId: tids.get(r.tid) ?? '',
        tid: r.tid,
        startNs: r.s,
        endNs: (BigInt(r.s) + BigInt(r.d ?? '0')).toString(),
        durationNs: r.d,
        name: r.name,
        category: r.category,
        target: r.fd_peer ?? r.fd_path,
        ret: r.ret,
        errno: r.errno,
        futexAddr: r.futex_addr,
        futexOp: r.futex_op,
      })),
    };
  }

  /** Wakeups in [from, to) whose wakee or waker is one of the threads, oldest first. */
  async wakeups(
    captureId: string,
    threadIds: readonly string[],
    fromNs: bigint,
    toNs: bigint,
    limit: number,
  ): Promise<{ wakeups: ReplayWakeupDto[]; truncated: boolean }> {
    if (!threadIds.length) return { wakeups: [], truncated: false };
    const rows = await this.ds.query<
      {
        t: string;
        waker: string | null;
        wakee: string;
        wstack: string | null;
        source: string;
        lock_id: string | null;
      }[]
    >(
      `SELECT x.t, x.waker, x.wakee, x.wstack, x.source, x.lock_id FROM (
         SELECT w.time_ns::text AS t, w.waker_thread_id::text AS waker, w.wakee_thread_id::text AS wakee,
                w.waker_stack_id::text AS wstack, w.source, w.lock_id, w.time_ns
         FROM unnest($2::bigint[]) AS th(id) CROSS JOIN LATERAL (
           SELECT * FROM wakeups w WHERE w.capture_id = $1 AND w.wakee_thread_id = th.id
             AND w.time_ns >= $3::bigint AND w.time_ns < $4::bigint
           ORDER BY w.time_ns LIMIT $5) w
         UNION ALL
         SELECT w.time_ns::text, w.waker_thread_id::text, w.wakee_thread_id::text, w.waker_stack_id::text, w.source,
                w.lock_id, w.time_ns
         FROM unnest($2::bigint[]) AS th(id) CROSS JOIN LATERAL (
           SELECT * FROM wakeups w WHERE w.capture_id = $1 AND w.waker_thread_id = th.id
             AND w.time_ns >= $3::bigint AND w.time_ns < $4::bigint AND NOT (w.wakee_thread_id = ANY($2::bigint[]))
           ORDER BY w.time_ns, w.wakee_thread_id::text LIMIT $5) w
       ) x ORDER BY x.time_ns, x.wakee LIMIT $5`,
      [captureId, threadIds, fromNs.toString(), toNs.toString(), limit + 1],
    );
    return {
      truncated: rows.length > limit,
      wakeups: rows.slice(0, limit).map((r) => ({
        timeNs: r.t,
        wakerThreadId: r.waker,
        wakeeThreadId: r.wakee,
        wakerStackId: r.wstack,
        source: r.source,
        lockId: r.lock_id,
      })),
    };
  }

  /** Log records carrying a trace id and/or matching text (ILIKE), newest capture first. */
  async searchLogs(opts: {
    traceId?: string;
    q?: string;
    captureId?: string;
    limit: number;
  }): Promise<{ rows: LogSearchRowDto[]; truncated: boolean }> {
    const where: string[] = [];
    const params: unknown[] = [];
    const p = (v: unknown) => {
      params.push(v);
      return `$${params.length}`;
    };
    if (opts.traceId !== undefined) where.push(`l.trace_ids @> ARRAY[${p(opts.traceId)}::text]`);
    if (opts.q !== undefined) where.push(`l.message ILIKE ${p(`%${likeEscape(opts.q)}%`)}`);
    if (opts.captureId !== undefined) where.push(`l.capture_id = ${p(opts.captureId)}::uuid`);
    const rows = await this.ds.query<LogDbRow[]>(
      `SELECT ${LOG_COLUMNS}, (l.time_ns + f.clock_offset_ns)::text AS t
       FROM log_records l
       JOIN captures c ON c.id = l.capture_id
       LEFT JOIN source_files f ON f.capture_id = l.capture_id AND f.ordinal = l.file_ordinal
       WHERE ${where.join(' AND ') || 'true'}
       ORDER BY c.created_at DESC, l.capture_id, l.time_ns NULLS LAST, l.file_ordinal, l.line
       LIMIT ${p(opts.limit + 1)}`,
      params,
    );
    return {
      truncated: rows.length > opts.limit,
      rows: rows.slice(0, opts.limit).map((r) => ({ ...toLog(r), captureId: r.capture_id })),
    };
  }
}
