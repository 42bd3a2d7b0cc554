import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { GcEvent, GcParsedItem, SafepointEvent } from './gc-common.js';
import {
  parseGoGctrace,
  parseIsoTime,
  parseJvmGcLog,
  parseNodeTraceGc,
  parsePythonGcJsonl,
  sniffGcFormat,
} from './gc.js';

type Parser = (lines: AsyncIterable<string>) => AsyncGenerator<GcParsedItem>;

const MIB = 1024n * 1024n;

function linesOf(text: string): AsyncIterable<string> {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return Readable.from(lines) as AsyncIterable<string>;
}

async function parse(parser: Parser, text: string): Promise<GcParsedItem[]> {
  const out: GcParsedItem[] = [];
  for await (const item of parser(linesOf(text))) out.push(item);
  return out;
}

const gcs = (items: GcParsedItem[]): GcEvent[] => items.filter((i): i is GcEvent => i.kind === 'gc');
const safepoints = (items: GcParsedItem[]): SafepointEvent[] =>
  items.filter((i): i is SafepointEvent => i.kind === 'safepoint');
const issues = (items: GcParsedItem[]) => items.filter((i) => i.kind === 'issue');

const fixture = (rel: string): string =>
  readFileSync(fileURLToPath(new URL(`../../../test/fixtures/captures/${rel}`, import.meta.url)), 'utf8');

/** Epoch ns of a UTC wall time given with ms. */
const utcNs = (y: number, mo: number, d: number, h: number, mi: number, s: number, ms: number): bigint =>
  BigInt(Date.UTC(y, mo - 1, d, h, mi, s, ms)) * 1_000_000n;

describe('parseIsoTime', () => {
  it('reads the JVM time decorator with a colon-less offset', () => {
    expect(parseIsoTime('2026-02-05T05:43:52.074+0200')).toEqual({
      epochNs: utcNs(2026, 2, 5, 3, 43, 52, 74),
      offsetMinutes: 120,
    });
    expect(parseIsoTime('2026-10-07T11:26:39.022204191+03:00')).toEqual({
      epochNs: utcNs(2026, 10, 7, 8, 26, 39, 22) + 204191n,
      offsetMinutes: 180,
    });
    expect(parseIsoTime('2026-10-07T11:26:39-0530')?.offsetMinutes).toBe(-330);
    expect(parseIsoTime('2026-10-07T11:26:39')).toEqual({
      epochNs: utcNs(2026, 10, 7, 11, 26, 39, 0),
      offsetMinutes: undefined,
    });
  });

  it('rejects other shapes', () => {
    for (const s of ['0.333s', '2026-13-01T00:00:00.000+0000', '2026-01-01T00:00:00.000+02', '2026-01-01']) {
      expect(parseIsoTime(s)).toBeNull();
    }
  });
});

