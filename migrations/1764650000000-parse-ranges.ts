import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A large source file is parsed as byte ranges by parallel jobs. Each range commits its rows
 * and its row here in one transaction, so a retried range job finds its range done (and a
 * failed one left nothing); the file's report is the sum of its ranges once all are in.
 * `generation` is the file's parse attempt that planned the ranges: ranges of an older
 * attempt never commit after a newer one started over.
 */
export class ParseRanges1764650000000 implements MigrationInterface {
  name = 'ParseRanges1764650000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE source_file_ranges (
        file_id        uuid NOT NULL REFERENCES source_files (id) ON DELETE CASCADE,
        generation     integer NOT NULL,
        range_index    integer NOT NULL,
        range_count    integer NOT NULL,
        start_byte     bigint NOT NULL,
        end_byte       bigint NOT NULL,
        first_line     bigint NOT NULL,
        lines          bigint NOT NULL,
        events         bigint NOT NULL,
        rejected_count bigint NOT NULL,
        rejected       jsonb NOT NULL,
        headers        jsonb NOT NULL,
        extra          jsonb NOT NULL,
        parse_ms       integer NOT NULL,
        PRIMARY KEY (file_id, generation, range_index)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS source_file_ranges`);
  }
}
