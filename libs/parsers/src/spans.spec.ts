import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { ParseIssue, SpanRecord } from '@threadreel/model';
import { parseSpans, sniffSpanFormat, type SpanFormat } from './spans.js';
import { parseJsonExact, quoteUnsafeIntegers } from './spans-json.js';
import { normalizeId } from './spans-common.js';

// Verbatim samples of docs/reference input-formats.md §4.
const OTLP_SAMPLE = `{
  "resourceSpans": [
    {
      "resource": {
        "attributes": [
          {
            "key": "service.name",
            "value": {
              "stringValue": "my.service"
            }
          }
        ]
      },
      "scopeSpans": [
        {
          "scope": {
            "name": "my.library",
            "version": "1.0.0",
            "attributes": [
              {
                "key": "my.scope.attribute",
                "value": {
                  "stringValue": "some scope attribute"
                }
              }
            ]
          },
          "spans": [
            {
              "traceId": "5B8EFFF798038103D269B633813FC60C",
              "spanId": "EEE19B7EC3C1B174",
              "parentSpanId": "EEE19B7EC3C1B173",
              "name": "I'm a server span",
              "startTimeUnixNano": "1544712660000000000",
              "endTimeUnixNano": "1544712661000000000",
              "kind": 2,
              "attributes": [
                {
                  "key": "my.span.attr",
                  "value": {
                    "stringValue": "some value"
                  }
                }
              ]
            }
          ]
        }
      ]
    }
  ]
}`;

const JAEGER_SAMPLE = `{
    "data": [
        {
            "traceID": "edc74b88be0af659a08043f60130bb77",
            "spans": [
                {
                    "traceID": "edc74b88be0af659a08043f60130bb77",
                    "spanID": "9734abd03fb3038f",
                    "operationName": "OwnerController.initFindForm",
                    "references": [
                        {
                            "refType": "CHILD_OF",
                            "traceID": "edc74b88be0af659a08043f60130bb77",
                            "spanID": "e16536121b7a1d19"
                        }
                    ],
                    "startTime": 1658132533091033,
                    "duration": 9185,
                    "tags": [
                        {
                            "key": "thread.id",
                            "type": "int64",
                            "value": 137
                        },
                        {
                            "key": "thread.name",
                            "type": "string",
                            "value": "http-nio-9000-exec-4"
                        },
                        {
                            "key": "span.kind",
                            "type": "string",
                            "value": "internal"
                        }
                    ],
                    "logs": [],
                    "processID": "p1",
                    "warnings": null
                }
            ],
            "processes": {
                "p1": {
                    "serviceName": "my-service",
                    "tags": [
                        {
                            "key": "process.pid",
                            "type": "int64",
                            "value": 61090
                        }
                    ]
                }
            },
            "warnings": null
        }
    ],
    "total": 0,
    "limit": 0,
    "offset": 0,
    "errors": null
}`;

const ZIPKIN_SAMPLE = `[{"traceId":"4e441824ec2b6a44ffdc9bb9a6453df3","id":"ffdc9bb9a6453df3","parentId":"ec2b6a44ffdc9bb9",
  "name":"get /api","kind":"SERVER","timestamp":1502787600000000,"duration":150000,
  "localEndpoint":{"serviceName":"backend","ipv4":"192.168.99.1","port":9000},
  "remoteEndpoint":{"ipv4":"172.19.0.2","port":58648},
  "tags":{"http.method":"GET","http.path":"/api","thread.id":"137"}}]`;

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

function linesOf(text: string): AsyncIterable<string> {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return Readable.from(lines) as AsyncIterable<string>;
}

type Item = SpanRecord | ParseIssue;

async function parse(text: string, format: SpanFormat, maxDocumentChars?: number): Promise<Item[]> {
  const out: Item[] = [];
  const options = maxDocumentChars === undefined ? {} : { maxDocumentChars };
  for await (const item of parseSpans(linesOf(text), format, options)) out.push(item);
  return out;
}

