import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Indexes for the replay API: the request list sorted by start, filtered by dominant cause
 * or matched by trace-id prefix; Datadog (64-bit) ids matched on the low 16 hex of a trace
 * id; and log records found by the trace ids they carry (GIN, per capture partition).
 */
export class ReplayIndexes1764100000000 implements MigrationInterface {
  name = 'ReplayIndexes1764100000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX requests_start ON requests (capture_id, start_ns)`);
    await q.query(`CREATE INDEX requests_all_start ON requests (start_ns)`);
    await q.query(`CREATE INDEX requests_cause_duration ON requests (dominant_cause, duration_ns DESC)`);
    await q.query(`CREATE INDEX requests_trace_prefix ON requests (trace_id text_pattern_ops)`);
    await q.query(`CREATE INDEX requests_trace_low64 ON requests (right(trace_id, 16))`);
    await q.query(`CREATE INDEX log_records_trace_ids ON log_records USING gin (trace_ids)`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const i of [
      'log_records_trace_ids',
      'requests_trace_low64',
      'requests_trace_prefix',
      'requests_cause_duration',
      'requests_all_start',
      'requests_start',
    ])
      await q.query(`DROP INDEX IF EXISTS ${i}`);
  }
}
