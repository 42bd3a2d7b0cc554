import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Indexes that bound each read of a request's replay to its window in one file: the window
 * is shifted into each file's own clock, so syscalls (per thread), log records and
 * stop-the-world GC pauses are read per (file, raw time) index range instead of scanning the
 * rows of the other files that fall in the same raw range.
 */
export class ReplayWindowIndexes1764200000000 implements MigrationInterface {
  name = 'ReplayWindowIndexes1764200000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE INDEX syscalls_tid_file_time ON syscalls (capture_id, tid, file_ordinal, start_ns)`,
    );
    await q.query(`CREATE INDEX log_records_file_time ON log_records (capture_id, file_ordinal, time_ns)`);
    await q.query(
      `CREATE INDEX gc_events_pause_file_time ON gc_events (capture_id, file_ordinal, start_ns) WHERE pause`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    for (const i of ['gc_events_pause_file_time', 'log_records_file_time', 'syscalls_tid_file_time'])
      await q.query(`DROP INDEX IF EXISTS ${i}`);
  }
}
