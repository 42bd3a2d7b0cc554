import type { Nanos } from './time.js';

/** Span kind, OTLP's `SpanKind` without the prefix (Jaeger `span.kind` tag, Zipkin `kind`). */
export type SpanKind = 'server' | 'client' | 'producer' | 'consumer' | 'internal' | 'unspecified';

/** Span status: OTLP `status.code`, Jaeger/Zipkin `otel.status_code` / `error` tags. */
export type SpanStatus = 'ok' | 'error' | 'unset';

/**
 * An attribute value as the source carried it. Integers are `number` while they are safe
 * (|n| <= 2^53 - 1) and `bigint` beyond; OTLP `bytesValue` and Jaeger `binary` stay base64
 * text; an OTLP `AnyValue` with no value set is `null`. Zipkin tag values are always strings.
 */
export type SpanAttributeValue =
  | string
  | number
  | boolean
  | bigint
  | null
  | readonly SpanAttributeValue[]
  | { readonly [key: string]: SpanAttributeValue };

export type SpanAttributes = Readonly<Record<string, SpanAttributeValue>>;

/** One request span (OTLP/JSON, Jaeger JSON or Zipkin v2 JSON), normalised. */
export interface SpanRecord {
  readonly kind: 'span';
  /** 1-based line where the JSON document holding the span starts in its source file. */
  readonly line: number;
  /** 32 lowercase hex characters (64-bit ids are left-padded with zeros). */
  readonly traceId: string;
  /** 16 lowercase hex characters. */
  readonly spanId: string;
  /** 16 lowercase hex characters; null on a root span. */
  readonly parentSpanId: string | null;
  readonly name: string;
  readonly spanKind: SpanKind;
  /** `service.name` of the resource / Jaeger process / Zipkin local endpoint. */
  readonly service: string | null;
  /** UTC epoch nanoseconds. */
  readonly startNs: Nanos;
  readonly endNs: Nanos;
  readonly status: SpanStatus;
  /** Every span attribute / tag (`thread.id`, `thread.name`, `http.route`, …). */
  readonly attributes: SpanAttributes;
  /** Resource attributes (OTLP) or process tags (Jaeger); Zipkin: `service.name` only. */
  readonly resource: SpanAttributes;
}
