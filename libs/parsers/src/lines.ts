import { Readable, pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';

/** Chunks a byte source may deliver: Node streams give Buffers (or strings with an encoding set). */
export type ByteChunk = Buffer | Uint8Array | string;

/** What {@link readLines} accepts: a Node readable stream or any async iterable of byte chunks. */
export type ByteSource = NodeJS.ReadableStream | AsyncIterable<ByteChunk>;

export interface ReadLinesOptions {
  /**
   * Longest line accepted, in bytes. A longer line (a binary file, a file without newlines)
   * throws instead of growing memory without bound. Default 16 MiB.
   */
  readonly maxLineBytes?: number;
}

/** Thrown when the input cannot be decoded: a truncated or corrupt gzip stream, an over-long line. */
export class InputDecodeError extends Error {
  override readonly name = 'InputDecodeError';
}

const DEFAULT_MAX_LINE_BYTES = 16 * 1024 * 1024;
const LF = 0x0a;
const CR = 0x0d;

/** True when the bytes start with the gzip magic number (1f 8b). */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

function toBuffer(chunk: ByteChunk): Buffer {
  if (typeof chunk === 'string') return Buffer.from(chunk, 'utf8');
  return Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}

async function* buffersOf(input: ByteSource): AsyncGenerator<Buffer> {
  for await (const chunk of input as AsyncIterable<ByteChunk>) {
    const buf = toBuffer(chunk);
    if (buf.length > 0) yield buf;
  }
}

/** Yields `head` (already read from `rest`) and then the remaining chunks of `rest`. */
async function* prepend(head: Buffer[], rest: AsyncIterator<Buffer>): AsyncGenerator<Buffer> {
  try {
    for (const b of head) yield b;
    for (;;) {
      const r = await rest.next();
      if (r.done) return;
      yield r.value;
    }
  } finally {
    // Release the underlying source when the consumer stops early.
    await rest.return?.();
  }
}

function isZlibError(err: unknown): err is Error & { code: string } {
  if (!(err instanceof Error)) return false;
  const code: unknown = (err as Error & { code?: unknown }).code;
  return typeof code === 'string' && code.startsWith('Z_');
}

async function* gunzipped(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  // pipeline() forwards a source error into the gunzip stream, and destroys the source when
  // the consumer stops iterating early. Errors surface through the async iteration below.
  const out = pipeline(Readable.from(source, { objectMode: false }), createGunzip(), () => {});
  try {
    for await (const chunk of out as AsyncIterable<Buffer>) yield chunk;
  } catch (err) {
    if (isZlibError(err)) {
      throw new InputDecodeError(`gzip input is truncated or corrupt: ${err.message} (${err.code})`, {
        cause: err,
      });
    }
    throw err;
  }
}

/**
 * Reads text lines from a byte stream in constant memory (one chunk plus one partial line).
 * Gzip input (first bytes 1f 8b) is decompressed transparently. Lines are split on `\n`, a
 * trailing `\r` is removed, a leading UTF-8 BOM is dropped, and a last line without a final
 * newline is still yielded. A truncated or corrupt gzip stream throws {@link InputDecodeError}
 * after the lines decoded so far.
 */
export async function* readLines(input: ByteSource, options: ReadLinesOptions = {}): AsyncGenerator<string> {
  for await (const batch of readLineBatches(input, options)) yield* batch;
}

/**
 * {@link readLines} in batches: the lines of each chunk at once, so a parser pays one
 * asynchronous step per chunk instead of one per line. Each chunk is decoded with one
 * UTF-8 conversion and split; the line-length limit counts characters.
 */
export async function* readLineBatches(
  input: ByteSource,
  options: ReadLinesOptions = {},
): AsyncGenerator<readonly string[]> {
  const maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  const chunks = buffersOf(input);
  const head: Buffer[] = [];
  let headBytes = 0;
  // Collect at least two bytes to look for the gzip magic.
  while (headBytes < 2) {
    const r = await chunks.next();
    if (r.done) break;
    head.push(r.value);
    headBytes += r.value.length;
  }
  const firstBytes = head.length === 1 ? (head[0] as Buffer) : Buffer.concat(head);
  let source: AsyncIterable<Buffer> = prepend(head, chunks);
  if (isGzip(firstBytes)) source = gunzipped(source);

  // Partial line carried between chunks, as copied parts (sources may reuse their buffers).
  let carry: Buffer[] = [];
  let carryBytes = 0;
  let first = true;
  const tooLong = (): InputDecodeError =>
    new InputDecodeError(
      `line longer than ${maxLineBytes} bytes: not a text file, or a file without newlines`,
    );
  const push = (out: string[], text: string): void => {
    let line = text.charCodeAt(text.length - 1) === CR ? text.slice(0, -1) : text;
    if (first) {
      first = false;
      if (line.charCodeAt(0) === 0xfeff) line = line.slice(1);
    }
    if (line.length > maxLineBytes) throw tooLong();
    out.push(line);
  };

  for await (const chunk of source) {
    const out: string[] = [];
    let start = 0;
    if (carryBytes > 0) {
      const nl = chunk.indexOf(LF, 0);
      if (nl === -1) {
        carry.push(Buffer.from(chunk));
        carryBytes += chunk.length;
        if (carryBytes > maxLineBytes) throw tooLong();
        continue;
      }
      carry.push(chunk.subarray(0, nl));
      const joined = Buffer.concat(carry, carryBytes + nl);
      carry = [];
      carryBytes = 0;
      if (joined.length > maxLineBytes) throw tooLong();
      push(out, joined.toString('utf8'));
      start = nl + 1;
    }
    const last = chunk.lastIndexOf(LF);
    if (last >= start) {
      // Whole lines: one decode, one split. A multi-byte character never straddles a newline.
      for (const text of chunk.toString('utf8', start, last).split('\n')) push(out, text);
      start = last + 1;
    }
    if (start < chunk.length) {
      carry.push(Buffer.from(chunk.subarray(start)));
      carryBytes += chunk.length - start;
      if (carryBytes > maxLineBytes) throw tooLong();
    }
    if (out.length) yield out;
  }
  if (carryBytes > 0) {
    const out: string[] = [];
    push(out, Buffer.concat(carry, carryBytes).toString('utf8'));
    yield out;
  }
}
