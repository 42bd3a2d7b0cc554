import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type {
  GcEvent,
  RuntimeEvent,
  SafepointEvent,
  SourceHeader,
  StackSample,
  ThreadSighting,
} from '@threadreel/model';
import {
  JfrEventScanner,
  parseIsoDuration,
  parseJfrJson,
  quoteLongIntegers,
  sniffJfrJson,
  type JfrParsedItem,
  type ParseJfrJsonOptions,
  type ScannedElement,
} from './jfr-json.js';
import { fuzzParser } from './testing/fuzz.js';

const dir = (rel: string): string =>
  fileURLToPath(new URL(`../../../test/fixtures/formats/jfr/${rel}`, import.meta.url));
const FIXTURE = gunzipSync(readFileSync(dir('recording.json.gz'))).toString('utf8');
const SUMMARY = readFileSync(dir('summary.txt'), 'utf8');

function linesOf(text: string): AsyncIterable<string> {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return Readable.from(lines) as AsyncIterable<string>;
}

async function parse(text: string, options?: ParseJfrJsonOptions): Promise<JfrParsedItem[]> {
  const out: JfrParsedItem[] = [];
  for await (const item of parseJfrJson(linesOf(text), options)) out.push(item);
  return out;
}

const of = <K extends JfrParsedItem['kind']>(items: JfrParsedItem[], kind: K) =>
  items.filter((i): i is Extract<JfrParsedItem, { kind: K }> => i.kind === kind);

/** `jfr summary` counts per event type (the independent oracle for counts). */
function summaryCounts(): Map<string, number> {
  const m = new Map<string, number>();
  for (const line of SUMMARY.split('\n')) {
    const r = /^ (jdk\.\S+)\s+(\d+)\s+\d+\s*$/.exec(line);
    if (r) m.set(r[1] ?? '', Number(r[2]));
  }
  return m;
}

/** Epoch ns of `YYYY-MM-DDTHH:MM:SS.fffffffffZ`, computed without the parser's code. */
function isoZNs(text: string): bigint {
  const [sec, frac = ''] = text.replace(/Z$/, '').split('.');
  return BigInt(Date.parse(`${sec}Z`)) * 1_000_000n + BigInt(frac.padEnd(9, '0'));
}

/** `PT0.039845134S` → ns, for the simple seconds-only shape. */
function ptNs(text: string): bigint {
  const m = /^PT(\d+)(?:\.(\d+))?S$/.exec(text);
  if (!m) throw new Error(`unexpected duration ${text}`);
  return BigInt(m[1] ?? '0') * 1_000_000_000n + BigInt((m[2] ?? '').padEnd(9, '0'));
}