describe('parseJvmGcLog: input-formats.md §5.1 samples', () => {
  it('G1 with uptime,level,tags: one pause, detail lines skipped silently', async () => {
    const items = await parse(
      parseJvmGcLog,
      [
        '[0.333s][info][gc,phases   ] GC(8)   Evacuate Collection Set: 8.9ms',
        '[0.333s][info][gc,heap     ] GC(8) Eden regions: 95->0(109)',
        '[0.333s][info][gc,metaspace] GC(8) Metaspace: 7947K(8128K)->7947K(8128K) NonClass: 7215K(7296K)->7215K(7296K) Class: 732K(832K)->732K(832K)',
        '[0.333s][info][gc          ] GC(8) Pause Young (Normal) (G1 Evacuation Pause) 529M->534M(1024M) 10.106ms',
        '[0.333s][info][gc,cpu      ] GC(8) User=0.06s Sys=0.09s Real=0.01s',
      ].join('\n'),
    );
    expect(items).toEqual([
      {
        kind: 'gc',
        line: 4,
        runtime: 'jvm',
        phase: 'Pause Young (Normal)',
        pause: true,
        tid: null,
        clock: 'uptime',
        startNs: 333_000_000n - 10_106_000n,
        durationNs: 10_106_000n,
        gcId: 8,
        heapBeforeBytes: 529n * MIB,
        heapAfterBytes: 534n * MIB,
        heapTotalBytes: 1024n * MIB,
        cause: 'G1 Evacuation Pause',
      },
    ]);
  });

  it('time,uptime,level,tags: realtime epoch ns from the +0200 time decorator; undecorated line is an issue', async () => {
    const items = await parse(
      parseJvmGcLog,
      [
        '[2026-02-05T05:43:52.074+0200][22.113s][info][gc          ] GC(0) Pause Young (Normal) (G1 Evacuation Pause) 22M->19M(256M) 8.657ms',
        'GC(1074) Pause Young (Mixed) (G1 Evacuation Pause) (Evacuation Failure) 766M->766M(1024M) 3.510ms',
      ].join('\n'),
    );
    expect(gcs(items)).toEqual([
      {
        kind: 'gc',
        line: 1,
        runtime: 'jvm',
        phase: 'Pause Young (Normal)',
        pause: true,
        tid: null,
        clock: 'realtime',
        startNs: utcNs(2026, 2, 5, 3, 43, 52, 74) - 8_657_000n,
        durationNs: 8_657_000n,
        gcId: 0,
        heapBeforeBytes: 22n * MIB,
        heapAfterBytes: 19n * MIB,
        heapTotalBytes: 256n * MIB,
        cause: 'G1 Evacuation Pause',
        tzOffsetMinutes: 120,
        uptimeStartNs: 22_113_000_000n - 8_657_000n,
      },
    ]);
    expect(issues(items)).toEqual([
      {
        kind: 'issue',
        line: 2,
        field: 'decorators',
        reason: 'not a JVM unified logging line (no [decorators])',
      },
    ]);
  });

  it('mixed pause kind and several causes', async () => {
    const [ev] = gcs(
      await parse(
        parseJvmGcLog,
        '[1.000s] GC(1074) Pause Young (Mixed) (G1 Evacuation Pause) (Evacuation Failure) 766M->766M(1024M) 3.510ms',
      ),
    );
    expect(ev?.phase).toBe('Pause Young (Mixed)');
    expect(ev?.cause).toBe('G1 Evacuation Pause; Evacuation Failure');
    expect(ev?.startNs).toBe(1_000_000_000n - 3_510_000n);
  });

  it('Parallel GC with padded level, nested parentheses in the cause', async () => {
    const items = await parse(
      parseJvmGcLog,
      [
        '[2026-10-01T01:47:30.438+0000][18037.861s][info ][gc           ] GC(1679) Pause Full (System.gc()) 7438M->2320M(12166M) 7987.687ms',
        '[2026-10-01T01:47:37.677+0000][18045.101s][info ][gc,heap      ] GC(1680) ParOldGen: 2376074K(8388608K)->2376074K(8388608K)',
        '[2026-10-01T01:47:37.677+0000][18045.101s][info ][gc           ] GC(1680) Pause Young (Allocation Failure) 6180M->2368M(12170M) 36.264ms',
      ].join('\n'),
    );
    expect(issues(items)).toEqual([]);
    const [full, young] = gcs(items);
    expect(full).toMatchObject({
      phase: 'Pause Full',
      cause: 'System.gc()',
      gcId: 1679,
      startNs: utcNs(2026, 10, 1, 1, 47, 30, 438) - 7_987_687_000n,
      durationNs: 7_987_687_000n,
      heapBeforeBytes: 7438n * MIB,
      heapAfterBytes: 2320n * MIB,
      heapTotalBytes: 12166n * MIB,
      tzOffsetMinutes: 0,
    });
    expect(young).toMatchObject({
      phase: 'Pause Young',
      cause: 'Allocation Failure',
      line: 3,
      durationNs: 36_264_000n,
    });
  });

  it('generational ZGC: Y: pause is STW, concurrent phase is not, cycle header is skipped', async () => {
    const items = await parse(
      parseJvmGcLog,
      [
        '[2024-04-17T00:42:37.620+0000][25.139s][info][gc          ] GC(0) Major Collection (Metadata GC Threshold)',
        '[2024-04-17T00:42:37.621+0000][25.139s][info][gc,phases   ] GC(0) Y: Pause Mark Start (Major) 0.027ms',
        '[2024-04-17T00:42:37.625+0000][25.143s][debug][gc,phases   ] GC(0) Y: Concurrent Mark Roots 3.985ms',
      ].join('\n'),
    );
    expect(issues(items)).toEqual([]);
    expect(gcs(items).map((e) => [e.line, e.phase, e.pause, e.durationNs, e.startNs])).toEqual([
      [2, 'Y: Pause Mark Start (Major)', true, 27_000n, utcNs(2024, 4, 17, 0, 42, 37, 621) - 27_000n],
      [3, 'Y: Concurrent Mark Roots', false, 3_985_000n, utcNs(2024, 4, 17, 0, 42, 37, 625) - 3_985_000n],
    ]);
  });

  it('tid decorator (constructed from the canonical decorator order); pid then tid', async () => {
    const items = await parse(
      parseJvmGcLog,
      [
        '[2024-04-17T00:42:37.620+0000][25.139s][12345][info][gc          ] GC(0) Pause Young (Normal) (G1 Evacuation Pause) 6M->2M(64M) 6.265ms',
        '[2024-04-17T00:42:37.620+0000][25.139s][999][12346][info][gc          ] GC(1) Pause Remark 6M->6M(64M) 1.000ms',
      ].join('\n'),
    );
    expect(gcs(items).map((e) => [e.tid, e.phase, e.heapTotalBytes])).toEqual([
      [12345, 'Pause Young (Normal)', 64n * MIB],
      [12346, 'Pause Remark', 64n * MIB],
    ]);
  });

  it('utctime + uptimenanos, and timenanos (monotonic) when it disagrees with uptime', async () => {
    const [a] = gcs(
      await parse(
        parseJvmGcLog,
        '[2024-04-17T00:42:37.620+0000][25139000123ns][12345][info][gc] GC(0) Pause Young (Normal) (G1 Evacuation Pause) 6M->2M(64M) 6.265ms',
      ),
    );
    expect(a).toMatchObject({
      clock: 'realtime',
      startNs: utcNs(2024, 4, 17, 0, 42, 37, 620) - 6_265_000n,
      uptimeStartNs: 25_139_000_123n - 6_265_000n,
    });
    const [b] = gcs(
      await parse(
        parseJvmGcLog,
        '[25.139s][987654321000ns][info][gc] GC(0) Pause Cleanup 6M->6M(64M) 0.100ms',
      ),
    );
    expect(b).toMatchObject({
      clock: 'monotonic',
      startNs: 987_654_321_000n - 100_000n,
      uptimeStartNs: 25_139_000_000n - 100_000n,
    });
    const [c] = gcs(
      await parse(parseJvmGcLog, '[1700000000123ms][info][gc] GC(2) Pause Cleanup 6M->6M(64M) 0.100ms'),
    );
    expect(c).toMatchObject({ clock: 'realtime', startNs: 1_700_000_000_123_000_000n - 100_000n });
  });

  it('an end line closes its GC id even when the start line spelled the phase differently', async () => {
    const items = await parse(
      parseJvmGcLog,
      [
        '[1.000s][info][gc,start] GC(4) Pause Young (Prepare Mixed) (G1 Evacuation Pause)',
        '[1.010s][info][gc] GC(4) Pause Young (Mixed) (G1 Evacuation Pause) 9M->3M(64M) 9.000ms',
      ].join('\n'),
    );
    expect(items.map((i) => [i.kind, i.line, i.kind === 'gc' ? i.durationNs : null])).toEqual([
      ['gc', 2, 9_000_000n],
    ]);
  });

  it('a pause started but never finished (file cut) is emitted at end with durationNs null', async () => {
    const items = await parse(
      parseJvmGcLog,
      [
        '[1.000s][7][info][gc,start    ] GC(3) Pause Young (Normal) (G1 Evacuation Pause)',
        '[1.001s][7][info][gc,task     ] GC(3) Using 2 workers of 2 for evacuation',
      ].join('\n'),
    );
    expect(items).toEqual([
      {
        kind: 'gc',
        line: 1,
        runtime: 'jvm',
        phase: 'Pause Young (Normal)',
        pause: true,
        tid: 7,
        clock: 'uptime',
        startNs: 1_000_000_000n,
        durationNs: null,
        gcId: 3,
        cause: 'G1 Evacuation Pause',
      },
    ]);
  });

  it('safepoints: JDK 17+ line and the JDK 9-16 summary line (constructed, VERIFY per JDK)', async () => {
    const items = await parse(
      parseJvmGcLog,
      [
        '[2026-11-21T23:29:06.763+0000][0.212s][1523][info][safepoint   ] Safepoint "G1CollectForAllocation", Time since last: 176229684 ns, Reaching safepoint: 101742 ns, Cleanup: 49394 ns, At safepoint: 5819550 ns, Total: 5970686 ns',
        '[10.500s][info][safepoint] Total time for which application threads were stopped: 0.0012345 seconds, Stopping threads took: 0.0000123 seconds',
      ].join('\n'),
    );
    expect(items).toEqual([
      {
        kind: 'safepoint',
        line: 1,
        runtime: 'jvm',
        operation: 'G1CollectForAllocation',
        tid: 1523,
        clock: 'realtime',
        startNs: utcNs(2026, 11, 21, 23, 29, 6, 763) - 5_970_686n,
        durationNs: 5_970_686n,
        reachingNs: 101_742n,
        cleanupNs: 49_394n,
        atSafepointNs: 5_819_550n,
        tzOffsetMinutes: 0,
        uptimeStartNs: 212_000_000n - 5_970_686n,
      },
      {
        kind: 'safepoint',
        line: 2,
        runtime: 'jvm',
        operation: null,
        tid: null,
        clock: 'uptime',
        startNs: 10_500_000_000n - 1_234_500n,
        durationNs: 1_234_500n,
        reachingNs: 12_300n,
      },
    ]);
  });

  it('reports event lines it cannot read and GC lines without any time decorator', async () => {
    const items = await parse(
      parseJvmGcLog,
      [
        '[1.0s][gc] GC(1) Pause Young (Normal (G1 Evacuation Pause) 6M->2M(64M) 1.0ms',
        '[1.0s][gc] GC(1) Pause Young (Normal) 6X->2M(64M) 1.0ms',
        '[info][gc] GC(1) Pause Young (Normal) 6M->2M(64M) 1.0ms',
        '[1.0s][safepoint] Safepoint "X", Reaching safepoint: 1 ns',
      ].join('\n'),
    );
    expect(items.map((i) => [i.kind, i.line, i.kind === 'issue' ? i.field : null])).toEqual([
      ['issue', 1, 'gc'],
      ['issue', 2, 'gc'],
      ['issue', 3, 'decorators'],
      ['issue', 4, 'safepoint'],
    ]);
  });
});

