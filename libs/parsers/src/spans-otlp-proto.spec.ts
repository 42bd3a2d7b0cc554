import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ParseIssue, SpanRecord } from '@threadreel/model';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { parseSpans } from './spans.js';
import {
  otlpTraceRoot,
  parseOtlpProto,
  sniffOtlpProto,
  type ParseOtlpProtoOptions,
} from './spans-otlp-proto.js';
import { fuzzParser, type FuzzItem } from './testing/fuzz.js';

const fixture = (name: string): Buffer =>
  readFileSync(fileURLToPath(new URL(`../../../test/fixtures/formats/otlp-proto/${name}`, import.meta.url)));
const PROTO_DIR = fileURLToPath(new URL('../proto', import.meta.url));

const exportBody = fixture('export.binpb');
const collectorFile = fixture('collector-file.binpb');

// eslint-disable-next-line @typescript-eslint/require-await -- an async source, as a file stream is
async function* chunks(b: Uint8Array, size = 64 * 1024): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < b.length; i += size) yield b.slice(i, i + size);
}

async function parse(b: Uint8Array, options?: ParseOtlpProtoOptions, size?: number) {
  const out: (SpanRecord | ParseIssue)[] = [];
  for await (const item of parseOtlpProto(chunks(b, size), options)) out.push(item);
  return out;
}

const spansOf = (items: readonly (SpanRecord | ParseIssue)[]): SpanRecord[] =>
  items.filter((x): x is SpanRecord => x.kind === 'span');
const issuesOf = (items: readonly (SpanRecord | ParseIssue)[]): ParseIssue[] =>
  items.filter((x): x is ParseIssue => x.kind === 'issue');

async function parseJsonText(text: string): Promise<(SpanRecord | ParseIssue)[]> {
  // eslint-disable-next-line @typescript-eslint/require-await -- an async source
  async function* lines() {
    yield* text.split('\n');
  }
  const out: (SpanRecord | ParseIssue)[] = [];
  for await (const item of parseSpans(lines(), 'otlp-json')) out.push(item);
  return out;
}

function be32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

/** The length-prefixed messages of the collector fixture. */
function frames(file: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < file.length;) {
    const n = file.readUInt32BE(at);
    out.push(file.subarray(at + 4, at + 4 + n));
    at += 4 + n;
  }
  return out;
}

const TRACE_1 = '7fdd49ac67bc31094fd4c0af48680ac0';
const SERVER_ID = '3516c5569ca3aa28';
const BIG = 2n ** 60n + 2n ** 12n;
const RESOURCE = {
  'service.name': 'checkout',
  'service.version': '1.4.2',
  'process.pid': 8870,
  'host.name': 'fixture-host',
};
const SCOPE = { 'otel.scope.name': 'threadreel-fixture', 'otel.scope.version': '0.1.0' };

describe('parseOtlpProto on an OTLP/HTTP protobuf body recorded from the OpenTelemetry JS SDK', () => {
  it('decodes the server, client and internal spans exactly', async () => {
    const items = await parse(exportBody);
    expect(issuesOf(items)).toEqual([]);
    const spans = spansOf(items);
    expect(spans.map((s) => s.name)).toEqual(['SELECT orders', 'render order', 'GET /orders/:id']);
    const [db, render, server] = spans as [SpanRecord, SpanRecord, SpanRecord];
    expect(server).toEqual({
      kind: 'span',
      line: 1,
      traceId: TRACE_1,
      spanId: SERVER_ID,
      parentSpanId: null,
      name: 'GET /orders/:id',
      spanKind: 'server',
      service: 'checkout',
      startNs: 1795308409528000000n,
      endNs: 1795308409534829455n,
      status: 'ok',
      attributes: {
        'http.request.method': 'GET',
        'http.route': '/orders/:id',
        'http.response.status_code': 200,
        'thread.id': 8870,
        'thread.name': 'main',
        'order.big_id': BIG,
        'order.negative': -BIG,
        'order.tags': ['priority', 'gift'],
        'order.item_counts': [1, 2, 3],
        'order.express': true,
        'order.total': 42.5,
        ...SCOPE,
      },
      resource: RESOURCE,
    });
    expect(db).toEqual({
      kind: 'span',
      line: 1,
      traceId: TRACE_1,
      spanId: 'a9bbbb5cd4c5bc6a',
      parentSpanId: SERVER_ID,
      name: 'SELECT orders',
      spanKind: 'client',
      service: 'checkout',
      startNs: 1795308409531000000n,
      endNs: 1795308409533454936n,
      status: 'error',
      attributes: { 'db.system.name': 'postgresql', 'thread.id': 8870, 'thread.name': 'main', ...SCOPE },
      resource: RESOURCE,
    });
    expect(render).toMatchObject({
      spanId: '01756ef860936d6a',
      parentSpanId: SERVER_ID,
      spanKind: 'internal',
      status: 'unset',
      startNs: 1795308409534000000n,
      endNs: 1795308409534546828n,
      attributes: { 'thread.id': 8870, ...SCOPE },
    });
  });

  it('gives the same records for any chunking of the input', async () => {
    const whole = await parse(collectorFile);
    expect(await parse(collectorFile, {}, 1)).toEqual(whole);
    expect(await parse(collectorFile, {}, 7)).toEqual(whole);
  });
});

