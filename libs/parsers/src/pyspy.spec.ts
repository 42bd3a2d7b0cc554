import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import type { ParseIssue, SourceHeader, StackSample } from '@threadreel/model';
import { describe, expect, it } from 'vitest';
import { readLines } from './lines.js';
import {
  decimalToScaled,
  parsePyspyChromeTrace,
  parsePyspySpeedscope,
  sniffPyspy,
  type ParsePyspyOptions,
  type PyspyItem,
} from './pyspy.js';
import { fuzzParser } from './testing/fuzz.js';

const FIXTURES = new URL('../../../test/fixtures/formats/py-spy/', import.meta.url);
const fixtureText = (name: string): string =>
  gunzipSync(readFileSync(new URL(name, FIXTURES))).toString('utf8');
const SPEEDSCOPE = fixtureText('speedscope.json.gz');
const CHROME = fixtureText('chrometrace.json.gz');

type Parser = (lines: AsyncIterable<string>, options?: ParsePyspyOptions) => AsyncIterable<PyspyItem>;

// eslint-disable-next-line @typescript-eslint/require-await -- an async byte source
async function* bytesOf(text: string): AsyncGenerator<Uint8Array> {
  yield new TextEncoder().encode(text);
}

async function* linesOf(text: string): AsyncGenerator<string> {
  yield* readLines(bytesOf(text));
}

async function parse(parser: Parser, text: string, options?: ParsePyspyOptions): Promise<PyspyItem[]> {
  const out: PyspyItem[] = [];
  for await (const item of parser(linesOf(text), options)) out.push(item);
  return out;
}

const samples = (items: PyspyItem[]): StackSample[] =>
  items.filter((i): i is StackSample => i.kind === 'stack-sample');
const issues = (items: PyspyItem[]): ParseIssue[] => items.filter((i): i is ParseIssue => i.kind === 'issue');
const headers = (items: PyspyItem[]): SourceHeader[] =>
  items.filter((i): i is SourceHeader => i.kind === 'header');

interface RawSpeedscope {
  shared: { frames: { name: string; file: string; line: number }[] };
  profiles: { type: string; name: string; unit: string; samples: number[][]; weights: number[] }[];
  exporter: string;
}

interface RawEvent {
  name: string;
  ph: string;
  ts: number;
  pid: number;
  tid: number;
  args: { filename: string; line: number };
}

