import type {
  GcEvent,
  LogRecord,
  RawFrame,
  RuntimeEvent,
  SafepointEvent,
  SpanAttributes,
  SpanRecord,
  StraceSyscall,
  ThreadSighting,
} from '@threadreel/model';
import { copyTextArray } from './copy-rows.js';
import type { PartitionedTable } from './pg.js';

type Field = string | number | bigint | boolean | null | undefined;

/** How one kind of source event becomes a row of its table. */
export interface EventTable<T> {
  readonly table: PartitionedTable;
  /** The parser item kinds that are rows of this table (others, e.g. strace signals, are not stored). */
  readonly kinds: readonly string[];
  readonly columns: readonly string[];
  row(item: T, ctx: RowContext): Field[];
}

/** What a row may need from its writer: the interned id of a call stack. */
export interface RowContext {
  /** Leaf-first frames → stack id (decimal; null for none), interned with the capture's stacks. */
  stackId(frames: readonly RawFrame[] | undefined): string | null;
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
    'futex_addr',
    'time_of_day_ns',
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
    s.futexAddr,
    s.timeOfDayNs,
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
  columns: ['kind', 'runtime', 'phase', 'pause', 'tid', 'clock', 'start_ns', 'duration_ns', 'gc_id', 'cause'],
  row: (g) =>
    g.kind === 'gc'
      ? ['gc', g.runtime, g.phase, g.pause, g.tid, g.clock, g.startNs, g.durationNs, g.gcId, g.cause]
      : [
          'safepoint',
          g.runtime,
          g.operation ?? 'safepoint',
          true,
          g.tid,
          g.clock,
          g.startNs,
          g.durationNs,
          null,
          null,
        ],
};

export const RUNTIME_TABLE: EventTable<RuntimeEvent> = {
  table: 'runtime_events',
  kinds: ['runtime'],
  columns: [
    'source',
    'type',
    'event',
    'tid',
    'runtime_tid',
    'thread_name',
    'clock',
    'start_ns',
    'duration_ns',
    'object_class',
    'address',
    'owner_tid',
    'owner_runtime_tid',
    'owner_name',
    'peer',
    'path',
    'bytes',
    'timeout_ns',
    'stack_id',
  ],
  row: (e, ctx) => [
    e.source,
    e.type,
    e.event,
    e.thread.tid,
    e.thread.runtimeThreadId,
    e.thread.name,
    e.clock,
    e.startNs,
    e.durationNs,
    e.objectClass,
    e.address,
    e.previousOwner?.tid,
    e.previousOwner?.runtimeThreadId,
    e.previousOwner?.name,
    e.peer,
    e.path,
    e.bytes,
    e.timeoutNs,
    ctx.stackId(e.frames),
  ],
};

export const THREAD_TABLE: EventTable<ThreadSighting> = {
  table: 'thread_sightings',
  kinds: ['thread'],
  columns: [
    'source',
    'event',
    'clock',
    'time_ns',
    'realtime_ns',
    'snapshot',
    'pid',
    'tid',
    'runtime_tid',
    'name',
    'state',
    'daemon',
    'top_frames',
    'locks',
  ],
  row: (t) => [
    t.source,
    t.event,
    t.clock,
    t.timeNs,
    t.realtimeNs,
    t.snapshot,
    t.pid,
    t.tid,
    t.runtimeThreadId,
    t.name,
    t.state,
    t.daemon,
    t.topFrames ? copyTextArray(t.topFrames) : null,
    t.locks ? copyTextArray(t.locks) : null,
  ],
};

/** Attributes as JSON; 64-bit integers beyond 2^53 as decimal strings, never rounded. */
function attributesJson(attrs: SpanAttributes): string {
  return JSON.stringify(attrs, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
}
