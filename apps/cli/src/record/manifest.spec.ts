import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { MANIFEST_SCHEMA } from '@threadreel/model';
import { describe, expect, it } from 'vitest';
import { buildManifest, reservedNames, uniqueName, writeManifest, type ManifestInput } from './manifest.js';

// ajv-formats is CommonJS: under ESM its plugin is the module's `default` property.
const addFormats = addFormatsModule.default;
const ajv = new Ajv2020({ allErrors: true, strict: false });
addFormats(ajv);
const validate = ajv.compile(MANIFEST_SCHEMA);

function input(overrides: Partial<ManifestInput> = {}): ManifestInput {
  return {
    name: 'checkout run',
    host: 'web-1',
    kernel: '6.1.0-18-amd64',
    timeZone: 'Europe/Berlin',
    startRealtimeNs: 1_767_225_600_123_456_789n,
    durationNs: 2_000_123_456n,
    target: {
      pid: 4242,
      comm: 'java',
      cmdline: ['java', '-jar', 'shop.jar'],
      exe: '/usr/bin/java',
      uid: 0,
      gid: 0,
      startTime: '1234',
      runtime: 'jvm',
    },
    clocks: {
      start: {
        monotonicNs: 5_000_000_000n,
        realtimeNs: 1_767_225_600_123_000_000n,
        uncertaintyNs: 150n,
        method: 'ms-step',
      },
      end: {
        monotonicNs: 7_000_000_000n,
        realtimeNs: 1_767_225_602_123_000_000n,
        uncertaintyNs: 90n,
        method: 'ms-step',
      },
    },
    files: [
      {
        path: 'perf.script.gz',
        role: 'perf',
        format: 'perf-script',
        clock: 'monotonic',
        pid: 4242,
        bytes: 10,
      },
      {
        path: 'strace.txt.gz',
        role: 'strace',
        format: 'strace',
        clock: 'realtime',
        pid: 4242,
        partial: true,
        bytes: 5,
      },
      {
        path: 'threads.jsonl',
        role: 'threads',
        format: 'threads-jsonl',
        clock: 'monotonic',
        pid: 4242,
        bytes: 3,
      },
      {
        path: 'jstack-start.txt',
        role: 'jstack',
        format: 'jstack',
        clock: 'local-wall',
        pid: 4242,
        bytes: 3,
      },
      { path: 'recording.jfr', role: 'jfr', format: 'jfr', clock: 'realtime', pid: 4242, bytes: 3 },
      { path: 'jfr.json.gz', role: 'jfr', format: 'jfr-json', clock: 'realtime', pid: 4242, bytes: 3 },
      { path: 'perf-4242.map', role: 'perf-map', format: 'perf-map', pid: 4242, bytes: 3 },
      { path: 'logs/app.log', role: 'logs', note: '/var/log/app.log: grew by 2 KiB', bytes: 2 },
      { path: 'spans/otlp.json', role: 'spans', bytes: 2 },
      { path: 'gc/gc.log', role: 'gc', bytes: 2 },
    ],
    warnings: ['recording stopped early by SIGINT after 1.0 s of 2.0 s: the files cover only that time'],
    commands: ['perf record -k mono …', 'strace -f -ttt -T -yy -p 4242 -o strace.txt'],
    version: '0.1.0',
    ...overrides,
  };
}

describe('record manifest', () => {
  it('validates against MANIFEST_SCHEMA with every role the recorder writes', () => {
    const manifest = buildManifest(input());
    expect(validate(manifest), JSON.stringify(validate.errors)).toBe(true);
    expect(manifest).toMatchObject({
      version: 1,
      name: 'checkout run',
      recordedAt: '2026-01-01T00:00:00.123Z',
      durationNs: '2000123456',
      pids: [4242],
      target: { pid: 4242, comm: 'java', runtime: 'jvm', startBoottimeNs: '12340000000' },
      clocks: [
        { at: 'start', monotonicNs: '5000000000', realtimeNs: '1767225600123000000', uncertaintyNs: '150' },
        { at: 'end', monotonicNs: '7000000000' },
      ],
      recorder: { tool: 'threadreel record', version: '0.1.0' },
    });
    expect(manifest.files.map((f) => f.role)).toEqual([
      'perf',
      'strace',
      'threads',
      'jstack',
      'jfr',
      'jfr',
      'perf-map',
      'logs',
      'spans',
      'gc',
    ]);
    expect(manifest.files[0]).not.toHaveProperty('bytes');
  });

  it('stays valid without a name, a runtime or an end clock pair (target gone, disk full)', () => {
    const base = input();
    const manifest = buildManifest({
      ...base,
      name: null,
      target: { ...base.target, runtime: null },
      clocks: { start: base.clocks.start, end: null },
      files: [],
    });
    expect(validate(manifest), JSON.stringify(validate.errors)).toBe(true);
    expect(manifest).not.toHaveProperty('name');
    expect(manifest.target).not.toHaveProperty('runtime');
    expect(manifest.clocks).toHaveLength(1);
  });

  it('is checked for real: the schema refuses a path leaving the bundle', () => {
    const manifest = buildManifest(input({ files: [{ path: '../etc/passwd', role: 'logs', bytes: 1 }] }));
    expect(validate(manifest)).toBe(false);
  });

  it('is written atomically as pretty JSON', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'threadreel-manifest-'));
    try {
      await writeManifest(dir, buildManifest(input()));
      const text = await readFile(join(dir, 'manifest.json'), 'utf8');
      expect(text.endsWith('}\n')).toBe(true);
      expect(validate(JSON.parse(text))).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('gives copied files base names unique in the bundle and never hidden or ours', () => {
    const taken = reservedNames(4242);
    expect(uniqueName('app.log', taken)).toBe('app.log');
    expect(uniqueName('app.log', taken)).toBe('app-2.log');
    expect(uniqueName('app.log', taken)).toBe('app-3.log');
    expect(uniqueName('manifest.json', taken)).toBe('manifest-2.json');
    expect(uniqueName('perf.script.gz', taken)).toBe('perf.script-2.gz');
    expect(uniqueName('.hidden.log', taken)).toBe('hidden-2.log');
    expect(uniqueName('README', taken)).toBe('README');
  });
});