describe('parsePyspySpeedscope on the real recording', () => {
  const raw = JSON.parse(SPEEDSCOPE) as RawSpeedscope;

  it('one sample per raw sample, per thread, with exact ns weights and offsets', async () => {
    const items = await parse(parsePyspySpeedscope, SPEEDSCOPE);
    expect(issues(items)).toEqual([]);
    expect(headers(items)).toEqual([
      { kind: 'header', key: 'exporter', value: raw.exporter },
      { kind: 'header', key: 'name', value: 'py-spy profile' },
    ]);
    const got = samples(items);
    expect(got).toHaveLength(raw.profiles.reduce((n, p) => n + p.samples.length, 0));
    expect(got.map((s) => s.line)).toEqual(got.map((_, i) => i + 1));

    let at = 0;
    for (const p of raw.profiles) {
      const m = /^Thread (\d+) "(.*)"$/.exec(p.name)!;
      const mine = got.slice(at, at + p.samples.length);
      at += p.samples.length;
      expect(new Set(mine.map((s) => s.tid))).toEqual(new Set([Number(m[1])]));
      expect(new Set(mine.map((s) => s.threadName))).toEqual(new Set([m[2]]));
      // Weights: seconds → ns, rounded per weight (0.01 s → 10 ms), and cumulative offsets.
      const weightsNs = p.weights.map((w) => BigInt(Math.round(w * 1e9)));
      expect(mine.map((s) => s.weight)).toEqual(weightsNs);
      let t = 0n;
      for (const [i, s] of mine.entries()) {
        expect(s).toMatchObject({
          source: 'py-spy',
          clock: 'relative',
          weightUnit: 'nanoseconds',
          pid: null,
        });
        expect(s.timeNs).toBe(t);
        t += weightsNs[i]!;
        // Leaf first, the `thread (…)` pseudo-frame (the raw root) removed.
        const stack = p.samples[i]!;
        const rootName = raw.shared.frames[stack[0]!]!.name;
        expect(rootName).toBe(`thread (${m[1]}): ${m[2]}`);
        const expected = stack
          .slice(1)
          .reverse()
          .map((ix) => {
            const f = raw.shared.frames[ix]!;
            return { addr: '', symbol: f.name, dso: `${f.file}:${f.line}` };
          });
        expect(s.frames).toEqual(expected);
      }
      expect(t).toBe(2_990_000_000n);
    }
  });

  it('the threads did what workload.py makes them do', async () => {
    const got = samples(await parse(parsePyspySpeedscope, SPEEDSCOPE));
    const leafOf = (name: string): Set<string> =>
      new Set(got.filter((s) => s.threadName === name).map((s) => s.frames[0]!.symbol));
    expect(leafOf('cpu').has('fib')).toBe(true);
    expect(leafOf('waiter').has('wait_for_lock')).toBe(true);
    expect(leafOf('sleeper').has('nap')).toBe(true);
    expect(leafOf('MainThread')).toEqual(new Set(['_wait_for_tstate_lock']));
  });

  it('reads the document fed in many lines and in one huge line alike', async () => {
    const pretty = JSON.stringify(JSON.parse(SPEEDSCOPE), null, 2);
    const a = samples(await parse(parsePyspySpeedscope, SPEEDSCOPE));
    const b = samples(await parse(parsePyspySpeedscope, pretty));
    expect(b.map((s) => [s.tid, s.timeNs, s.weight, s.frames])).toEqual(
      a.map((s) => [s.tid, s.timeNs, s.weight, s.frames]),
    );
  });
});

/** A minimal speedscope document. */
function speedscope(profiles: unknown[], frames: unknown[] = FRAMES, sharedFirst = false): string {
  const shared = { frames };
  return JSON.stringify(sharedFirst ? { shared, profiles } : { profiles, shared, exporter: 'py-spy@9' });
}
const FRAMES = [
  { name: 'leaf', file: 'a.py', line: 3 },
  { name: 'mid', file: 'a.py', line: 2 },
  { name: '<module>', file: 'a.py', line: 1 },
  { name: 'thread (77): worker', file: '', line: 0 },
  { name: 'process 42:"python a.py"', file: '', line: 0 },
  { name: 'nofile' },
];
const sampled = (extra: object): object => ({
  type: 'sampled',
  name: 'Thread 77 "worker"',
  unit: 'seconds',
  startValue: 0,
  endValue: 1,
  samples: [[2, 1, 0]],
  weights: [0.01],
  ...extra,
});

