import { existsSync } from 'node:fs';
import pg from 'pg';
import { Redis } from 'ioredis';
import { TEST_DATABASE_URL, TEST_REDIS_URL, API_MAIN } from './support/env.js';

/**
 * The end-to-end suites run the built API and worker (npm test builds first) against
 * the real PostgreSQL and Redis named by DATABASE_URL and REDIS_URL (defaults: the
 * local services). Unreachable services fail the run loudly instead of skipping.
 */
export default async function setup(): Promise<void> {
  if (!existsSync(API_MAIN))
    throw new Error(`${API_MAIN} is missing: run "npm run build" (npm test does it)`);
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
  } catch (e) {
    throw new Error(
      `PostgreSQL at ${TEST_DATABASE_URL} is not reachable (${(e as Error).message}); set DATABASE_URL`,
    );
  } finally {
    await client.end().catch(() => undefined);
  }
  const redis = new Redis(TEST_REDIS_URL, {
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    connectTimeout: 5000,
  });
  try {
    await redis.connect();
    await redis.ping();
  } catch (e) {
    throw new Error(`Redis at ${TEST_REDIS_URL} is not reachable (${(e as Error).message}); set REDIS_URL`);
  } finally {
    redis.disconnect();
  }
}
