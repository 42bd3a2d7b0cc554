import type { CaptureManifest } from '@threadreel/model';
import type { CorrelateCaptureData } from '../job-names.js';
import type { JobContext, JobProcessor } from '../registry.js';
import { correlateCapture } from './correlate.js';
import type { JobDeps } from './deps.js';

export interface CorrelateResult {
  captureId: string;
  state: 'ready' | 'failed' | 'skipped';
}

/**
 * Runs after every parse job of a capture (its flow parent). Today it resolves
 * per-thread statistics and decides the capture's state; clock alignment, segments,
 * wakeups and span bindings join here. Re-running it gives the same result.
 */
export class CorrelateCaptureJob implements JobProcessor<'correlate-capture'> {
  readonly name = 'correlate-capture' as const;

  constructor(private readonly deps: JobDeps) {}

  async process(data: CorrelateCaptureData, ctx: JobContext): Promise<CorrelateResult> {
    const { captures, samples } = this.deps;
    if (!(await captures.exists(data.captureId))) return { captureId: data.captureId, state: 'skipped' };
    await captures.setState(data.captureId, 'correlating');
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
      const failed = files.filter((f) => f.state === 'failed');
      let correlationError: string | null = null;
      try {
        const capture = await captures.get(data.captureId);
        await correlateCapture(
          this.deps.correlation,
          data.captureId,
          (capture?.manifest as CaptureManifest | null) ?? null,
          (m) => ctx.log(m),
        );
      } catch (e) {
        // The parsed events stay usable; the capture says why it has no requests.
        correlationError = `correlation failed: ${e instanceof Error ? e.message : String(e)}`;
        ctx.log(correlationError);
      }
      const usable = files.filter(
        (f) => (f.state === 'parsed' || f.state === 'stored') && f.format !== 'manifest',
      );
      const state = usable.length === 0 ? 'failed' : 'ready';
      const error =
        [
          failed.length
            ? `${failed.length} of ${files.length} files failed: ${failed.map((f) => f.error ?? f.name).join('; ')}`
            : usable.length === 0
              ? 'no parsable trace file in this capture'
              : null,
          correlationError,
        ]
          .filter((x) => x !== null)
          .join('; ') || null;
      await captures.setState(data.captureId, state, error);
      ctx.log(`capture ${data.captureId}: ${state}`);
      return { captureId: data.captureId, state };
    } catch (e) {
      if (ctx.attemptsMade + 1 >= ctx.attempts) {
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
