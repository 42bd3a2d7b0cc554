import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { CaptureManifest, CaptureState } from '@threadreel/model';
import { correlate } from '@threadreel/correlate';
import { DERIVED_TABLES, SOURCE_EVENT_TABLES } from '@threadreel/store';
import { degradedSummary, fileDegradedParts, missingFileParts } from '../capture-parts.js';
import type { CorrelateCaptureData } from '../job-names.js';
import type { JobContext, JobProcessor } from '../registry.js';
import type { JobDeps } from './deps.js';

export interface CorrelateResult {
  captureId: string;
  state: 'ready' | 'degraded' | 'failed' | 'skipped';
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
      // Planner statistics of what the parse jobs loaded, before the queries that join it.
      await captures.analyze(data.captureId, SOURCE_EVENT_TABLES);
      await samples.refreshThreadStats(data.captureId);
      const manifest = ((await captures.get(data.captureId))?.manifest as CaptureManifest | null) ?? null;
      const parts = [...fileDegradedParts(files), ...missingFileParts(manifest, files)];
      const usable = files.filter(
        (f) => (f.state === 'parsed' || f.state === 'stored') && f.format !== 'manifest',
      );
      if (usable.length > 0) {
        try {
          // The pure pipeline (libs/correlate) between the capture's two ports on Postgres.
          const { source, sink } = this.deps.correlation(data.captureId);
          // A synchronous stretch longer than the job lock (JOB_LOCK_MS) lets the queue take the
          // job for stalled and run it again: how long the longest one was goes to the log.
          const loop = monitorEventLoopDelay({ resolution: 50 });
          loop.enable();
          const summary = await correlate(source, sink, { manifest, log: (m) => ctx.log(m) }).finally(() =>
            loop.disable(),
          );
          ctx.log(`event loop: longest block ${(loop.max / 1e9).toFixed(2)} s during correlation`);
          for (const p of summary.degraded) parts.push(p);
          // …and of the derived data, before the replay reads it.
          await captures.analyze(data.captureId, DERIVED_TABLES);
        } catch (e) {
          // Odd data degrades inside correlate; what escapes is the store or a bug.
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
