import type pg from 'pg';
import type { DataSource } from 'typeorm';
import {
  appendAll,
  type RequestAnalysis,
  type Segment,
  type SpanBinding,
  type Wakeup,
} from '@threadreel/model';
import { copyBytea, copyField, CopyTransaction } from './copy-rows.js';
import { lodBuckets, type LodBucket } from './lod.js';
import { lodChunks, type LodChunk } from './lod-chunks.js';
import { partitionName, poolOf } from './pg.js';
import { segmentChunks, segmentsOverlapping, type SegmentChunk } from './segment-chunks.js';
import { LaneTileBuilder, STORED_TILE_MIN_LEVEL, type LaneTile } from './tiles.js';

/**
 * The write port of correlation (libs/correlate `CorrelationSink`) on Postgres. Clock
 * placements and thread facts are updated as they come; segments, wakeups, bindings and
 * requests replace the capture's earlier ones in one transaction (opened at the first write,
 * committed with the requests), streamed with COPY. The store's own views of the segments —
 * the level-of-detail pyramid and lane tiles the replay reads — are built here, per thread.
 */
export class PgCorrelationSink {
  private writer: Promise<DerivedWriter> | null = null;

  constructor(
    private readonly ds: DataSource,
    private readonly captureId: string,
  ) {}

  async recordClock(
    fileId: string,
    offsetNs: bigint | null,
    method: string,
    evidence: Record<string, unknown>,
  ): Promise<void> {
    await this.ds.query(
      `UPDATE source_files SET clock_offset_ns = $2, clock_method = $3, clock_evidence = $4 WHERE id = $1`,
      [fileId, offsetNs === null ? null : offsetNs.toString(), method, JSON.stringify(evidence)],
    );
  }

  async threadInfo(threadId: string, pool: string | null, quality: string): Promise<void> {
    await this.ds.query(
      `UPDATE threads SET pool = $3, segment_quality = $4 WHERE capture_id = $1 AND id = $2`,
      [this.captureId, threadId, pool, quality],
    );
  }

  async threadSegments(
    threadId: string,
    segments: readonly Segment[],
    wakeups: readonly Wakeup[],
  ): Promise<void> {
    const w = await this.open();
    for (const c of segmentChunks(threadId, segments)) {
      const p = w.segmentChunk(c);
      if (p) await p;
    }
    for (const x of wakeups) {
      const p = w.wakeup(x);
      if (p) await p;
    }
  }

  /** The thread's level-of-detail buckets and lane tiles, built whole before any is written. */
  async threadViews(threadId: string, segments: readonly Segment[]): Promise<void> {
    const lanes = laneRows(threadId, segments);
    const chunks = lodChunks(threadId, lanes.buckets);
    const w = await this.open();
    for (const c of chunks) {
      const p = w.lodChunk(c);
      if (p) await p;
    }
    for (const t of lanes.tiles) {
      const p = w.laneTile(t);
      if (p) await p;
    }
  }

  async bindings(bindings: readonly SpanBinding[]): Promise<void> {
    const w = await this.open();
    for (const b of bindings) {
      const p = w.binding(b);
      if (p) await p;
    }
  }

  async segmentsInWindow(threadId: string, fromNs: bigint, toNs: bigint): Promise<Segment[]> {
    return (await this.open()).segmentsInWindow(threadId, fromNs, toNs);
  }

  async commit(requests: readonly RequestAnalysis[]): Promise<void> {
    await (await this.open()).commit(requests);
  }

  async rollback(): Promise<void> {
    if (this.writer) await (await this.writer).rollback();
  }

  /** The writer for the capture's derived rows; it replaces the earlier ones in one transaction. */
  private open(): Promise<DerivedWriter> {
    this.writer ??= openWriter(this.ds, this.captureId);
    return this.writer;
  }
}

