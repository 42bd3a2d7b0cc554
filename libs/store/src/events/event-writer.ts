import type pg from 'pg';
import type { PerfRecord, RawFrame, StackSample } from '@threadreel/model';
import { copyField, CopyTransaction } from './copy-rows.js';
import { StackInterner } from './interning.js';
import type { EventTable } from './source-writers.js';

const FLUSH_INTERNED = 5000;
const SAMPLE_COLUMNS = [
  'capture_id',
  'thread_id',
  'time_ns',
  'file_ordinal',
  'stack_id',
  'weight',
  'cpu',
  'event_id',
  'comm_id',
];
const SCHED_COLUMNS = [
  'capture_id',
  'file_ordinal',
  'line',
  'kind',
  'time_ns',
  'cpu',
  'pid',
  'tid',
  'prio',
  'prev_state',
  'other_tid',
  'other_comm',
  'other_prio',
  'target_cpu',
  'stack_id',
];

/** Thread id stored for a profile sample whose source names no thread (e.g. an aggregated pprof). */
export const UNKNOWN_TID = -1;

export interface WriteStats {
  samples: number;
  /** Rows per event table (sched_events, syscalls, spans…). */
  rows: Record<string, number>;
  threads: number;
  frames: number;
  stacks: number;
}

/** What an {@link EventWriter} writes: on-CPU/tracepoint samples (with sched rows) and/or event tables. */
export interface EventWriterOptions {
  /** perf records and runtime profile samples go to `samples` (+ `sched_events`). */
  readonly samples?: boolean;
  /** Tables the file's other items go to, by item kind. */
  readonly tables?: readonly EventTable<never>[];
}

/**
 * Writes the records of one source file. Every row streams through COPY inside one
 * transaction that first deletes the rows this file wrote before (so a retried job
 * replaces exactly its own rows). Threads, strings, frames and stacks are shared by the
 * capture's files and are upserted idempotently on a second connection in autocommit,
 * so parallel parse jobs never wait on each other's long transactions.
 */
export class EventWriter {
  private main?: pg.PoolClient;
  private side?: pg.PoolClient;
  private copy?: CopyTransaction;
  private readonly interner = new StackInterner();
  private readonly threads = new Map<string, { id: string; names: Set<string> }>();
  private readonly strings = new Map<string, number>();
  private readonly pids = new Set<number>();
  private readonly byKind = new Map<string, EventTable<never>>();
  private readonly samples: boolean;
  readonly stats: WriteStats = { samples: 0, rows: {}, threads: 0, frames: 0, stacks: 0 };

  constructor(
    private readonly pool: pg.Pool,
    private readonly captureId: string,
    private readonly fileOrdinal: number,
    options: EventWriterOptions,
  ) {
    this.samples = options.samples ?? false;
    for (const t of options.tables ?? []) for (const k of t.kinds) this.byKind.set(k, t);
  }

  /** Whether add() stores items of this kind (others, e.g. strace signals, are only counted). */
  stores(kind: string): boolean {
    return this.byKind.has(kind) || (this.samples && (kind === 'perf' || kind === 'stack-sample'));
  }

  async begin(): Promise<void> {
    this.main = await this.pool.connect();
    this.side = await this.pool.connect();
    const tables = [...new Set(this.byKind.values())].map((t) => ({
      table: t.table,
      columns: ['capture_id', 'file_ordinal', 'line', ...t.columns],
    }));
    if (this.samples)
      tables.push(
        { table: 'samples', columns: SAMPLE_COLUMNS },
        { table: 'sched_events', columns: SCHED_COLUMNS },
      );
    this.copy = new CopyTransaction(this.main, tables);
    await this.copy.begin(this.captureId, this.fileOrdinal);
  }

