import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { InputDecodeError, isGzip, readLines } from './lines.js';

async function collect(
  input: Parameters<typeof readLines>[0],
  opts?: Parameters<typeof readLines>[1],
): Promise<string[]> {
  const out: string[] = [];
  for await (const l of readLines(input, opts)) out.push(l);
  return out;
}

/** Splits bytes into chunks of `size` to exercise chunk boundaries. */
function chunked(bytes: Buffer, size: number): Readable {
  const parts: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) parts.push(bytes.subarray(i, i + size));
  return Readable.from(parts);
}

describe('readLines', () => {
  it('splits on \\n, strips \\r, keeps empty lines and a last line without newline', async () => {
    const text = 'a\r\n\nb c\nlast';
    expect(await collect(chunked(Buffer.from(text), 1000))).toEqual(['a', '', 'b c', 'last']);
    expect(await collect(chunked(Buffer.from('x\n'), 1000))).toEqual(['x']);
    expect(await collect(chunked(Buffer.alloc(0), 1000))).toEqual([]);
  });

  it('is independent of chunk boundaries, including inside multi-byte characters and CRLF', async () => {
    const text = '\uFEFFpremier ligne é\r\nzweite Zeile ü 𝄞\n\nдругая\r\nend';
    const expected = ['premier ligne é', 'zweite Zeile ü 𝄞', '', 'другая', 'end'];
    for (const size of [1, 2, 3, 5, 7, 64]) {
      expect(await collect(chunked(Buffer.from(text), size))).toEqual(expected);
    }
  });

  it('reads Node streams, string chunks and Uint8Array chunks', async () => {
    expect(await collect(Readable.from([Buffer.from('a\nb'), Buffer.from('c\n')]))).toEqual(['a', 'bc']);
    expect(await collect(Readable.from(['x\ny', 'z']))).toEqual(['x', 'yz']);
    expect(await collect(Readable.from([new Uint8Array([0x61, 0x0a, 0x62])]))).toEqual(['a', 'b']);
  });

  it('gunzips transparently (magic split across chunks, multi-member)', async () => {
    const lines = Array.from({ length: 5000 }, (_, i) => `line ${i} ${'x'.repeat(i % 50)}`);
    const gz = gzipSync(Buffer.from(lines.join('\n') + '\n'));
    expect(isGzip(gz)).toBe(true);
    expect(await collect(chunked(gz, 3))).toEqual(lines);
    expect(await collect(chunked(gz, 4096))).toEqual(lines);
    const twoMembers = Buffer.concat([gzipSync(Buffer.from('a\nb')), gzipSync(Buffer.from('c\n'))]);
    expect(await collect(chunked(twoMembers, 3))).toEqual(['a', 'bc']);
  });

  it('throws a clear error on truncated gzip, after the lines decoded so far', async () => {
    const text = Array.from({ length: 20000 }, (_, i) => `sample ${i} ${Math.sin(i)}`).join('\n');
    const gz = gzipSync(Buffer.from(text));
    const truncated = gz.subarray(0, Math.floor(gz.length / 2));
    const seen: string[] = [];
    const run = async (): Promise<void> => {
      for await (const l of readLines(chunked(truncated, 1024))) seen.push(l);
    };
    await expect(run()).rejects.toThrow(InputDecodeError);
    await expect(collect(chunked(truncated, 1024))).rejects.toThrow(/gzip input is truncated or corrupt/);
    expect(seen.length).toBeGreaterThan(0);
    expect(seen[0]).toBe('sample 0 0');
  });

  it('throws on corrupt gzip data', async () => {
    const gz = Buffer.from(gzipSync(Buffer.from('hello\nworld\n'.repeat(100))));
    for (let i = 12; i < gz.length - 8; i++) gz[i] = 0xff;
    await expect(collect(chunked(gz, 16))).rejects.toThrow(/gzip input is truncated or corrupt/);
  });

  it('passes source errors through unchanged', async () => {
    function* failing(): Generator<Buffer> {
      yield Buffer.from('a\n');
      throw new Error('disk on fire');
    }
    await expect(collect(Readable.from(failing()))).rejects.toThrow('disk on fire');
    function* failingGz(): Generator<Buffer> {
      yield gzipSync(Buffer.from('a\n')).subarray(0, 10);
      throw new Error('socket reset');
    }
    await expect(collect(Readable.from(failingGz()))).rejects.toThrow('socket reset');
  });

  it('refuses unbounded lines', async () => {
    await expect(collect(chunked(Buffer.alloc(5000, 0x61), 100), { maxLineBytes: 1000 })).rejects.toThrow(
      /line longer than 1000 bytes/,
    );
    expect(await collect(chunked(Buffer.from('abc\n'), 1), { maxLineBytes: 3 })).toEqual(['abc']);
  });

  it('releases the source when the consumer stops early', async () => {
    let closed = false;
    function* source(): Generator<Buffer> {
      try {
        for (let i = 0; ; i++) yield Buffer.from(`line ${i}\n`);
      } finally {
        closed = true;
      }
    }
    for await (const l of readLines(Readable.from(source()))) if (l === 'line 3') break;
    expect(closed).toBe(true);
  });
});
