import { hostname } from 'node:os';
import type { Database, ServerConfig } from '@threadreel/store';
import { CaptureStore } from '@threadreel/store';
import { createQueueDriver, type QueueDriver } from './queue-driver.js';
import { JobRegistry } from './registry.js';
import { JobDeps } from './processors/deps.js';
import { ParseFileJob } from './processors/parse-file.job.js';
import { CorrelateCaptureJob } from './processors/correlate-capture.job.js';

export function buildRegistry(deps: JobDeps): JobRegistry {
  return new JobRegistry([new ParseFileJob(deps), new CorrelateCaptureJob(deps)]);
}

export interface JobRuntime {
  readonly driver: QueueDriver;
  close(): Promise<void>;
}

/** Connects the queue and, when asked, runs the processors in this process. */
export async function startJobRuntime(
  config: ServerConfig,
  db: Database,
  opts: { runProcessors: boolean; log: (m: string) => void },
): Promise<JobRuntime> {
  const driver = createQueueDriver(config, db.url, opts.log);
  if (opts.runProcessors) {
    const registry = buildRegistry(new JobDeps(db.dataSource, config.dataDir));
    await driver.startWorkers(registry, config.workerConcurrency);
    opts.log(
      `processing jobs on ${driver.kind} as ${hostname()}:${process.pid} (concurrency ${config.workerConcurrency})`,
    );
  }
  return { driver, close: () => driver.close() };
}

/** Re-enqueues captures whose flow may have been lost (crash between commit and enqueue). */
export async function requeueUnfinished(db: Database, driver: QueueDriver): Promise<number> {
  const store = new CaptureStore(db.dataSource);
  const captures = await store.unfinished();
  for (const c of captures) {
    const files = await store.files(c.id);
    await driver.addCaptureFlow(
      c.id,
      files.map((f) => f.id),
    );
  }
  return captures.length;
}
