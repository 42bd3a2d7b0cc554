import {
  manifestEntryFor,
  type CaptureManifest,
  type CaptureState,
  type DegradedPart,
} from '@threadreel/model';
import { STORED_FORMATS } from '@threadreel/parsers';
import type { SourceFileEntity } from '@threadreel/store';
import type { CorrelateCaptureData } from '../job-names.js';
import type { JobContext, JobProcessor } from '../registry.js';
import { correlateCapture } from './correlate.js';
import type { JobDeps } from './deps.js';
import { isManifestName } from './parse-file.job.js';

export interface CorrelateResult {
  captureId: string;
  state: 'ready' | 'degraded' | 'failed' | 'skipped';
}

/** Files whose format carries no events of its own (the manifest describes the others). */
const NO_EVENTS_EXPECTED = new Set(['manifest']);

/**
 * What went wrong with the files themselves: failed, broken off (an error but events kept),
 * lines rejected, parsed without a single event, or kept unparsed although they were meant to
 * be read (a trace source whose content matched no format of its role). Files kept unparsed
 * by design (a perf map, a binary JFR recording, a test's ground truth) are not parts.
 */
export function fileDegradedParts(files: readonly SourceFileEntity[]): DegradedPart[] {
  const parts: DegradedPart[] = [];
  const part = (f: SourceFileEntity, reason: string): DegradedPart => ({
    stage: 'parse',
    file: f.name,
    source: f.format,
    thread: null,
    reason,
  });
  for (const f of files) {
    if (f.state === 'failed') parts.push(part(f, f.error ?? 'could not be parsed'));
    else if (f.error) parts.push(part(f, `kept ${f.events} events read before: ${f.error}`));
    else if (BigInt(f.rejectedCount) > 0n) {
      const first = f.rejected[0];
      parts.push(
        part(
          f,
          `${f.rejectedCount} of ${f.lines} lines rejected${first ? ` (line ${first.line}: ${first.reason})` : ''}`,
        ),
      );
    } else if (
      f.state === 'stored' &&
      f.format !== null &&
      f.format !== 'other' &&
      !(f.format in STORED_FORMATS)
    )
      parts.push(part(f, f.note ?? 'kept unparsed'));
    else if (
      f.state === 'parsed' &&
      BigInt(f.events) === 0n &&
      !(f.format !== null && NO_EVENTS_EXPECTED.has(f.format))
    )
      parts.push(part(f, `no events in ${f.lines} lines`));
  }
  return parts;
}

/** Sources the manifest lists that were not uploaded (the ground truth of a test bundle aside). */
export function missingFileParts(
  manifest: CaptureManifest | null,
  files: readonly Pick<SourceFileEntity, 'name'>[],
): DegradedPart[] {
  if (!manifest || !Array.isArray(manifest.files)) return [];
  const manifestName = files.find((f) => isManifestName(f.name))?.name ?? null;
  const present = new Set(files.map((f) => manifestEntryFor(manifest, manifestName, f.name)));
  return manifest.files
    .filter((e) => !present.has(e) && e.role !== 'ground-truth')
    .map((e) => ({
      stage: 'parse' as const,
      file: e.path,
      source: e.format ?? e.role,
      thread: null,
      reason: `listed in the manifest (${e.role}) but not uploaded`,
    }));
}

/** The capture's `error` line: the failed files first (as before), then every other part. */
export function degradedSummary(
  files: readonly SourceFileEntity[],
  parts: readonly DegradedPart[],
): string | null {
  const failed = files.filter((f) => f.state === 'failed');
  const others = parts.filter((p) => !(p.stage === 'parse' && failed.some((f) => f.name === p.file)));
  const shown = others.slice(0, 10).map((p) => {
    const where = p.file ?? (p.thread ? `thread tid ${p.thread.tid}` : null);
    return `${p.stage}${where ? ` (${where})` : ''}: ${p.reason}`;
  });
  if (others.length > shown.length) shown.push(`${others.length - shown.length} more degraded parts`);
  return (
    [
      failed.length
        ? `${failed.length} of ${files.length} files failed: ${failed.map((f) => f.error ?? f.name).join('; ')}`
        : null,
      ...shown,
    ]
      .filter((x) => x !== null)
      .join('; ') || null
  );
}

/**
 * Runs after every parse job of a capture (its flow parent): resolves per-thread statistics,
 * correlates the capture and decides its state — `ready` when everything went through,
 * `degraded` when something usable is there but parts of it went wrong (each listed with
 * its file, source, thread or stage and why), `failed` when no file could be used.
 * Re-running it gives the same result.
 */
export class CorrelateCaptureJob implements JobProcessor<'correlate-capture'> {
  readonly name = 'correlate-capture' as const;

  constructor(private readonly deps: JobDeps) {}

  async process(data: CorrelateCaptureData, ctx: JobContext): Promise<CorrelateResult> {
    const { captures, samples } = this.deps;
    if (!(await captures.exists(data.captureId))) return { captureId: data.captureId, state: 'skipped' };
    await captures.setState(data.captureId, 'correlating');
    const lastAttempt = ctx.attemptsMade + 1 >= ctx.attempts;
    try {
      const files = await captures.files(data.captureId);
      // A file whose parse job gave up (or never ran) is failed, not silently missing.
      for (const f of files) {
        if (f.state === 'queued' || f.state === 'parsing') {
          await captures.updateFile(f.id, {
            state: 'failed',
            error: f.error ?? `${f.name}: parse job did not complete`,
          });
          f.state = 'failed';
        }
      }
      await samples.refreshThreadStats(data.captureId);
      const manifest = ((await captures.get(data.captureId))?.manifest as CaptureManifest | null) ?? null;
      const parts = [...fileDegradedParts(files), ...missingFileParts(manifest, files)];
      const usable = files.filter(
        (f) => (f.state === 'parsed' || f.state === 'stored') && f.format !== 'manifest',
      );
      if (usable.length > 0) {
        try {
          const summary = await correlateCapture(this.deps.correlation, data.captureId, manifest, (m) =>
            ctx.log(m),
          );
          for (const p of summary.degraded) parts.push(p);
        } catch (e) {
          // Odd data degrades inside correlateCapture; what escapes is the store or a bug.
          // Another attempt may get through (a lost connection); after the last, the parsed
          // events stay usable and the capture says why it has no derived data.
          const message = `correlation failed: ${e instanceof Error ? e.message : String(e)}`;
          ctx.log(message);
          if (!lastAttempt) throw e;
          parts.push({ stage: 'correlation', file: null, source: null, thread: null, reason: message });
        }
      }
      const state: CaptureState = usable.length === 0 ? 'failed' : parts.length ? 'degraded' : 'ready';
      const error =
        usable.length === 0 && !files.some((f) => f.state === 'failed')
          ? 'no parsable trace file in this capture'
          : degradedSummary(files, parts);
      await captures.setState(data.captureId, state, error, parts);
      ctx.log(
        `capture ${data.captureId}: ${state}${parts.length ? ` (${parts.length} degraded parts)` : ''}`,
      );
      return { captureId: data.captureId, state };
    } catch (e) {
      if (lastAttempt) {
        await captures.setState(
          data.captureId,
          'failed',
          `correlation failed: ${e instanceof Error ? e.message : String(e)}`,
        );
      }
      throw e;
    }
  }
}
