import type pg from 'pg';
import type { PerfRecord, StackSample } from '@threadreel/model';
import { CopyTransaction, type CopyTable } from './copy-rows.js';
import { StackInterner } from './interning.js';
import { partitionName } from './pg.js';
import type { EventTable, RowContext } from './source-writers.js';

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

/** A thread of the capture as this writer knows it: its row id and the names it was seen with. */
interface KnownThread {
  readonly id: string;
  readonly names: Set<string>;
  /** The name of its last record: the common case is one comparison, not a set lookup. */
  lastComm: string;
  /** `capture_id\tthread_id\t`: how its sample rows start. */
  readonly samplePrefix: string;
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
  /** pid (-1 when none, as the threads table's key) → tid → thread. */
  private readonly threads = new Map<number, Map<number, KnownThread>>();
  private readonly stringIds = {
    comm: new Map<string, number>(),
    event: new Map<string, number>(),
    tracepoint: new Map<string, number>(),
  };
  private readonly pids = new Set<number>();
  private readonly byKind = new Map<string, EventTable<never>>();
  private readonly samples: boolean;
  /** `capture_id\tfile_ordinal\t`: how every source-table row starts. */
  private readonly rowPrefix: string;
  private readonly ordinalField: string;
  private readonly rowContext: RowContext = {
    stackId: (frames) => (frames && frames.length ? this.interner.idOf(this.interner.intern(frames)) : null),
  };
  readonly stats: WriteStats = { samples: 0, rows: {}, threads: 0, frames: 0, stacks: 0 };

  constructor(
    private readonly pool: pg.Pool,
    private readonly captureId: string,
    private readonly fileOrdinal: number,
    options: EventWriterOptions,
  ) {
    this.samples = options.samples ?? false;
    for (const t of options.tables ?? []) for (const k of t.kinds) this.byKind.set(k, t);
    this.rowPrefix = `${captureId}\t${fileOrdinal}\t`;
    this.ordinalField = `${fileOrdinal}\t`;
  }

  /** Whether add() stores items of this kind (others, e.g. strace signals, are only counted). */
  stores(kind: string): boolean {
    return this.byKind.has(kind) || (this.samples && (kind === 'perf' || kind === 'stack-sample'));
  }

  /** The relations this writer's rows go to: the capture's partitions of its tables. */
  targets(): string[] {
    return this.copyTables().map((t) => t.target);
  }

  private copyTables(): (CopyTable & { target: string })[] {
    const tables = [...new Set(this.byKind.values())].map((t) => ({
      table: t.table,
      columns: ['capture_id', 'file_ordinal', 'line', ...t.columns],
      target: partitionName(t.table, this.captureId),
    }));
    if (this.samples)
      tables.push(
        { table: 'samples', columns: SAMPLE_COLUMNS, target: partitionName('samples', this.captureId) },
        {
          table: 'sched_events',
          columns: SCHED_COLUMNS,
          target: partitionName('sched_events', this.captureId),
        },
      );
    return tables;
  }

  /**
   * Opens the connections and the transaction, deleting the file's earlier rows unless
   * `keepEarlier` (a byte range of a file, whose rows were deleted when its ranged parse began).
   */
  async begin(options: { keepEarlier?: boolean } = {}): Promise<void> {
    this.main = await this.pool.connect();
    this.side = await this.pool.connect();
    // Rows go straight into the capture's partitions (created before any parse job runs).
    this.copy = new CopyTransaction(this.main, this.copyTables());
    await this.copy.begin(this.captureId, this.fileOrdinal, options.keepEarlier);
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
    const copy = this.must(this.copy);
    const rows = copy.table(table.table);
    rows.raw(this.rowPrefix).num(item.line);
    for (const f of table.row(item as never, this.rowContext)) rows.field(f);
    rows.end();
    return this.flushIfFull(copy.flush(rows));
  }

  private known(pid: number | null, tid: number, comm: string): KnownThread | undefined {
    const t = this.threads.get(pid ?? -1)?.get(tid);
    if (t === undefined) return undefined;
    if (t.lastComm === comm) return t;
    if (!t.names.has(comm)) return undefined;
    t.lastComm = comm;
    return t;
  }

  private addPerf(rec: PerfRecord): Promise<void> | undefined {
    const kind = rec.trace === null ? 'event' : 'tracepoint';
    const thread = this.known(rec.pid, rec.tid, rec.comm);
    const eventId = this.stringIds[kind].get(rec.event);
    const commId = this.stringIds.comm.get(rec.comm);
    if (thread === undefined || eventId === undefined || commId === undefined) {
      return (async () => {
        const t = await this.thread(rec.pid, rec.tid, rec.comm);
        const ev = await this.stringId(kind, rec.event);
        const comm = await this.stringId('comm', rec.comm);
        await this.flushIfFull(this.appendPerf(rec, t, ev, comm));
      })();
    }
    return this.flushIfFull(this.appendPerf(rec, thread, eventId, commId));
  }

