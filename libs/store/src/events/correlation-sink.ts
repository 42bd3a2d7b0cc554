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
import { partitionName, poolOf } from './pg.js';
import { LaneTileBuilder, type LaneTile } from './tiles.js';

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
    for (const s of segments) {
      const p = w.segment(s);
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
    const w = await this.open();
    for (const b of lanes.buckets) {
      const p = w.lodBucket(b);
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
    { table: 'segments', columns: SEGMENT_COLUMNS },
    { table: 'wakeups', columns: WAKEUP_COLUMNS },
    { table: 'span_bindings', columns: BINDING_COLUMNS },
    { table: 'segment_lod', columns: LOD_COLUMNS },
    { table: 'lane_tiles', columns: TILE_COLUMNS },
  ]);
  try {
    // A capture made before the pyramid's or the tiles' migration has no partition for them yet.
    for (const table of ['segment_lod', 'lane_tiles'] as const)
      await client.query(
        `CREATE TABLE IF NOT EXISTS ${partitionName(table, captureId)} PARTITION OF ${table} FOR VALUES IN ('${captureId}')`,
      );
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
  const builder = new LaneTileBuilder(threadId, sorted);
  for (const b of lodBuckets(threadId, sorted)) {
    buckets.push(b);
    appendAll(tiles, builder.add(b));
  }
  appendAll(tiles, builder.finish());
  return { buckets, tiles };
}

const SEGMENT_COLUMNS = [
  'capture_id',
  'thread_id',
  'start_ns',
  'end_ns',
  'state',
  'source',
  'syscall',
  'target',
  'lock_id',
  'blocked_stack_id',
  'waker_thread_id',
  'waker_stack_id',
  'prev_state',
  'reason',
];
const LOD_COLUMNS = [
  'capture_id',
  'thread_id',
  'level',
  'bucket_ns',
  'min_start_ns',
  'max_end_ns',
  'segment_count',
  'state',
  'cpu_ns',
  'runqueue_ns',
  'lock_ns',
  'gc_ns',
  'net_ns',
  'file_ns',
  'sleep_ns',
  'idle_ns',
  'other_ns',
  'unknown_ns',
  'lock_waker_min',
  'lock_waker_max',
  'other_waker_min',
  'other_waker_max',
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
  /** Segments written since the partition's statistics were last refreshed in this transaction. */
  private unanalysed = 0;

  constructor(
    private readonly client: pg.PoolClient,
    private readonly copy: CopyTransaction,
    private readonly captureId: string,
  ) {}

  segment(s: Segment): Promise<void> | undefined {
    this.unanalysed++;
    return this.copy.push(
      'segments',
      row([
        this.captureId,
        s.threadId,
        s.startNs,
        s.endNs,
        s.state,
        s.source,
        s.syscall,
        s.target,
        s.lockId,
        s.blockedStackId,
        s.wakerThreadId,
        s.wakerStackId,
        s.prevState,
        s.reason,
      ]),
    );
  }

  /** One bucket of a thread's level-of-detail pyramid (totals in THREAD_STATES order, as the columns). */
  lodBucket(b: LodBucket): Promise<void> | undefined {
    return this.copy.push(
      'segment_lod',
      row([
        this.captureId,
        b.threadId,
        b.level,
        b.bucketNs,
        b.minStartNs,
        b.maxEndNs,
        b.count,
        b.dominant,
        ...b.totals,
        b.lockWakerMin,
        b.lockWakerMax,
        b.otherWakerMin,
        b.otherWakerMax,
      ]),
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
    await this.copy.sendTable('segments');
    // The partition was empty when last analysed: planned from those statistics, each window read
    // may scan all the segments just written (quadratic in the requests × segments of a capture;
    // at 10 M events it did not finish in 20 min). ANALYZE in this transaction counts its own rows.
    if (this.unanalysed > 10_000) {
      await this.client.query(`ANALYZE ${partitionName('segments', this.captureId)}`);
      this.unanalysed = 0;
    }
    const columns = SEGMENT_COLUMNS.slice(1)
      .map((c) => (c.endsWith('_ns') || c.endsWith('_id') ? `${c}::text AS ${c}` : c))
      .join(', ');
    const { rows } = await this.client.query<SegmentRow>(
      `(SELECT ${columns} FROM segments WHERE capture_id = $1 AND thread_id = $2 AND start_ns <= $3
          ORDER BY start_ns DESC LIMIT 1)
       UNION ALL
       (SELECT ${columns} FROM segments WHERE capture_id = $1 AND thread_id = $2 AND start_ns > $3 AND start_ns < $4
          ORDER BY start_ns)`,
      [this.captureId, threadId, fromNs.toString(), toNs.toString()],
    );
    const out: Segment[] = [];
    for (const r of rows) {
      const s = segmentOf(r);
      if (s.endNs > fromNs && s.startNs < toNs) out.push(s);
    }
    return out;
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

interface SegmentRow {
  thread_id: string;
  start_ns: string;
  end_ns: string;
  state: Segment['state'];
  source: Segment['source'];
  syscall: string | null;
  target: string | null;
  lock_id: string | null;
  blocked_stack_id: string | null;
  waker_thread_id: string | null;
  waker_stack_id: string | null;
  prev_state: string | null;
  reason: string | null;
}

/** A segment row as the builder made it: absent details stay absent (not null). */
function segmentOf(r: SegmentRow): Segment {
  return {
    threadId: r.thread_id,
    startNs: BigInt(r.start_ns),
    endNs: BigInt(r.end_ns),
    state: r.state,
    source: r.source,
    ...(r.syscall !== null ? { syscall: r.syscall } : {}),
    ...(r.target !== null ? { target: r.target } : {}),
    ...(r.lock_id !== null ? { lockId: r.lock_id } : {}),
    ...(r.blocked_stack_id !== null ? { blockedStackId: r.blocked_stack_id } : {}),
    ...(r.waker_thread_id !== null ? { wakerThreadId: r.waker_thread_id } : {}),
    ...(r.waker_stack_id !== null ? { wakerStackId: r.waker_stack_id } : {}),
    ...(r.prev_state !== null ? { prevState: r.prev_state } : {}),
    ...(r.reason !== null ? { reason: r.reason } : {}),
  };
}
