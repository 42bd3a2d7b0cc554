import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { ParseIssue, SourceHeader, StackSample } from '@threadreel/model';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { parsePprof, sniffPprof, type ParsePprofOptions, type PprofItem } from './pprof.js';
import { fuzzParser, type FuzzItem } from './testing/fuzz.js';

const fixture = (name: string): Buffer =>
  readFileSync(fileURLToPath(new URL(`../../../test/fixtures/formats/${name}`, import.meta.url)));

/** A real Go CPU profile (runtime/pprof, see test/fixtures/formats/pprof/README.md). */
const cpuGz = fixture('pprof/cpu.pb.gz');
const cpu = gunzipSync(cpuGz);

// eslint-disable-next-line @typescript-eslint/require-await -- an async source, as a file stream is
async function* chunks(b: Uint8Array, size = 64 * 1024): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < b.length; i += size) yield b.slice(i, i + size);
}

async function parse(b: Uint8Array, options?: ParsePprofOptions, size?: number): Promise<PprofItem[]> {
  const out: PprofItem[] = [];
  for await (const item of parsePprof(chunks(b, size), options)) out.push(item);
  return out;
}

const samplesOf = (items: readonly PprofItem[]): StackSample[] =>
  items.filter((x): x is StackSample => x.kind === 'stack-sample');
const issuesOf = (items: readonly PprofItem[]): ParseIssue[] =>
  items.filter((x): x is ParseIssue => x.kind === 'issue');
const headersOf = (items: readonly PprofItem[]): SourceHeader[] =>
  items.filter((x): x is SourceHeader => x.kind === 'header');

/**
 * An independent decoder for the cross-checks: protobufjs over the message subset of
 * google/pprof `proto/profile.proto` that the checks need.
 */
const PROFILE_PROTO = `syntax = "proto3";
package perftools.profiles;
message Profile {
  repeated ValueType sample_type = 1;
  repeated Sample sample = 2;
  repeated Location location = 4;
  repeated Function function = 5;
  repeated string string_table = 6;
  int64 time_nanos = 9;
  int64 duration_nanos = 10;
}
message ValueType { int64 type = 1; int64 unit = 2; }
message Sample { repeated uint64 location_id = 1; repeated int64 value = 2; repeated Label label = 3; }
message Label { int64 key = 1; int64 str = 2; int64 num = 3; int64 num_unit = 4; }
message Location { uint64 id = 1; uint64 mapping_id = 2; uint64 address = 3; repeated Line line = 4; }
message Line { uint64 function_id = 1; int64 line = 2; }
message Function { uint64 id = 1; int64 name = 2; }
`;
interface RefProfile {
  sampleType: { type: string; unit: string }[];
  sample: { locationId?: string[]; value: string[]; label?: { key: string; str?: string }[] }[];
  stringTable: string[];
  timeNanos: string;
  durationNanos: string;
}
function reference(b: Uint8Array): RefProfile {
  const type = protobuf.parse(PROFILE_PROTO).root.lookupType('perftools.profiles.Profile');
  return type.toObject(type.decode(b), { longs: String, arrays: true }) as RefProfile;
}

