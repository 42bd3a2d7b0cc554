import { describe, expect, it } from 'vitest';
import { DegradedParts, isInfrastructureError } from './degraded.js';

describe('DegradedParts', () => {
  it('guard: a part that throws on its data is recorded and its fallback returned', async () => {
    const d = new DegradedParts();
    const thread = { id: '7', tid: 4242 };
    expect(await d.guard({ stage: 'segments', thread }, null, () => 3)).toBe(3);
    expect(
      await d.guard({ stage: 'segments', thread }, null, () => {
        throw new Error('bad input');
      }),
    ).toBeNull();
    expect(d.list()).toEqual([{ stage: 'segments', file: null, source: null, thread, reason: 'bad input' }]);
  });

  it('guard: store errors are rethrown (another attempt of the job may get through)', async () => {
    const d = new DegradedParts();
    const lost = Object.assign(new Error('terminating connection due to administrator command'), {
      code: '57P01',
    });
    await expect(d.guard({ stage: 'segments' }, null, () => Promise.reject(lost))).rejects.toThrow(
      'administrator',
    );
    expect(isInfrastructureError(Object.assign(new Error('x'), { code: 'ECONNRESET' }))).toBe(true);
    expect(isInfrastructureError(Object.assign(new Error('x'), { code: '23502' }))).toBe(false);
    expect(isInfrastructureError(new RangeError('Maximum call stack size exceeded'))).toBe(false);
    expect(d.size).toBe(0);
  });

  it('folds the same reason on many threads into one part naming the tids', () => {
    const d = new DegradedParts();
    for (let tid = 1; tid <= 15; tid++) d.add({ stage: 'threads', thread: { id: `${tid}`, tid } }, 'no name');
    d.add({ stage: 'clocks', file: 'perf.script', source: 'perf-script' }, 'not placed');
    expect(d.list()).toEqual([
      {
        stage: 'threads',
        file: null,
        source: null,
        thread: null,
        reason: 'no name (15 threads: tid 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 and 3 more)',
      },
      { stage: 'clocks', file: 'perf.script', source: 'perf-script', thread: null, reason: 'not placed' },
    ]);
  });

  it('keeps at most 100 parts, the last one counting the others, and logs the first 20', () => {
    const logged: string[] = [];
    const d = new DegradedParts((m) => logged.push(m));
    for (let i = 0; i < 150; i++) d.add({ stage: 'requests' }, `request ${i}`);
    const list = d.list();
    expect(list).toHaveLength(100);
    expect(list[99]?.reason).toBe('51 more degraded parts not listed');
    expect(logged).toHaveLength(21);
    expect(logged[0]).toBe('degraded requests: request 0');
    expect(logged[20]).toBe('more degraded parts: listed on the capture, not logged');
  });
});
