import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Event tables of the sources other than perf: syscalls (strace), log records, spans and
 * GC/safepoint events. Like samples they are partitioned by capture and carry the file
 * they came from, so a parse job replaces exactly its file's rows. Threads are kept as
 * the OS tid the source printed; the correlate job resolves them.
 */
export class SourceEvents1763800000000 implements MigrationInterface {
  name = 'SourceEvents1763800000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE syscalls (
        capture_id   uuid NOT NULL,
        file_ordinal smallint NOT NULL,
        line         integer NOT NULL,
        tid          integer,
        start_ns     bigint,
        duration_ns  bigint,
        name         text NOT NULL,
        category     text NOT NULL,
        fd_kind      text,
        fd_path      text,
        fd_peer      text,
        ret          text,
        errno        text,
        futex_op     text,
        incomplete   text
      ) PARTITION BY LIST (capture_id)`);
    await q.query(`CREATE INDEX syscalls_tid_time ON syscalls (capture_id, tid, start_ns)`);
    await q.query(`
      CREATE TABLE log_records (
        capture_id   uuid NOT NULL,
        file_ordinal smallint NOT NULL,
        line         integer NOT NULL,
        time_ns      bigint,
        zone         text NOT NULL,
        level        text,
        thread_name  text,
        tid          integer,
        trace_ids    text[] NOT NULL DEFAULT '{}',
        span_id      text,
        logger       text,
        message      text NOT NULL
      ) PARTITION BY LIST (capture_id)`);
    await q.query(`CREATE INDEX log_records_time ON log_records (capture_id, time_ns)`);
    await q.query(`
      CREATE TABLE spans (
        capture_id     uuid NOT NULL,
        file_ordinal   smallint NOT NULL,
        line           integer NOT NULL,
        trace_id       text NOT NULL,
        span_id        text NOT NULL,
        parent_span_id text,
        name           text NOT NULL,
        kind           text NOT NULL,
        service        text,
        start_ns       bigint NOT NULL,
        end_ns         bigint NOT NULL,
        status         text NOT NULL,
        attributes     jsonb NOT NULL DEFAULT '{}'
      ) PARTITION BY LIST (capture_id)`);
    await q.query(`CREATE INDEX spans_trace ON spans (capture_id, trace_id)`);
    await q.query(`
      CREATE TABLE gc_events (
        capture_id   uuid NOT NULL,
        file_ordinal smallint NOT NULL,
        line         integer NOT NULL,
        kind         text NOT NULL CHECK (kind IN ('gc', 'safepoint')),
        runtime      text,
        phase        text NOT NULL,
        pause        boolean NOT NULL,
        tid          integer,
        clock        text NOT NULL,
        start_ns     bigint,
        duration_ns  bigint
      ) PARTITION BY LIST (capture_id)`);
    await q.query(`CREATE INDEX gc_events_time ON gc_events (capture_id, start_ns)`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of ['gc_events', 'spans', 'log_records', 'syscalls'])
      await q.query(`DROP TABLE IF EXISTS ${t}`);
  }
}
