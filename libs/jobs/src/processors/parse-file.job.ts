import { open } from 'node:fs/promises';
import { readLineBatches, sniffFormat } from '@threadreel/parsers';
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
import { choosePipeline, headText, type Parsed } from './pipelines.js';

export type { ParseFileData };

const KEEP_REJECTED = 20;
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
    const sniffed = sniffFormat(head, file.name);
    const { entry, timeZone } = sniffed
      ? { entry: null, timeZone: undefined }
      : await this.declared(data.captureId, file.name);
    const target = {
      pool: poolOf(this.deps.ds),
      captureId: data.captureId,
      fileOrdinal: file.ordinal,
      timeZone,
    };
    const pipeline = choosePipeline(sniffed, entry, headText(head), target);
    if ('stored' in pipeline) {
      // The manifest says what this file is, but no parser reads that format yet: keep it
      // (its bytes are stored) and say so, rather than calling it broken.
      await captures.updateFile(file.id, {
        state: 'stored',
        format: pipeline.stored,
        error: null,
        note: `stored unparsed: no parser for ${pipeline.stored} (${entry?.role ?? 'unknown role'}) yet`,
        parseMs: elapsed(started),
      });
      return { fileId: file.id, format: pipeline.stored, events: 0, rejected: 0 };
    }
    if ('unknown' in pipeline) {
      const error = looksBinary(head)
        ? `${file.name}: unrecognised format: binary data, not a text trace (expected perf script, strace, spans, logs or a GC log)`
        : `${file.name}: unrecognised format: no known header in the first lines (name its role and format in manifest.json)`;
      await captures.updateFile(file.id, { state: 'failed', format: null, error, parseMs: elapsed(started) });
      return { fileId: file.id, format: null, events: 0, rejected: 0 };
    }

    await captures.ensurePartitions(data.captureId);
    const rejected: RejectedLine[] = [];
    const headers: Record<string, string> = {};
    let rejectedCount = 0;
    let events = 0;
    let lines = 0;
    let inputError: string | null = null;
    try {
      await pipeline.begin();
      const counted = countLines(readLineBatches(blobs.read(file.sha256)), (n) => (lines = n));
      const items = pipeline.items(counted)[Symbol.asyncIterator]();
      for (;;) {
        let next: IteratorResult<Parsed>;
        try {
          next = await items.next();
        } catch (e) {
          // Corrupt or truncated input: keep what was read before it, report where it broke.
          inputError = `${file.name}: line ${lines + 1}: ${e instanceof Error ? e.message : String(e)}`;
          break;
        }
        if (next.done) break;
        const item = next.value;
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
          if (Object.keys(headers).length < 100) headers[h.key] = h.value;
        } else {
          // add() is synchronous unless it must reach the database: no await per record.
          const pending = pipeline.add(item);
          if (pending) await pending;
          events++;
        }
      }
      await pipeline.commit();
    } catch (e) {
      await pipeline.rollback();
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
      state: inputError && events === 0 ? 'failed' : 'parsed',
      format: pipeline.format,
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
      `${file.name} (${pipeline.format}): ${events} events, ${rejectedCount} rejected lines, ${lines} lines`,
    );
    return { fileId: file.id, format: pipeline.format, events, rejected: rejectedCount };
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

function isManifestName(name: string): boolean {
  return name === 'manifest.json' || name.endsWith('/manifest.json');
}

function looksBinary(head: Buffer): boolean {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return false;
  let odd = 0;
  for (const b of head) if (b === 0 || (b < 9 && b !== 0)) odd++;
  return head.length > 0 && odd / head.length > 0.01;
}
