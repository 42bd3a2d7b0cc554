import fc from 'fast-check';
import {
  THREAD_STATES,
  TILE_LEVELS,
  concatTiles,
  decodeLaneTiles,
  decodeTile,
  encodeLaneTiles,
  encodeTile,
  tileBucketNs,
  tileLevelFor,
  tileSpanNs,
  TileDecodeError,
  type Segment,
} from '@threadreel/model';
import { describe, expect, it } from 'vitest';
import { lodBuckets } from './lod.js';
import { segmentsOf } from './segments-of.spec-helper.js';
import { LaneTileBuilder, laneTiles, levelTiles, STORED_TILE_MIN_LEVEL, type LaneTile } from './tiles.js';

const part = fc.tuple(
  fc.integer({ min: 0, max: 5_000 }),
  fc.oneof(fc.integer({ min: 1, max: 3_000 }), fc.integer({ min: 1, max: 50_000_000 })),
  fc.integer({ min: 0, max: 9 }),
  fc.constant(null),
);
const ORIGIN = 1_700_000_000_123_456_789n;

function tilesOf(segs: Segment[]): LaneTile[] {
  return [...laneTiles('th', segs, [...lodBuckets('th', segs)])];
}

describe('laneTiles', () => {
  it('a fine level not stored is rebuilt exactly from the buckets and long segments of a span of its tiles', () => {
    fc.assert(
      fc.property(
        fc.array(part, { minLength: 1, maxLength: 300 }),
        fc.integer({ min: 0, max: STORED_TILE_MIN_LEVEL - 1 }),
        fc.integer({ min: 0, max: 400 }),
        fc.integer({ min: 0, max: 6 }),
        (parts, level, skip, width) => {
          const segs = segmentsOf(parts, ORIGIN);
          const buckets = [...lodBuckets('th', segs)];
          const all = tilesOf(segs).filter((t) => t.level === level);
          const span = tileSpanNs(level);
          const first = (segs[0]?.startNs ?? ORIGIN) / span + BigInt(skip % 40);
          const last = first + BigInt(width);
          const [lo, hi] = [first * span, (last + 1n) * span];
          // What the replay reads: the level's buckets starting in the span, the segments at least a bucket long starting in it.
          const built = levelTiles(
            'th',
            segs.filter(
              (g) => g.startNs >= lo && g.startNs < hi && g.endNs - g.startNs >= tileBucketNs(level),
            ),
            level,
            buckets.filter((b) => b.level === level && b.bucketNs >= lo && b.bucketNs < hi),
          );
          expect(built).toEqual(all.filter((t) => t.tile >= first && t.tile <= last));
        },
      ),
      { numRuns: 150 },
    );
  });

  it('the stored levels: a builder from STORED_TILE_MIN_LEVEL gives the same tiles of those levels, none finer', () => {
    const segs = segmentsOf(
      Array.from({ length: 3000 }, (_, i) => [
        i % 50,
        i % 91 === 0 ? 30_000_000 : 1 + ((i * 7919) % 9000),
        i,
        null,
      ]),
      ORIGIN,
    );
    const b = new LaneTileBuilder('th', segs, STORED_TILE_MIN_LEVEL);
    const stored = [...lodBuckets('th', segs)].flatMap((x) => b.add(x)).concat(b.finish());
    expect(stored.length).toBeGreaterThan(0);
    expect(stored).toEqual(tilesOf(segs).filter((t) => t.level >= STORED_TILE_MIN_LEVEL));
  });

  it('each level covers every segment once: counts and ns per state add up, items sorted, inside their tile', () => {
    fc.assert(
      fc.property(fc.array(part, { minLength: 1, maxLength: 300 }), (parts) => {
        const segs = segmentsOf(parts, ORIGIN);
        const want = THREAD_STATES.map(() => 0);
        for (const s of segs) {
          const k = THREAD_STATES.indexOf(s.state);
          want[k] = (want[k] ?? 0) + Number(s.endNs - s.startNs);
        }
        const tiles = tilesOf(segs);
        for (let level = 0; level < TILE_LEVELS; level++) {
          const size = Number(tileBucketNs(level));
          const span = tileSpanNs(level);
          const mine = tiles.filter((t) => t.level === level);
          const base = mine[0]?.tile ?? 0n;
          const got = THREAD_STATES.map(() => 0);
          let count = 0;
          let prevStart = -Infinity;
          let prevTile = -1n;
          for (const t of mine) {
            expect(t.tile).toBeGreaterThan(prevTile);
            prevTile = t.tile;
            const start = Number((t.tile - base) * span);
            const d = decodeTile(t.bytes, start);
            expect(d.start.length).toBe(t.items);
            for (let i = 0; i < d.start.length; i++) {
              const s = d.start[i] ?? 0;
              const e = d.end[i] ?? 0;
              expect(s).toBeGreaterThanOrEqual(start);
              expect(s).toBeLessThan(start + Number(span));
              expect(s).toBeGreaterThanOrEqual(prevStart);
              prevStart = s;
              count += d.count[i] ?? 0;
              const a = d.mixAt[i] ?? 0;
              const b = d.mixAt[i + 1] ?? 0;
              if ((d.count[i] ?? 0) > 1) {
                expect(b).toBeGreaterThan(a);
                for (let k = a; k < b; k++) {
                  const st = d.mixState[k] ?? 0;
                  got[st] = (got[st] ?? 0) + (d.mixNs[k] ?? 0);
                }
              } else {
                expect(b).toBe(a);
                got[d.state[i] ?? 0] = (got[d.state[i] ?? 0] ?? 0) + e - s;
              }
              // A whole item shorter than a bucket is a bucket of one segment.
              if ((d.count[i] ?? 0) === 1 && e - s < size) expect(e - s).toBeGreaterThan(0);
            }
          }
          expect(count).toBe(segs.length);
          expect(got).toEqual(want);
        }
      }),
      { numRuns: 60 },
    );
  });

  it('levels with no bucket (every segment at least a bucket long) still hold the segments whole', () => {
    const segs = segmentsOf(
      Array.from({ length: 50 }, (_, i): [number, number, number, null] => [0, 10_000_000 + i, i % 10, null]),
      ORIGIN,
    );
    const tiles = tilesOf(segs);
    for (let level = 0; level < TILE_LEVELS; level++) {
      const items = tiles.filter((t) => t.level === level).reduce((a, t) => a + t.items, 0);
      if (tileBucketNs(level) <= 10_000_000n) expect(items, `level ${level}`).toBe(50);
      else expect(items, `level ${level}`).toBeGreaterThan(0);
    }
  });

  it('a level has no more items than segments, and coarse levels shrink', () => {
    const segs = segmentsOf(
      Array.from({ length: 20_000 }, (_, i): [number, number, number, null] => [
        i % 7,
        500 + ((i * 7919) % 9000),
        i % 10,
        null,
      ]),
      ORIGIN,
    );
    const tiles = tilesOf(segs);
    const per = Array.from({ length: TILE_LEVELS }, (_, k) =>
      tiles.filter((t) => t.level === k).reduce((a, t) => a + t.items, 0),
    );
    for (const n of per) expect(n).toBeLessThanOrEqual(segs.length);
    expect(per[6]).toBeLessThan(segs.length / 20);
  });
});

