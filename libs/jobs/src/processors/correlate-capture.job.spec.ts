import { describe, expect, it } from 'vitest';
import type { DegradedPart } from '@threadreel/model';
import type { SourceFileEntity } from '@threadreel/store';
import { file } from '../source-file.spec-helper.js';
import { CorrelateCaptureJob } from './correlate-capture.job.js';
import type { JobDeps } from './deps.js';

describe('CorrelateCaptureJob', () => {
  /** Deps whose correlation store fails on its first read, recording the states set. */
  function deps(files: SourceFileEntity[]) {
    const states: { state: string; error: string | null; parts: readonly DegradedPart[] }[] = [];
    const fake = {
      captures: {
        exists: () => Promise.resolve(true),
        setState: (
          _id: string,
          state: string,
          error: string | null = null,
          parts: readonly DegradedPart[] = [],
        ) => {
          states.push({ state, error, parts });
          return Promise.resolve();
        },
        files: () => Promise.resolve(files),
        updateFile: () => Promise.resolve(),
        get: () => Promise.resolve({ manifest: null }),
        analyze: () => Promise.resolve(),
      },
      samples: { refreshThreadStats: () => Promise.resolve() },
      correlation: () => ({
        source: { files: () => Promise.reject(new Error('column "x" does not exist')) },
        sink: { rollback: () => Promise.resolve() },
      }),
    };
    return { job: new CorrelateCaptureJob(fake as unknown as JobDeps), states };
  }
  const ctx = (attemptsMade: number) => ({ attemptsMade, attempts: 3, workerId: 'w', log: () => undefined });

  it('a correlation that throws is tried again; after the last attempt the capture is degraded, saying why', async () => {
    const { job, states } = deps([file({ name: 'perf.script', format: 'perf-script' })]);
    await expect(job.process({ captureId: 'c' }, ctx(0))).rejects.toThrow('column "x" does not exist');
    expect(states.map((s) => s.state)).toEqual(['correlating']);
    expect(await job.process({ captureId: 'c' }, ctx(2))).toEqual({ captureId: 'c', state: 'degraded' });
    expect(states.at(-1)).toEqual({
      state: 'degraded',
      error: 'correlation: correlation failed: column "x" does not exist',
      parts: [
        {
          stage: 'correlation',
          file: null,
          source: null,
          thread: null,
          reason: 'correlation failed: column "x" does not exist',
        },
      ],
    });
  });

  it('failed when no file is usable, with the files that failed listed', async () => {
    const { job, states } = deps([
      file({ name: 'x.bin', format: null, state: 'failed', error: 'unrecognised' }),
    ]);
    expect(await job.process({ captureId: 'c' }, ctx(0))).toEqual({ captureId: 'c', state: 'failed' });
    expect(states.at(-1)?.error).toBe('1 of 1 files failed: unrecognised');
    expect(states.at(-1)?.parts.map((p) => p.file)).toEqual(['x.bin']);
  });
});