describe('parsePyspySpeedscope edge cases', () => {
  it('exact decimal weights, startValue offset, units', async () => {
    const items = await parse(
      parsePyspySpeedscope,
      speedscope([
        sampled({ startValue: 1.5, samples: [[2], [2, 1], [2, 1, 0]], weights: [0.1, 0.2, 1e-9] }),
        sampled({ name: 'Thread 78', unit: 'none', samples: [[0], [1]], weights: [1, 3] }),
        sampled({ name: 'Thread 79', unit: 'milliseconds', samples: [[0]], weights: [0.0000005] }),
      ]),
    );
    expect(issues(items)).toEqual([]);
    expect(
      samples(items).map((s) => [s.tid, s.clock, s.timeNs, s.weight, s.weightUnit, s.frames.length]),
    ).toEqual([
      [77, 'relative', 1_500_000_000n, 100_000_000n, 'nanoseconds', 1],
      [77, 'relative', 1_600_000_000n, 200_000_000n, 'nanoseconds', 2],
      [77, 'relative', 1_800_000_000n, 1n, 'nanoseconds', 3],
      [78, 'none', null, 1n, 'samples', 1],
      [78, 'none', null, 3n, 'samples', 1],
      [79, 'relative', 0n, 1n, 'nanoseconds', 1], // 0.5 ns rounds half up
    ]);
    const first = samples(items)[2]!;
    expect(first.frames.map((f) => f.symbol)).toEqual(['leaf', 'mid', '<module>']);
    expect(first.frames[0]).toEqual({ addr: '', symbol: 'leaf', dso: 'a.py:3' });
  });

  it('pseudo-frames and profile names give pid, tid and thread name', async () => {
    const items = await parse(
      parsePyspySpeedscope,
      speedscope(
        [
          sampled({ name: 'Process 42 Thread 77 "worker"', samples: [[4, 3, 2, 5]] }),
          sampled({ name: 'Thread 0x7f00aa "mac"', samples: [[2]] }),
          sampled({ name: 'something else', samples: [[3, 0]] }),
        ],
        FRAMES,
        true,
      ),
    );
    expect(issues(items)).toEqual([]);
    expect(
      samples(items).map((s) => [s.pid, s.tid, s.runtimeThreadId, s.threadName, s.frames.map((f) => f.dso)]),
    ).toEqual([
      [42, 77, null, 'worker', ['[unknown]', 'a.py:1']],
      [null, null, '0x7f00aa', 'mac', ['a.py:1']],
      [null, 77, null, 'worker', ['a.py:3']],
    ]);
  });

  it('unknown frame indexes, bad weights, length mismatch: samples skipped with one issue each', async () => {
    const items = await parse(
      parsePyspySpeedscope,
      speedscope([
        sampled({
          samples: [[2, 1, 0], [2, 99], [2, -1], [2, 1.5], [2], [2]],
          weights: [0.01, 0.01, 0.01, 0.01, 'x', -1, 0.01],
        }),
      ]),
    );
    expect(samples(items).map((s) => s.timeNs)).toEqual([0n]);
    expect(issues(items).map((i) => [i.field, i.reason])).toEqual([
      ['weights', expect.stringContaining('6 samples but 7 weights')],
      ['samples', expect.stringContaining('3 samples reference frame indexes')],
      ['weights', expect.stringContaining('2 weights are not non-negative numbers')],
    ]);
  });

  it('wrong types and empty profiles', async () => {
    const items = await parse(
      parsePyspySpeedscope,
      speedscope([
        sampled({ samples: 'nope' }),
        sampled({ weights: { a: 1 } }),
        sampled({ samples: [3] }),
        sampled({ samples: [], weights: [] }),
        { type: 'evented', name: 'e', unit: 'none', startValue: 0, endValue: 1, events: [] },
        7,
      ]),
    );
    expect(samples(items)).toEqual([]);
    expect(issues(items).map((i) => i.reason)).toEqual([
      "profile 'samples' is not an array",
      expect.stringContaining('0 weights'),
      'a profile sample is not an array of frame indexes',
      "profile type 'evented' is not 'sampled'; skipped",
    ]);
    expect(issues(await parse(parsePyspySpeedscope, '[1,2]'))[0]!.reason).toMatch(
      /not a speedscope document/,
    );
    expect(issues(await parse(parsePyspySpeedscope, ''))[0]!.reason).toMatch(/empty input/);
    expect(issues(await parse(parsePyspySpeedscope, '{"profiles":5,"shared":{"frames":1}}'))).toHaveLength(2);
  });

  it('a truncated document: an issue, no samples (frames come last), never a throw', async () => {
    const framesAt = SPEEDSCOPE.indexOf('"shared"');
    expect(framesAt).toBeGreaterThan(SPEEDSCOPE.length / 2);
    for (const cut of [1, 100, Math.floor(SPEEDSCOPE.length / 2), framesAt + 100]) {
      const items = await parse(parsePyspySpeedscope, SPEEDSCOPE.slice(0, cut));
      expect(samples(items)).toEqual([]);
      expect(issues(items).some((i) => /truncated|cut off/.test(i.reason))).toBe(true);
      for (const i of issues(items)) expect(i.line).toBe(1);
    }
    // Cut after shared.frames (py-spy writes them after the profiles): all samples, one issue.
    const tail = await parse(parsePyspySpeedscope, SPEEDSCOPE.slice(0, SPEEDSCOPE.length - 4));
    expect(samples(tail)).toHaveLength(4 * 299);
    expect(issues(tail).map((i) => i.reason)).toEqual([
      'invalid JSON: truncated JSON document at end of input',
    ]);
    // With the frames first, the profiles read before the cut are kept.
    const doc = speedscope([sampled({}), sampled({ name: 'Thread 78' })], FRAMES, true);
    const items = await parse(parsePyspySpeedscope, doc.slice(0, doc.indexOf('Thread 78')));
    expect(samples(items).map((s) => s.tid)).toEqual([77]);
    expect(issues(items).map((i) => i.reason)).toEqual([
      'invalid JSON: truncated JSON document at end of input',
      "profile '' is cut off; skipped",
    ]);
  });

  it('invalid JSON names its line', async () => {
    const items = await parse(parsePyspySpeedscope, '{\n"profiles": [\n  1,,\n]}');
    expect(issues(items)).toEqual([
      { kind: 'issue', line: 3, field: 'json', reason: "invalid JSON: unexpected ','" },
    ]);
  });

  it('caps the indexes held before the frames arrive', async () => {
    const items = await parse(
      parsePyspySpeedscope,
      speedscope([
        sampled({
          samples: [
            [2, 1, 0],
            [2, 1, 0],
          ],
          weights: [1, 1],
        }),
        sampled({}),
      ]),
      { maxBufferedIndexes: 4 },
    );
    expect(issues(items)[0]!.reason).toMatch(/more than 4 frame indexes/);
    expect(samples(items)).toHaveLength(1);
  });
});