const spans = (items: Item[]): SpanRecord[] => items.filter((i): i is SpanRecord => i.kind === 'span');
const issues = (items: Item[]): ParseIssue[] => items.filter((i): i is ParseIssue => i.kind === 'issue');

/** One-line OTLP request holding the given spans. */
function otlpLine(spanJson: readonly string[]): string {
  return (
    '{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"svc"}}]},' +
    `"scopeSpans":[{"scope":{"name":"lib"},"spans":[${spanJson.join(',')}]}]}]}`
  );
}

function otlpSpan(fields: Record<string, string> = {}): string {
  const base: Record<string, string> = {
    traceId: '"5b8efff798038103d269b633813fc60c"',
    spanId: '"eee19b7ec3c1b174"',
    name: '"s"',
    kind: '2',
    startTimeUnixNano: '"1544712660000000000"',
    endTimeUnixNano: '"1544712661000000000"',
    ...fields,
  };
  return `{${Object.entries(base)
    .map(([k, v]) => `"${k}":${v}`)
    .join(',')}}`;
}

describe('parseJsonExact', () => {
  it('keeps integer literals beyond 2^53 exact as bigint, safe ones as numbers', () => {
    const r = parseJsonExact(
      '{"a":1763719200123456789,"b":[-9007199254740993,9007199254740991],"c":"1763719200123456789","d":1.5e300,"e":12345678901234567.5}',
    );
    expect(r).toEqual({
      ok: true,
      value: {
        a: 1763719200123456789n,
        b: [-9007199254740993n, 9007199254740991],
        c: '1763719200123456789',
        d: 1.5e300,
        e: 12345678901234567.5,
      },
    });
  });

  it('does not touch digits inside strings (with escaped quotes)', () => {
    expect(quoteUnsafeIntegers('{"x":"a\\" 12345678901234567890 "}')).toBeNull();
    expect(parseJsonExact('{"x":"a\\" 12345678901234567890 ","y":12345678901234567890}')).toEqual({
      ok: true,
      value: { x: 'a" 12345678901234567890 ', y: 12345678901234567890n },
    });
  });

  it('reports invalid JSON without throwing', () => {
    expect(parseJsonExact('{"a":').ok).toBe(false);
  });
});

describe('normalizeId', () => {
  it('accepts hex of any case, base64 and decimal', () => {
    expect(normalizeId('5B8EFFF798038103D269B633813FC60C', 16, 'traceId')).toBe(
      '5b8efff798038103d269b633813fc60c',
    );
    expect(
      normalizeId(Buffer.from('5b8efff798038103d269b633813fc60c', 'hex').toString('base64'), 16, 't'),
    ).toBe('5b8efff798038103d269b633813fc60c');
    expect(normalizeId(Buffer.from('eee19b7ec3c1b174', 'hex').toString('base64'), 8, 's')).toBe(
      'eee19b7ec3c1b174',
    );
    expect(normalizeId(17216961135462248174n, 8, 's')).toBe('eeeeeeeeeeeeeeee');
    expect(normalizeId(255, 8, 's')).toBe('00000000000000ff');
    expect(normalizeId('ffdc9bb9a6453df3', 16, 't')).toBe('0000000000000000ffdc9bb9a6453df3');
  });

  it('rejects zero, oversize and junk ids', () => {
    expect(() => normalizeId('00000000000000000000000000000000', 16, 't')).toThrow(/all-zero/);
    expect(() => normalizeId('xyz!', 8, 's')).toThrow(/not a 8-byte id/);
    expect(() => normalizeId('eee19b7ec3c1b1740', 8, 's')).toThrow();
    expect(() => normalizeId(true, 8, 's')).toThrow(/expected an id/);
  });
});

