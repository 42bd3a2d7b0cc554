import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A capture can be `degraded`: usable, with the parts that went wrong (a file that failed or
 * lost lines, a source not placed on the time axis, a thread or stage of the correlation that
 * could not be built) listed in `degraded_parts`. Before, such a capture was `ready` with an
 * error string.
 */
export class CaptureDegraded1764500000000 implements MigrationInterface {
  name = 'CaptureDegraded1764500000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE captures DROP CONSTRAINT IF EXISTS captures_state_check`);
    await q.query(`
      ALTER TABLE captures ADD CONSTRAINT captures_state_check
        CHECK (state IN ('queued', 'parsing', 'correlating', 'ready', 'degraded', 'failed'))`);
    await q.query(`ALTER TABLE captures ADD COLUMN degraded_parts jsonb NOT NULL DEFAULT '[]'`);
    // Captures that finished with an error string before are degraded: what went wrong is in `error`.
    await q.query(`
      UPDATE captures SET state = 'degraded',
        degraded_parts = jsonb_build_array(jsonb_build_object(
          'stage', CASE WHEN error LIKE '%correlation failed%' THEN 'correlation' ELSE 'parse' END,
          'file', NULL, 'source', NULL, 'thread', NULL, 'reason', error))
      WHERE state = 'ready' AND error IS NOT NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`UPDATE captures SET state = 'ready' WHERE state = 'degraded'`);
    await q.query(`ALTER TABLE captures DROP COLUMN degraded_parts`);
    await q.query(`ALTER TABLE captures DROP CONSTRAINT IF EXISTS captures_state_check`);
    await q.query(`
      ALTER TABLE captures ADD CONSTRAINT captures_state_check
        CHECK (state IN ('queued', 'parsing', 'correlating', 'ready', 'failed'))`);
  }
}
