/**
 * Columnar encoding of one chunk of events: the rows of one (capture, thread, time bucket)
 * stored as one value, column by column, so that a column of near-equal values (times a few
 * microseconds apart, the same stack again, the same syscall name) costs a byte or two per
 * row before PostgreSQL's TOAST compression sees it. The idea of the Firefox processed
 * profile's and Perfetto's column tables.
 *
 * Column kinds:
 * - `time`: nanoseconds since the epoch, non-decreasing within the chunk; the first value is
 *   stored whole (zigzag varint of a bigint), the rest as varint deltas. A delta is a
 *   duration bounded by the chunk's width, so it is kept as a JS number only while it is
 *   below 2^53 ns (104 days); a larger one is refused rather than rounded.
 * - `int`: signed integers (zigzag varint), e.g. a cpu, a tid, a stack id; delta-coded
 *   against the previous row when `delta` is set (ids that grow slowly).
 * - `bigint`: signed 64-bit values as zigzag varints of their delta to the previous row
 *   (durations, addresses), never through a JS number.
 * - `string`: a dictionary of the chunk's distinct values, then one varint index per row.
 * Every column may hold nulls: a column with any null starts with a presence bitmap.
 */

export type ColumnKind = 'time' | 'int' | 'bigint' | 'string';

export interface ColumnSpec {
  readonly name: string;
  readonly kind: ColumnKind;
  /** `int` columns only: store the difference to the previous row. */
  readonly delta?: boolean;
}

export type ColumnValues = (bigint | null)[] | (number | null)[] | (string | null)[];

const MAX_SAFE_DELTA = BigInt(Number.MAX_SAFE_INTEGER);
/** |v| up to this zigzag-maps below 2^53 (a safe integer). */
const SAFE_HALF = BigInt(Math.floor(Number.MAX_SAFE_INTEGER / 2));
const FORMAT_VERSION = 1;

/** A growable byte buffer with varint writers. */
export class ByteWriter {
  private buf: Buffer;
  private len = 0;

  constructor(capacity = 256) {
    this.buf = Buffer.allocUnsafe(capacity);
  }

  private room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.len + n));
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }

  byte(b: number): void {
    this.room(1);
    this.buf[this.len++] = b;
  }

  /** Unsigned integer below 2^53 as a LEB128 varint. */
  uvarint(n: number): void {
    if (!Number.isSafeInteger(n) || n < 0)
      throw new RangeError(`uvarint: ${n} is not a safe unsigned integer`);
    this.room(8);
    while (n >= 0x80) {
      this.buf[this.len++] = (n % 0x80) | 0x80;
      n = Math.floor(n / 0x80);
    }
    this.buf[this.len++] = n;
  }

  /** Signed safe integer, zigzag-mapped. */
  svarint(n: number): void {
    this.uvarint(n >= 0 ? n * 2 : -n * 2 - 1);
  }

  /** Signed 64-bit bigint, zigzag-mapped, as a LEB128 varint (at most 10 bytes). */
  bigvarint(v: bigint): void {
    // Most values (deltas, ids of small captures) fit a JS number exactly: no bigint arithmetic.
    if (v >= -SAFE_HALF && v <= SAFE_HALF) {
      this.svarint(Number(v));
      return;
    }
    let z = v >= 0n ? v << 1n : (-v << 1n) - 1n;
    this.room(10);
    while (z >= 0x80n) {
      this.buf[this.len++] = Number(z & 0x7fn) | 0x80;
      z >>= 7n;
    }
    this.buf[this.len++] = Number(z);
  }

  bytes(b: Uint8Array): void {
    this.room(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }

  text(s: string): void {
    const b = Buffer.from(s, 'utf8');
    this.uvarint(b.length);
    this.bytes(b);
  }

  finish(): Buffer {
    return this.buf.subarray(0, this.len);
  }
}

/** Reads what a {@link ByteWriter} wrote; every read checks it stays inside the buffer. */
export class ByteReader {
  private pos = 0;

  constructor(private readonly buf: Uint8Array) {}

  get done(): boolean {
    return this.pos >= this.buf.length;
  }

  byte(): number {
    const b = this.buf[this.pos++];
    if (b === undefined) throw new RangeError('chunk: truncated');
    return b;
  }

  uvarint(): number {
    let n = 0;
    let scale = 1;
    for (;;) {
      const b = this.byte();
      n += (b & 0x7f) * scale;
      if (b < 0x80) break;
      scale *= 0x80;
      if (scale > 2 ** 56) throw new RangeError('chunk: varint too long');
    }
    return n;
  }

  svarint(): number {
    const z = this.uvarint();
    return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
  }

  bigvarint(): bigint {
    // Up to 7 bytes (49 bits) as a number, the rest (rare: 63-bit ids) in bigint.
    let n = 0;
    let scale = 1;
    for (let k = 0; k < 7; k++) {
      const b = this.byte();
      n += (b & 0x7f) * scale;
      if (b < 0x80) return BigInt(n % 2 === 0 ? n / 2 : -(n + 1) / 2);
      scale *= 0x80;
    }
    let z = BigInt(n);
    let shift = 49n;
    for (;;) {
      const b = this.byte();
      z |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) break;
      shift += 7n;
      if (shift > 70n) throw new RangeError('chunk: varint too long');
    }
    return (z & 1n) === 0n ? z >> 1n : -((z + 1n) >> 1n);
  }

  bytes(n: number): Uint8Array {
    if (this.pos + n > this.buf.length) throw new RangeError('chunk: truncated');
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  text(): string {
    return Buffer.from(this.bytes(this.uvarint())).toString('utf8');
  }
}