describe('parseSpans otlp-json', () => {
  it('parses the verbatim pretty-printed sample (uppercase ids, kind 2)', async () => {
    const items = await parse(OTLP_SAMPLE, 'otlp-json');
    expect(issues(items)).toEqual([]);
    expect(spans(items)).toEqual([
      {
        kind: 'span',
        line: 1,
        traceId: '5b8efff798038103d269b633813fc60c',
        spanId: 'eee19b7ec3c1b174',
        parentSpanId: 'eee19b7ec3c1b173',
        name: "I'm a server span",
        spanKind: 'server',
        service: 'my.service',
        startNs: 1544712660000000000n,
        endNs: 1544712661000000000n,
        status: 'unset',
        attributes: {
          'my.span.attr': 'some value',
          'otel.scope.name': 'my.library',
          'otel.scope.version': '1.0.0',
        },
        resource: { 'service.name': 'my.service' },
      },
    ]);
  });

  it('reads 64-bit times written as JSON numbers exactly', async () => {
    const line = otlpLine([
      otlpSpan({ startTimeUnixNano: '1763719200123456789', endTimeUnixNano: '1763719200123456799' }),
    ]);
    const [s] = spans(await parse(line, 'otlp-json'));
    expect(s?.startNs).toBe(1763719200123456789n);
    expect(s?.endNs).toBe(1763719200123456799n);
  });

  it('rejects a time in exponent form (precision already lost)', async () => {
    const items = await parse(otlpLine([otlpSpan({ startTimeUnixNano: '1.7637192e18' })]), 'otlp-json');
    expect(spans(items)).toEqual([]);
    expect(issues(items)).toEqual([
      expect.objectContaining({
        line: 1,
        field: 'resourceSpans[0].scopeSpans[0].spans[0].startTimeUnixNano',
      }),
    ]);
  });

  it('accepts enum names, base64/decimal ids, legacy instrumentationLibrarySpans and all AnyValue kinds', async () => {
    const traceB64 = Buffer.from('0102030405060708090a0b0c0d0e0f10', 'hex').toString('base64');
    const span = otlpSpan({
      traceId: `"${traceB64}"`,
      spanId: '"AQIDBAUGBwg="',
      parentSpanId: '""',
      kind: '"SPAN_KIND_CLIENT"',
      status: '{"code":"STATUS_CODE_ERROR","message":"boom"}',
      attributes:
        '[{"key":"s","value":{"stringValue":"x"}},{"key":"i","value":{"intValue":"42"}},' +
        '{"key":"big","value":{"intValue":"9223372036854775807"}},{"key":"bignum","value":{"intValue":9223372036854775806}},' +
        '{"key":"d","value":{"doubleValue":1.5}},{"key":"b","value":{"boolValue":true}},' +
        '{"key":"a","value":{"arrayValue":{"values":[{"intValue":1},{"stringValue":"two"}]}}},' +
        '{"key":"kv","value":{"kvlistValue":{"values":[{"key":"k","value":{"boolValue":false}}]}}},' +
        '{"key":"bytes","value":{"bytesValue":"AAE="}},{"key":"empty","value":{}}]',
    });
    const doc = `{"resourceSpans":[{"instrumentationLibrarySpans":[{"instrumentationLibrary":{"name":"old"},"spans":[${span}]}]}]}`;
    const items = await parse(doc, 'otlp-json');
    expect(issues(items)).toEqual([]);
    const [s] = spans(items);
    expect(s).toMatchObject({
      traceId: '0102030405060708090a0b0c0d0e0f10',
      spanId: '0102030405060708',
      parentSpanId: null,
      spanKind: 'client',
      status: 'error',
      service: null,
      resource: {},
    });
    expect(s?.attributes).toEqual({
      s: 'x',
      i: 42,
      big: 9223372036854775807n,
      bignum: 9223372036854775806n,
      d: 1.5,
      b: true,
      a: [1, 'two'],
      kv: { k: false },
      bytes: 'AAE=',
      empty: null,
      'otel.scope.name': 'old',
    });
  });

  it('reports bad spans with line and field and keeps their siblings', async () => {
    const text = [
      otlpLine([otlpSpan(), otlpSpan({ traceId: '"nothex"' }), otlpSpan({ spanId: '"eee19b7ec3c1b175"' })]),
      otlpLine([otlpSpan({ kind: '9' }), otlpSpan({ startTimeUnixNano: 'true' })]),
      otlpLine([otlpSpan({ endTimeUnixNano: '"1"' }), otlpSpan({ attributes: '{"k":1}' })]),
      '{"resourceSpans":{}}',
      '{"level":30,"msg":"not a span"}',
      '{}',
      otlpLine([otlpSpan({ spanId: '"eee19b7ec3c1b176"' })]),
    ].join('\n');
    // Line 5 (a log line) is an issue; line 6 (`{}`) is an empty request.
    const items = await parse(text, 'otlp-json');
    expect(spans(items).map((s) => [s.line, s.spanId])).toEqual([
      [1, 'eee19b7ec3c1b174'],
      [1, 'eee19b7ec3c1b175'],
      [7, 'eee19b7ec3c1b176'],
    ]);
    expect(issues(items).map((i) => [i.line, i.field])).toEqual([
      [1, 'resourceSpans[0].scopeSpans[0].spans[1].traceId'],
      [2, 'resourceSpans[0].scopeSpans[0].spans[0].kind'],
      [2, 'resourceSpans[0].scopeSpans[0].spans[1].startTimeUnixNano'],
      [3, 'resourceSpans[0].scopeSpans[0].spans[0].endTimeUnixNano'],
      [3, 'resourceSpans[0].scopeSpans[0].spans[1].attributes'],
      [4, 'resourceSpans'],
      [5, 'resourceSpans'],
    ]);
  });

  it('reports a truncated JSON line and parses the following lines', async () => {
    const good = otlpLine([otlpSpan()]);
    const text = [good, good.slice(0, 150), good, 'not json', good.slice(0, 80)].join('\n');
    const items = await parse(text, 'otlp-json');
    expect(spans(items).map((s) => s.line)).toEqual([1, 3]);
    expect(issues(items).map((i) => i.line)).toEqual([2, 4, 5]);
    expect(issues(items)[0]?.reason).toMatch(/truncated/);
    expect(issues(items)[2]?.reason).toMatch(/end of input/);
  });

  it('reports a syntax error inside a pretty-printed document on its own line', async () => {
    const broken = OTLP_SAMPLE.replace('"name": "I\'m a server span",', '"name": "I\'m a server span"');
    const items = await parse(
      `${broken}\n${otlpLine([otlpSpan({ startTimeUnixNano: '"0"' })])}`,
      'otlp-json',
    );
    const lineOfName = OTLP_SAMPLE.split('\n').findIndex((l) => l.includes('"name": "I')) + 1;
    expect(issues(items).map((i) => [i.line, i.field])).toEqual([
      [lineOfName + 1, 'json'],
      [OTLP_SAMPLE.split('\n').length + 1, 'resourceSpans[0].scopeSpans[0].spans[0].startTimeUnixNano'],
    ]);
  });

  it('caps a multi-line document and resumes at the next document', async () => {
    const pretty = OTLP_SAMPLE;
    const text = `${pretty}\n${otlpLine([otlpSpan()])}`;
    const items = await parse(text, 'otlp-json', 200);
    expect(issues(items)).toEqual([
      expect.objectContaining({ line: 1, reason: expect.stringMatching(/longer than 200/) }),
    ]);
    expect(spans(items).map((s) => s.line)).toEqual([pretty.split('\n').length + 1]);
  });
});

