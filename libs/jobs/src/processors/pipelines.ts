import { constants, gunzipSync } from 'node:zlib';
import {
  parseJvmGcLog,
  parseLogs,
  parseNodeTraceGc,
  parsePerfScript,
  parsePythonGcJsonl,
  parseGoGctrace,
  parseSpans,
  parseStrace,
  sniffGcFormat,
  sniffSpanFormat,
  SPAN_FORMATS,
  type GcFormat,
  type SpanFormat,
} from '@threadreel/parsers';
import type { ManifestFile, ParseIssue, SourceHeader } from '@threadreel/model';
import {
  GC_TABLE,
  LOG_TABLE,
  PerfSampleWriter,
  SourceEventWriter,
  SPAN_TABLE,
  SYSCALL_TABLE,
  type EventTable,
} from '@threadreel/store';
import type pg from 'pg';

/** Anything a parser yields: records of its kind, issues, header facts. */
export type Parsed = { readonly kind: string; readonly line: number } | ParseIssue | SourceHeader;

/** One source format: its parser and where its records go. */
export interface Pipeline {
  readonly format: string;
  begin(): Promise<void>;
  items(batches: AsyncIterable<readonly string[]>): AsyncIterable<Parsed>;
  /** Stores one record (kind other than issue/header); a promise only when it must wait. */
  add(item: Parsed): Promise<void> | undefined;
  commit(): Promise<void>;
  rollback(): Promise<void>;
  /** Report fields of this format (perf: its first events). */
  extra(): { firstEvent?: string | null; firstSampleEvent?: string | null };
}

export interface Target {
  pool: pg.Pool;
  captureId: string;
  fileOrdinal: number;
  /** IANA zone for local times without an offset (file's, else the capture's). */
  timeZone: string | undefined;
}

/** The pipeline for a file, or why none applies: `stored` (known, no parser) or `unknown`. */
export function choosePipeline(
  sniffed: string | null,
  entry: ManifestFile | null,
  head: string,
  target: Target,
): Pipeline | { stored: string } | { unknown: true } {
  if (sniffed === 'perf-script') return perfPipeline(target);
  const declared = entry?.format;
  if (entry?.role === 'strace' || declared === 'strace')
    return eventPipeline('strace', SYSCALL_TABLE, target, (l) => parseStrace(l));
  const spanFormat: SpanFormat | null =
    declared && (SPAN_FORMATS as readonly string[]).includes(declared)
      ? (declared as SpanFormat)
      : sniffSpanFormat(head);
  if (spanFormat && (entry === null || entry.role === 'spans')) {
    return eventPipeline(spanFormat, SPAN_TABLE, target, (l) => parseSpans(l, spanFormat));
  }
  if (entry?.role === 'logs') {
    const zone = target.timeZone;
    return eventPipeline('logs', LOG_TABLE, target, (l) => parseLogs(l, zone ? { timeZone: zone } : {}));
  }
  const gcFormat = sniffGcFormat(head);
  if (gcFormat && (entry === null || entry.role === 'gc'))
    return eventPipeline(gcFormat, GC_TABLE, target, gcParser(gcFormat));
  if (entry) return { stored: declared ?? entry.role };
  return { unknown: true };
}

function gcParser(format: GcFormat): (lines: AsyncIterable<string>) => AsyncIterable<Parsed> {
  switch (format) {
    case 'jvm-unified':
      return parseJvmGcLog;
    case 'node-trace-gc':
      return parseNodeTraceGc;
    case 'python-gc-jsonl':
      return parsePythonGcJsonl;
    case 'go-gctrace':
      return parseGoGctrace;
  }
}

async function* lines(batches: AsyncIterable<readonly string[]>): AsyncGenerator<string> {
  for await (const batch of batches) yield* batch;
}

function eventPipeline<T extends { readonly kind: string; readonly line: number }>(
  format: string,
  table: EventTable<T>,
  target: Target,
  parse: (lines: AsyncIterable<string>) => AsyncIterable<Parsed>,
): Pipeline {
  const writer = new SourceEventWriter<T>(target.pool, table, target.captureId, target.fileOrdinal);
  return {
    format,
    begin: () => writer.begin(),
    items: (batches) => parse(lines(batches)),
    // Signals, process exits and other non-row items of a parser are counted but not stored.
    add: (item) => (table.kinds.includes(item.kind) ? writer.add(item as unknown as T) : undefined),
    commit: async () => {
      await writer.commit();
    },
    rollback: () => writer.rollback(),
    extra: () => ({}),
  };
}

function perfPipeline(target: Target): Pipeline {
  const writer = new PerfSampleWriter(target.pool, target.captureId, target.fileOrdinal);
  let firstEvent: string | null = null;
  let firstSampleEvent: string | null = null;
  return {
    format: 'perf-script',
    begin: () => writer.begin(),
    items: (batches) => parsePerfScript(batches),
    add: (item) => {
      if (item.kind !== 'perf') return undefined;
      const rec = item as Parameters<PerfSampleWriter['add']>[0];
      firstEvent ??= rec.event;
      if (rec.trace === null) firstSampleEvent ??= rec.event;
      return writer.add(rec);
    },
    commit: async () => {
      await writer.commit();
    },
    rollback: () => writer.rollback(),
    extra: () => ({ firstEvent, firstSampleEvent }),
  };
}

/** The first bytes as text for the sniffers, decompressing a gzip head as far as it goes. */
export function headText(head: Buffer): string {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) {
    try {
      return gunzipSync(head, { finishFlush: constants.Z_SYNC_FLUSH }).toString('utf8');
    } catch {
      return '';
    }
  }
  return head.toString('utf8');
}
