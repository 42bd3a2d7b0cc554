import { hostname } from 'node:os';
import {
  createPostgresBackend,
  FlowProducer as RedisFlowProducer,
  Worker as RedisWorker,
  Queue as RedisQueue,
  withBackend,
  type FlowProducer,
  type Job,
  type JobsOptions,
  type Queue,
  type Worker,
} from 'bullmq';
import { Redis } from 'ioredis';
import type { ServerConfig } from '@threadreel/store';
import { QUEUE_OF, type JobName } from './job-names.js';
import type { JobRegistry, SiblingJob } from './registry.js';

/** The queue behind a small interface: the same processors on Redis or on PostgreSQL. */
export interface QueueDriver {
  readonly kind: 'redis' | 'postgres';
  /** Enqueues a capture's flow: one parse job per file, then its correlate job. Idempotent. */
  addCaptureFlow(captureId: string, fileIds: readonly string[]): Promise<void>;
  /** Runs the registry's processors in this process until `close()`. */
  startWorkers(registry: JobRegistry, concurrency: number): Promise<void>;
  close(): Promise<void>;
}

type AnyConnection = unknown;
interface Classes {
  Queue: new (name: string, opts: { connection: AnyConnection; prefix?: string }) => Queue;
  Worker: new (
    name: string,
    processor: (job: Job) => Promise<unknown>,
    opts: Record<string, unknown> & { connection: AnyConnection },
  ) => Worker;
  FlowProducer: new (opts: { connection: AnyConnection; prefix?: string }) => FlowProducer;
}

const PARSE_ATTEMPTS = 3;
const CORRELATE_ATTEMPTS = 3;

export function createQueueDriver(
  config: ServerConfig,
  databaseUrl: string,
  log: (m: string) => void,
): QueueDriver {
  return config.redisUrl
    ? new BullQueueDriver(
        'redis',
        config,
        redisClasses(),
        () => {
          const conn = new Redis(config.redisUrl ?? '', {
            maxRetriesPerRequest: null,
            lazyConnect: false,
          });
          conn.on('error', (e: Error) => log(`redis: ${e.message}`));
          return conn;
        },
        log,
      )
    : new BullQueueDriver(
        'postgres',
        config,
        withBackend(createPostgresBackend) as unknown as Classes,
        () => ({ connectionString: databaseUrl, migrate: true, max: 4 }),
        log,
      );
}

function redisClasses(): Classes {
  return { Queue: RedisQueue, Worker: RedisWorker, FlowProducer: RedisFlowProducer };
}

const COMMON: JobsOptions = {
  removeOnComplete: { age: 24 * 3600, count: 10_000 },
  removeOnFail: { age: 7 * 24 * 3600 },
  backoff: { type: 'exponential', delay: 1000 },
};
const PARSE_OPTIONS: JobsOptions = {
  ...COMMON,
  attempts: PARSE_ATTEMPTS,
  // A file that cannot be parsed must not hold the capture back: the correlate
  // job still runs and reports the file as failed.
  ignoreDependencyOnFailure: true,
};

class BullQueueDriver implements QueueDriver {
  private flow?: FlowProducer;
  private readonly queues: Partial<Record<JobName, Queue>> = {};
  private readonly workers: Worker[] = [];
  private readonly connections: Redis[] = [];

  constructor(
    readonly kind: 'redis' | 'postgres',
    private readonly config: ServerConfig,
    private readonly classes: Classes,
    private readonly makeConnection: () => AnyConnection,
    private readonly log: (m: string) => void,
  ) {}

  private queueName(job: JobName): string {
    return `${this.config.queuePrefix}-${QUEUE_OF[job]}`;
  }

  private connection(): AnyConnection {
    const c = this.makeConnection();
    if (c instanceof Redis) this.connections.push(c);
    return c;
  }

  async addCaptureFlow(captureId: string, fileIds: readonly string[]): Promise<void> {
    this.flow ??= new this.classes.FlowProducer({ connection: this.connection() });
    await this.flow.add({
      name: 'correlate-capture',
      queueName: this.queueName('correlate-capture'),
      data: { captureId },
      opts: { ...COMMON, jobId: `correlate-${captureId}`, attempts: CORRELATE_ATTEMPTS },
      children: fileIds.map((fileId) => ({
        name: 'parse-file',
        queueName: this.queueName('parse-file'),
        data: { captureId, fileId },
        opts: { ...PARSE_OPTIONS, jobId: `parse-${fileId}` },
      })),
    });
  }

  /** Adds jobs as more children of `job`'s parent (which then waits for them too). */
  private async addSiblings(job: Job, jobs: readonly SiblingJob[]): Promise<void> {
    const parent = job.parent;
    if (parent?.id === undefined) throw new Error(`job ${job.id ?? ''} has no parent to add jobs to`);
    const parentId = parent.id;
    for (const j of jobs) {
      this.queues[j.name] ??= new this.classes.Queue(this.queueName(j.name), {
        connection: this.connection(),
      });
      await this.queues[j.name]?.add(j.name, j.data, {
        ...PARSE_OPTIONS,
        jobId: j.jobId,
        parent: { id: parentId, queue: parent.queueKey },
      });
    }
  }

  async startWorkers(registry: JobRegistry, concurrency: number): Promise<void> {
    const workerId = `${hostname()}:${process.pid}`;
    for (const queue of new Set(Object.values(QUEUE_OF))) {
      const worker = new this.classes.Worker(
        `${this.config.queuePrefix}-${queue}`,
        async (job: Job) => {
          const processor = registry.get(job.name);
          return processor.process(job.data as never, {
            attemptsMade: job.attemptsMade,
            attempts: job.opts.attempts ?? 1,
            workerId,
            log: (m) => this.log(`[${job.name} ${job.id ?? ''}] ${m}`),
            addSiblings: job.parent ? (jobs) => this.addSiblings(job, jobs) : undefined,
          });
        },
        {
          connection: this.connection(),
          concurrency: queue === 'parse' ? concurrency : Math.max(1, Math.ceil(concurrency / 2)),
          // The lock is renewed by a timer, which a long synchronous stretch delays: a job whose
          // lock lapses is taken for stalled and run again (in parallel on another worker). A
          // capture's correlation is one long CPU-bound job (at 10 M events its longest stretch
          // was over a minute, and it ran three times): its lock is ten times longer.
          lockDuration: lockFor(queue, this.config.jobLockMs),
          stalledInterval: Math.max(500, Math.floor(lockFor(queue, this.config.jobLockMs) / 2)),
          maxStalledCount: 2,
        },
      );
      worker.on('error', (e: Error) => this.log(`worker ${queue}: ${e.message}`));
      worker.on('failed', (job: Job | undefined, e: Error) =>
        this.log(
          `job ${job?.name ?? '?'} ${job?.id ?? ''} failed (attempt ${job?.attemptsMade ?? '?'}): ${e.message}`,
        ),
      );
      this.workers.push(worker);
    }
    await Promise.all(this.workers.map((w) => w.waitUntilReady()));
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.workers.map((w) => w.close()));
    await Promise.allSettled(Object.values(this.queues).map((q) => q.close()));
    await this.flow?.close().catch(() => undefined);
    await Promise.allSettled(this.connections.map((c) => c.quit()));
  }
}

/** The job lock of a queue's workers (see startWorkers). */
function lockFor(queue: 'parse' | 'correlate', jobLockMs: number): number {
  return queue === 'correlate' ? jobLockMs * 10 : jobLockMs;
}