describe('parseSpans jaeger-json', () => {
  it('parses the verbatim sample (µs times, CHILD_OF parent, processes, int64 thread.id)', async () => {
    const items = await parse(JAEGER_SAMPLE, 'jaeger-json');
    expect(issues(items)).toEqual([]);
    expect(spans(items)).toEqual([
      {
        kind: 'span',
        line: 1,
        traceId: 'edc74b88be0af659a08043f60130bb77',
        spanId: '9734abd03fb3038f',
        parentSpanId: 'e16536121b7a1d19',
        name: 'OwnerController.initFindForm',
        spanKind: 'internal',
        service: 'my-service',
        startNs: 1658132533091033000n,
        endNs: 1658132533100218000n,
        status: 'unset',
        attributes: { 'thread.id': 137, 'thread.name': 'http-nio-9000-exec-4', 'span.kind': 'internal' },
        resource: { 'process.pid': 61090, 'service.name': 'my-service' },
      },
    ]);
  });

  it('keeps int64 tags beyond 2^53, pads 64-bit trace ids, reports bad spans', async () => {
    const doc = JSON.stringify({
      data: [
        {
          traceID: 'a08043f60130bb77',
          spans: [
            {
              traceID: 'a08043f60130bb77',
              spanID: '9734abd03fb3038f',
              operationName: 'op',
              references: [],
              startTime: 1658132533091033,
              duration: 5,
              tags: [
                { key: 'big', type: 'int64', value: '__BIG__' },
                { key: 'error', type: 'bool', value: true },
                { key: 'span.kind', type: 'string', value: 'server' },
              ],
              processID: 'p1',
            },
            { traceID: 'zz', spanID: '9734abd03fb3038f', startTime: 1, duration: 1 },
            {
              traceID: 'a08043f60130bb77',
              spanID: '9734abd03fb3038e',
              startTime: 1,
              duration: 1,
              processID: 'p9',
            },
          ],
          processes: { p1: { serviceName: 'svc', tags: [] } },
        },
      ],
    }).replace('"__BIG__"', '9223372036854775807');
    const items = await parse(doc, 'jaeger-json');
    const [s] = spans(items);
    expect(s).toMatchObject({
      traceId: '0000000000000000a08043f60130bb77',
      parentSpanId: null,
      spanKind: 'server',
      status: 'error',
      service: 'svc',
      startNs: 1658132533091033000n,
      endNs: 1658132533091038000n,
    });
    expect(s?.attributes['big']).toBe(9223372036854775807n);
    expect(issues(items).map((i) => i.field)).toEqual([
      'data[0].spans[1].traceID',
      'data[0].spans[2].processID',
    ]);
  });
});

