import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { GcEvent, GcParsedItem, ParseIssue } from '@threadreel/model';
import { detectFormat } from './formats.js';
import { parsePythonGcJsonl } from './gc-python.js';
import { sniffGcFormat } from './gc.js';
import { fuzzParser } from './testing/fuzz.js';

/**
 * gc.callbacks JSON lines recorded here from seven real hooks of one Python 3.11 process
 * (test/fixtures/formats/python-gc: gc_hooks.py, README.md). Every hook saw every collection, so
 * the files hold the same collections in the same order. Expected values are read from the raw
 * lines with regexes (numbers as the text Python printed), never from the parser.
 */

const DIR = new URL('../../../test/fixtures/formats/python-gc/', import.meta.url);
const text = (f: string): string => readFileSync(new URL(f, DIR), 'utf8');
const rawLines = (t: string): string[] => t.split('\n').filter((l) => l.length > 0);

function feed(t: string): AsyncIterable<string> {
  const lines = t.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return Readable.from(lines) as AsyncIterable<string>;
}

async function parse(t: string): Promise<GcParsedItem[]> {
  const out: GcParsedItem[] = [];
  for await (const x of parsePythonGcJsonl(feed(t))) out.push(x);
  return out;
}

const gcs = (items: readonly GcParsedItem[]): GcEvent[] => items.filter((i): i is GcEvent => i.kind === 'gc');
const issues = (items: readonly GcParsedItem[]): ParseIssue[] =>
  items.filter((i): i is ParseIssue => i.kind === 'issue');

/** The raw text of a field as Python printed it (`123`, `1.5e-05`, `null`, `"name"`), or undefined. */
function raw(line: string, key: string): string | undefined {
  return new RegExp(`"${key}": ?(null|"[^"]*"|-?[0-9][0-9.eE+-]*)`).exec(line)?.[1];
}

function must(line: string, key: string): string {
  const v = raw(line, key);
  if (v === undefined) throw new Error(`no ${key} in ${line}`);
  return v;
}

