/**
 * The contract between `npm run scenario` (scripts/scenario.mjs) and a scenario module
 * `test/scenarios/<name>/scenario.mjs`, whose default export is a Scenario.
 */

export type PlantedCause = 'cpu' | 'lock' | 'gc' | 'net' | 'file' | 'pool-queue' | 'none';

export interface ScenarioContext {
  /** Scratch folder of this run: the service writes its logs, spans and GC log here. */
  workDir: string;
  /** Seconds the load lasts. */
  seconds: number;
  /** A slow local upstream run by the orchestrator: `GET {upstreamUrl}/slow?ms=150` answers after ms. */
  upstreamUrl: string;
  /** OTLP/HTTP JSON receiver run by the orchestrator (`POST {otlpUrl}/v1/traces`); bodies land in `otlpFile`. */
  otlpUrl: string;
  otlpFile: string;
  /** A free TCP port for the service. */
  port: number;
  log(msg: string): void;
}

export interface RunningService {
  /** The process to record (all its threads). */
  pid: number;
  baseUrl: string;
  /** Files `threadreel record` copies into the bundle. */
  files: { logs: string[]; spans: string[]; gcLog?: string };
  /** Record with `--jfr` (JVM). */
  jfr?: boolean;
  /** Graceful stop: flushes logs and spans, waits for exit. */
  stop(): Promise<void>;
}

export interface LoadStep {
  /** Path with query, e.g. `/lock` or `/upstream?ms=150`. */
  route: string;
  /** The cause planted in this route, written to ground-truth.json for each request. */
  cause: PlantedCause;
  count: number;
  /** Requests in flight at once for this step (a burst larger than the pool plants pool-queue). */
  concurrency: number;
  method?: 'GET' | 'POST';
  /**
   * Companion requests: `with.count` of them start ~20 ms after each main request of this
   * step, while it runs (requests that wait for the lock it holds, or for the worker or
   * event loop it occupies); the next main request waits for them. `with.concurrency` is unused.
   */
  with?: LoadStep;
}

export interface Scenario {
  name: 'java' | 'node' | 'python';
  /** Build what the service needs (javac…); idempotent. */
  prepare(ctx: ScenarioContext): Promise<void>;
  /** Starts the service; resolves once it answers on ctx.port. */
  start(ctx: ScenarioContext): Promise<RunningService>;
  /** Load steps, run one after another (each step's requests run `concurrency` at a time). */
  plan(seconds: number): LoadStep[];
}

/** `ground-truth.json` written by the orchestrator. */
export interface GroundTruth {
  scenario: string;
  pid: number;
  requests: {
    traceId: string;
    route: string;
    plantedCause: PlantedCause;
    clientStartNs: string;
    clientEndNs: string;
    status: number;
  }[];
}