describe('parsePyspyChromeTrace on the real recording', () => {
  const raw = JSON.parse(CHROME) as RawEvent[];

  it('one sample per stack change, exact µs → ns times, weights up to the next change', async () => {
    const items = await parse(parsePyspyChromeTrace, CHROME);
    expect(issues(items)).toEqual([]);
    const got = samples(items);
    expect(got.map((s) => s.line)).toEqual(got.map((_, i) => i + 1));
    const tids = [...new Set(raw.map((e) => e.tid))];
    expect(tids).toHaveLength(4);
    for (const tid of tids) {
      const evs = raw.filter((e) => e.tid === tid);
      const times = [...new Set(evs.map((e) => e.ts))];
      const root = evs[0]!;
      const m = /^thread \((\d+)\): (.*)$/.exec(root.name)!;
      const mine = got.filter((s) => s.runtimeThreadId === String(tid));
      // Every group but the last (which closes all frames) starts a stack interval.
      expect(mine).toHaveLength(times.length - 1);
      expect(mine.map((s) => s.timeNs)).toEqual(times.slice(0, -1).map((t) => BigInt(t) * 1000n));
      const total = mine.reduce((n, s) => n + s.weight, 0n);
      expect(total).toBe(BigInt(times.at(-1)! - times[0]!) * 1000n);
      for (const s of mine) {
        expect(s).toMatchObject({ pid: root.pid, tid: Number(m[1]), threadName: m[2], clock: 'relative' });
      }
      // The first stack, leaf first: the B events of the first group, reversed, minus the pseudo-frame.
      const firstGroup = evs.filter((e) => e.ts === times[0] && e.ph === 'B').slice(1);
      expect(mine[0]!.frames).toEqual(
        firstGroup
          .reverse()
          .map((e) => ({ addr: '', symbol: e.name, dso: `${e.args.filename}:${e.args.line}` })),
      );
    }
  });

  it('agrees with the speedscope recording on what each thread does', async () => {
    const got = samples(await parse(parsePyspyChromeTrace, CHROME));
    const names = new Set(got.map((s) => s.threadName));
    expect(names).toEqual(new Set(['MainThread', 'cpu', 'waiter', 'sleeper']));
    expect(got.filter((s) => s.threadName === 'sleeper').some((s) => s.frames[0]!.symbol === 'nap')).toBe(
      true,
    );
  });
});