describe('parseSpans jaeger-json references', () => {
  it('uses the CHILD_OF reference as parent; FOLLOWS_FROM alone is not a parent', async () => {
    const span = (id: string, refs: unknown[]) => ({
      traceID: 'edc74b88be0af659a08043f60130bb77',
      spanID: id,
      operationName: 'op',
      references: refs,
      startTime: '1658132533091033',
      duration: 0,
      tags: [{ key: 'thread.id', value: 7 }],
      process: { serviceName: 'inline', tags: [] },
    });
    const ref = (refType: string, spanID: string) => ({
      refType,
      traceID: 'edc74b88be0af659a08043f60130bb77',
      spanID,
    });
    const doc = JSON.stringify({
      data: [
        {
          spans: [
            span('0000000000000001', [
              ref('FOLLOWS_FROM', '00000000000000aa'),
              ref('CHILD_OF', '00000000000000bb'),
            ]),
            span('0000000000000002', [ref('FOLLOWS_FROM', '00000000000000aa')]),
          ],
        },
      ],
    });
    const items = await parse(doc, 'jaeger-json');
    expect(issues(items)).toEqual([]);
    expect(
      spans(items).map((s) => [s.parentSpanId, s.service, s.attributes['thread.id'], s.startNs === s.endNs]),
    ).toEqual([
      ['00000000000000bb', 'inline', 7, true],
      [null, 'inline', 7, true],
    ]);
  });
});

