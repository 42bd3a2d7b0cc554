import type { ParseIssue, SpanRecord } from '@threadreel/model';
import protobuf from 'protobufjs';
import { otlpSpans } from './spans-otlp.js';

/**
 * OTLP protobuf traces → spans. The input holds `ExportTraceServiceRequest` messages (the same
 * wire layout as `TracesData`) in one of two layouts, told apart by the first bytes:
 *
 * - `single`: one message, as an OTLP/HTTP exporter POSTs it (`application/x-protobuf`). It
 *   starts with `0x0a` (field 1, length-delimited: a `ResourceSpans`).
 * - `length-prefixed`: the OpenTelemetry Collector file exporter's `format: proto`: each message
 *   preceded by its length as a 4-byte big-endian unsigned integer.
 *
 * Each `ResourceSpans` is decoded with protobufjs against the opentelemetry-proto schema
 * (vendored under `libs/parsers/proto/opentelemetry`, embedded below) and handed to the OTLP/JSON
 * converter, so both encodings give identical {@link SpanRecord}s. `line` is the 1-based ordinal
 * of the message in the file. 64-bit integers stay exact (decimal text → bigint), ids become
 * lowercase hex. A bad message is a {@link ParseIssue}; with length prefixes the next message is
 * still read. Never throws; one message is held in memory at a time, up to
 * {@link ParseOtlpProtoOptions.maxMessageBytes}.
 */

export const DEFAULT_MAX_OTLP_MESSAGE_BYTES = 256 * 1024 * 1024;

export type OtlpProtoFraming = 'single' | 'length-prefixed';

export interface ParseOtlpProtoOptions {
  /** Cap on one message, in bytes (default 256 MiB). A larger message is an issue and is skipped. */
  readonly maxMessageBytes?: number;
  /** Layout of the file; `auto` (default) tells them apart from the first byte. */
  readonly framing?: OtlpProtoFraming | 'auto';
}

/**
 * The messages of `opentelemetry/proto/{common,resource,trace,collector/trace}/v1/*.proto` that
 * the decoder uses, without their comments (`spans-otlp-proto.spec.ts` checks them against the
 * vendored files).
 */
