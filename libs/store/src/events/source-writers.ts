import type pg from 'pg';
import type {
  GcEvent,
  LogRecord,
  SafepointEvent,
  SpanAttributes,
  SpanRecord,
  StraceSyscall,
} from '@threadreel/model';
import { copyField, copyTextArray, CopyRows } from './copy-rows.js';
import type { PartitionedTable } from './pg.js';

type Field = string | number | bigint | boolean | null | undefined;

/** How one kind of source event becomes a row of its table. */
export interface EventTable<T> {
  readonly table: PartitionedTable;
  /** The parser item kinds that are rows of this table (others, e.g. strace signals, are not stored). */
  readonly kinds: readonly string[];
  readonly columns: readonly string[];
  row(item: T): Field[];
}

const MAX_MESSAGE = 64 * 1024;

export const SYSCALL_TABLE: EventTable<StraceSyscall> = {
  table: 'syscalls',
  kinds: ['syscall'],
  columns: [
    'tid',
    'start_ns',
    'duration_ns',
    'name',
    'category',
    'fd_kind',
    'fd_path',
    'fd_peer',
    'ret',
    'errno',
    'futex_op',
    'incomplete',
  ],
  row: (s) => [
    s.tid,
    s.startNs,
    s.durationNs,
    s.name,
    s.category,
    s.fd?.kind,
    s.fd?.path ?? (s.fd?.local ? `${s.fd.protocol ?? 'socket'} ${s.fd.local}` : undefined),
    s.fd?.peer,
    s.ret,
    s.errno,
    s.futexOp,
    s.unfinished,
  ],
};

export const LOG_TABLE: EventTable<LogRecord> = {
  table: 'log_records',
  kinds: ['log'],
  columns: ['time_ns', 'zone', 'level', 'thread_name', 'tid', 'trace_ids', 'span_id', 'logger', 'message'],
  row: (l) => {
    const full = l.continuation.length ? `${l.message}\n${l.continuation.join('\n')}` : l.message;
    return [
      l.timeNs,
      l.zone,
      l.level,
      l.threadName,
      l.tid,
      // COPY unescapes the field, then the array parser reads the literal: both escapings apply.
      copyTextArray(l.traceIds),
      l.spanId,
      l.logger,
      full.length > MAX_MESSAGE ? full.slice(0, MAX_MESSAGE) : full,
    ];
  },
};

export const SPAN_TABLE: EventTable<SpanRecord> = {
  table: 'spans',
  kinds: ['span'],
  columns: [
    'trace_id',
    'span_id',
    'parent_span_id',
    'name',
    'kind',
    'service',
    'start_ns',
    'end_ns',
    'status',
    'attributes',
  ],
  row: (s) => [
    s.traceId,
    s.spanId,
    s.parentSpanId,
    s.name,
    s.spanKind,
    s.service,
    s.startNs,
    s.endNs,
    s.status,
    attributesJson(s.attributes),
  ],
};

export const GC_TABLE: EventTable<GcEvent | SafepointEvent> = {
  table: 'gc_events',
  kinds: ['gc', 'safepoint'],
  columns: ['kind', 'runtime', 'phase', 'pause', 'tid', 'clock', 'start_ns', 'duration_ns'],
  row: (g) =>
    g.kind === 'gc'
      ? ['gc', g.runtime, g.phase, g.pause, g.tid, g.clock, g.startNs, g.durationNs]
      : ['safepoint', g.runtime, g.operation ?? 'safepoint', true, g.tid, g.clock, g.startNs, g.durationNs],
};

/** Attributes as JSON; 64-bit integers beyond 2^53 as decimal strings, never rounded. */
function attributesJson(attrs: SpanAttributes): string {
  return JSON.stringify(attrs, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
}

/**
 * Writes one source file's events of one kind with COPY, replacing that file's earlier
 * rows in the same transaction (idempotent parse jobs).
 */
export class SourceEventWriter<T> {
  private client?: pg.PoolClient;
  private rows?: CopyRows;

  constructor(
    private readonly pool: pg.Pool,
    private readonly spec: EventTable<T>,
    private readonly captureId: string,
    private readonly fileOrdinal: number,
  ) {}

  get count(): number {
    return this.rows?.rows ?? 0;
  }

  async begin(): Promise<void> {
    this.client = await this.pool.connect();
    this.rows = new CopyRows(this.client, this.spec.table, [
      'capture_id',
      'file_ordinal',
      'line',
      ...this.spec.columns,
    ]);
    await this.rows.begin(this.captureId, this.fileOrdinal);
  }

  /** Synchronous unless a chunk is due to be sent. */
  add(item: T & { line: number }): Promise<void> | undefined {
    if (!this.rows) throw new Error('SourceEventWriter.add before begin()');
    const fields = this.spec.row(item).map(copyField);
    return this.rows.push(`${this.captureId}\t${this.fileOrdinal}\t${item.line}\t${fields.join('\t')}\n`);
  }

  async commit(): Promise<number> {
    if (!this.rows) throw new Error('SourceEventWriter.commit before begin()');
    await this.rows.commit();
    const n = this.rows.rows;
    this.client?.release();
    this.client = undefined;
    return n;
  }

  async rollback(): Promise<void> {
    try {
      await this.rows?.rollback();
    } finally {
      this.client?.release(true);
      this.client = undefined;
    }
  }
}