describe('parseJvmGcLog: real JDK 17 G1 capture', () => {
  it('finds every pause with its tid, duration and exact start', async () => {
    const items = await parse(parseJvmGcLog, fixture('java/gc/gc.log'));
    expect(issues(items)).toEqual([]);
    const events = gcs(items);
    const pauses = events.filter((e) => e.pause);
    expect(pauses).toHaveLength(52);
    expect(pauses.filter((e) => e.phase === 'Pause Young (Normal)')).toHaveLength(46);
    expect(pauses.filter((e) => e.phase === 'Pause Young (Concurrent Start)')).toHaveLength(3);
    expect(pauses.filter((e) => e.phase === 'Pause Full')).toHaveLength(3);
    expect(new Set(pauses.map((e) => e.gcId)).size).toBe(52);
    for (const p of pauses) {
      expect(p.tid).toBe(1523);
      expect(p.clock).toBe('realtime');
      expect(p.durationNs).not.toBeNull();
      expect(p.durationNs! > 0n).toBe(true);
      expect(p.heapTotalBytes).toBe(64n * MIB);
    }
    expect(events.filter((e) => !e.pause)).toHaveLength(12);
    expect(safepoints(items)).toHaveLength(64);
    expect(pauses[0]).toEqual({
      kind: 'gc',
      line: 33,
      runtime: 'jvm',
      phase: 'Pause Young (Normal)',
      pause: true,
      tid: 1523,
      clock: 'realtime',
      startNs: utcNs(2026, 11, 21, 23, 29, 6, 763) - 5_759_000n,
      durationNs: 5_759_000n,
      gcId: 0,
      heapBeforeBytes: 6n * MIB,
      heapAfterBytes: 2n * MIB,
      heapTotalBytes: 64n * MIB,
      cause: 'G1 Evacuation Pause',
      tzOffsetMinutes: 0,
      uptimeStartNs: 212_000_000n - 5_759_000n,
    });
    expect(pauses.find((e) => e.line === 346)).toMatchObject({
      phase: 'Pause Full',
      gcId: 19,
      cause: 'G1 Compaction Pause',
      startNs: 1_795_303_750_329_629_000n,
      durationNs: 41_371_000n,
      uptimeStartNs: 3_777_629_000n,
    });
  });
});

