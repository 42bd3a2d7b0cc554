/**
 * Lane tiles in the browser: fetched per (level, tile range) for the visible lanes in one
 * request, decoded once, kept (bounded) so zooming back, panning over seen ground and the
 * next zoom step within a level cost no request. See libs/model lane-tiles.ts.
 */
import {
  LANE_TILES_MEDIA_TYPE,
  concatTiles,
  decodeLaneTiles,
  decodeTile,
  tileIndexOf,
  tileSpanNs,
  type DecodedTile,
} from '@threadreel/model';
import { getBytes } from '../api';

/** Tiles kept at most (a view needs lanes × 2–4); the oldest go first. */
const MAX_TILES = 20_000;

interface Carry {
  state: number;
  start: number;
  end: number;
}

export interface TileLane {
  /** Offsets covered (whole tiles). */
  from: number;
  to: number;
  data: DecodedTile;
}

export class TileStore {
  /** Decoded tile per `thread/level/tile`; null: loaded and empty. */
  private readonly tiles = new Map<string, DecodedTile | null>();
  /** Carry-in per `thread/level/tile`; null: none. */
  private readonly carry = new Map<string, Carry | null>();
  /** Requests in flight: what each covers. */
  private readonly pending: {
    lanes: Set<string>;
    level: number;
    a: bigint;
    b: bigint;
    done: Promise<void>;
  }[] = [];
  /** Requests made (for tests and benchmarks). */
  requests = 0;

  constructor(
    private readonly capPath: string,
    /** Absolute ns of offset 0. */
    private readonly base: bigint,
    private readonly signal: AbortSignal,
  ) {}

  /** Offset of a tile's start. */
  private tileStart(level: number, tile: bigint): number {
    return Number(tile * tileSpanNs(level) - this.base);
  }

  /** Tiles covering offsets [from, to). */
  range(level: number, from: number, to: number): [bigint, bigint] {
    const a = this.base + BigInt(Math.floor(from));
    const b = this.base + BigInt(Math.max(Math.ceil(to) - 1, Math.floor(from)));
    return [tileIndexOf(a, level), tileIndexOf(b, level)];
  }

  private key(threadId: string, level: number, tile: bigint): string {
    return `${threadId}/${level}/${tile}`;
  }

  /** Whether every tile of [from, to) of each lane (and the first tile's carry-in) is here. */
  has(threadIds: readonly string[], level: number, from: number, to: number): boolean {
    return this.missing(threadIds, level, from, to).length === 0;
  }

  private missing(threadIds: readonly string[], level: number, from: number, to: number): string[] {
    const [a, b] = this.range(level, from, to);
    return threadIds.filter((id) => {
      if (!this.carry.has(this.key(id, level, a))) return true;
      for (let t = a; t <= b; t++) if (!this.tiles.has(this.key(id, level, t))) return true;
      return false;
    });
  }

  /**
   * Loads what [from, to) of these lanes lacks at `level`, in one request; when one in flight
   * (e.g. a prefetch) covers it, waits for that one instead.
   */
  load(threadIds: readonly string[], level: number, from: number, to: number): Promise<void> {
    const lanes = this.missing(threadIds, level, from, to);
    if (!lanes.length) return Promise.resolve();
    const [a, b] = this.range(level, from, to);
    const covering = this.pending.find(
      (p) => p.level === level && p.a <= a && p.b >= b && lanes.every((id) => p.lanes.has(id)),
    );
    if (covering) return covering.done;
    const span = tileSpanNs(level);
    const q = `threadIds=${lanes.join(',')}&level=${level}&from=${(a * span).toString()}&to=${((b + 1n) * span).toString()}`;
    this.requests++;
    const p = getBytes(`${this.capPath}/lane-tiles?${q}`, 'Loading lanes', LANE_TILES_MEDIA_TYPE, this.signal)
      .then((bytes) => {
        const payload = decodeLaneTiles(bytes);
        const got = new Map<string, DecodedTile>();
        for (const t of payload.tiles) {
          const id = lanes[t.lane];
          if (id !== undefined)
            got.set(this.key(id, level, t.tile), decodeTile(t.bytes, this.tileStart(level, t.tile)));
        }
        const carries = new Map<string, Carry>();
        for (const c of payload.carryIns) {
          const id = lanes[c.lane];
          if (id !== undefined)
            carries.set(this.key(id, level, c.tile), {
              state: c.state,
              start: Number(c.startNs - this.base),
              end: Number(c.endNs - this.base),
            });
        }
        for (const id of lanes)
          for (let t = a; t <= b; t++) {
            const k = this.key(id, level, t);
            this.tiles.set(k, got.get(k) ?? null);
            this.carry.set(k, carries.get(k) ?? null);
          }
        this.trim();
      })
      .finally(() => {
        const i = this.pending.findIndex((x) => x.done === p);
        if (i >= 0) this.pending.splice(i, 1);
      });
    this.pending.push({ lanes: new Set(lanes), level, a, b, done: p });
    return p;
  }

  private trim(): void {
    for (const m of [this.tiles, this.carry]) {
      if (m.size <= MAX_TILES) continue;
      let drop = m.size - MAX_TILES;
      for (const k of m.keys()) {
        if (drop-- <= 0) break;
        m.delete(k);
      }
    }
  }

  /** One lane over the tiles covering [from, to), or null when some are not loaded. */
  lane(threadId: string, level: number, from: number, to: number): TileLane | null {
    const [a, b] = this.range(level, from, to);
    const c = this.carry.get(this.key(threadId, level, a));
    if (c === undefined) return null;
    const parts: DecodedTile[] = [];
    if (c) {
      parts.push({
        start: Float64Array.of(c.start),
        end: Float64Array.of(c.end),
        state: Uint8Array.of(c.state),
        count: Uint32Array.of(1),
        mixAt: Uint32Array.of(0, 0),
        mixState: new Uint8Array(0),
        mixNs: new Float64Array(0),
      });
    }
    for (let t = a; t <= b; t++) {
      const d = this.tiles.get(this.key(threadId, level, t));
      if (d === undefined) return null;
      if (d) parts.push(d);
    }
    const data = parts.length
      ? concatTiles(parts)
      : concatTiles([
          {
            start: new Float64Array(0),
            end: new Float64Array(0),
            state: new Uint8Array(0),
            count: new Uint32Array(0),
            mixAt: Uint32Array.of(0),
            mixState: new Uint8Array(0),
            mixNs: new Float64Array(0),
          },
        ]);
    return { from: this.tileStart(level, a), to: this.tileStart(level, b + 1n), data };
  }
}
