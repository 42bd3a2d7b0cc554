import { describe, expect, it } from 'vitest';
import { evenlySpaced } from './capture-rows.js';

describe('evenlySpaced', () => {
  it('keeps every ⌈n / max⌉-th item from the first, so the sample spans the whole list', () => {
    const xs = Array.from({ length: 10 }, (_, i) => i);
    expect(evenlySpaced(xs, 20)).toEqual(xs);
    expect(evenlySpaced(xs, 5)).toEqual([0, 2, 4, 6, 8]);
    expect(evenlySpaced(xs, 4)).toEqual([0, 3, 6, 9]);
    expect(evenlySpaced(xs, 1)).toEqual([0]);
    expect(evenlySpaced([], 3)).toEqual([]);
    const long = Array.from({ length: 100_001 }, (_, i) => i);
    const s = evenlySpaced(long, 5000);
    expect(s.length).toBeLessThanOrEqual(5000);
    expect(s[s.length - 1]).toBeGreaterThan(95_000);
  });
});
