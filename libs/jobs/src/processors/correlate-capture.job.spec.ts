import { describe, expect, it } from 'vitest';
import type { CaptureManifest, DegradedPart } from '@threadreel/model';
import type { SourceFileEntity } from '@threadreel/store';
import {
  CorrelateCaptureJob,
  degradedSummary,
  fileDegradedParts,
  missingFileParts,
} from './correlate-capture.job.js';
import type { JobDeps } from './deps.js';

const file = (over: Partial<SourceFileEntity>): SourceFileEntity =>
  ({
    name: 'f',
    format: 'strace',
    state: 'parsed',
    lines: '10',
    events: '10',
    rejectedCount: '0',
    rejected: [],
    error: null,
    ...over,
  }) as SourceFileEntity;

describe('file degraded parts', () => {
  it('failed, broken off, rejected lines and no events are parts; clean files and manifests are not', () => {
    const files = [
      file({ name: 'ok.txt' }),
      file({ name: 'manifest.json', format: 'manifest', events: '0' }),
      file({ name: 'bad.bin', format: null, state: 'failed', error: 'bad.bin: unrecognised format' }),
      file({ name: 'cut.gz', error: 'cut.gz: line 40: unexpected end of file' }),
      file({ name: 'odd.txt', rejectedCount: '2', rejected: [{ line: 3, reason: 'no timestamp' }] }),
      file({ name: 'empty.log', format: 'logs', events: '0', lines: '1' }),
      file({ name: 'perf-1.map', format: 'perf-map', state: 'stored', events: '0' }),
      file({
        name: 'blank.log',
        format: 'logs',
        state: 'stored',
        events: '0',
        note: 'stored unparsed (logs): no logs format recognised in the content',
      }),
    ];
    const parts = fileDegradedParts(files);
    expect(parts.map((p) => [p.file, p.reason])).toEqual([
      ['bad.bin', 'bad.bin: unrecognised format'],
      ['cut.gz', 'kept 10 events read before: cut.gz: line 40: unexpected end of file'],
      ['odd.txt', '2 of 10 lines rejected (line 3: no timestamp)'],
      ['empty.log', 'no events in 1 lines'],
      ['blank.log', 'stored unparsed (logs): no logs format recognised in the content'],
    ]);
    expect(parts.every((p) => p.stage === 'parse')).toBe(true);
    expect(degradedSummary(files, parts)).toBe(
      '1 of 8 files failed: bad.bin: unrecognised format; ' +
        'parse (cut.gz): kept 10 events read before: cut.gz: line 40: unexpected end of file; ' +
        'parse (odd.txt): 2 of 10 lines rejected (line 3: no timestamp); parse (empty.log): no events in 1 lines; ' +
        'parse (blank.log): stored unparsed (logs): no logs format recognised in the content',
    );
    expect(degradedSummary([file({})], [])).toBeNull();
  });

  it('a source the manifest lists but the upload lacks is a part (the ground truth is not)', () => {
    const manifest: CaptureManifest = {
      version: 1,
      files: [
        { path: 'perf.script.gz', role: 'perf', format: 'perf-script' },
        { path: 'strace.txt.gz', role: 'strace' },
        { path: 'ground-truth.json', role: 'ground-truth' },
      ],
    };
    const files = [{ name: 'cap/manifest.json' }, { name: 'cap/perf.script.gz' }];
    expect(missingFileParts(manifest, files)).toEqual([
      {
        stage: 'parse',
        file: 'strace.txt.gz',
        source: 'strace',
        thread: null,
        reason: 'listed in the manifest (strace) but not uploaded',
      },
    ]);
    expect(missingFileParts(null, files)).toEqual([]);
  });
});

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
      },
      samples: { refreshThreadStats: () => Promise.resolve() },
      correlation: { files: () => Promise.reject(new Error('column "x" does not exist')) },
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