export const OTLP_TRACE_PROTO_SOURCES: readonly string[] = [
  `syntax = "proto3";
package opentelemetry.proto.common.v1;
message AnyValue {
  oneof value {
    string string_value = 1;
    bool bool_value = 2;
    int64 int_value = 3;
    double double_value = 4;
    ArrayValue array_value = 5;
    KeyValueList kvlist_value = 6;
    bytes bytes_value = 7;
  }
}
message ArrayValue { repeated AnyValue values = 1; }
message KeyValueList { repeated KeyValue values = 1; }
message KeyValue { string key = 1; AnyValue value = 2; }
message InstrumentationScope {
  string name = 1;
  string version = 2;
  repeated KeyValue attributes = 3;
  uint32 dropped_attributes_count = 4;
}
message EntityRef {
  string schema_url = 1;
  string type = 2;
  repeated string id_keys = 3;
  repeated string description_keys = 4;
}`,
  `syntax = "proto3";
package opentelemetry.proto.resource.v1;
message Resource {
  repeated opentelemetry.proto.common.v1.KeyValue attributes = 1;
  uint32 dropped_attributes_count = 2;
  repeated opentelemetry.proto.common.v1.EntityRef entity_refs = 3;
}`,
  `syntax = "proto3";
package opentelemetry.proto.trace.v1;
message TracesData { repeated ResourceSpans resource_spans = 1; }
message ResourceSpans {
  reserved 1000;
  opentelemetry.proto.resource.v1.Resource resource = 1;
  repeated ScopeSpans scope_spans = 2;
  string schema_url = 3;
}
message ScopeSpans {
  opentelemetry.proto.common.v1.InstrumentationScope scope = 1;
  repeated Span spans = 2;
  string schema_url = 3;
}
message Span {
  bytes trace_id = 1;
  bytes span_id = 2;
  string trace_state = 3;
  bytes parent_span_id = 4;
  fixed32 flags = 16;
  string name = 5;
  enum SpanKind {
    SPAN_KIND_UNSPECIFIED = 0;
    SPAN_KIND_INTERNAL = 1;
    SPAN_KIND_SERVER = 2;
    SPAN_KIND_CLIENT = 3;
    SPAN_KIND_PRODUCER = 4;
    SPAN_KIND_CONSUMER = 5;
  }
  SpanKind kind = 6;
  fixed64 start_time_unix_nano = 7;
  fixed64 end_time_unix_nano = 8;
  repeated opentelemetry.proto.common.v1.KeyValue attributes = 9;
  uint32 dropped_attributes_count = 10;
  message Event {
    fixed64 time_unix_nano = 1;
    string name = 2;
    repeated opentelemetry.proto.common.v1.KeyValue attributes = 3;
    uint32 dropped_attributes_count = 4;
  }
  repeated Event events = 11;
  uint32 dropped_events_count = 12;
  message Link {
    bytes trace_id = 1;
    bytes span_id = 2;
    string trace_state = 3;
    repeated opentelemetry.proto.common.v1.KeyValue attributes = 4;
    uint32 dropped_attributes_count = 5;
    fixed32 flags = 6;
  }
  repeated Link links = 13;
  uint32 dropped_links_count = 14;
  Status status = 15;
}
message Status {
  reserved 1;
  string message = 2;
  enum StatusCode {
    STATUS_CODE_UNSET = 0;
    STATUS_CODE_OK = 1;
    STATUS_CODE_ERROR = 2;
  }
  StatusCode code = 3;
}
enum SpanFlags {
  SPAN_FLAGS_DO_NOT_USE = 0;
  SPAN_FLAGS_TRACE_FLAGS_MASK = 0x000000FF;
}`,
  `syntax = "proto3";
package opentelemetry.proto.collector.trace.v1;
message ExportTraceServiceRequest {
  repeated opentelemetry.proto.trace.v1.ResourceSpans resource_spans = 1;
}
message ExportTraceServiceResponse { ExportTracePartialSuccess partial_success = 1; }
message ExportTracePartialSuccess {
  int64 rejected_spans = 1;
  string error_message = 2;
}`,
];

/** The schema as a protobufjs root (parsed once, on first use). */
export function otlpTraceRoot(): protobuf.Root {
  if (rootCache === null) {
    const root = new protobuf.Root();
    for (const source of OTLP_TRACE_PROTO_SOURCES) protobuf.parse(source, root);
    root.resolveAll();
    rootCache = root;
  }
  return rootCache;
}
let rootCache: protobuf.Root | null = null;

function resourceSpansType(): protobuf.Type {
  return otlpTraceRoot().lookupType('opentelemetry.proto.trace.v1.ResourceSpans');
}

// ---------------------------------------------------------------------------------------------
// One message

const ID_BYTES: Readonly<Record<string, number>> = { traceId: 16, spanId: 8, parentSpanId: 8 };

/**
 * protobufjs object → the OTLP/JSON shape {@link otlpSpans} reads: ids as hex (a wrong-length
 * id as a text the id reader rejects, naming the length), other `bytes` as base64 (as OTLP/JSON
 * carries `bytesValue`).
 */
