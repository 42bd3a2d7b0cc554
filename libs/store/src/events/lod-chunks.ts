import { THREAD_STATES, type ThreadState } from '@threadreel/model';
import { decodeChunk, encodeChunk, type ColumnSpec } from '../chunks/columns.js';
import type { LodBucket } from './lod.js';
import type { Query, SegmentInterval } from './segment-chunks.js';

/**
 * The level-of-detail pyramid (lod.ts), stored as chunks like the segments: runs of up to
 * {@link BUCKETS_PER_CHUNK} consecutive buckets of one thread and level in one `lod_chunks`
 * row, column-encoded, keyed by the first bucket's start and knowing its last. The buckets of
 * a level are aligned and in time order, so those starting in [a, b) are in the last chunk
 * starting at or before a and the chunks starting inside (two index ranges).
 */
export const BUCKETS_PER_CHUNK = 256;

const SCHEMA: readonly ColumnSpec[] = [
  { name: 'bucket_ns', kind: 'time' },
  { name: 'min_start_ns', kind: 'bigint' },
  { name: 'max_end_ns', kind: 'bigint' },
  { name: 'segment_count', kind: 'int' },
  { name: 'state', kind: 'string' },
  ...THREAD_STATES.map((st): ColumnSpec => ({ name: `${st}_ns`, kind: 'bigint' })),
  { name: 'lock_waker_min', kind: 'bigint' },
  { name: 'lock_waker_max', kind: 'bigint' },
  { name: 'other_waker_min', kind: 'bigint' },
  { name: 'other_waker_max', kind: 'bigint' },
];

/** One `lod_chunks` row. */
export interface LodChunk {
  threadId: string;
  level: number;
  /** The first and the last bucket's start. */
  bucketNs: bigint;
  lastBucketNs: bigint;
  count: number;
  payload: Buffer;
}

/** A thread's buckets (any levels; each level in time order, as lodBuckets yields them) as chunks. */
export function lodChunks(threadId: string, buckets: readonly LodBucket[]): LodChunk[] {
  const byLevel = new Map<number, LodBucket[]>();
  for (const b of buckets) {
    let list = byLevel.get(b.level);
    if (!list) byLevel.set(b.level, (list = []));
    list.push(b);
  }
  const out: LodChunk[] = [];
  for (const [level, list] of byLevel) {
    for (let i = 0; i < list.length; i += BUCKETS_PER_CHUNK) {
      const run = list.slice(i, i + BUCKETS_PER_CHUNK);
      const first = run[0];
      const last = run[run.length - 1];
      if (!first || !last) break;
      const payload = encodeChunk(SCHEMA, [
        run.map((b) => b.bucketNs),
        run.map((b) => b.minStartNs),
        run.map((b) => b.maxEndNs),
        run.map((b) => b.count),
        run.map((b) => b.dominant),
        ...THREAD_STATES.map((_st, k) => run.map((b) => b.totals[k] ?? null)),
        run.map((b) => b.lockWakerMin),
        run.map((b) => b.lockWakerMax),
        run.map((b) => b.otherWakerMin),
        run.map((b) => b.otherWakerMax),
      ]);
      out.push({
        threadId,
        level,
        bucketNs: first.bucketNs,
        lastBucketNs: last.bucketNs,
        count: run.length,
        payload,
      });
    }
  }
  return out;
}

/** The buckets of one chunk. */
export function decodeLodChunk(threadId: string, level: number, payload: Uint8Array): LodBucket[] {
  const cols = decodeChunk(SCHEMA, payload);
  const at = (c: number) => cols[c] ?? [];
  const bucket = at(0) as bigint[];
  const minStart = at(1) as bigint[];
  const maxEnd = at(2) as bigint[];
  const count = at(3) as number[];
  const state = at(4) as string[];
  const totals = THREAD_STATES.map((_st, k) => at(5 + k) as (bigint | null)[]);
  const w = [0, 1, 2, 3].map((k) => at(5 + THREAD_STATES.length + k) as (bigint | null)[]);
  const out: LodBucket[] = new Array<LodBucket>(bucket.length);
  for (let i = 0; i < bucket.length; i++)
    out[i] = {
      threadId,
      level,
      bucketNs: bucket[i] ?? 0n,
      minStartNs: minStart[i] ?? 0n,
      maxEndNs: maxEnd[i] ?? 0n,
      count: count[i] ?? 0,
      totals: totals.map((t) => t[i] ?? null),
      dominant: (state[i] ?? 'unknown') as ThreadState,
      lockWakerMin: w[0]?.[i] ?? null,
      lockWakerMax: w[1]?.[i] ?? null,
      otherWakerMin: w[2]?.[i] ?? null,
      otherWakerMax: w[3]?.[i] ?? null,
    };
  return out;
}

