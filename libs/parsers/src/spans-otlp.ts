import type { ParseIssue, SpanAttributeValue, SpanKind, SpanRecord, SpanStatus } from '@threadreel/model';
import {
  asArray,
  asObject,
  checkTimes,
  describe,
  fail,
  intAttr,
  isObject,
  kindFromName,
  normalizeId,
  normalizeParentId,
  optString,
  readInt64,
  toIssue,
  type JsonObject,
} from './spans-common.js';

/**
 * OTLP/JSON `ExportTraceServiceRequest` → spans. Accepts `scopeSpans` and the legacy
 * `instrumentationLibrarySpans`, enums as integers or names, ids as hex/base64/decimal,
 * 64-bit integers as strings or numbers. Unknown fields are ignored (as the spec requires).
 */

const KINDS: readonly SpanKind[] = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'];
const STATUSES: readonly SpanStatus[] = ['unset', 'ok', 'error'];

function otlpKind(v: unknown, field: string): SpanKind {
  if (v === undefined || v === null) return 'unspecified';
  if (typeof v === 'number') {
    const k = KINDS[v];
    if (k !== undefined) return k;
  } else if (typeof v === 'string') {
    const k = /^\d$/.test(v) ? KINDS[Number(v)] : kindFromName(v);
    if (k !== undefined && k !== null) return k;
  }
  return fail(field, `unknown span kind ${describe(v)}`);
}

function otlpStatus(v: unknown, field: string): SpanStatus {
  if (v === undefined || v === null) return 'unset';
  const o = asObject(v, field);
  const code = o['code'];
  if (code === undefined || code === null) return 'unset';
  if (typeof code === 'number') {
    const s = STATUSES[code];
    if (s !== undefined) return s;
  } else if (typeof code === 'string') {
    const c = code.toUpperCase().replace(/^STATUS_CODE_/, '');
    if (c === 'UNSET' || c === '0') return 'unset';
    if (c === 'OK' || c === '1') return 'ok';
    if (c === 'ERROR' || c === '2') return 'error';
  }
  return fail(`${field}.code`, `unknown status code ${describe(code)}`);
}

/** OTLP `AnyValue`. A value with no known member set is null. */
export function anyValue(v: unknown, field: string): SpanAttributeValue {
  if (v === undefined || v === null) return null;
  const o = asObject(v, field);
  if ('stringValue' in o) {
    const s = o['stringValue'];
    if (typeof s !== 'string') fail(`${field}.stringValue`, `expected a string, got ${describe(s)}`);
    return s;
  }
  if ('boolValue' in o) {
    const b = o['boolValue'];
    if (typeof b !== 'boolean') fail(`${field}.boolValue`, `expected a boolean, got ${describe(b)}`);
    return b;
  }
  if ('intValue' in o) return intAttr(readInt64(o['intValue'], `${field}.intValue`));
  if ('doubleValue' in o) {
    const d = o['doubleValue'];
    if (typeof d === 'number') return d;
    if (typeof d === 'bigint') return Number(d);
    // protojson writes NaN/Infinity and may write numbers as strings.
    if (typeof d === 'string' && d.trim() !== '' && !Number.isNaN(Number(d))) return Number(d);
    if (d === 'NaN') return Number.NaN;
    fail(`${field}.doubleValue`, `expected a number, got ${describe(d)}`);
  }
  if ('arrayValue' in o) {
    const a = o['arrayValue'];
    if (a === null || a === undefined) return [];
    const values = asArray(asObject(a, `${field}.arrayValue`)['values'], `${field}.arrayValue.values`);
    return values.map((x, i) => anyValue(x, `${field}.arrayValue.values[${i}]`));
  }
  if ('kvlistValue' in o) {
    const kv = o['kvlistValue'];
    if (kv === null || kv === undefined) return {};
    return keyValues(asObject(kv, `${field}.kvlistValue`)['values'], `${field}.kvlistValue.values`);
  }
  if ('bytesValue' in o) return optString(o['bytesValue'], `${field}.bytesValue`);
  return null;
}

/** A `KeyValue[]` list → record (a later duplicate key wins). */
export function keyValues(v: unknown, field: string): Record<string, SpanAttributeValue> {
  const out: Record<string, SpanAttributeValue> = {};
  const list = asArray(v, field);
  for (let i = 0; i < list.length; i++) {
    const kv = asObject(list[i], `${field}[${i}]`);
    const key = kv['key'];
    if (typeof key !== 'string') fail(`${field}[${i}].key`, `expected a string, got ${describe(key)}`);
    out[key] = anyValue(kv['value'], `${field}[${i}].value`);
  }
  return out;
}

