import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Scheduler tracepoints as their own rows (perf `sched_switch` / `sched_wakeup` with the
 * fields the correlator needs: prev_state, the other thread, the stack), runtime intervals
 * (JFR park, monitor enter/wait, socket and file I/O), thread sightings (`/proc` comm
 * snapshots, jstack entries, JFR thread start/end), and, per source file, the format the
 * content was detected as, with its confidence, and the clock of its timestamps.
 */
export class RuntimeEvents1763900000000 implements MigrationInterface {
  name = 'RuntimeEvents1763900000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE sched_events (
        capture_id   uuid NOT NULL,
        file_ordinal smallint NOT NULL,
        line         integer NOT NULL,
        kind         text NOT NULL CHECK (kind IN ('switch', 'wakeup', 'waking', 'wakeup_new')),
        time_ns      bigint,
        cpu          smallint,
        pid          integer,
        tid          integer NOT NULL,
        prio         smallint,
        prev_state   text,
        other_tid    integer NOT NULL,
        other_comm   text NOT NULL,
        other_prio   smallint,
        target_cpu   smallint,
        stack_id     bigint
      ) PARTITION BY LIST (capture_id)`);
    await q.query(`COMMENT ON TABLE sched_events IS
      'switch: tid = prev (going off-CPU, stack = where it blocked), other = next. wakeup/waking: tid = waker (stack = waker code), other = wakee'`);
    await q.query(`CREATE INDEX sched_events_tid_time ON sched_events (capture_id, tid, time_ns)`);
    await q.query(`CREATE INDEX sched_events_other_time ON sched_events (capture_id, other_tid, time_ns)`);
    await q.query(`
      CREATE TABLE runtime_events (
        capture_id        uuid NOT NULL,
        file_ordinal      smallint NOT NULL,
        line              integer NOT NULL,
        source            text NOT NULL,
        type              text NOT NULL,
        event             text NOT NULL,
        tid               integer,
        runtime_tid       text,
        thread_name       text,
        clock             text NOT NULL,
        start_ns          bigint NOT NULL,
        duration_ns       bigint NOT NULL,
        object_class      text,
        address           text,
        owner_tid         integer,
        owner_runtime_tid text,
        owner_name        text,
        peer              text,
        path              text,
        bytes             bigint,
        timeout_ns        bigint,
        stack_id          bigint
      ) PARTITION BY LIST (capture_id)`);
    await q.query(`CREATE INDEX runtime_events_tid_time ON runtime_events (capture_id, tid, start_ns)`);
    await q.query(`
      CREATE TABLE thread_sightings (
        capture_id   uuid NOT NULL,
        file_ordinal smallint NOT NULL,
        line         integer NOT NULL,
        source       text NOT NULL,
        event        text NOT NULL,
        clock        text NOT NULL,
        time_ns      bigint,
        realtime_ns  bigint,
        snapshot     integer,
        pid          integer,
        tid          integer,
        runtime_tid  text,
        name         text,
        state        text,
        daemon       boolean,
        top_frames   text[],
        locks        text[]
      ) PARTITION BY LIST (capture_id)`);
    await q.query(`CREATE INDEX thread_sightings_tid ON thread_sightings (capture_id, tid)`);
    await q.query(`ALTER TABLE gc_events ADD COLUMN gc_id integer, ADD COLUMN cause text`);
    await q.query(`
      ALTER TABLE source_files
        ADD COLUMN detected_format   text,
        ADD COLUMN detect_confidence real,
        ADD COLUMN detect_reason     text,
        ADD COLUMN clock             text`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE source_files
        DROP COLUMN clock, DROP COLUMN detect_reason, DROP COLUMN detect_confidence, DROP COLUMN detected_format`);
    await q.query(`ALTER TABLE gc_events DROP COLUMN cause, DROP COLUMN gc_id`);
    for (const t of ['thread_sightings', 'runtime_events', 'sched_events'])
      await q.query(`DROP TABLE IF EXISTS ${t}`);
  }
}
