import { constants, gunzipSync } from 'node:zlib';
import type { ParseIssue, SourceHeader } from '@threadreel/model';
import type { SourceFormat } from './formats.js';
import { parseGoGctrace } from './gc-go.js';
import { parseJvmGcLog } from './gc-jvm.js';
import { parseNodeTraceGc } from './gc-node.js';
import { parsePythonGcJsonl } from './gc-python.js';
import { parseJfrJson } from './jfr-json.js';
import { parseJstack } from './jstack.js';
import { parseLogs } from './logs.js';
import { parsePerfHeaderOnly } from './perf-header.js';
import { parsePerfScriptBatches } from './perf-script.js';
import { parsePprof } from './pprof.js';
import { parsePyspyChromeTrace, parsePyspySpeedscope } from './pyspy.js';
import { parseSpans } from './spans.js';
import { parseOtlpProto } from './spans-otlp-proto.js';
import { parseStraceBatches } from './strace.js';
import { parseThreadList } from './thread-list.js';
import { parseThreadsJsonl } from './threads-jsonl.js';

/** Anything a parser yields: records of its kind, issues, header facts. */
export type Parsed = { readonly kind: string; readonly line: number } | ParseIssue | SourceHeader;

/**
 * How a format's parser reads a file: line batches (text formats) or raw bytes (protobuf). It
 * yields items in batches, so its consumer pays one asynchronous step per batch, not per item.
 */
export type FormatParser =
  | {
      readonly input: 'lines';
      parse(batches: AsyncIterable<readonly string[]>): AsyncIterable<readonly Parsed[]>;
    }
  | { readonly input: 'bytes'; parse(bytes: AsyncIterable<Uint8Array>): AsyncIterable<readonly Parsed[]> };

export interface ParserOptions {
  /** IANA zone for local times without an offset (logs, jstack). */
  readonly timeZone?: string;
  /** Number of the first line read (a byte range of a file starts further on); default 1. */
  readonly firstLine?: number;
}

async function* flat(batches: AsyncIterable<readonly string[]>): AsyncGenerator<string> {
  for await (const batch of batches) yield* batch;
}

/** Items one by one as batches of one (formats whose parsers do not batch: low volume). */
async function* single(items: AsyncIterable<Parsed>): AsyncGenerator<readonly Parsed[]> {
  for await (const item of items) yield [item];
}

/** Adapts a parser of single lines to line batches. */
const perLine = (parse: (lines: AsyncIterable<string>) => AsyncIterable<Parsed>): FormatParser => ({
  input: 'lines',
  parse: (batches) => single(parse(flat(batches))),
});

/** The parser of one source format (the parse job and in-memory captures both read files through it). */
export function parserFor(format: SourceFormat, options: ParserOptions = {}): FormatParser {
  const zone = options.timeZone ? { timeZone: options.timeZone } : {};
  switch (format) {
    case 'perf-script':
      return {
        input: 'lines',
        parse: (batches) =>
          parsePerfScriptBatches(
            batches,
            options.firstLine === undefined ? {} : { firstLine: options.firstLine },
          ),
      };
    case 'perf-header':
      return perLine(parsePerfHeaderOnly);
    case 'strace':
      // Never cut into byte ranges (an unfinished call's halves may fall on both sides).
      return { input: 'lines', parse: (batches) => parseStraceBatches(batches) };
    case 'otlp-json':
    case 'jaeger-json':
    case 'zipkin-json':
      return perLine((l) => parseSpans(l, format));
    case 'otlp-proto':
      return { input: 'bytes', parse: (b) => single(parseOtlpProto(b)) };
    case 'logs':
      return perLine((l) => parseLogs(l, zone));
    case 'jvm-unified':
      return perLine(parseJvmGcLog);
    case 'node-trace-gc':
      return perLine(parseNodeTraceGc);
    case 'go-gctrace':
      return perLine(parseGoGctrace);
    case 'python-gc-jsonl':
      return perLine(parsePythonGcJsonl);
    case 'jfr-json':
      return perLine((l) => parseJfrJson(l));
    case 'jstack':
      return perLine((l) => parseJstack(l, zone));
    case 'threads-jsonl':
      return perLine((l) => parseThreadsJsonl(l));
    case 'thread-list':
      return perLine((l) => parseThreadList(l));
    case 'pprof':
      return { input: 'bytes', parse: (b) => single(parsePprof(b)) };
    case 'pyspy-speedscope':
      return perLine((l) => parsePyspySpeedscope(l));
    case 'pyspy-chrometrace':
      return perLine((l) => parsePyspyChromeTrace(l));
  }
}

/**
 * The clock a format's timestamps are in when the manifest does not say. perf's is the
 * `clockid` its parser derived from the header (the `# clockid:` line, else the events'
 * perf_event_attr, else `-k` in the recorded command line, else `perf-default` for a header
 * naming no clock: see perf-header.ts); `perf-default` (sched_clock) when the file has no
 * header at all. Null: the format carries its clock (or zone) on every record, or has no times.
 */
export function defaultClock(format: SourceFormat, headers: Readonly<Record<string, string>>): string | null {
  switch (format) {
    case 'perf-script':
    case 'perf-header':
      return headers['clockid'] ?? 'perf-default';
    case 'threads-jsonl':
      return 'monotonic';
    case 'thread-list':
      // A listing says which threads existed, not when.
      return null;
    case 'jstack':
      return 'local-wall';
    case 'pprof':
    case 'pyspy-speedscope':
    case 'pyspy-chrometrace':
      return 'relative';
    case 'strace':
    case 'logs':
    case 'jvm-unified':
    case 'node-trace-gc':
    case 'go-gctrace':
    case 'python-gc-jsonl':
      // Per record: these formats carry their clock (or zone) on every event.
      return null;
    case 'otlp-json':
    case 'otlp-proto':
    case 'jaeger-json':
    case 'zipkin-json':
    case 'jfr-json':
      return 'realtime';
  }
}

/** A file's first bytes decompressed as far as they go (gzip), for the format detectors. */
export function headBytes(head: Buffer): Buffer {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) {
    try {
      return gunzipSync(head, { finishFlush: constants.Z_SYNC_FLUSH });
    } catch {
      return Buffer.alloc(0);
    }
  }
  return head;
}
