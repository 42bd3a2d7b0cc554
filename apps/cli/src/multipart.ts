import { randomBytes } from 'node:crypto';
import { openAsBlob } from 'node:fs';
import { UsageError } from './errors.js';
import type { UploadFile } from './files.js';

/**
 * A multipart/form-data body built by hand rather than with FormData: Node 20's fetch
 * (undici 6) keeps every chunk of a FormData/Blob/stream request body in memory until
 * the request ends, so a 2 GiB upload would need 2 GiB of RAM. Here each file is a
 * file-backed Blob (fs.openAsBlob, which also fails if the file changes meanwhile)
 * read in 64 KiB chunks, and the exact Content-Length is known up front.
 */
export interface MultipartBody {
  contentType: string;
  length: number;
  /** Yields the body; pull it only as fast as the socket drains. */
  chunks(): AsyncGenerator<Uint8Array>;
}

const encoder = new TextEncoder();

/** Escapes a header parameter value the way browsers do for multipart/form-data. */
function quoted(value: string): string {
  return value.replace(/\r/g, '%0D').replace(/\n/g, '%0A').replace(/"/g, '%22');
}

/**
 * The Content-Disposition of one file part. Names with non-ASCII characters, quotes,
 * `%` or `\\` also go in RFC 5987 `filename*` (busboy prefers it): a raw UTF-8
 * `filename` is read as latin1, and `"` can only be sent as `%22` in the plain form.
 */
export function contentDisposition(field: string, filename: string): string {
  let header = `form-data; name="${quoted(field)}"; filename="${quoted(filename)}"`;
  if (/[^\x20-\x7e]|["%\\]/.test(filename)) {
    const fallback = quoted(filename.replace(/[^\x20-\x7e]/g, '_'));
    const extended = encodeURIComponent(filename).replace(
      /['()*]/g,
      (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
    );
    header = `form-data; name="${quoted(field)}"; filename="${fallback}"; filename*=UTF-8''${extended}`;
  }
  return header;
}

export function multipartBody(files: readonly UploadFile[], field = 'files'): MultipartBody {
  const boundary = `----threadreel-${randomBytes(12).toString('hex')}`;
  const heads = files.map((file) =>
    encoder.encode(
      `--${boundary}\r\nContent-Disposition: ${contentDisposition(field, file.name)}\r\n` +
        'Content-Type: application/octet-stream\r\n\r\n',
    ),
  );
  const crlf = encoder.encode('\r\n');
  const tail = encoder.encode(`--${boundary}--\r\n`);
  const length =
    files.reduce((sum, file, i) => sum + (heads[i]?.byteLength ?? 0) + file.bytes + crlf.byteLength, 0) +
    tail.byteLength;

  return {
    contentType: `multipart/form-data; boundary=${boundary}`,
    length,
    async *chunks() {
      for (const [i, file] of files.entries()) {
        yield heads[i] as Uint8Array;
        const blob = await openAsBlob(file.path).catch((err: unknown) => {
          throw new UsageError(
            `cannot read ${file.path}: ${err instanceof Error ? err.message : String(err)}`,
          );
        });
        if (blob.size !== file.bytes) {
          throw new UsageError(
            `${file.path} changed size since it was listed (${file.bytes} → ${blob.size} bytes)`,
          );
        }
        try {
          for await (const chunk of blob.stream() as AsyncIterable<Uint8Array>) yield chunk;
        } catch (err) {
          throw new UsageError(
            `cannot read ${file.path} (modified during the upload?): ${err instanceof Error ? err.message : String(err)}`,
          );
        }
        yield crlf;
      }
      yield tail;
    },
  };
}
