import 'reflect-metadata';
import {
  createDataSource,
  loadServerConfigOrExit,
  resolveDatabaseUrl,
  runPendingMigrations,
} from '@threadreel/store';

/** `npm run migrate` (up) and `npm run migrate:revert` (down one). */
async function main(): Promise<void> {
  const direction = process.argv[2];
  if (direction !== 'up' && direction !== 'down') {
    console.error('usage: migrate.js up|down');
    process.exit(2);
  }
  const config = loadServerConfigOrExit();
  const { url, embedded } = await resolveDatabaseUrl(config, (m) => console.log(m));
  const ds = createDataSource(url, { applicationName: 'threadreel-migrate' });
  await ds.initialize();
  try {
    if (direction === 'up') {
      const done = await runPendingMigrations(ds);
      console.log(done.length ? `applied: ${done.join(', ')}` : 'schema is up to date');
    } else {
      await ds.undoLastMigration({ transaction: 'each' });
      console.log('reverted the last migration');
    }
  } finally {
    await ds.destroy();
    await embedded?.stop();
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