describe('parseSpans zipkin-json', () => {
  it('parses the constructed sample', async () => {
    const items = await parse(ZIPKIN_SAMPLE, 'zipkin-json');
    expect(issues(items)).toEqual([]);
    expect(spans(items)).toEqual([
      {
        kind: 'span',
        line: 1,
        traceId: '4e441824ec2b6a44ffdc9bb9a6453df3',
        spanId: 'ffdc9bb9a6453df3',
        parentSpanId: 'ec2b6a44ffdc9bb9',
        name: 'get /api',
        spanKind: 'server',
        service: 'backend',
        startNs: 1502787600000000000n,
        endNs: 1502787600150000000n,
        status: 'unset',
        attributes: { 'http.method': 'GET', 'http.path': '/api', 'thread.id': '137' },
        resource: { 'service.name': 'backend' },
      },
    ]);
  });

  it('parses one span per line inside an array, reports incomplete spans', async () => {
    const text = [
      '[',
      '{"traceId":"ffdc9bb9a6453df3","id":"ffdc9bb9a6453df3","timestamp":1,"duration":2,"tags":{"error":""}},',
      '{"traceId":"ffdc9bb9a6453df3","id":"ffdc9bb9a6453df4","kind":"CLIENT"},',
      '{"traceId":"ffdc9bb9a6453df3","id":"ffdc9bb9a6453df5","timestamp":1,"duration":2,"kind":"WHAT"}',
      ']',
    ].join('\n');
    const items = await parse(text, 'zipkin-json');
    expect(spans(items)).toEqual([
      expect.objectContaining({
        line: 1,
        spanKind: 'unspecified',
        status: 'error',
        startNs: 1000n,
        endNs: 3000n,
      }),
    ]);
    expect(issues(items).map((i) => [i.line, i.field])).toEqual([
      [1, '[1].timestamp'],
      [1, '[2].kind'],
    ]);
  });
});

describe('sniffSpanFormat', () => {
  it('recognises the three formats and nothing else', () => {
    expect(sniffSpanFormat(OTLP_SAMPLE)).toBe('otlp-json');
    expect(sniffSpanFormat(OTLP_SAMPLE.slice(0, 40))).toBe('otlp-json');
    expect(sniffSpanFormat(JAEGER_SAMPLE)).toBe('jaeger-json');
    expect(sniffSpanFormat(ZIPKIN_SAMPLE)).toBe('zipkin-json');
    expect(sniffSpanFormat('\ufeff' + otlpLine([otlpSpan()]))).toBe('otlp-json');
    expect(sniffSpanFormat('{"level":30,"time":1,"msg":"hi"}')).toBeNull();
    expect(sniffSpanFormat('swapper     0 [002]  9113.660136: cpu-clock:')).toBeNull();
    expect(sniffSpanFormat('')).toBeNull();
  });
});

const CAPTURES: readonly { lang: string; file: string }[] = [
  { lang: 'java', file: 'spans/spans.otlp.jsonl' },
  { lang: 'python', file: 'spans/spans.otlp.jsonl' },
  { lang: 'node', file: 'spans/otlp-received.jsonl' },
];

describe('real OTLP captures', () => {
  for (const { lang, file } of CAPTURES) {
    it(`${lang}: every ground-truth request is a server span with thread attributes`, async () => {
      const dir = `${ROOT}test/fixtures/captures/${lang}/`;
      const text = readFileSync(dir + file, 'utf8');
      const truth = JSON.parse(readFileSync(`${dir}ground-truth.json`, 'utf8')) as {
        requests: { traceId: string; route: string }[];
      };
      expect(sniffSpanFormat(text.slice(0, 4096))).toBe('otlp-json');
      const items = await parse(text, 'otlp-json');
      expect(issues(items)).toEqual([]);
      const all = spans(items);
      expect(truth.requests.length).toBeGreaterThan(0);
      for (const req of truth.requests) {
        const server = all.find((s) => s.traceId === req.traceId && s.spanKind === 'server');
        expect(server, req.traceId).toBeDefined();
        expect(server!.service).toBe(`scenario-${lang}`);
        expect(server!.attributes['http.route']).toBe(req.route.split('?')[0]);
        expect(typeof server!.attributes['thread.id']).toBe('number');
        expect(typeof server!.attributes['thread.name']).toBe('string');
        expect(server!.endNs).toBeGreaterThan(server!.startNs);
        expect(server!.startNs).toBeGreaterThan(1_700_000_000_000_000_000n);
      }
      for (const s of all) {
        expect(s.traceId).toMatch(/^[0-9a-f]{32}$/);
        expect(s.spanId).toMatch(/^[0-9a-f]{16}$/);
      }
    });
  }

  it('the same capture pretty-printed as one document gives the same spans', async () => {
    const text = readFileSync(`${ROOT}test/fixtures/captures/java/spans/spans.otlp.jsonl`, 'utf8');
    const first = text.split('\n')[0]!;
    const pretty = JSON.stringify(JSON.parse(first), null, 2);
    const a = spans(await parse(first, 'otlp-json'));
    const b = spans(await parse(pretty, 'otlp-json'));
    expect(b).toEqual(a);
    expect(a.length).toBeGreaterThan(0);
  });
});