describe('tile codec', () => {
  it('round-trips items exactly, offsets from any base', () => {
    const s0 = 1_795_303_749_733_824_000n;
    const bytes = encodeTile(s0, [
      { startNs: s0 + 5n, endNs: s0 + 1_000_005n, state: 'lock' },
      {
        startNs: s0 + 2_000_000n,
        endNs: s0 + 2_900_000n,
        state: 'cpu',
        merged: { count: 3, totals: [600_000n, null, null, null, 250_000n, null, null, null, null, 50_000n] },
      },
      { startNs: s0 + 2_000_000n + 2n ** 40n, endNs: s0 + 2_000_001n + 2n ** 41n, state: 'sleep' },
    ]);
    const d = decodeTile(bytes, 100);
    expect([...d.start]).toEqual([105, 2_000_100, 2_000_100 + 2 ** 40]);
    expect([...d.end]).toEqual([1_000_105, 2_900_100, 2_000_101 + 2 ** 41]);
    expect([...d.state].map((k) => THREAD_STATES[k])).toEqual(['lock', 'cpu', 'sleep']);
    expect([...d.count]).toEqual([1, 3, 1]);
    expect([...d.mixAt]).toEqual([0, 0, 3, 3]);
    expect([...d.mixState].map((k) => THREAD_STATES[k])).toEqual(['cpu', 'net', 'unknown']);
    expect([...d.mixNs]).toEqual([600_000, 250_000, 50_000]);
    const both = concatTiles([d, decodeTile(bytes, 10_000_000)]);
    expect(both.start.length).toBe(6);
    expect([...both.mixAt]).toEqual([0, 0, 3, 3, 3, 6, 6]);
  });

  it('rejects truncated or foreign bytes with a TileDecodeError, never anything else', () => {
    const bytes = encodeTile(0n, [{ startNs: 10n, endNs: 20n, state: 'cpu' }]);
    expect(() => decodeTile(bytes.subarray(0, bytes.length - 1), 0)).toThrow(TileDecodeError);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (junk) => {
        try {
          decodeTile(junk, 0);
        } catch (e) {
          expect(e).toBeInstanceOf(TileDecodeError);
        }
        try {
          decodeLaneTiles(junk);
        } catch (e) {
          expect(e).toBeInstanceOf(TileDecodeError);
        }
      }),
    );
  });

  it('frames tiles and carry-ins in a lane-tiles payload', () => {
    const p = {
      level: 4,
      tiles: [
        {
          lane: 0,
          tile: 1_700_000_000n,
          bytes: encodeTile(0n, [{ startNs: 1n, endNs: 2n, state: 'cpu' as const }]),
        },
        { lane: 3, tile: 1_700_000_001n, bytes: new Uint8Array([0]) },
      ],
      carryIns: [
        {
          lane: 3,
          tile: 1_700_000_001n,
          state: 2,
          startNs: 1_795_303_749_733_824_000n,
          endNs: 1_795_303_749_833_824_000n,
        },
      ],
    };
    const back = decodeLaneTiles(encodeLaneTiles(p));
    expect(back.level).toBe(4);
    expect(back.tiles.map((t) => [t.lane, t.tile, [...t.bytes]])).toEqual(
      p.tiles.map((t) => [t.lane, t.tile, [...t.bytes]]),
    );
    expect(back.carryIns).toEqual(p.carryIns);
  });

  it('picks half a pixel to two pixels per bucket', () => {
    expect(tileLevelFor(400n)).toBeNull();
    for (const res of [500n, 999n, 1_000n, 3_000n, 2_200_000n, 10n ** 9n]) {
      const k = tileLevelFor(res);
      expect(k).not.toBeNull();
      const b = tileBucketNs(k ?? 0);
      expect(b <= res * 2n).toBe(true);
      if ((k ?? 0) + 1 < TILE_LEVELS) expect(b * 4n > res * 2n).toBe(true);
    }
  });
});
