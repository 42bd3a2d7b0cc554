import type { ParseIssue, SpanRecord } from '@threadreel/model';
import { jaegerSpans, zipkinSpans } from './spans-jaeger-zipkin.js';
import { DEFAULT_MAX_DOCUMENT_CHARS, readJsonDocuments } from './spans-json.js';
import { otlpSpans } from './spans-otlp.js';

/**
 * Request-span parsers: OTLP/JSON (`ExportTraceServiceRequest`, one per line or one
 * pretty-printed document), Jaeger query-API JSON and Zipkin v2 JSON. Streaming (one JSON
 * document in memory at a time), exact 64-bit integers, never throws: every document or span
 * that cannot be accepted is a {@link ParseIssue} and the rest of the file is still parsed.
 */

export const SPAN_FORMATS = ['otlp-json', 'jaeger-json', 'zipkin-json'] as const;
export type SpanFormat = (typeof SPAN_FORMATS)[number];

export interface ParseSpansOptions {
  /** Cap on one multi-line JSON document, in characters (default 64 Mi). */
  readonly maxDocumentChars?: number;
}

export async function* parseSpans(
  lines: AsyncIterable<string>,
  format: SpanFormat,
  options: ParseSpansOptions = {},
): AsyncGenerator<SpanRecord | ParseIssue> {
  const convert = format === 'otlp-json' ? otlpSpans : format === 'jaeger-json' ? jaegerSpans : zipkinSpans;
  for await (const doc of readJsonDocuments(lines, options.maxDocumentChars ?? DEFAULT_MAX_DOCUMENT_CHARS)) {
    if (doc.kind === 'issue') {
      yield doc;
      continue;
    }
    try {
      yield* convert(doc.value, doc.line);
    } catch (e) {
      // The converters catch per span; this only guards against a bug in them.
      yield {
        kind: 'issue',
        line: doc.line,
        reason: `unexpected error: ${e instanceof Error ? e.message : String(e)}`,
      };
    }
  }
}

/**
 * Guesses the span format from the first text of a file (a chunk is enough; the document may be
 * cut off). Returns null when the text does not look like any of them.
 */
export function sniffSpanFormat(firstText: string): SpanFormat | null {
  const text = firstText.charCodeAt(0) === 0xfeff ? firstText.slice(1) : firstText;
  const start = /\S/.exec(text);
  if (start === null) return null;
  const c = text[start.index];
  const head = text.slice(0, 1 << 20);
  if (c === '{') {
    if (/"(resourceSpans|scopeSpans|instrumentationLibrarySpans)"\s*:/.test(head)) return 'otlp-json';
    if (/"(traceID|spanID|operationName)"\s*:/.test(head)) return 'jaeger-json';
    if (/"traceId"\s*:/.test(head) && /"id"\s*:/.test(head) && /"(timestamp|localEndpoint)"\s*:/.test(head))
      return 'zipkin-json';
    return null;
  }
  if (c === '[') {
    if (/"(traceID|spanID|operationName)"\s*:/.test(head)) return 'jaeger-json';
    if (/"traceId"\s*:/.test(head) && /"id"\s*:/.test(head)) return 'zipkin-json';
  }
  return null;
}
