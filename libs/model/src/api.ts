/** DTOs of the HTTP API, shared by the API, the web UI and the CLI. Times are ns strings. */

/**
 * `ready`: every file parsed and correlated cleanly. `degraded`: usable, but parts of it went
 * wrong (a file failed or lost lines, a source was not placed on the time axis, a thread or a
 * stage of the correlation could not be built): the capture's `degradedParts` say which and why.
 * `failed`: nothing usable (no file could be parsed).
 */
export const CAPTURE_STATES = ['queued', 'parsing', 'correlating', 'ready', 'degraded', 'failed'] as const;
export type CaptureState = (typeof CAPTURE_STATES)[number];

/** States after which a capture changes no more (until it is correlated again). */
export const FINISHED_CAPTURE_STATES: readonly CaptureState[] = ['ready', 'degraded', 'failed'];

/** Where in the pipeline a part of a capture degraded. */
export const DEGRADED_STAGES = [
  /** a file could not be parsed, or only partly (truncated, rejected lines, no events) */
  'parse',
  /** a source could not be placed on the time axis, or disagrees with the others */
  'clocks',
  /** thread identity: threads no source names */
  'threads',
  /** a thread's segments could not be built */
  'segments',
  /** wakeup edges (futex pairing) */
  'wakeups',
  /** a thread's replay lanes (level of detail, tiles) */
  'lanes',
  /** span ↔ thread bindings */
  'bindings',
  /** a request's breakdown */
  'requests',
  /** the correlation as a whole: the parsed events stay usable, derived data is missing */
  'correlation',
] as const;
export type DegradedStage = (typeof DEGRADED_STAGES)[number];

/** One part of a capture that went wrong while the rest was kept: which file, source, thread or stage, and why. */
export interface DegradedPart {
  stage: DegradedStage;
  /** The source file concerned (its name in the capture), if one is. */
  file: string | null;
  /** The kind of source (a format such as `strace`, `perf-script`), if one is. */
  source: string | null;
  /** The thread concerned (surrogate id, OS tid), if one is. */
  thread: { id: string; tid: number } | null;
  reason: string;
}

/** `stored`: kept byte for byte, but no parser reads its format yet (the report says which). */
export const SOURCE_FILE_STATES = ['queued', 'parsing', 'parsed', 'stored', 'failed'] as const;
export type SourceFileState = (typeof SOURCE_FILE_STATES)[number];

export interface RejectedLine {
  line: number;
  field?: string;
  reason: string;
}

export interface SourceFileReport {
  id: string;
  name: string;
  sha256: string;
  bytes: string;
  /** The format the file was parsed as (the manifest's when it names one, else the detected one). */
  format: string | null;
  /** What the content alone looks like, how sure that is (0..1) and why; null when nothing matched. */
  detected: { format: string | null; confidence: number | null; reason: string | null };
  /** Clock of the file's timestamps: the manifest's `clock`, else the format's own. */
  clock: string | null;
  /** Offset (ns) the correlator added to the file's times to put them on the epoch axis; null: not placed. */
  clockOffsetNs: string | null;
  /** How the offset was found (manifest clock pair, epoch as recorded…). */
  clockMethod: string | null;
  /** What the offset rests on (pairs, residuals, confidence). */
  clockEvidence: Record<string, unknown> | null;
  state: SourceFileState;
  lines: string;
  events: string;
  rejectedCount: string;
  /** The first 20 rejected lines with their reasons. */
  rejected: RejectedLine[];
  parseMs: number | null;
  /** Remarks that are not errors, e.g. why a file is only `stored`. */
  note: string | null;
  error: string | null;
}

export interface CaptureSummary {
  id: string;
  name: string;
  state: CaptureState;
  createdAt: string;
  updatedAt: string;
  files: number;
  bytes: string;
  error: string | null;
}

export interface CaptureDetail extends CaptureSummary {
  manifest: unknown;
  sourceFiles: SourceFileReport[];
  /** What degraded (state `degraded`, or why a capture `failed`); empty when the capture is clean. */
  degradedParts: DegradedPart[];
}

export interface UploadAccepted {
  captureId: string;
  /** Files of this upload that were already stored in this capture (same sha256). */
  duplicates: string[];
  /** Files refused at upload, with why; the accepted ones are still queued. */
  rejected: { name: string; reason: string }[];
}

export interface ThreadSummary {
  id: number;
  pid: number | null;
  tid: number;
  names: string[];
  samples: string;
  firstNs: string | null;
  lastNs: string | null;
}

export interface SampleDto {
  timeNs: string | null;
  cpu: number | null;
  event: string;
  weight: string;
  /** Frames leaf first: `symbol (dso)`. */
  stack: { symbol: string; dso: string }[];
}

export interface SamplesPage {
  threadId: number;
  from: string | null;
  to: string | null;
  samples: SampleDto[];
  /** True when more samples matched than `limit`. */
  truncated: boolean;
}

/** Samples per thread bucketed over time, for the first chart. */
export interface SampleTimeline {
  bucketNs: string;
  startNs: string | null;
  threads: { id: number; label: string; counts: number[] }[];
}

export const FOLD_GROUPS = ['tid', 'pid', 'none'] as const;
export type FoldGroupBy = (typeof FOLD_GROUPS)[number];

export interface ApiError {
  statusCode: number;
  error: string;
  message: string;
}