/** Small deterministic PRNG (mulberry32) so that a failure is reproducible. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('fuzz', () => {
  it('mutated and truncated real lines never throw; every item is a span or an issue', async () => {
    const base = [
      ...readFileSync(`${ROOT}test/fixtures/captures/node/spans/otlp-received.jsonl`, 'utf8')
        .split('\n')
        .slice(0, 2),
      ...OTLP_SAMPLE.split('\n'),
      ...JAEGER_SAMPLE.split('\n'),
      ZIPKIN_SAMPLE.replace(/\n/g, ''),
    ].filter((l) => l.length > 0);
    const pieces = [
      '{',
      '}',
      '[',
      ']',
      '"',
      ',',
      ':',
      '-1',
      '1e999',
      '99999999999999999999',
      'null',
      '\\',
      'ZZ',
    ];
    const rand = rng(12345);
    for (let round = 0; round < 60; round++) {
      const lines = base.map((line) => {
        let l = line;
        const ops = 1 + Math.floor(rand() * 4);
        for (let k = 0; k < ops; k++) {
          const at = Math.floor(rand() * l.length);
          const r = rand();
          if (r < 0.3) l = l.slice(0, at);
          else if (r < 0.6) l = l.slice(0, at) + pieces[Math.floor(rand() * pieces.length)]! + l.slice(at);
          else if (r < 0.8) l = l.slice(0, at) + l.slice(at + 1 + Math.floor(rand() * 20));
          else l = l.replace(/"[0-9a-f]{16}"/, '"' + 'g'.repeat(Math.floor(rand() * 20)) + '"');
        }
        return l;
      });
      for (const format of ['otlp-json', 'jaeger-json', 'zipkin-json'] as const) {
        const items = await parse(lines.join('\n'), format, 1 << 16);
        for (const item of items) {
          expect(['span', 'issue']).toContain(item.kind);
          expect(item.line).toBeGreaterThanOrEqual(1);
          expect(item.line).toBeLessThanOrEqual(lines.length);
        }
        sniffSpanFormat(lines.join('\n'));
      }
    }
  });
});

describe('throughput', () => {
  it('parses a 20k-line OTLP file in reasonable time', async () => {
    const lines = readFileSync(`${ROOT}test/fixtures/captures/python/spans/spans.otlp.jsonl`, 'utf8')
      .split('\n')
      .filter((l) => l.length > 0);
    const many = Array.from({ length: 20_000 }, (_, i) => lines[i % lines.length]!);
    const t0 = performance.now();
    let n = 0;
    let bad = 0;
    for await (const item of parseSpans(Readable.from(many) as AsyncIterable<string>, 'otlp-json')) {
      if (item.kind === 'span') n++;
      else bad++;
    }
    expect(bad).toBe(0);
    const ms = performance.now() - t0;
    expect(n).toBeGreaterThan(20_000);
    console.log(`spans throughput: ${many.length} lines, ${n} spans in ${ms.toFixed(0)} ms`);
  });
});
