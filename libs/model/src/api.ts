/** DTOs of the HTTP API, shared by the API, the web UI and the CLI. Times are ns strings. */

export const CAPTURE_STATES = ['queued', 'parsing', 'correlating', 'ready', 'failed'] as const;
export type CaptureState = (typeof CAPTURE_STATES)[number];

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
