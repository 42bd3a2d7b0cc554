import type { ParseIssue, SpanAttributeValue, SpanKind, SpanRecord } from '@threadreel/model';
import {
  asArray,
  asObject,
  checkTimes,
  describe,
  fail,
  intAttr,
  isObject,
  kindFromName,
  microsToNanos,
  normalizeId,
  normalizeParentId,
  optString,
  readInt64,
  statusFromTags,
  toIssue,
  type JsonObject,
} from './spans-common.js';

type Attrs = Record<string, SpanAttributeValue>;

// ---------------------------------------------------------------------------------------------
// Jaeger JSON (query API / UI download): { data: [ { traceID, spans: [...], processes: {...} } ] }

function jaegerTagValue(tag: JsonObject, field: string): SpanAttributeValue {
  const type = tag['type'];
  const v = tag['value'];
  const t = typeof type === 'string' ? type.toLowerCase() : '';
  switch (t) {
    case 'int64':
      return intAttr(readInt64(v, `${field}.value`));
    case 'float64':
      if (typeof v === 'number') return v;
      if (typeof v === 'bigint') return Number(v);
      if (typeof v === 'string' && v.trim() !== '' && !Number.isNaN(Number(v))) return Number(v);
      return fail(`${field}.value`, `expected a float64, got ${describe(v)}`);
    case 'bool':
      if (typeof v === 'boolean') return v;
      if (v === 'true' || v === 'false') return v === 'true';
      return fail(`${field}.value`, `expected a bool, got ${describe(v)}`);
    case 'string':
    case 'binary':
      if (typeof v === 'string') return v;
      return fail(`${field}.value`, `expected a string, got ${describe(v)}`);
    default:
      // No (or an unknown) type: keep primitive values as they are.
      if (typeof v === 'number' && Number.isInteger(v)) return v;
      if (
        typeof v === 'string' ||
        typeof v === 'number' ||
        typeof v === 'boolean' ||
        typeof v === 'bigint' ||
        v === null
      )
        return v;
      if (v === undefined) return null;
      return fail(`${field}.value`, `unsupported tag value ${describe(v)}`);
  }
}

function jaegerTags(v: unknown, field: string): Attrs {
  const out: Attrs = {};
  const list = asArray(v, field);
  for (let i = 0; i < list.length; i++) {
    const tag = asObject(list[i], `${field}[${i}]`);
    const key = tag['key'];
    if (typeof key !== 'string') fail(`${field}[${i}].key`, `expected a string, got ${describe(key)}`);
    out[key] = jaegerTagValue(tag, `${field}[${i}]`);
  }
  return out;
}

interface JaegerProcess {
  readonly service: string | null;
  readonly resource: Attrs;
}

function jaegerProcess(v: unknown, field: string): JaegerProcess {
  const p = asObject(v, field);
  const service = optString(p['serviceName'], `${field}.serviceName`);
  const resource = jaegerTags(p['tags'], `${field}.tags`);
  if (service !== null && !('service.name' in resource)) resource['service.name'] = service;
  return { service, resource };
}

function jaegerParent(s: JsonObject, path: string): string | null {
  const refs = asArray(s['references'], `${path}.references`);
  for (let i = 0; i < refs.length; i++) {
    const ref = asObject(refs[i], `${path}.references[${i}]`);
    if (ref['refType'] === 'CHILD_OF')
      return normalizeId(ref['spanID'], 8, `${path}.references[${i}].spanID`);
  }
  // Older Jaeger JSON carried the parent in a field of its own.
  return normalizeParentId(s['parentSpanID'], `${path}.parentSpanID`);
}

function jaegerSpan(
  v: unknown,
  path: string,
  line: number,
  processes: ReadonlyMap<string, JaegerProcess | string>,
): SpanRecord {
  const s = asObject(v, path);
  const traceId = normalizeId(s['traceID'], 16, `${path}.traceID`);
  const spanId = normalizeId(s['spanID'], 8, `${path}.spanID`);
  const parentSpanId = jaegerParent(s, path);
  const name = optString(s['operationName'], `${path}.operationName`) ?? '';
  if (s['startTime'] === undefined) fail(`${path}.startTime`, 'missing');
  if (s['duration'] === undefined) fail(`${path}.duration`, 'missing');
  const startNs = microsToNanos(s['startTime'], `${path}.startTime`);
  const endNs = startNs + microsToNanos(s['duration'], `${path}.duration`);
  checkTimes(startNs, endNs, `${path}.duration`);
  const attributes = jaegerTags(s['tags'], `${path}.tags`);
  const kindTag = attributes['span.kind'];
  const spanKind: SpanKind = (typeof kindTag === 'string' ? kindFromName(kindTag) : null) ?? 'unspecified';
  let proc: JaegerProcess = { service: null, resource: {} };
  if (s['process'] !== undefined && s['process'] !== null) {
    proc = jaegerProcess(s['process'], `${path}.process`);
  } else {
    const pid = s['processID'];
    if (typeof pid === 'string') {
      const p = processes.get(pid);
      if (p === undefined) fail(`${path}.processID`, `unknown process "${pid}"`);
      if (typeof p === 'string') fail(`${path}.processID`, p);
      proc = p;
    }
  }
  return {
    kind: 'span',
    line,
    traceId,
    spanId,
    parentSpanId,
    name,
    spanKind,
    service: proc.service,
    startNs,
    endNs,
    status: statusFromTags(attributes),
    attributes,
    resource: proc.resource,
  };
}