describe('parseOtlpProto on the Collector file exporter layout (4-byte big-endian length prefixes)', () => {
  it('reads every message; line is the message ordinal', async () => {
    const items = await parse(collectorFile);
    expect(issuesOf(items)).toEqual([]);
    expect(spansOf(items).map((s) => [s.line, s.name, s.spanKind, s.parentSpanId])).toEqual([
      [1, 'SELECT orders', 'client', SERVER_ID],
      [1, 'render order', 'internal', SERVER_ID],
      [1, 'GET /orders/:id', 'server', null],
      [2, 'GET inventory', 'client', '144ac2ebefea1336'],
      [2, 'POST /checkout', 'server', null],
      [3, 'reindex', 'internal', null],
    ]);
    const reindex = spansOf(items)[5]!;
    expect(reindex).toMatchObject({
      traceId: 'a188f11ab1ed1d32dd58a39a870503d7',
      spanId: 'a5ce36a2897251c1',
      startNs: 1795308409555000000n,
      endNs: 1795308409555291279n,
      attributes: { 'thread.id': 8870, 'thread.name': 'worker-1' },
    });
    // Its first message is the HTTP body above, byte for byte.
    expect(frames(collectorFile)[0]!.equals(exportBody)).toBe(true);
  });
});

describe('cross-check with the OTLP/JSON path', () => {
  it('the JSON exporter bodies of the same spans give the same records (but for its lossy int64)', async () => {
    const json = await parseJsonText(fixture('collector-file.jsonl').toString('utf8'));
    const proto = await parse(collectorFile);
    expect(issuesOf(json)).toEqual([]);
    expect(json).toHaveLength(proto.length);
    // The JS JSON exporter writes int64 attributes as JSON numbers: a value beyond 2^53 comes out
    // as the double's shortest decimal, not the exact integer the protobuf body carries.
    const server = spansOf(json)[2]!;
    expect(server.attributes['order.big_id']).toBe(1152921504606851000n);
    expect(server.attributes['order.negative']).toBe(-1152921504606851000n);
    const fix = (s: SpanRecord): SpanRecord =>
      s.name === 'GET /orders/:id'
        ? { ...s, attributes: { ...s.attributes, 'order.big_id': BIG, 'order.negative': -BIG } }
        : s;
    expect(spansOf(json).map(fix)).toEqual(spansOf(proto));
    // The single body and its JSON twin.
    expect(spansOf(await parseJsonText(fixture('export.json').toString('utf8'))).map(fix)).toEqual(
      spansOf(await parse(exportBody)),
    );
  });

  it('protojson of the decoded messages (base64 ids, int64 as strings) gives identical records', async () => {
    const request = otlpTraceRoot().lookupType(
      'opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest',
    );
    const lines = frames(collectorFile).map((m) =>
      JSON.stringify(request.toObject(request.decode(m), { longs: String, enums: String, bytes: String })),
    );
    expect(lines[0]).toContain('"SPAN_KIND_SERVER"');
    expect(await parseJsonText(lines.join('\n'))).toEqual(await parse(collectorFile));
  });
});

