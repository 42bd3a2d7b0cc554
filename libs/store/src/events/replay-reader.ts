import type { DataSource } from 'typeorm';
import { readStackFrames } from './stacks.js';
import { THREAD_STATES } from '@threadreel/model';
import { groupLane, segmentPart, type LaneGroup, type LanePart } from './lane-groups.js';
import { lodBucketNs, lodLevelFor } from './lod.js';
import { hasLodChunks, lodBucketsIn } from './lod-chunks.js';
import { levelTiles, STORED_TILE_MIN_LEVEL } from './tiles.js';
import { segmentSpan, segmentsOverlapping, type Query } from './segment-chunks.js';
import type {
  Segment,
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

/** The states a replay's cause panel finds evidence on. */
const WAIT_STATES: readonly ThreadState[] = ['lock', 'net', 'file', 'gc'];

/** States `segments(…, blockedOnly)` leaves out. */
const UNBLOCKED: ReadonlySet<ThreadState> = new Set<ThreadState>(['cpu', 'runqueue', 'unknown']);

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

/** A lane group as the row {@link toLaneItems} reads (the shape the lane SQL returned). */
function groupRow(idx: number, g: LaneGroup): LaneRow {
  const d = g.detail;
  const text = (v: bigint | null) => (v === null ? '' : v.toString());
  return {
    idx,
    s: g.startNs.toString(),
    e: g.endNs.toString(),
    n: g.count.toString(),
    sums: g.sums.map(text).join(','),
    wk: `${text(g.lockWakerMin)},${text(g.lockWakerMax)},${text(g.otherWakerMin)},${text(g.otherWakerMax)}`,
    ...detailColumns(d),
  };
}

/** A segment's detail columns (null where absent, or without a segment). */
function detailColumns(d: Segment | null): DetailColumns {
  return {
    source: d?.source ?? null,
    syscall: d?.syscall ?? null,
    target: d?.target ?? null,
    lock_id: d?.lockId ?? null,
    bstack: d?.blockedStackId ?? null,
    waker: d?.wakerThreadId ?? null,
    wstack: d?.wakerStackId ?? null,
    prev_state: d?.prevState ?? null,
    reason: d?.reason ?? null,
  };
}

/** Floor division of bigints toward −∞ (`%` in SQL and JS truncates toward 0). */
function floorMod(a: bigint, m: bigint): bigint {
  return ((a % m) + m) % m;
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
    const span = await segmentSpan(this.query, captureId, threadId);
    if (span) return span;
    const s = await this.ds.query<{ lo: string | null; hi: string | null }[]>(
      `SELECT min(s.time_ns + o.off)::text AS lo, (max(s.time_ns + o.off) + 1)::text AS hi
       FROM ${OFFSETS} o JOIN samples s ON s.capture_id = $1 AND s.thread_id = $2 AND s.file_ordinal = o.file_ordinal`,
      [captureId, threadId],
    );
    const lo = s[0]?.lo ?? null;
    const hi = s[0]?.hi ?? null;
    return lo === null || hi === null ? null : { fromNs: BigInt(lo), toNs: BigInt(hi) };
  }

  /** Runs one statement on the pool (the segment chunk reads take a query function). */
  private readonly query: Query = <T>(sql: string, params: unknown[]) => this.ds.query<T[]>(sql, params);

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
    const res = laneResolutionNs === null ? null : laneResolutionNs > 0n ? laneResolutionNs : 1n;
    const per = await segmentsOverlapping(this.query, captureId, intervals);
    const out: ReplaySegmentRow[] = [];
    per.forEach((list, k) => {
      // Each row's thread is its interval's (as the database spells the id).
      const threadId = BigInt(intervals[k]?.threadId ?? '0').toString();
      const rows = blockedOnly ? list.filter((s) => !UNBLOCKED.has(s.state)) : list;
      rows.forEach((s, i) => {
        const next = rows[i + 1];
        const detail =
          res === null ||
          s.endNs - s.startNs >= res ||
          next === undefined ||
          next.endNs - next.startNs >= res ||
          next.startNs - s.endNs >= res;
        out.push({
          interval: k,
          threadId,
          startNs: s.startNs,
          endNs: s.endNs,
          state: s.state,
          source: detail ? s.source : undefined,
          syscall: detail ? s.syscall : undefined,
          target: detail ? s.target : undefined,
          lockId: detail ? s.lockId : undefined,
          blockedStackId: detail ? s.blockedStackId : undefined,
          wakerThreadId: s.wakerThreadId,
          wakerStackId: detail ? s.wakerStackId : undefined,
          prevState: detail ? s.prevState : undefined,
          reason: detail ? s.reason : undefined,
        });
      });
    });
    return out;
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
    const has = await hasLodChunks(this.query, captureId);
    if (has) this.lodCaptures.add(captureId);
    return has;
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
    const bounds = intervals.map((iv) => {
      const a = iv.fromNs + floorMod(size - floorMod(iv.fromNs, size), size);
      const b = iv.toNs - floorMod(iv.toNs, size);
      return { a, b };
    });
    // The buckets of the level wholly inside each interval.
    const bucketRows = lodBucketsIn(
      this.query,
      captureId,
      level,
      intervals.map((iv, k) => ({
        threadId: iv.threadId,
        fromNs: bounds[k]?.a ?? iv.fromNs,
        toNs: bounds[k]?.b ?? iv.toNs,
      })),
    );
    // The segments shorter than a bucket in the partial buckets at the edges (so the lane covers
    // exactly what overlaps the interval): starting in [lo − size, min(a, hi)) and in [max(a, b), hi).
    const edges = intervals.flatMap((iv, k) => {
      const { a, b } = bounds[k] ?? { a: iv.fromNs, b: iv.toNs };
      const first = { threadId: iv.threadId, fromNs: iv.fromNs - size, toNs: a < iv.toNs ? a : iv.toNs };
      const last = { threadId: iv.threadId, fromNs: a > b ? a : b, toNs: iv.toNs };
      return [first, last];
    });
    const [buckets, edgeSegs, longSegs] = await Promise.all([
      bucketRows,
      segmentsOverlapping(this.query, captureId, edges),
      // …and the segments at least one bucket long, whole.
      segmentsOverlapping(this.query, captureId, intervals, size),
    ]);
    const parts: LanePart[][] = intervals.map(() => []);
    buckets.forEach((list, k) => {
      for (const b of list)
        parts[k]?.push({
          startNs: b.minStartNs,
          endNs: b.maxEndNs,
          count: BigInt(b.count),
          seg: false,
          sums: b.totals,
          lockWakerMin: b.lockWakerMin,
          lockWakerMax: b.lockWakerMax,
          otherWakerMin: b.otherWakerMin,
          otherWakerMax: b.otherWakerMax,
          detail: null,
        });
    });
    edgeSegs.forEach((list, j) => {
      const k = j >> 1;
      const iv = intervals[k];
      const range = edges[j];
      if (!iv || !range) return;
      for (const s of list)
        if (s.startNs >= range.fromNs && s.endNs - s.startNs < size && s.endNs > iv.fromNs)
          parts[k]?.push(segmentPart(s));
    });
    longSegs.forEach((list, k) => {
      for (const s of list) parts[k]?.push(segmentPart(s));
    });
    const groups = parts.map((p, k) => groupLane(p, intervals[k]?.fromNs ?? 0n, res));
    // A group of one bucket of one segment comes whole too: its detail read by its start.
    const lone: { k: number; g: LaneGroup }[] = [];
    groups.forEach((list, k) => {
      for (const g of list) if (g.count === 1n && !g.seg) lone.push({ k, g });
    });
    if (lone.length) {
      const found = await segmentsOverlapping(
        this.query,
        captureId,
        lone.map(({ k, g }) => ({
          threadId: intervals[k]?.threadId ?? '0',
          fromNs: g.startNs,
          toNs: g.startNs + 1n,
        })),
      );
      lone.forEach(({ g }, j) => {
        g.detail = found[j]?.find((s) => s.startNs === g.startNs) ?? null;
      });
    }
    const rows: LaneRow[] = [];
    groups.forEach((list, k) => {
      for (const g of list) rows.push(groupRow(k + 1, g));
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
    const [longSegs, wakers] = await Promise.all([
      // The segments at least one bucket long (the waits among them at least a pixel long, too).
      segmentsOverlapping(this.query, captureId, intervals, size),
      // The pyramid's extreme wakers of the buckets.
      lodBucketsIn(
        this.query,
        captureId,
        level,
        intervals.map((iv) => ({ threadId: iv.threadId, fromNs: iv.fromNs - size, toNs: iv.toNs })),
      ),
    ]);
    const rows: LaneRow[] = [];
    longSegs.forEach((list, k) => {
      for (const s of list)
        if (s.endNs - s.startNs >= res && WAIT_STATES.includes(s.state))
          // Wakers come below, once each (not from these rows).
          rows.push({ ...groupRow(k + 1, { ...segmentPart(s), detail: s }), wk: ',,,' });
    });
    const out = toLaneItems(intervals.length, rows);
    const seen = new Set<string>();
    const addWaker = (k: number, w: string, lock: boolean) => {
      const key = `${k}:${w}:${lock}`;
      if (seen.has(key)) return;
      seen.add(key);
      out.wakers[k]?.push({ threadId: w, lock });
    };
    wakers.forEach((list, k) => {
      for (const b of list) {
        for (const w of [b.lockWakerMin, b.lockWakerMax]) if (w !== null) addWaker(k, w.toString(), true);
        for (const w of [b.otherWakerMin, b.otherWakerMax]) if (w !== null) addWaker(k, w.toString(), false);
      }
    });
    longSegs.forEach((list, k) => {
      for (const s of list)
        if (s.wakerThreadId !== undefined) addWaker(k, s.wakerThreadId, s.state === 'lock');
    });
    return out;
  }

  /** {@link laneItems} from the segments alone (captures correlated before the pyramid, sub-µs resolutions). */
  private async rawLaneItems(
    captureId: string,
    intervals: readonly ThreadInterval[],
    res: bigint,
  ): Promise<LaneItems> {
    const per = await segmentsOverlapping(this.query, captureId, intervals);
    const rows: LaneRow[] = [];
    per.forEach((list, k) => {
      const lo = intervals[k]?.fromNs ?? 0n;
      for (const g of groupLane(list.map(segmentPart), lo, res)) rows.push(groupRow(k + 1, g));
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
   * Tiles of a level finer than the stored ones (tiles.ts STORED_TILE_MIN_LEVEL), built as the
   * correlate step builds the others: from the level's pyramid buckets and the segments at least
   * a bucket long that start in the tiles' span, read from their chunks.
   */
  private async builtTiles(
    captureId: string,
    threadIds: readonly string[],
    level: number,
    fromTile: bigint,
    toTile: bigint,
    tileSpanNs: bigint,
  ): Promise<{ lane: number; tile: string; payload: Buffer }[]> {
    const span = threadIds.map((threadId) => ({
      threadId,
      fromNs: fromTile * tileSpanNs,
      toNs: (toTile + 1n) * tileSpanNs,
    }));
    const [buckets, long] = await Promise.all([
      lodBucketsIn(this.query, captureId, level, span),
      segmentsOverlapping(this.query, captureId, span, lodBucketNs(level)),
    ]);
    const out: { lane: number; tile: string; payload: Buffer }[] = [];
    threadIds.forEach((threadId, lane) => {
      const from = fromTile * tileSpanNs;
      const segs = (long[lane] ?? []).filter((g) => g.startNs >= from);
      for (const t of levelTiles(threadId, segs, level, buckets[lane] ?? []))
        out.push({ lane, tile: t.tile.toString(), payload: Buffer.from(t.bytes) });
    });
    return out;
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
    const [tiles, covering] = await Promise.all([
      level < STORED_TILE_MIN_LEVEL
        ? this.builtTiles(captureId, threadIds, level, fromTile, toTile, tileSpanNs)
        : this.ds.query<{ lane: number; tile: string; payload: Buffer }[]>(
            `SELECT iv.idx::int - 1 AS lane, t.tile::text AS tile, t.payload
         FROM unnest($2::bigint[]) WITH ORDINALITY AS iv(thread_id, idx)
         CROSS JOIN LATERAL (
           SELECT tile, payload FROM lane_tiles
           WHERE capture_id = $1 AND thread_id = iv.thread_id AND level = $3 AND tile >= $4 AND tile <= $5
         ) t
         ORDER BY 1, t.tile`,
            [captureId, threadIds, level, fromTile.toString(), toTile.toString()],
          ),
      // Segments of a thread do not overlap: the one covering a tile's start is its carry-in.
      segmentsOverlapping(
        this.query,
        captureId,
        threadIds.map((threadId) => ({
          threadId,
          fromNs: fromTile * tileSpanNs,
          toNs: toTile * tileSpanNs + 1n,
        })),
        minDurationNs,
      ),
    ]);
    const carry: { lane: number; tile: bigint; state: ThreadState; startNs: bigint; endNs: bigint }[] = [];
    covering.forEach((list, lane) => {
      for (const g of list) {
        // Tiles k with k·span in (start, end).
        let k = g.startNs / tileSpanNs + 1n;
        if (k < fromTile) k = fromTile;
        for (; k <= toTile && k * tileSpanNs < g.endNs; k++)
          if (k * tileSpanNs > g.startNs)
            carry.push({ lane, tile: k, state: g.state, startNs: g.startNs, endNs: g.endNs });
      }
    });
    return {
      tiles: tiles.map((t) => ({
        lane: t.lane,
        tile: BigInt(t.tile),
        bytes: new Uint8Array(t.payload.buffer, t.payload.byteOffset, t.payload.byteLength),
      })),
      carryIns: carry,
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
