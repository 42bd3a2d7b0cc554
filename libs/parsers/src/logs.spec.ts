import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { LogRecord, ParseIssue } from '@threadreel/model';
import { MAX_CONTINUATION_LINES, parseLogs, type ParseLogsOptions } from './logs.js';

const CAPTURES = fileURLToPath(new URL('../../../test/fixtures/captures/', import.meta.url));

function linesOf(text: string): AsyncIterable<string> {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return Readable.from(lines) as AsyncIterable<string>;
}

async function parse(text: string, opts: ParseLogsOptions = {}): Promise<(LogRecord | ParseIssue)[]> {
  const out: (LogRecord | ParseIssue)[] = [];
  for await (const item of parseLogs(linesOf(text), opts)) out.push(item);
  return out;
}

const records = (items: (LogRecord | ParseIssue)[]): LogRecord[] =>
  items.filter((i): i is LogRecord => i.kind === 'log');
const issues = (items: (LogRecord | ParseIssue)[]): ParseIssue[] =>
  items.filter((i): i is ParseIssue => i.kind === 'issue');

async function one(text: string, opts: ParseLogsOptions = {}): Promise<LogRecord> {
  const items = await parse(text, opts);
  expect(issues(items)).toEqual([]);
  const recs = records(items);
  expect(recs).toHaveLength(1);
  const r = recs[0];
  if (!r) throw new Error('no record');
  return r;
}

/** Epoch ns of an ISO instant with a ms fraction, computed independently with Date.parse. */
function ns(iso: string, extraNs = 0n): bigint {
  return BigInt(Date.parse(iso)) * 1_000_000n + extraNs;
}

