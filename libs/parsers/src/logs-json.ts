import type { LogZone, Nanos } from '@threadreel/model';
import {
  epochToNanos,
  isoToNanos,
  levelText,
  matchIsoPrefix,
  normalizeSpanId,
  normalizeTraceId,
  scanTextTraceIds,
} from './logs-common.js';

/**
 * JSON log lines: pino, logstash-logback-encoder, OTel log records (OTLP/JSON-ish flat),
 * ECS (flat dotted keys or nested objects), Datadog (`dd.trace_id` decimal),
 * python-json-logger/structlog. Keys are looked up by dotted path, both as a literal flat
 * key (`"trace.id"`) and as nested objects (`{"trace":{"id":…}}`).
 */

export interface JsonEntry {
  readonly timeNs: Nanos | null;
  readonly timeText: string;
  readonly zone: LogZone;
  readonly timeError?: string;
  readonly level: string | null;
  readonly threadName: string | null;
  readonly tid: number | null;
  readonly javaThreadId?: number;
  readonly traceIds: string[];
  readonly spanId: string | null;
  readonly logger: string | null;
  readonly message: string;
  readonly fields: Record<string, unknown>;
  /** Lines of a `stack_trace`/`error.stack_trace`/`exc_info` field. */
  readonly stack: string[];
}

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Value at a dotted path, as a flat key or through nested objects (first hit wins). */
function lookup(o: Obj, path: string): unknown {
  if (path in o) return o[path];
  const dot = path.indexOf('.');
  if (dot < 0) return undefined;
  const head = o[path.slice(0, dot)];
  return isObj(head) ? lookup(head, path.slice(dot + 1)) : undefined;
}

/** First present, non-empty value among `paths`, with the path that held it. */
function first(o: Obj, paths: readonly string[]): { path: string; value: unknown } | null {
  for (const path of paths) {
    const value = lookup(o, path);
    if (value !== undefined && value !== null && value !== '') return { path, value };
  }
  return null;
}

const TIME_KEYS = [
  'timeUnixNano',
  '@timestamp',
  'time',
  'timestamp',
  'ts',
  'datetime',
  'asctime',
  'date',
  'observedTimeUnixNano',
];
const LEVEL_KEYS = ['level', 'severity', 'severityText', 'log.level', 'levelname', 'loglevel'];
const THREAD_NAME_KEYS = [
  'thread_name',
  'threadName',
  'process.thread.name',
  'thread.name',
  'attributes.thread.name',
  'thread',
];
const TID_KEYS = ['process.thread.id', 'native_tid', 'nativeThreadId', 'tid', 'os_tid'];
const JAVA_TID_KEYS = ['thread.id', 'attributes.thread.id', 'javaThreadId'];
const LOGGER_KEYS = ['logger_name', 'logger', 'log.logger', 'loggerName', 'scope.name', 'name'];
const MESSAGE_KEYS = ['msg', 'message', 'body', 'event'];
const SPAN_KEYS: readonly (readonly [string, boolean])[] = [
  ['span_id', false],
  ['spanId', false],
  ['span.id', false],
  ['otelSpanID', false],
  ['dd.span_id', true],
  ['traceparent', false],
];
const STACK_KEYS = ['stack_trace', 'error.stack_trace', 'exc_info', 'stack', 'err.stack', 'error.stack'];

/** Key names (last path segment or dotted suffix) that carry a trace id anywhere in the object. */
const TRACE_SUFFIXES: readonly (readonly [string, boolean])[] = [
  ['trace_id', false],
  ['traceId', false],
  ['traceid', false],
  ['trace.id', false],
  ['otelTraceID', false],
  ['traceparent', false],
  ['dd.trace_id', true],
];

const MAX_WALK_NODES = 4096;
const MAX_WALK_DEPTH = 16;

function collectTraceIds(o: Obj, out: string[]): void {
  let budget = MAX_WALK_NODES;
  const walk = (node: Obj, prefix: string, depth: number): void => {
    for (const key of Object.keys(node)) {
      if (--budget < 0) return;
      const path = prefix === '' ? key : `${prefix}.${key}`;
      const value = node[key];
      if (isObj(value)) {
        if (depth < MAX_WALK_DEPTH) walk(value, path, depth + 1);
        continue;
      }
      for (const [suffix, decimal] of TRACE_SUFFIXES) {
        if (path === suffix || path.endsWith(`.${suffix}`)) {
          // `dd.trace_id` is decimal; a plain `trace_id` nested under `dd` is reached as `dd.trace_id` too.
          const id = normalizeTraceId(value, decimal || path.endsWith('dd.trace_id'));
          if (id !== null && !out.includes(id)) out.push(id);
          break;
        }
      }
    }
  };
  walk(o, '', 0);
}

function intOrNull(v: unknown): number | null {
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return v;
  if (typeof v === 'string' && /^\d{1,15}$/.test(v)) return Number(v);
  return null;
}

function textOf(v: unknown): string {
  if (typeof v === 'string') return v;
  if (isObj(v) && typeof v['stringValue'] === 'string') return v['stringValue']; // OTLP AnyValue
  if (v === undefined || v === null) return '';
  try {
    return JSON.stringify(v) ?? '';
  } catch {
    return '';
  }
}

