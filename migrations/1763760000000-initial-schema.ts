import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Captures, their source files and threads (metadata, ordinary tables), and the
 * high-volume event tables (frames, stacks, samples) partitioned by capture: each
 * capture gets its own partitions, so deleting a capture drops tables instead of
 * scanning rows. Every event table carries capture_id first.
 */
export class InitialSchema1763760000000 implements MigrationInterface {
  name = 'InitialSchema1763760000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE captures (
        id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        name        text NOT NULL,
        content_key char(64) NOT NULL UNIQUE,
        state       text NOT NULL DEFAULT 'queued'
                    CHECK (state IN ('queued', 'parsing', 'correlating', 'ready', 'failed')),
        manifest    jsonb,
        error       text,
        created_at  timestamptz NOT NULL DEFAULT now(),
        updated_at  timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX captures_created_at ON captures (created_at DESC)`);
    await q.query(`
      CREATE TABLE source_files (
        id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        capture_id     uuid NOT NULL REFERENCES captures (id) ON DELETE CASCADE,
        ordinal        smallint NOT NULL,
        name           text NOT NULL,
        sha256         char(64) NOT NULL,
        size_bytes     bigint NOT NULL,
        format         text,
        state          text NOT NULL DEFAULT 'queued'
                       CHECK (state IN ('queued', 'parsing', 'parsed', 'stored', 'failed')),
        lines          bigint NOT NULL DEFAULT 0,
        events         bigint NOT NULL DEFAULT 0,
        rejected_count bigint NOT NULL DEFAULT 0,
        rejected       jsonb NOT NULL DEFAULT '[]',
        headers        jsonb NOT NULL DEFAULT '{}',
        first_event    text,
        first_sample_event text,
        parse_ms       integer,
        attempts       integer NOT NULL DEFAULT 0,
        parsed_by      text,
        note           text,
        error          text,
        UNIQUE (capture_id, sha256),
        UNIQUE (capture_id, ordinal)
      )`);
    await q.query(`CREATE INDEX source_files_sha256 ON source_files (sha256)`);
    await q.query(`
      CREATE TABLE threads (
        id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        capture_id   uuid NOT NULL REFERENCES captures (id) ON DELETE CASCADE,
        pid          integer,
        tid          integer NOT NULL,
        names        text[] NOT NULL DEFAULT '{}',
        sample_count bigint NOT NULL DEFAULT 0,
        first_ns     bigint,
        last_ns      bigint
      )`);
    await q.query(`CREATE UNIQUE INDEX threads_identity ON threads (capture_id, coalesce(pid, -1), tid)`);
    await q.query(`
      CREATE TABLE processes (
        capture_id uuid NOT NULL REFERENCES captures (id) ON DELETE CASCADE,
        pid        integer NOT NULL,
        names      text[] NOT NULL DEFAULT '{}',
        PRIMARY KEY (capture_id, pid)
      )`);
    // Interned strings of a capture: thread names (comm) and event names.
    await q.query(`
      CREATE TABLE capture_strings (
        id         integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        capture_id uuid NOT NULL REFERENCES captures (id) ON DELETE CASCADE,
        kind       text NOT NULL CHECK (kind IN ('comm', 'event', 'tracepoint')),
        value      text NOT NULL,
        UNIQUE (capture_id, kind, value)
      )`);
    // Frames and stacks are interned per capture with content-derived ids (a hash of
    // (symbol, dso) and of (parent, frame)), so parallel parse jobs agree on ids with
    // no round trips and re-running a job inserts nothing new.
    await q.query(`
      CREATE TABLE frames (
        capture_id uuid NOT NULL,
        id         bigint NOT NULL,
        symbol     text NOT NULL,
        dso        text NOT NULL,
        PRIMARY KEY (capture_id, id)
      ) PARTITION BY LIST (capture_id)`);
    await q.query(`
      CREATE TABLE stacks (
        capture_id uuid NOT NULL,
        id         bigint NOT NULL,
        parent_id  bigint,
        frame_id   bigint NOT NULL,
        depth      integer NOT NULL,
        PRIMARY KEY (capture_id, id)
      ) PARTITION BY LIST (capture_id)`);
    await q.query(`
      CREATE TABLE samples (
        capture_id   uuid NOT NULL,
        thread_id    bigint NOT NULL,
        time_ns      bigint,
        file_ordinal smallint NOT NULL,
        stack_id     bigint,
        weight       bigint NOT NULL,
        cpu          smallint,
        event_id     integer NOT NULL,
        comm_id      integer NOT NULL
      ) PARTITION BY LIST (capture_id)`);
    await q.query(`CREATE INDEX samples_thread_time ON samples (capture_id, thread_id, time_ns)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS samples`);
    await q.query(`DROP TABLE IF EXISTS stacks`);
    await q.query(`DROP TABLE IF EXISTS frames`);
    await q.query(`DROP TABLE IF EXISTS capture_strings`);
    await q.query(`DROP TABLE IF EXISTS processes`);
    await q.query(`DROP TABLE IF EXISTS threads`);
    await q.query(`DROP TABLE IF EXISTS source_files`);
    await q.query(`DROP TABLE IF EXISTS captures`);
  }
}