  private appendPerf(
    rec: PerfRecord,
    thread: KnownThread,
    eventId: number,
    commId: number,
  ): Promise<void> | undefined {
    const stackId = this.interner.idOf(this.interner.intern(rec.frames));
    const copy = this.must(this.copy);
    const weight = rec.period !== null && rec.period > 0n ? rec.period : 1n;
    const pending = this.sampleRow(thread, rec.timeNs, stackId, weight, rec.cpu, eventId, commId);
    const s = rec.sched;
    if (s === undefined) return pending;
    const sched = copy.table('sched_events');
    sched.raw(this.rowPrefix).num(rec.line);
    if (s.type === 'switch')
      sched
        .text('switch')
        .big(rec.timeNs)
        .num(rec.cpu)
        .num(rec.pid)
        .num(s.prevPid)
        .num(s.prevPrio)
        .text(s.prevState)
        .num(s.nextPid)
        .text(s.nextComm)
        .num(s.nextPrio)
        .nul();
    else
      sched
        .text(s.type)
        .big(rec.timeNs)
        .num(rec.cpu)
        .num(rec.pid)
        .num(rec.tid)
        .nul()
        .nul()
        .num(s.pid)
        .text(s.comm)
        .num(s.prio)
        .num(s.targetCpu);
    sched.text(stackId).end();
    const more = copy.flush(sched);
    if (pending && more) return Promise.all([pending, more]).then(() => undefined);
    return pending ?? more;
  }

  private addStackSample(s: StackSample): Promise<void> | undefined {
    const tid = s.tid ?? UNKNOWN_TID;
    const comm = s.threadName ?? (s.runtimeThreadId !== null ? `thread ${s.runtimeThreadId}` : '');
    return (async () => {
      const thread = await this.thread(s.pid, tid, comm);
      const eventId = await this.stringId('event', s.event);
      const commId = await this.stringId('comm', comm);
      const stackId = this.interner.idOf(this.interner.intern(s.frames));
      const weight = s.weight > 0n ? s.weight : 1n;
      await this.flushIfFull(this.sampleRow(thread, s.timeNs, stackId, weight, null, eventId, commId));
    })();
  }

  /** One `samples` row; a promise when its chunk must be sent first. */
  private sampleRow(
    thread: KnownThread,
    timeNs: bigint | null,
    stackId: string | null,
    weight: bigint,
    cpu: number | null,
    eventId: number,
    commId: number,
  ): Promise<void> | undefined {
    const copy = this.must(this.copy);
    const samples = copy.table('samples');
    samples
      .raw(thread.samplePrefix)
      .big(timeNs)
      .raw(this.ordinalField)
      .text(stackId)
      .big(weight)
      .num(cpu)
      .num(eventId)
      .num(commId)
      .end();
    this.stats.samples++;
    return copy.flush(samples);
  }

  private flushIfFull(copying: Promise<void> | undefined): Promise<void> | undefined {
    if (this.interner.pendingCount < FLUSH_INTERNED) return copying;
    return (async () => {
      await copying;
      await this.flushInterned();
    })();
  }

  /** Commits the rows; `before` runs inside the transaction, after the last COPY. */
  async commit(before?: (client: pg.PoolClient) => Promise<void>): Promise<WriteStats> {
    // Frames and stacks first: once the rows commit, every stack they name exists.
    await this.flushInterned();
    const copy = this.must(this.copy);
    await copy.commit(before);
    const tables = [...new Set(this.byKind.values())].map((t) => t.table);
    for (const t of this.samples ? [...tables, 'sched_events'] : tables)
      if (copy.rows(t) > 0) this.stats.rows[t] = copy.rows(t);
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
        [this.captureId, frames.map((f) => f.id), frames.map((f) => f.symbol), frames.map((f) => f.dso)],
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
          stacks.map((s) => s.id),
          stacks.map((s) => s.parentId),
          stacks.map((s) => s.frameId),
          stacks.map((s) => s.depth),
        ],
      );
      this.stats.stacks += stacks.length;
    }
  }

  private async thread(pid: number | null, tid: number, comm: string): Promise<KnownThread> {
    const known = this.known(pid, tid, comm);
    if (known) return known;
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
    let byTid = this.threads.get(pid ?? -1);
    if (byTid === undefined) {
      byTid = new Map();
      this.threads.set(pid ?? -1, byTid);
    }
    const t = byTid.get(tid);
    if (t !== undefined) {
      t.names.add(comm);
      t.lastComm = comm;
      return t;
    }
    const created = {
      id,
      names: new Set([comm]),
      lastComm: comm,
      samplePrefix: `${this.captureId}\t${id}\t`,
    };
    byTid.set(tid, created);
    this.stats.threads++;
    return created;
  }

  private async stringId(kind: 'comm' | 'event' | 'tracepoint', value: string): Promise<number> {
    const known = this.stringIds[kind].get(value);
    if (known !== undefined) return known;
    const res = await this.must(this.side).query<{ id: number }>(
      `INSERT INTO capture_strings (capture_id, kind, value) VALUES ($1, $2, $3)
       ON CONFLICT (capture_id, kind, value) DO UPDATE SET value = EXCLUDED.value
       RETURNING id`,
      [this.captureId, kind, value],
    );
    const id = this.must(res.rows[0]).id;
    this.stringIds[kind].set(value, id);
    return id;
  }

  private must<T>(v: T | undefined): T {
    if (v === undefined) throw new Error('EventWriter used before begin() or after commit()');
    return v;
  }
}
