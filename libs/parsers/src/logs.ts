import type { LogRecord, LogZone, Nanos, ParseIssue } from '@threadreel/model';
import { checkTimeZone, scanTextSpanId, scanTextTraceIds } from './logs-common.js';
import { jsonEntry, parseJsonObject } from './logs-json.js';
import { isoTextEntry, syslogEntry } from './logs-text.js';

/**
 * Streaming application-log parser: JSON lines (pino, logstash-logback-encoder, OTel, ECS,
 * Datadog) and text layouts (logback/log4j2/Spring Boot, Python logging, syslog).
 *
 * A line that starts an entry (a JSON object, or a leading timestamp) yields the previous
 * entry; any other non-blank line (`\tat …`, `Caused by: …`, wrapped messages) is a
 * continuation of the current entry. Continuations are capped at
 * {@link MAX_CONTINUATION_LINES} lines / {@link MAX_CONTINUATION_CHARS} characters; the
 * rest are counted in `continuationDropped`. A non-entry line with no entry before it is a
 * {@link ParseIssue}. Never throws on input.
 *
 * Zone-less local times (Python asctime, logback `%d`) are read in `opts.timeZone` (the
 * manifest's IANA zone, `zone: 'manifest'`) or as UTC (`zone: 'assumed-utc'`).
 */

export type LogLayout = 'auto' | 'json' | 'logback' | 'python' | 'syslog';

export interface ParseLogsOptions {
  /** IANA zone for zone-less timestamps, from the capture manifest. */
  readonly timeZone?: string;
  /** Which entry shapes to accept; `auto` (default) accepts all. */
  readonly layout?: LogLayout;
}

export const MAX_CONTINUATION_LINES = 200;
export const MAX_CONTINUATION_CHARS = 64 * 1024;
/** JSON lines longer than this are not parsed as JSON (treated as text). */
export const MAX_JSON_LINE_CHARS = 1024 * 1024;

interface Pending {
  line: number;
  timeNs: Nanos | null;
  timeText: string;
  zone: LogZone;
  level: string | null;
  threadName: string | null;
  tid: number | null;
  javaThreadId: number | undefined;
  traceIds: string[];
  spanId: string | null;
  logger: string | null;
  message: string;
  fields: Record<string, unknown> | undefined;
  continuation: string[];
  continuationChars: number;
  continuationDropped: number;
}

function addContinuation(p: Pending, text: string): void {
  scanTextTraceIds(text, p.traceIds);
  if (
    p.continuation.length >= MAX_CONTINUATION_LINES ||
    p.continuationChars + text.length > MAX_CONTINUATION_CHARS
  ) {
    p.continuationDropped++;
    return;
  }
  p.continuation.push(text);
  p.continuationChars += text.length;
}

function finish(p: Pending): LogRecord {
  const r: {
    -readonly [K in keyof LogRecord]: LogRecord[K];
  } = {
    kind: 'log',
    line: p.line,
    timeNs: p.timeNs,
    timeText: p.timeText,
    zone: p.zone,
    level: p.level,
    threadName: p.threadName,
    tid: p.tid,
    traceIds: p.traceIds,
    spanId: p.spanId,
    logger: p.logger,
    message: p.message,
    continuation: p.continuation,
  };
  if (p.javaThreadId !== undefined) r.javaThreadId = p.javaThreadId;
  if (p.fields !== undefined && hasKeys(p.fields)) r.fields = p.fields;
  if (p.continuationDropped > 0) r.continuationDropped = p.continuationDropped;
  return r;
}

function hasKeys(o: Record<string, unknown>): boolean {
  for (const _ in o) return true;
  return false;
}

type Started = { readonly pending: Pending; readonly timeError?: string };

type EntryHead = Pick<
  Pending,
  | 'timeNs'
  | 'timeText'
  | 'zone'
  | 'level'
  | 'threadName'
  | 'tid'
  | 'traceIds'
  | 'spanId'
  | 'logger'
  | 'message'
