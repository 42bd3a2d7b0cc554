import { parserFor, type FormatParser, type Parsed, type SourceFormat } from '@threadreel/parsers';
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
import type { PerfRecord } from '@threadreel/model';

export type { Parsed };

/** One source format: how its parser reads the file and what its records are written to. */
export type Pipeline = {
  readonly format: SourceFormat;
  readonly writer: EventWriter;
  /** Report fields of this format (perf: its first events). */
  extra(): { firstEvent?: string | null; firstSampleEvent?: string | null };
} & FormatParser;

export interface Target {
  pool: pg.Pool;
  captureId: string;
  fileOrdinal: number;
  /** IANA zone for local times without an offset (file's, else the capture's). */
  timeZone: string | undefined;
  /** Number of the first line read (a byte range of a file starts further on); default 1. */
  firstLine?: number;
}

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
  const parser = parserFor(format, {
    ...(target.timeZone ? { timeZone: target.timeZone } : {}),
    ...(target.firstLine !== undefined ? { firstLine: target.firstLine } : {}),
  });
  const base = { format, writer, extra: () => ({}) };
  if (format !== 'perf-script' || parser.input !== 'lines') return { ...base, ...parser };
  let firstEvent: string | null = null;
  let firstSampleEvent: string | null = null;
  return {
    ...base,
    input: 'lines',
    parse: async function* (batches) {
      for await (const batch of parser.parse(batches)) {
        if (firstSampleEvent === null)
          for (const item of batch) {
            if (item.kind !== 'perf') continue;
            const rec = item as PerfRecord;
            firstEvent ??= rec.event;
            if (rec.trace === null) firstSampleEvent ??= rec.event;
          }
        yield batch;
      }
    },
    extra: () => ({ firstEvent, firstSampleEvent }),
  };
}
