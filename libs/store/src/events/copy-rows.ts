import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

const CHUNK_BYTES = 256 * 1024;

/** A COPY text-format field: NULL as \N, backslash, tab, newline and CR escaped. */
export function copyField(v: string | number | bigint | boolean | null | undefined): string {
  if (v === null || v === undefined) return '\\N';
  if (typeof v !== 'string') return String(v);
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
}

interface TableBuffer extends CopyTable {
  text: string;
  rows: number;
}

/** COPY statements sent but not yet acknowledged before push() waits for the oldest. */
const MAX_IN_FLIGHT = 2;

/**
 * The rows one source file writes, into any number of tables, in one transaction that
 * first deletes that file's earlier rows from all of them: a retried parse job replaces
 * exactly its own rows. Rows are buffered per table and sent as one `COPY … FROM STDIN`
 * statement per 256 KiB chunk, so tables interleave freely on one connection while the
 * parser keeps running (up to two chunks are in flight before it waits).
 */
export class CopyTransaction {
  private readonly buffers = new Map<string, TableBuffer>();
  private readonly inFlight: Promise<void>[] = [];
  private failed: Error | null = null;

  constructor(
    private readonly client: pg.PoolClient,
    tables: readonly CopyTable[],
  ) {
    for (const t of tables) this.buffers.set(t.table, { ...t, text: '', rows: 0 });
  }

  /** Rows pushed to a table so far. */
  rows(table: string): number {
    return this.buffers.get(table)?.rows ?? 0;
  }

  /** Starts the transaction and deletes the file's earlier rows (call on a client with no open transaction). */
  async begin(captureId: string, fileOrdinal: number): Promise<void> {
    await this.client.query('BEGIN');
    for (const t of this.buffers.values()) {
      await this.client.query(`DELETE FROM ${t.table} WHERE capture_id = $1 AND file_ordinal = $2`, [
        captureId,
        fileOrdinal,
      ]);
    }
  }

  /** Starts the transaction and deletes every earlier row of the capture from the tables (derived data). */
  async beginCapture(captureId: string): Promise<void> {
    await this.client.query('BEGIN');
    for (const t of this.buffers.values())
      await this.client.query(`DELETE FROM ${t.table} WHERE capture_id = $1`, [captureId]);
  }

  /** Appends one row (fields escaped with copyField); returns a promise only when it must wait. */
  push(table: string, line: string): Promise<void> | undefined {
    const t = this.buffers.get(table);
    if (t === undefined) throw new Error(`CopyTransaction: ${table} was not declared`);
    t.text += line;
    t.rows++;
    return t.text.length >= CHUNK_BYTES ? this.send(t) : undefined;
  }

  private send(t: TableBuffer): Promise<void> | undefined {
    if (this.failed !== null) return Promise.reject(this.failed);
    if (!t.text) return undefined;
    const chunk = t.text;
    t.text = '';
    const stream = this.client.query(copyFrom(`COPY ${t.table} (${t.columns.join(', ')}) FROM STDIN`));
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
  async flush(table: string): Promise<void> {
    const t = this.buffers.get(table);
    if (t === undefined) throw new Error(`CopyTransaction: ${table} was not declared`);
    await this.send(t);
    while (this.inFlight.length) await this.inFlight.shift();
    if (this.failed !== null) throw this.failed;
  }

  /** Sends what is buffered, waits for every COPY and commits. */
  async commit(): Promise<void> {
    for (const t of this.buffers.values()) await this.send(t);
    while (this.inFlight.length) await this.inFlight.shift();
    if (this.failed !== null) throw this.failed;
    await this.client.query('COMMIT');
  }

  /** Rolls back; the client should then be released as broken. */
  async rollback(): Promise<void> {
    for (const t of this.buffers.values()) t.text = '';
    await Promise.allSettled(this.inFlight.splice(0));
    await this.client.query('ROLLBACK').catch(() => undefined);
  }
}