describe('parseNodeTraceGc', () => {
  const one = async (line: string): Promise<GcEvent | undefined> =>
    gcs(await parse(parseNodeTraceGc, line))[0];

  it('new V8 layout (2-decimal pause, trailing ;) from the reference', async () => {
    expect(
      await one(
        '[71341:0x572ac40]    11385 ms: Scavenge (reduce) 2047.4 (2081.0) -> 2047.3 (2081.8) MB, 2.07 / 0.00 ms  (average mu = 0.215, current mu = 0.107) allocation failure;',
      ),
    ).toEqual({
      kind: 'gc',
      line: 1,
      runtime: 'node',
      phase: 'Scavenge',
      pause: true,
      tid: 71341,
      clock: 'process-start',
      startNs: 11_385_000_000n - 2_070_000n,
      durationNs: 2_070_000n,
      heapBeforeBytes: (20474n * MIB) / 10n,
      heapAfterBytes: (20473n * MIB) / 10n,
      heapTotalBytes: (20818n * MIB) / 10n,
      cause: 'allocation failure',
      pid: 71341,
      isolate: '0x572ac40',
    });
    expect(
      await one(
        '[51480:0x158008000]  1596196 ms: Mark-Compact (reduce) 15966.6 (16431.8) -> 15949.1 (16431.8) MB, 8691.12 / 1.33 ms  (average mu = 0.172, current mu = 0.200) allocation failure; scavenge might not succeed',
      ),
    ).toMatchObject({
      phase: 'Mark-Compact',
      startNs: 1_596_196_000_000n - 8_691_120_000n,
      durationNs: 8_691_120_000n,
      cause: 'allocation failure; scavenge might not succeed',
    });
  });

  it('old V8 layout (1-decimal pause, Mark-sweep, line cut inside the mu group)', async () => {
    expect(
      await one(
        '[88809:0x130008000]    23137 ms: Scavenge (reduce) 4085.6 (4094.2) -> 4085.6 (4094.2) MB, 1.6 / 0.0 ms  (average mu = 0.855, current mu = 0.691) allocation failure',
      ),
    ).toMatchObject({ startNs: 23_135_400_000n, durationNs: 1_600_000n, cause: 'allocation failure' });
    const ms = await one(
      '[2095:0x62c1840]    23947 ms: Mark-sweep (reduce) 2047.6 (2083.8) -> 2047.5 (2084.5) MB, 786.2 / 0.0 ms  (+ 309.4 ms in 98 steps since start of marking, biggest step 14.6 ms, walltime since start of marking 1154 ms) (average mu = 0.221, current mu = 0.085',
    );
    expect(ms).toMatchObject({
      phase: 'Mark-sweep',
      startNs: 23_160_800_000n,
      durationNs: 786_200_000n,
      tid: 2095,
    });
    expect(ms?.cause).toBeUndefined();
  });

  it('tid = pid only for the first isolate; app output and non-GC trace lines are skipped', async () => {
    const items = await parse(
      parseNodeTraceGc,
      [
        'listening on :3000',
        '[10:0xaaa]       40 ms: Scavenge 4.9 (5.0) -> 4.3 (6.0) MB, 0.97 / 0.00 ms  (average mu = 1.000, current mu = 1.000) allocation failure; ',
        '[10:0xbbb]       41 ms: Scavenge 4.9 (5.0) -> 4.3 (6.0) MB, 0.50 / 0.00 ms  (average mu = 1.000, current mu = 1.000) task; ',
        '[10:0xaaa]       45 ms: Memory reducer: started GC #1',
        '[10:0xaaa]       50 ms: Scavenge 4.9 (5.0) -> 4.3 MB, 0.50 / 0.00 ms',
      ].join('\n'),
    );
    expect(
      items.map((i) => (i.kind === 'gc' ? [i.line, i.tid, i.isolate, i.cause] : [i.kind, i.line])),
    ).toEqual([
      [2, 10, '0xaaa', 'allocation failure'],
      [3, null, '0xbbb', 'task'],
      ['issue', 5],
    ]);
  });

  it('real capture: every line a pause on the main thread, exact times', async () => {
    const text = fixture('node/gc/trace-gc.log');
    const items = await parse(parseNodeTraceGc, text);
    expect(issues(items)).toEqual([]);
    const events = gcs(items);
    // Expected values are read from the recorded lines' text.
    const lines = text.split('\n').filter((l) => l.trim() !== '');
    const shape = (line: string) =>
      /^\[(\d+):0x[0-9a-f]+\]\s+(\d+) ms: (Scavenge|Mark-Compact) (\d+\.\d) \([\d.]+\) -> [\d.]+ \((\d+\.\d)\) MB, (\d+)\.(\d\d) /.exec(
        line,
      )!;
    expect(events).toHaveLength(lines.length);
    expect(events.filter((e) => e.phase === 'Mark-Compact')).toHaveLength(
      lines.filter((l) => l.includes(' Mark-Compact ')).length,
    );
    expect(events.filter((e) => e.phase === 'Mark-Compact').length).toBeGreaterThan(0);
    const pid = Number(shape(lines[0]!)[1]);
    for (const e of events) {
      expect(e).toMatchObject({ pause: true, tid: pid, pid, clock: 'process-start' });
      expect(e.durationNs! >= 0n).toBe(true);
    }
    // The time printed is the end of the pause; the start is that minus its duration.
    const ms = (whole: string, frac: string) => BigInt(whole) * 1_000_000n + BigInt(frac) * 10_000n;
    const tenths = (mb: string) => BigInt(mb.replace('.', ''));
    const first = shape(lines[0]!);
    const firstDur = ms(first[6]!, first[7]!);
    expect(events[0]).toMatchObject({
      line: 1,
      phase: first[3],
      startNs: BigInt(first[2]!) * 1_000_000n - firstDur,
      durationNs: firstDur,
      heapBeforeBytes: (tenths(first[4]!) * MIB) / 10n,
      heapTotalBytes: (tenths(first[5]!) * MIB) / 10n,
    });
    const mcLine = lines.findIndex((l) => l.includes(' Mark-Compact ')) + 1;
    const mc = shape(lines[mcLine - 1]!);
    const mcDur = ms(mc[6]!, mc[7]!);
    expect(events.find((e) => e.line === mcLine)).toMatchObject({
      phase: 'Mark-Compact',
      startNs: BigInt(mc[2]!) * 1_000_000n - mcDur,
      durationNs: mcDur,
      cause: 'finalize incremental marking via stack guard; GC in old space requested',
    });
  });
});

