import { constants, gunzipSync } from 'node:zlib';
import {
  parseGoGctrace,
  parseJfrJson,
  parseJstack,
  parseJvmGcLog,
  parseLogs,
  parseNodeTraceGc,
  parseOtlpProto,
  parsePerfHeaderOnly,
  parsePerfScriptBatches,
  parsePprof,
  parsePyspyChromeTrace,
  parsePyspySpeedscope,
  parsePythonGcJsonl,
  parseSpans,
  parseStraceBatches,
  parseThreadList,
  parseThreadsJsonl,
  type SourceFormat,
} from '@threadreel/parsers';
import type { ParseIssue, SourceHeader } from '@threadreel/model';
import {
  EventWriter,
  GC_TABLE,
  LOG_TABLE,
  RUNTIME_TABLE,
  SPAN_TABLE,
  SYSCALL_TABLE,
  THREAD_TABLE,
  type EventTable,
} from '@threadreel/store';
import type pg from 'pg';

/** Anything a parser yields: records of its kind, issues, header facts. */
export type Parsed = { readonly kind: string; readonly line: number } | ParseIssue | SourceHeader;

/** Parsers yield items in batches, so the writer pays one asynchronous step per batch. */
type LineParser = (batches: AsyncIterable<readonly string[]>) => AsyncIterable<readonly Parsed[]>;
type ByteParser = (bytes: AsyncIterable<Uint8Array>) => AsyncIterable<readonly Parsed[]>;

/** One source format: how its parser reads the file and what its records are written to. */
export type Pipeline = {
  readonly format: SourceFormat;
  readonly writer: EventWriter;
  /** Report fields of this format (perf: its first events). */
  extra(): { firstEvent?: string | null; firstSampleEvent?: string | null };
} & (
  | { readonly input: 'lines'; readonly parse: LineParser }
  | { readonly input: 'bytes'; readonly parse: ByteParser }
);

export interface Target {
  pool: pg.Pool;
  captureId: string;
  fileOrdinal: number;
  /** IANA zone for local times without an offset (file's, else the capture's). */
  timeZone: string | undefined;
  /** Number of the first line read (a byte range of a file starts further on); default 1. */
  firstLine?: number;
}

async function* flat(batches: AsyncIterable<readonly string[]>): AsyncGenerator<string> {
  for await (const batch of batches) yield* batch;
}

/** Items one by one as batches of one (formats whose parsers do not batch: low volume). */
async function* single(items: AsyncIterable<Parsed>): AsyncGenerator<readonly Parsed[]> {
  for await (const item of items) yield [item];
}

/** Adapts a parser of single lines to line batches. */
const perLine =
  (parse: (lines: AsyncIterable<string>) => AsyncIterable<Parsed>): LineParser =>
  (batches) =>
    single(parse(flat(batches)));

function tables(format: SourceFormat): { samples?: boolean; tables?: readonly EventTable<never>[] } {
  const t = (...list: EventTable<never>[]) => ({ tables: list });
  switch (format) {
    case 'perf-script':
    case 'pprof':
    case 'pyspy-speedscope':
    case 'pyspy-chrometrace':
      return { samples: true };
    case 'perf-header':
      // Header facts only (kept in the file's headers), no rows.
      return {};
    case 'strace':
      return t(SYSCALL_TABLE);
    case 'otlp-json':
    case 'otlp-proto':
    case 'jaeger-json':
    case 'zipkin-json':
      return t(SPAN_TABLE);
    case 'logs':
      return t(LOG_TABLE);
    case 'jvm-unified':
    case 'node-trace-gc':
    case 'go-gctrace':
    case 'python-gc-jsonl':
      return t(GC_TABLE);
    case 'jfr-json':
      return {
        samples: true,
        tables: [RUNTIME_TABLE, THREAD_TABLE, GC_TABLE],
      };
    case 'jstack':
    case 'threads-jsonl':
    case 'thread-list':
      return t(THREAD_TABLE);
  }
}

/** The pipeline that parses and stores a file of this format. */
export function pipelineFor(format: SourceFormat, target: Target): Pipeline {
  const writer = new EventWriter(target.pool, target.captureId, target.fileOrdinal, tables(format));
  const zone = target.timeZone;
  const base = { format, writer, extra: () => ({}) };
  switch (format) {
    case 'perf-script': {
      let firstEvent: string | null = null;
      let firstSampleEvent: string | null = null;
      return {
        ...base,
        input: 'lines',
        parse: async function* (batches) {
          for await (const batch of parsePerfScriptBatches(batches, { firstLine: target.firstLine })) {
            if (firstSampleEvent === null)
              for (const item of batch) {
                if (item.kind !== 'perf') continue;
                firstEvent ??= item.event;
                if (item.trace === null) firstSampleEvent ??= item.event;
              }
            yield batch;
          }
        },
        extra: () => ({ firstEvent, firstSampleEvent }),
      };
    }
    case 'perf-header':
      return { ...base, input: 'lines', parse: perLine(parsePerfHeaderOnly) };
    case 'strace':
      return { ...base, input: 'lines', parse: (b) => parseStraceBatches(b) };
    case 'otlp-json':
    case 'jaeger-json':
    case 'zipkin-json':
      return { ...base, input: 'lines', parse: perLine((l) => parseSpans(l, format)) };
    case 'otlp-proto':
      return { ...base, input: 'bytes', parse: (b) => single(parseOtlpProto(b)) };
    case 'logs':
      return { ...base, input: 'lines', parse: perLine((l) => parseLogs(l, zone ? { timeZone: zone } : {})) };
    case 'jvm-unified':
      return { ...base, input: 'lines', parse: perLine(parseJvmGcLog) };
    case 'node-trace-gc':
      return { ...base, input: 'lines', parse: perLine(parseNodeTraceGc) };
    case 'go-gctrace':
      return { ...base, input: 'lines', parse: perLine(parseGoGctrace) };
    case 'python-gc-jsonl':
      return { ...base, input: 'lines', parse: perLine(parsePythonGcJsonl) };
    case 'jfr-json':
      return { ...base, input: 'lines', parse: perLine((l) => parseJfrJson(l)) };
    case 'jstack':
      return {
        ...base,
        input: 'lines',
        parse: perLine((l) => parseJstack(l, zone ? { timeZone: zone } : {})),
      };
    case 'threads-jsonl':
      return { ...base, input: 'lines', parse: perLine((l) => parseThreadsJsonl(l)) };
    case 'thread-list':
      return { ...base, input: 'lines', parse: perLine((l) => parseThreadList(l)) };
    case 'pprof':
      return { ...base, input: 'bytes', parse: (b) => single(parsePprof(b)) };
    case 'pyspy-speedscope':
      return { ...base, input: 'lines', parse: perLine((l) => parsePyspySpeedscope(l)) };
    case 'pyspy-chrometrace':
      return { ...base, input: 'lines', parse: perLine((l) => parsePyspyChromeTrace(l)) };
  }
}

/** The first bytes decompressed as far as they go (gzip), for the detectors. */
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
