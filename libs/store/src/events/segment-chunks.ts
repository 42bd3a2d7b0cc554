import type { Segment, ThreadState } from '@threadreel/model';
import { decodeChunk, encodeChunk, type ColumnSpec } from '../chunks/columns.js';

/**
 * A thread's segments, stored as chunks (ARCHITECTURE.md, storage): runs of up to
 * {@link SEGMENTS_PER_CHUNK} consecutive segments of one thread in one `segment_chunks` row,
 * column by column (libs/store chunks/columns.ts: delta-coded times, string dictionaries,
 * presence bitmaps; TOAST compresses the value on top). The row keeps what a reader selects
 * chunks by: the thread, the first segment's start (the key), the latest end and the longest
 * segment. A thread's segments are sorted and disjoint, so its chunks are too, and the segment
 * covering an instant is in the last chunk starting at or before it: a window's segments are
 * in that chunk and the ones starting inside the window (two index ranges, as for rows).
 */
export const SEGMENTS_PER_CHUNK = 512;

const SCHEMA: readonly ColumnSpec[] = [
  { name: 'start_ns', kind: 'time' },
  // Ends of disjoint sorted segments do not decrease either, but a builder's overlap must not
  // make a chunk unwritable: signed deltas.
  { name: 'end_ns', kind: 'bigint' },
  { name: 'state', kind: 'string' },
  { name: 'source', kind: 'string' },
  { name: 'syscall', kind: 'string' },
  { name: 'target', kind: 'string' },
  { name: 'lock_id', kind: 'string' },
  { name: 'blocked_stack_id', kind: 'bigint' },
  { name: 'waker_thread_id', kind: 'bigint' },
  { name: 'waker_stack_id', kind: 'bigint' },
  { name: 'prev_state', kind: 'string' },
  { name: 'reason', kind: 'string' },
];

/** One `segment_chunks` row. */
export interface SegmentChunk {
  threadId: string;
  /** The first segment's start (the row's key within its thread). */
  startNs: bigint;
  /** The latest end of its segments. */
  endNs: bigint;
  /** The longest segment's duration: a reader of segments at least d long skips chunks below d. */
  maxDurationNs: bigint;
  count: number;
  payload: Buffer;
}

const id = (v: string | undefined): bigint | null => (v === undefined ? null : BigInt(v));

/** A thread's segments (in start order) as chunks. */
export function segmentChunks(threadId: string, segments: readonly Segment[]): SegmentChunk[] {
  const sorted = segments.every((s, i) => i === 0 || (segments[i - 1]?.startNs ?? s.startNs) <= s.startNs)
    ? segments
    : [...segments].sort((a, b) => (a.startNs < b.startNs ? -1 : a.startNs > b.startNs ? 1 : 0));
  const out: SegmentChunk[] = [];
  for (let i = 0; i < sorted.length; i += SEGMENTS_PER_CHUNK) {
    const run = sorted.slice(i, i + SEGMENTS_PER_CHUNK);
    const first = run[0];
    if (!first) break;
    let endNs = first.endNs;
    let maxDurationNs = 0n;
    for (const s of run) {
      if (s.endNs > endNs) endNs = s.endNs;
      if (s.endNs - s.startNs > maxDurationNs) maxDurationNs = s.endNs - s.startNs;
    }
    const payload = encodeChunk(SCHEMA, [
      run.map((s) => s.startNs),
      run.map((s) => s.endNs),
      run.map((s) => s.state),
      run.map((s) => s.source),
      run.map((s) => s.syscall ?? null),
      run.map((s) => s.target ?? null),
      run.map((s) => s.lockId ?? null),
      run.map((s) => id(s.blockedStackId)),
      run.map((s) => id(s.wakerThreadId)),
      run.map((s) => id(s.wakerStackId)),
      run.map((s) => s.prevState ?? null),
      run.map((s) => s.reason ?? null),
    ]);
    out.push({ threadId, startNs: first.startNs, endNs, maxDurationNs, count: run.length, payload });
  }
  return out;
}

/** The segments of one chunk of thread `threadId`, in start order (absent details stay absent). */
export function decodeSegmentChunk(threadId: string, payload: Uint8Array): Segment[] {
  const cols = decodeChunk(SCHEMA, payload);
  const [start, end, state, source, syscall, target, lockId, bstack, waker, wstack, prev, reason] = cols as [
    bigint[],
    bigint[],
    string[],
    string[],
    (string | null)[],
    (string | null)[],
    (string | null)[],
    (bigint | null)[],
    (bigint | null)[],
    (bigint | null)[],
    (string | null)[],
    (string | null)[],
  ];
  const out: Segment[] = new Array<Segment>(start.length);
  for (let i = 0; i < start.length; i++) {
    const s: {
      -readonly [K in keyof Segment]: Segment[K];
    } = {
      threadId,
      startNs: start[i] ?? 0n,
      endNs: end[i] ?? 0n,
      state: (state[i] ?? 'unknown') as ThreadState,
      source: (source[i] ?? 'sched') as Segment['source'],
    };
    const sc = syscall[i];
    if (sc != null) s.syscall = sc;
    const tg = target[i];
    if (tg != null) s.target = tg;
    const lk = lockId[i];
    if (lk != null) s.lockId = lk;
    const bs = bstack[i];
    if (bs != null) s.blockedStackId = bs.toString();
    const wk = waker[i];
    if (wk != null) s.wakerThreadId = wk.toString();
    const ws = wstack[i];
    if (ws != null) s.wakerStackId = ws.toString();
    const ps = prev[i];
    if (ps != null) s.prevState = ps;
    const rs = reason[i];
    if (rs != null) s.reason = rs;
    out[i] = s;
  }
  return out;
}