> & { readonly javaThreadId?: number; readonly fields?: Record<string, unknown> };

/** Builds the pending entry with one fixed object shape (spreads made V8 fall back to slow objects). */
function makePending(lineNo: number, e: EntryHead, spanId: string | null): Pending {
  return {
    line: lineNo,
    timeNs: e.timeNs,
    timeText: e.timeText,
    zone: e.zone,
    level: e.level,
    threadName: e.threadName,
    tid: e.tid,
    javaThreadId: e.javaThreadId,
    traceIds: e.traceIds,
    spanId,
    logger: e.logger,
    message: e.message,
    fields: e.fields,
    continuation: [],
    continuationChars: 0,
    continuationDropped: 0,
  };
}

/** Tries to read `text` as the first line of an entry. */
function startEntry(
  text: string,
  lineNo: number,
  layout: LogLayout,
  timeZone: string | undefined,
): Started | null {
  if (layout === 'auto' || layout === 'json') {
    if (text.charCodeAt(0) === 123 /* { */ && text.length <= MAX_JSON_LINE_CHARS) {
      const obj = parseJsonObject(text);
      if (obj) {
        const e = jsonEntry(obj, timeZone);
        const pending = makePending(lineNo, e, e.spanId);
        for (const l of e.stack) addContinuation(pending, l);
        return e.timeError !== undefined ? { pending, timeError: e.timeError } : { pending };
      }
    }
    if (layout === 'json') return null;
  }
  const c0 = text.charCodeAt(0);
  // Cheap pre-checks: entries start with a digit (ISO time), `<` (syslog PRI) or a capital (month).
  if (!((c0 >= 48 && c0 <= 57) || c0 === 60 || (c0 >= 65 && c0 <= 90))) return null;
  const e =
    (layout === 'auto' || layout === 'syslog') && !(c0 >= 48 && c0 <= 57)
      ? syslogEntry(text, timeZone)
      : isoTextEntry(text, timeZone, layout);
  if (!e) return null;
  scanTextTraceIds(text, e.traceIds);
  const pending = makePending(lineNo, e, e.spanId ?? scanTextSpanId(text));
  return e.timeError !== undefined ? { pending, timeError: e.timeError } : { pending };
}

function isBlank(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c !== 32 && c !== 9 && c !== 13) return false;
  }
  return true;
}

/** Parses log lines into records (and issues). See the module comment for the rules. */
export async function* parseLogs(
  lines: AsyncIterable<string>,
  opts: ParseLogsOptions = {},
): AsyncGenerator<LogRecord | ParseIssue> {
  const layout = opts.layout ?? 'auto';
  let timeZone = opts.timeZone === '' ? undefined : opts.timeZone;
  if (timeZone !== undefined) {
    const err = checkTimeZone(timeZone);
    if (err !== null) {
      yield {
        kind: 'issue',
        line: 0,
        field: 'timeZone',
        reason: `unknown time zone '${timeZone}' (${err}); zone-less times read as UTC`,
      };
      timeZone = undefined;
    }
  }
  let current: Pending | null = null;
  let lineNo = 0;
  for await (const raw of lines) {
    lineNo++;
    const text = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (isBlank(text)) continue;
    let started: Started | null;
    try {
      started = startEntry(text, lineNo, layout, timeZone);
    } catch (e) {
      // Defensive: the parsers above are written not to throw; never let one line stop the stream.
      yield {
        kind: 'issue',
        line: lineNo,
        reason: `internal parser error: ${e instanceof Error ? e.message : 'unknown'}`,
      };
      continue;
    }
    if (started) {
      if (current) yield finish(current);
      current = started.pending;
      if (started.timeError !== undefined)
        yield { kind: 'issue', line: lineNo, field: 'time', reason: started.timeError };
      continue;
    }
    if (current) addContinuation(current, text);
    else
      yield {
        kind: 'issue',
        line: lineNo,
        reason: `not the start of a log entry and no entry before it: '${text.slice(0, 60)}'`,
      };
  }
  if (current) yield finish(current);
}
