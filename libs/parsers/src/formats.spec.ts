import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { constants, gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  canonicalFormat,
  chooseFormat,
  detectFormat,
  FORMAT_ROLES,
  SOURCE_FORMATS,
  type SourceFormat,
} from './formats.js';

const fixtures = fileURLToPath(new URL('../../../test/fixtures/', import.meta.url));

/** The first 64 KiB of a fixture as the parse job hands it to the detectors (gzip decoded). */
function head(rel: string): Buffer {
  const raw = readFileSync(fixtures + rel).subarray(0, 64 * 1024);
  return raw[0] === 0x1f && raw[1] === 0x8b ? gunzipSync(raw, { finishFlush: constants.Z_SYNC_FLUSH }) : raw;
}

const REAL: readonly (readonly [string, SourceFormat])[] = [
  ['captures/java/perf.script.gz', 'perf-script'],
  ['formats/perf-header/report-header-only-mono.txt', 'perf-header'],
  ['formats/perf-header/report-header-only-default.txt', 'perf-header'],
  ['formats/perf-header/script-header-mono.txt', 'perf-script'],
  ['captures/node/perf.script.gz', 'perf-script'],
  ['captures/python/perf.script.gz', 'perf-script'],
  ['captures/java/strace.txt.gz', 'strace'],
  ['captures/node/strace.txt.gz', 'strace'],
  ['captures/python/strace.txt.gz', 'strace'],
  ['captures/java/logs/app.log', 'logs'],
  ['captures/node/logs/app.log', 'logs'],
  ['captures/python/logs/app.log', 'logs'],
  ['captures/java/spans/spans.otlp.jsonl', 'otlp-json'],
  ['captures/node/spans/otlp-received.jsonl', 'otlp-json'],
  ['captures/python/spans/spans.otlp.jsonl', 'otlp-json'],
  ['captures/java/gc/gc.log', 'jvm-unified'],
  ['captures/node/gc/trace-gc.log', 'node-trace-gc'],
  ['captures/python/gc/gc.jsonl', 'python-gc-jsonl'],
  ['captures/java/threads.jsonl', 'threads-jsonl'],
  ['formats/thread-list/proc-task-tab.tsv', 'thread-list'],
  ['formats/thread-list/grep-task-comm.txt', 'thread-list'],
  ['formats/thread-list/ps-eLf.txt', 'thread-list'],
  ['captures/java/jstack-start.txt', 'jstack'],
  ['formats/jstack/deadlock.txt', 'jstack'],
  ['formats/jfr/recording.json.gz', 'jfr-json'],
  ['formats/otlp-proto/export.binpb', 'otlp-proto'],
  ['formats/otlp-proto/collector-file.binpb', 'otlp-proto'],
  ['formats/pprof/cpu.pb.gz', 'pprof'],
  ['formats/py-spy/speedscope.json.gz', 'pyspy-speedscope'],
  ['formats/py-spy/chrometrace.json.gz', 'pyspy-chrometrace'],
];

describe('detectFormat on real recordings', () => {
  it.each(REAL)('%s is %s, with a confidence and a reason', (rel, format) => {
    const d = detectFormat(head(rel), rel);
    expect(d?.format).toBe(format);
    expect(d?.confidence).toBeGreaterThan(0.5);
    expect(d?.confidence).toBeLessThanOrEqual(1);
    expect(d?.reason.length).toBeGreaterThan(5);
  });

  it('every format has roles and a detector case above', () => {
    for (const f of SOURCE_FORMATS) {
      expect(FORMAT_ROLES[f].length, f).toBeGreaterThan(0);
      expect(
        REAL.some(([, g]) => g === f) || ['jaeger-json', 'zipkin-json', 'go-gctrace'].includes(f),
        f,
      ).toBe(true);
    }
  });

  it('names nothing for empty, binary noise, a perf.data header or plain prose', () => {
    expect(detectFormat(Buffer.alloc(0), 'x')).toBeNull();
    const noise = Buffer.alloc(4096);
    for (let i = 0; i < noise.length; i++) noise[i] = (i * 7919 + 13) % 251;
    expect(detectFormat(noise, 'noise.bin')).toBeNull();
    expect(detectFormat(Buffer.from('PERFILE2\0\0\0\0\0\0\0\0'), 'perf.data')).toBeNull();
    expect(
      detectFormat(Buffer.from('Dear team,\nthe service was slow today.\nRegards\n'), 'mail.txt'),
    ).toBeNull();
  });

  it('Jaeger, Zipkin and Go gctrace by content', () => {
    expect(
      detectFormat(
        Buffer.from('{"data":[{"traceID":"a1","spans":[{"spanID":"b","operationName":"GET"}]}]}'),
        'j',
      )?.format,
    ).toBe('jaeger-json');
    expect(
      detectFormat(
        Buffer.from(
          '[{"traceId":"a1","id":"b2","name":"get","timestamp":1700000000000000,"localEndpoint":{}}]',
        ),
        'z',
      )?.format,
    ).toBe('zipkin-json');
    expect(
      detectFormat(
        Buffer.from(
          'gc 1 @0.012s 2%: 0.015+0.29+0.003 ms clock, 0.12+0.10/0.18/0.25+0.029 ms cpu, 4->4->0 MB, 4 MB goal, 0 MB stacks, 0 MB globals, 8 P\n',
        ),
        'g',
      )?.format,
    ).toBe('go-gctrace');
  });
});

