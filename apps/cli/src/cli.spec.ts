import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CaptureDetail, SourceFileReport } from '@threadreel/model';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { run } from './cli.js';
import type { Io } from './io.js';

interface Received {
  url: string;
  files: { name: string; text: string }[];
}

function report(overrides: Partial<SourceFileReport> = {}): SourceFileReport {
  return {
    id: '1',
    name: 'perf.script',
    sha256: '',
    bytes: '11',
    format: 'perf-script',
    detected: { format: 'perf-script', confidence: 0.95, reason: 'perf script record header' },
    clock: 'monotonic',
    clockOffsetNs: null,
    clockMethod: null,
    clockEvidence: null,
    state: 'parsed',
    lines: '2',
    events: '1',
    rejectedCount: '0',
    rejected: [],
    parseMs: 3,
    note: null,
    error: null,
    ...overrides,
  };
}

function detail(
  state: CaptureDetail['state'],
  files: SourceFileReport[],
  error: string | null = null,
): CaptureDetail {
  return {
    id: 'cap-1',
    name: 'x',
    state,
    createdAt: '',
    updatedAt: '',
    files: files.length,
    bytes: '11',
    error,
    manifest: null,
    sourceFiles: files,
    degradedParts: [],
  };
}

/** A stand-in API: records uploads and answers GETs from `polls` (the last one repeats). */
async function fakeApi(
  polls: CaptureDetail[],
  uploadStatus = 202,
): Promise<{ url: string; received: Received[]; server: Server }> {
  const received: Received[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      void (async () => {
        res.setHeader('content-type', 'application/json');
        if (req.method === 'POST' && req.url?.startsWith('/api/captures')) {
          if (uploadStatus !== 202) {
            res.statusCode = uploadStatus;
            res.end(
              JSON.stringify({
                statusCode: uploadStatus,
                error: 'Bad Request',
                message: ['manifest.json: bad version'],
              }),
            );
            return;
          }
          const form = await new Response(Buffer.concat(chunks), {
            headers: { 'content-type': req.headers['content-type'] ?? '' },
          }).formData();
          const files = await Promise.all(
            form
              .getAll('files')
              .map(async (value) => ({ name: (value as File).name, text: await (value as File).text() })),
          );
          received.push({ url: req.url, files });
          res.statusCode = 202;
          res.end(JSON.stringify({ captureId: 'cap-1', duplicates: [], rejected: [] }));
          return;
        }
        if (req.method === 'GET' && req.url === '/api/captures/cap-1') {
          res.end(JSON.stringify(polls.length > 1 ? polls.shift() : polls[0]));
          return;
        }
        res.statusCode = 404;
        res.end(JSON.stringify({ statusCode: 404, error: 'Not Found', message: 'no such route' }));
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received, server };
}

function captureIo(): Io & { stdout: () => string; stderr: () => string } {
  let out = '';
  let err = '';
  return {
    out: (text) => void (out += text),
    err: (text) => void (err += text),
    errIsTty: false,
    columns: () => 80,
    stdout: () => out,
    stderr: () => err,
  };
}

let dir: string;
let server: Server | undefined;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'threadreel-cli-'));
  await writeFile(join(dir, 'perf.script'), 'hello perf\n');
  await writeFile(join(dir, 'manifest.json'), '{"version":1}');
});

afterEach(async () => {
  server?.close();
  server = undefined;
  await rm(dir, { recursive: true, force: true });
});