async function openWriter(ds: DataSource, captureId: string): Promise<DerivedWriter> {
  const client = await poolOf(ds).connect();
  const copy = new CopyTransaction(client, [
    { table: 'segment_chunks', columns: CHUNK_COLUMNS },
    { table: 'wakeups', columns: WAKEUP_COLUMNS },
    { table: 'span_bindings', columns: BINDING_COLUMNS },
    { table: 'lod_chunks', columns: LOD_CHUNK_COLUMNS },
    { table: 'lane_tiles', columns: TILE_COLUMNS },
  ]);
  try {
    await copy.beginCapture(captureId);
    await client.query('DELETE FROM requests WHERE capture_id = $1', [captureId]);
  } catch (e) {
    client.release(true);
    throw e;
  }
  return new DerivedWriter(client, copy, captureId);
}

/** A thread's level-of-detail buckets and lane tiles, all levels. */
function laneRows(threadId: string, segs: readonly Segment[]): { buckets: LodBucket[]; tiles: LaneTile[] } {
  const sorted = segs.every((s, i) => i === 0 || (segs[i - 1]?.startNs ?? s.startNs) <= s.startNs)
    ? segs
    : [...segs].sort((a, b) => (a.startNs < b.startNs ? -1 : a.startNs > b.startNs ? 1 : 0));
  const buckets: LodBucket[] = [];
  const tiles: LaneTile[] = [];
  const builder = new LaneTileBuilder(threadId, sorted, STORED_TILE_MIN_LEVEL);
  for (const b of lodBuckets(threadId, sorted)) {
    buckets.push(b);
    appendAll(tiles, builder.add(b));
  }
  appendAll(tiles, builder.finish());
  return { buckets, tiles };
}

const CHUNK_COLUMNS = [
  'capture_id',
  'thread_id',
  'start_ns',
  'end_ns',
  'max_duration_ns',
  'segment_count',
  'payload',
];
const LOD_CHUNK_COLUMNS = [
  'capture_id',
  'thread_id',
  'level',
  'bucket_ns',
  'last_bucket_ns',
  'bucket_count',
  'payload',
];
const TILE_COLUMNS = ['capture_id', 'thread_id', 'level', 'tile', 'items', 'payload'];
const WAKEUP_COLUMNS = [
  'capture_id',
  'time_ns',
  'waker_thread_id',
  'wakee_thread_id',
  'waker_stack_id',
  'source',
  'lock_id',
];
const BINDING_COLUMNS = [
  'capture_id',
  'trace_id',
  'span_id',
  'thread_id',
  'start_ns',
  'end_ns',
  'method',
  'confidence',
];

function row(fields: (string | number | bigint | boolean | null | undefined)[]): string {
  return `${fields.map(copyField).join('\t')}\n`;
}

/** Streams one correlation's segments, wakeups and bindings, then its requests, in one transaction. */
export class DerivedWriter {
  /** Segment chunks written since the partition's statistics were last refreshed in this transaction. */
  private unanalysed = 0;

  constructor(
    private readonly client: pg.PoolClient,
    private readonly copy: CopyTransaction,
    private readonly captureId: string,
  ) {}

  /** One chunk of a thread's segments. */
  segmentChunk(c: SegmentChunk): Promise<void> | undefined {
    this.unanalysed++;
    return this.copy.push(
      'segment_chunks',
      `${row([this.captureId, c.threadId, c.startNs, c.endNs, c.maxDurationNs, c.count]).slice(0, -1)}\t${copyBytea(c.payload)}\n`,
    );
  }

  /** One chunk of a thread's level-of-detail pyramid (one level). */
  lodChunk(c: LodChunk): Promise<void> | undefined {
    return this.copy.push(
      'lod_chunks',
      `${row([this.captureId, c.threadId, c.level, c.bucketNs, c.lastBucketNs, c.count]).slice(0, -1)}\t${copyBytea(c.payload)}\n`,
    );
  }

