import { describe, expect, it, vi } from 'vitest';
import { isAlive, readThreads, ThreadSampler, type ProcReader } from './threads.js';
import type { SafeWriter } from './write.js';

function fakeProc(state: { tids: Record<number, string> | null; stat?: string }): ProcReader {
  return {
    list: (path) => (path === '/proc/10/task' && state.tids ? Object.keys(state.tids) : null),
    read: (path) => {
      if (path === '/proc/10/stat')
        return state.tids === null
          ? null
          : (state.stat ?? '10 (app) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 555 0');
      const tid = /^\/proc\/10\/task\/(\d+)\/comm$/.exec(path)?.[1];
      const comm = tid === undefined ? undefined : state.tids?.[Number(tid)];
      return comm === undefined ? null : `${comm}\n`;
    },
  };
}

describe('thread map', () => {
  it('lists threads with their comm in tid order', () => {
    expect(readThreads(10, fakeProc({ tids: { 12: 'worker-1', 10: 'main', 11: 'GC Thread#0' } }))).toEqual([
      { tid: 10, comm: 'main' },
      { tid: 11, comm: 'GC Thread#0' },
      { tid: 12, comm: 'worker-1' },
    ]);
    expect(readThreads(10, fakeProc({ tids: null }))).toBeNull();
  });

  it('tells a live process from a gone, zombie or reused pid', () => {
    expect(isAlive(10, '555', fakeProc({ tids: { 10: 'main' } }))).toBe(true);
    expect(isAlive(10, '556', fakeProc({ tids: { 10: 'main' } }))).toBe(false);
    expect(isAlive(10, '555', fakeProc({ tids: null }))).toBe(false);
    const zombie = '10 (app) Z 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 555 0';
    expect(isAlive(10, '555', fakeProc({ tids: { 10: 'main' }, stat: zombie }))).toBe(false);
  });

  it('writes one JSON line per thread per snapshot and reports the target gone once', () => {
    vi.useFakeTimers();
    try {
      const lines: string[] = [];
      const writer = { write: (text: string) => lines.push(...text.split('\n').filter(Boolean)) };
      const state: { tids: Record<number, string> | null } = { tids: { 10: 'main', 11: 'worker' } };
      const onGone = vi.fn();
      let mono = 1000n;
      const sampler = new ThreadSampler({
        pid: 10,
        startTime: '555',
        writer: writer as unknown as SafeWriter,
        toRealtime: (m) => m + 1_000_000n,
        onGone,
        proc: fakeProc(state),
        mono: () => (mono += 1_000_000_000n),
      });
      sampler.start();
      state.tids = { 10: 'main', 12: 'renamed' };
      vi.advanceTimersByTime(1000);
      state.tids = null;
      vi.advanceTimersByTime(1000);
      vi.advanceTimersByTime(1000);
      sampler.stop();
      expect(lines.map((line) => JSON.parse(line) as unknown)).toEqual([
        { snapshot: 0, tNs: '1000001000', realtimeNs: '1001001000', pid: 10, tid: 10, comm: 'main' },
        { snapshot: 0, tNs: '1000001000', realtimeNs: '1001001000', pid: 10, tid: 11, comm: 'worker' },
        { snapshot: 1, tNs: '2000001000', realtimeNs: '2001001000', pid: 10, tid: 10, comm: 'main' },
        { snapshot: 1, tNs: '2000001000', realtimeNs: '2001001000', pid: 10, tid: 12, comm: 'renamed' },
      ]);
      expect(onGone).toHaveBeenCalledTimes(1);
      expect(sampler.targetGone).toBe(true);
      expect([...sampler.seen.keys()]).toEqual([10, 11, 12]);
    } finally {
      vi.useRealTimers();
    }
  });

  it('takes a last snapshot at stop, only once', () => {
    const lines: string[] = [];
    const sampler = new ThreadSampler({
      pid: 10,
      startTime: '555',
      writer: { write: (text: string) => lines.push(text) } as unknown as SafeWriter,
      toRealtime: (m) => m,
      onGone: () => undefined,
      proc: fakeProc({ tids: { 10: 'main' } }),
      intervalMs: 60_000,
    });
    sampler.start();
    sampler.stop();
    sampler.stop();
    expect(lines).toHaveLength(2);
    expect(lines[1]).toContain('"snapshot":1');
  });
});
