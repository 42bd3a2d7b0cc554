import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { ParseIssue, SourceHeader } from '@threadreel/model';
import { chooseFormat, detectFormat } from './formats.js';
import { parsePerfHeaderOnly, perfClockName, sniffPerfHeaderOnly } from './perf-header.js';
import { parsePerfScript } from './perf-script.js';
import { fuzzParser } from './testing/fuzz.js';

/**
 * perf headers recorded here with perf 6.1 (test/fixtures/formats/perf-header, record.sh):
 * `perf report --header-only` and `perf script --header` of recordings with `-k mono`, the default
 * clock and the other `-k` clocks. Expected values are read from the raw lines with regexes; the
 * clock names from a table written here from the recorded command lines.
 */

const DIR = new URL('../../../test/fixtures/formats/perf-header/', import.meta.url);
const text = (f: string): string => readFileSync(new URL(f, DIR), 'utf8');

function feed(t: string): AsyncIterable<string> {
  const lines = t.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return Readable.from(lines) as AsyncIterable<string>;
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

type Item = { readonly kind: string };
const headerMap = (items: readonly Item[]): Record<string, string> => {
  const out: Record<string, string> = {};
  for (const i of items) if (i.kind === 'header') out[(i as SourceHeader).key] = (i as SourceHeader).value;
  return out;
};
const issues = (items: readonly Item[]): ParseIssue[] =>
  items.filter((i): i is ParseIssue => i.kind === 'issue');

/** `# key : value` of the raw text. */
function rawHeader(t: string, key: string): string | undefined {
  return new RegExp(`^# ${key}\\s*: ?(.*)$`, 'm').exec(t)?.[1]?.trim();
}

/** The reference pair as printed, in ns, by string concatenation (no arithmetic). */
function rawReference(t: string): { tod: string; clock: string } | null {
  const m = /^# reference time: \S+ \S+ = (\d+)\.(\d{6}) \(TOD\) = (\d+)\.(\d{9}) \((\S+)\)$/m.exec(t);
  if (m === null) return null;
  return {
    tod: `${m[1] ?? ''}${m[2] ?? ''}000`,
    clock: `${m[3] ?? ''}${m[4] ?? ''}`.replace(/^0+(?=\d)/, ''),
  };
}

interface Case {
  readonly file: string;
  /** The clock the recording asked for (record.sh), as threadreel names it. */
  readonly clock: string;
  readonly from: string;
  readonly reference: boolean;
}

const HEADER_ONLY: readonly Case[] = [
  { file: 'report-header-only-mono.txt', clock: 'monotonic', from: 'clockid line', reference: true },
  { file: 'report-header-only-I-mono.txt', clock: 'monotonic', from: 'clockid line', reference: true },
  {
    file: 'report-header-only-default.txt',
    clock: 'perf-default',
    from: 'header without clock',
    reference: false,
  },
  { file: 'report-header-only-k-raw.txt', clock: 'monotonic-raw', from: 'clockid line', reference: true },
  { file: 'report-header-only-k-boot.txt', clock: 'boottime', from: 'clockid line', reference: true },
  {
    file: 'report-header-only-clockid-realtime.txt',
    clock: 'realtime',
    from: 'clockid line',
    reference: true,
  },
  { file: 'report-header-only-clockid-11.txt', clock: 'tai', from: 'clockid line', reference: true },
];

const SCRIPT: readonly Case[] = [
  { file: 'script-header-mono.txt', clock: 'monotonic', from: 'clockid line', reference: true },
  {
    file: 'script-header-default.txt',
    clock: 'perf-default',
    from: 'header without clock',
    reference: false,
  },
  { file: 'script-header-clockid-realtime.txt', clock: 'realtime', from: 'clockid line', reference: true },
];

function expectHeaders(t: string, h: Record<string, string>, c: Case): void {
  expect(h['clockid']).toBe(c.clock);
  expect(h['clockidFrom']).toBe(c.from);
  const ref = rawReference(t);
  if (c.reference) {
    expect(ref).not.toBeNull();
    expect(h['clockRefTodNs']).toBe(ref?.tod);
    expect(h['clockRefClockNs']).toBe(ref?.clock);
    // The raw `# clockid: name (id)` line names the same clock.
    expect(t).toMatch(/^# clockid: \S+ \(\d+\)$/m);
  } else {
    expect(ref).toBeNull();
    expect(h['clockRefTodNs']).toBeUndefined();
    expect(t).toMatch(/^# missing features: .*\bCLOCKID\b.*\bCLOCK_DATA\b/m);
  }
  for (const key of ['captured on', 'hostname', 'os release', 'perf version', 'cmdline'])
    expect(h[key], key).toBe(rawHeader(t, key));
}

describe('perf report --header-only: the perf-header format', () => {
  for (const c of HEADER_ONLY) {
    it(`${c.file}: detected, headers and clock ${c.clock} (${c.from})`, async () => {
      const t = text(c.file);
      expect(sniffPerfHeaderOnly(t)).toBe(true);
      const d = detectFormat(Buffer.from(t), 'upload');
      expect(d).toMatchObject({ format: 'perf-header', confidence: 0.95 });
      expect(chooseFormat(Buffer.from(t), 'upload', { role: 'perf' })).toMatchObject({
        format: 'perf-header',
      });
      const items = await collect(parsePerfHeaderOnly(feed(t)));
      expect(issues(items)).toEqual([]);
      expectHeaders(t, headerMap(items), c);
    });
  }

  it('the realtime recording: its reference pair is two readings of the same clock', () => {
    const ref = rawReference(text('report-header-only-clockid-realtime.txt'));
    const gap = BigInt(ref?.clock ?? '0') - BigInt(ref?.tod ?? '0');
    expect(gap >= 0n && gap < 1_000_000n).toBe(true);
  });

  it('a line that is not a # line is an issue; the headers before and after stay', async () => {
    const items = await collect(
      parsePerfHeaderOnly(feed('# hostname : vm\nsleep 1 2.0: cpu-clock:\n# os release : 6\n')),
    );
    expect(issues(items).map((i) => [i.line, i.field])).toEqual([[2, 'line']]);
    expect(headerMap(items)).toMatchObject({ hostname: 'vm', 'os release': '6' });
  });
});

describe('perf script --header: the perf-script parser exposes the same header keys', () => {
  for (const c of SCRIPT) {
    it(`${c.file}: records parsed, headers and clock ${c.clock}`, async () => {
      const t = text(c.file);
      expect(detectFormat(Buffer.from(t), 'upload')?.format).toBe('perf-script');
      expect(sniffPerfHeaderOnly(t)).toBe(false);
      const items = await collect(parsePerfScript(feed(t)));
      expect(issues(items)).toEqual([]);
      expect(items.filter((i) => i.kind === 'perf').length).toBeGreaterThan(0);
      expectHeaders(t, headerMap(items), c);
    });
  }

  it('perf script --header and perf report --header-only of one perf.data give the same headers', async () => {
    for (const [script, report] of [
      ['script-header-mono.txt', 'report-header-only-mono.txt'],
      ['script-header-default.txt', 'report-header-only-default.txt'],
    ] as const) {
      const a = headerMap(await collect(parsePerfScript(feed(text(script)))));
      const b = headerMap(await collect(parsePerfHeaderOnly(feed(text(report)))));
      expect(a).toEqual(b);
    }
  });
});

describe('the clock without a # clockid line (perf before 5.10, or a header cut short)', () => {
  // Real header lines with the CLOCK_DATA lines taken out in the test, as an older perf prints them.
  const without = (t: string, ...drop: RegExp[]): string =>
    t
      .split('\n')
      .filter((l) => !drop.some((re) => re.test(l)))
      .join('\n');

  it('the events’ perf_event_attr: clockid = N, or use_clockid alone for 0 (realtime)', async () => {
    for (const [file, clock] of [
      ['report-header-only-mono.txt', 'monotonic'],
      ['report-header-only-k-boot.txt', 'boottime'],
      ['report-header-only-clockid-realtime.txt', 'realtime'],
    ] as const) {
      const t = without(text(file), /^# clockid:/, /^# reference time:/);
      const h = headerMap(await collect(parsePerfHeaderOnly(feed(t))));
      expect([file, h['clockid'], h['clockidFrom']]).toEqual([file, clock, 'event attr']);
      expect(h['clockRefTodNs']).toBeUndefined();
    }
  });

  it('the recorded command line: -k X, -kX, --clockid X, --clockid=X, a number; not after --', async () => {
    for (const [file, clock] of [
      ['report-header-only-mono.txt', 'monotonic'],
      ['report-header-only-k-raw.txt', 'monotonic-raw'],
      ['report-header-only-k-boot.txt', 'boottime'],
      ['report-header-only-clockid-realtime.txt', 'realtime'],
      ['report-header-only-clockid-11.txt', 'tai'],
    ] as const) {
      const t = without(text(file), /^# clockid:/, /^# reference time:/, /^# event :/);
      const h = headerMap(await collect(parsePerfHeaderOnly(feed(t))));
      expect([file, h['clockid'], h['clockidFrom']]).toEqual([file, clock, 'cmdline']);
    }
    const one = async (cmdline: string) =>
      headerMap(await collect(parsePerfHeaderOnly(feed(`# cmdline : ${cmdline}\n`))))['clockid'];
    expect(await one('/usr/bin/perf record -kmono -g -- sleep 1')).toBe('monotonic');
    expect(await one('perf record --clockid CLOCK_MONOTONIC_RAW -a')).toBe('monotonic-raw');
    expect(await one('perf record -g -- app -k mono')).toBe('perf-default');
  });

  it('perfClockName: perf’s names, any case, CLOCK_ prefix, numbers', () => {
    expect(['mono', 'CLOCK_MONOTONIC', 'Monotonic', '1'].map(perfClockName)).toEqual(
      Array(4).fill('monotonic'),
    );
    expect(['raw', 'monotonic_raw', '4'].map(perfClockName)).toEqual(Array(3).fill('monotonic-raw'));
    expect(['real', 'CLOCK_REALTIME', '0'].map(perfClockName)).toEqual(Array(3).fill('realtime'));
    expect(['constructor', '__proto__'].map(perfClockName)).toEqual([null, null]);
    expect(['boot', '7', 'tai', '11', '5', 'sundial'].map(perfClockName)).toEqual([
      'boottime',
      'boottime',
      'tai',
      'tai',
      'clockid-5',
      null,
    ]);
  });
});

describe('parsePerfHeaderOnly fuzz', () => {
  it('never throws, hangs or yields malformed issues', async () => {
    const enc = new TextEncoder();
    const seeds = HEADER_ONLY.map((c) => enc.encode(text(c.file)));
    const r = await fuzzParser('perf-header', seeds, (lines) => parsePerfHeaderOnly(lines), 'lines', {
      iterations: 200,
    });
    expect(r.runs).toBe(200 + seeds.length);
  });
});
