import type { LogZone, Nanos } from '@threadreel/model';
import { isoToNanos, matchIsoPrefix, normalizeSpanId, normalizeTraceId } from './logs-common.js';

/**
 * Text log layouts. A line starts an entry when it begins with a timestamp:
 * ISO-like `YYYY-MM-DD[T ]HH:MM:SS[.,frac][zone]` (logback, log4j2, Spring Boot, Python
 * asctime, rsyslog high precision) or a syslog header (RFC 5424 `<pri>1 …`, RFC 3164
 * `[<pri>]Mmm dd hh:mm:ss host tag[pid]:`). After an ISO time the header is read token by
 * token: a level word, `[...]` groups (thread, `thread tid=N`, Micrometer
 * `[app,trace,span]`, OTel Python `[trace_id=… span_id=…]`, `[file.py:12]`), MDC
 * `key=value` tokens, Spring's `pid ---`, then `logger -` or `logger :`. The first token
 * that fits none of these starts the message.
 */

export type TextLayout = 'auto' | 'logback' | 'python' | 'syslog';

export interface TextEntry {
  readonly timeNs: Nanos | null;
  readonly timeText: string;
  readonly zone: LogZone;
  readonly timeError?: string;
  readonly level: string | null;
  readonly threadName: string | null;
  readonly tid: number | null;
  /** Ids found in header groups that are not `key=value` (Micrometer brackets). */
  readonly traceIds: string[];
  readonly spanId: string | null;
  readonly logger: string | null;
  readonly message: string;
  readonly fields?: Record<string, unknown>;
}

const LEVELS = new Set([
  'TRACE',
  'DEBUG',
  'INFO',
  'WARN',
  'WARNING',
  'ERROR',
  'FATAL',
  'CRITICAL',
  'NOTICE',
  'SEVERE',
  'FINE',
  'FINER',
  'FINEST',
  'CONFIG',
  'ALERT',
  'EMERG',
  'CRIT',
  'ERR',
]);

/** MDC-style keys that may sit between the thread and the logger. */
const HEADER_KV_KEYS = new Set([
  'trace_id',
  'span_id',
  'trace_flags',
  'traceId',
  'spanId',
  'sampled',
  'trace_sampled',
  'dd.trace_id',
  'dd.span_id',
  'resource.service.name',
  'service.name',
]);

const MAX_HEADER_TOKENS = 24;

function isWs(c: number): boolean {
  return c === 32 || c === 9 || c === 13;
}

function skipWs(s: string, i: number): number {
  while (i < s.length && isWs(s.charCodeAt(i))) i++;
  return i;
}

function tokenEnd(s: string, i: number): number {
  while (i < s.length && !isWs(s.charCodeAt(i))) i++;
  return i;
}

function isHeaderKv(tok: string): boolean {
  const eq = tok.indexOf('=');
  return eq > 0 && HEADER_KV_KEYS.has(tok.slice(0, eq));
}

/** `com.acme.Foo`, `c.t.s.Server`, `root`, `app.module` (no `=`, `/`, quotes, brackets). */
function looksLikeLogger(tok: string): boolean {
  if (tok.length === 0 || tok.length > 200) return false;
  for (let i = 0; i < tok.length; i++) {
    const c = tok.charCodeAt(i);
    const ok =
      (c >= 48 && c <= 57) ||
      (c >= 65 && c <= 90) ||
      (c >= 97 && c <= 122) ||
      c === 46 ||
      c === 95 ||
      c === 36 ||
      c === 45;
    if (!ok) return false;
  }
  return true;
}

interface Header {
  level: string | null;
  threadName: string | null;
  tid: number | null;
  logger: string | null;
  traceIds: string[];
  spanId: string | null;
}

const TID_IN_BRACKET = / tid=(\d{1,10})$/;
const SOURCE_LOC = /^[\w./-]{1,200}:\d{1,7}$/;