function otlpSpan(
  s: unknown,
  path: string,
  line: number,
  service: string | null,
  resource: Readonly<Record<string, SpanAttributeValue>>,
  scope: JsonObject | null,
): SpanRecord {
  const o = asObject(s, path);
  const traceId = normalizeId(o['traceId'], 16, `${path}.traceId`);
  const spanId = normalizeId(o['spanId'], 8, `${path}.spanId`);
  const parentSpanId = normalizeParentId(o['parentSpanId'], `${path}.parentSpanId`);
  const name = optString(o['name'], `${path}.name`) ?? '';
  const spanKind = otlpKind(o['kind'], `${path}.kind`);
  if (o['startTimeUnixNano'] === undefined) fail(`${path}.startTimeUnixNano`, 'missing');
  if (o['endTimeUnixNano'] === undefined) fail(`${path}.endTimeUnixNano`, 'missing');
  const startNs = readInt64(o['startTimeUnixNano'], `${path}.startTimeUnixNano`);
  const endNs = readInt64(o['endTimeUnixNano'], `${path}.endTimeUnixNano`);
  if (startNs <= 0n) fail(`${path}.startTimeUnixNano`, `not a time: ${startNs}`);
  checkTimes(startNs, endNs, `${path}.endTimeUnixNano`);
  const status = otlpStatus(o['status'], `${path}.status`);
  const attributes = keyValues(o['attributes'], `${path}.attributes`);
  if (scope !== null) {
    const scopeName = scope['name'];
    const scopeVersion = scope['version'];
    if (typeof scopeName === 'string' && scopeName !== '' && !('otel.scope.name' in attributes))
      attributes['otel.scope.name'] = scopeName;
    if (typeof scopeVersion === 'string' && scopeVersion !== '' && !('otel.scope.version' in attributes))
      attributes['otel.scope.version'] = scopeVersion;
  }
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
    status,
    attributes,
    resource,
  };
}

/** All spans of one OTLP/JSON document; a bad span is one issue, its siblings still parse. */
export function* otlpSpans(doc: unknown, line: number): Generator<SpanRecord | ParseIssue> {
  if (!isObject(doc)) {
    yield { kind: 'issue', line, field: 'resourceSpans', reason: `expected an object, got ${describe(doc)}` };
    return;
  }
  if (!('resourceSpans' in doc) && Object.keys(doc).length > 0) {
    yield {
      kind: 'issue',
      line,
      field: 'resourceSpans',
      reason: 'not an OTLP trace request (no resourceSpans)',
    };
    return;
  }
  let resourceSpans: readonly unknown[];
  try {
    resourceSpans = asArray(doc['resourceSpans'], 'resourceSpans');
  } catch (e) {
    yield toIssue(line, e, 'resourceSpans');
    return;
  }
  for (let r = 0; r < resourceSpans.length; r++) {
    const rPath = `resourceSpans[${r}]`;
    let service: string | null = null;
    let resource: Readonly<Record<string, SpanAttributeValue>> = {};
    let scopes: readonly unknown[] = [];
    let scopeKey = 'scopeSpans';
    try {
      const rs = asObject(resourceSpans[r], rPath);
      const res = rs['resource'];
      if (res !== undefined && res !== null)
        resource = keyValues(
          asObject(res, `${rPath}.resource`)['attributes'],
          `${rPath}.resource.attributes`,
        );
      const sn = resource['service.name'];
      service = typeof sn === 'string' ? sn : null;
      if (rs['scopeSpans'] === undefined && rs['instrumentationLibrarySpans'] !== undefined)
        scopeKey = 'instrumentationLibrarySpans';
      scopes = asArray(rs[scopeKey], `${rPath}.${scopeKey}`);
    } catch (e) {
      yield toIssue(line, e, rPath);
      continue;
    }
    for (let s = 0; s < scopes.length; s++) {
      const sPath = `${rPath}.${scopeKey}[${s}]`;
      let spans: readonly unknown[];
      let scope: JsonObject | null = null;
      try {
        const ss = asObject(scopes[s], sPath);
        const sc = ss['scope'] ?? ss['instrumentationLibrary'];
        scope = isObject(sc) ? sc : null;
        spans = asArray(ss['spans'], `${sPath}.spans`);
      } catch (e) {
        yield toIssue(line, e, sPath);
        continue;
      }
      for (let i = 0; i < spans.length; i++) {
        const path = `${sPath}.spans[${i}]`;
        try {
          yield otlpSpan(spans[i], path, line, service, resource, scope);
        } catch (e) {
          yield toIssue(line, e, path);
        }
      }
    }
  }
}