describe('parseLogs: input-formats.md §6 samples', () => {
  it('logstash-logback-encoder JSON (§6.2)', async () => {
    const r = await one(
      '{"@timestamp":"2024-05-01T12:00:00.123+02:00","@version":"1","message":"charged","logger_name":"c.e.Pay","thread_name":"http-nio-8080-exec-4","level":"INFO","level_value":20000,"trace_id":"5b8efff798038103d269b633813fc60c","span_id":"eee19b7ec3c1b174","trace_flags":"01"}',
    );
    expect(r).toMatchObject({
      kind: 'log',
      line: 1,
      timeNs: ns('2024-05-01T10:00:00.123Z'),
      timeText: '2024-05-01T12:00:00.123+02:00',
      zone: 'explicit',
      level: 'INFO',
      threadName: 'http-nio-8080-exec-4',
      tid: null,
      traceIds: ['5b8efff798038103d269b633813fc60c'],
      spanId: 'eee19b7ec3c1b174',
      logger: 'c.e.Pay',
      message: 'charged',
      continuation: [],
    });
    expect(r.fields).toMatchObject({ '@version': '1', level_value: 20000, trace_flags: '01' });
  });

  it('pino (§6.3), numeric level and epoch ms', async () => {
    const items = await parse(
      [
        '{"level":30,"time":1531171074631,"msg":"hello world","pid":657,"hostname":"Davids-MBP-3.fritz.box"}',
        '{"level":30,"time":1531171082399,"msg":"hello child!","pid":657,"hostname":"Davids-MBP-3.fritz.box","a":"property"}',
      ].join('\n'),
    );
    expect(issues(items)).toEqual([]);
    const [a, b] = records(items);
    expect(a).toMatchObject({
      timeNs: 1531171074631_000_000n,
      zone: 'explicit',
      level: 'info',
      message: 'hello world',
      threadName: null,
      tid: null,
      traceIds: [],
      fields: { pid: 657, hostname: 'Davids-MBP-3.fritz.box' },
    });
    expect(b).toMatchObject({ line: 2, timeNs: 1531171082399_000_000n, fields: { a: 'property' } });
  });

  it('logback MDC pattern (§6.1), zone-less time in the manifest zone', async () => {
    const r = await one(
      '2026-09-27 10:14:02.911 [http-nio-8080-exec-7] INFO  c.z.o.PaymentClient trace_id=6f1c2e9ab04d7a13b04d7a13e2f0aa11 span_id=b04d7a13e2f0aa11 trace_flags=01 - payment failed',
      { timeZone: 'Asia/Kolkata' },
    );
    expect(r).toMatchObject({
      timeNs: ns('2026-09-27T04:44:02.911Z'),
      zone: 'manifest',
      level: 'INFO',
      threadName: 'http-nio-8080-exec-7',
      logger: 'c.z.o.PaymentClient',
      traceIds: ['6f1c2e9ab04d7a13b04d7a13e2f0aa11'],
      spanId: 'b04d7a13e2f0aa11',
      message: 'payment failed',
    });
  });

  it('log4j2 ISO8601 pattern with comma millis (§6.1), assumed UTC', async () => {
    const r = await one(
      '2026-09-27T10:14:02,911 [main] WARN  c.e.Svc - trace_id=5b8efff798038103d269b633813fc60c span_id=eee19b7ec3c1b174 slow',
    );
    expect(r).toMatchObject({
      timeNs: ns('2026-09-27T10:14:02.911Z'),
      zone: 'assumed-utc',
      threadName: 'main',
      level: 'WARN',
      logger: 'c.e.Svc',
      traceIds: ['5b8efff798038103d269b633813fc60c'],
      spanId: 'eee19b7ec3c1b174',
      message: 'trace_id=5b8efff798038103d269b633813fc60c span_id=eee19b7ec3c1b174 slow',
    });
  });

  it('Spring Boot + Micrometer line (§6.1): 64-bit trace id, truncated thread', async () => {
    const r = await one(
      '2026-09-27T10:14:02.911+05:30 ERROR [order-service,6f1c2e9ab04d7a13,b04d7a13e2f0] 1 --- [nio-8080-exec-7] c.z.o.client.PaymentClient : payment P-90412 failed for order A-4470 after 3 retries',
    );
    expect(r).toMatchObject({
      timeNs: ns('2026-09-27T04:44:02.911Z'),
      zone: 'explicit',
      level: 'ERROR',
      threadName: 'nio-8080-exec-7',
      logger: 'c.z.o.client.PaymentClient',
      traceIds: ['00000000000000006f1c2e9ab04d7a13'],
      message: 'payment P-90412 failed for order A-4470 after 3 retries',
    });
  });

  it('Spring Boot default pattern: padded thread, bracketed level', async () => {
    const r = await one(
      '2026-09-27T10:14:02.911Z  INFO 4711 --- [           main] o.s.b.w.e.tomcat.TomcatWebServer         : Tomcat started',
    );
    expect(r).toMatchObject({
      level: 'INFO',
      threadName: 'main',
      logger: 'o.s.b.w.e.tomcat.TomcatWebServer',
      message: 'Tomcat started',
    });
    const b = await one('2026-09-27 10:14:02,911 [INFO] [worker-3] app.jobs - done');
    expect(b).toMatchObject({ level: 'INFO', threadName: 'worker-3', logger: 'app.jobs', message: 'done' });
  });

  it('Python OTel logging format (§6.4), "0" ids ignored', async () => {
    const fmt = (t: string, s: string): string =>
      `2003-07-08 16:49:45,896 INFO [app.orders] [orders.py:42] [trace_id=${t} span_id=${s} resource.service.name=orders trace_sampled=True] - placed`;
    const r = await one(fmt('5b8efff798038103d269b633813fc60c', 'eee19b7ec3c1b174'), { layout: 'python' });
    expect(r).toMatchObject({
      timeNs: ns('2003-07-08T16:49:45.896Z'),
      zone: 'assumed-utc',
      level: 'INFO',
      logger: 'app.orders',
      threadName: null,
      traceIds: ['5b8efff798038103d269b633813fc60c'],
      spanId: 'eee19b7ec3c1b174',
      message: 'placed',
    });
    const none = await one(fmt('0', '0'), { layout: 'python' });
    expect(none.traceIds).toEqual([]);
    expect(none.spanId).toBeNull();
  });
});

