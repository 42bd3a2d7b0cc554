import { randomBytes } from 'node:crypto';
import pg from 'pg';
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
