import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream, type ReadStream } from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

export interface StoredBlob {
  sha256: string;
  size: number;
}

export class BlobTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`larger than the upload limit of ${limit} bytes`);
    this.name = 'BlobTooLargeError';
  }
}

/**
 * Content-addressed storage of input files under `<dataDir>/blobs/ab/abcdef…`. A blob is
 * written to a temporary file while hashed, fsynced, renamed to its address and its
 * directory fsynced: once `put` resolves the bytes survive a crash. The same bytes
 * twice are stored once.
 */
export class BlobStore {
  private readonly root: string;
  private readonly tmp: string;

  constructor(dataDir: string) {
    this.root = path.join(dataDir, 'blobs');
    this.tmp = path.join(dataDir, 'tmp');
  }

  pathOf(sha256: string): string {
    if (!/^[0-9a-f]{64}$/.test(sha256)) throw new Error(`not a sha256: ${sha256}`);
    return path.join(this.root, sha256.slice(0, 2), sha256);
  }

  /** Streams `input` into the store; rejects with BlobTooLargeError past `limit` bytes. */
  async put(input: Readable, limit = Number.MAX_SAFE_INTEGER): Promise<StoredBlob> {
    await mkdir(this.tmp, { recursive: true });
    const tmpPath = path.join(this.tmp, `${randomUUID()}.part`);
    const hash = createHash('sha256');
    let size = 0;
    const meter = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        size += chunk.length;
        if (size > limit) return cb(new BlobTooLargeError(limit));
        hash.update(chunk);
        cb(null, chunk);
      },
    });
    try {
      await pipeline(input, meter, createWriteStream(tmpPath, { flags: 'wx' }));
      await fsyncPath(tmpPath);
      const sha256 = hash.digest('hex');
      const target = this.pathOf(sha256);
      await mkdir(path.dirname(target), { recursive: true });
      await rename(tmpPath, target);
      await fsyncPath(path.dirname(target));
      return { sha256, size };
    } catch (e) {
      await rm(tmpPath, { force: true });
      throw e;
    }
  }

  read(sha256: string): ReadStream {
    return createReadStream(this.pathOf(sha256), { highWaterMark: 256 * 1024 });
  }

  async remove(sha256: string): Promise<void> {
    await rm(this.pathOf(sha256), { force: true });
  }
}

async function fsyncPath(p: string): Promise<void> {
  const fh = await open(p, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