describe('parseLogs: JSON field sets', () => {
  it('ECS nested and flat, Datadog decimal, traceparent, OTel log fields', async () => {
    const ecs = await one(
      '{"@timestamp":"2026-11-21T23:00:00.000123Z","log.level":"info","message":"m","process":{"thread":{"id":4242,"name":"pool-1"}},"trace":{"id":"AABBCCDDEEFF00112233445566778899"},"span":{"id":"0102030405060708"}}',
    );
    expect(ecs).toMatchObject({
      timeNs: ns('2026-11-21T23:00:00.000Z', 123_000n),
      level: 'info',
      tid: 4242,
      threadName: 'pool-1',
      traceIds: ['aabbccddeeff00112233445566778899'],
      spanId: '0102030405060708',
    });
    const flat = await one(
      '{"@timestamp":"2026-11-21T23:00:00Z","process.thread.id":7,"trace.id":"aabbccddeeff00112233445566778899"}',
    );
    expect(flat).toMatchObject({ tid: 7, traceIds: ['aabbccddeeff00112233445566778899'] });

    // 2^64-1 → ffffffffffffffff (lower 64 bits, left-padded).
    const dd = await one(
      '{"timestamp":1795303780801,"status":"info","message":"x","dd.trace_id":"18446744073709551615","dd.span_id":"255","traceparent":"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}',
    );
    expect(dd.traceIds).toEqual(['0000000000000000ffffffffffffffff', '0af7651916cd43dd8448eb211c80319c']);
    expect(dd.spanId).toBe('00000000000000ff');
    const ddNested = await one('{"time":1,"dd":{"trace_id":"1234","span_id":"1"}}');
    expect(ddNested.traceIds).toEqual(['000000000000000000000000000004d2']);

    const otel = await one(
      '{"timeUnixNano":"1795303780801123456","severityText":"WARN","body":{"stringValue":"hi"},"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203331","attributes":{"thread.id":137,"thread.name":"main"}}',
    );
    expect(otel).toMatchObject({
      timeNs: 1795303780801123456n,
      level: 'WARN',
      message: 'hi',
      threadName: 'main',
      javaThreadId: 137,
      traceIds: ['0af7651916cd43dd8448eb211c80319c'],
      spanId: 'b7ad6b7169203331',
    });
  });

  it('OTLP/JSON log record with attribute lists', async () => {
    const r = await one(
      '{"timeUnixNano":"1795303780801123456","severityNumber":9,"severityText":"INFO","body":{"stringValue":"hello"},"attributes":[{"key":"thread.name","value":{"stringValue":"http-nio-1"}},{"key":"thread.id","value":{"intValue":"42"}}],"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203331"}',
    );
    expect(r).toMatchObject({
      timeNs: 1795303780801123456n,
      level: 'INFO',
      message: 'hello',
      threadName: 'http-nio-1',
      javaThreadId: 42,
      tid: null,
      traceIds: ['0af7651916cd43dd8448eb211c80319c'],
      spanId: 'b7ad6b7169203331',
    });
  });

  it('stack_trace field becomes continuation; trace id in message text is found', async () => {
    const r = await one(
      '{"@timestamp":"2026-11-21T23:00:00Z","message":"failed trace_id=0af7651916cd43dd8448eb211c80319c","stack_trace":"java.lang.X: boom\\n\\tat a.B.c(B.java:1)\\n"}',
    );
    expect(r.continuation).toEqual(['java.lang.X: boom', '\tat a.B.c(B.java:1)']);
    expect(r.traceIds).toEqual(['0af7651916cd43dd8448eb211c80319c']);
  });

  it('time units by magnitude and bad times are issues, not throws', async () => {
    const s = await one('{"time":1531171074,"msg":"s"}');
    expect(s.timeNs).toBe(1531171074_000_000_000n);
    const frac = await one('{"time":1795303780135.144,"msg":"f"}');
    expect(frac.timeNs).toBe(1795303780135_144_000n);
    const items = await parse('{"time":"yesterday","msg":"x"}');
    expect(records(items)[0]?.timeNs).toBeNull();
    expect(issues(items)).toMatchObject([{ line: 1, field: 'time' }]);
  });
});

