import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The duration classes of the row layout's index (see 1764300000000-segment-lod.ts), for `down`. */
const CLASS_BOUNDS = Array.from({ length: 17 }, (_, k) => (1000n << BigInt(2 * k)).toString()).join(',');

/** A partition of `table` for every existing capture (new ones get theirs when created). */
async function partitionEveryCapture(q: QueryRunner, table: string): Promise<void> {
  await q.query(`
    DO $$
    DECLARE c record;
    BEGIN
      FOR c IN SELECT id FROM captures LOOP
        EXECUTE format('CREATE TABLE IF NOT EXISTS %I PARTITION OF ${table} FOR VALUES IN (%L)',
                       '${table}_' || replace(c.id::text, '-', ''), c.id);
      END LOOP;
    END $$`);
}

/** lz4 decompresses several times faster than pglz; a server built without it keeps pglz. */
async function compressLz4(q: QueryRunner, table: string): Promise<void> {
  await q.query(`
    DO $$
    BEGIN
      ALTER TABLE ${table} ALTER COLUMN payload SET COMPRESSION lz4;
    EXCEPTION WHEN OTHERS THEN NULL;
    END $$`);
}

/**
 * Segments and their level-of-detail pyramid are stored as chunks (libs/store segment-chunks.ts): up to 512 consecutive segments
 * of one thread per row, column-encoded in `payload` (TOAST-compressed on top, with lz4 where
 * the server has it), keyed by the first segment's start; the row keeps the latest end and the
 * longest segment so a reader picks chunks by time and duration. It replaces one row per
 * segment (≈ 330 bytes each with its two indexes; a chunk holds a segment in a few bytes), and
 * `lod_chunks` replaces one row per pyramid bucket (≈ 250 bytes per input event) the same way.
 *
 * Existing segments are not converted here (encoding is the store's, in TypeScript): captures
 * that had them go back to `correlating`, which the service re-queues at start, and their
 * correlation rebuilds the chunks from the stored events.
 */
export class ChunkedSegments1764700000000 implements MigrationInterface {
  name = 'ChunkedSegments1764700000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE segment_chunks (
        capture_id      uuid NOT NULL,
        thread_id       bigint NOT NULL,
        start_ns        bigint NOT NULL,
        end_ns          bigint NOT NULL,
        max_duration_ns bigint NOT NULL,
        segment_count   integer NOT NULL,
        payload         bytea NOT NULL,
        PRIMARY KEY (capture_id, thread_id, start_ns)
      ) PARTITION BY LIST (capture_id)`);
    await compressLz4(q, 'segment_chunks');
    await q.query(`
      UPDATE captures c SET state = 'correlating'
      WHERE c.state IN ('ready', 'degraded') AND EXISTS (SELECT 1 FROM segments s WHERE s.capture_id = c.id)`);
    await partitionEveryCapture(q, 'segment_chunks');
    await q.query(`DROP TABLE segments`);
    // The pyramid likewise: runs of up to 256 buckets of one thread and level per row.
    await q.query(`
      CREATE TABLE lod_chunks (
        capture_id     uuid NOT NULL,
        thread_id      bigint NOT NULL,
        level          smallint NOT NULL,
        bucket_ns      bigint NOT NULL,
        last_bucket_ns bigint NOT NULL,
        bucket_count   integer NOT NULL,
        payload        bytea NOT NULL,
        PRIMARY KEY (capture_id, thread_id, level, bucket_ns)
      ) PARTITION BY LIST (capture_id)`);
    await compressLz4(q, 'lod_chunks');
    await partitionEveryCapture(q, 'lod_chunks');
    await q.query(`DROP TABLE segment_lod`);
  }

  async down(q: QueryRunner): Promise<void> {
    // The row layouts come back empty: captures re-correlate to fill them.
    await q.query(`
      CREATE TABLE segment_lod (
        capture_id        uuid NOT NULL,
        thread_id         bigint NOT NULL,
        level             smallint NOT NULL,
        bucket_ns         bigint NOT NULL,
        min_start_ns      bigint NOT NULL,
        max_end_ns        bigint NOT NULL,
        segment_count     integer NOT NULL,
        state             text NOT NULL,
        cpu_ns            bigint,
        runqueue_ns       bigint,
        lock_ns           bigint,
        gc_ns             bigint,
        net_ns            bigint,
        file_ns           bigint,
        sleep_ns          bigint,
        idle_ns           bigint,
        other_ns          bigint,
        unknown_ns        bigint,
        lock_waker_min    bigint,
        lock_waker_max    bigint,
        other_waker_min   bigint,
        other_waker_max   bigint
      ) PARTITION BY LIST (capture_id)`);
    await q.query(`CREATE INDEX segment_lod_bucket ON segment_lod (capture_id, thread_id, level, bucket_ns)`);
    await q.query(`DROP TABLE lod_chunks`);
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
      CREATE INDEX segments_duration_class ON segments
        (capture_id, thread_id, (width_bucket(end_ns - start_ns, '{${CLASS_BOUNDS}}'::bigint[])), start_ns)`);
    await q.query(`
      UPDATE captures c SET state = 'correlating'
      WHERE c.state IN ('ready', 'degraded') AND EXISTS (SELECT 1 FROM segment_chunks s WHERE s.capture_id = c.id)`);
    await partitionEveryCapture(q, 'segments');
    await partitionEveryCapture(q, 'segment_lod');
    await q.query(`DROP TABLE segment_chunks`);
  }
}
