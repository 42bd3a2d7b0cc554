import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import busboy from 'busboy';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UsageError } from './errors.js';
import { contentDisposition, multipartBody, type MultipartBody } from './multipart.js';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'threadreel-cli-multipart-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Feeds the body to busboy (the API's parser) and returns what it saw, plus the byte count. */
async function parse(
  body: MultipartBody,
): Promise<{ parts: { field: string; filename: string; text: string }[]; bytes: number }> {
  const parts: { field: string; filename: string; text: string }[] = [];
  const bb = busboy({ headers: { 'content-type': body.contentType }, preservePath: true });
  const closed = new Promise<void>((resolve, reject) => {
    bb.on('file', (field, stream, info) => {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () =>
        parts.push({ field, filename: info.filename ?? '', text: Buffer.concat(chunks).toString('utf8') }),
      );
    });
    bb.on('close', resolve);
    bb.on('error', reject);
  });
  let bytes = 0;
  for await (const chunk of body.chunks()) {
    bytes += chunk.byteLength;
    bb.write(chunk);
  }
  bb.end();
  await closed;
  return { parts, bytes };
}

describe('multipartBody', () => {
  it('produces exactly Content-Length bytes that busboy splits back into the files', async () => {
    const names = ['manifest.json', 'logs/app.log', 'ünïcode "quoted" 100%.log', 'empty'];
    const contents = ['{"version":1}', 'line 1\r\n--not-a-boundary\r\n', 'x'.repeat(200_000), ''];
    const files = await Promise.all(
      names.map(async (name, i) => {
        const path = join(dir, `f${i}`);
        await writeFile(path, contents[i]!);
        return { path, name, bytes: Buffer.byteLength(contents[i]!) };
      }),
    );
    const body = multipartBody(files);
    const { parts, bytes } = await parse(body);
    expect(bytes).toBe(body.length);
    expect(parts).toEqual(names.map((name, i) => ({ field: 'files', filename: name, text: contents[i] })));
  });

  it('refuses a file that changed size since it was listed', async () => {
    const path = join(dir, 'grows.log');
    await writeFile(path, 'abc');
    const body = multipartBody([{ path, name: 'grows.log', bytes: 2 }]);
    await expect(parse(body)).rejects.toBeInstanceOf(UsageError);
  });
});

describe('contentDisposition', () => {
  it('keeps plain names plain', () => {
    expect(contentDisposition('files', 'perf.script.gz')).toBe(
      'form-data; name="files"; filename="perf.script.gz"',
    );
  });

  it('adds an RFC 5987 filename* for names that need it', () => {
    expect(contentDisposition('files', 'é.log')).toBe(
      `form-data; name="files"; filename="_.log"; filename*=UTF-8''%C3%A9.log`,
    );
  });
});