describe('vendored opentelemetry-proto files', () => {
  it('describe the same messages as the schema embedded in the parser', () => {
    const vendored = new protobuf.Root();
    vendored.resolvePath = (_origin, target) => `${PROTO_DIR}/${target}`;
    vendored.loadSync('opentelemetry/proto/collector/trace/v1/trace_service.proto');
    vendored.resolveAll();
    const embedded = otlpTraceRoot();
    const names: string[] = [];
    const visit = (ns: protobuf.NamespaceBase): void => {
      for (const child of ns.nestedArray) {
        if (child instanceof protobuf.Type || child instanceof protobuf.Enum) {
          names.push(child.fullName);
          const other = vendored.lookup(child.fullName);
          expect(other, child.fullName).not.toBeNull();
          const strip = (x: protobuf.ReflectionObject | null) => {
            const j = JSON.parse(JSON.stringify(x?.toJSON() ?? null)) as Record<string, unknown>;
            delete j['nested'];
            delete j['options'];
            delete j['comments'];
            return j;
          };
          expect(strip(other), child.fullName).toEqual(strip(child));
        }
        if (child instanceof protobuf.Namespace || child instanceof protobuf.Type) visit(child);
      }
    };
    visit(embedded);
    expect(names).toContain('.opentelemetry.proto.trace.v1.Span');
    expect(names).toContain('.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest');
    expect(names.length).toBeGreaterThanOrEqual(17);
  });
});

describe('sniffOtlpProto', () => {
  it('recognises both layouts from their first KiB', () => {
    expect(sniffOtlpProto(exportBody)).toBe(true);
    expect(sniffOtlpProto(collectorFile)).toBe(true);
    expect(sniffOtlpProto(exportBody.subarray(0, 40))).toBe(true);
  });

  it('rejects JSON, text, garbage and pprof', () => {
    expect(sniffOtlpProto(fixture('export.json'))).toBe(false);
    expect(sniffOtlpProto(Buffer.from('\n\n\nhello world\n'))).toBe(false);
    expect(sniffOtlpProto(Buffer.from([0x0a, 0x04, 0x08, 0x01, 0x10, 0x02, 0x12, 0x00]))).toBe(false);
    expect(sniffOtlpProto(new Uint8Array(0))).toBe(false);
    const garbage = Buffer.alloc(1024);
    for (let i = 0; i < garbage.length; i++) garbage[i] = (i * 7919 + 13) & 0xff;
    expect(sniffOtlpProto(garbage)).toBe(false);
  });
});

