import { fileURLToPath } from 'node:url';
import path from 'node:path';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const API_MAIN = path.join(REPO_ROOT, 'dist/apps/api/src/main.js');
export const WORKER_MAIN = path.join(REPO_ROOT, 'dist/apps/worker/src/main.js');
export const CLI_MAIN = path.join(REPO_ROOT, 'bin/threadreel.js');
export const SHARED_DIR = path.resolve(REPO_ROOT, '..', 'shared');

/** Real services for the e2e suites: the machine's PostgreSQL and Redis unless told otherwise. */
export const TEST_DATABASE_URL = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';
export const TEST_REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