  /** One lane tile of a thread (packed items of one level and tile). */
  laneTile(t: LaneTile): Promise<void> | undefined {
    return this.copy.push(
      'lane_tiles',
      `${row([this.captureId, t.threadId, t.level, t.tile, t.items]).slice(0, -1)}\t${copyBytea(t.bytes)}\n`,
    );
  }

  wakeup(w: Wakeup): Promise<void> | undefined {
    return this.copy.push(
      'wakeups',
      row([this.captureId, w.timeNs, w.wakerThreadId, w.wakeeThreadId, w.wakerStackId, w.source, w.lockId]),
    );
  }

  binding(b: SpanBinding): Promise<void> | undefined {
    return this.copy.push(
      'span_bindings',
      row([this.captureId, b.traceId, b.spanId, b.threadId, b.startNs, b.endNs, b.method, b.confidence]),
    );
  }

  /**
   * A thread's segments written so far overlapping [fromNs, toNs), in start order, read back on
   * the writer's connection (they are not committed yet). A thread's segments are disjoint: the
   * one covering `fromNs` is the last starting at or before it, so both halves are index ranges.
   */
  async segmentsInWindow(threadId: string, fromNs: bigint, toNs: bigint): Promise<Segment[]> {
    await this.copy.sendTable('segment_chunks');
    // The partition was empty when last analysed: planned from those statistics, each window read
    // may scan every chunk just written (quadratic in the requests × chunks of a capture; with a
    // row per segment, 10 M events did not finish in 20 min). ANALYZE in this transaction counts its own rows.
    if (this.unanalysed > 1_000) {
      await this.client.query(`ANALYZE ${partitionName('segment_chunks', this.captureId)}`);
      this.unanalysed = 0;
    }
    const query = async <T>(sql: string, params: unknown[]): Promise<T[]> =>
      (await this.client.query(sql, params)).rows as T[];
    const [segs] = await segmentsOverlapping(query, this.captureId, [{ threadId, fromNs, toNs }]);
    return segs ?? [];
  }

  /** Inserts the requests (few per capture: one row each) and commits everything. */
  async commit(requests: readonly RequestAnalysis[]): Promise<void> {
    try {
      const json = (v: unknown) =>
        JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x));
      for (let i = 0; i < requests.length; i += 500) {
        const batch = requests.slice(i, i + 500);
        await this.client.query(
          `INSERT INTO requests (capture_id, trace_id, span_id, service, route, name, start_ns, end_ns, duration_ns,
                                 dominant_cause, breakdown, evidence, sample_count, sparse, thread_ids)
           SELECT $1, r.trace_id, r.span_id, r.service, r.route, r.name, r.start_ns, r.end_ns, r.duration_ns,
                  r.dominant_cause, r.breakdown, r.evidence, r.sample_count, r.sparse,
                  ARRAY(SELECT jsonb_array_elements_text(r.thread_ids)::bigint)
           FROM jsonb_to_recordset($2::jsonb) AS r(trace_id text, span_id text, service text, route text, name text,
                  start_ns bigint, end_ns bigint, duration_ns bigint, dominant_cause text, breakdown jsonb,
                  evidence jsonb, sample_count int, sparse boolean, thread_ids jsonb)
           ON CONFLICT (capture_id, trace_id, span_id) DO NOTHING`,
          [
            this.captureId,
            json(
              batch.map((r) => ({
                trace_id: r.traceId,
                span_id: r.spanId,
                service: r.service,
                route: r.route,
                name: r.name,
                start_ns: r.startNs,
                end_ns: r.endNs,
                duration_ns: r.durationNs,
                dominant_cause: r.dominantCause,
                breakdown: r.breakdown,
                evidence: r.evidence,
                sample_count: r.sampleCount,
                sparse: r.sparse,
                thread_ids: r.threadIds,
              })),
            ),
          ],
        );
      }
      await this.copy.commit();
      this.client.release();
    } catch (e) {
      await this.rollback();
      throw e;
    }
  }

  async rollback(): Promise<void> {
    await this.copy.rollback();
    this.client.release(true);
  }
}
