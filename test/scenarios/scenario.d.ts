/**
 * The contract between `npm run scenario` (scripts/scenario.mjs) and a scenario module
 * `test/scenarios/<name>/scenario.mjs`, whose default export is a Scenario.
 */

export type PlantedCause = 'cpu' | 'lock' | 'gc' | 'net' | 'file' | 'pool-queue' | 'none';

/** The components a scenario service measures for each request (all but `none`). */
export type MeasuredCause = Exclude<PlantedCause, 'none'>;

/**
 * One line of `${workDir}/measured.jsonl`: what the service itself measured for one finished request,
 * appended when it finishes (possibly batched, flushed on graceful stop). Times are decimal strings: epoch ns
 * for the instants, ns for the components. Every component is timed by the service around the real
 * operation, never assumed from the route:
 *
 * - `pool-queue`: from arrival to the handler's start, the time every worker of the pool was busy (Node: the
 *   event loop was held by other requests' synchronous work; plus a libuv job's wait in the pool's queue);
 * - `lock`: blocked acquiring the planted lock;
 * - `net`: the upstream call; `file`: the writes and fsyncs;
 * - `gc`: collection pauses that stopped this request: on its own thread while it ran, and (Python: holding
 *   the GIL; Node: holding the event loop) while it waited for a worker or the loop, not while it was blocked
 *   in lock, net or file;
 * - `cpu`: the handling thread's CPU time (Python `time.thread_time_ns`; Node the main thread's and, for a
 *   libuv job, the pool worker's schedstat run time; Java the worker thread's CPU time) minus its own
 *   collections.
 *
 * What is measured by none of them (run-queue waits, GIL hand-overs, the response write) is left out: the
 * components need not sum to the duration.
 */
export interface MeasuredRequest {
  /** The incoming traceparent's trace id (32 hex) and the SERVER span's id (16 hex). */
  traceId: string;
  spanId: string;
  /** Path without the query, e.g. `/lock`. */
  route: string;
  /** Linux tid and name of the thread that ran the handler (Node: the main thread, `main`). */
  tid: number;
  thread: string;
  /**
   * When the request arrived: Python and Java, when the connection was accepted; Node, the load
   * generator's `x-scenario-sent-ns` stamp (on loopback the kernel completes the connection then, while
   * the event loop may be busy), else when the loop read the request.
   */
  arrivalNs: string;
  /** The load generator's send stamp when it sent `x-scenario-sent-ns` (Python). */
  sentNs?: string;
  handlerStartNs: string;
  handlerEndNs: string;
  components: Record<MeasuredCause, string>;
}

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
  /**
   * Recorded with plain tools (`scenario.mjs --plain`): the service writes its files as a user's service
   * would for such a capture (Java: GC log decorations without wall time), and the truth of its GC clock
   * to {@link RunningService.gcClockTruth}.
   */
  plain?: boolean;
  log(msg: string): void;
}

export interface RunningService {
  /** The process to record (all its threads). */
  pid: number;
  baseUrl: string;
  /** Files `threadreel record` copies into the bundle. */
  files: { logs: string[]; spans: string[]; gcLog?: string };
  /**
   * A file NOT to upload that places the GC log's clock (what `scenario.mjs --plain` writes to clocks.json):
   * Node, `gc-clock.json` written by the service (the --trace-gc clock measured at start); Java with
   * `ctx.plain`, `gc-clock.log`, a second unified-logging output of the JVM with the `timenanos` and
   * `uptimenanos` decorators.
   */
  gcClockTruth?: string;
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
  /**
   * The causes this step can really meet, among which the measured components pick the request's `cause`
   * (a lock companion: `['lock', 'cpu']`; a pool-queue victim: `['pool-queue', 'cpu']`). Default:
   * the planted cause and `cpu`; none for a `none` step.
   */
  candidates?: MeasuredCause[];
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

/** One request of `ground-truth.json`. */
export interface GroundTruthRequest {
  traceId: string;
  route: string;
  /** The design intent of the step that sent it. */
  plantedCause: PlantedCause;
  clientStartNs: string;
  clientEndNs: string;
  status: number;
  /**
   * The measured cause: the largest measured component among the step's candidates; `none` when the
   * step planted none or that component is under {@link GroundTruth.noneBelowMs}. Absent when the service
   * measured nothing for this request.
   */
  cause?: PlantedCause;
  /** Every candidate whose measured component is at least 80 % of the largest (empty for `none`). */
  acceptable?: MeasuredCause[];
  candidates?: MeasuredCause[];
  /** The service's measurement in ms (MeasuredRequest.components). */
  components?: Record<MeasuredCause, number>;
  /** The thread that ran the handler, as measured. */
  tid?: number;
  thread?: string;
}

/** `ground-truth.json` written by the orchestrator. */
export interface GroundTruth {
  scenario: string;
  pid: number;
  /** How `cause` and `acceptable` were derived from the service's measured.jsonl. */
  causeRule?: string;
  noneBelowMs?: number;
  requests: GroundTruthRequest[];
}
