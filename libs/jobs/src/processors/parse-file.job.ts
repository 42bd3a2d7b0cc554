import { open } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';
import type { Readable } from 'node:stream';
import { chooseFormat, defaultClock, headBytes, isGzip, readLineBatches } from '@threadreel/parsers';
import { poolOf } from '@threadreel/store';
import type { ParseFileData } from '../job-names.js';
import type { JobContext, JobProcessor } from '../registry.js';
import type { JobDeps } from './deps.js';
import { consume, countLines, declared, isManifestName, type ParseOutcome } from './consume.js';
import { pipelineFor } from './pipelines.js';
import { parseInRanges, parseRange } from './ranged-parse.js';

export { isManifestName } from './consume.js';

export type { ParseFileData };

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

  async process(data: ParseFileData, ctx: JobContext): Promise<ParseFileResult> {
    const { captures, blobs } = this.deps;
    const file = await captures.file(data.fileId);
    if (!file)
      return { fileId: data.fileId, format: null, events: 0, rejected: 0, skipped: 'capture deleted' };
    // One byte range of a large file, planned by the file's own job (which counted the attempt).
    if (data.range) return parseRange(this.deps, ctx, file, data.range);
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
    const { entry, timeZone } = await declared(this.deps, data.captureId, file.name);
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
    if (ctx.addSiblings && choice.format === 'perf-script' && !isGzip(head)) {
      const split = await parseInRanges(this.deps, { ...ctx, addSiblings: ctx.addSiblings }, file, {
        detection,
        format: choice.format,
      });
      if (split !== null) return split;
    }
    let lines = 0;
    let outcome: ParseOutcome;
    try {
      await pipeline.writer.begin();
      outcome = await consume(
        pipeline.input === 'lines'
          ? pipeline.parse(countLines(readLineBatches(blobs.read(file.sha256)), (n) => (lines = n)))
          : pipeline.parse(decompressed(blobs.read(file.sha256), head)),
        pipeline.writer,
        file.name,
        () => lines,
      );
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
    const { events, rejectedCount, rejected, headers, inputError } = outcome;
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

function elapsed(started: number): number {
  return Math.round(performance.now() - started);
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

function looksBinary(head: Buffer): boolean {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return false;
  let odd = 0;
  for (const b of head) if (b === 0 || (b < 9 && b !== 0)) odd++;
  return head.length > 0 && odd / head.length > 0.01;
}