const ev = (ph: string, name: string, ts: string | number, tid = 5, extra = ''): string =>
  `{"args":{"filename":"${name.startsWith('thread (') ? '' : 'f.py'}","line":1${extra}},"cat":"py-spy","name":"${name}","ph":"${ph}","pid":9,"tid":${tid},"ts":${ts}}`;

describe('parsePyspyChromeTrace edge cases', () => {
  it('fractional and large µs timestamps are exact', async () => {
    const doc = `[${[
      ev('B', 'thread (100): t', '1.5'),
      ev('B', 'a', '1.5'),
      ev('B', 'b', '9007199254740993.123'),
      ev('E', 'b', '9007199254740993.1235'),
      ev('E', 'a', '9007199254740993.1235'),
      ev('E', 'thread (100): t', '9007199254740993.1235'),
    ].join(',')}]`;
    const items = await parse(parsePyspyChromeTrace, doc);
    expect(issues(items)).toEqual([]);
    expect(samples(items).map((s) => [s.timeNs, s.weight, s.tid, s.frames.map((f) => f.symbol)])).toEqual([
      [1500n, 9_007_199_254_740_993_123n - 1500n, 100, ['a']],
      [9_007_199_254_740_993_123n, 1n, 100, ['b', 'a']],
    ]);
  });

  it('a truncated trace keeps the open stacks with weight 0 and says so', async () => {
    const doc = `[${ev('B', 'a', 10)},${ev('B', 'b', 20)},${ev('E', 'b', 30)}`;
    const items = await parse(parsePyspyChromeTrace, doc);
    expect(samples(items).map((s) => [s.timeNs, s.weight, s.frames.length])).toEqual([
      [10_000n, 10_000n, 1],
      [20_000n, 10_000n, 2],
      [30_000n, 0n, 1],
    ]);
    expect(issues(items).map((i) => i.reason)).toEqual([
      'invalid JSON: truncated JSON document at end of input',
      expect.stringContaining('1 threads still had an open stack'),
    ]);
  });

  it('M thread_name events, the object format, X events, unmatched E, bad events', async () => {
    const events = [
      ev('M', 'thread_name', 0, 0, ',"name":"140000: worker"'),
      ev('B', 'a', 1, 0),
      ev('X', 'x', 1, 0),
      ev('E', 'a', 2, 0),
      ev('E', 'a', 3, 0),
      '{"ph":"B","name":"a","tid":"x","ts":1}',
      '{"ph":"B","name":"a","tid":1,"ts":-1}',
      '3',
    ];
    // One event per line: event k is on line k + 2.
    const doc = `{"traceEvents":[\n${events.join(',\n')}\n]}`;
    const items = await parse(parsePyspyChromeTrace, doc);
    expect(samples(items).map((s) => [s.runtimeThreadId, s.threadName, s.tid, s.timeNs, s.weight])).toEqual([
      ['140000', 'worker', null, 1000n, 1000n],
    ]);
    expect(issues(items).map((i) => [i.line, i.reason])).toEqual([
      [7, '3 trace events skipped (first: tid is not an integer)'],
      [4, "1 trace events with a phase other than B/E/M ignored (first: 'X')"],
      [10, '1 E events without a matching B event'],
    ]);
  });

  it('bounds the stack depth', async () => {
    const evs = [ev('B', 'a', 1), ev('B', 'b', 1), ev('B', 'c', 1), ev('E', 'c', 2), ev('E', 'b', 2)];
    const items = await parse(parsePyspyChromeTrace, `[${evs.join(',')}]`, { maxStackDepth: 2 });
    expect(samples(items).map((s) => s.frames.map((f) => f.symbol))).toEqual([['b', 'a'], ['a']]);
  });

  it('not a trace', async () => {
    expect(issues(await parse(parsePyspyChromeTrace, '"x"'))[0]!.reason).toMatch(/not a chrome trace/);
    expect(issues(await parse(parsePyspyChromeTrace, '[1,]'))[0]!.reason).toBe(
      "invalid JSON: unexpected ']'",
    );
    expect(issues(await parse(parsePyspyChromeTrace, '[] []'))[0]!.reason).toBe(
      "invalid JSON: unexpected '[' after the document",
    );
    expect(issues(await parse(parsePyspyChromeTrace, '["\\q"]'))[0]!.reason).toBe(
      'invalid JSON: invalid escape in a string',
    );
  });
});