describe('parseGoGctrace', () => {
  it('splits a line into STW / concurrent / STW phases from the GC start (reference lines)', async () => {
    const items = await parse(
      parseGoGctrace,
      [
        'gc 1 @0.008s 0%: 0.016+0.25+0.005 ms clock, 0.13+0/0.17/0.033+0.041 ms cpu, 256->256->256 MB, 257 MB goal, 8 P (forced)',
        'hello from the program',
        'gc 3 @0.012s 1%: 0.014+0.073+0.003 ms clock, 0.11+0/0.096/0.049+0.025 ms cpu, 256->256->0 MB, 512 MB goal, 8 P (forced)',
        'gc 4 @12.5s 1%: 0.014+0.073+0.003 ms clock, 0.11+0/0.096/0.049+0.025 ms cpu, 4->4->1 MB, 5 MB goal, 0 MB stacks, 0 MB globals, 8 P',
        'gc 5 @x 1%: garbage',
      ].join('\n'),
    );
    const ev = gcs(items);
    expect(ev.slice(0, 3).map((e) => [e.phase, e.pause, e.startNs, e.durationNs])).toEqual([
      ['sweep termination', true, 8_000_000n, 16_000n],
      // `(forced)` is runtime.GC(): the mark phase still runs concurrently (runtime/mgc.go).
      ['mark and scan', false, 8_016_000n, 250_000n],
      ['mark termination', true, 8_266_000n, 5_000n],
    ]);
    expect(ev[2]).toMatchObject({
      gcId: 1,
      tid: null,
      clock: 'process-start',
      cause: 'forced',
      heapAfterBytes: 256n * MIB,
    });
    expect(ev[3]?.line).toBe(3);
    expect(ev.slice(6).map((e) => [e.pause, e.startNs])).toEqual([
      [true, 12_500_000_000n],
      [false, 12_500_014_000n],
      [true, 12_500_087_000n],
    ]);
    expect(ev[8]).toMatchObject({ heapBeforeBytes: 4n * MIB, heapAfterBytes: 4n * MIB });
    expect(ev[8]?.cause).toBeUndefined();
    expect(issues(items)).toEqual([
      { kind: 'issue', line: 5, field: 'time', reason: "unreadable start '@x'" },
    ]);
  });
});