  /**
   * Adds one item. Synchronous when its thread and names are known and no buffer is full
   * (the common case); returns a promise only when it must reach the database.
   */
  add(item: { readonly kind: string; readonly line: number }): Promise<void> | undefined {
    if (this.samples && item.kind === 'perf') return this.addPerf(item as PerfRecord);
    if (this.samples && item.kind === 'stack-sample') return this.addStackSample(item as StackSample);
    const table = this.byKind.get(item.kind);
    if (table === undefined) return undefined;
    const fields = table.row(item as never, { stackId: (frames) => this.stackId(frames) }).map(copyField);
    this.stats.rows[table.table] = (this.stats.rows[table.table] ?? 0) + 1;
    return this.flushIfFull(
      this.must(this.copy).push(
        table.table,
        `${this.captureId}\t${this.fileOrdinal}\t${item.line}\t${fields.join('\t')}\n`,
      ),
    );
  }

  private stackId(frames: readonly RawFrame[] | undefined): bigint | null {
    return frames && frames.length ? this.interner.intern(frames) : null;
  }

  private addPerf(rec: PerfRecord): Promise<void> | undefined {
    const kind = rec.trace === null ? 'event' : 'tracepoint';
    const thread = this.threads.get(`${rec.pid ?? ''}/${rec.tid}`);
    const eventId = this.strings.get(`${kind}\0${rec.event}`);
    const commId = this.strings.get(`comm\0${rec.comm}`);
    if (
      thread === undefined ||
      !thread.names.has(rec.comm) ||
      eventId === undefined ||
      commId === undefined
    ) {
      return (async () => {
        const threadId = await this.threadId(rec.pid, rec.tid, rec.comm);
        const ev = await this.stringId(kind, rec.event);
        const comm = await this.stringId('comm', rec.comm);
        await this.flushIfFull(this.appendPerf(rec, threadId, ev, comm));
      })();
    }
    return this.flushIfFull(this.appendPerf(rec, thread.id, eventId, commId));
  }

  private appendPerf(
    rec: PerfRecord,
    threadId: string,
    eventId: number,
    commId: number,
  ): Promise<void> | undefined {
    const stackId = this.interner.intern(rec.frames);
    const copy = this.must(this.copy);
    const pending = copy.push(
      'samples',
      `${this.captureId}\t${threadId}\t${rec.timeNs ?? '\\N'}\t${this.fileOrdinal}\t${stackId ?? '\\N'}\t` +
        `${rec.period !== null && rec.period > 0n ? rec.period : 1n}\t${rec.cpu ?? '\\N'}\t${eventId}\t${commId}\n`,
    );
    this.stats.samples++;
    const s = rec.sched;
    if (s === undefined) return pending;
    const row =
      s.type === 'switch'
        ? [
            'switch',
            rec.timeNs,
            rec.cpu,
            rec.pid,
            s.prevPid,
            s.prevPrio,
            s.prevState,
            s.nextPid,
            s.nextComm,
            s.nextPrio,
            null,
            stackId,
          ]
        : [
            s.type,
            rec.timeNs,
            rec.cpu,
            rec.pid,
            rec.tid,
            null,
            null,
            s.pid,
            s.comm,
            s.prio,
            s.targetCpu,
            stackId,
          ];
    this.stats.rows.sched_events = (this.stats.rows.sched_events ?? 0) + 1;
    const more = copy.push(
      'sched_events',
      `${this.captureId}\t${this.fileOrdinal}\t${rec.line}\t${row.map(copyField).join('\t')}\n`,
    );
    if (pending && more) return Promise.all([pending, more]).then(() => undefined);
    return pending ?? more;
  }

  private addStackSample(s: StackSample): Promise<void> | undefined {
    const tid = s.tid ?? UNKNOWN_TID;
    const comm = s.threadName ?? (s.runtimeThreadId !== null ? `thread ${s.runtimeThreadId}` : '');
    return (async () => {
      const threadId = await this.threadId(s.pid, tid, comm);
      const eventId = await this.stringId('event', s.event);
      const commId = await this.stringId('comm', comm);
      const stackId = this.interner.intern(s.frames);
      this.stats.samples++;
      await this.flushIfFull(
        this.must(this.copy).push(
          'samples',
          `${this.captureId}\t${threadId}\t${s.timeNs ?? '\\N'}\t${this.fileOrdinal}\t${stackId ?? '\\N'}\t` +
            `${s.weight > 0n ? s.weight : 1n}\t\\N\t${eventId}\t${commId}\n`,
        ),
      );
    })();
  }

