import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IntervalIndex, indexBy } from './time-index.js';

const entry = fc.record({
  start: fc.bigInt({ min: 0n, max: 10_000n }),
  len: fc.bigInt({ min: 0n, max: 3_000n }),
  key: fc.constantFrom('a', 'b', 'c'),
});

describe('IntervalIndex', () => {
  it('gives exactly the entries a scan finds (start ≤ hi, end ≥ lo), in the order given', () => {
    fc.assert(
      fc.property(
        fc.array(entry, { maxLength: 80 }),
        fc.bigInt({ min: -500n, max: 14_000n }),
        fc.bigInt({ min: 0n, max: 4_000n }),
        (list, lo, width) => {
          const values = list.map((e, i) => ({ ...e, i }));
          const index = new IntervalIndex(
            values,
            (v) => v.start,
            (v) => v.start + v.len,
          );
          const hi = lo + width;
          expect(index.overlapping(lo, hi)).toEqual(
            values.filter((v) => v.start <= hi && v.start + v.len >= lo),
          );
          const byKey = indexBy(
            values,
            (v) => v.key,
            (v) => v.start,
            (v) => v.start + v.len,
          );
          for (const k of ['a', 'b', 'c'])
            expect(byKey.get(k)?.overlapping(lo, hi) ?? []).toEqual(
              values.filter((v) => v.key === k && v.start <= hi && v.start + v.len >= lo),
            );
        },
      ),
      { numRuns: 300 },
    );
  });
});