/**
 * The buckets of `level` of each interval's thread starting in [fromNs, toNs), in time order,
 * per interval (one statement; a chunk read for several intervals is decoded once).
 */
export async function lodBucketsIn(
  query: Query,
  captureId: string,
  level: number,
  intervals: readonly SegmentInterval[],
): Promise<LodBucket[][]> {
  const out: LodBucket[][] = intervals.map(() => []);
  if (!intervals.length) return out;
  const rows = await query<{ idx: number; tid: string; b: string; payload: Buffer }>(
    `SELECT iv.idx::int - 1 AS idx, iv.thread_id::text AS tid, c.bucket_ns::text AS b, c.payload
     FROM unnest($2::bigint[], $3::bigint[], $4::bigint[]) WITH ORDINALITY AS iv(thread_id, lo, hi, idx)
     CROSS JOIN LATERAL (
       (SELECT bucket_ns, last_bucket_ns, payload FROM lod_chunks c
         WHERE c.capture_id = $1 AND c.thread_id = iv.thread_id AND c.level = $5 AND c.bucket_ns <= iv.lo
         ORDER BY c.bucket_ns DESC LIMIT 1)
       UNION ALL
       (SELECT bucket_ns, last_bucket_ns, payload FROM lod_chunks c
         WHERE c.capture_id = $1 AND c.thread_id = iv.thread_id AND c.level = $5
           AND c.bucket_ns > iv.lo AND c.bucket_ns < iv.hi
         ORDER BY c.bucket_ns)
     ) c
     WHERE c.last_bucket_ns >= iv.lo AND iv.lo < iv.hi
     ORDER BY 1, c.bucket_ns`,
    [
      captureId,
      intervals.map((i) => i.threadId),
      intervals.map((i) => i.fromNs.toString()),
      intervals.map((i) => i.toNs.toString()),
      level,
    ],
  );
  const decoded = new Map<string, LodBucket[]>();
  for (const r of rows) {
    const iv = intervals[r.idx];
    const list = out[r.idx];
    if (!iv || !list) continue;
    const key = `${r.tid}:${r.b}`;
    let buckets = decoded.get(key);
    if (!buckets) decoded.set(key, (buckets = decodeLodChunk(r.tid, level, r.payload)));
    for (const b of buckets) if (b.bucketNs >= iv.fromNs && b.bucketNs < iv.toNs) list.push(b);
  }
  return out;
}

/** Whether the capture has a pyramid (every thread with segments has its header, level −1). */
export async function hasLodChunks(query: Query, captureId: string): Promise<boolean> {
  const r = await query<unknown>(`SELECT 1 FROM lod_chunks WHERE capture_id = $1 AND level = -1 LIMIT 1`, [
    captureId,
  ]);
  return r.length > 0;
}

/** Every bucket of a capture, by thread, level and time: for tests and tools, not for requests. */
export async function allLodBuckets(query: Query, captureId: string): Promise<LodBucket[]> {
  const rows = await query<{ tid: string; level: number; payload: Buffer }>(
    `SELECT thread_id::text AS tid, level, payload FROM lod_chunks WHERE capture_id = $1
     ORDER BY thread_id, level, bucket_ns`,
    [captureId],
  );
  const out: LodBucket[] = [];
  for (const r of rows) for (const b of decodeLodChunk(r.tid, r.level, r.payload)) out.push(b);
  return out;
}
