import { describe, expect, it } from 'vitest';
import type { RawFrame } from '@threadreel/model';
import { contentId, StackInterner } from './interning.js';

const f = (symbol: string, dso = 'app'): RawFrame => ({ addr: '0', symbol, dso });

describe('StackInterner', () => {
  it('gives a chain the prefix-tree ids derived from content, each node and frame emitted once', () => {
    const a = new StackInterner();
    // Leaf first: main → handle → read.
    const leaf = a.idOf(a.intern([f('read'), f('handle'), f('main')]));
    const frameId = (s: string) => contentId('frame', s, 'app').toString();
    const root = contentId('stack', '', frameId('main')).toString();
    const mid = contentId('stack', root, frameId('handle')).toString();
    expect(leaf).toBe(contentId('stack', mid, frameId('read')).toString());
    // A sibling shares the prefix; the same chain again adds nothing.
    a.intern([f('write'), f('handle'), f('main')]);
    a.intern([f('read', 'app'), f('handle'), f('main')]);
    const { frames, stacks } = a.drain();
    expect(frames.map((x) => x.symbol)).toEqual(['main', 'handle', 'read', 'write']);
    expect(
      stacks.map((s) => [s.depth, s.parentId === null ? null : s.parentId === root ? 'root' : 'mid']),
    ).toEqual([
      [0, null],
      [1, 'root'],
      [2, 'mid'],
      [2, 'mid'],
    ]);
    expect(a.pendingCount).toBe(0);
    expect(a.intern([])).toBe(-1);
    expect(a.idOf(-1)).toBeNull();
  });

  it('agrees across writers whatever order they meet stacks in (parallel jobs of one capture)', () => {
    const chains = Array.from({ length: 500 }, (_, i) =>
      Array.from({ length: 1 + (i % 9) }, (_, d) => f(`fn${(i * 7 + d * 3) % 23}`, d % 2 ? 'libc' : 'app')),
    );
    const a = new StackInterner();
    const b = new StackInterner();
    const ida = chains.map((c) => a.idOf(a.intern(c)));
    const idb = [...chains].reverse().map((c) => b.idOf(b.intern(c)));
    expect(idb.reverse()).toEqual(ida);
    const sorted = (x: StackInterner) =>
      x
        .drain()
        .stacks.map((s) => `${s.id} ${s.parentId} ${s.frameId} ${s.depth}`)
        .sort();
    expect(sorted(b)).toEqual(sorted(a));
    expect(new Set(ida).size).toBeGreaterThan(100);
  });
});