describe('bad input: issues, never a throw', () => {
  it('zero-length input', async () => {
    expect(await parse(new Uint8Array(0))).toEqual([
      { kind: 'issue', line: 1, reason: 'empty input: no OTLP protobuf message' },
    ]);
  });

  it('a single message cut short', async () => {
    const items = await parse(exportBody.subarray(0, 500));
    expect(spansOf(items)).toEqual([]);
    expect(issuesOf(items)).toEqual([
      {
        kind: 'issue',
        line: 1,
        field: 'resourceSpans[0]',
        reason: expect.stringMatching(
          /^malformed protobuf: field at byte 0 declares 893 bytes, only 497 remain/,
        ),
      },
    ]);
  });

  it('a framed message cut short: the messages before it still parse', async () => {
    const cut = collectorFile.subarray(0, collectorFile.length - 100);
    const items = await parse(cut);
    expect(spansOf(items).map((s) => s.line)).toEqual([1, 1, 1, 2, 2]);
    expect(issuesOf(items)).toEqual([
      {
        kind: 'issue',
        line: 3,
        field: 'length',
        reason: 'truncated message: the length prefix declares 264 bytes, only 164 follow',
      },
    ]);
  });

  it('a corrupt framed message: the next message still parses', async () => {
    const [m1, m2, m3] = frames(collectorFile) as [Buffer, Buffer, Buffer];
    const bad = Buffer.from(m2);
    bad.fill(0xff, 10, 30);
    const items = await parse(
      Buffer.concat([be32(m1.length), m1, be32(bad.length), bad, be32(m3.length), m3]),
    );
    expect(spansOf(items).map((s) => s.line)).toEqual([1, 1, 1, 3]);
    const issues = issuesOf(items);
    expect(issues.length).toBeGreaterThanOrEqual(1);
    for (const i of issues) {
      expect(i.line).toBe(2);
      expect(i.field).toMatch(/^resourceSpans\[0\]/);
      expect(i.reason).not.toBe('');
    }
  });

  it('a length prefix larger than the data', async () => {
    const items = await parse(Buffer.concat([be32(5000), exportBody]));
    expect(items).toEqual([
      {
        kind: 'issue',
        line: 1,
        field: 'length',
        reason: 'truncated message: the length prefix declares 5000 bytes, only 896 follow',
      },
    ]);
  });

  it('a huge declared length is capped, skipped without being held, and reported', async () => {
    const items = await parse(Buffer.concat([be32(0xfffffff0), exportBody]));
    expect(items).toEqual([
      {
        kind: 'issue',
        line: 1,
        field: 'length',
        reason: `declared message length ${0xfffffff0} exceeds the 268435456-byte cap: message skipped`,
      },
    ]);
    // Under a smaller cap the oversized message is skipped and the next one parsed.
    const [m1, m2] = frames(collectorFile) as [Buffer, Buffer];
    const framed = Buffer.concat([be32(m1.length), m1, be32(m2.length), m2]);
    const capped = await parse(framed, { maxMessageBytes: 600 });
    expect(issuesOf(capped)).toEqual([
      {
        kind: 'issue',
        line: 1,
        field: 'length',
        reason: 'declared message length 896 exceeds the 600-byte cap: message skipped',
      },
    ]);
    expect(spansOf(capped).map((s) => [s.line, s.name])).toEqual([
      [2, 'GET inventory'],
      [2, 'POST /checkout'],
    ]);
    expect(await parse(exportBody, { maxMessageBytes: 600 })).toEqual([
      { kind: 'issue', line: 1, reason: 'message larger than the 600-byte cap: not decoded' },
    ]);
  });

  it('garbage bytes and a cut length prefix', async () => {
    const garbage = Buffer.from('this is not protobuf at all, just some text\n');
    const items = await parse(garbage);
    expect(spansOf(items)).toEqual([]);
    expect(issuesOf(items).length).toBeGreaterThanOrEqual(1);
    for (const i of issuesOf(items)) expect(i.reason).not.toBe('');
    expect(await parse(Buffer.from([0, 0]))).toEqual([
      {
        kind: 'issue',
        line: 1,
        field: 'length',
        reason: 'truncated length prefix: 2 of 4 bytes at the end of the input',
      },
    ]);
  });

  it('a wrong-length span id is an issue naming it; its siblings still parse', async () => {
    const request = otlpTraceRoot().lookupType(
      'opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest',
    );
    const msg = request.toObject(request.decode(exportBody)) as {
      resourceSpans: { scopeSpans: { spans: { spanId: Uint8Array }[] }[] }[];
    };
    msg.resourceSpans[0]!.scopeSpans[0]!.spans[1]!.spanId = Uint8Array.of(1, 2, 3, 4, 5);
    const items = await parse(request.encode(request.fromObject(msg)).finish());
    expect(spansOf(items).map((s) => s.name)).toEqual(['SELECT orders', 'GET /orders/:id']);
    expect(issuesOf(items)).toEqual([
      {
        kind: 'issue',
        line: 1,
        field: 'resourceSpans[0].scopeSpans[0].spans[1].spanId',
        reason: 'not a 8-byte id (hex, base64 or decimal): string "(5 bytes, not 8) 0102030405"',
      },
    ]);
  });

  it('an input stream that fails is an issue', async () => {
    // eslint-disable-next-line @typescript-eslint/require-await -- an async source
    async function* failing(): AsyncGenerator<Uint8Array> {
      yield exportBody.subarray(0, 10);
      throw new Error('EIO');
    }
    const items: (SpanRecord | ParseIssue)[] = [];
    for await (const item of parseOtlpProto(failing())) items.push(item);
    expect(items).toEqual([{ kind: 'issue', line: 1, reason: 'input error: EIO' }]);
  });
});

describe('fuzz', () => {
  const ID32 = /^[0-9a-f]{32}$/;
  const ID16 = /^[0-9a-f]{16}$/;
  /** Checks each span, so that a malformed record fails the run as a throw. */
  async function* checked(input: AsyncIterable<Uint8Array>): AsyncGenerator<FuzzItem> {
    for await (const item of parseOtlpProto(input)) {
      if (item.kind === 'span') {
        const ok =
          ID32.test(item.traceId) &&
          ID16.test(item.spanId) &&
          (item.parentSpanId === null || ID16.test(item.parentSpanId)) &&
          typeof item.startNs === 'bigint' &&
          typeof item.endNs === 'bigint' &&
          item.endNs >= item.startNs &&
          item.line >= 1;
        if (!ok) throw new Error(`invalid span ${JSON.stringify(item, (_k, v: unknown) => String(v))}`);
      }
      yield item;
    }
  }

  it('survives 300 mutants of the recorded fixtures', async () => {
    const r = await fuzzParser('otlp-proto', [exportBody, collectorFile], checked, 'bytes', {
      iterations: 300,
      maxMsPerRun: 5000,
      giantLineBytes: 64 * 1024,
    });
    expect(r.runs).toBe(302);
    expect(r.items).toBeGreaterThan(0);
    expect(r.issues).toBeGreaterThan(0);
  }, 120_000);
});
