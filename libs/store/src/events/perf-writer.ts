import type pg from 'pg';
import type { PerfRecord } from '@threadreel/model';
import { CopyRows } from './copy-rows.js';
import { StackInterner } from './interning.js';

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

export interface PerfWriteStats {
  samples: number;
  threads: number;
  frames: number;
  stacks: number;
}

/**
 * Writes the perf records of one source file. Samples stream through COPY inside one
 * transaction that first deletes the rows this file wrote before (so a retried job
 * replaces exactly its own rows). Threads, strings, frames and stacks are shared by
 * the capture's files and are upserted idempotently on a second connection in
 * autocommit, so parallel parse jobs never wait on each other's long transactions.
 */
export class PerfSampleWriter {
  private main?: pg.PoolClient;
  private side?: pg.PoolClient;
  private rows?: CopyRows;
  private readonly interner = new StackInterner();
  private readonly threads = new Map<string, { id: string; names: Set<string> }>();
  private readonly strings = new Map<string, number>();
  private readonly pids = new Set<number>();
  readonly stats: PerfWriteStats = { samples: 0, threads: 0, frames: 0, stacks: 0 };

  constructor(
    private readonly pool: pg.Pool,
    private readonly captureId: string,
    private readonly fileOrdinal: number,
  ) {}

  async begin(): Promise<void> {
    this.main = await this.pool.connect();
    this.side = await this.pool.connect();
    this.rows = new CopyRows(this.main, 'samples', SAMPLE_COLUMNS);
    await this.rows.begin(this.captureId, this.fileOrdinal);
  }

  /**
   * Adds one record. Synchronous when its thread and names are known and no buffer is
   * full (the common case); returns a promise only when it must reach the database.
   */
  add(rec: PerfRecord): Promise<void> | undefined {
    const thread = this.threads.get(`${rec.pid ?? ''}/${rec.tid}`);
    const eventId = this.strings.get(`${rec.trace === null ? 'event' : 'tracepoint'}\0${rec.event}`);
    const commId = this.strings.get(`comm\0${rec.comm}`);
    if (
      thread === undefined ||
      !thread.names.has(rec.comm) ||
      eventId === undefined ||
      commId === undefined
    ) {
      return this.addSlow(rec);
    }
    return this.flushIfFull(this.append(rec, thread.id, eventId, commId));
  }

  private async addSlow(rec: PerfRecord): Promise<void> {
    const threadId = await this.threadId(rec.pid, rec.tid, rec.comm);
    const eventId = await this.stringId(rec.trace === null ? 'event' : 'tracepoint', rec.event);
    const commId = await this.stringId('comm', rec.comm);
    await this.flushIfFull(this.append(rec, threadId, eventId, commId));
  }

  private append(
    rec: PerfRecord,
    threadId: string,
    eventId: number,
    commId: number,
  ): Promise<void> | undefined {
    const stackId = this.interner.intern(rec.frames);
    const pending = this.must(this.rows).push(
      `${this.captureId}\t${threadId}\t${rec.timeNs ?? '\\N'}\t${this.fileOrdinal}\t${stackId ?? '\\N'}\t` +
        `${rec.period !== null && rec.period > 0n ? rec.period : 1n}\t${rec.cpu ?? '\\N'}\t${eventId}\t${commId}\n`,
    );
    this.stats.samples++;
    return pending;
  }

  private flushIfFull(copying: Promise<void> | undefined): Promise<void> | undefined {
    if (this.interner.pendingCount < FLUSH_INTERNED) return copying;
    return (async () => {
      await copying;
      await this.flushInterned();
    })();
  }

  async commit(): Promise<PerfWriteStats> {
    // Frames and stacks first: once the samples commit, every stack they name exists.
    await this.flushInterned();
    await this.must(this.rows).commit();
    this.release();
    return this.stats;
  }

  async rollback(): Promise<void> {
    try {
      await this.rows?.rollback();
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
    if (v === undefined) throw new Error('PerfSampleWriter used before begin() or after commit()');
    return v;
  }
}