function bracketGroup(raw: string, h: Header, layout: TextLayout): void {
  // Spring's `%15.15t` pads short names: `[           main]`.
  const content = raw.trim();
  if (h.level === null && content.length <= 8 && LEVELS.has(content.toUpperCase())) {
    h.level = content; // `[INFO]`
    return;
  }
  const tidM = TID_IN_BRACKET.exec(content);
  if (tidM?.[1] !== undefined) {
    h.threadName = content.slice(0, tidM.index);
    h.tid = Number(tidM[1]);
    return;
  }
  if (content.includes('=')) return; // `[trace_id=… span_id=…]`: ids are scanned from the whole line
  const parts = content.split(',');
  if (parts.length >= 3 && parts.length <= 4) {
    // Spring Cloud Sleuth / Micrometer `[app,traceId,spanId(,exportable)]`
    const t = normalizeTraceId(parts[1] ?? '');
    if (t !== null) {
      h.traceIds.push(t);
      h.spanId ??= normalizeSpanId(parts[2] ?? '');
      return;
    }
    if ((parts[1] ?? '') === '' && (parts[2] ?? '') === '') return;
  }
  if (SOURCE_LOC.test(content)) return;
  if (layout === 'python' && h.logger === null && h.threadName === null) h.logger = content;
  else if (h.threadName === null) h.threadName = content;
  else h.logger ??= content;
}

/** Reads the header after the timestamp; returns the message start index. */
function readHeader(s: string, pos: number, h: Header, layout: TextLayout): number {
  for (let n = 0; n < MAX_HEADER_TOKENS; n++) {
    pos = skipWs(s, pos);
    if (pos >= s.length) return pos;
    if (s.charCodeAt(pos) === 91 /* [ */) {
      const close = s.indexOf(']', pos + 1);
      if (close < 0) return pos;
      bracketGroup(s.slice(pos + 1, close), h, layout);
      pos = close + 1;
      continue;
    }
    const end = tokenEnd(s, pos);
    const tok = s.slice(pos, end);
    if (h.level === null && LEVELS.has(tok.toUpperCase()) && tok.length <= 8) {
      h.level = tok;
      pos = end;
      continue;
    }
    if (tok === '-' || tok === ':' || tok === '|') return skipWs(s, end);
    if (tok === '---' || isHeaderKv(tok)) {
      pos = end;
      continue;
    }
    if (/^\d{1,10}$/.test(tok) && s.startsWith('---', skipWs(s, end))) {
      pos = end; // Spring Boot `${PID} ---`
      continue;
    }
    if (h.logger === null) {
      if (tok.endsWith(':') && tok.length > 1 && tok.includes('.') && looksLikeLogger(tok.slice(0, -1))) {
        h.logger = tok.slice(0, -1);
        return skipWs(s, end);
      }
      if (looksLikeLogger(tok)) {
        // A logger only if a separator follows (possibly after MDC tokens).
        let look = end;
        for (let k = 0; k < 8; k++) {
          look = skipWs(s, look);
          const le = tokenEnd(s, look);
          const next = s.slice(look, le);
          if (next === '-' || next === ':' || next === '|') {
            h.logger = tok;
            return skipWs(s, le);
          }
          if (!isHeaderKv(next)) break;
          look = le;
        }
      }
    }
    return pos;
  }
  return pos;
}

/** Parses a text line that starts with an ISO-like time; null when it does not. */
export function isoTextEntry(
  line: string,
  timeZone: string | undefined,
  layout: TextLayout,
): TextEntry | null {
  const iso = matchIsoPrefix(line);
  if (!iso) return null;
  // Must be followed by whitespace or end of line (not e.g. a longer number).
  if (iso.end < line.length && !isWs(line.charCodeAt(iso.end))) return null;
  const t = isoToNanos(iso, timeZone);
  const h: Header = { level: null, threadName: null, tid: null, logger: null, traceIds: [], spanId: null };
  let fields: Record<string, unknown> | undefined;
  let msgStart: number;
  if (layout === 'syslog') {
    const r = syslogTail(line, iso.end);
    h.logger = r.app;
    fields = r.fields;
    msgStart = r.msgStart;
  } else msgStart = readHeader(line, iso.end, h, layout);
  return {
    timeNs: t.timeNs,
    timeText: line.slice(0, iso.end),
    zone: t.zone,
    ...(t.error !== undefined ? { timeError: t.error } : {}),
    level: h.level,
    threadName: h.threadName,
    tid: h.tid,
    traceIds: h.traceIds,
    spanId: h.spanId,
    logger: h.logger,
    message: line.slice(msgStart).trimEnd(),
    ...(fields ? { fields } : {}),
  };
}

/** `host tag[pid]: msg` after an RFC 3164 / rsyslog timestamp. */
function syslogTail(
  s: string,
  pos: number,
): { app: string | null; fields: Record<string, unknown>; msgStart: number } {
  const fields: Record<string, unknown> = {};
  let p = skipWs(s, pos);
  const hostEnd = tokenEnd(s, p);
  const host = s.slice(p, hostEnd);
  p = skipWs(s, hostEnd);
  const tagEnd = tokenEnd(s, p);
  let tag = s.slice(p, tagEnd);
  if (!tag.endsWith(':')) {
    // `host` was actually the tag (no hostname), or no tag at all.
    if (host.endsWith(':')) {
      tag = host;
      return { ...tagFields(tag, fields), msgStart: skipWs(s, hostEnd) };
    }
    return { app: null, fields, msgStart: skipWs(s, pos) };
  }
  if (host !== '') fields['hostname'] = host;
  return { ...tagFields(tag, fields), msgStart: skipWs(s, tagEnd) };
}