interface RawEvent {
  type: string;
  values: Record<string, unknown> & { startTime: string; duration?: string };
}
const ORACLE = (JSON.parse(FIXTURE) as { recording: { events: RawEvent[] } }).recording.events;
const FIXTURE_LINES = FIXTURE.split('\n');
/** 1-based line of the `{` of each event: the line before its `"type"` line. */
const EVENT_LINES = FIXTURE_LINES.flatMap((l, i) => (/^ {6}"type": "/.test(l) ? [i] : []));

describe('parseIsoDuration', () => {
  it('reads java.time.Duration text exactly', () => {
    expect(parseIsoDuration('PT0.039845134S')).toBe(39_845_134n);
    expect(parseIsoDuration('PT0S')).toBe(0n);
    expect(parseIsoDuration('PT4.809288896S')).toBe(4_809_288_896n);
    expect(parseIsoDuration('PT1H2M3.5S')).toBe(3_723_500_000_000n);
    expect(parseIsoDuration('PT-0.5S')).toBe(-500_000_000n);
    expect(parseIsoDuration('PT-2562047788015215H-30M-8S')).toBe(
      -9_223_372_036_854_775_808n * 1_000_000_000n,
    );
    expect(parseIsoDuration('P2DT1S')).toBe(172_801_000_000_000n);
    for (const bad of ['', 'P', 'PT', '0.5S', 'PT0.1234567891S', 'PT1.S', 'PTxS', 'PT1H2'])
      expect(parseIsoDuration(bad), bad).toBeNull();
  });
});

describe('quoteLongIntegers', () => {
  it('quotes 16+ digit integers outside strings only', () => {
    expect(quoteLongIntegers('{"a":12345678901234567890,"b":"12345678901234567890","c":1.5}')).toBe(
      '{"a":"12345678901234567890","b":"12345678901234567890","c":1.5}',
    );
    expect(quoteLongIntegers('{"a":140354028313424}')).toBe('{"a":140354028313424}');
    expect(quoteLongIntegers('{"s":"x\\"1234567890123456789","n":-1234567890123456789}')).toBe(
      '{"s":"x\\"1234567890123456789","n":"-1234567890123456789"}',
    );
  });
});

describe('parseJfrJson on the real Contention recording', () => {
  it('maps every event of the printed types, counts matching `jfr summary`', async () => {
    const items = await parse(FIXTURE);
    const counts = summaryCounts();
    const c = (t: string): number => counts.get(t) ?? 0;
    expect(of(items, 'issue')).toEqual([]);
    expect(EVENT_LINES.length).toBe(ORACLE.length);

    const samples = of(items, 'stack-sample');
    expect(samples.length).toBe(c('jdk.ExecutionSample') + c('jdk.NativeMethodSample'));
    expect(samples.filter((s) => s.event === 'jdk.NativeMethodSample').length).toBe(
      c('jdk.NativeMethodSample'),
    );
    const runtime = of(items, 'runtime');
    const byType = (t: string): RuntimeEvent[] => runtime.filter((r) => r.event === t);
    for (const t of [
      'jdk.ThreadPark',
      'jdk.JavaMonitorEnter',
      'jdk.JavaMonitorWait',
      'jdk.ThreadSleep',
      'jdk.SocketRead',
      'jdk.SocketWrite',
      'jdk.FileRead',
      'jdk.FileWrite',
      'jdk.FileForce',
      'jdk.ThreadStart',
      'jdk.ThreadEnd',
    ])
      expect(byType(t).length, t).toBe(c(t));
    const threads = of(items, 'thread');
    expect(threads.filter((t) => t.event === 'start').length).toBe(c('jdk.ThreadStart'));
    expect(threads.filter((t) => t.event === 'end').length).toBe(c('jdk.ThreadEnd'));
    const gcs = of(items, 'gc');
    expect(gcs.length).toBe(c('jdk.GarbageCollection') + c('jdk.GCPhasePause') + c('jdk.GCPhasePauseLevel1'));

    // Other printed types are counted as skipped headers, with the summary's counts.
    const headers = of(items, 'header');
    const header = (key: string): string | undefined => headers.find((h) => h.key === key)?.value;
    for (const t of ['jdk.CPULoad', 'jdk.ThreadCPULoad', 'jdk.SystemGC'])
      expect(header(`jfr.skipped.${t}`), t).toBe(String(c(t)));
    const nonSafepointOps = ORACLE.filter(
      (e) => e.type === 'jdk.ExecuteVMOperation' && e.values['safepoint'] !== true,
    ).length;
    expect(nonSafepointOps).toBe(1);
    expect(header('jfr.skipped.jdk.ExecuteVMOperation')).toBe('1');
    expect(header('jfr.pid')).toBe(
      String(ORACLE.find((e) => e.type === 'jdk.JVMInformation')?.values['pid']),
    );
    // Count headers come last, sorted (jfr.pid is emitted where JVMInformation is).
    const counted = headers.filter((h) => h.key !== 'jfr.pid');
    expect(items.slice(-counted.length)).toEqual(counted);
    expect(counted.map((h) => h.key)).toEqual([...counted.map((h) => h.key)].sort());
  });

  it('reads a monitor enter exactly: times, threads, class, address, frames, line', async () => {
    const items = await parse(FIXTURE);
    const raw = ORACLE.find((e) => e.type === 'jdk.JavaMonitorEnter');
    const idx = ORACLE.findIndex((e) => e.type === 'jdk.JavaMonitorEnter');
    expect(raw).toBeDefined();
    const ev = of(items, 'runtime').find((r) => r.event === 'jdk.JavaMonitorEnter');
    expect(ev).toMatchObject({
      kind: 'runtime',
      source: 'jfr',
      type: 'monitor-enter',
      // The `{` is on the line before `"type"`: its 1-based number is the 0-based index of that line.
      line: EVENT_LINES[idx],
      clock: 'realtime',
      startNs: isoZNs('2026-11-22T00:46:20.837861597Z'),
      durationNs: 39_845_134n,
      thread: { tid: 8194, runtimeThreadId: '16', name: 'monitor-b' },
      previousOwner: { tid: 8193, runtimeThreadId: '15', name: 'monitor-a' },
      objectClass: 'java.lang.Object',
      address: `0x${(140354028313424).toString(16)}`,
    });
    expect(FIXTURE_LINES[(ev?.line ?? 0) - 1]?.trim()).toBe('}, {');
    expect(ev?.startNs).toBe(isoZNs(raw?.values.startTime ?? ''));
    expect(ev?.frames?.slice(0, 2)).toEqual([
      { addr: '', symbol: 'Contention.holdMonitor', dso: '[java]', lineNumber: 40, frameType: 'Interpreted' },
      {
        addr: '',
        symbol: 'Contention.lambda$contend$1',
        dso: '[java]',
        lineNumber: 48,
        frameType: 'Interpreted',
      },
    ]);
  });

  it('reads park, socket, file, sleep, wait events', async () => {
    const items = await parse(FIXTURE);
    const runtime = of(items, 'runtime');
    const park = runtime.find((r) => r.type === 'park');
    expect(park).toMatchObject({
      thread: { tid: 8195, runtimeThreadId: '17', name: 'lock-waiter' },
      objectClass: 'java.util.concurrent.locks.ReentrantLock$NonfairSync',
      address: `0x${(28436656736).toString(16)}`,
      durationNs: 79_900_928n,
    });
    // The "no timeout" sentinel (a huge negative span) is left out.
    expect(park?.timeoutNs).toBeUndefined();
    expect(park?.frames?.[0]).toEqual({
      addr: '',
      symbol: 'jdk.internal.misc.Unsafe.park',
      dso: '[java]',
      frameType: 'Native',
    });
    const read = runtime.find((r) => r.type === 'socket-read');
    expect(read).toMatchObject({
      peer: 'localhost:39027',
      bytes: 4096n,
      durationNs: 52_682_056n,
      thread: { tid: 8153, runtimeThreadId: '1', name: 'main' },
    });
    expect(read?.timeoutNs).toBeUndefined();
    const write = runtime.find((r) => r.type === 'socket-write');
    expect(write?.bytes).toBe(4096n);
    const fw = runtime.find((r) => r.type === 'file-write');
    expect(fw).toMatchObject({ path: '/tmp/contention17763361242786532125.bin', bytes: 65536n });
    const ff = runtime.find((r) => r.type === 'file-force');
    expect(ff?.path).toBe('/tmp/contention17763361242786532125.bin');
    expect(ff?.bytes).toBeUndefined();
    const sleeps = runtime.filter((r) => r.type === 'sleep');
    const rawSleeps = ORACLE.filter((e) => e.type === 'jdk.ThreadSleep');
    expect(sleeps.map((s) => s.durationNs)).toEqual(rawSleeps.map((e) => ptNs(e.values.duration ?? '')));
    expect(sleeps.map((s) => s.timeoutNs)).toEqual(rawSleeps.map((e) => ptNs(e.values['time'] as string)));
    const waits = runtime.filter((r) => r.type === 'monitor-wait');
    expect(waits.length).toBeGreaterThan(0);
    for (const w of waits) expect(w.objectClass).toBeDefined();
    // Every runtime event's start and duration equal the oracle's, in order.
    const rawRuntime = ORACLE.filter((e) =>
      /^jdk\.(ThreadPark|JavaMonitor(Enter|Wait)|ThreadSleep|Socket(Read|Write)|File(Read|Write|Force))$/.test(
        e.type,
      ),
    );
    const mapped = runtime.filter((r) => r.type !== 'thread-start' && r.type !== 'thread-end');
    expect(mapped.map((r) => [r.event, r.startNs, r.durationNs])).toEqual(
      rawRuntime.map((e) => [e.type, isoZNs(e.values.startTime), ptNs(e.values.duration ?? '')]),
    );
  });

  it('reads samples: thread, time, leaf-first frames, state label', async () => {
    const items = await parse(FIXTURE);
    const s = of(items, 'stack-sample')[0] as StackSample;
    expect(s).toMatchObject({
      source: 'jfr',
      event: 'jdk.ExecutionSample',
      pid: null,
      tid: 8153,
      runtimeThreadId: '1',
      threadName: 'main',
      clock: 'realtime',
      timeNs: isoZNs('2026-11-22T00:46:20.637715332Z'),
      weight: 1n,
      weightUnit: 'samples',
      labels: { state: 'STATE_RUNNABLE' },
    });
    expect(s.frames.slice(0, 2).map((f) => [f.symbol, f.lineNumber, f.frameType])).toEqual([
      ['Contention.spin', 31, 'Interpreted'],
      ['Contention.main', 153, 'Interpreted'],
    ]);
    const withPid = await parse(FIXTURE, { pid: 7 });
    expect(of(withPid, 'stack-sample').every((x) => x.pid === 7)).toBe(true);
    // Frame counts equal the oracle's.
    const rawSamples = ORACLE.filter(
      (e) => e.type === 'jdk.ExecutionSample' || e.type === 'jdk.NativeMethodSample',
    );
    expect(of(items, 'stack-sample').map((x) => x.frames.length)).toEqual(
      rawSamples.map((e) => (e.values['stackTrace'] as { frames: unknown[] }).frames.length),
    );
  });

  it('reads thread start/end, GC and safepoints', async () => {
    const items = await parse(FIXTURE);
    const t = of(items, 'thread')[0] as ThreadSighting;
    expect(t).toMatchObject({
      source: 'jfr',
      event: 'start',
      clock: 'realtime',
      timeNs: isoZNs('2026-11-22T00:46:20.630431103Z'),
      tid: 8191,
      runtimeThreadId: '14',
      name: 'Notification Thread',
    });
    const start = of(items, 'runtime').find((r) => r.type === 'thread-start');
    expect(start?.parent).toEqual({ tid: 8153, runtimeThreadId: '1', name: 'main' });
    expect(start?.durationNs).toBe(0n);

    const gcs = of(items, 'gc');
    const full = gcs.find((g) => g.phase === 'G1Full') as GcEvent;
    expect(full).toMatchObject({
      runtime: 'jvm',
      pause: true,
      tid: null,
      clock: 'realtime',
      startNs: isoZNs('2026-11-22T00:46:21.381822080Z'),
      durationNs: 40_723_249n,
      gcId: 1,
      cause: 'System.gc()',
    });
    const phases = gcs.filter((g) => g.phase !== 'G1Full');
    expect(phases.every((g) => g.pause && g.gcId === 1 && g.tid !== null)).toBe(true);
    expect(phases.map((g) => g.phase)).toContain('GC Pause');
    const noLevel1 = await parse(FIXTURE, { phaseLevel1: false });
    expect(of(noLevel1, 'gc').length).toBe(2);

    const sps = of(items, 'safepoint');
    expect(sps.map((s) => s.operation)).toEqual([
      'JFROldObject',
      'ClassLoaderStatsOperation',
      'G1CollectFull',
      'ClassLoaderStatsOperation',
    ]);
    const sp7 = sps[2] as SafepointEvent;
    expect(sp7).toMatchObject({
      runtime: 'jvm',
      clock: 'realtime',
      startNs: isoZNs('2026-11-22T00:46:21.381779413Z'),
      durationNs:
        isoZNs('2026-11-22T00:46:21.422573397Z') + 1_319_958n - isoZNs('2026-11-22T00:46:21.381779413Z'),
      reachingNs: 28_344n,
    });
    // Safepoint 9 began but its end is not in the recording.
    const headers = of(items, 'header');
    expect(headers.find((h: SourceHeader) => h.key === 'jfr.unpaired.jdk.SafepointBegin')?.value).toBe('1');
  });
});

describe('parseJfrJson edge cases', () => {
  const ev = (type: string, values: Record<string, unknown>): string => JSON.stringify({ type, values });
  const doc = (events: string[]): string => `{"recording":{"events":[${events.join(',')}]}}`;
  const sleep = ev('jdk.ThreadSleep', {
    startTime: '2026-01-02T03:04:05.123456789+01:00',
    duration: 'PT0.5S',
    eventThread: { osName: 'w', osThreadId: 42, javaName: 'worker', javaThreadId: 9 },
    time: 'PT0.5S',
  });

  it('reads compact JSON on one line, offsets and big integers exactly', async () => {
    const big = ev('jdk.JavaMonitorEnter', {
      startTime: '2026-01-02T03:04:05Z',
      duration: 'PT0S',
      eventThread: null,
      address: 18446744073709551615n.toString(),
    }).replace('"18446744073709551615"', '18446744073709551615');
    const items = await parse(doc([sleep, big]));
    expect(of(items, 'issue')).toEqual([]);
    const [s, m] = of(items, 'runtime');
    expect(s?.startNs).toBe(isoZNs('2026-01-02T02:04:05.123456789Z'));
    expect(s?.thread).toEqual({ tid: 42, runtimeThreadId: '9', name: 'worker' });
    expect(s?.line).toBe(1);
    expect(m?.address).toBe('0xffffffffffffffff');
    expect(m?.thread).toEqual({ tid: null, runtimeThreadId: null, name: null });
  });

  it('handles an event split across lines, braces and quotes inside strings', async () => {
    const text = [
      '{ "recording" : {',
      '  "other": {"events": [1, 2]},',
      '  "events" : [',
      '    {"type": "jdk.ThreadSleep", "values": {',
      '      "startTime": "2026-01-02T03:04:05Z", "note": "} ] { \\" [",',
      '      "duration": "PT1S"',
      '    }}',
      '    ,',
      '    {"type": "jdk.Unknown",',
      '     "values": {}}',
      '  ]',
      '}}',
    ].join('\n');
    const items = await parse(text);
    expect(of(items, 'issue')).toEqual([]);
    expect(of(items, 'runtime').map((r) => [r.line, r.durationNs])).toEqual([[4, 1_000_000_000n]]);
    expect(of(items, 'header')).toEqual([{ kind: 'header', key: 'jfr.skipped.jdk.Unknown', value: '1' }]);
  });

  it('reports elements that are not events, bad types and bad values', async () => {
    const items = await parse(
      doc([
        '"text"',
        '42',
        '[1]',
        '{"values":{}}',
        '{"type":"jdk.ThreadSleep"}',
        ev('jdk.ThreadSleep', { startTime: 'yesterday', duration: 'PT1S' }),
        ev('jdk.ThreadSleep', { startTime: '2026-01-02T03:04:05', duration: 'PT1S' }),
        ev('jdk.ThreadSleep', { startTime: '2026-13-02T03:04:05Z', duration: 'PT1S' }),
        ev('jdk.ThreadSleep', { startTime: '2026-01-02T03:04:05Z', duration: '1s' }),
        ev('jdk.ThreadSleep', { startTime: '2026-01-02T03:04:05Z', duration: 'PT-1S' }),
        ev('jdk.ExecutionSample', { startTime: 5 }),
        sleep,
      ]),
    );
    const issues = of(items, 'issue');
    expect(issues.map((i) => i.field)).toEqual([
      'event',
      'event',
      'event',
      'type',
      'values',
      'startTime',
      'startTime',
      'startTime',
      'duration',
      'duration',
      'startTime',
    ]);
    expect(issues.every((i) => i.line === 1 && i.reason.length > 0)).toBe(true);
    expect(of(items, 'runtime').length).toBe(1);
  });

  it('skips a huge event with an issue and goes on', async () => {
    const huge = ev('jdk.ThreadSleep', {
      startTime: '2026-01-02T03:04:05Z',
      duration: 'PT1S',
      pad: 'x'.repeat(5000),
    });
    const text = ['{"recording":{"events":[', huge, ',', sleep, ']}}'].join('\n');
    const items = await parse(text, { maxEventChars: 1000 });
    expect(of(items, 'issue')).toEqual([
      { kind: 'issue', line: 2, field: 'event', reason: 'event larger than 1000 characters, skipped' },
    ]);
    expect(of(items, 'runtime').map((r) => r.line)).toEqual([4]);
  });

  it('reports a truncated document and still yields the events before the cut', async () => {
    const cut = FIXTURE.slice(0, Math.floor(FIXTURE.length / 2));
    const items = await parse(cut);
    const issues = of(items, 'issue');
    expect(issues.length).toBe(1);
    expect(issues[0]?.reason).toMatch(/truncated/);
    const complete = EVENT_LINES.filter((l) => l < cut.split('\n').length - 1).length;
    const mapped = items.filter((i) => i.kind !== 'issue' && i.kind !== 'header').length;
    expect(mapped).toBeGreaterThan(complete / 2);
    // Cut between events: the array is not closed.
    const between = await parse('{"recording":{"events":[' + sleep + ',');
    expect(of(between, 'issue').map((i) => i.reason)).toEqual([
      'events array not closed (truncated document)',
    ]);
    expect(of(await parse('{"foo": []}'), 'issue').map((i) => i.field)).toEqual(['recording']);
    expect(of(await parse(''), 'issue').map((i) => i.field)).toEqual(['recording']);
  });

  it('recovers at the next event boundary after a lost brace or quote', async () => {
    const lines = FIXTURE.split('\n');
    const first = EVENT_LINES[10] ?? 0; // 1-based line of an event's `{`
    // Drop a `}` inside event #10 (its `eventThread` object close), and a quote in event #20.
    const closeAt = lines.findIndex((l, i) => i > first && /^ {8}\},? ?$/.test(l));
    lines.splice(closeAt, 1, lines[closeAt]?.replace('}', '') ?? '');
    const q = EVENT_LINES[20] ?? 0; // its "type" line is at 0-based index q
    lines[q] = lines[q]?.replace('"type"', 'type"') ?? '';
    const items = await parse(lines.join('\n'));
    const issues = of(items, 'issue');
    expect(issues.map((i) => i.line)).toEqual([first, q]);
    const mapped = items.filter((i) => i.kind !== 'issue' && i.kind !== 'header').length;
    const all = (await parse(FIXTURE)).filter((i) => i.kind !== 'issue' && i.kind !== 'header').length;
    expect(mapped).toBeGreaterThanOrEqual(all - 4);
  });

  it('recovers after a stray `}` closes an event early', async () => {
    const lines = FIXTURE.split('\n');
    const at = EVENT_LINES[30] ?? 0; // 0-based index of event #30's "type" line
    lines.splice(at + 1, 0, '    }');
    const items = await parse(lines.join('\n'));
    const issues = of(items, 'issue');
    // 1-based: `{` at `at`, "type" at+1, the stray `}` at+2, the orphaned `"values"` at+3.
    expect(issues.map((i) => i.line)).toEqual([at, at + 3]);
    expect(issues[1]?.reason).toBe('unexpected text between events, skipped');
    const mapped = items.filter((i) => i.kind !== 'issue' && i.kind !== 'header').length;
    const all = (await parse(FIXTURE)).filter((i) => i.kind !== 'issue' && i.kind !== 'header').length;
    expect(mapped).toBeGreaterThanOrEqual(all - 2);
    // The last event followed by a lone `}` line and `]` on the next line.
    const tail = FIXTURE.replace(/\n {4}\}\]\n/, '\n    }\n  ]\n');
    expect(tail).not.toBe(FIXTURE);
    expect(of(await parse(tail), 'issue')).toEqual([]);
  });

  it('scanner keeps memory bounded while skipping an oversized event', () => {
    const s = new JfrEventScanner(100);
    const out: ScannedElement[] = [];
    s.feed('{"recording":{"events":[{', 1, out);
    for (let i = 2; i < 2000; i++) s.feed('"k": "' + 'y'.repeat(1000) + '",', i, out);
    s.feed('"z": 1}]}}', 2000, out);
    expect(out).toEqual([{ line: 1, text: null, reason: 'event larger than 100 characters, skipped' }]);
    expect(s.finish(2000)).toEqual([]);
  });
});

describe('sniffJfrJson', () => {
  it('recognises jfr print --json output only', () => {
    expect(sniffJfrJson(FIXTURE.slice(0, 1024))).toBe(true);
    expect(sniffJfrJson('{"recording":{"events":[')).toBe(true);
    expect(sniffJfrJson('{"resourceSpans":[]}')).toBe(false);
    expect(sniffJfrJson('{"recording": 1}')).toBe(false);
    expect(sniffJfrJson('2026-11-21 23:29:08\nFull thread dump')).toBe(false);
  });
});

describe('parseJfrJson fuzz', () => {
  it('never throws, hangs or yields malformed issues', async () => {
    const enc = new TextEncoder();
    const small = ORACLE.slice(0, 40)
      .map((e) => JSON.stringify(e, null, 2))
      .join(', ');
    const seeds = [enc.encode(FIXTURE), enc.encode(`{"recording": {"events": [${small}]}}`)];
    const r = await fuzzParser('jfr-json', seeds, (lines) => parseJfrJson(lines), 'lines', {
      iterations: 300,
      maxMsPerRun: 10_000,
    });
    expect(r.runs).toBe(302);
    expect(r.issues).toBeGreaterThan(0);
  });
});
