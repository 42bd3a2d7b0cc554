import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadServerConfig, parseByteSize } from './server-config.js';

describe('loadServerConfig', () => {
  it('applies defaults: embedded database, PostgreSQL queue, port 8080, .threadreel/', () => {
    const c = loadServerConfig({}, '/srv/app');
    expect(c).toMatchObject({
      databaseUrl: undefined,
      redisUrl: undefined,
      port: 8080,
      dataDir: path.resolve('/srv/app', '.threadreel'),
      workerConcurrency: 2,
      uploadLimitBytes: 2 * 1024 ** 3,
    });
  });

  it('reads every variable, treating empty ones as unset', () => {
    const c = loadServerConfig(
      {
        DATABASE_URL: 'postgres://u:p@db:5432/tr',
        REDIS_URL: 'redis://cache:6379',
        PORT: '9000',
        DATA_DIR: '/var/lib/threadreel',
        WORKER_CONCURRENCY: '8',
        UPLOAD_LIMIT: '512mb',
        JOB_LOCK_MS: '',
      },
      '/',
    );
    expect(c).toMatchObject({
      databaseUrl: 'postgres://u:p@db:5432/tr',
      redisUrl: 'redis://cache:6379',
      port: 9000,
      dataDir: '/var/lib/threadreel',
      workerConcurrency: 8,
      uploadLimitBytes: 512 * 1024 ** 2,
      jobLockMs: 30_000,
    });
  });

  it('names every bad variable and what it expects', () => {
    let err: unknown;
    try {
      loadServerConfig({
        PORT: 'eighty',
        DATABASE_URL: 'mysql://x',
        WORKER_CONCURRENCY: '0',
        UPLOAD_LIMIT: '12 parsecs',
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const msg = (err as Error).message;
    expect(msg).toContain('PORT="eighty": expected a whole number from 1 to 65535');
    expect(msg).toContain('DATABASE_URL="mysql://x": expected a URL like postgres://');
    expect(msg).toContain('WORKER_CONCURRENCY="0": expected a whole number from 1 to 256');
    expect(msg).toContain('UPLOAD_LIMIT="12 parsecs": expected a size like');
  });

  it('parses byte sizes', () => {
    expect(parseByteSize('1048576')).toBe(1048576);
    expect(parseByteSize('2g')).toBe(2 * 1024 ** 3);
    expect(parseByteSize('10 KB')).toBe(10240);
    expect(parseByteSize('0')).toBeNull();
    expect(parseByteSize('-1')).toBeNull();
    expect(parseByteSize('1.5g')).toBeNull();
  });
});
