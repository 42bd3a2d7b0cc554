import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

/** Bytes of rows sent per COPY statement. */
const CHUNK_BYTES = 1024 * 1024;

const NEEDS_ESCAPE = /[\\\t\n\r]/;

/** A COPY text-format field: NULL as \N, backslash, tab, newline and CR escaped. */
export function copyField(v: string | number | bigint | boolean | null | undefined): string {
  if (v === null || v === undefined) return '\\N';
  if (typeof v !== 'string') return String(v);
  return NEEDS_ESCAPE.test(v) ? escapeText(v) : v;
}

function escapeText(v: string): string {
  return v.replace(/[\\\t\n\r]/g, (c) =>
    c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r',
  );
}

/** A bytea field for COPY (hex form, its backslash escaped). */
export function copyBytea(bytes: Uint8Array): string {
  return `\\\\x${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')}`;
}

/** A text[] literal for COPY: {"a","b"} with quotes and backslashes escaped. */
export function copyTextArray(values: readonly string[]): string {
  return `{${values.map((v) => `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`).join(',')}}`;
}

/** A table a {@link CopyTransaction} writes, with the columns of its rows. */
export interface CopyTable {
  readonly table: string;
  readonly columns: readonly string[];
  /** The relation COPY writes into (the capture's partition of `table`); `table` by default. */
  readonly target?: string;
}

export type CopyValue = string | number | bigint | boolean | null | undefined;

const TAB = 9;
const LF = 10;
const CR = 13;
const BACKSLASH = 92;
/** Strings longer than this are written by Buffer.write (native), shorter ones char by char. */
const NATIVE_WRITE_FROM = 48;

/**
 * The COPY text rows of one table, encoded straight into a byte buffer: each field method
 * writes one value and its tab, {@link end} closes the row. Numbers are written digit by digit
 * and ASCII text char by char, so a row costs no intermediate strings.
 */
export class CopyRows implements CopyTable {
  private buf = Buffer.allocUnsafe(CHUNK_BYTES + 64 * 1024);
  private pos = 0;
  private start = 0;
  /** Rows ended so far (sent or not). */
  rows = 0;

  constructor(
    readonly table: string,
    readonly columns: readonly string[],
    readonly target: string = table,
  ) {}

  /** Whether the buffered rows make a chunk to send. */
  get full(): boolean {
    return this.pos >= CHUNK_BYTES;
  }

  get empty(): boolean {
    return this.pos === 0;
  }

  /** Text already in COPY form (fields escaped, tabs included): written as it is. */
  raw(s: string): this {
    this.ensure(s.length * 3);
    const buf = this.buf;
    const n = s.length;
    if (n > NATIVE_WRITE_FROM) {
      this.pos += buf.write(s, this.pos, 'utf8');
      return this;
    }
    let pos = this.pos;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) {
        this.pos = pos + buf.write(s.slice(i), pos, 'utf8');
        return this;
      }
      buf[pos++] = c;
    }
    this.pos = pos;
    return this;
  }

  /** A text field, escaped. */
  text(s: string | null | undefined): this {
    if (s === null || s === undefined) return this.nul();
    const n = s.length;
    this.ensure(n * 3 + 1);
    const buf = this.buf;
    if (n > NATIVE_WRITE_FROM) {
      this.pos += buf.write(NEEDS_ESCAPE.test(s) ? escapeText(s) : s, this.pos, 'utf8');
      buf[this.pos++] = TAB;
      return this;
    }
    let pos = this.pos;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) {
        const rest = s.slice(i);
        pos += buf.write(NEEDS_ESCAPE.test(rest) ? escapeText(rest) : rest, pos, 'utf8');
        break;
      }
      if (c === BACKSLASH || c === TAB || c === LF || c === CR) {
        buf[pos++] = BACKSLASH;
        buf[pos++] = c === BACKSLASH ? BACKSLASH : c === TAB ? 116 : c === LF ? 110 : 114;
      } else buf[pos++] = c;
    }
    buf[pos++] = TAB;
    this.pos = pos;
    return this;
  }

  /** A number field (integers digit by digit). */
  num(v: number | null | undefined): this {
    if (v === null || v === undefined) return this.nul();
    if (!Number.isSafeInteger(v)) return this.raw(String(v)).tab();
    this.ensure(24);
    const buf = this.buf;
    let pos = this.pos;
    if (v < 0) {
      buf[pos++] = 45;
      v = -v;
    }
    let digits = 1;
    for (let t = v; t >= 10; t = Math.floor(t / 10)) digits++;
    const end = pos + digits;
    for (let p = end - 1; p >= pos; p--) {
      const q = Math.floor(v / 10);
      buf[p] = 48 + (v - q * 10);
      v = q;
    }
    buf[end] = TAB;
    this.pos = end + 1;
    return this;
  }

  /** A bigint field. */
  big(v: bigint | null | undefined): this {
    return v === null || v === undefined ? this.nul() : this.raw(v.toString()).tab();
  }

  /** Any field, by its type (as {@link copyField} renders it). */
  field(v: CopyValue): this {
    if (typeof v === 'string') return this.text(v);
    if (typeof v === 'number') return this.num(v);
    if (typeof v === 'bigint') return this.big(v);
    if (typeof v === 'boolean') return this.raw(v ? 'true\t' : 'false\t');
    return this.nul();
  }

  nul(): this {
    this.ensure(3);
    this.buf[this.pos++] = BACKSLASH;
    this.buf[this.pos++] = 78; // N
    this.buf[this.pos++] = TAB;
    return this;
  }

  private tab(): this {
    this.ensure(1);
    this.buf[this.pos++] = TAB;
    return this;
  }

  /** Ends the row (its last field's tab becomes the newline). */
  end(): void {
    this.buf[this.pos - 1] = LF;
    this.start = this.pos;
    this.rows++;
  }

  /** Appends whole rows given as text (fields escaped, each row ending with a newline). */
  lines(text: string, rows: number): void {
    this.raw(text);
    this.start = this.pos;
    this.rows += rows;
  }

  /** The buffered rows, handed over; the buffer starts empty. */
  take(): Buffer {
    const out = this.buf.subarray(0, this.start);
    const rest = this.buf.subarray(this.start, this.pos);
    this.buf = Buffer.allocUnsafe(Math.max(CHUNK_BYTES + 64 * 1024, rest.length * 2));
    rest.copy(this.buf);
    this.pos = rest.length;
    this.start = 0;
    return out;
  }

  /** Drops the buffered rows. */
  clear(): void {
    this.pos = 0;
    this.start = 0;
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(grown, 0, 0, this.pos);
    this.buf = grown;
  }
}

