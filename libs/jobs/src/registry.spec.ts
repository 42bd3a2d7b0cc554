import { describe, expect, it } from 'vitest';
import { JobRegistry, type JobProcessor } from './registry.js';

const proc = (name: string): JobProcessor =>
  ({ name, process: () => Promise.resolve(name) }) as unknown as JobProcessor;

describe('JobRegistry', () => {
  it('maps every job name to its one processor', async () => {
    const r = new JobRegistry([proc('parse-file'), proc('correlate-capture')]);
    const ctx = { attemptsMade: 0, attempts: 1, workerId: 'w', log: () => undefined };
    expect(await r.get('parse-file').process({ captureId: 'c', fileId: 'f' }, ctx)).toBe('parse-file');
    expect(() => r.get('nope')).toThrow('no processor for job "nope"');
  });

  it('refuses to start when a job has no processor', () => {
    expect(() => new JobRegistry([proc('parse-file')])).toThrow('job "correlate-capture" has no processor');
  });

  it('refuses to start when a job has two processors or an unknown name', () => {
    expect(
      () => new JobRegistry([proc('parse-file'), proc('parse-file'), proc('correlate-capture')]),
    ).toThrow('job "parse-file" has two processors');
    expect(() => new JobRegistry([proc('parse-file'), proc('correlate-capture'), proc('reindex')])).toThrow(
      'unknown job name "reindex"',
    );
  });
});