/** One thread on one interval [fromNs, toNs). */
export interface SegmentInterval {
  threadId: string;
  fromNs: bigint;
  toNs: bigint;
}

/** Runs one SQL statement (a DataSource, an EntityManager or a client on its transaction). */
export type Query = <T>(sql: string, params: unknown[]) => Promise<T[]>;

/**
 * The segments of each interval that overlap it (end > from, start < to), in start order, per
 * interval; with `minDurationNs`, only segments at least that long (chunks whose longest
 * segment is shorter are not read). One statement for all intervals; a chunk read for several
 * intervals is decoded once.
 */
export async function segmentsOverlapping(
  query: Query,
  captureId: string,
  intervals: readonly SegmentInterval[],
  minDurationNs = 0n,
): Promise<Segment[][]> {
  const out: Segment[][] = intervals.map(() => []);
  if (!intervals.length) return out;
  const rows = await query<{ idx: number; tid: string; s: string; payload: Buffer }>(
    `SELECT iv.idx::int - 1 AS idx, iv.thread_id::text AS tid, c.start_ns::text AS s, c.payload
     FROM unnest($2::bigint[], $3::bigint[], $4::bigint[]) WITH ORDINALITY AS iv(thread_id, lo, hi, idx)
     CROSS JOIN LATERAL (
       (SELECT start_ns, end_ns, max_duration_ns, payload FROM segment_chunks c
         WHERE c.capture_id = $1 AND c.thread_id = iv.thread_id AND c.start_ns <= iv.lo
         ORDER BY c.start_ns DESC LIMIT 1)
       UNION ALL
       (SELECT start_ns, end_ns, max_duration_ns, payload FROM segment_chunks c
         WHERE c.capture_id = $1 AND c.thread_id = iv.thread_id AND c.start_ns > iv.lo AND c.start_ns < iv.hi
         ORDER BY c.start_ns)
     ) c
     WHERE c.end_ns > iv.lo AND c.max_duration_ns >= $5::bigint
     ORDER BY 1, c.start_ns`,
    [
      captureId,
      intervals.map((i) => i.threadId),
      intervals.map((i) => i.fromNs.toString()),
      intervals.map((i) => i.toNs.toString()),
      minDurationNs.toString(),
    ],
  );
  const decoded = new Map<string, Segment[]>();
  for (const r of rows) {
    const iv = intervals[r.idx];
    const list = out[r.idx];
    if (!iv || !list) continue;
    const key = `${r.tid}:${r.s}`;
    let segs = decoded.get(key);
    if (!segs) decoded.set(key, (segs = decodeSegmentChunk(r.tid, r.payload)));
    for (const s of segs)
      if (s.endNs > iv.fromNs && s.startNs < iv.toNs && s.endNs - s.startNs >= minDurationNs) list.push(s);
  }
  return out;
}

/** A thread's first segment start and last segment end, or null without segments. */
export async function segmentSpan(
  query: Query,
  captureId: string,
  threadId: string,
): Promise<{ fromNs: bigint; toNs: bigint } | null> {
  const r = await query<{ lo: string | null; hi: string | null }>(
    `SELECT min(start_ns)::text AS lo, max(end_ns)::text AS hi FROM segment_chunks
     WHERE capture_id = $1 AND thread_id = $2`,
    [captureId, threadId],
  );
  const lo = r[0]?.lo ?? null;
  const hi = r[0]?.hi ?? null;
  return lo === null || hi === null ? null : { fromNs: BigInt(lo), toNs: BigInt(hi) };
}

/** Every segment of a capture (or of one thread), by thread and start: for tests and tools, not for requests. */
export async function allSegments(query: Query, captureId: string, threadId?: string): Promise<Segment[]> {
  const rows = await query<{ tid: string; payload: Buffer }>(
    `SELECT thread_id::text AS tid, payload FROM segment_chunks
     WHERE capture_id = $1 ${threadId === undefined ? '' : 'AND thread_id = $2'}
     ORDER BY thread_id, start_ns`,
    threadId === undefined ? [captureId] : [captureId, threadId],
  );
  const out: Segment[] = [];
  for (const r of rows) for (const s of decodeSegmentChunk(r.tid, r.payload)) out.push(s);
  return out;
}
