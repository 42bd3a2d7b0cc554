import { DataSource } from 'typeorm';
import { MIGRATIONS } from '@threadreel/migrations';
import { CaptureEntity } from '../entities/capture.entity.js';
import { SourceFileEntity } from '../entities/source-file.entity.js';
import { ThreadEntity } from '../entities/thread.entity.js';

export const ENTITIES = [CaptureEntity, SourceFileEntity, ThreadEntity];

/** The one DataSource definition: entities, migrations, never synchronize. */
export function createDataSource(
  url: string,
  opts: { poolSize?: number; applicationName?: string } = {},
): DataSource {
  return new DataSource({
    type: 'postgres',
    url,
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsTableName: 'typeorm_migrations',
    synchronize: false,
    migrationsRun: false,
    logging: ['error'],
    poolSize: opts.poolSize ?? 10,
    applicationName: opts.applicationName ?? 'threadreel',
  });
}

const MIGRATION_LOCK = 0x74726d67; // 'trmg'

/**
 * Applies pending migrations. An advisory lock serialises processes that start
 * together (API and workers), so each migration runs once.
 */
export async function runPendingMigrations(ds: DataSource): Promise<string[]> {
  const runner = ds.createQueryRunner();
  await runner.connect();
  try {
    await runner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    const done = await ds.runMigrations({ transaction: 'each' });
    return done.map((m) => m.name);
  } finally {
    await runner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
    await runner.release();
  }
}
