/**
 * Lane tiles: a thread's lane at one level of detail, cut into fixed time tiles and packed in
 * a compact binary form, so the replay UI can fetch what a zoom step needs in one small read
 * and cache it (as map tiles). Level k uses buckets of 1 µs·4^k (the pyramid's levels); a tile
 * of level k covers {@link TILE_BUCKETS} buckets, aligned on multiples of its span from time 0.
 *
 * A tile holds, in start order, the items a lane shows at that level: each segment at least one
 * bucket long whole (start, end, state), and per bucket the shorter segments that start in it,
 * merged (earliest start, latest end, count, ns per state; the dominant state). A bucket of one
 * segment is that segment, whole. Segment detail (syscall, peer, lock, stacks) is not in tiles:
 * a client asks for it when it needs it.
 *
 * Encoding (unsigned LEB128 varints, all ns values exact integers below 2^53):
 *   n                                   items
 *   per item: tag                       state index in THREAD_STATES, | 16 when merged
 *             startDelta                from the tile start (first item) or the previous item's start
 *             duration                  end − start
 *             [merged] count, mask      mask: bit i set when state i has time
 *             [merged] ns per set bit   in THREAD_STATES order
 *
 * Pure: used by the correlate step (encode), the API (pass-through) and the web UI (decode).
 */
import { THREAD_STATES, type ThreadState } from './states.js';

/** Buckets per tile. */
export const TILE_BUCKETS = 1024;
/** Levels with tiles: 0 … TILE_LEVELS − 1 (bucket 1 µs … 16.8 s; tile 1 ms … 4.8 h). */
export const TILE_LEVELS = 13;
/** Bucket size of level 0. */
export const TILE_BASE_NS = 1000n;

/** Bucket size (ns) of a tile level. */
export function tileBucketNs(level: number): bigint {
  return TILE_BASE_NS << BigInt(2 * level);
}

/** Time span (ns) of one tile of a level. */
export function tileSpanNs(level: number): bigint {
  return tileBucketNs(level) * BigInt(TILE_BUCKETS);
}

/**
 * The level to draw `resolutionNs` per pixel: the coarsest whose buckets are at most two pixels
 * wide (so half a pixel to two pixels per bucket); null below half a level-0 bucket per pixel.
 */
export function tileLevelFor(resolutionNs: bigint): number | null {
  if (resolutionNs * 2n < TILE_BASE_NS) return null;
  let k = 0;
  while (k + 1 < TILE_LEVELS && tileBucketNs(k + 1) <= resolutionNs * 2n) k++;
  return k;
}

/** The tile of a level holding time `ns` (floor division). */
export function tileIndexOf(ns: bigint, level: number): bigint {
  const span = tileSpanNs(level);
  const q = ns / span;
  return ns % span !== 0n && ns < 0n ? q - 1n : q;
}

/** One item to encode; times absolute. */
export interface TileItem {
  startNs: bigint;
  endNs: bigint;
  state: ThreadState;
  /** Merged items: segment count and ns per state (THREAD_STATES order, null where none). */
  merged?: { count: number; totals: readonly (bigint | null)[] };
}

const STATE_CODE = new Map<string, number>(THREAD_STATES.map((s, i) => [s, i]));
const MERGED = 16;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

class ByteWriter {
  private buf = new Uint8Array(256);
  length = 0;

  private room(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }

  /** An unsigned integer below 2^53. */
  varint(v: number): void {
    this.room(8);
    let x = v;
    while (x >= 128) {
      this.buf[this.length++] = (x % 128) | 128;
      x = Math.floor(x / 128);
    }
    this.buf[this.length++] = x;
  }

