import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDataSource, runPendingMigrations } from '@threadreel/store';
import { createTestDatabase, type TestDatabase } from './support/database.js';

const TABLES = [
  'captures',
  'source_file_ranges',
  'source_files',
  'threads',
  'processes',
  'capture_strings',
  'frames',
  'stacks',
  'samples',
  'syscalls',
  'log_records',
  'spans',
  'gc_events',
  'sched_events',
  'runtime_events',
  'thread_sightings',
  'segment_chunks',
  'lod_chunks',
  'lane_tiles',
  'wakeups',
  'span_bindings',
  'requests',
];

describe('migrations', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('migrations');
  });
  afterAll(async () => {
    await db.drop();
  });

  const tables = async () =>
    (
      await db.query<{ tablename: string }>(
        `SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'typeorm_migrations'`,
      )
    )
      .map((r) => r.tablename)
      .sort();

  it('apply every migration, revert them all, and apply them again', async () => {
    const ds = createDataSource(db.url);
    await ds.initialize();
    try {
      const applied = await runPendingMigrations(ds);
      expect(applied.length).toBeGreaterThan(0);
      expect(await tables()).toEqual([...TABLES].sort());
      const partitioned = await db.query<{ relname: string }>(
        `SELECT c.relname FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid ORDER BY 1`,
      );
      expect(partitioned.map((r) => r.relname)).toEqual([
        'frames',
        'gc_events',
        'lane_tiles',
        'lod_chunks',
        'log_records',
        'runtime_events',
        'samples',
        'sched_events',
        'segment_chunks',
        'span_bindings',
        'spans',
        'stacks',
        'syscalls',
        'thread_sightings',
        'wakeups',
      ]);
      expect(await runPendingMigrations(ds)).toEqual([]);

      for (let i = 0; i < applied.length; i++) await ds.undoLastMigration({ transaction: 'each' });
      expect(await tables()).toEqual([]);

      expect(await runPendingMigrations(ds)).toEqual(applied);
      expect(await tables()).toEqual([...TABLES].sort());
    } finally {
      await ds.destroy();
    }
  });
});
