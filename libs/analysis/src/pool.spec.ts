import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  intersectIntervals,
  mergeIntervals,
  replayPool,
  saturatedNs,
  subtractIntervals,
  totalNs,
  type Interval,
} from './pool.js';

const iv = (startNs: bigint, endNs: bigint): Interval => ({ startNs, endNs });

const arbList = fc.array(
  fc.tuple(fc.bigInt({ min: 0n, max: 60n }), fc.bigInt({ min: 0n, max: 20n })).map(([s, d]) => iv(s, s + d)),
  { maxLength: 8 },
);

/** Membership of instant t in a list, the naive way. */
const covers = (list: readonly Interval[], t: bigint): boolean =>
  list.some((x) => x.startNs <= t && t < x.endNs);

describe('interval arithmetic', () => {
  it('merge, intersect and subtract agree with instant-by-instant membership', () => {
    fc.assert(
      fc.property(arbList, arbList, (a, b) => {
        const ma = mergeIntervals(a);
        const mb = mergeIntervals(b);
        for (let i = 1; i < ma.length; i++) expect(ma[i - 1]!.endNs < ma[i]!.startNs).toBe(true);
        const and = intersectIntervals(ma, mb);
        const minus = subtractIntervals(ma, mb);
        for (let t = 0n; t < 90n; t++) {
          expect(covers(ma, t)).toBe(covers(a, t));
          expect(covers(and, t)).toBe(covers(a, t) && covers(b, t));
          expect(covers(minus, t)).toBe(covers(a, t) && !covers(b, t));
        }
        expect(totalNs(and) + totalNs(minus)).toBe(totalNs(ma));
      }),
      { numRuns: 300 },
    );
  });

  it('saturatedNs counts only the time every member is busy', () => {
    const busy = [[iv(0n, 50n)], [iv(10n, 30n), iv(40n, 100n)]];
    expect(saturatedNs(busy, 0n, 100n)).toBe(30n); // 10..30 and 40..50
    expect(saturatedNs(busy, 20n, 45n)).toBe(15n);
    expect(saturatedNs([], 0n, 100n)).toBe(0n);
    expect(saturatedNs(busy, 50n, 50n)).toBe(0n);
  });
});

describe('replayPool', () => {
  it('two workers, four requests submitted at once: the first two run, the others queue, FIFO', () => {
    // Each job takes 100 ns; w1 and w2 take r1 and r2 at 0, then r3 and r4 at 100.
    const requests = ['r1', 'r2', 'r3', 'r4'].map((id, k) => ({
      id,
      orderNs: BigInt(k),
      waits: [iv(0n, id === 'r1' || id === 'r2' ? 100n : 200n)],
    }));
    const workers = [
      { threadId: 'w1', busy: [iv(0n, 100n), iv(100n, 200n)] },
      { threadId: 'w2', busy: [iv(0n, 100n), iv(100n, 200n)] },
    ];
    const pieces = replayPool(requests, workers);
    expect(pieces.get('r1')).toEqual([{ startNs: 0n, endNs: 100n, threadId: 'w1' }]);
    expect(pieces.get('r2')).toEqual([{ startNs: 0n, endNs: 100n, threadId: 'w2' }]);
    // At 100 both workers start new runs (merged with the previous: busy since 0), so r3, r4
    // take them in order.
    expect(pieces.get('r3')).toEqual([
      { startNs: 0n, endNs: 100n, threadId: null },
      { startNs: 100n, endNs: 200n, threadId: 'w1' },
    ]);
    expect(pieces.get('r4')).toEqual([
      { startNs: 0n, endNs: 100n, threadId: null },
      { startNs: 100n, endNs: 200n, threadId: 'w2' },
    ]);
  });

  it('a wait with a free worker is not the pool’s doing: no piece', () => {
    const pieces = replayPool(
      [
        { id: 'a', orderNs: 0n, waits: [iv(0n, 50n)] },
        { id: 'b', orderNs: 1n, waits: [iv(0n, 50n)] },
      ],
      [
        { threadId: 'w1', busy: [iv(0n, 50n)] },
        { threadId: 'w2', busy: [] },
      ],
    );
    expect(pieces.get('a')).toEqual([{ startNs: 0n, endNs: 50n, threadId: 'w1' }]);
    expect(pieces.get('b')).toBeUndefined();
  });

  it('pieces of a request are disjoint, inside its waits, and never more running than busy workers', () => {
    const arbReq = fc.record({ order: fc.bigInt({ min: 0n, max: 50n }), waits: arbList });
    fc.assert(
      fc.property(
        fc.array(arbReq, { maxLength: 5 }),
        fc.array(arbList, { minLength: 1, maxLength: 3 }),
        (rs, ws) => {
          const requests = rs.map((r, k) => ({ id: `r${k}`, orderNs: r.order, waits: r.waits }));
          const workers = ws.map((busy, k) => ({ threadId: `w${k}`, busy }));
          const pieces = replayPool(requests, workers);
          for (let t = 0n; t < 90n; t++) {
            let running = 0;
            const workersUsed = new Set<string>();
            for (const r of requests) {
              const at = (pieces.get(r.id) ?? []).filter((p) => p.startNs <= t && t < p.endNs);
              expect(at.length).toBeLessThanOrEqual(1);
              const p = at[0];
              if (!p) continue;
              expect(covers(r.waits, t)).toBe(true);
              if (p.threadId !== null) {
                running++;
                expect(workersUsed.has(p.threadId)).toBe(false);
                workersUsed.add(p.threadId);
                expect(covers(workers.find((w) => w.threadId === p.threadId)!.busy, t)).toBe(true);
              } else {
                expect(workers.every((w) => covers(w.busy, t))).toBe(true);
              }
            }
            expect(running).toBeLessThanOrEqual(workers.length);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