describe('parseLogs: multi-line and syslog', () => {
  it('attaches a Java stack trace to the preceding record and caps it', async () => {
    const text = [
      '2026-11-21T22:59:34.254+00:00 ERROR [http-worker-1] trace_id=0af7651916cd43dd8448eb211c80319c span_id=b7ad6b7169203331 c.t.s.UpstreamClient - GET /upstream failed',
      'java.io.IOException: connection reset',
      '\tat c.t.s.UpstreamClient.call(UpstreamClient.java:42)',
      '\tat c.t.s.Server.handle(Server.java:99)',
      'Caused by: java.net.SocketException: reset',
      '\t... 12 more',
      '',
      '2026-11-21T22:59:34.300+00:00 INFO [main] c.t.s.Server - next',
    ].join('\n');
    const items = await parse(text);
    expect(issues(items)).toEqual([]);
    const [a, b] = records(items);
    expect(a).toMatchObject({
      line: 1,
      level: 'ERROR',
      threadName: 'http-worker-1',
      logger: 'c.t.s.UpstreamClient',
      message: 'GET /upstream failed',
      continuation: [
        'java.io.IOException: connection reset',
        '\tat c.t.s.UpstreamClient.call(UpstreamClient.java:42)',
        '\tat c.t.s.Server.handle(Server.java:99)',
        'Caused by: java.net.SocketException: reset',
        '\t... 12 more',
      ],
    });
    expect(a?.continuationDropped).toBeUndefined();
    expect(b).toMatchObject({ line: 8, threadName: 'main', message: 'next', continuation: [] });

    const long = ['2026-11-21T22:59:34.254Z ERROR [t] c.X - boom'];
    for (let i = 0; i < MAX_CONTINUATION_LINES + 50; i++) long.push(`\tat f${i}(X.java:${i})`);
    const capped = await one(long.join('\n'));
    expect(capped.continuation).toHaveLength(MAX_CONTINUATION_LINES);
    expect(capped.continuationDropped).toBe(50);
  });

  it('a leading non-entry line is an issue; an unknown zone is one issue', async () => {
    const items = await parse('\tat nowhere\n2026-01-01 00:00:00,000 INFO x', { timeZone: 'Mars/Olympus' });
    expect(issues(items).map((i) => i.line)).toEqual([0, 1]);
    expect(records(items)[0]).toMatchObject({ zone: 'assumed-utc', timeNs: ns('2026-01-01T00:00:00Z') });
  });

  it('zone-less times across DST: fold → earlier instant, gap → shifted forward', async () => {
    const opts = { timeZone: 'Europe/Paris' };
    const winter = await one('2026-01-15 12:00:00,001 INFO x', opts);
    expect(winter.timeNs).toBe(ns('2026-01-15T11:00:00.001Z'));
    const summer = await one('2026-07-15 12:00:00,001 INFO x', opts);
    expect(summer.timeNs).toBe(ns('2026-07-15T10:00:00.001Z'));
    const fold = await one('2026-10-25 02:30:00,000 INFO x', opts);
    expect(fold.timeNs).toBe(ns('2026-10-25T00:30:00Z'));
    const gap = await one('2026-03-29 02:30:00,000 INFO x', opts);
    expect(gap.timeNs).toBe(ns('2026-03-29T01:30:00Z'));
    const ny = await one('2026-11-21 18:06:58,094 INFO x', { timeZone: 'America/New_York' });
    expect(ny).toMatchObject({ zone: 'manifest', timeNs: ns('2026-11-21T23:06:58.094Z') });
  });

  it('syslog RFC 5424 and RFC 3164', async () => {
    const r5 = await one(
      '<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="App\\"x]" eventID="1011"] An application event trace_id=0af7651916cd43dd8448eb211c80319c',
      { layout: 'syslog' },
    );
    expect(r5).toMatchObject({
      timeNs: ns('2003-10-11T22:14:15.003Z'),
      level: 'notice',
      logger: 'evntslog',
      message: 'An application event trace_id=0af7651916cd43dd8448eb211c80319c',
      traceIds: ['0af7651916cd43dd8448eb211c80319c'],
      fields: { hostname: 'mymachine.example.com', msgid: 'ID47' },
    });
    const r3 = await one("<34>Oct 11 22:14:15 mymachine su[123]: 'su root' failed for lonvick on /dev/pts/8");
    expect(r3).toMatchObject({
      timeNs: null,
      timeText: 'Oct 11 22:14:15',
      level: 'crit',
      logger: 'su',
      message: "'su root' failed for lonvick on /dev/pts/8",
      fields: { hostname: 'mymachine', pid: 123 },
    });
  });
});

interface GroundTruth {
  readonly requests: readonly { readonly traceId: string }[];
}

async function parseCapture(
  runtime: string,
  opts: ParseLogsOptions,
): Promise<{ recs: LogRecord[]; gt: GroundTruth; lines: string[] }> {
  const text = readFileSync(`${CAPTURES}${runtime}/logs/app.log`, 'utf8');
  const gt = JSON.parse(readFileSync(`${CAPTURES}${runtime}/ground-truth.json`, 'utf8')) as GroundTruth;
  const items = await parse(text, opts);
  expect(issues(items)).toEqual([]);
  const lines = text.split('\n').filter((l) => l !== '');
  return { recs: records(items), gt, lines };
}

function expectAllTraces(recs: LogRecord[], gt: GroundTruth): void {
  const found = new Set(recs.flatMap((r) => r.traceIds));
  expect(gt.requests.length).toBeGreaterThan(0);
  for (const { traceId } of gt.requests) expect(found, traceId).toContain(traceId);
}

