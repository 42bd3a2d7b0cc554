import { open } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';
import type { Readable } from 'node:stream';
import {
  chooseFormat,
  PERF_CLOCK_HEADER_KEYS,
  readLineBatches,
  type SourceFormat,
} from '@threadreel/parsers';
import {
  manifestEntryFor,
  type CaptureManifest,
  type ManifestFile,
  type ParseIssue,
  type RejectedLine,
  type SourceHeader,
} from '@threadreel/model';
import { poolOf } from '@threadreel/store';
import type { ParseFileData } from '../job-names.js';
import type { JobContext, JobProcessor } from '../registry.js';
import type { JobDeps } from './deps.js';
import { headBytes, pipelineFor, type Parsed } from './pipelines.js';

export type { ParseFileData };

const KEEP_REJECTED = 20;
/** Header keys kept even past the 100-key cap (perf's clock: the correlation reads them). */
const KEPT_HEADERS: ReadonlySet<string> = new Set(PERF_CLOCK_HEADER_KEYS);
const SNIFF_BYTES = 64 * 1024;

export interface ParseFileResult {
  fileId: string;
  format: string | null;
  events: number;
  rejected: number;
  skipped?: string;
}

/**
 * Parses one source file into its capture's event tables. Idempotent: its rows are
 * replaced in one transaction, so a retry after a crash leaves the same rows as a
 * clean run.
 */
export class ParseFileJob implements JobProcessor<'parse-file'> {
  readonly name = 'parse-file' as const;

  constructor(private readonly deps: JobDeps) {}

  /** The manifest's entry for this file (if it describes it) and the file's time zone. */
  private async declared(
    captureId: string,
    fileName: string,
  ): Promise<{ entry: ManifestFile | null; timeZone: string | undefined }> {
    const capture = await this.deps.captures.get(captureId);
    if (!capture?.manifest) return { entry: null, timeZone: undefined };
    const manifest = capture.manifest as CaptureManifest;
    const files = await this.deps.captures.files(captureId);
    const manifestName = files.find((f) => isManifestName(f.name))?.name ?? null;
    const entry = manifestEntryFor(manifest, manifestName, fileName);
    return { entry, timeZone: entry?.timeZone ?? manifest.timeZone };
  }

