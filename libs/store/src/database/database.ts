import type { DataSource } from 'typeorm';
import type { ServerConfig } from '../config/server-config.js';
import { createDataSource, runPendingMigrations } from './data-source.js';
import { findRunningEmbedded, startEmbeddedPostgres, type EmbeddedDatabase } from './embedded-postgres.js';

export interface Database {
  readonly url: string;
  readonly dataSource: DataSource;
  readonly embedded: boolean;
  close(): Promise<void>;
}

/**
 * `DATABASE_URL` set → that PostgreSQL. Unset → the embedded PostgreSQL of DATA_DIR,
 * started here unless another process of the same data directory already runs it.
 */
export async function resolveDatabaseUrl(
  config: ServerConfig,
  log: (msg: string) => void,
): Promise<{ url: string; embedded: EmbeddedDatabase | null }> {
  if (config.databaseUrl) return { url: config.databaseUrl, embedded: null };
  const running = await findRunningEmbedded(config.dataDir);
  if (running) return { url: running, embedded: null };
  const embedded = await startEmbeddedPostgres(config.dataDir, config.embeddedPgPort, log);
  return { url: embedded.url, embedded };
}

export async function openDatabase(
  config: ServerConfig,
  opts: { log: (msg: string) => void; migrate: boolean; applicationName: string; poolSize?: number },
): Promise<Database> {
  const { url, embedded } = await resolveDatabaseUrl(config, opts.log);
  const dataSource = createDataSource(url, {
    applicationName: opts.applicationName,
    poolSize: opts.poolSize,
  });
  try {
    await dataSource.initialize();
    if (opts.migrate) {
      const applied = await runPendingMigrations(dataSource);
      if (applied.length) opts.log(`applied migrations: ${applied.join(', ')}`);
    }
  } catch (e) {
    await dataSource.destroy().catch(() => undefined);
    await embedded?.stop();
    throw e;
  }
  return {
    url,
    dataSource,
    embedded: embedded !== null || !config.databaseUrl,
    async close() {
      await dataSource.destroy().catch(() => undefined);
      await embedded?.stop();
    },
  };
}