/** Decimal seconds as printed (`547.160780178`, `7.9913e-05`) → ns, exactly, truncated. */
function secondsNs(t: string): bigint {
  const m = /^(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(t);
  if (m === null) throw new Error(`not seconds: ${t}`);
  const frac = m[2] ?? '';
  const pow = Number(m[3] ?? '0') - frac.length + 9;
  const digits = BigInt((m[1] ?? '') + frac);
  return pow >= 0 ? digits * 10n ** BigInt(pow) : digits / 10n ** BigInt(-pow);
}

const opt = (v: string | undefined): number | undefined =>
  v === undefined || v === 'null' ? undefined : Number(v);

interface Layout {
  readonly file: string;
  readonly phase: 'phase' | null;
  readonly gen: string;
  /** The time key and how to read it. */
  readonly time: string;
  readonly seconds: boolean;
  readonly clock: 'realtime' | 'monotonic';
  /** The key holding the native tid, or null (only a Python ident, which is not one). */
  readonly tid: string | null;
  /** The pairing key when it is not the tid. */
  readonly pairKey: string;
  readonly name: string | null;
  /** One-line records: the duration key; whether the time is the start (else the end). */
  readonly duration?: string;
  readonly timeIsStart?: boolean;
  readonly pid: boolean;
}

const LAYOUTS: readonly Layout[] = [
  {
    file: 'start-stop-ts_ns-tid.jsonl',
    phase: 'phase',
    gen: 'generation',
    time: 'ts_ns',
    seconds: false,
    clock: 'realtime',
    tid: 'tid',
    pairKey: 'tid',
    name: null,
    pid: false,
  },
  {
    file: 'begin-end-t_ns-native_id.jsonl',
    phase: 'phase',
    gen: 'gen',
    time: 't_ns',
    seconds: false,
    clock: 'monotonic',
    tid: 'native_id',
    pairKey: 'native_id',
    name: null,
    pid: true,
  },
  {
    file: 'start-stop-ts-seconds-thread_id.jsonl',
    phase: 'phase',
    gen: 'generation',
    time: 'ts',
    seconds: true,
    clock: 'monotonic',
    tid: 'thread_id',
    pairKey: 'thread_id',
    name: 'thread',
    pid: false,
  },
  {
    file: 'start-stop-timestamp-ident.jsonl',
    phase: 'phase',
    gen: 'generation',
    time: 'timestamp',
    seconds: true,
    clock: 'realtime',
    tid: null,
    pairKey: 'thread',
    name: null,
    pid: false,
  },
  {
    file: 'nested-info-time_ns.jsonl',
    phase: 'phase',
    gen: 'generation',
    time: 'time_ns',
    seconds: false,
    clock: 'realtime',
    tid: 'native_id',
    pairKey: 'native_id',
    name: null,
    pid: false,
  },
  {
    file: 'one-line-start-duration.jsonl',
    phase: null,
    gen: 'gen',
    time: 'start',
    seconds: true,
    clock: 'monotonic',
    tid: 'tid',
    pairKey: 'tid',
    name: null,
    duration: 'duration',
    timeIsStart: true,
    pid: true,
  },
  {
    file: 'one-line-time-elapsed-ident.jsonl',
    phase: null,
    gen: 'generation',
    time: 'time',
    seconds: true,
    clock: 'realtime',
    tid: null,
    pairKey: 'thread',
    name: 'thread_name',
    duration: 'elapsed',
    timeIsStart: false,
    pid: false,
  },
];

/** The events a layout's raw lines describe, built with regexes and string arithmetic only. */
function expected(l: Layout, t: string): Omit<GcEvent, 'kind' | 'runtime' | 'pause'>[] {
  const lines = rawLines(t);
  const ns = (line: string): bigint =>
    l.seconds ? secondsNs(must(line, l.time)) : BigInt(must(line, l.time));
  const out: Omit<GcEvent, 'kind' | 'runtime' | 'pause'>[] = [];
  const open = new Map<string, { line: string }>();
  lines.forEach((line, i) => {
    const base = (start: bigint, duration: bigint, first: string) => {
      const name = l.name === null ? undefined : raw(first, l.name)?.slice(1, -1);
      const pid = l.pid ? opt(raw(line, 'pid')) : undefined;
      const collected = opt(raw(line, 'collected'));
      const uncollectable = opt(raw(line, 'uncollectable'));
      out.push({
        line: i + 1,
        phase: `gen${must(line, l.gen)}`,
        tid: l.tid === null ? null : Number(must(line, l.tid)),
        clock: l.clock,
        startNs: start,
        durationNs: duration,
        ...(pid === undefined ? {} : { pid }),
        ...(name === undefined ? {} : { threadName: name }),
        ...(collected === undefined ? {} : { collected }),
        ...(uncollectable === undefined ? {} : { uncollectable }),
      });
    };
    if (l.duration !== undefined) {
      const d = secondsNs(must(line, l.duration));
      base(l.timeIsStart === true ? ns(line) : ns(line) - d, d, line);
      return;
    }
    const key = must(line, l.pairKey);
    const phase = must(line, 'phase');
    if (phase === '"start"' || phase === '"begin"') open.set(key, { line });
    else {
      const s = open.get(key);
      if (s === undefined) throw new Error(`stop without start at ${i + 1}`);
      open.delete(key);
      base(ns(s.line), ns(line) - ns(s.line), s.line);
    }
  });
  return out;
}

describe('Python gc.callbacks layouts recorded from real hooks (test/fixtures/formats/python-gc)', () => {
  for (const l of LAYOUTS) {
    it(`${l.file}: detected, every collection paired, times/clock/thread exactly as printed`, async () => {
      const t = text(l.file);
      expect(detectFormat(Buffer.from(t), 'upload')?.format).toBe('python-gc-jsonl');
      expect(sniffGcFormat(t.slice(0, 4096))).toBe('python-gc-jsonl');
      const items = await parse(t);
      expect(issues(items)).toEqual([]);
      const events = gcs(items);
      const want = expected(l, t);
      expect(events).toHaveLength(want.length);
      events.forEach((e, k) => expect(e).toEqual({ kind: 'gc', runtime: 'python', pause: true, ...want[k] }));
    });
  }

  it('all seven hooks saw the same collections: same count, generations and (native) tids', async () => {
    const all = await Promise.all(LAYOUTS.map(async (l) => gcs(await parse(text(l.file)))));
    const [first] = all;
    expect(first?.length).toBeGreaterThan(200);
    for (const events of all) {
      expect(events.map((e) => e.phase)).toEqual(first?.map((e) => e.phase));
      expect(events.some((e) => e.phase === 'gen2')).toBe(true);
    }
    const tids = (k: number) => all[k]?.map((e) => e.tid);
    for (const k of [1, 2, 4, 5]) expect(tids(k), LAYOUTS[k]?.file).toEqual(tids(0));
    expect(new Set(tids(0)).size).toBe(2); // main thread and churn-worker
    // get_ident() values are no tids.
    expect(all[3]?.every((e) => e.tid === null)).toBe(true);
    expect(all[6]?.every((e) => e.tid === null)).toBe(true);
  });

  it('epoch and monotonic starts of the same collections differ by one offset (clocks told apart right)', async () => {
    const epoch = gcs(await parse(text('start-stop-ts_ns-tid.jsonl')));
    const mono = gcs(await parse(text('begin-end-t_ns-native_id.jsonl')));
    const offsets = epoch
      .map((e, k) => e.startNs - (mono[k]?.startNs ?? 0n))
      .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    expect(offsets[0]).toBeGreaterThan(10n ** 18n);
    // Two hooks read their clocks a few µs apart (more when the thread was preempted between
    // them): nearly every offset is within 1 ms of the median, none 1 s away.
    const median = offsets[offsets.length >> 1] ?? 0n;
    const near = offsets.filter((o) => (o > median ? o - median : median - o) < 1_000_000n).length;
    expect(near / offsets.length).toBeGreaterThan(0.9);
    expect((offsets.at(-1) ?? 0n) - (offsets[0] ?? 0n)).toBeLessThan(1_000_000_000n);
  });
});

describe('parsePythonGcJsonl field checks', () => {
  it('names the bad field; good lines around them stay', async () => {
    const lines = [
      '{"phase": "start", "gen": 0, "ts_ns": 1795297024121784493, "tid": 7}',
      '{"phase": "stop", "gen": 0, "ts_ns": 1795297024121934161, "tid": 7, "collected": 3}',
      '{"phase": "middle", "gen": 0, "ts": 1.5, "tid": 7}',
      '{"phase": "start", "ts": 1.5, "tid": 7}',
      '{"phase": "start", "gen": 0, "tid": 7}',
      '{"phase": "start", "gen": 0, "ts_ns": 1.5, "tid": 7}',
      '{"gen": 1, "ts": 5.0, "tid": 7}',
      '{"gen": 1, "ts": 5.0, "duration": "soon", "tid": 7}',
      '{"gen": 1, "time": "1700000000.25", "elapsed_ms": 2.5, "thread": 140234567890}',
    ];
    const items = await parse(lines.join('\n'));
    expect(issues(items).map((i) => [i.line, i.field])).toEqual([
      [3, 'phase'],
      [4, 'generation'],
      [5, 'time'],
      [6, 'ts_ns'],
      [7, 'phase'],
      [8, 'duration'],
    ]);
    expect(gcs(items).map((e) => [e.line, e.tid, e.clock, e.startNs, e.durationNs, e.collected])).toEqual([
      [2, 7, 'realtime', 1_795_297_024_121_784_493n, 149_668n, 3],
      [9, null, 'realtime', 1_700_000_000_247_500_000n, 2_500_000n, undefined],
    ]);
  });

  it('a thread key pairs even when it is no tid; small integer times are monotonic ns', async () => {
    const items = await parse(
      [
        '{"phase": "begin", "generation": 2, "t_ns": 1000, "thread": 139975889274560}',
        '{"phase": "begin", "generation": 0, "t_ns": 1100, "thread": 139975892205632}',
        '{"phase": "end", "generation": 2, "t_ns": 5000, "thread": 139975889274560}',
        '{"phase": "end", "generation": 0, "t_ns": 1300, "thread": 139975892205632}',
      ].join('\n'),
    );
    expect(issues(items)).toEqual([]);
    expect(gcs(items).map((e) => [e.line, e.tid, e.clock, e.startNs, e.durationNs])).toEqual([
      [3, null, 'monotonic', 1000n, 4000n],
      [4, null, 'monotonic', 1100n, 200n],
    ]);
  });
});

describe('parsePythonGcJsonl fuzz', () => {
  it('never throws, hangs or yields malformed issues', async () => {
    const enc = new TextEncoder();
    const seeds = LAYOUTS.map((l) => enc.encode(rawLines(text(l.file)).slice(0, 40).join('\n')));
    const r = await fuzzParser('python-gc-jsonl', seeds, (lines) => parsePythonGcJsonl(lines), 'lines', {
      iterations: 300,
    });
    expect(r.runs).toBe(300 + seeds.length);
  });
});
