import { once } from 'node:events';
import type { Writable } from 'node:stream';
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

/** A text[] literal for COPY: {"a","b"} with quotes and backslashes escaped. */
export function copyTextArray(values: readonly string[]): string {
  return `{${values.map((v) => `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`).join(',')}}`;
}

/**
 * Rows of one source file streamed into one table with COPY, inside a transaction that
 * first deletes that file's earlier rows: a retried parse job replaces exactly its own rows.
 */
export class CopyRows {
  private copy?: Writable;
  private done?: Promise<void>;
  private buffer = '';
  rows = 0;

  constructor(
    private readonly client: pg.PoolClient,
    private readonly table: string,
    private readonly columns: readonly string[],
  ) {}

  /** Starts the transaction and the COPY (call on a client with no open transaction). */
  async begin(captureId: string, fileOrdinal: number): Promise<void> {
    await this.client.query('BEGIN');
    await this.client.query(`DELETE FROM ${this.table} WHERE capture_id = $1 AND file_ordinal = $2`, [
      captureId,
      fileOrdinal,
    ]);
    const stream = this.client.query(copyFrom(`COPY ${this.table} (${this.columns.join(', ')}) FROM STDIN`));
    this.copy = stream;
    this.done = new Promise<void>((resolve, reject) => {
      stream.on('finish', () => resolve());
      stream.on('error', reject);
    });
    this.done.catch(() => undefined);
  }

  /** Appends one row (already escaped with copyField); resolves a promise only when a chunk is sent. */
  push(line: string): Promise<void> | undefined {
    this.buffer += line;
    this.rows++;
    return this.buffer.length >= CHUNK_BYTES ? this.flush() : undefined;
  }

  async flush(): Promise<void> {
    if (!this.buffer || !this.copy) return;
    const chunk = this.buffer;
    this.buffer = '';
    if (!this.copy.write(chunk)) await Promise.race([once(this.copy, 'drain'), this.done]);
  }

  /** Ends the COPY and commits. */
  async commit(): Promise<void> {
    await this.flush();
    this.copy?.end();
    await this.done;
    await this.client.query('COMMIT');
  }

  /** Aborts the COPY and rolls back; the client must then be released as broken. */
  async rollback(): Promise<void> {
    this.copy?.destroy();
    await this.done?.catch(() => undefined);
    await this.client.query('ROLLBACK').catch(() => undefined);
  }
}
