import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What the correlate job derives: per-thread segments and wakeup edges (partitioned like
 * the events they come from), span bindings, and one row per request with its cause
 * breakdown and evidence (so listing requests is cheap). Source files record the clock
 * offset applied to them and how it was found; threads their runtime ids, pool and the
 * mappings that joined them. Syscalls keep the futex address (ties waits to wakes) and the
 * time of day of `-t/-tt` traces (no date: the correlator adds the capture's).
 */
export class Correlation1764000000000 implements MigrationInterface {
  name = 'Correlation1764000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE syscalls ADD COLUMN futex_addr text, ADD COLUMN time_of_day_ns bigint`);
    await q.query(`
      ALTER TABLE source_files
        ADD COLUMN clock_offset_ns bigint,
        ADD COLUMN clock_method    text,
        ADD COLUMN clock_evidence  jsonb`);
    await q.query(`
      ALTER TABLE threads
        ADD COLUMN runtime_ids     jsonb NOT NULL DEFAULT '{}',
        ADD COLUMN pool            text,
        ADD COLUMN mappings        jsonb NOT NULL DEFAULT '[]',
        ADD COLUMN segment_quality text`);
    await q.query(`
      CREATE TABLE segments (
        capture_id       uuid NOT NULL,
        thread_id        bigint NOT NULL,
        start_ns         bigint NOT NULL,
        end_ns           bigint NOT NULL,
        state            text NOT NULL,
        source           text NOT NULL,
        syscall          text,
        target           text,
        lock_id          text,
        blocked_stack_id bigint,
        waker_thread_id  bigint,
        waker_stack_id   bigint,
        prev_state       text,
        reason           text
      ) PARTITION BY LIST (capture_id)`);
    await q.query(`CREATE INDEX segments_thread_time ON segments (capture_id, thread_id, start_ns)`);
    await q.query(`
      CREATE TABLE wakeups (
        capture_id      uuid NOT NULL,
        time_ns         bigint NOT NULL,
        waker_thread_id bigint,
        wakee_thread_id bigint NOT NULL,
        waker_stack_id  bigint,
        source          text NOT NULL,
        lock_id         text
      ) PARTITION BY LIST (capture_id)`);
    await q.query(`CREATE INDEX wakeups_wakee_time ON wakeups (capture_id, wakee_thread_id, time_ns)`);
    await q.query(`CREATE INDEX wakeups_waker_time ON wakeups (capture_id, waker_thread_id, time_ns)`);
    await q.query(`
      CREATE TABLE span_bindings (
        capture_id uuid NOT NULL,
        trace_id   text NOT NULL,
        span_id    text NOT NULL,
        thread_id  bigint NOT NULL,
        start_ns   bigint NOT NULL,
        end_ns     bigint NOT NULL,
        method     text NOT NULL,
        confidence real NOT NULL
      ) PARTITION BY LIST (capture_id)`);
    await q.query(`CREATE INDEX span_bindings_trace ON span_bindings (capture_id, trace_id)`);
    await q.query(`CREATE INDEX span_bindings_thread ON span_bindings (capture_id, thread_id, start_ns)`);
    await q.query(`
      CREATE TABLE requests (
        id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        capture_id     uuid NOT NULL REFERENCES captures (id) ON DELETE CASCADE,
        trace_id       text NOT NULL,
        span_id        text NOT NULL,
        service        text,
        route          text,
        name           text NOT NULL,
        start_ns       bigint NOT NULL,
        end_ns         bigint NOT NULL,
        duration_ns    bigint NOT NULL,
        dominant_cause text NOT NULL,
        breakdown      jsonb NOT NULL,
        evidence       jsonb NOT NULL,
        sample_count   integer NOT NULL,
        sparse         boolean NOT NULL,
        thread_ids     bigint[] NOT NULL DEFAULT '{}',
        UNIQUE (capture_id, trace_id, span_id)
      )`);
    await q.query(`CREATE INDEX requests_duration ON requests (capture_id, duration_ns DESC)`);
    await q.query(`CREATE INDEX requests_trace ON requests (trace_id)`);
    await q.query(`CREATE INDEX requests_all_duration ON requests (duration_ns DESC)`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of ['requests', 'span_bindings', 'wakeups', 'segments'])
      await q.query(`DROP TABLE IF EXISTS ${t}`);
    await q.query(
      `ALTER TABLE threads DROP COLUMN segment_quality, DROP COLUMN mappings, DROP COLUMN pool, DROP COLUMN runtime_ids`,
    );
    await q.query(
      `ALTER TABLE source_files DROP COLUMN clock_evidence, DROP COLUMN clock_method, DROP COLUMN clock_offset_ns`,
    );
    await q.query(`ALTER TABLE syscalls DROP COLUMN time_of_day_ns, DROP COLUMN futex_addr`);
  }
}
