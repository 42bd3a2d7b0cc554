import type { MigrationInterface, QueryRunner } from 'typeorm';

/** `width_bucket(end_ns − start_ns, …)`: how many of the sizes 1 µs·4^k (k = 0 … 16) a segment is at least as long as. */
const CLASS_BOUNDS = Array.from({ length: 17 }, (_, k) => (1000n << BigInt(2 * k)).toString()).join(',');

/**
 * The replay's level-of-detail pyramid (see libs/correlate lod.ts): per thread and level,
 * buckets of 1 µs·4^level summing the segments shorter than a bucket that start in it
 * (per-state ns, count, extreme waker ids), written by the correlate step and partitioned
 * per capture like the segments. The segments get an index by duration class, so a lane
 * reads whole only the segments at least one bucket long, per index range.
 */
export class SegmentLod1764300000000 implements MigrationInterface {
  name = 'SegmentLod1764300000000';

  async up(q: QueryRunner): Promise<void> {
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
    await q.query(
      `CREATE INDEX segments_duration_class ON segments
         (capture_id, thread_id, (width_bucket(end_ns - start_ns, '{${CLASS_BOUNDS}}'::bigint[])), start_ns)`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS segments_duration_class`);
    await q.query(`DROP TABLE IF EXISTS segment_lod`);
  }
}
