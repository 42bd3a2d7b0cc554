import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The replay's lane tiles (see libs/model lane-tiles.ts): per thread, level and tile, the
 * lane's items packed in a few bytes each, written by the correlate step next to the pyramid
 * and partitioned per capture like the segments. A zoom step reads a few tiles per lane by
 * primary key instead of reducing segments at query time.
 */
export class LaneTiles1764400000000 implements MigrationInterface {
  name = 'LaneTiles1764400000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE lane_tiles (
        capture_id  uuid NOT NULL,
        thread_id   bigint NOT NULL,
        level       smallint NOT NULL,
        tile        bigint NOT NULL,
        items       integer NOT NULL,
        payload     bytea NOT NULL,
        PRIMARY KEY (capture_id, thread_id, level, tile)
      ) PARTITION BY LIST (capture_id)`);
    // Payloads are small and already packed: keep them inline, uncompressed.
    await q.query(`ALTER TABLE lane_tiles ALTER COLUMN payload SET STORAGE EXTERNAL`);
    // Captures correlated before this migration get their partition now (and tiles when re-correlated).
    await q.query(`
      DO $$
      DECLARE c record;
      BEGIN
        FOR c IN SELECT id FROM captures LOOP
          EXECUTE format('CREATE TABLE IF NOT EXISTS %I PARTITION OF lane_tiles FOR VALUES IN (%L)',
                         'lane_tiles_' || replace(c.id::text, '-', ''), c.id);
        END LOOP;
      END $$`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS lane_tiles`);
  }
}