/** COPY statements sent but not yet acknowledged before a writer waits for the oldest. */
const MAX_IN_FLIGHT = 2;

/**
 * The rows one source file writes, into any number of tables, in one transaction that
 * first deletes that file's earlier rows from all of them: a retried parse job replaces
 * exactly its own rows. Rows are buffered per table ({@link CopyRows}) and sent as one
 * `COPY … FROM STDIN` statement per 1 MiB chunk, so tables interleave freely on one
 * connection while the parser keeps running (up to two chunks are in flight before it waits).
 */
export class CopyTransaction {
  private readonly buffers = new Map<string, CopyRows>();
  private readonly inFlight: Promise<void>[] = [];
  private failed: Error | null = null;

  constructor(
    private readonly client: pg.PoolClient,
    tables: readonly CopyTable[],
  ) {
    for (const t of tables) this.buffers.set(t.table, new CopyRows(t.table, t.columns, t.target));
  }

  /** Rows pushed to a table so far. */
  rows(table: string): number {
    return this.buffers.get(table)?.rows ?? 0;
  }

  /** The row encoder of a declared table: write rows into it, then call {@link flush}. */
  table(table: string): CopyRows {
    const t = this.buffers.get(table);
    if (t === undefined) throw new Error(`CopyTransaction: ${table} was not declared`);
    return t;
  }

  /**
   * Starts the transaction and deletes the file's earlier rows (call on a client with no open
   * transaction); with `keepEarlier` only starts it (a byte range of a file: its rows were
   * deleted when the file's ranged parse started).
   */
  async begin(captureId: string, fileOrdinal: number, keepEarlier = false): Promise<void> {
    await this.client.query('BEGIN');
    if (keepEarlier) return;
    for (const t of this.buffers.values()) {
      await this.client.query(`DELETE FROM ${t.target} WHERE capture_id = $1 AND file_ordinal = $2`, [
        captureId,
        fileOrdinal,
      ]);
    }
  }

  /** Starts the transaction and deletes every earlier row of the capture from the tables (derived data). */
  async beginCapture(captureId: string): Promise<void> {
    await this.client.query('BEGIN');
    for (const t of this.buffers.values())
      await this.client.query(`DELETE FROM ${t.target} WHERE capture_id = $1`, [captureId]);
  }

  /** Appends one row (fields escaped with copyField); returns a promise only when it must wait. */
  push(table: string, line: string): Promise<void> | undefined {
    const t = this.table(table);
    t.lines(line, 1);
    return t.full ? this.send(t) : undefined;
  }

  /** Sends the table's rows when they fill a chunk; returns a promise only when it must wait. */
  flush(t: CopyRows): Promise<void> | undefined {
    return t.full ? this.send(t) : undefined;
  }

  private send(t: CopyRows): Promise<void> | undefined {
    if (this.failed !== null) return Promise.reject(this.failed);
    if (t.empty) return undefined;
    const chunk = t.take();
    const stream = this.client.query(copyFrom(`COPY ${t.target} (${t.columns.join(', ')}) FROM STDIN`));
    const done = new Promise<void>((resolve, reject) => {
      stream.on('finish', () => resolve());
      stream.on('error', reject);
    });
    done.catch((e: unknown) => {
      this.failed ??= e instanceof Error ? e : new Error(String(e));
    });
    // The stream is corked until pg submits the statement; end() queues the chunk meanwhile.
    stream.end(chunk);
    this.inFlight.push(done);
    return this.inFlight.length > MAX_IN_FLIGHT ? this.inFlight.shift() : undefined;
  }

  /** Sends what is buffered for `table` and waits for every COPY sent, so this connection reads it back. */
  async sendTable(table: string): Promise<void> {
    const t = this.buffers.get(table);
    if (t === undefined) throw new Error(`CopyTransaction: ${table} was not declared`);
    await this.send(t);
    while (this.inFlight.length) await this.inFlight.shift();
    if (this.failed !== null) throw this.failed;
  }

  /** Sends what is buffered, waits for every COPY, runs `before` in the transaction and commits. */
  async commit(before?: (client: pg.PoolClient) => Promise<void>): Promise<void> {
    for (const t of this.buffers.values()) await this.send(t);
    while (this.inFlight.length) await this.inFlight.shift();
    if (this.failed !== null) throw this.failed;
    await before?.(this.client);
    await this.client.query('COMMIT');
  }

  /** Rolls back; the client should then be released as broken. */
  async rollback(): Promise<void> {
    for (const t of this.buffers.values()) t.clear();
    await Promise.allSettled(this.inFlight.splice(0));
    await this.client.query('ROLLBACK').catch(() => undefined);
  }
}