function timeOf(
  o: Obj,
  timeZone: string | undefined,
): { timeNs: Nanos | null; timeText: string; zone: LogZone; error?: string; path?: string } {
  const hit = first(o, TIME_KEYS);
  if (!hit) return { timeNs: null, timeText: '', zone: 'explicit' };
  const { path, value } = hit;
  const nanoKey = path.endsWith('UnixNano');
  if (typeof value === 'number') {
    const timeNs = epochToNanos(value, nanoKey ? 'ns' : undefined);
    return {
      timeNs,
      timeText: String(value),
      zone: 'explicit',
      path,
      ...(timeNs === null ? { error: 'not an epoch number' } : {}),
    };
  }
  if (typeof value === 'string') {
    if (/^\d{1,20}(?:\.\d{1,30})?$/.test(value)) {
      const timeNs = epochToNanos(value, nanoKey ? 'ns' : undefined);
      return { timeNs, timeText: value, zone: 'explicit', path };
    }
    const iso = matchIsoPrefix(value);
    if (iso) {
      const r = isoToNanos(iso, timeZone);
      return {
        timeNs: r.timeNs,
        timeText: value,
        zone: r.zone,
        path,
        ...(r.error ? { error: r.error } : {}),
      };
    }
    return {
      timeNs: null,
      timeText: value,
      zone: 'explicit',
      path,
      error: `unrecognised time '${value.slice(0, 40)}'`,
    };
  }
  return {
    timeNs: null,
    timeText: textOf(value),
    zone: 'explicit',
    path,
    error: 'time is neither a number nor text',
  };
}

const MAX_OTLP_ATTRIBUTES = 256;

/** OTLP/JSON `attributes: [{key, value: {stringValue|intValue|…}}]` as a plain object. */
function flattenOtlpAttributes(list: readonly unknown[]): Obj {
  const out: Obj = {};
  for (const kv of list.slice(0, MAX_OTLP_ATTRIBUTES)) {
    if (!isObj(kv) || typeof kv['key'] !== 'string' || !isObj(kv['value'])) continue;
    const v = kv['value'];
    out[kv['key']] = v['stringValue'] ?? v['intValue'] ?? v['doubleValue'] ?? v['boolValue'];
  }
  return out;
}

/** Maps one parsed JSON object to the log-record fields. */
export function jsonEntry(obj: Obj, timeZone: string | undefined): JsonEntry {
  const attrs = obj['attributes'];
  // Lookups see OTLP attribute lists as objects; `fields` keep the original value.
  const o: Obj = Array.isArray(attrs) ? { ...obj, attributes: flattenOtlpAttributes(attrs) } : obj;
  const consumed = new Set<string>();
  const take = (hit: { path: string; value: unknown } | null): unknown => {
    if (!hit) return undefined;
    consumed.add(hit.path.split('.')[0] ?? hit.path);
    if (hit.path in o) consumed.add(hit.path);
    return hit.value;
  };
  const time = timeOf(o, timeZone);
  if (time.path !== undefined) consumed.add(time.path);
  const level = levelText(take(first(o, LEVEL_KEYS)));
  const threadRaw = take(first(o, THREAD_NAME_KEYS));
  const threadName = typeof threadRaw === 'string' ? threadRaw : null;
  const tid = intOrNull(take(first(o, TID_KEYS)));
  const javaThreadId = intOrNull(first(o, JAVA_TID_KEYS)?.value);
  const loggerRaw = take(first(o, LOGGER_KEYS));
  const logger = typeof loggerRaw === 'string' ? loggerRaw : null;
  const message = textOf(take(first(o, MESSAGE_KEYS)));

  const traceIds: string[] = [];
  collectTraceIds(o, traceIds);
  scanTextTraceIds(message, traceIds);

  let spanId: string | null = null;
  for (const [key, decimal] of SPAN_KEYS) {
    const v = lookup(o, key);
    spanId = normalizeSpanId(v, decimal);
    if (spanId !== null) break;
  }

  const stack: string[] = [];
  const stackVal = first(o, STACK_KEYS);
  if (stackVal && typeof stackVal.value === 'string') {
    take(stackVal);
    for (const l of stackVal.value.split('\n'))
      if (l !== '') stack.push(l.endsWith('\r') ? l.slice(0, -1) : l);
  }

  const fields: Record<string, unknown> = {};
  for (const key of Object.keys(obj)) if (!consumed.has(key)) fields[key] = obj[key];

  return {
    timeNs: time.timeNs,
    timeText: time.timeText,
    zone: time.zone,
    ...(time.error !== undefined ? { timeError: time.error } : {}),
    level,
    threadName,
    tid,
    ...(javaThreadId !== null ? { javaThreadId } : {}),
    traceIds,
    spanId,
    logger,
    message,
    fields,
    stack,
  };
}

/** Parses a line as a JSON object; null when it is not one. */
export function parseJsonObject(line: string): Obj | null {
  try {
    const v: unknown = JSON.parse(line);
    return isObj(v) ? v : null;
  } catch {
    return null;
  }
}