describe('parsePprof on a Go CPU profile with pprof labels', () => {
  it('reports the profile facts as headers first', async () => {
    const items = await parse(cpuGz);
    const headers = headersOf(items);
    expect(items.slice(0, headers.length)).toEqual(headers);
    expect(headers).toEqual([
      { kind: 'header', key: 'time_nanos', value: '1795308672317987468' },
      { kind: 'header', key: 'duration_nanos', value: '1602432358' },
      { kind: 'header', key: 'period_type', value: 'cpu/nanoseconds' },
      { kind: 'header', key: 'period', value: '10000000' },
      { kind: 'header', key: 'sample_types', value: 'samples/count cpu/nanoseconds' },
      { kind: 'header', key: 'sample_type', value: 'cpu/nanoseconds' },
    ]);
    const ref = reference(cpu);
    expect(ref.timeNanos).toBe('1795308672317987468');
    expect(ref.durationNanos).toBe('1602432358');
  });

  it('yields one sample per pprof sample: cpu weight, frames leaf first with inlined functions expanded', async () => {
    const items = await parse(cpuGz);
    expect(issuesOf(items)).toEqual([]);
    const samples = samplesOf(items);
    expect(samples).toHaveLength(73);
    expect(samples.map((s) => s.line)).toEqual(samples.map((_, i) => i + 1));
    const exe = samples[0]!.frames[0]!.dso;
    expect(exe).toMatch(/\/exe\/labels$/);
    expect(samples[2]).toEqual({
      kind: 'stack-sample',
      line: 3,
      source: 'pprof',
      event: 'pprof:cpu/nanoseconds',
      pid: null,
      tid: 14737,
      runtimeThreadId: null,
      threadName: null,
      clock: 'none',
      timeNs: null,
      weight: 60000000n,
      weightUnit: 'nanoseconds',
      frames: [
        // One location, two lines: main.mix inlined into main.spin, innermost first.
        { addr: '4b8f4f', symbol: 'main.mix', dso: exe },
        { addr: '4b8f4f', symbol: 'main.spin', dso: exe },
        { addr: '4b9458', symbol: 'main.worker.func1', dso: exe },
        { addr: '4b88c2', symbol: 'runtime/pprof.Do', dso: exe },
        { addr: '4b932a', symbol: 'main.worker', dso: exe },
      ],
      labels: {
        span_id: '53995c3f42cd8ad8',
        trace_id: '4bf92f3577b34da6a3ce929d0e0e4736',
        thread_id: '14737',
      },
    });
    expect(samples[0]!.frames.map((f) => f.symbol)).toEqual([
      'runtime.asyncPreempt',
      'main.mix',
      'main.spin',
      'main.worker.func1',
      'runtime/pprof.Do',
      'main.worker',
    ]);
  });

  it('weights add up to the profile total computed by an independent decoder', async () => {
    const ref = reference(cpu);
    const types = ref.sampleType.map(
      (t) => `${ref.stringTable[Number(t.type)]}/${ref.stringTable[Number(t.unit)]}`,
    );
    expect(types).toEqual(['samples/count', 'cpu/nanoseconds']);
    const total = (i: number) => ref.sample.reduce((sum, s) => sum + BigInt(s.value[i]!), 0n);
    const samples = samplesOf(await parse(cpuGz));
    expect(samples.reduce((sum, s) => sum + s.weight, 0n)).toBe(total(1));
    expect(total(1)).toBe(1490000000n);
    // Per span (label), as the profile says.
    const bySpan = new Map<string, bigint>();
    for (const s of samples)
      bySpan.set(s.labels!['span_id']!, (bySpan.get(s.labels!['span_id']!) ?? 0n) + s.weight);
    expect(Object.fromEntries(bySpan)).toEqual({
      '53995c3f42cd8ad8': 750000000n,
      '00f067aa0ba902b7': 740000000n,
    });
    // Each labelled goroutine ran where its thread_id label says it started, and did its own work.
    for (const s of samples) {
      expect(s.tid).toBe(Number(s.labels!['thread_id']));
      const names = s.frames.map((f) => f.symbol);
      if (s.labels!['span_id'] === '53995c3f42cd8ad8') expect(names).toContain('main.spin');
      else expect(names.some((n) => n === 'main.hashLoop' || n.startsWith('crypto/sha256'))).toBe(true);
    }
    // The other sample type: counts, and count × period = cpu ns for every sample.
    const counts = samplesOf(await parse(cpuGz, { sampleType: 'samples' }));
    expect(counts[0]).toMatchObject({ event: 'pprof:samples/count', weightUnit: 'count', weight: 1n });
    expect(counts.reduce((sum, s) => sum + s.weight, 0n)).toBe(total(0));
    counts.forEach((c, i) => expect(c.weight * 10000000n).toBe(samples[i]!.weight));
  });

  it('reads the same profile uncompressed and in any chunking', async () => {
    const whole = await parse(cpuGz);
    expect(await parse(cpu)).toEqual(whole);
    expect(await parse(cpuGz, {}, 13)).toEqual(whole);
  });
});

describe('sniffPprof', () => {
  it('recognises a profile, gzipped or not', () => {
    expect(sniffPprof(cpuGz)).toBe(true);
    expect(sniffPprof(cpuGz.subarray(0, 200))).toBe(true);
    expect(sniffPprof(cpu)).toBe(true);
    expect(sniffPprof(cpu.subarray(0, 1024))).toBe(true);
  });

  it('rejects OTLP protobuf, text, gzip of text and garbage', () => {
    expect(sniffPprof(fixture('otlp-proto/export.binpb'))).toBe(false);
    expect(sniffPprof(fixture('otlp-proto/collector-file.binpb'))).toBe(false);
    expect(sniffPprof(fixture('otlp-proto/export.json'))).toBe(false);
    expect(sniffPprof(gzipSync(Buffer.from('\n\n\nplain text\n')))).toBe(false);
    expect(sniffPprof(Buffer.from([0x1f, 0x8b, 0x08]))).toBe(false);
    expect(sniffPprof(new Uint8Array(0))).toBe(false);
  });
});