describe('parsePythonGcJsonl', () => {
  it('pairs start/stop per tid into one realtime pause (reference server.py lines)', async () => {
    const [startLine, stopLine] = fixture('python/gc/gc.jsonl').split('\n') as [string, string];
    // Expected values come from the recorded lines themselves, read as exact integers.
    const int = (line: string, key: string): bigint => BigInt(new RegExp(`"${key}":(\\d+)`).exec(line)![1]!);
    const str = (line: string, key: string): string => new RegExp(`"${key}":"([^"]*)"`).exec(line)![1]!;
    const items = await parse(parsePythonGcJsonl, `${startLine}\n${stopLine}`);
    expect(items).toEqual([
      {
        kind: 'gc',
        line: 2,
        runtime: 'python',
        phase: `gen${int(startLine, 'generation')}`,
        pause: true,
        tid: Number(int(startLine, 'tid')),
        clock: 'realtime',
        startNs: int(startLine, 'epochNs'),
        durationNs: int(stopLine, 'monotonicNs') - int(startLine, 'monotonicNs'),
        monotonicStartNs: int(startLine, 'monotonicNs'),
        threadName: str(startLine, 'thread'),
        collected: Number(int(stopLine, 'collected')),
        uncollectable: Number(int(stopLine, 'uncollectable')),
      },
    ]);
  });

  it('interleaved tids, orphan stop with durationNs, errors, unfinished start', async () => {
    const line = (o: string) => o;
    const items = await parse(
      parsePythonGcJsonl,
      [
        line(
          '{"phase":"start","generation":1,"epochNs":1000000000000000001,"monotonicNs":500,"tid":1,"thread":"a"}',
        ),
        line(
          '{"phase":"start","generation":0,"epochNs":1000000000000000002,"monotonicNs":501,"tid":2,"thread":"b"}',
        ),
        line(
          '{"phase":"stop","generation":0,"epochNs":1000000000000000010,"monotonicNs":509,"tid":2,"collected":3,"uncollectable":0}',
        ),
        line(
          '{"phase":"stop","generation":1,"epochNs":1000000000000000020,"monotonicNs":520,"tid":1,"collected":1,"uncollectable":2}',
        ),
        line(
          '{"phase":"stop","generation":2,"epochNs":1000000000000000100,"monotonicNs":600,"tid":3,"durationNs":40}',
        ),
        line('{"phase":"stop","generation":2,"epochNs":1000000000000000100,"monotonicNs":600,"tid":3}'),
        'not json',
        '{"phase":"start","generation":0,"epochNs":1.5e18,"monotonicNs":1,"tid":4}',
        '{"phase":"start","generation":2,"epochNs":"1000000000000000200","monotonicNs":700,"tid":5}',
      ].join('\n'),
    );
    expect(
      gcs(items).map((e) => [e.line, e.tid, e.phase, e.startNs, e.durationNs, e.monotonicStartNs]),
    ).toEqual([
      [3, 2, 'gen0', 1_000_000_000_000_000_002n, 8n, 501n],
      [4, 1, 'gen1', 1_000_000_000_000_000_001n, 20n, 500n],
      [5, 3, 'gen2', 1_000_000_000_000_000_060n, 40n, 560n],
      [9, 5, 'gen2', 1_000_000_000_000_000_200n, null, 700n],
    ]);
    expect(issues(items).map((i) => [i.line, i.field])).toEqual([
      [6, 'phase'],
      [7, 'json'],
      [8, 'epochNs'],
    ]);
  });

  it('real capture: every start paired, durations equal the writer’s durationNs exactly', async () => {
    const text = fixture('python/gc/gc.jsonl');
    const items = await parse(parsePythonGcJsonl, text);
    expect(issues(items)).toEqual([]);
    const events = gcs(items);
    expect(events).toHaveLength(2547);
    expect(events.filter((e) => e.phase === 'gen2')).toHaveLength(19);
    const raw = text.split('\n');
    for (const e of events) {
      expect(e.pause).toBe(true);
      expect(e.clock).toBe('realtime');
      const stop = raw[e.line - 1] ?? '';
      const m = /"durationNs":(\d+)/.exec(stop);
      expect(m).not.toBeNull();
      expect(e.durationNs).toBe(BigInt(m![1]!));
      const tid = /"tid":(\d+)/.exec(stop);
      expect(e.tid).toBe(Number(tid![1]));
    }
  });
});

