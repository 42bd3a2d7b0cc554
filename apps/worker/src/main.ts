import 'reflect-metadata';
import { onShutdown, startJobRuntime } from '@threadreel/jobs';
import { loadServerConfigOrExit, openDatabase } from '@threadreel/store';

/**
 * A worker process: runs the parse and correlate processors against the configured
 * database and queue (Redis, or BullMQ's PostgreSQL backend). Start any number of them
 * on any number of machines.
 */
async function main(): Promise<void> {
  const say = (m: string) => console.log(`${new Date().toISOString()} [worker ${process.pid}] ${m}`);
  const config = loadServerConfigOrExit();
  const db = await openDatabase(config, { log: say, migrate: true, applicationName: 'threadreel-worker' });
  const jobs = await startJobRuntime(config, db, { runProcessors: true, log: say });
  onShutdown(async (signal) => {
    say(`shutting down (${signal}): finishing active jobs`);
    await jobs.close();
    await db.close();
  }, say);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? (e.stack ?? e.message) : e);
  process.exit(1);
});