function* jaegerTrace(trace: unknown, tPath: string, line: number): Generator<SpanRecord | ParseIssue> {
  let spans: readonly unknown[];
  const processes = new Map<string, JaegerProcess | string>();
  try {
    const t = asObject(trace, tPath);
    spans = asArray(t['spans'], `${tPath}.spans`);
    const procs = t['processes'];
    if (procs !== undefined && procs !== null) {
      for (const [id, p] of Object.entries(asObject(procs, `${tPath}.processes`))) {
        try {
          processes.set(id, jaegerProcess(p, `${tPath}.processes.${id}`));
        } catch (e) {
          // Reported once here; its spans are reported as referring to a bad process.
          const issue = toIssue(line, e, `${tPath}.processes.${id}`);
          yield issue;
          processes.set(id, `process "${id}" is invalid (${issue.reason})`);
        }
      }
    }
  } catch (e) {
    yield toIssue(line, e, tPath);
    return;
  }
  for (let i = 0; i < spans.length; i++) {
    const path = `${tPath}.spans[${i}]`;
    try {
      yield jaegerSpan(spans[i], path, line, processes);
    } catch (e) {
      yield toIssue(line, e, path);
    }
  }
}

/** All spans of one Jaeger JSON document: `{data:[trace…]}`, a bare trace, or an array of traces. */
export function* jaegerSpans(doc: unknown, line: number): Generator<SpanRecord | ParseIssue> {
  if (Array.isArray(doc)) {
    for (let i = 0; i < doc.length; i++) yield* jaegerTrace(doc[i], `[${i}]`, line);
    return;
  }
  if (isObject(doc) && Array.isArray(doc['data'])) {
    const data = doc['data'] as readonly unknown[];
    for (let i = 0; i < data.length; i++) yield* jaegerTrace(data[i], `data[${i}]`, line);
    return;
  }
  if (isObject(doc) && Array.isArray(doc['spans'])) {
    yield* jaegerTrace(doc, 'trace', line);
    return;
  }
  if (isObject(doc) && (doc['data'] === null || doc['data'] === undefined) && 'errors' in doc) return;
  yield { kind: 'issue', line, field: 'data', reason: `not a Jaeger trace document (${describe(doc)})` };
}

// ---------------------------------------------------------------------------------------------
// Zipkin v2 JSON: an array of spans (µs timestamps, tags are string → string).

function zipkinSpan(v: unknown, path: string, line: number): SpanRecord {
  const s = asObject(v, path);
  const traceId = normalizeId(s['traceId'], 16, `${path}.traceId`);
  const spanId = normalizeId(s['id'], 8, `${path}.id`);
  const parentSpanId = normalizeParentId(s['parentId'], `${path}.parentId`);
  const name = optString(s['name'], `${path}.name`) ?? '';
  const kindText = optString(s['kind'], `${path}.kind`);
  let spanKind: SpanKind = 'unspecified';
  if (kindText !== null) {
    const k = kindFromName(kindText);
    if (k === null) fail(`${path}.kind`, `unknown span kind "${kindText}"`);
    spanKind = k;
  }
  if (s['timestamp'] === undefined) fail(`${path}.timestamp`, 'missing (incomplete span)');
  if (s['duration'] === undefined) fail(`${path}.duration`, 'missing (incomplete span)');
  const startNs = microsToNanos(s['timestamp'], `${path}.timestamp`);
  const endNs = startNs + microsToNanos(s['duration'], `${path}.duration`);
  const attributes: Attrs = {};
  const tags = s['tags'];
  if (tags !== undefined && tags !== null) {
    for (const [k, t] of Object.entries(asObject(tags, `${path}.tags`))) {
      if (
        typeof t === 'string' ||
        typeof t === 'number' ||
        typeof t === 'boolean' ||
        typeof t === 'bigint' ||
        t === null
      )
        attributes[k] = t;
      else fail(`${path}.tags.${k}`, `expected a string, got ${describe(t)}`);
    }
  }
  let service: string | null = null;
  const le = s['localEndpoint'];
  if (le !== undefined && le !== null)
    service = optString(
      asObject(le, `${path}.localEndpoint`)['serviceName'],
      `${path}.localEndpoint.serviceName`,
    );
  const resource: Attrs = service === null ? {} : { 'service.name': service };
  return {
    kind: 'span',
    line,
    traceId,
    spanId,
    parentSpanId,
    name,
    spanKind,
    service,
    startNs,
    endNs,
    status: statusFromTags(attributes),
    attributes,
    resource,
  };
}

/** All spans of one Zipkin v2 document: an array of spans, or a single span object. */
export function* zipkinSpans(doc: unknown, line: number): Generator<SpanRecord | ParseIssue> {
  if (isObject(doc)) {
    try {
      yield zipkinSpan(doc, 'span', line);
    } catch (e) {
      yield toIssue(line, e, 'span');
    }
    return;
  }
  if (!Array.isArray(doc)) {
    yield { kind: 'issue', line, field: 'spans', reason: `expected an array of spans, got ${describe(doc)}` };
    return;
  }
  for (let i = 0; i < doc.length; i++) {
    const path = `[${i}]`;
    try {
      yield zipkinSpan(doc[i], path, line);
    } catch (e) {
      yield toIssue(line, e, path);
    }
  }
}