describe('sniffPyspy', () => {
  it('names both formats from their first bytes', () => {
    expect(sniffPyspy(SPEEDSCOPE.slice(0, 4096))).toBe('pyspy-speedscope');
    expect(sniffPyspy(CHROME.slice(0, 4096))).toBe('pyspy-chrometrace');
    expect(sniffPyspy('\ufeff  {"traceEvents":[{"cat":"py-spy","ph":"B"')).toBe('pyspy-chrometrace');
  });

  it('returns null for other text', () => {
    expect(sniffPyspy('')).toBeNull();
    expect(sniffPyspy('[{"cat":"v8","ph":"X"}]')).toBeNull();
    expect(sniffPyspy('{"resourceSpans":[]}')).toBeNull();
    expect(sniffPyspy('thread (1): main;f (a.py:1) 3')).toBeNull();
  });
});

describe('decimalToScaled', () => {
  it('scales decimal literals exactly, rounding halves up', () => {
    expect(decimalToScaled('0.01', 9)).toBe(10_000_000n);
    expect(decimalToScaled('1e-2', 9)).toBe(10_000_000n);
    expect(decimalToScaled('2.5E+3', 3)).toBe(2_500_000n);
    expect(decimalToScaled('0.0000000005', 9)).toBe(1n);
    expect(decimalToScaled('0.0000000004', 9)).toBe(0n);
    expect(decimalToScaled('-1.5', 0)).toBe(-2n);
    expect(decimalToScaled('123456789012345678901', 0)).toBe(123456789012345678901n);
    expect(decimalToScaled('1e-400', 9)).toBe(0n);
    expect(decimalToScaled('1e400', 9)).toBeNull();
    expect(decimalToScaled('abc', 9)).toBeNull();
  });
});

const ITERATIONS = Math.max(1, Number(process.env['FUZZ_ITERATIONS'] ?? 200) || 200);
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('fuzz py-spy parsers', () => {
  it('speedscope', async () => {
    const seeds = [
      enc(SPEEDSCOPE),
      enc(JSON.stringify(JSON.parse(SPEEDSCOPE), null, 1)),
      enc(speedscope([sampled({}), sampled({ name: 'Process 1 Thread 2' })], FRAMES, true)),
    ];
    const r = await fuzzParser('pyspy speedscope', seeds, (l) => parsePyspySpeedscope(l), 'lines', {
      iterations: ITERATIONS,
    });
    console.log(
      `fuzz pyspy-speedscope runs=${r.runs} items=${r.items} issues=${r.issues} maxMs=${r.maxMs.toFixed(1)}`,
    );
  });

  it('chrometrace', async () => {
    const events = JSON.parse(CHROME) as unknown[];
    const seeds = [
      enc(CHROME.slice(0, 60_000) + ']'),
      enc(JSON.stringify(events.slice(0, 300), null, 1)),
      enc(JSON.stringify({ traceEvents: events.slice(0, 100) })),
    ];
    const r = await fuzzParser('pyspy chrometrace', seeds, (l) => parsePyspyChromeTrace(l), 'lines', {
      iterations: ITERATIONS,
    });
    console.log(
      `fuzz pyspy-chrometrace runs=${r.runs} items=${r.items} issues=${r.issues} maxMs=${r.maxMs.toFixed(1)}`,
    );
  });
});
