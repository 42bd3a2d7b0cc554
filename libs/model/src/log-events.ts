import type { Nanos } from './time.js';

/**
 * How the zone of a log timestamp was decided:
 * - `explicit`: the line carried it (`Z`, `+02:00`) or the time was an epoch number;
 * - `manifest`: a zone-less local time interpreted in the capture manifest's IANA zone;
 * - `assumed-utc`: a zone-less local time with no zone known, read as UTC (may be off by hours).
 */
export type LogZone = 'explicit' | 'manifest' | 'assumed-utc';

/** One application log entry (a line plus any continuation lines such as a stack trace). */
export interface LogRecord {
  readonly kind: 'log';
  /** 1-based line number of the entry's first line. */
  readonly line: number;
  /** Epoch ns (UTC) after applying the zone; null when the entry has no usable time. */
  readonly timeNs: Nanos | null;
  /** The time exactly as written (number rendered as text for JSON epoch values). */
  readonly timeText: string;
  readonly zone: LogZone;
  readonly level: string | null;
  readonly threadName: string | null;
  /** Native (OS) thread id when the entry carries one: ECS `process.thread.id`, a custom `tid=`/`native_tid`. */
  readonly tid: number | null;
  /** Java `Thread.getId()` when present (OTel `thread.id`); not an OS tid. */
  readonly javaThreadId?: number;
  /**
   * Every trace id found anywhere in the entry, 32 lower-case hex, de-duplicated, in order of
   * appearance. Datadog 64-bit decimal ids are converted to 16 hex and left-padded with zeros
   * (they are the lower 64 bits of the W3C id).
   */
  readonly traceIds: readonly string[];
  /** 16 lower-case hex. */
  readonly spanId: string | null;
  readonly logger: string | null;
  readonly message: string;
  /** Remaining structured fields (JSON entries) or header facts (syslog host/pid). */
  readonly fields?: Readonly<Record<string, unknown>>;
  /** Following lines of a multi-line entry (stack traces), capped. */
  readonly continuation: readonly string[];
  /** Continuation lines beyond the cap that were counted but not kept. */
  readonly continuationDropped?: number;
}
