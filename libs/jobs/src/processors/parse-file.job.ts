import { open } from 'node:fs/promises';
import { parsePerfScript, readLineBatches, sniffFormat } from '@threadreel/parsers';
import {
  manifestEntryFor,
  type CaptureManifest,
  type ManifestFile,
  type ParsedItem,
  type RejectedLine,
} from '@threadreel/model';
import { PerfSampleWriter, poolOf } from '@threadreel/store';
import type { ParseFileData } from '../job-names.js';
import type { JobContext, JobProcessor } from '../registry.js';
import type { JobDeps } from './deps.js';

export type { ParseFileData };

const KEEP_REJECTED = 20;
const SNIFF_BYTES = 64 * 1024;

/** The input itself is bad: retrying cannot help, the file is reported as it is. */
export class InputError extends Error {}

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

  /** The capture manifest's entry for this file, if the manifest describes it. */
  private async declaredEntry(captureId: string, fileName: string): Promise<ManifestFile | null> {
    const capture = await this.deps.captures.get(captureId);
    if (!capture?.manifest) return null;
    const files = await this.deps.captures.files(captureId);
    const manifestName = files.find((f) => isManifestName(f.name))?.name ?? null;
    return manifestEntryFor(capture.manifest as CaptureManifest, manifestName, fileName);
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
    const format = await detectFormat(path, file.name);
    if (format === 'manifest') {
      await captures.updateFile(file.id, { state: 'parsed', format, parseMs: 0 });
      return { fileId: file.id, format, events: 0, rejected: 0 };
    }
    const declared = format === PERF_SCRIPT ? null : await this.declaredEntry(data.captureId, file.name);
    if (declared) {
      // The manifest says what this file is, but no parser reads that format yet: keep it
      // (its bytes are stored) and say so, rather than calling it broken.
      const what = declared.format ?? declared.role;
      await captures.updateFile(file.id, {
        state: 'stored',
        format: what,
        error: null,
        note: `stored unparsed: no parser for ${what} (${declared.role}) yet`,
        parseMs: elapsed(started),
      });
      return { fileId: file.id, format: what, events: 0, rejected: 0 };
    }
    if (format === null || format === 'binary') {
      const error =
        format === 'binary'
          ? `${file.name}: unrecognised format: binary data, not a text trace (expected perf script output)`
          : `${file.name}: unrecognised format: no known header in the first lines (expected perf script output)`;
      await captures.updateFile(file.id, { state: 'failed', format: null, error, parseMs: elapsed(started) });
      return { fileId: file.id, format: null, events: 0, rejected: 0 };
    }

    const writer = new PerfSampleWriter(poolOf(this.deps.ds), data.captureId, file.ordinal);
    const rejected: RejectedLine[] = [];
    const headers: Record<string, string> = {};
    let rejectedCount = 0;
    let events = 0;
    let lines = 0;
    let firstEvent: string | null = null;
    let firstSampleEvent: string | null = null;
    let inputError: string | null = null;
    try {
      await writer.begin();
      const counted = countLines(readLineBatches(blobs.read(file.sha256)), (n) => (lines = n));
      const items = parsePerfScript(counted)[Symbol.asyncIterator]();
      for (;;) {
        let next: IteratorResult<ParsedItem>;
        try {
          next = await items.next();
        } catch (e) {
          // Corrupt or truncated input: keep what was read before it, report where it broke.
          inputError = `${file.name}: line ${lines + 1}: ${e instanceof Error ? e.message : String(e)}`;
          break;
        }
        if (next.done) break;
        const item = next.value;
        switch (item.kind) {
          case 'perf': {
            firstEvent ??= item.event;
            if (item.trace === null) firstSampleEvent ??= item.event;
            // add() is synchronous unless it must reach the database: no await per record.
            const pending = writer.add(item);
            if (pending) await pending;
            events++;
            break;
          }
          case 'issue':
            rejectedCount++;
            if (rejected.length < KEEP_REJECTED) {
              rejected.push(
                item.field
                  ? { line: item.line, field: item.field, reason: item.reason }
                  : { line: item.line, reason: item.reason },
              );
            }
            break;
          case 'header':
            if (Object.keys(headers).length < 100) headers[item.key] = item.value;
            break;
        }
      }
      await writer.commit();
    } catch (e) {
      await writer.rollback();
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
      format,
      lines: String(lines),
      events: String(events),
      rejectedCount: String(rejectedCount),
      rejected,
      headers,
      firstEvent,
      firstSampleEvent,
      parseMs: elapsed(started),
      error: inputError,
    });
    ctx.log(`${file.name}: ${events} events, ${rejectedCount} rejected lines, ${lines} lines`);
    return { fileId: file.id, format, events, rejected: rejectedCount };
  }
}

const PERF_SCRIPT = 'perf-script';

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

/** 'manifest', a parser's format name, 'binary' for non-text data, or null when unknown. */
async function detectFormat(path: string, name: string): Promise<string | null> {
  if (isManifestName(name)) return 'manifest';
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(SNIFF_BYTES);
    const { bytesRead } = await fh.read(buf, 0, SNIFF_BYTES, 0);
    const head = buf.subarray(0, bytesRead);
    const format = sniffFormat(head, name);
    if (format) return format;
    return looksBinary(head) ? 'binary' : null;
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
