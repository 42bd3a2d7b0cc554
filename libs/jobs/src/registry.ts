import { JOB_NAMES, type JobName, type JobPayloads } from './job-names.js';

export interface JobContext {
  /** Attempts already made before this one. */
  attemptsMade: number;
  /** Total attempts allowed. */
  attempts: number;
  /** Who runs the job (host:pid), recorded in reports. */
  workerId: string;
  log(msg: string): void;
  /**
   * Enqueues more jobs that the job's flow parent (the capture's correlate job) also waits
   * for, e.g. the other byte ranges of a large file. Absent when the job has no parent.
   */
  addSiblings?: (jobs: readonly SiblingJob[]) => Promise<void>;
}

/** A job added beside the running one; its id makes adding it again a no-op. */
export interface SiblingJob<N extends JobName = JobName> {
  name: N;
  jobId: string;
  data: JobPayloads[N];
}

export interface JobProcessor<N extends JobName = JobName> {
  readonly name: N;
  process(data: JobPayloads[N], ctx: JobContext): Promise<unknown>;
}

/**
 * Job name → processor. Construction fails if a job name has no processor, two
 * processors, or a processor names a job nobody enqueues.
 */
export class JobRegistry {
  private readonly byName = new Map<JobName, JobProcessor>();

  constructor(processors: readonly JobProcessor[]) {
    const problems: string[] = [];
    for (const p of processors) {
      if (!(JOB_NAMES as readonly string[]).includes(p.name)) problems.push(`unknown job name "${p.name}"`);
      else if (this.byName.has(p.name)) problems.push(`job "${p.name}" has two processors`);
      else this.byName.set(p.name, p);
    }
    for (const name of JOB_NAMES) if (!this.byName.has(name)) problems.push(`job "${name}" has no processor`);
    if (problems.length) throw new Error(`Job registry refused to start: ${problems.join('; ')}`);
  }

  get(name: string): JobProcessor {
    const p = this.byName.get(name as JobName);
    if (!p) throw new Error(`no processor for job "${name}"`);
    return p;
  }
}