describe('bad input: issues, never a throw', () => {
  it('zero-length input', async () => {
    expect(await parse(new Uint8Array(0))).toEqual([
      { kind: 'issue', line: 1, reason: 'empty input: no pprof profile' },
    ]);
  });

  it('gzip cut short', async () => {
    expect(await parse(cpuGz.subarray(0, cpuGz.length - 50))).toEqual([
      { kind: 'issue', line: 1, field: 'gzip', reason: 'cannot decompress gzip: unexpected end of file' },
    ]);
  });

  it('a profile cut short', async () => {
    const items = await parse(cpu.subarray(0, cpu.length - 200));
    expect(items).toEqual([
      {
        kind: 'issue',
        line: 1,
        reason: expect.stringMatching(
          /^not a valid pprof profile: field 6 at byte \d+ declares \d+ bytes, only \d+ remain \(truncated profile\)$/,
        ),
      },
    ]);
  });

  it('garbage bytes', async () => {
    const items = await parse(Buffer.from('definitely not a profile'));
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({
      kind: 'issue',
      line: 1,
      reason: expect.stringMatching(/^not a valid pprof profile: /),
    });
  });

  it('input or decompressed data over the cap', async () => {
    expect(await parse(cpuGz, { maxBytes: 1000 })).toEqual([
      { kind: 'issue', line: 1, reason: 'input larger than the 1000-byte cap: not decoded' },
    ]);
    expect(await parse(cpuGz, { maxBytes: 3000 })).toEqual([
      {
        kind: 'issue',
        line: 1,
        field: 'gzip',
        reason: 'decompressed profile larger than the 3000-byte cap: not decoded',
      },
    ]);
  });

  it('an unknown sample type', async () => {
    const items = await parse(cpuGz, { sampleType: 'alloc_space' });
    expect(issuesOf(items)).toEqual([
      {
        kind: 'issue',
        line: 1,
        field: 'sample_type',
        reason: "sample type 'alloc_space' not in the profile (samples/count, cpu/nanoseconds)",
      },
    ]);
    expect(samplesOf(items)).toEqual([]);
  });

  it('gzip cut at every 97th byte: never a throw, always an issue', async () => {
    for (let n = 0; n < cpuGz.length; n += 97) {
      const items = await parse(cpuGz.subarray(0, n));
      expect(issuesOf(items).length).toBeGreaterThanOrEqual(1);
    }
  });
});

describe('fuzz', () => {
  /** Checks each sample, so that a malformed record fails the run as a throw. */
  async function* checked(input: AsyncIterable<Uint8Array>): AsyncGenerator<FuzzItem> {
    for await (const item of parsePprof(input)) {
      if (item.kind === 'stack-sample') {
        const ok =
          item.line >= 1 &&
          typeof item.weight === 'bigint' &&
          item.event.startsWith('pprof:') &&
          item.frames.every((f) => typeof f.addr === 'string' && f.symbol !== '' && f.dso !== '') &&
          (item.tid === null || Number.isSafeInteger(item.tid));
        if (!ok) throw new Error(`invalid sample ${JSON.stringify(item, (_k, v: unknown) => String(v))}`);
      } else if (item.kind === 'header' && (item.key === '' || typeof item.value !== 'string')) {
        throw new Error('invalid header');
      }
      yield item;
    }
  }

  it('survives 300 mutants of the recorded profile (plain and gzipped seeds)', async () => {
    // The harness blanks a leading gzip magic, so the plain profile is the main seed.
    const r = await fuzzParser('pprof', [cpu, cpuGz], checked, 'bytes', {
      iterations: 300,
      maxMsPerRun: 5000,
      giantLineBytes: 64 * 1024,
    });
    expect(r.runs).toBe(302);
    expect(r.items).toBeGreaterThan(0);
    expect(r.issues).toBeGreaterThan(0);
  }, 120_000);

  it('survives gzipped mutants (byte flips inside the compressed stream)', async () => {
    let state = 12345;
    const rnd = (n: number) => {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      return state % n;
    };
    for (let i = 0; i < 100; i++) {
      const b = Buffer.from(cpuGz);
      for (let k = 1 + rnd(4); k > 0; k--) {
        const at = 10 + rnd(b.length - 10);
        b[at] = b[at]! ^ (1 << rnd(8));
      }
      for await (const item of checked(chunks(b))) expect(item.kind).toMatch(/^(stack-sample|header|issue)$/);
    }
  });
});