function jsonShape(v: unknown, key: string): unknown {
  if (v instanceof Uint8Array) {
    const b = Buffer.from(v.buffer, v.byteOffset, v.byteLength);
    const want = ID_BYTES[key];
    if (want === undefined) return b.toString('base64');
    if (b.length === want || b.length === 0) return b.toString('hex');
    return `(${b.length} bytes, not ${want}) ${b.toString('hex')}`;
  }
  if (Array.isArray(v)) return v.map((x) => jsonShape(x, ''));
  if (typeof v === 'object' && v !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = jsonShape(x, k);
    return out;
  }
  return v;
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Reads a varint of at most 32 bits at `pos`; null when cut off or over-long. */
function readVarint32(b: Uint8Array, pos: number, end: number): { value: number; next: number } | null {
  let value = 0;
  for (let i = 0; i < 5; i++) {
    if (pos + i >= end) return null;
    const c = b[pos + i] as number;
    value += (c & 0x7f) * 2 ** (7 * i);
    if (c < 0x80) return { value, next: pos + i + 1 };
  }
  return null;
}

/**
 * Skips the payload (at `pos`) of the field whose tag is at `start`; the next position, or an
 * error text.
 */
function skipField(b: Uint8Array, wire: number, start: number, pos: number): number | string {
  switch (wire) {
    case 0: {
      for (let i = pos; i < b.length && i < pos + 10; i++) if ((b[i] as number) < 0x80) return i + 1;
      return `varint of the field at byte ${start} is cut off or over-long`;
    }
    case 1:
      return pos + 8 <= b.length ? pos + 8 : `fixed64 field at byte ${start} is cut off`;
    case 5:
      return pos + 4 <= b.length ? pos + 4 : `fixed32 field at byte ${start} is cut off`;
    case 2: {
      const len = readVarint32(b, pos, b.length);
      if (len === null) return `length of the field at byte ${start} is cut off or over-long`;
      if (len.next + len.value > b.length)
        return `field at byte ${start} declares ${len.value} bytes, only ${b.length - len.next} remain (truncated message)`;
      return len.next + len.value;
    }
    default:
      return `invalid wire type ${wire} at byte ${start}`;
  }
}

interface TopField {
  readonly index: number;
  readonly bytes: Uint8Array;
}

/**
 * Splits one `ExportTraceServiceRequest` into its `ResourceSpans` payloads (unknown fields are
 * skipped); a wire error ends the walk with an error text after the payloads before it.
 */
function splitRequest(msg: Uint8Array): { readonly parts: TopField[]; readonly error: string | null } {
  const parts: TopField[] = [];
  let pos = 0;
  while (pos < msg.length) {
    const tag = readVarint32(msg, pos, msg.length);
    if (tag === null) return { parts, error: `field tag at byte ${pos} is cut off or over-long` };
    const field = Math.floor(tag.value / 8);
    const wire = tag.value % 8;
    if (field === 0) return { parts, error: `invalid field number 0 at byte ${pos}` };
    const next = skipField(msg, wire, pos, tag.next);
    if (typeof next === 'string') return { parts, error: next };
    if (field === 1) {
      if (wire !== 2)
        return { parts, error: `resource_spans (field 1) has wire type ${wire}, expected 2, at byte ${pos}` };
      const len = readVarint32(msg, tag.next, msg.length) as { value: number; next: number };
      parts.push({ index: parts.length, bytes: msg.subarray(len.next, next) });
    }
    pos = next;
  }
  return { parts, error: null };
}

/** All spans of one `ExportTraceServiceRequest` message; bad parts are issues, the rest still parse. */
export function* otlpProtoMessageSpans(msg: Uint8Array, line: number): Generator<SpanRecord | ParseIssue> {
  let type: protobuf.Type;
  try {
    type = resourceSpansType();
  } catch (e) {
    yield { kind: 'issue', line, reason: `OTLP protobuf schema failed to load: ${errorText(e)}` };
    return;
  }
  const { parts, error } = splitRequest(msg);
  for (const part of parts) {
    const field = `resourceSpans[${part.index}]`;
    let shaped: unknown;
    try {
      const decoded = type.decode(part.bytes);
      shaped = jsonShape(type.toObject(decoded, { longs: String, enums: Number }), '');
    } catch (e) {
      yield { kind: 'issue', line, field, reason: `cannot decode ResourceSpans: ${errorText(e)}` };
      continue;
    }
    try {
      for (const item of otlpSpans({ resourceSpans: [shaped] }, line)) {
        if (item.kind === 'issue' && item.field?.startsWith('resourceSpans[0]') === true)
          yield { ...item, field: field + item.field.slice('resourceSpans[0]'.length) };
        else yield item;
      }
    } catch (e) {
      yield { kind: 'issue', line, field, reason: `unexpected error: ${errorText(e)}` };
    }
  }
  if (error !== null)
    yield {
      kind: 'issue',
      line,
      field: `resourceSpans[${parts.length}]`,
      reason: `malformed protobuf: ${error}`,
    };
}

// ---------------------------------------------------------------------------------------------
// Reading the byte stream

/** FIFO of byte chunks; `take` copies out the first n bytes. */
class ByteQueue {
  private chunks: Uint8Array[] = [];
  private head = 0; // bytes of chunks[0] already consumed
  length = 0;

  push(c: Uint8Array): void {
    if (c.length === 0) return;
    this.chunks.push(c);
    this.length += c.length;
  }

  peek(n: number): Uint8Array {
    const out = new Uint8Array(Math.min(n, this.length));
    let at = 0;
    let skip = this.head;
    for (const c of this.chunks) {
      if (at >= out.length) break;
      const part = c.subarray(skip, skip + (out.length - at));
      out.set(part, at);
      at += part.length;
      skip = 0;
    }
    return out;
  }

  take(n: number): Uint8Array {
    const out = this.peek(n);
    this.drop(out.length);
    return out;
  }

  drop(n: number): void {
    let left = Math.min(n, this.length);
    this.length -= left;
    while (left > 0) {
      const c = this.chunks[0] as Uint8Array;
      const avail = c.length - this.head;
      if (left < avail) {
        this.head += left;
        return;
      }
      left -= avail;
      this.chunks.shift();
      this.head = 0;
    }
  }
}

/**
 * Parses a file of OTLP protobuf `ExportTraceServiceRequest` messages (see the module comment).
 * Yields spans and issues in file order.
 */
export async function* parseOtlpProto(
  bytes: AsyncIterable<Uint8Array>,
  options: ParseOtlpProtoOptions = {},
): AsyncGenerator<SpanRecord | ParseIssue> {
  const max = Math.max(1, options.maxMessageBytes ?? DEFAULT_MAX_OTLP_MESSAGE_BYTES);
  const queue = new ByteQueue();
  let iterator: AsyncIterator<Uint8Array>;
  let ended = false;
  let readError: string | null = null;
  try {
    iterator = bytes[Symbol.asyncIterator]();
  } catch (e) {
    yield { kind: 'issue', line: 1, reason: `cannot read the input: ${errorText(e)}` };
    return;
  }
  /** Reads until `n` bytes are queued or the input ends; true when they are there. */
  const fill = async (n: number): Promise<boolean> => {
    while (!ended && queue.length < n) {
      try {
        const r = await iterator.next();
        if (r.done === true) ended = true;
        else queue.push(r.value);
      } catch (e) {
        ended = true;
        readError = errorText(e);
      }
    }
    return queue.length >= n;
  };
  const inputError = (line: number): ParseIssue | null =>
    readError === null ? null : { kind: 'issue', line, reason: `input error: ${readError}` };

  await fill(5);
  if (queue.length === 0) {
    yield (
      inputError(1) ?? {
        kind: 'issue',
        line: 1,
        reason: 'empty input: no OTLP protobuf message',
      }
    );
    return;
  }
  const framing =
    options.framing === undefined || options.framing === 'auto'
      ? queue.peek(1)[0] === 0x0a
        ? 'single'
        : 'length-prefixed'
      : options.framing;

  if (framing === 'single') {
    await fill(max + 1);
    const err = inputError(1);
    if (err !== null) {
      yield err;
      return;
    }
    if (queue.length > max) {
      yield {
        kind: 'issue',
        line: 1,
        reason: `message larger than the ${max}-byte cap: not decoded`,
      };
      return;
    }
    yield* otlpProtoMessageSpans(queue.take(queue.length), 1);
    return;
  }

  for (let line = 1; ; line++) {
    if (!(await fill(1))) break;
    if (!(await fill(4))) {
      yield (
        inputError(line) ?? {
          kind: 'issue',
          line,
          field: 'length',
          reason: `truncated length prefix: ${queue.length} of 4 bytes at the end of the input`,
        }
      );
      return;
    }
    const p = queue.take(4);
    const declared = Buffer.from(p.buffer, p.byteOffset, 4).readUInt32BE(0);
    if (declared > max) {
      yield {
        kind: 'issue',
        line,
        field: 'length',
        reason: `declared message length ${declared} exceeds the ${max}-byte cap: message skipped`,
      };
      // Skip it without holding it; the next length prefix follows it.
      let left = declared;
      while (left > 0 && (await fill(1))) {
        const n = Math.min(left, queue.length);
        queue.drop(n);
        left -= n;
      }
      if (left > 0) {
        const err = inputError(line);
        if (err !== null) yield err;
        return;
      }
      continue;
    }
    if (!(await fill(declared))) {
      yield (
        inputError(line) ?? {
          kind: 'issue',
          line,
          field: 'length',
          reason: `truncated message: the length prefix declares ${declared} bytes, only ${queue.length} follow`,
        }
      );
      return;
    }
    yield* otlpProtoMessageSpans(queue.take(declared), line);
  }
  const err = inputError(1);
  if (err !== null) yield err;
}

// ---------------------------------------------------------------------------------------------
// Sniffing

/**
 * Walks the wire fields of `b[pos, end)` (cut at the end of `b`, which may stop mid-field):
 * every field must have a valid wire type and, when `allowed` is given, one of its
 * (field → wire type) pairs. Returns the number of fields seen, or -1 when invalid.
 */
function walkFields(
  b: Uint8Array,
  pos: number,
  end: number,
  allowed?: Readonly<Record<number, number>>,
): number {
  let n = 0;
  const stop = Math.min(end, b.length);
  while (pos < stop) {
    const tag = readVarint32(b, pos, stop);
    if (tag === null) return stop === b.length ? n : -1;
    const field = Math.floor(tag.value / 8);
    const wire = tag.value % 8;
    if (field === 0 || (wire !== 0 && wire !== 1 && wire !== 2 && wire !== 5)) return -1;
    if (allowed !== undefined && allowed[field] !== wire) return -1;
    n++;
    if (wire === 2) {
      const len = readVarint32(b, tag.next, stop);
      if (len === null) return stop === b.length ? n : -1;
      pos = len.next + len.value;
    } else if (wire === 0) {
      let i = tag.next;
      while (i < stop && (b[i] as number) >= 0x80) i++;
      pos = i + 1;
    } else pos = tag.next + (wire === 1 ? 8 : 4);
    if (pos > end) return -1;
  }
  return n;
}

/** Fields of ResourceSpans, Resource, ScopeSpans (field → wire type). */
const RESOURCE_SPANS_FIELDS = { 1: 2, 2: 2, 3: 2 };
const RESOURCE_FIELDS = { 1: 2, 2: 0, 3: 2 };
const SCOPE_SPANS_FIELDS = { 1: 2, 2: 2, 3: 2 };

function looksLikeRequest(b: Uint8Array, pos: number, end: number): boolean {
  if (b[pos] !== 0x0a) return false;
  const len = readVarint32(b, pos + 1, b.length);
  if (len === null || len.value < 2 || len.next + len.value > end) return false;
  const rsEnd = len.next + len.value;
  if (walkFields(b, len.next, rsEnd, RESOURCE_SPANS_FIELDS) < 1) return false;
  // The first field of the ResourceSpans, one level down.
  const first = b[len.next];
  const inner = readVarint32(b, len.next + 1, b.length);
  if (inner === null) return true;
  const innerEnd = inner.next + inner.value;
  const allowed = first === 0x0a ? RESOURCE_FIELDS : first === 0x12 ? SCOPE_SPANS_FIELDS : undefined;
  return walkFields(b, inner.next, innerEnd, allowed) >= (inner.value > 0 ? 1 : 0);
}

/**
 * True when the first bytes look like OTLP protobuf traces: a `ResourceSpans` (field 1,
 * length-delimited, with valid ResourceSpans fields) at the start, or after a 4-byte big-endian
 * length prefix. Only the first KiB is read.
 */
export function sniffOtlpProto(head: Uint8Array): boolean {
  const b = head.subarray(0, 1024);
  if (b.length < 4) return false;
  if (b[0] === 0x0a) return looksLikeRequest(b, 0, Number.MAX_SAFE_INTEGER);
  if (b.length >= 6 && b[4] === 0x0a) {
    const declared =
      (b[0] as number) * 2 ** 24 + (b[1] as number) * 2 ** 16 + (b[2] as number) * 256 + (b[3] as number);
    return declared >= 2 && looksLikeRequest(b, 4, 4 + declared);
  }
  return false;
}