describe('sniffGcFormat', () => {
  it('names each format from its first text', () => {
    expect(sniffGcFormat(fixture('java/gc/gc.log').slice(0, 4096))).toBe('jvm-unified');
    expect(sniffGcFormat(fixture('node/gc/trace-gc.log').slice(0, 4096))).toBe('node-trace-gc');
    expect(sniffGcFormat(fixture('python/gc/gc.jsonl').slice(0, 4096))).toBe('python-gc-jsonl');
    expect(
      sniffGcFormat(
        'starting\ngc 1 @0.008s 0%: 0.016+0.25+0.005 ms clock, 0.13+0/0.17/0.033+0.041 ms cpu, 256->256->256 MB, 257 MB goal, 8 P (forced)\n',
      ),
    ).toBe('go-gctrace');
    expect(
      sniffGcFormat('[0.333s] GC(8) Pause Young (Normal) (G1 Evacuation Pause) 529M->534M(1024M) 10.106ms\n'),
    ).toBe('jvm-unified');
  });

  it('returns null for other text', () => {
    expect(sniffGcFormat('')).toBeNull();
    expect(sniffGcFormat('[2026-01-01 00:00:00] INFO hello\n{"level":30}\n')).toBeNull();
    expect(sniffGcFormat('simple-terminat     9 [000] 202513.231785:    1001001 cpu-clock: \n')).toBeNull();
  });
});