  private flushIfFull(copying: Promise<void> | undefined): Promise<void> | undefined {
    if (this.interner.pendingCount < FLUSH_INTERNED) return copying;
    return (async () => {
      await copying;
      await this.flushInterned();
    })();
  }

  async commit(): Promise<WriteStats> {
    // Frames and stacks first: once the rows commit, every stack they name exists.
    await this.flushInterned();
    await this.must(this.copy).commit();
    this.release();
    return this.stats;
  }

  async rollback(): Promise<void> {
    try {
      await this.copy?.rollback();
    } finally {
      this.release(true);
    }
  }

  private release(broken = false): void {
    // A connection left in an unknown state (aborted COPY) is discarded, not reused.
    this.main?.release(broken);
    this.side?.release();
    this.main = undefined;
    this.side = undefined;
  }

  private async flushInterned(): Promise<void> {
    const side = this.must(this.side);
    const { frames, stacks } = this.interner.drain();
    if (frames.length) {
      await side.query(
        `INSERT INTO frames (capture_id, id, symbol, dso)
         SELECT $1, unnest($2::bigint[]), unnest($3::text[]), unnest($4::text[])
         ON CONFLICT DO NOTHING`,
        [
          this.captureId,
          frames.map((f) => f.id.toString()),
          frames.map((f) => f.symbol),
          frames.map((f) => f.dso),
        ],
      );
      this.stats.frames += frames.length;
    }
    if (stacks.length) {
      await side.query(
        `INSERT INTO stacks (capture_id, id, parent_id, frame_id, depth)
         SELECT $1, unnest($2::bigint[]), unnest($3::bigint[]), unnest($4::bigint[]), unnest($5::int[])
         ON CONFLICT DO NOTHING`,
        [
          this.captureId,
          stacks.map((s) => s.id.toString()),
          stacks.map((s) => (s.parentId === null ? null : s.parentId.toString())),
          stacks.map((s) => s.frameId.toString()),
          stacks.map((s) => s.depth),
        ],
      );
      this.stats.stacks += stacks.length;
    }
  }

  private async threadId(pid: number | null, tid: number, comm: string): Promise<string> {
    const key = `${pid ?? ''}/${tid}`;
    const known = this.threads.get(key);
    if (known && known.names.has(comm)) return known.id;
    const side = this.must(this.side);
    if (pid !== null && !this.pids.has(pid)) {
      this.pids.add(pid);
      await side.query(`INSERT INTO processes (capture_id, pid) VALUES ($1, $2) ON CONFLICT DO NOTHING`, [
        this.captureId,
        pid,
      ]);
    }
    const res = await side.query<{ id: string }>(
      `INSERT INTO threads AS t (capture_id, pid, tid, names) VALUES ($1, $2, $3, ARRAY[$4::text])
       ON CONFLICT (capture_id, (coalesce(pid, -1)), tid) DO UPDATE
         SET names = CASE WHEN $4::text = ANY (t.names) THEN t.names ELSE t.names || $4::text END
       RETURNING id`,
      [this.captureId, pid, tid, comm],
    );
    const id = this.must(res.rows[0]).id;
    if (known) known.names.add(comm);
    else {
      this.threads.set(key, { id, names: new Set([comm]) });
      this.stats.threads++;
    }
    return id;
  }

  private async stringId(kind: 'comm' | 'event' | 'tracepoint', value: string): Promise<number> {
    const key = `${kind}\0${value}`;
    const known = this.strings.get(key);
    if (known !== undefined) return known;
    const res = await this.must(this.side).query<{ id: number }>(
      `INSERT INTO capture_strings (capture_id, kind, value) VALUES ($1, $2, $3)
       ON CONFLICT (capture_id, kind, value) DO UPDATE SET value = EXCLUDED.value
       RETURNING id`,
      [this.captureId, kind, value],
    );
    const id = this.must(res.rows[0]).id;
    this.strings.set(key, id);
    return id;
  }

  private must<T>(v: T | undefined): T {
    if (v === undefined) throw new Error('EventWriter used before begin() or after commit()');
    return v;
  }
}