  async process(data: ParseFileData, ctx: JobContext): Promise<ParseFileResult> {
    const { captures, blobs } = this.deps;
    const file = await captures.file(data.fileId);
    if (!file)
      return { fileId: data.fileId, format: null, events: 0, rejected: 0, skipped: 'capture deleted' };
    await captures.markParsing(data.captureId);
    await captures.incrementAttempts(file.id);
    await captures.updateFile(file.id, { state: 'parsing', parsedBy: ctx.workerId, error: null, note: null });

    const started = performance.now();
    const path = blobs.pathOf(file.sha256);
    const head = await readHead(path);
    if (isManifestName(file.name)) {
      await captures.updateFile(file.id, { state: 'parsed', format: 'manifest', parseMs: 0 });
      return { fileId: file.id, format: 'manifest', events: 0, rejected: 0 };
    }
    const { entry, timeZone } = await this.declared(data.captureId, file.name);
    const choice = chooseFormat(headBytes(head), file.name, entry);
    const detection = {
      detectedFormat: choice.detected?.format ?? null,
      detectConfidence: choice.detected?.confidence ?? null,
      detectReason: choice.detected?.reason ?? null,
    };
    if ('stored' in choice) {
      // The manifest says what this file is, but nothing here parses it: keep it (its bytes
      // are stored) and say why, rather than calling it broken.
      await captures.updateFile(file.id, {
        ...detection,
        state: 'stored',
        format: choice.stored,
        clock: entry?.clock ?? null,
        error: null,
        note: `stored unparsed (${entry?.role ?? choice.role ?? 'unknown role'}): ${choice.reason}`,
        parseMs: elapsed(started),
      });
      return { fileId: file.id, format: choice.stored, events: 0, rejected: 0 };
    }
    if ('unknown' in choice) {
      const error = looksBinary(head)
        ? `${file.name}: unrecognised format: binary data that is not a known profile (expected perf script, strace, spans, logs, GC logs, JFR JSON, jstack, threads.jsonl or a thread listing, pprof or py-spy output)`
        : `${file.name}: unrecognised format: no known header in the first lines (name its role and format in manifest.json)`;
      await captures.updateFile(file.id, {
        ...detection,
        state: 'failed',
        format: null,
        error,
        parseMs: elapsed(started),
      });
      return { fileId: file.id, format: null, events: 0, rejected: 0 };
    }
    const pipeline = pipelineFor(choice.format, {
      pool: poolOf(this.deps.ds),
      captureId: data.captureId,
      fileOrdinal: file.ordinal,
      timeZone,
    });

    await captures.ensurePartitions(data.captureId);
    const rejected: RejectedLine[] = [];
    const headers: Record<string, string> = {};
    let rejectedCount = 0;
    let events = 0;
    let lines = 0;
    let inputError: string | null = null;
    try {
      await pipeline.writer.begin();
      const items = (
        pipeline.input === 'lines'
          ? pipeline.parse(countLines(readLineBatches(blobs.read(file.sha256)), (n) => (lines = n)))
          : pipeline.parse(decompressed(blobs.read(file.sha256), head))
      )[Symbol.asyncIterator]();
      for (;;) {
        let next: IteratorResult<readonly Parsed[]>;
        try {
          next = await items.next();
        } catch (e) {
          // Corrupt or truncated input: keep what was read before it, report where it broke.
          inputError = `${file.name}: line ${lines + 1}: ${e instanceof Error ? e.message : String(e)}`;
          break;
        }
        if (next.done) break;
        for (const item of next.value) {
          if (item.kind === 'issue') {
            const issue = item as ParseIssue;
            rejectedCount++;
            if (rejected.length < KEEP_REJECTED) {
              rejected.push(
                issue.field
                  ? { line: issue.line, field: issue.field, reason: issue.reason }
                  : { line: issue.line, reason: issue.reason },
              );
            }
          } else if (item.kind === 'header') {
            const h = item as SourceHeader;
            if (Object.keys(headers).length < 100 || h.key in headers || KEPT_HEADERS.has(h.key))
              headers[h.key] = h.value;
          } else {
            // add() is synchronous unless it must reach the database: no await per record.
            const pending = pipeline.writer.add(item as { kind: string; line: number });
            if (pending) await pending;
            events++;
          }
        }
      }
      await pipeline.writer.commit();
    } catch (e) {
      await pipeline.writer.rollback();
      const message = e instanceof Error ? e.message : String(e);
      if (ctx.attemptsMade + 1 >= ctx.attempts) {
        await captures.updateFile(file.id, {
          state: 'failed',
          error: `${file.name}: ${message}`,
          parseMs: elapsed(started),
        });
      }
      throw e;
    }
    await captures.updateFile(file.id, {
      ...detection,
      state: inputError && events === 0 ? 'failed' : 'parsed',
      format: pipeline.format,
      clock: entry?.clock ?? defaultClock(pipeline.format, headers),
      lines: String(lines),
      events: String(events),
      rejectedCount: String(rejectedCount),
      rejected,
      headers,
      ...pipeline.extra(),
      parseMs: elapsed(started),
      error: inputError,
    });
    ctx.log(
      `${file.name} (${pipeline.format}, ${choice.reason}): ${events} events, ${rejectedCount} rejected lines, ${lines} lines`,
    );
    return { fileId: file.id, format: pipeline.format, events, rejected: rejectedCount };
  }
}

/** A binary file's bytes, gunzipped when it is gzip (the head says). */
function decompressed(stream: Readable, head: Buffer): AsyncIterable<Uint8Array> {
  const gz = head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;
  return (gz ? stream.pipe(createGunzip()) : stream) as AsyncIterable<Uint8Array>;
}

/**
 * The clock a format's timestamps are in when the manifest does not say. perf's is the
 * `clockid` its parser derived from the header (the `# clockid:` line, else the events'
 * perf_event_attr, else `-k` in the recorded command line, else `perf-default` for a header
 * naming no clock: see libs/parsers/src/perf-header.ts); `perf-default` (sched_clock) when the
 * file has no header at all.
 */
function defaultClock(format: SourceFormat, headers: Record<string, string>): string | null {
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

function elapsed(started: number): number {
  return Math.round(performance.now() - started);
}

async function* countLines(
  batches: AsyncIterable<readonly string[]>,
  report: (n: number) => void,
): AsyncGenerator<readonly string[]> {
  let n = 0;
  for await (const batch of batches) {
    n += batch.length;
    report(n);
    yield batch;
  }
}

/** The first bytes of a stored file, for format detection. */
async function readHead(path: string): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(SNIFF_BYTES);
    const { bytesRead } = await fh.read(buf, 0, SNIFF_BYTES, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

export function isManifestName(name: string): boolean {
  return name === 'manifest.json' || name.endsWith('/manifest.json');
}

function looksBinary(head: Buffer): boolean {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return false;
  let odd = 0;
  for (const b of head) if (b === 0 || (b < 9 && b !== 0)) odd++;
  return head.length > 0 && odd / head.length > 0.01;
}
