import { execFile } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const run = promisify(execFile);
const GIB = 1024 ** 3;
const RSS_LIMIT = 300 * 1024 * 1024;

/** Writes `copies` back-to-back copies of a real recording: a large file of real records. */
async function repeat(file: string, source: Buffer, targetBytes: number): Promise<number> {
  const out = createWriteStream(file);
  const copies = Math.ceil(targetBytes / source.length);
  for (let i = 0; i < copies; i++) if (!out.write(source)) await once(out, 'drain');
  out.end();
  await once(out, 'finish');
  return copies;
}

async function parseInChild(
  format: 'perf' | 'strace',
  file: string,
): Promise<{ records: number; issues: number; bytes: number; seconds: number; maxRssBytes: number }> {
  const { stdout } = await run(
    process.execPath,
    [path.join(root, 'test/support/parse-rss.mjs'), format, file],
    {
      maxBuffer: 1 << 20,
    },
  );
  return JSON.parse(stdout) as {
    records: number;
    issues: number;
    bytes: number;
    seconds: number;
    maxRssBytes: number;
  };
}

async function countRecords(format: 'perf' | 'strace', file: string): Promise<number> {
  return (await parseInChild(format, file)).records;
}

describe('streaming parsers hold constant memory', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'threadreel-rss-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a 1 GiB perf script file (the java recording repeated) parses with RSS under 300 MB', async () => {
    const source = gunzipSync(readFileSync(path.join(root, 'test/fixtures/captures/java/perf.script.gz')));
    const one = path.join(dir, 'one.perf.txt');
    await repeat(one, source, 1);
    const perCopy = await countRecords('perf', one);
    const big = path.join(dir, 'big.perf.txt');
    const copies = await repeat(big, source, GIB);
    expect(statSync(big).size).toBeGreaterThanOrEqual(GIB);
    const r = await parseInChild('perf', big);
    console.log(
      `1 GiB perf: ${r.records} records in ${r.seconds.toFixed(1)} s (${(r.bytes / 1e6 / r.seconds).toFixed(0)} MB/s), peak RSS ${(r.maxRssBytes / 1024 / 1024).toFixed(0)} MiB`,
    );
    expect(r.records).toBe(perCopy * copies);
    expect(r.maxRssBytes).toBeLessThan(RSS_LIMIT);
    rmSync(big);
  }, 600_000);

  it('a 256 MiB strace file (java + node recordings repeated) parses with RSS under 300 MB', async () => {
    const source = Buffer.concat(
      ['java', 'node'].map((n) =>
        gunzipSync(readFileSync(path.join(root, `test/fixtures/captures/${n}/strace.txt.gz`))),
      ),
    );
    const one = path.join(dir, 'one.strace.txt');
    await repeat(one, source, 1);
    const perCopy = await countRecords('strace', one);
    const big = path.join(dir, 'big.strace.txt');
    const copies = await repeat(big, source, 256 * 1024 * 1024);
    const r = await parseInChild('strace', big);
    console.log(
      `256 MiB strace: ${r.records} records in ${r.seconds.toFixed(1)} s (${(r.bytes / 1e6 / r.seconds).toFixed(0)} MB/s), peak RSS ${(r.maxRssBytes / 1024 / 1024).toFixed(0)} MiB`,
    );
    // Each copy ends mid-trace and the next starts over, so a few calls may pair across copies.
    expect(Math.abs(r.records - perCopy * copies)).toBeLessThanOrEqual(copies * 50);
    expect(r.maxRssBytes).toBeLessThan(RSS_LIMIT);
  }, 600_000);
});