function writePresence(w: ByteWriter, values: readonly unknown[]): void {
  const hasNull = values.some((v) => v === null);
  w.byte(hasNull ? 1 : 0);
  if (!hasNull) return;
  const bits = new Uint8Array(Math.ceil(values.length / 8));
  values.forEach((v, i) => {
    if (v !== null) bits[i >> 3] = (bits[i >> 3] ?? 0) | (1 << (i & 7));
  });
  w.bytes(bits);
}

function readPresence(r: ByteReader, n: number): (i: number) => boolean {
  if (r.byte() === 0) return () => true;
  const bits = r.bytes(Math.ceil(n / 8));
  return (i) => ((bits[i >> 3] ?? 0) & (1 << (i & 7))) !== 0;
}

function encodeColumn(w: ByteWriter, spec: ColumnSpec, values: ColumnValues): void {
  writePresence(w, values);
  switch (spec.kind) {
    case 'time': {
      let prev: bigint | null = null;
      for (const v of values as (bigint | null)[]) {
        if (v === null) continue;
        if (prev === null) w.bigvarint(v);
        else {
          const d = v - prev;
          if (d < 0n || d > MAX_SAFE_DELTA)
            throw new RangeError(`column ${spec.name}: times must not decrease (${prev} then ${v})`);
          w.uvarint(Number(d));
        }
        prev = v;
      }
      return;
    }
    case 'bigint': {
      let prev = 0n;
      for (const v of values as (bigint | null)[]) {
        if (v === null) continue;
        w.bigvarint(v - prev);
        prev = v;
      }
      return;
    }
    case 'int': {
      let prev = 0;
      for (const v of values as (number | null)[]) {
        if (v === null) continue;
        w.svarint(spec.delta ? v - prev : v);
        prev = v;
      }
      return;
    }
    case 'string': {
      const dict = new Map<string, number>();
      const idx: number[] = [];
      for (const v of values as (string | null)[]) {
        if (v === null) continue;
        let i = dict.get(v);
        if (i === undefined) dict.set(v, (i = dict.size));
        idx.push(i);
      }
      w.uvarint(dict.size);
      for (const s of dict.keys()) w.text(s);
      for (const i of idx) w.uvarint(i);
      return;
    }
  }
}

function decodeColumn(r: ByteReader, spec: ColumnSpec, n: number): ColumnValues {
  const present = readPresence(r, n);
  switch (spec.kind) {
    case 'time': {
      const out: (bigint | null)[] = new Array<bigint | null>(n);
      let prev: bigint | null = null;
      for (let i = 0; i < n; i++) {
        if (!present(i)) out[i] = null;
        else out[i] = prev = prev === null ? r.bigvarint() : prev + BigInt(r.uvarint());
      }
      return out;
    }
    case 'bigint': {
      const out: (bigint | null)[] = new Array<bigint | null>(n);
      let prev = 0n;
      for (let i = 0; i < n; i++) out[i] = present(i) ? (prev += r.bigvarint()) : null;
      return out;
    }
    case 'int': {
      const out: (number | null)[] = new Array<number | null>(n);
      let prev = 0;
      for (let i = 0; i < n; i++) {
        if (!present(i)) out[i] = null;
        else out[i] = prev = spec.delta ? prev + r.svarint() : r.svarint();
      }
      return out;
    }
    case 'string': {
      const dict: string[] = [];
      for (let k = r.uvarint(); k > 0; k--) dict.push(r.text());
      const out: (string | null)[] = new Array<string | null>(n);
      for (let i = 0; i < n; i++) {
        if (!present(i)) {
          out[i] = null;
          continue;
        }
        const s = dict[r.uvarint()];
        if (s === undefined) throw new RangeError(`column ${spec.name}: dictionary index out of range`);
        out[i] = s;
      }
      return out;
    }
  }
}

/**
 * Encodes `n` rows given column by column (each array `n` long, in `schema` order).
 * The result starts with a format version and the row count, so a reader can refuse a
 * chunk written by a layout it does not know.
 */
export function encodeChunk(schema: readonly ColumnSpec[], columns: readonly ColumnValues[]): Buffer {
  const n = columns[0]?.length ?? 0;
  if (columns.length !== schema.length)
    throw new RangeError(`chunk: ${columns.length} columns for ${schema.length}`);
  const w = new ByteWriter(64 + n * schema.length * 2);
  w.byte(FORMAT_VERSION);
  w.uvarint(n);
  schema.forEach((spec, c) => {
    const values = columns[c] ?? [];
    if (values.length !== n)
      throw new RangeError(`chunk: column ${spec.name} has ${values.length} rows, not ${n}`);
    encodeColumn(w, spec, values);
  });
  return w.finish();
}

/** Decodes a chunk into its columns, in `schema` order. Throws on a damaged or foreign chunk. */
export function decodeChunk(schema: readonly ColumnSpec[], buf: Uint8Array): ColumnValues[] {
  const r = new ByteReader(buf);
  const version = r.byte();
  if (version !== FORMAT_VERSION)
    throw new RangeError(`chunk: format ${version}, expected ${FORMAT_VERSION}`);
  const n = r.uvarint();
  const out = schema.map((spec) => decodeColumn(r, spec, n));
  if (!r.done) throw new RangeError('chunk: trailing bytes');
  return out;
}