const TAG_RE = /^([^[\]:]{1,64})(?:\[(\d{1,10})\])?:$/;

function tagFields(
  tag: string,
  fields: Record<string, unknown>,
): { app: string | null; fields: Record<string, unknown> } {
  const m = TAG_RE.exec(tag);
  if (!m) return { app: tag.slice(0, -1), fields };
  if (m[2] !== undefined) fields['pid'] = Number(m[2]);
  return { app: m[1] ?? null, fields };
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const RFC3164_RE = /^(?:<(\d{1,3})>)?([A-Z][a-z]{2}) ([ \d]\d) (\d{2}):(\d{2}):(\d{2})(?= )/;
const RFC5424_RE = /^<(\d{1,3})>\d{1,2} (\S{1,64}) (\S{1,255}) (\S{1,48}) (\S{1,128}) (\S{1,32}) /;
const SYSLOG_SEVERITY = ['emerg', 'alert', 'crit', 'err', 'warning', 'notice', 'info', 'debug'];

/**
 * Parses a syslog line (RFC 5424 or RFC 3164); null when it is not one. RFC 3164 carries
 * no year, so its `timeNs` is null (the text is kept in `timeText`).
 */
export function syslogEntry(line: string, timeZone: string | undefined): TextEntry | null {
  const m5 = RFC5424_RE.exec(line);
  if (m5) {
    const [, pri, ts = '-', host = '-', app = '-', procid = '-', msgid = '-'] = m5;
    let timeNs: Nanos | null = null;
    let zone: LogZone = 'explicit';
    let timeError: string | undefined;
    const iso = ts === '-' ? null : matchIsoPrefix(ts);
    if (iso) {
      const r = isoToNanos(iso, timeZone);
      timeNs = r.timeNs;
      zone = r.zone;
      timeError = r.error;
    } else if (ts !== '-') timeError = `unrecognised time '${ts}'`;
    const fields: Record<string, unknown> = {};
    if (host !== '-') fields['hostname'] = host;
    if (procid !== '-') fields['procid'] = procid;
    if (msgid !== '-') fields['msgid'] = msgid;
    const msgStart = skipStructuredData(line, m5[0].length);
    return {
      timeNs,
      timeText: ts,
      zone,
      ...(timeError !== undefined ? { timeError } : {}),
      level: SYSLOG_SEVERITY[Number(pri) % 8] ?? null,
      threadName: null,
      tid: null,
      traceIds: [],
      spanId: null,
      logger: app === '-' ? null : app,
      message: line.slice(msgStart).trimEnd(),
      fields,
    };
  }
  const m3 = RFC3164_RE.exec(line);
  if (!m3 || !MONTHS.includes(m3[2] ?? '')) return null;
  const tail = syslogTail(line, m3[0].length);
  return {
    timeNs: null,
    timeText: line.slice(m3[1] !== undefined ? m3[1].length + 2 : 0, m3[0].length),
    zone: timeZone ? 'manifest' : 'assumed-utc',
    level: m3[1] !== undefined ? (SYSLOG_SEVERITY[Number(m3[1]) % 8] ?? null) : null,
    threadName: null,
    tid: null,
    traceIds: [],
    spanId: null,
    logger: tail.app,
    message: line.slice(tail.msgStart).trimEnd(),
    fields: tail.fields,
  };
}

/** Index after RFC 5424 structured data (`-` or `[id k="v" …]…`), honouring `\"` escapes. */
function skipStructuredData(s: string, i: number): number {
  if (s.charCodeAt(i) === 45 /* - */) return skipWs(s, i + 1);
  while (i < s.length && s.charCodeAt(i) === 91 /* [ */) {
    let inQuote = false;
    i++;
    while (i < s.length) {
      const c = s.charCodeAt(i);
      if (inQuote) {
        if (c === 92 /* \ */) i++;
        else if (c === 34) inQuote = false;
      } else if (c === 34) inQuote = true;
      else if (c === 93 /* ] */) break;
      i++;
    }
    i++;
  }
  return skipWs(s, i);
}
