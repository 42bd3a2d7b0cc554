import {
  TILE_LEVELS,
  encodeTile,
  tileBucketNs,
  tileIndexOf,
  tileSpanNs,
  type Segment,
  type TileItem,
} from '@threadreel/model';
import { appendAll } from '@threadreel/model';
import { type LodBucket } from './lod.js';

export interface LaneTile {
  threadId: string;
  level: number;
  /** Tile index: the tile covers [tile·span, (tile + 1)·span). */
  tile: bigint;
  bytes: Uint8Array;
  /** Items in the tile. */
  items: number;
}

/**
 * The finest tile levels are not stored: their tiles hold about every segment again, one
 * level each (in the java fixture, levels 0–3 were three quarters of the tile bytes), and a
 * tile of them spans at most 64 ms, so the replay builds them when asked from the segment and
 * pyramid chunks of that span ({@link levelTiles} on the buckets and long segments there).
 */
export const STORED_TILE_MIN_LEVEL = 4;

/**
 * Level k's tiles: its buckets merged by start with the segments at least a bucket long.
 * Given the buckets and segments of a span of whole tiles, it gives those tiles exactly.
 */
export function levelTiles(
  threadId: string,
  segs: readonly Segment[],
  level: number,
  buckets: readonly LodBucket[],
): LaneTile[] {
  const size = tileBucketNs(level);
  const span = tileSpanNs(level);
  const out: LaneTile[] = [];
  let tile: bigint | null = null;
  let items: TileItem[] = [];
  const push = (it: TileItem) => {
    const t = tileIndexOf(it.startNs, level);
    if (t !== tile) {
      if (tile !== null && items.length)
        out.push({ threadId, level, tile, bytes: encodeTile(tile * span, items), items: items.length });
      tile = t;
      items = [];
    }
    items.push(it);
  };
  let i = 0;
  let j = 0;
  while (i < buckets.length || j < segs.length) {
    const s = segs[j];
    if (s !== undefined && s.endNs - s.startNs < size) {
      j++;
      continue;
    }
    const b = buckets[i];
    if (b !== undefined && (s === undefined || b.minStartNs <= s.startNs)) {
      i++;
      push(
        b.count === 1
          ? { startNs: b.minStartNs, endNs: b.maxEndNs, state: b.dominant }
          : {
              startNs: b.minStartNs,
              endNs: b.maxEndNs,
              state: b.dominant,
              merged: { count: b.count, totals: b.totals },
            },
      );
    } else if (s !== undefined) {
      j++;
      push({ startNs: s.startNs, endNs: s.endNs, state: s.state });
    }
  }
  if (tile !== null && items.length)
    out.push({ threadId, level, tile, bytes: encodeTile(tile * span, items), items: items.length });
  return out;
}

/**
 * Builds one thread's lane tiles (see libs/model lane-tiles.ts) from its segments (sorted by
 * start, non-overlapping) and its level-of-detail buckets as {@link lodBuckets} yields them
 * (level by level, each in time order; the buckets of level k sum the segments shorter than a
 * bucket). Level k's items are the segments at least a bucket long, whole, and the buckets of
 * level k (a bucket of one segment as that segment), merged by start and cut into tiles; empty
 * tiles are not produced. Fed bucket by bucket, it holds one level's buckets at a time.
 */
export class LaneTileBuilder {
  private level = -1;
  private pending: LodBucket[] = [];

  /** `fromLevel`: the finest level to build (the store keeps levels from STORED_TILE_MIN_LEVEL). */
  constructor(
    private readonly threadId: string,
    private readonly segs: readonly Segment[],
    private readonly fromLevel = 0,
  ) {}

  /** Takes the next bucket; returns the tiles of a level it completes. */
  add(b: LodBucket): LaneTile[] {
    if (b.level < 0 || b.level >= TILE_LEVELS) return [];
    if (b.level === this.level) {
      this.pending.push(b);
      return [];
    }
    const done = this.flush();
    // Levels without buckets hold long segments only.
    for (let k = Math.max(this.level + 1, this.fromLevel); k < b.level; k++)
      appendAll(done, levelTiles(this.threadId, this.segs, k, []));
    this.level = b.level;
    this.pending = [b];
    return done;
  }

  /** The tiles of the last level, and of the levels no bucket reached (long segments only). */
  finish(): LaneTile[] {
    const out = this.flush();
    for (let k = Math.max(this.level + 1, this.fromLevel); k < TILE_LEVELS; k++)
      appendAll(out, levelTiles(this.threadId, this.segs, k, []));
    this.level = TILE_LEVELS;
    return out;
  }

  private flush(): LaneTile[] {
    if (this.level < this.fromLevel || this.level >= TILE_LEVELS) return [];
    const out = levelTiles(this.threadId, this.segs, this.level, this.pending);
    this.pending = [];
    return out;
  }
}

/** All of one thread's lane tiles ({@link LaneTileBuilder} over a bucket sequence). */
export function* laneTiles(
  threadId: string,
  segs: readonly Segment[],
  buckets: Iterable<LodBucket>,
): Generator<LaneTile> {
  const builder = new LaneTileBuilder(threadId, segs);
  for (const b of buckets) yield* builder.add(b);
  yield* builder.finish();
}