describe('parseLogs: real captures', () => {
  it('java (logback-style text)', async () => {
    const { recs, gt, lines } = await parseCapture('java', { timeZone: 'UTC' });
    expect(recs).toHaveLength(lines.length);
    expectAllTraces(recs, gt);
    expect(recs[0]).toMatchObject({
      timeNs: ns('2026-11-21T23:29:07.038Z'),
      zone: 'explicit',
      level: 'INFO',
      threadName: 'main',
      logger: 'c.t.s.Server',
    });
    expect(recs[3]).toMatchObject({
      timeNs: ns('2026-11-21T23:29:09.801Z'),
      threadName: 'http-worker-2',
      traceIds: ['01bf0b6049bf6c42b71513414bc0258b'],
      spanId: '3c9a75866602db53',
      logger: 'c.t.s.Server',
      message: 'GET /fast started',
    });
    for (const r of recs) expect(r.threadName).toMatch(/^(main|http-worker-\d)$/);
  });

  it('node (pino)', async () => {
    const { recs, gt, lines } = await parseCapture('node', { timeZone: 'UTC' });
    expect(recs).toHaveLength(lines.length);
    expectAllTraces(recs, gt);
    // Expected values are read from the recorded JSON lines.
    const json = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const [l0, l1] = [json[0]!, json[1]!];
    expect(recs[0]).toMatchObject({
      timeNs: BigInt(l0['time'] as number) * 1_000_000n,
      level: 'info',
      message: 'listening',
    });
    expect(recs[1]).toMatchObject({
      timeNs: BigInt(l1['time'] as number) * 1_000_000n,
      traceIds: [l1['trace_id']],
      spanId: l1['span_id'],
      message: 'request start',
      fields: { pid: l1['pid'], route: '/fast' },
    });
  });

  it('python (asctime, thread name and native tid)', async () => {
    const { recs, gt, lines } = await parseCapture('python', { timeZone: 'UTC' });
    expect(recs).toHaveLength(lines.length);
    expectAllTraces(recs, gt);
    // Expected values are read from the recorded lines' text.
    const expectFrom = (line: string) => {
      const m = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d),(\d{3}) (\w+) \[(\S+) tid=(\d+)\]/.exec(line)!;
      const trace = /trace_id=([0-9a-f]{32})/.exec(line)?.[1];
      return {
        timeNs: ns(`${m[1]}T${m[2]}.${m[3]}Z`),
        level: m[4],
        threadName: m[5],
        tid: Number(m[6]),
        traceIds: trace ? [trace] : [],
      };
    };
    expect(recs[0]).toMatchObject({ ...expectFrom(lines[0]!), zone: 'manifest', spanId: null });
    expect(recs[0]?.message.startsWith('listening on http://127.0.0.1:')).toBe(true);
    expect(recs[1]).toMatchObject({ ...expectFrom(lines[1]!), threadName: 'acceptor' });
    expect(recs[1]?.message).toMatch(/^accepted GET \//);
    for (const r of recs) {
      expect(r.threadName).toMatch(/^(MainThread|acceptor|worker_\d)$/);
      expect(r.tid).toBeGreaterThan(0);
    }
    // Without a manifest zone the same text is read as UTC and says so.
    const [first] = records(await parse(lines[0] ?? ''));
    expect(first).toMatchObject({ zone: 'assumed-utc', timeNs: expectFrom(lines[0]!).timeNs });
  });

  it('fuzz: mutated real lines never throw', async () => {
    const corpus = ['java', 'node', 'python'].flatMap((rt) =>
      readFileSync(`${CAPTURES}${rt}/logs/app.log`, 'utf8')
        .split('\n')
        .filter((l) => l !== ''),
    );
    let seed = 12345;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const junk = [
      '[',
      ']',
      '{',
      '}',
      '"',
      '=',
      ' ',
      '\t',
      ',',
      ':',
      '-',
      '\\',
      '0',
      'Z',
      '+',
      '\u0000',
      '\u00e9',
    ];
    const mutated: string[] = [];
    for (let i = 0; i < 3000; i++) {
      const base = corpus[rand(corpus.length)] ?? '';
      let s = base;
      const ops = 1 + rand(4);
      for (let k = 0; k < ops; k++) {
        const at = rand(s.length + 1);
        switch (rand(4)) {
          case 0:
            s = s.slice(0, at) + (junk[rand(junk.length)] ?? '') + s.slice(at);
            break;
          case 1:
            s = s.slice(0, at) + s.slice(at + 1 + rand(8));
            break;
          case 2:
            s = s.slice(0, at);
            break;
          default:
            s = s.slice(at);
        }
      }
      mutated.push(s);
    }
    let n = 0;
    for await (const item of parseLogs(Readable.from(mutated) as AsyncIterable<string>, {
      timeZone: 'Europe/Paris',
    })) {
      expect(['log', 'issue']).toContain(item.kind);
      n++;
    }
    expect(n).toBeGreaterThan(0);
  });
});