describe('threadreel upload', () => {
  it('uploads a directory as multipart `files`, polls until ready and exits 0', async () => {
    const api = await fakeApi([detail('queued', [report({ state: 'queued' })]), detail('ready', [report()])]);
    server = api.server;
    const io = captureIo();
    const code = await run(['upload', dir, '--server', api.url, '--name', 'my run'], {}, io);

    expect(code).toBe(0);
    expect(api.received).toEqual([
      {
        url: '/api/captures?name=my+run',
        files: [
          { name: 'manifest.json', text: '{"version":1}' },
          { name: 'perf.script', text: 'hello perf\n' },
        ],
      },
    ]);
    expect(io.stdout()).toContain('capture cap-1\n');
    expect(io.stdout()).toMatch(/^perf\.script +perf-script +parsed/m);
    expect(io.stdout()).toContain(`capture cap-1 ready: ${api.url}/#/captures/cap-1`);
    expect(io.stderr()).toContain('capture queued');
    expect(io.stderr()).toContain('perf.script: parsed, 1 events');
  });

  it('exits 1 and prints every reason when a file has rejected lines', async () => {
    const rejected = report({
      rejectedCount: '1',
      rejected: [{ line: 2, field: 'time', reason: 'not a number' }],
    });
    const api = await fakeApi([detail('ready', [rejected])]);
    server = api.server;
    const io = captureIo();
    expect(await run(['upload', join(dir, 'perf.script'), '--server', api.url], {}, io)).toBe(1);
    expect(io.stdout()).toContain('perf.script:2: time: not a number');
    expect(io.stdout()).toContain('ready with problems');
  });

  it('exits 1 and lists what degraded when the capture is degraded', async () => {
    const api = await fakeApi([
      {
        ...detail('degraded', [report()], 'clocks (perf.script): not placed on the time axis'),
        degradedParts: [
          {
            stage: 'clocks',
            file: 'perf.script',
            source: 'perf-script',
            thread: null,
            reason: 'not placed on the time axis',
          },
        ],
      },
    ]);
    server = api.server;
    const io = captureIo();
    expect(await run(['upload', join(dir, 'perf.script'), '--server', api.url], {}, io)).toBe(1);
    expect(io.stdout()).toContain('degraded: clocks perf.script (perf-script): not placed on the time axis');
    expect(io.stdout()).toContain('capture cap-1 degraded: usable, with problems (1 line above)');
  });

  it('exits 1 when the capture fails', async () => {
    const api = await fakeApi([
      detail('failed', [report({ state: 'failed', error: 'unknown format' })], 'nothing parsed'),
    ]);
    server = api.server;
    const io = captureIo();
    expect(await run(['upload', dir, '--server', api.url], {}, io)).toBe(1);
    expect(io.stdout()).toContain('capture failed: nothing parsed');
    expect(io.stdout()).toContain('perf.script: failed: unknown format');
  });

  it('returns after the upload with --no-wait', async () => {
    const api = await fakeApi([detail('queued', [])]);
    server = api.server;
    const io = captureIo();
    expect(await run(['upload', dir, '--server', api.url, '--no-wait'], {}, io)).toBe(0);
    expect(io.stdout()).toContain('capture cap-1\n');
    expect(io.stdout()).toContain(`status: ${api.url}/api/captures/cap-1`);
  });

  it('stops waiting at --timeout with exit 1', async () => {
    const api = await fakeApi([detail('parsing', [report({ state: 'parsing' })])]);
    server = api.server;
    const io = captureIo();
    expect(await run(['upload', dir, '--server', api.url, '--timeout', '0.2'], {}, io)).toBe(1);
    expect(io.stdout()).toContain('capture cap-1 is still parsing');
  });

  it('exits 3 with the server message on an HTTP error', async () => {
    const api = await fakeApi([], 400);
    server = api.server;
    const io = captureIo();
    expect(await run(['upload', dir, '--server', api.url], {}, io)).toBe(3);
    expect(io.stderr()).toContain('upload failed: HTTP 400: manifest.json: bad version');
  });

  it('exits 3 when the server is unreachable', async () => {
    const api = await fakeApi([]);
    api.server.close();
    const io = captureIo();
    expect(await run(['upload', dir, '--server', api.url], {}, io)).toBe(3);
    expect(io.stderr()).toMatch(/cannot reach http:\/\/127\.0\.0\.1:\d+: .*ECONNREFUSED/);
  });

  it('exits 2 on usage errors', async () => {
    const io = captureIo();
    expect(await run(['upload', join(dir, 'missing')], {}, io)).toBe(2);
    expect(io.stderr()).toContain('no such file or directory');
    expect(io.stderr()).toContain("Run 'threadreel --help' for usage.");
  });
});

describe('threadreel demo', () => {
  it('uploads the recorded demo capture (manifest first, no README)', async () => {
    const api = await fakeApi([detail('ready', [report({ name: 'perf.script.gz' })])]);
    server = api.server;
    const io = captureIo();
    expect(await run(['demo', '--server', api.url], {}, io)).toBe(0);
    expect(api.received[0]?.files.map((file) => file.name)).toEqual(['manifest.json', 'perf.script.gz']);
    expect(io.stdout()).toContain(`${api.url}/#/captures/cap-1`);
  });
});

describe('help and version', () => {
  it('prints usage on stderr and exits 2 without arguments', async () => {
    const io = captureIo();
    expect(await run([], {}, io)).toBe(2);
    expect(io.stderr()).toContain('Usage:');
    expect(io.stdout()).toBe('');
  });

  it('prints usage on stdout and the package version', async () => {
    const io = captureIo();
    expect(await run(['--help'], {}, io)).toBe(0);
    expect(io.stdout()).toContain('Usage:');
    const version = captureIo();
    expect(await run(['--version'], {}, version)).toBe(0);
    expect(version.stdout()).toMatch(/^threadreel \d+\.\d+\.\d+/);
  });
});