describe('robustness', () => {
  it('never throws on mutated real lines (bounded fuzz)', async () => {
    const seedLines = [
      ...fixture('java/gc/gc.log').split('\n').slice(0, 120),
      ...fixture('node/gc/trace-gc.log').split('\n').slice(25, 40),
      ...fixture('python/gc/gc.jsonl').split('\n').slice(0, 20),
      'gc 1 @0.008s 0%: 0.016+0.25+0.005 ms clock, 0.13+0/0.17/0.033+0.041 ms cpu, 256->256->256 MB, 257 MB goal, 8 P (forced)',
      '[10.500s][info][safepoint] Total time for which application threads were stopped: 0.0012345 seconds, Stopping threads took: 0.0000123 seconds',
    ].filter((l) => l.length > 0);
    const alphabet = '[]()->:;.,"{} 0123456789msGCPauseYO%+-/\\@\t\u00e9';
    let state = 12345;
    const rand = (n: number): number => {
      state = (state * 1103515245 + 12345) & 0x7fffffff;
      return state % n;
    };
    const mutate = (s: string): string => {
      const at = rand(s.length + 1);
      switch (rand(5)) {
        case 0:
          return s.slice(0, at);
        case 1:
          return s.slice(0, at) + alphabet[rand(alphabet.length)]! + s.slice(at);
        case 2:
          return s.slice(0, at) + s.slice(at + 1 + rand(4));
        case 3:
          return s.slice(0, at) + s.slice(rand(s.length));
        default:
          return s.slice(at) + s.slice(0, at);
      }
    };
    const parsers: Parser[] = [parseJvmGcLog, parseNodeTraceGc, parsePythonGcJsonl, parseGoGctrace];
    for (let round = 0; round < 40; round++) {
      const batch: string[] = [];
      for (let k = 0; k < 100; k++) {
        let s = seedLines[rand(seedLines.length)]!;
        for (let m = 1 + rand(3); m > 0; m--) s = mutate(s);
        batch.push(s);
      }
      const text = batch.join('\n');
      for (const p of parsers) {
        const items = await parse(p, text);
        for (const i of items) {
          expect(['gc', 'safepoint', 'issue']).toContain(i.kind);
          if (i.kind !== 'issue') expect(i.durationNs === null || i.durationNs >= 0n).toBe(true);
        }
      }
      expect(sniffGcFormat(text) === null || typeof sniffGcFormat(text) === 'string').toBe(true);
    }
  });
});