describe('perf-PID.map detected from content and stored like a manifest perf-map', () => {
  // Real maps (test/fixtures/formats/perf-map): Node --perf-basic-prof, jcmd Compiler.perfmap, python -X perf.
  const MAPS = [
    'formats/perf-map/node-perf-basic-prof.map',
    'formats/perf-map/jcmd-compiler-perfmap.map',
    'formats/perf-map/python-X-perf.map',
  ];

  it.each(MAPS)('%s is perf-map, kept unparsed with the manifest’s note and role', (rel) => {
    const d = detectFormat(head(rel), 'upload.bin');
    expect(d).toMatchObject({ format: 'perf-map', confidence: 0.85 });
    const c = chooseFormat(head(rel), 'upload.bin', null);
    expect(c).toMatchObject({ stored: 'perf-map', role: 'perf-map', detected: { format: 'perf-map' } });
    expect(c.reason).toMatch(/START SIZE symbol/);
    // The same note as a manifest entry {"format": "perf-map"} gets.
    const manifest = chooseFormat(head(rel), 'x', { role: 'perf-map', format: 'perf-map' });
    expect(c.reason.endsWith(manifest.reason)).toBe(true);
    // A manifest role perf-map without a format: detection fills it in.
    expect(chooseFormat(head(rel), 'x', { role: 'perf-map' })).toMatchObject({ stored: 'perf-map' });
  });

  it('a map under a manifest role it does not fill is stored under that role, saying what it looks like', () => {
    const c = chooseFormat(head(MAPS[0] ?? ''), 'x', { role: 'perf' });
    expect(c).toMatchObject({ stored: 'perf' });
    expect(c.reason).toMatch(/content looks like perf-map, which is not a perf format/);
  });

  it('tid + name lines whose names start with hex letters stay a thread list', () => {
    expect(detectFormat(Buffer.from('123 beef cafe\n124 add worker\n'), 'x')?.format).toBe('thread-list');
  });
});

describe('chooseFormat: the manifest overrides, a role narrows', () => {
  const perf = head('captures/java/perf.script.gz');
  const strace = head('captures/java/strace.txt.gz');

  it('uses the detected format when the manifest says nothing', () => {
    expect(chooseFormat(strace, 'strace.txt.gz', null)).toMatchObject({
      format: 'strace',
      detected: { format: 'strace' },
    });
  });

  it('a manifest format wins over the content, and the reason says they disagree', () => {
    const c = chooseFormat(perf, 'x', { role: 'strace', format: 'strace' });
    expect(c).toMatchObject({ format: 'strace', confidence: 1, detected: { format: 'perf-script' } });
    expect('reason' in c && c.reason).toMatch(/manifest format strace; the content looks like perf-script/);
  });

  it('accepts format aliases (jvm-unified-log)', () => {
    expect(canonicalFormat('jvm-unified-log')).toBe('jvm-unified');
    expect(
      chooseFormat(head('captures/java/gc/gc.log'), 'gc.log', { role: 'gc', format: 'jvm-unified-log' }),
    ).toMatchObject({
      format: 'jvm-unified',
    });
  });

  it('a detected format outside the manifest role is not parsed as that role: stored, with why', () => {
    const c = chooseFormat(perf, 'x', { role: 'logs' });
    expect(c).toMatchObject({ stored: 'logs', detected: { format: 'perf-script' } });
    expect(c.reason).toMatch(/content looks like perf-script, which is not a logs format/);
  });

  it('known unparsed formats are stored with their reason; no role and no match is unknown', () => {
    expect(
      chooseFormat(Buffer.from('7f0000 10 foo\n'), 'perf-1.map', { role: 'perf-map', format: 'perf-map' }),
    ).toMatchObject({
      stored: 'perf-map',
      reason: expect.stringMatching(/JIT frames/) as string,
    });
    expect(chooseFormat(Buffer.from('hello\n'), 'notes.txt', null)).toMatchObject({ unknown: true });
  });
});
