import type { Cause, ThreadState } from './states.js';

/**
 * DTOs of the replay endpoints: request list, one request's replay, thread timelines at a
 * resolution, flame graphs, logs search, trace-id lookup, comparisons and the thread map.
 * Every time and duration is integer nanoseconds as a decimal string; thread ids are the
 * `threads.id` surrogate as a string.
 */

export type RequestCauseKey = Cause | 'unknown';

export const REQUEST_SORTS = ['duration', 'start'] as const;
export type RequestSort = (typeof REQUEST_SORTS)[number];
export const SORT_ORDERS = ['desc', 'asc'] as const;
export type SortOrder = (typeof SORT_ORDERS)[number];

/** One request (server or root span) as listed: cheap, from the `requests` table only. */
export interface RequestRowDto {
  captureId: string;
  traceId: string;
  spanId: string;
  service: string | null;
  route: string | null;
  name: string;
  startNs: string;
  endNs: string;
  durationNs: string;
  dominantCause: RequestCauseKey;
  /** Wall time per cause (ns strings); sums to `durationNs`. */
  breakdown: Record<string, string>;
  /** On-CPU samples on the bound threads during the request. */
  sampleCount: number;
  /** Shorter than ~2 sampling periods: its cpu share is a guess. */
  sparse: boolean;
}

export interface RequestListDto {
  /** Rows matching the filters (before limit/offset). */
  total: number;
  rows: RequestRowDto[];
}

/** A request with its evidence per cause (times as ns strings) and its bound threads. */
export interface RequestDetailDto extends RequestRowDto {
  evidence: Record<string, unknown>;
  threadIds: string[];
}

/** Detail a segment carries when sent whole (at least one pixel wide). */
export interface SegmentDetailDto {
  source?: string;
  syscall?: string;
  target?: string;
  lockId?: string;
  blockedStackId?: string;
  wakerThreadId?: string;
  wakerStackId?: string;
  prevState?: string;
  reason?: string;
}

/** A lane item: one segment sent whole. */
export interface LaneSegmentDto extends SegmentDetailDto {
  kind: 'segment';
  startNs: string;
  endNs: string;
  state: ThreadState;
}

/** A lane item: consecutive sub-pixel segments merged; `state` is the one with most time. */
export interface LaneSummaryDto {
  kind: 'summary';
  startNs: string;
  endNs: string;
  state: ThreadState;
  /** ns per state over the merged segments. */
  summary: Partial<Record<ThreadState, string>>;
  /** How many segments were merged. */
  count: number;
}

export type LaneItemDto = LaneSegmentDto | LaneSummaryDto;

export const THREAD_ROLES = ['bound', 'offload', 'holder', 'waker', 'pool'] as const;
export type ThreadRole = (typeof THREAD_ROLES)[number];

export interface ReplayThreadDto {
  threadId: string;
  tid: number;
  pid: number | null;
  /** Best name (the longest of the names seen). */
  name: string;
  names: string[];
  pool: string | null;
  /**
   * Strongest role: bound (ran the request) > offload (a pool worker that ran work the
   * request handed off, e.g. libuv's threadpool for Node's crypto and fs) > holder (held a
   * lock it waited on, or is in the lock evidence's wait chain) > waker > pool (another
   * worker of a bound thread's pool, shown for context).
   */
  role: ThreadRole;
  roles: ThreadRole[];
  segments: LaneItemDto[];
}

export interface ReplayBindingDto {
  threadId: string;
  startNs: string;
  endNs: string;
  method: string;
  confidence: number;
}

export interface ReplaySpanDto {
  spanId: string;
  parentSpanId: string | null;
  name: string;
  kind: string;
  service: string | null;
  startNs: string;
  endNs: string;
  status: string;
  attributes: Record<string, unknown>;
  bindings: ReplayBindingDto[];
  /** On-CPU samples on the span's bound threads while bound. */
  sampleCount: number;
  /** Shorter than ~2 sampling periods: its samples say little. */
  short: boolean;
}

export interface ReplayLogDto {
  timeNs: string | null;
  level: string | null;
  threadName: string | null;
  tid: number | null;
  /** The involved thread that wrote it, when known. */
  threadId: string | null;
  traceIds: string[];
  spanId: string | null;
  logger: string | null;
  message: string;
}

export interface ReplayGcPauseDto {
  startNs: string;
  endNs: string;
  durationNs: string;
  kind: string;
  phase: string;
  gcId: number | null;
  cause: string | null;
  runtime: string | null;
}

export interface ReplaySyscallDto {
  threadId: string;
  tid: number;
  startNs: string;
  endNs: string;
  durationNs: string | null;
  name: string;
  category: string;
  target: string | null;
  ret: string | null;
  errno: string | null;
  futexAddr: string | null;
  futexOp: string | null;
}

export interface ReplayWakeupDto {
  timeNs: string;
  wakerThreadId: string | null;
  wakeeThreadId: string;
  wakerStackId: string | null;
  source: string;
  lockId: string | null;
}

