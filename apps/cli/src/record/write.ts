import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { stat, writeFile } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';

export function isDiskFull(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * An append-only text file whose write errors (ENOSPC …) are reported once through
 * `onError` instead of being thrown at the writer; later writes are dropped.
 */
export class SafeWriter {
  private readonly stream: WriteStream;
  private failed: Error | null = null;
  private bytes = 0;

  constructor(
    readonly path: string,
    private readonly onError: (err: Error) => void,
  ) {
    this.stream = createWriteStream(path, { flags: 'wx' });
    this.stream.on('error', (err) => this.fail(err));
  }

  write(text: string): void {
    if (this.failed !== null || text === '') return;
    this.bytes += Buffer.byteLength(text);
    this.stream.write(text);
  }

  get written(): number {
    return this.bytes;
  }

  get error(): Error | null {
    return this.failed;
  }

  /** Flushes and closes; resolves even after an error. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.stream.closed || this.stream.destroyed) return resolve();
      this.stream.end(() => resolve());
      this.stream.once('error', () => resolve());
      this.stream.once('close', () => resolve());
    });
  }

  private fail(err: Error): void {
    if (this.failed !== null) return;
    this.failed = err;
    this.stream.destroy();
    this.onError(err);
  }
}

/** Streams `source` through gzip into `dest` (never buffers it whole). Rejects with the first error. */
export async function gzipStream(source: Readable, dest: string, signal?: AbortSignal): Promise<void> {
  await pipeline(source, createGzip({ level: 9 }), createWriteStream(dest, { flags: 'wx' }), { signal });
}

/** gzip of a file on disk into `dest`. */
export async function gzipFile(src: string, dest: string, signal?: AbortSignal): Promise<void> {
  await gzipStream(createReadStream(src), dest, signal);
}

export interface CopyResult {
  /** Bytes copied: the size when the copy started. */
  bytes: number;
  /** Size when the copy ended (more than `bytes` when the file was still growing). */
  sizeAfter: number;
}

/**
 * Copies the first N bytes of `src`, N being its size when the copy starts, so that a
 * file still being appended to gives a consistent snapshot; sizeAfter tells it grew.
 */
export async function copySnapshot(src: string, dest: string, signal?: AbortSignal): Promise<CopyResult> {
  const bytes = (await stat(src)).size;
  if (bytes === 0) await writeFile(dest, '', { flag: 'wx' });
  else
    await pipeline(
      createReadStream(src, { start: 0, end: bytes - 1 }),
      createWriteStream(dest, { flags: 'wx' }),
      { signal },
    );
  const sizeAfter = (await stat(src)).size;
  return { bytes, sizeAfter };
}