  bytes(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

/** ns as a number: exact below 2^53; larger gaps (over 104 days) are clamped. */
function safe(ns: bigint): number {
  return Number(ns < 0n ? 0n : ns > MAX_SAFE ? MAX_SAFE : ns);
}

/** Encodes the items of one tile (sorted by start, each starting at or after `tileStartNs`). */
export function encodeTile(tileStartNs: bigint, items: readonly TileItem[]): Uint8Array {
  const w = new ByteWriter();
  w.varint(items.length);
  let prev = tileStartNs;
  for (const it of items) {
    const code = STATE_CODE.get(it.state) ?? THREAD_STATES.length - 1;
    w.varint(it.merged ? code | MERGED : code);
    w.varint(safe(it.startNs - prev));
    w.varint(safe(it.endNs - it.startNs));
    prev = it.startNs;
    if (it.merged) {
      w.varint(it.merged.count);
      let mask = 0;
      it.merged.totals.forEach((v, i) => {
        if (v !== null && v !== undefined) mask |= 1 << i;
      });
      w.varint(mask);
      for (const v of it.merged.totals) if (v !== null && v !== undefined) w.varint(safe(v));
    }
  }
  return w.bytes();
}

/**
 * Decoded items of one or more tiles, as parallel arrays of offsets (ns after some base, as
 * numbers: a request window's offsets are far below 2^53).
 */
export interface DecodedTile {
  start: Float64Array;
  end: Float64Array;
  /** Index into THREAD_STATES. */
  state: Uint8Array;
  /** Segments in the item (1: a whole segment). */
  count: Uint32Array;
  /** ns per state of merged item i: mixState/mixNs[mixAt[i] … mixAt[i + 1]). */
  mixAt: Uint32Array;
  mixState: Uint8Array;
  mixNs: Float64Array;
}

export class TileDecodeError extends Error {}

/**
 * Decodes a tile whose start is `tileStart` (an offset, ns after the caller's base).
 * Throws {@link TileDecodeError} on truncated or malformed bytes.
 */
export function decodeTile(bytes: Uint8Array, tileStart: number): DecodedTile {
  let p = 0;
  const read = (): number => {
    let v = 0;
    let scale = 1;
    for (;;) {
      if (p >= bytes.length) throw new TileDecodeError(`tile truncated at byte ${p}`);
      const b = bytes[p++] ?? 0;
      v += (b & 127) * scale;
      if (b < 128) return v;
      scale *= 128;
      if (scale > 2 ** 56) throw new TileDecodeError(`varint too long at byte ${p}`);
    }
  };
  const n = read();
  if (n > bytes.length) throw new TileDecodeError(`tile claims ${n} items in ${bytes.length} bytes`);
  const start = new Float64Array(n);
  const end = new Float64Array(n);
  const state = new Uint8Array(n);
  const count = new Uint32Array(n);
  const mixAt = new Uint32Array(n + 1);
  const mixState: number[] = [];
  const mixNs: number[] = [];
  let at = tileStart;
  for (let i = 0; i < n; i++) {
    const tag = read();
    const code = tag & 15;
    if (code >= THREAD_STATES.length) throw new TileDecodeError(`unknown state ${code} in item ${i}`);
    at += read();
    start[i] = at;
    end[i] = at + read();
    state[i] = code;
    mixAt[i] = mixState.length;
    if (tag & MERGED) {
      count[i] = read();
      const mask = read();
      for (let s = 0; s < THREAD_STATES.length; s++)
        if (mask & (1 << s)) {
          mixState.push(s);
          mixNs.push(read());
        }
    } else count[i] = 1;
  }
  mixAt[n] = mixState.length;
  return {
    start,
    end,
    state,
    count,
    mixAt,
    mixState: Uint8Array.from(mixState),
    mixNs: Float64Array.from(mixNs),
  };
}

/** Concatenates decoded tiles (in time order) into one. */
export function concatTiles(parts: readonly DecodedTile[]): DecodedTile {
  if (parts.length === 1 && parts[0]) return parts[0];
  let n = 0;
  let m = 0;
  for (const t of parts) {
    n += t.start.length;
    m += t.mixState.length;
  }
  const out: DecodedTile = {
    start: new Float64Array(n),
    end: new Float64Array(n),
    state: new Uint8Array(n),
    count: new Uint32Array(n),
    mixAt: new Uint32Array(n + 1),
    mixState: new Uint8Array(m),
    mixNs: new Float64Array(m),
  };
  let i = 0;
  let j = 0;
  for (const t of parts) {
    const k = t.start.length;
    out.start.set(t.start, i);
    out.end.set(t.end, i);
    out.state.set(t.state, i);
    out.count.set(t.count, i);
    for (let x = 0; x < k; x++) out.mixAt[i + x] = (t.mixAt[x] ?? 0) + j;
    out.mixState.set(t.mixState, j);
    out.mixNs.set(t.mixNs, j);
    i += k;
    j += t.mixState.length;
  }
  out.mixAt[n] = m;
  return out;
}

/**
 * The lane-tiles response: `TRLT`, version, level, then per tile its lane (index into the
 * requested thread ids), index (i64) and bytes; then the carry-ins: per lane and requested
 * tile, the segment at least a bucket long that began before the tile and reaches into it (no
 * tile of the range holds it when the range starts there). All integers little-endian.
 */
export interface LaneTilesPayload {
  level: number;
  tiles: { lane: number; tile: bigint; bytes: Uint8Array }[];
  carryIns: { lane: number; tile: bigint; state: number; startNs: bigint; endNs: bigint }[];
}

/** Media type of a lane-tiles response. */
export const LANE_TILES_MEDIA_TYPE = 'application/vnd.threadreel.lane-tiles';

const MAGIC = 0x544c5254; // 'TRLT' little-endian
const VERSION = 1;
const CARRY_BYTES = 27;

export function encodeLaneTiles(p: LaneTilesPayload): Uint8Array {
  let size = 12;
  for (const t of p.tiles) size += 14 + t.bytes.length;
  size += 4 + p.carryIns.length * CARRY_BYTES;
  const out = new Uint8Array(size);
  const v = new DataView(out.buffer);
  let o = 0;
  v.setUint32(o, MAGIC, true);
  v.setUint8(o + 4, VERSION);
  v.setUint8(o + 5, p.level);
  v.setUint16(o + 6, 0, true);
  v.setUint32(o + 8, p.tiles.length, true);
  o += 12;
  for (const t of p.tiles) {
    v.setUint16(o, t.lane, true);
    v.setBigInt64(o + 2, t.tile, true);
    v.setUint32(o + 10, t.bytes.length, true);
    out.set(t.bytes, o + 14);
    o += 14 + t.bytes.length;
  }
  v.setUint32(o, p.carryIns.length, true);
  o += 4;
  for (const c of p.carryIns) {
    v.setUint16(o, c.lane, true);
    v.setUint8(o + 2, c.state);
    v.setBigInt64(o + 3, c.tile, true);
    v.setBigInt64(o + 11, c.startNs, true);
    v.setBigInt64(o + 19, c.endNs, true);
    o += CARRY_BYTES;
  }
  return out;
}

export function decodeLaneTiles(buf: ArrayBuffer | Uint8Array): LaneTilesPayload {
  const bytes = buf instanceof Uint8Array ? buf : new Uint8Array(buf);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const need = (o: number, n: number) => {
    if (o + n > bytes.length) throw new TileDecodeError(`lane tiles truncated at byte ${o}`);
  };
  need(0, 12);
  if (v.getUint32(0, true) !== MAGIC) throw new TileDecodeError('not a lane-tiles payload');
  if (v.getUint8(4) !== VERSION) throw new TileDecodeError(`lane-tiles version ${v.getUint8(4)}`);
  const level = v.getUint8(5);
  const nt = v.getUint32(8, true);
  let o = 12;
  const tiles: LaneTilesPayload['tiles'] = [];
  for (let i = 0; i < nt; i++) {
    need(o, 14);
    const lane = v.getUint16(o, true);
    const tile = v.getBigInt64(o + 2, true);
    const len = v.getUint32(o + 10, true);
    need(o + 14, len);
    tiles.push({ lane, tile, bytes: bytes.subarray(o + 14, o + 14 + len) });
    o += 14 + len;
  }
  need(o, 4);
  const nc = v.getUint32(o, true);
  o += 4;
  const carryIns: LaneTilesPayload['carryIns'] = [];
  for (let i = 0; i < nc; i++) {
    need(o, CARRY_BYTES);
    carryIns.push({
      lane: v.getUint16(o, true),
      state: v.getUint8(o + 2),
      tile: v.getBigInt64(o + 3, true),
      startNs: v.getBigInt64(o + 11, true),
      endNs: v.getBigInt64(o + 19, true),
    });
    o += CARRY_BYTES;
  }
  return { level, tiles, carryIns };
}