export interface ReplayDto {
  captureId: string;
  request: RequestDetailDto;
  /** Request arrival … end padded by 5 %. */
  window: { fromNs: string; toNs: string };
  /** ns per pixel the lanes were reduced to. */
  resolutionNs: string;
  /**
   * What `threads[].segments` holds: `full`, the lanes at `resolutionNs`; `waits` (asked for
   * with lanes=auto, when the capture has lane tiles), only the bound threads' waits (lock,
   * net, file, gc) at least `resolutionNs` long, whole with their detail: the lanes are read
   * from /api/captures/:id/lane-tiles.
   */
  lanes: 'full' | 'waits';
  /** The on-CPU sampling period when known (perf command line). */
  samplePeriodNs: string | null;
  spans: ReplaySpanDto[];
  threads: ReplayThreadDto[];
  logs: ReplayLogDto[];
  logsTruncated: boolean;
  gcPauses: ReplayGcPauseDto[];
  syscalls: ReplaySyscallDto[];
  syscallsTruncated: boolean;
  wakeups: ReplayWakeupDto[];
  wakeupsTruncated: boolean;
}

export interface ThreadTimelineDto {
  captureId: string;
  threadId: string;
  tid: number;
  pid: number | null;
  names: string[];
  fromNs: string;
  toNs: string;
  resolutionNs: string;
  items: LaneItemDto[];
}

export const FLAME_KINDS = ['cpu', 'offcpu', 'wakers'] as const;
export type FlameKind = (typeof FLAME_KINDS)[number];

/** A flame graph node: `value` in samples (cpu) or ns (offcpu, wakers), `samples` = stacks counted. */
export interface FlameNodeDto {
  name: string;
  value: number;
  samples: number;
  children: FlameNodeDto[];
}

export interface FlameGraphDto {
  captureId: string;
  kind: FlameKind;
  /** `samples` for cpu, `ns` for offcpu and wakers. */
  unit: 'samples' | 'ns';
  threadIds: string[];
  fromNs: string | null;
  toNs: string | null;
  /** How many samples (cpu) or blocked segments (offcpu/wakers) went in: sparse data is said. */
  samples: number;
  /** Root `all`. */
  root: FlameNodeDto;
}

export interface LogSearchRowDto extends ReplayLogDto {
  captureId: string;
}

export interface LogSearchDto {
  rows: LogSearchRowDto[];
  truncated: boolean;
}

export const TRACE_ID_FORMS = ['traceparent', 'hex', 'decimal', 'field', 'url'] as const;
export type TraceIdForm = (typeof TRACE_ID_FORMS)[number];

export interface FoundTraceId {
  /** 32 lower-case hex digits. */
  traceId: string;
  from: TraceIdForm;
  /** The text it was read from. */
  text: string;
}

export interface LookupDto {
  found: FoundTraceId[];
  requests: RequestRowDto[];
}

export interface CompareDto {
  a: RequestRowDto;
  b: RequestRowDto;
  /** a − b per cause, largest |delta| first; deltas sum to a.duration − b.duration. */
  causes: { cause: RequestCauseKey; aNs: string; bNs: string; deltaNs: string }[];
}

export interface ThreadMappingDto {
  source: string;
  name: string | null;
  runtimeId: string | null;
  confidence: number;
}

export interface ThreadMapRowDto {
  threadId: string;
  tid: number;
  pid: number | null;
  names: string[];
  runtimeIds: Record<string, string[]>;
  pool: string | null;
  segmentQuality: string | null;
  sampleCount: string;
  mappings: ThreadMappingDto[];
}

export interface ThreadMapDto {
  captureId: string;
  threads: ThreadMapRowDto[];
}

/** One bar of a duration histogram: requests with `fromNs ≤ duration < toNs`. */
export interface DurationBucketDto {
  fromNs: string;
  toNs: string;
  count: number;
}

/** The requests of one route (within a service) and how their durations spread. */
export interface RouteStatsDto {
  service: string | null;
  route: string | null;
  count: number;
  minNs: string;
  medianNs: string;
  p95Ns: string;
  maxNs: string;
  /** Equal-width buckets from `minNs` to past `maxNs`. */
  histogram: DurationBucketDto[];
}

/** Facets of the requests for filters and histograms (GET /api/requests/stats). */
export interface RequestStatsDto {
  total: number;
  /** Most requests first. */
  routes: RouteStatsDto[];
  services: { service: string | null; count: number }[];
  causes: { cause: RequestCauseKey; count: number }[];
}

/** What the captures list shows beyond the summary (GET /api/capture-overview). */
export interface CaptureOverviewDto {
  captureId: string;
  /** Formats of the capture's files (the parsed format, else the detected one), with file counts. */
  formats: { format: string; files: number }[];
  /** Files finished (parsed, stored or failed) out of all files: ingest progress. */
  filesDone: number;
  files: number;
  /** Requests found (server or root spans). */
  requests: number;
  /** Files in a span format (OTLP, Zipkin, Jaeger): without them there are no requests. */
  spanFiles: number;
  /** Time covered on the epoch axis (requests and on-CPU samples placed by their clock); null: unknown. */
  fromNs: string | null;
  toNs: string | null;
}

/** Lanes of several threads over one range at one resolution (`GET …/lanes`). */
export interface LanesDto {
  captureId: string;
  fromNs: string;
  toNs: string;
  resolutionNs: string;
  lanes: { threadId: string; items: LaneItemDto[] }[];
}

/** One frame of a resolved stack. */
export interface StackFrameDto {
  /** Display name (symbol tidied, inlined chains expanded into several frames). */
  name: string;
  symbol: string;
  dso: string;
}

/** Resolved stacks, frames leaf first (`GET …/stacks?ids=` or `…/stacks/:stackId`). */
export interface StacksDto {
  captureId: string;
  stacks: { stackId: string; frames: StackFrameDto[] }[];
}
