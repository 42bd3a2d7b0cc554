import { createReadStream } from 'node:fs';
import { readLineBatches, type SourceFormat } from '@threadreel/parsers';
import {
  finishedRanges,
  poolOf,
  rangeDone,
  recordRange,
  startRangedParse,
  StaleRangeError,
  type RangeReport,
  type SourceFileEntity,
} from '@threadreel/store';
import type { ParseFileData } from '../job-names.js';
import type { JobContext, SiblingJob } from '../registry.js';
import { defaultClock } from '@threadreel/parsers';
import { consume, countLines, declared, KEEP_REJECTED } from './consume.js';
import type { JobDeps } from './deps.js';
import { perfScriptRanges } from './file-ranges.js';
import { pipelineFor } from './pipelines.js';

type Range = NonNullable<ParseFileData['range']>;

export interface RangedResult {
  fileId: string;
  format: string | null;
  events: number;
  rejected: number;
  skipped?: string;
}

/** Byte ranges of a large perf script file: parsed by as many jobs as there are workers. */
const RANGE_BYTES = 32 * 1024 * 1024;

/**
 * Splits a large plain perf script file into byte ranges at record boundaries, enqueues a
 * parse job per range beside this one (the capture's correlate job waits for them all) and
 * parses the first range here. Returns null when the file stays whole (too small, or no
 * record boundary to cut at).
 */
export async function parseInRanges(
  deps: JobDeps,
  ctx: JobContext & { addSiblings: (jobs: readonly SiblingJob[]) => Promise<void> },
  file: SourceFileEntity,
  choice: { detection: Partial<SourceFileEntity>; format: SourceFormat },
  rangeBytes = RANGE_BYTES,
): Promise<RangedResult | null> {
  const size = Number(file.sizeBytes);
  if (size < rangeBytes * 1.5) return null;
  const path = deps.blobs.pathOf(file.sha256);
  const cut = await perfScriptRanges(path, size, rangeBytes);
  if (cut.length < 2) return null;
  const writer = pipelineFor(choice.format, target(deps, file, 1)).writer;
  const generation = await startRangedParse(
    poolOf(deps.ds),
    file.id,
    file.captureId,
    file.ordinal,
    writer.targets(),
  );
  const startedAt = Date.now();
  const ranges: Range[] = cut.map((r, index) => ({ ...r, index, count: cut.length, generation, startedAt }));
  await deps.captures.updateFile(file.id, { ...choice.detection, format: choice.format });
  await ctx.addSiblings(
    ranges.slice(1).map((range) => ({
      name: 'parse-file',
      jobId: `parse-${file.id}-g${generation}-r${range.index}`,
      data: { captureId: file.captureId, fileId: file.id, range },
    })),
  );
  ctx.log(`${file.name}: ${ranges.length} byte ranges of about ${rangeBytes} bytes, parsed by parallel jobs`);
  return parseRange(deps, ctx, file, ranges[0] as Range);
}

function target(deps: JobDeps, file: SourceFileEntity, firstLine: number) {
  return {
    pool: poolOf(deps.ds),
    captureId: file.captureId,
    fileOrdinal: file.ordinal,
    timeZone: undefined,
    firstLine,
  };
}

/**
 * Parses one byte range of a perf script file. Its rows and its entry in
 * `source_file_ranges` commit together, so a retry after a commit finds the range done and
 * a failed attempt left nothing; a range of an attempt the file has since restarted never
 * commits. The job that completes the last range writes the file's report.
 */
export async function parseRange(
  deps: JobDeps,
  ctx: JobContext,
  file: SourceFileEntity,
  range: Range,
): Promise<RangedResult> {
  const pool = poolOf(deps.ds);
  const done = { fileId: file.id, format: 'perf-script', events: 0, rejected: 0 };
  if (await rangeDone(pool, file.id, range)) {
    await finish(deps, file, range);
    return { ...done, skipped: `range ${range.index} already parsed` };
  }
  const started = performance.now();
  const pipeline = pipelineFor('perf-script', target(deps, file, range.firstLine));
  if (pipeline.input !== 'lines') throw new Error('only line formats are parsed in byte ranges');
  let lines = 0;
  try {
    await pipeline.writer.begin({ keepEarlier: true });
    const stream = createReadStream(deps.blobs.pathOf(file.sha256), {
      start: range.start,
      end: range.end - 1,
    });
    const outcome = await consume(
      pipeline.parse(countLines(readLineBatches(stream), (n) => (lines = n))),
      pipeline.writer,
      file.name,
      () => range.firstLine - 1 + lines,
    );
    // Header facts are the file's first lines: only the first range has them.
    const report: RangeReport = {
      lines,
      events: outcome.events,
      rejectedCount: outcome.rejectedCount,
      rejected: outcome.rejected,
      headers: range.index === 0 ? outcome.headers : {},
      extra: { ...pipeline.extra(), inputError: outcome.inputError },
      parseMs: Math.round(performance.now() - started),
    };
    await pipeline.writer.commit((client) => recordRange(client, file.id, range, report));
    await finish(deps, file, range);
    return { ...done, events: outcome.events, rejected: outcome.rejectedCount };
  } catch (e) {
    await pipeline.writer.rollback();
    if (e instanceof StaleRangeError) return { ...done, skipped: e.message };
    const message = e instanceof Error ? e.message : String(e);
    if (ctx.attemptsMade + 1 >= ctx.attempts)
      await deps.captures.updateFile(file.id, {
        state: 'failed',
        error: `${file.name} (bytes ${range.start}–${range.end}): ${message}`,
      });
    throw e;
  }
}

/** Once every range of the attempt is in: the file's report, summed over its ranges. */
async function finish(deps: JobDeps, file: SourceFileEntity, range: Range): Promise<void> {
  const reports = await finishedRanges(poolOf(deps.ds), file.id, range.generation);
  if (reports === null) return;
  const sum = (f: (r: RangeReport) => number) => reports.reduce((n, r) => n + f(r), 0);
  const events = sum((r) => r.events);
  const headers = reports[0]?.headers ?? {};
  const firstOf = (key: string) => reports.map((r) => r.extra[key] ?? null).find((v) => v !== null) ?? null;
  const inputError = firstOf('inputError');
  const { entry } = await declared(deps, file.captureId, file.name);
  await deps.captures.updateFile(file.id, {
    state: inputError && events === 0 ? 'failed' : 'parsed',
    format: 'perf-script',
    clock: entry?.clock ?? defaultClock('perf-script', { ...headers }),
    lines: String(sum((r) => r.lines)),
    events: String(events),
    rejectedCount: String(sum((r) => r.rejectedCount)),
    rejected: reports.flatMap((r) => r.rejected).slice(0, KEEP_REJECTED),
    headers: { ...headers },
    firstEvent: firstOf('firstEvent'),
    firstSampleEvent: firstOf('firstSampleEvent'),
    parseMs: Date.now() - range.startedAt,
    error: inputError,
  });
}
