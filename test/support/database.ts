import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { THREAD_STATES, type Segment } from '@threadreel/model';
import { allLodBuckets, allSegments } from '@threadreel/store';
import { TEST_DATABASE_URL } from './env.js';

export interface TestDatabase {
  url: string;
  name: string;
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  drop(): Promise<void>;
}

/** A fresh database on the test server, so each suite starts from an empty schema. */
export async function createTestDatabase(label: string): Promise<TestDatabase> {
  const name = `threadreel_${label}_${randomBytes(4).toString('hex')}`.toLowerCase();
  const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const u = new URL(TEST_DATABASE_URL);
  u.pathname = `/${name}`;
  const url = u.toString();
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  // DROP DATABASE … WITH (FORCE) at teardown ends clients still closing: expected, not a failure.
  pool.on('error', () => undefined);
  return {
    url,
    name,
    async query<T>(sql: string, params: unknown[] = []) {
      return (await pool.query(sql, params)).rows as T[];
    },
    async drop() {
      await pool.end();
      const a = new pg.Client({ connectionString: TEST_DATABASE_URL });
      await a.connect();
      await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await a.end();
    },
  };
}

export interface CaptureCounts {
  samples: number;
  frames: number;
  stacks: number;
  threads: number;
  strings: number;
  files: number;
}

/** Row counts of one capture across its tables, to compare runs. */
export async function captureCounts(db: TestDatabase, captureId: string): Promise<CaptureCounts> {
  const rows = await db.query<CaptureCounts>(
    `SELECT (SELECT count(*) FROM samples WHERE capture_id = $1)::int AS samples,
            (SELECT count(*) FROM frames WHERE capture_id = $1)::int AS frames,
            (SELECT count(*) FROM stacks WHERE capture_id = $1)::int AS stacks,
            (SELECT count(*) FROM threads WHERE capture_id = $1)::int AS threads,
            (SELECT count(*) FROM capture_strings WHERE capture_id = $1)::int AS strings,
            (SELECT count(*) FROM source_files WHERE capture_id = $1)::int AS files`,
    [captureId],
  );
  const r = rows[0];
  if (!r) throw new Error('count query returned no row');
  return r;
}

/**
 * A capture's segments as rows of table `segment_rows` (made on first use), decoded from the
 * store's chunks (libs/store segment-chunks.ts), so tests can check them with SQL aggregates.
 * Replaces the capture's earlier rows there; call it again after a re-correlation.
 */
export async function segmentRows(db: TestDatabase, captureId: string): Promise<string> {
  const query = <T>(sql: string, params: unknown[]) => db.query<T>(sql, params);
  const segs = await allSegments(query, captureId);
  await db.query(`
    CREATE TABLE IF NOT EXISTS segment_rows (
      capture_id uuid NOT NULL, thread_id bigint NOT NULL, start_ns bigint NOT NULL, end_ns bigint NOT NULL,
      state text NOT NULL, source text NOT NULL, syscall text, target text, lock_id text, blocked_stack_id bigint,
      waker_thread_id bigint, waker_stack_id bigint, prev_state text, reason text)`);
  await db.query(`DELETE FROM segment_rows WHERE capture_id = $1`, [captureId]);
  for (let i = 0; i < segs.length; i += 5000) {
    const b = segs.slice(i, i + 5000);
    const col = <K extends keyof Segment>(k: K) => b.map((s) => (s[k] === undefined ? null : String(s[k])));
    await db.query(
      `INSERT INTO segment_rows
       SELECT $1, * FROM unnest($2::bigint[], $3::bigint[], $4::bigint[], $5::text[], $6::text[], $7::text[], $8::text[],
                               $9::text[], $10::bigint[], $11::bigint[], $12::bigint[], $13::text[], $14::text[])`,
      [
        captureId,
        col('threadId'),
        col('startNs'),
        col('endNs'),
        col('state'),
        col('source'),
        col('syscall'),
        col('target'),
        col('lockId'),
        col('blockedStackId'),
        col('wakerThreadId'),
        col('wakerStackId'),
        col('prevState'),
        col('reason'),
      ],
    );
  }
  return 'segment_rows';
}

/**
 * A capture's level-of-detail buckets as rows of table `segment_lod_rows` (made on first use;
 * the columns of the pyramid's former row layout), decoded from the store's chunks
 * (libs/store lod-chunks.ts). Replaces the capture's earlier rows there.
 */
export async function lodRows(db: TestDatabase, captureId: string): Promise<string> {
  const query = <T>(sql: string, params: unknown[]) => db.query<T>(sql, params);
  const buckets = await allLodBuckets(query, captureId);
  const totals = THREAD_STATES.map((st) => `${st}_ns bigint`).join(', ');
  await db.query(`
    CREATE TABLE IF NOT EXISTS segment_lod_rows (
      capture_id uuid NOT NULL, thread_id bigint NOT NULL, level smallint NOT NULL, bucket_ns bigint NOT NULL,
      min_start_ns bigint NOT NULL, max_end_ns bigint NOT NULL, segment_count integer NOT NULL, state text NOT NULL,
      ${totals}, lock_waker_min bigint, lock_waker_max bigint, other_waker_min bigint, other_waker_max bigint)`);
  await db.query(`DELETE FROM segment_lod_rows WHERE capture_id = $1`, [captureId]);
  const str = (v: bigint | number | string | null) => (v === null ? null : String(v));
  for (let i = 0; i < buckets.length; i += 5000) {
    const b = buckets.slice(i, i + 5000);
    const cols: (string | null)[][] = [
      b.map((x) => x.threadId),
      b.map((x) => str(x.level)),
      b.map((x) => str(x.bucketNs)),
      b.map((x) => str(x.minStartNs)),
      b.map((x) => str(x.maxEndNs)),
      b.map((x) => str(x.count)),
      b.map((x) => x.dominant),
      ...THREAD_STATES.map((_st, k) => b.map((x) => str(x.totals[k] ?? null))),
      b.map((x) => str(x.lockWakerMin)),
      b.map((x) => str(x.lockWakerMax)),
      b.map((x) => str(x.otherWakerMin)),
      b.map((x) => str(x.otherWakerMax)),
    ];
    const types = [
      'bigint',
      'smallint',
      'bigint',
      'bigint',
      'bigint',
      'int',
      'text',
      ...THREAD_STATES.map(() => 'bigint'),
    ].concat(['bigint', 'bigint', 'bigint', 'bigint']);
    await db.query(
      `INSERT INTO segment_lod_rows SELECT $1, * FROM unnest(${types.map((t, k) => `$${k + 2}::${t}[]`).join(', ')})`,
      [captureId, ...cols],
    );
  }
  return 'segment_lod_rows';
}
