import { readdirSync, readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type {
  GcEvent,
  GcParsedItem,
  ParsedItem,
  ParseIssue,
  PerfRecord,
  SafepointEvent,
  SourceHeader,
  SpanRecord,
  StraceExit,
  StraceItem,
  StraceSignal,
  StraceSyscall,
} from '@threadreel/model';
import { detectFormat } from './formats.js';
import { parseGoGctrace, parseJvmGcLog } from './gc.js';
import { parsePerfHeader, parsePerfScript } from './perf-script.js';
import { parseSpans } from './spans.js';
import { parseStrace } from './strace.js';
import { fuzzParser, type LineParseFn } from './testing/fuzz.js';

/**
 * Format variants recorded on a real machine with the real tools (perf 6.1, strace 6.1,
 * OpenJDK 17, Go 1.19, @opentelemetry/exporter-zipkin 2.12): see the README.md of each folder
 * under test/fixtures/formats. Every expected value is read from the raw text here, with
 * regexes written for the one variant at hand, never from the parser.
 */

const FORMATS = new URL('../../../test/fixtures/formats/', import.meta.url);

function text(rel: string): string {
  return readFileSync(new URL(rel, FORMATS), 'utf8');
}

function files(dir: string, re: RegExp): string[] {
  return readdirSync(new URL(`${dir}/`, FORMATS))
    .filter((f) => re.test(f))
    .sort();
}

/** The file's lines (no trailing empty line), as the line reader yields them. */
function rawLines(t: string): string[] {
  const lines = t.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines;
}

function feed(lines: readonly string[]): AsyncIterable<string> {
  return Readable.from(lines) as AsyncIterable<string>;
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

const isIssue = (x: { kind: string }): x is ParseIssue => x.kind === 'issue';

/** `sec.frac` → ns, exactly (frac padded to 9 digits). */
function secNs(sec: string, frac: string): bigint {
  return BigInt(sec) * 1_000_000_000n + BigInt(frac.padEnd(9, '0'));
}

/** `1.234` (ms, any precision ≤ 6 decimals) → ns, exactly. */
function msNs(ms: string): bigint {
  const [i = '0', f = ''] = ms.split('.');
  return BigInt(i) * 1_000_000n + BigInt(f.padEnd(6, '0'));
}

function must<T>(v: T | null | undefined, what: string): T {
  if (v === null || v === undefined) throw new Error(`missing ${what}`);
  return v;
}

function group(m: RegExpExecArray | null, name: string): string {
  return must(m?.groups?.[name], `regex group ${name}`);
}

// ---------------------------------------------------------------------------------------------
// perf script

const PERF = 'perf-variants';

/** Header-line regexes, one per printed field set (comm is greedy: it may hold spaces/digits). */
const HEAD_DEFAULT =
  /^ *(?<comm>.*\S) +(?<tid>\d+) +(?<sec>\d+)\.(?<frac>\d+): +(?<period>\d+) +(?<event>\S+):(?<rest>.*)$/;
const HEAD_FIELDS = /^(?<comm>.*\S) +(?<tid>\d+) +(?<sec>\d+)\.(?<frac>\d+): (?<event>\S+): *$/;
const HEAD_TOD =
  /^(?<comm>.*\S) +(?:(?<pid>\d+)\/)?(?<tid>\d+) +\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ +(?<sec>\d+)\.(?<frac>\d+): +(?<period>\d+) (?<event>\S+): *$/;
const HEAD_SCHED =
  /^(?<comm>.*\S) +(?<tid>\d+) +\[(?<cpu>\d+)\] +(?<sec>\d+)\.(?<frac>\d+): +(?<event>\S+): (?<trace>.*)$/;
const FRAME_LINE = /^\t *(?<addr>[0-9a-f]+) (?<sym>.+?)(?:\+0x[0-9a-f]+)? \((?<dso>.*)\)$/;
const HEADER_FRAME = /^ +(?<addr>[0-9a-f]+) (?<sym>.+?)(?:\+0x[0-9a-f]+)? \((?<dso>.*)\)$/;

interface PerfVariant {
  readonly file: string;
  readonly head: RegExp;
  readonly callGraph: boolean;
}

const PERF_VARIANTS: readonly PerfVariant[] = [
  { file: 'cg-default.txt', head: HEAD_DEFAULT, callGraph: true },
  { file: 'cg-ns.txt', head: HEAD_DEFAULT, callGraph: true },
  { file: 'cg-header.txt', head: HEAD_DEFAULT, callGraph: true },
  { file: 'cg-fields.txt', head: HEAD_FIELDS, callGraph: true },
  { file: 'cg-pid-tod.txt', head: HEAD_TOD, callGraph: true },
  { file: 'cg-tod-ns.txt', head: HEAD_TOD, callGraph: true },
  { file: 'nocg-default.txt', head: HEAD_DEFAULT, callGraph: false },
  { file: 'faults-mixed.txt', head: HEAD_DEFAULT, callGraph: true },
  { file: 'sched-g.txt', head: HEAD_SCHED, callGraph: true },
];

async function perfItems(file: string): Promise<{ lines: string[]; items: ParsedItem[] }> {
  const lines = rawLines(text(`${PERF}/${file}`));
  return { lines, items: await collect(parsePerfScript(feed(lines))) };
}

const perfRecords = (items: readonly ParsedItem[]): PerfRecord[] =>
  items.filter((i): i is PerfRecord => i.kind === 'perf');

/** Header lines: neither blank, nor a tab-indented stack line, nor a `#` comment. */
function headerLineNumbers(lines: readonly string[]): number[] {
  const out: number[] = [];
  lines.forEach((l, i) => {
    if (l.trim() !== '' && !l.startsWith('\t') && !l.startsWith('#')) out.push(i + 1);
  });
  return out;
}

describe('perf script variants recorded with perf 6.1 (test/fixtures/formats/perf-variants)', () => {
  for (const v of PERF_VARIANTS) {
    it(`${v.file}: no issues, one record per header line, every field as printed`, async () => {
      const { lines, items } = await perfItems(v.file);
      expect(items.filter(isIssue)).toEqual([]);
      const recs = perfRecords(items);
      expect(recs.map((r) => r.line)).toEqual(headerLineNumbers(lines));
      for (const r of recs) {
        const raw = must(lines[r.line - 1], 'header line');
        const m = v.head.exec(raw);
        expect(m, raw).not.toBeNull();
        expect(r.comm).toBe(group(m, 'comm'));
        expect(r.tid).toBe(Number(group(m, 'tid')));
        expect(r.pid).toBe(m?.groups?.['pid'] === undefined ? null : Number(m.groups['pid']));
        expect(r.timeNs).toBe(secNs(group(m, 'sec'), group(m, 'frac')));
        expect(r.event).toBe(group(m, 'event'));
        expect(r.period).toBe(m?.groups?.['period'] === undefined ? null : BigInt(m.groups['period']));
        expect(r.cpu).toBe(m?.groups?.['cpu'] === undefined ? null : Number(m.groups['cpu']));
        // The stack: the tab-indented lines up to the blank line (or the ip/sym/dso on the header).
        const stack: string[] = [];
        for (let k = r.line; k < lines.length && (lines[k] ?? '').startsWith('\t'); k++)
          stack.push(lines[k] ?? '');
        if (v.callGraph) {
          expect(r.frames).toHaveLength(stack.length);
          stack.forEach((s, k) => {
            const f = FRAME_LINE.exec(s);
            expect(r.frames[k]).toEqual({
              addr: group(f, 'addr'),
              symbol: group(f, 'sym'),
              dso: group(f, 'dso'),
            });
          });
        } else {
          expect(stack).toEqual([]);
          const f = HEADER_FRAME.exec(group(m, 'rest'));
          expect(r.frames).toEqual([
            { addr: group(f, 'addr'), symbol: group(f, 'sym'), dso: group(f, 'dso') },
          ]);
        }
      }
    });
  }

  it('comms with spaces and a trailing number ("my worker 1") keep their tid', async () => {
    for (const file of ['cg-default.txt', 'nocg-default.txt', 'faults-mixed.txt', 'sched-g.txt']) {
      const { lines, items } = await perfItems(file);
      const recs = perfRecords(items);
      for (const name of ['my worker 1', 'my worker 2']) {
        // The tid of that thread, read from the first header line with that comm.
        const first = must(
          lines.find((l) => l.trimStart().startsWith(`${name} `)),
          `${name} in ${file}`,
        );
        const tid = Number(must(/^ *my worker \d +(\d+) /.exec(first)?.[1], 'tid'));
        const expected = lines.filter((l) => l.trimStart().startsWith(`${name} ${tid} `)).length;
        expect(expected).toBeGreaterThan(0);
        expect(recs.filter((r) => r.comm === name && r.tid === tid)).toHaveLength(expected);
      }
      expect(recs.some((r) => r.comm === 'my worker' || r.tid === 1 || r.tid === 2)).toBe(false);
    }
  });

  it('regression: a comm ending in a number is not taken for comm + tid (line from cg-default.txt)', () => {
    // Before the fix this gave comm 'my worker', tid 1, period 28069 and event '1616.070939'.
    const line = 'my worker 1 28069  1616.070939:    1001001 cpu-clock:pppH: ';
    expect(parsePerfHeader(line)).toEqual({
      ok: true,
      header: {
        comm: 'my worker 1',
        pid: null,
        tid: 28069,
        cpu: null,
        timeNs: 1_616_070_939_000n,
        period: 1_001_001n,
        event: 'cpu-clock:pppH',
        trace: null,
        frame: null,
      },
    });
    // Same comm, right-aligned, with the ip/sym/dso on the header line (nocg-default.txt).
    const nocg =
      '     my worker 1 28080  1617.484858:    1001001 cpu-clock:pppH:      5601cf7381ef burn+0x26 (/tmp/pv/spin)';
    expect(parsePerfHeader(nocg)).toMatchObject({
      ok: true,
      header: {
        comm: 'my worker 1',
        tid: 28080,
        timeNs: 1_617_484_858_000n,
        period: 1_001_001n,
        event: 'cpu-clock:pppH',
        frame: { addr: '5601cf7381ef', symbol: 'burn', dso: '/tmp/pv/spin' },
      },
    });
    // `-F comm,tid,time,event,ip,sym,dso` (no period) and --ns.
    expect(parsePerfHeader('my worker 1 28069  1616.070939: cpu-clock:pppH: ')).toMatchObject({
      ok: true,
      header: { comm: 'my worker 1', tid: 28069, period: null, event: 'cpu-clock:pppH' },
    });
    expect(parsePerfHeader('my worker 2 28070  1616.071350123:    1001001 cpu-clock:pppH: ')).toMatchObject({
      ok: true,
      header: { comm: 'my worker 2', tid: 28070, timeNs: 1_616_071_350_123n },
    });
  });

  it('the one call-graph recording printed six ways agrees with itself', async () => {
    const all = new Map<string, PerfRecord[]>();
    for (const f of ['cg-default', 'cg-ns', 'cg-header', 'cg-fields', 'cg-pid-tod', 'cg-tod-ns'])
      all.set(f, perfRecords((await perfItems(`${f}.txt`)).items));
    const base = must(all.get('cg-default'), 'cg-default');
    const us = (t: bigint | null): bigint => must(t, 'time') / 1000n;
    expect(base.length).toBeGreaterThan(20);
    for (const [name, recs] of all) {
      expect(recs.length, name).toBe(base.length);
      expect(
        recs.map((r) => r.tid),
        name,
      ).toEqual(base.map((r) => r.tid));
      expect(
        recs.map((r) => r.comm),
        name,
      ).toEqual(base.map((r) => r.comm));
      expect(
        recs.map((r) => r.event),
        name,
      ).toEqual(base.map((r) => r.event));
      expect(
        recs.map((r) => us(r.timeNs)),
        name,
      ).toEqual(base.map((r) => us(r.timeNs)));
      expect(
        recs.map((r) => r.frames),
        name,
      ).toEqual(base.map((r) => r.frames));
    }
    // --ns and +tod --ns carry the same ns; the µs variants are those ns truncated.
    const ns = must(all.get('cg-ns'), 'cg-ns');
    expect(must(all.get('cg-tod-ns'), 'tod').map((r) => r.timeNs)).toEqual(ns.map((r) => r.timeNs));
    expect(ns.some((r) => must(r.timeNs, 'ns') % 1000n !== 0n)).toBe(true);
    expect(base.every((r) => must(r.timeNs, 'us') % 1000n === 0n)).toBe(true);
    // -F without period; +pid gives the process id (the main thread's tid, the same for all).
    expect(must(all.get('cg-fields'), 'fields').every((r) => r.period === null)).toBe(true);
    const pids = new Set(must(all.get('cg-pid-tod'), 'pid').map((r) => r.pid));
    const cmdline = /^# cmdline : (.*)$/m.exec(text(`${PERF}/cg-header.txt`));
    expect(cmdline?.[1]).toContain('perf record');
    expect(pids.size).toBe(1);
    expect([...pids][0]).toBeGreaterThan(0);
    expect(base.every((r) => r.pid === null)).toBe(true);
  });

  it('--header: every `# key : value` line becomes a header fact, then the derived clock keys', async () => {
    const { lines, items } = await perfItems('cg-header.txt');
    const headers = items.filter((i): i is SourceHeader => i.kind === 'header');
    const expected = lines
      .map((l) => /^#([^:]*):(.*)$/.exec(l))
      .filter((m): m is RegExpExecArray => m !== null && !['', 'clockid'].includes((m[1] ?? '').trim()))
      .map((m) => ({ kind: 'header', key: (m[1] ?? '').trim(), value: (m[2] ?? '').trim() }));
    // perf's `# clockid: monotonic (1)` line becomes clockid = monotonic; the reference pair in ns.
    const raw = text(`${PERF}/cg-header.txt`);
    expect(raw).toMatch(/^# clockid: monotonic \(1\)$/m);
    const ref =
      /^# reference time: .* = (?<tod>\d+)\.(?<us>\d{6}) \(TOD\) = (?<sec>\d+)\.(?<ns>\d{9}) \(monotonic\)$/m.exec(
        raw,
      );
    expect(headers).toEqual([
      ...expected,
      { kind: 'header', key: 'clockid', value: 'monotonic' },
      { kind: 'header', key: 'clockidFrom', value: 'clockid line' },
      { kind: 'header', key: 'clockRefTodNs', value: `${group(ref, 'tod')}${group(ref, 'us')}000` },
      {
        kind: 'header',
        key: 'clockRefClockNs',
        value: BigInt(`${group(ref, 'sec')}${group(ref, 'ns')}`).toString(),
      },
    ]);
    const version = must(/^# perf version : (\S+)/m.exec(raw)?.[1], 'version');
    expect(headers.find((h) => h.key === 'perf version')?.value).toBe(version);
  });

  it('cpu-clock and page faults mixed in one file: counts per event', async () => {
    const { lines, items } = await perfItems('faults-mixed.txt');
    const recs = perfRecords(items);
    const heads = headerLineNumbers(lines).map((n) => lines[n - 1] ?? '');
    for (const ev of ['cpu-clock', 'minor-faults', 'major-faults']) {
      const n = heads.filter((h) => h.includes(` ${ev}: `) || h.endsWith(` ${ev}:`)).length;
      expect(
        recs.filter((r) => r.event === ev),
        ev,
      ).toHaveLength(n);
    }
    expect(recs.filter((r) => r.event === 'minor-faults').length).toBeGreaterThan(0);
    expect(recs.filter((r) => r.event === 'cpu-clock').length).toBeGreaterThan(0);
  });

  it('sched_switch / sched_wakeup / sched_waking with call graphs: every payload field', async () => {
    const { lines, items } = await perfItems('sched-g.txt');
    const recs = perfRecords(items);
    const SWITCH =
      /^prev_comm=(.*) prev_pid=(\d+) prev_prio=(\d+) prev_state=(\S+) ==> next_comm=(.*) next_pid=(\d+) next_prio=(\d+)$/;
    const WAKE = /^comm=(.*) pid=(\d+) prio=(\d+) target_cpu=(\d+)$/;
    const count = (ev: string) => lines.filter((l) => l.includes(` sched:${ev}: `)).length;
    expect(recs.filter((r) => r.event === 'sched:sched_switch')).toHaveLength(count('sched_switch'));
    expect(recs.filter((r) => r.event === 'sched:sched_wakeup')).toHaveLength(count('sched_wakeup'));
    expect(recs.filter((r) => r.event === 'sched:sched_waking')).toHaveLength(count('sched_waking'));
    expect(recs.length).toBe(count('sched_switch') + count('sched_wakeup') + count('sched_waking'));
    for (const r of recs) {
      const trace = must(r.trace, 'trace');
      if (r.event === 'sched:sched_switch') {
        const m = must(SWITCH.exec(trace), trace);
        expect(r.sched).toEqual({
          type: 'switch',
          prevComm: m[1],
          prevPid: Number(m[2]),
          prevPrio: Number(m[3]),
          prevState: m[4],
          nextComm: m[5],
          nextPid: Number(m[6]),
          nextPrio: Number(m[7]),
        });
        // sched_switch fires in prev's context.
        expect(r.tid).toBe(Number(m[2]));
        expect(r.comm).toBe(m[1]);
      } else {
        const m = must(WAKE.exec(trace), trace);
        expect(r.sched).toEqual({
          type: r.event === 'sched:sched_wakeup' ? 'wakeup' : 'waking',
          comm: m[1],
          pid: Number(m[2]),
          prio: Number(m[3]),
          targetCpu: Number(m[4]),
        });
      }
      expect(r.frames[0]?.symbol).toMatch(/^(__schedule|try_to_wake_up|ttwu_do_activate|\S+)$/);
    }
    // A worker blocking: its comm has spaces, in the header and in prev_comm.
    const blocked = recs.find((r) => r.sched?.type === 'switch' && r.sched.prevComm === 'my worker 1');
    expect(blocked?.comm).toBe('my worker 1');
    expect(blocked?.frames[0]?.symbol).toBe('__schedule');
  });
});

// ---------------------------------------------------------------------------------------------
// strace

const STRACE = 'strace-variants';

type TimeKind = 'tt' | 't' | 'ttt' | 'unix-ns';
interface StraceVariant {
  readonly file: string;
  /** `column`: `1234 ` prefix (-f to a file); `bracket`: `[pid 1234] ` (-f to stderr); `none`. */
  readonly pid: 'column' | 'bracket' | 'none';
  readonly time: TimeKind;
  readonly T: boolean;
  readonly yy: boolean;
}

const FF = files(STRACE, /^ff\.\d+\.txt$/);
const STRACE_VARIANTS: readonly StraceVariant[] = [
  { file: 'f-tt-T-yy.txt', pid: 'column', time: 'tt', T: true, yy: true },
  { file: 'f-ttt.txt', pid: 'column', time: 'ttt', T: false, yy: false },
  { file: 'f-t.txt', pid: 'column', time: 't', T: false, yy: false },
  { file: 'f-unix-ns.txt', pid: 'column', time: 'unix-ns', T: false, yy: false },
  { file: 'single-tt-T.txt', pid: 'none', time: 'tt', T: true, yy: false },
  { file: 'stderr-f-tt-T.txt', pid: 'bracket', time: 'tt', T: true, yy: false },
  ...FF.map((file) => ({ file, pid: 'none', time: 'tt', T: true, yy: false }) as const),
];

const TIME_RE: Record<TimeKind, string> = {
  tt: '\\d\\d:\\d\\d:\\d\\d\\.\\d{6}',
  t: '\\d\\d:\\d\\d:\\d\\d',
  ttt: '\\d+\\.\\d{6}',
  'unix-ns': '\\d+\\.\\d{9}',
};

interface RawStraceLine {
  readonly tid: number | null;
  readonly time: string;
  readonly body: string;
}

function straceLineRe(v: StraceVariant): RegExp {
  const pid =
    v.pid === 'column' ? '(?<pid>\\d+) +' : v.pid === 'bracket' ? '(?:\\[pid +(?<pid>\\d+)\\] )?' : '';
  return new RegExp(`^${pid}(?<time>${TIME_RE[v.time]}) (?<body>.*)$`);
}

function rawStrace(v: StraceVariant, line: string): RawStraceLine | null {
  const m = straceLineRe(v).exec(line);
  if (m === null) return null;
  const pid = m.groups?.['pid'];
  return { tid: pid === undefined ? null : Number(pid), time: group(m, 'time'), body: group(m, 'body') };
}

/** The time fields the parser should report for a raw time token. */
function straceTimes(v: StraceVariant, t: string): { startNs: bigint | null; timeOfDayNs: bigint | null } {
  if (v.time === 'ttt' || v.time === 'unix-ns') {
    const [s = '', f = ''] = t.split('.');
    return { startNs: secNs(s, f), timeOfDayNs: null };
  }
  const [hms = '', frac = ''] = t.split('.');
  const [h = 0, m = 0, s = 0] = hms.split(':').map(Number);
  return { startNs: null, timeOfDayNs: secNs(String(h * 3600 + m * 60 + s), frac) };
}

async function straceItems(file: string): Promise<{ lines: string[]; items: StraceItem[] }> {
  const lines = rawLines(text(`${STRACE}/${file}`));
  return { lines, items: await collect(parseStrace(feed(lines))) };
}

const syscalls = (items: readonly StraceItem[]): StraceSyscall[] =>
  items.filter((i): i is StraceSyscall => i.kind === 'syscall');

function tidOfFile(v: StraceVariant): number | null {
  return v.pid === 'none' && v.file.startsWith('ff.') ? Number(v.file.split('.')[1]) : null;
}

describe('strace variants recorded with strace 6.1 (test/fixtures/formats/strace-variants)', () => {
  it('has one -ff file per thread (main + server)', () => {
    expect(FF).toHaveLength(2);
  });

  for (const v of STRACE_VARIANTS) {
    it(`${v.file}: no issues; every call, signal and exit with its tid and time as printed`, async () => {
      const { lines, items } = await straceItems(v.file);
      expect(items.filter(isIssue)).toEqual([]);
      // Entry lines: `name(`, `--- SIG`, `+++ `; not `<... resumed>` halves nor continuations.
      const entries: { line: number; raw: RawStraceLine }[] = [];
      lines.forEach((l, i) => {
        const r = rawStrace(v, l);
        if (r !== null && /^(\w+\(|--- |\+\+\+ )/.test(r.body)) entries.push({ line: i + 1, raw: r });
      });
      // Split calls are emitted when they complete: compare by entry line, not by order.
      const events = items.filter((i) => i.kind !== 'issue');
      expect(events.map((e) => e.line).sort((a, b) => a - b)).toEqual(entries.map((e) => e.line));
      const byLine = new Map(entries.map((e) => [e.line, e.raw]));
      for (const e of events) {
        const raw = must(byLine.get(e.line), 'entry');
        expect(e.tid).toBe(raw.tid);
        expect({ startNs: e.startNs, timeOfDayNs: e.timeOfDayNs }).toEqual(straceTimes(v, raw.time));
        if (e.kind === 'syscall') expect(e.name).toBe(must(/^(\w+)\(/.exec(raw.body)?.[1], 'name'));
        if (e.kind === 'signal') expect(raw.body).toMatch(new RegExp(`^--- ${e.signal} `));
        if (e.kind === 'exit') expect(raw.body).toBe(`+++ exited with ${e.code} +++`);
      }
      // Every call with a -T duration on its (last) line carries exactly that duration.
      if (v.T) {
        for (const c of syscalls(items)) {
          const last = must(lines[(c.resumedLine ?? c.line) - 1], 'line');
          const d = / <(\d+)\.(\d{6})>$/.exec(last);
          if (d !== null) expect(c.durationNs, last).toBe(secNs(must(d[1], 's'), must(d[2], 'f')));
        }
      }
    });
  }

  it('the same program: the same application calls in every variant', async () => {
    for (const v of STRACE_VARIANTS.filter((x) => !x.file.startsWith('ff.'))) {
      const { items } = await straceItems(v.file);
      const calls = syscalls(items);
      const n = (name: string) => calls.filter((c) => c.name === name).length;
      const threaded = v.pid !== 'none';
      expect(n('connect'), v.file).toBe(1);
      expect(n('accept'), v.file).toBe(threaded ? 1 : 0); // no -f: the server thread is not traced
      expect(n('kill'), v.file).toBe(1);
      expect(n('clock_nanosleep'), v.file).toBe(2);
      expect(n('unlink'), v.file).toBe(1);
      expect(items.filter((i): i is StraceSignal => i.kind === 'signal').map((s) => s.signal)).toEqual([
        'SIGUSR1',
      ]);
      expect(items.filter((i): i is StraceExit => i.kind === 'exit')).toHaveLength(threaded ? 2 : 1);
      expect(new Set(calls.map((c) => c.tid)).size, v.file).toBe(
        threaded ? (v.pid === 'bracket' ? 3 : 2) : 1,
      );
    }
    // -ff: the two per-thread files together hold the same calls.
    const both = (await Promise.all(FF.map(async (f) => syscalls((await straceItems(f)).items)))).flat();
    expect(both.filter((c) => c.name === 'accept')).toHaveLength(1);
    expect(both.filter((c) => c.name === 'connect')).toHaveLength(1);
    expect(both.every((c) => c.tid === null)).toBe(true);
  });

  it('ENOENT open: errno, text, return value and (with -T) duration', async () => {
    for (const v of STRACE_VARIANTS.filter((x) => !x.file.startsWith('ff.') || x.file === FF[0])) {
      const { lines, items } = await straceItems(v.file);
      const lineNo = lines.findIndex((l) => l.includes('"missing.txt"')) + 1;
      const raw = must(lines[lineNo - 1], 'missing.txt line');
      const c = must(
        syscalls(items).find((x) => x.line === lineNo),
        `${v.file} openat`,
      );
      expect(c).toMatchObject({
        name: 'openat',
        ret: '-1',
        errno: 'ENOENT',
        errnoText: 'No such file or directory',
        category: 'file',
        resumedLine: null,
      });
      const d = / <(\d+)\.(\d{6})>$/.exec(raw);
      expect(c.durationNs).toBe(d === null ? null : secNs(must(d[1], 's'), must(d[2], 'f')));
    }
  });

  it('-yy: file path, socket endpoints and the peer of a connected socket', async () => {
    const { lines, items } = await straceItems('f-tt-T-yy.txt');
    const calls = syscalls(items);
    // write(3</tmp/sv/data.txt>, …)
    const wLine = lines.findIndex((l) => / write\(3<[^>]*data\.txt>/.test(l)) + 1;
    const path = must(/ write\(3<([^>]*)>/.exec(lines[wLine - 1] ?? '')?.[1], 'path');
    expect(calls.find((c) => c.line === wLine)?.fd).toEqual({ num: 3, kind: 'file', raw: path, path });
    // The client's write on the connected socket: local and peer from the decoration.
    const sLine = lines.findIndex((l) => / write\(5<TCP:\[/.test(l)) + 1;
    const sm = must(/ write\(5<TCP:\[(([\d.]+:\d+)->([\d.]+:\d+))\]>/.exec(lines[sLine - 1] ?? ''), 'socket');
    expect(calls.find((c) => c.line === sLine)?.fd).toEqual({
      num: 5,
      kind: 'socket',
      raw: `TCP:[${sm[1]}]`,
      protocol: 'TCP',
      local: sm[2],
      peer: sm[3],
    });
    // accept on the listening socket, split in two halves; the -T duration is on the resumed half.
    const aLine = lines.findIndex((l) => / accept\(3<TCP:/.test(l)) + 1;
    const rLine = lines.findIndex((l) => /<\.\.\. accept resumed>/.test(l)) + 1;
    const accept = must(
      calls.find((c) => c.name === 'accept'),
      'accept',
    );
    const resumed = lines[rLine - 1] ?? '';
    const ret = must(/ = (4<TCP:\[[^\]]+\]>) <(\d+)\.(\d{6})>$/.exec(resumed), 'accept ret');
    expect(accept).toMatchObject({ line: aLine, resumedLine: rLine, ret: ret[1], category: 'net' });
    expect(accept.durationNs).toBe(secNs(must(ret[2], 's'), must(ret[3], 'f')));
    expect(accept.fd?.local).toBe(
      must(/ accept\(3<TCP:\[([^\]]+)\]>/.exec(lines[aLine - 1] ?? '')?.[1], 'l'),
    );
    // futex WAIT between the threads: op and address.
    const fLine = lines.findIndex((l) => /futex\(0x[0-9a-f]+, FUTEX_WAIT/.test(l)) + 1;
    const fm = must(
      /futex\((0x[0-9a-f]+), (FUTEX_\w+(?:\|FUTEX_\w+)*)/.exec(lines[fLine - 1] ?? ''),
      'futex',
    );
    expect(calls.find((c) => c.line === fLine)).toMatchObject({
      name: 'futex',
      futexAddr: fm[1],
      futexOp: fm[2],
      category: 'lock',
    });
  });

  it('no -T: a split call lasts from its entry to its resumed line (-ttt and unix,ns)', async () => {
    for (const file of ['f-ttt.txt', 'f-unix-ns.txt']) {
      const { lines, items } = await straceItems(file);
      const a = lines.findIndex((l) => / accept\(/.test(l)) + 1;
      const r = lines.findIndex((l) => /<\.\.\. accept resumed>/.test(l)) + 1;
      const t = (n: number): bigint => {
        const m = must(/^\d+ (\d+)\.(\d+) /.exec(lines[n - 1] ?? ''), 'time');
        return secNs(must(m[1], 's'), must(m[2], 'f'));
      };
      const accept = must(
        syscalls(items).find((c) => c.name === 'accept'),
        'accept',
      );
      expect(accept).toMatchObject({ line: a, resumedLine: r, startNs: t(a), durationNs: t(r) - t(a) });
    }
  });

  it('signal delivery: SIGUSR1 with its siginfo and the tid that received it', async () => {
    const { lines, items } = await straceItems('f-tt-T-yy.txt');
    const n = lines.findIndex((l) => l.includes('--- SIGUSR1 ')) + 1;
    const m = must(/^(\d+) \S+ --- SIGUSR1 (\{.*\}) ---$/.exec(lines[n - 1] ?? ''), 'signal');
    expect(items.find((i) => i.kind === 'signal')).toMatchObject({
      line: n,
      tid: Number(m[1]),
      signal: 'SIGUSR1',
      info: m[2],
      stopped: false,
    });
  });

  it('to stderr: status lines spliced into clone3 are dropped, the call is whole', async () => {
    const { lines, items } = await straceItems('stderr-f-tt-T.txt');
    const n = lines.findIndex((l) => l.includes('clone3(')) + 1;
    expect(lines[n - 1]).toMatch(/strace: Process \d+ attached$/);
    const child = Number(must(/Process (\d+) attached/.exec(lines[n - 1] ?? '')?.[1], 'child'));
    const clone = syscalls(items).find((c) => c.name === 'clone3');
    expect(clone).toMatchObject({ line: n, tid: null, ret: String(child) });
    expect(clone?.args.endsWith(`=> {parent_tid=[${child}]}, 88`)).toBe(true);
    expect(syscalls(items).find((c) => c.name === 'accept')?.tid).toBe(child);
  });

  it('-ff: per-thread files carry no pid prefix; the tid is in the file name', () => {
    for (const f of FF) {
      const v = must(
        STRACE_VARIANTS.find((x) => x.file === f),
        f,
      );
      expect(tidOfFile(v)).toBeGreaterThan(0);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// JVM unified GC logs

const JVM = 'jvm-gc';

async function jvmItems(file: string): Promise<{ lines: string[]; items: GcParsedItem[] }> {
  const lines = rawLines(text(`${JVM}/${file}`));
  return { lines, items: await collect(parseJvmGcLog(feed(lines))) };
}
const gcEvents = (items: readonly GcParsedItem[]): GcEvent[] =>
  items.filter((i): i is GcEvent => i.kind === 'gc');

/** `GC(n) <phase…> [heap] <d>ms` end lines: pauses, concurrent phases, cycles with a duration. */
const GC_END = /\] GC\((\d+)\) ((?:Pause|Concurrent|Garbage Collection)[^\n]*?) ([\d.]+)ms$/;

function sizeBytes(s: string): bigint {
  const unit = s.slice(-1);
  const n = BigInt(s.slice(0, -1));
  return unit === 'K' ? n * 1024n : unit === 'M' ? n * 1024n * 1024n : unit === 'G' ? n << 30n : n;
}

/** Decorators of a line → the clock and time the parser should use; tid when printed. */
function decorations(line: string): {
  clock: string;
  timeNs: bigint;
  tid: number | null;
  uptimeNs: bigint | null;
} {
  const decos = must(/^((?:\[[^\]]*\])+)/.exec(line)?.[1], 'decorators')
    .slice(1, -1)
    .split('][')
    .map((d) => d.trim());
  let clock = '';
  let timeNs = 0n;
  let tid: number | null = null;
  let uptimeNs: bigint | null = null;
  for (const d of decos) {
    const iso = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.(\d{3})([+-]\d{4})$/.exec(d);
    if (iso !== null) {
      const off = must(iso[3], 'offset');
      const sign = off.startsWith('-') ? -1 : 1;
      const offMin = sign * (Number(off.slice(1, 3)) * 60 + Number(off.slice(3, 5)));
      const ms = BigInt(Date.parse(`${iso[1]}.${iso[2]}Z`)) - BigInt(offMin) * 60_000n;
      clock = 'realtime';
      timeNs = ms * 1_000_000n;
      continue;
    }
    const up = /^(\d+)\.(\d+)s$/.exec(d);
    if (up !== null) uptimeNs = secNs(must(up[1], 's'), must(up[2], 'f'));
    const upNs = /^(\d+)ns$/.exec(d);
    if (upNs !== null) uptimeNs = BigInt(must(upNs[1], 'ns'));
    if (/^\d+$/.test(d)) tid = Number(d);
  }
  if (clock === '') {
    clock = 'uptime';
    timeNs = must(uptimeNs, 'uptime');
  }
  return { clock, timeNs, tid, uptimeNs };
}

const JVM_FILES = [
  'parallel.log',
  'serial.log',
  'zgc.log',
  'g1-utctime-uptimenanos-tid-level-tags.log',
  'g1-uptime-level-tags.log',
  'g1-time-tid.log',
  'g1-safepoint.log',
];

describe('JDK 17 unified GC logs (test/fixtures/formats/jvm-gc)', () => {
  for (const file of JVM_FILES) {
    it(`${file}: no issues; one event per GC end line, phase/gcId/duration/clock/heap as printed`, async () => {
      const { lines, items } = await jvmItems(file);
      expect(items.filter(isIssue)).toEqual([]);
      const events = gcEvents(items);
      const ends = lines.map((l, i) => ({ n: i + 1, l, m: GC_END.exec(l) })).filter((x) => x.m !== null);
      expect(events.map((e) => e.line)).toEqual(ends.map((e) => e.n));
      for (const [k, e] of events.entries()) {
        const { l, m } = must(ends[k], 'end line');
        const body = must(m?.[2], 'body');
        const dur = msNs(must(m?.[3], 'ms'));
        const d = decorations(l);
        expect(e.gcId).toBe(Number(m?.[1]));
        expect(e.durationNs).toBe(dur);
        expect(e.pause).toBe(body.startsWith('Pause'));
        expect(e.clock).toBe(d.clock);
        expect(e.startNs).toBe(d.timeNs - dur);
        expect(e.tid).toBe(d.tid);
        if (d.clock !== 'uptime' && d.uptimeNs !== null) expect(e.uptimeStartNs).toBe(d.uptimeNs - dur);
        // `Pause Young (Normal) (G1 Evacuation Pause) 6M->1M(18M)`: phase (with G1's young-GC
        // kind), cause, heap.
        const h =
          /^(?<phase>Pause (?:Young|Full|Remark|Cleanup)(?: \((?:Normal|Concurrent Start|Prepare Mixed|Mixed)\))?)(?: \((?<cause>.+)\))? (?<b>\d+[KMG])->(?<a>\d+[KMG])\((?<t>\d+[KMG])\)$/.exec(
            body,
          );
        if (file !== 'zgc.log') expect(h, body).not.toBeNull();
        if (h !== null) {
          expect(e.phase).toBe(group(h, 'phase'));
          expect(e.cause).toBe(h.groups?.['cause']);
          expect(e.heapBeforeBytes).toBe(sizeBytes(group(h, 'b')));
          expect(e.heapAfterBytes).toBe(sizeBytes(group(h, 'a')));
          expect(e.heapTotalBytes).toBe(sizeBytes(group(h, 't')));
        } else {
          expect(e.phase).toBe(body);
        }
      }
    });
  }

  it('every collector and decorator set ends with the System.gc() full pause', async () => {
    for (const file of JVM_FILES.filter((f) => f !== 'zgc.log')) {
      const { lines, items } = await jvmItems(file);
      const last = must(gcEvents(items).at(-1), file);
      const raw = must(lines[last.line - 1], 'line');
      const id = Number(must(/GC\((\d+)\) Pause Full \(System\.gc\(\)\)/.exec(raw)?.[1], raw));
      expect(last).toMatchObject({ phase: 'Pause Full', cause: 'System.gc()', pause: true, gcId: id });
      // GC ids count up from 0 without gaps (every collection's pause is in the log).
      const ids = [...new Set(gcEvents(items).map((e) => e.gcId))];
      expect(ids).toEqual(ids.map((_, i) => i));
    }
  });

  it('G1 under three decorator sets: clocks, tids and ns precision', async () => {
    const utc = gcEvents((await jvmItems('g1-utctime-uptimenanos-tid-level-tags.log')).items);
    const up = gcEvents((await jvmItems('g1-uptime-level-tags.log')).items);
    const tt = gcEvents((await jvmItems('g1-time-tid.log')).items);
    expect(utc.every((e) => e.clock === 'realtime' && e.tzOffsetMinutes === 0 && e.tid !== null)).toBe(true);
    expect(utc.every((e) => e.uptimeStartNs !== undefined)).toBe(true);
    expect(up.every((e) => e.clock === 'uptime' && e.tid === null && e.uptimeStartNs === undefined)).toBe(
      true,
    );
    expect(tt.every((e) => e.clock === 'realtime' && e.tid !== null && e.uptimeStartNs === undefined)).toBe(
      true,
    );
    // One VM thread logs every pause.
    expect(new Set(utc.map((e) => e.tid)).size).toBe(1);
    expect(new Set(tt.map((e) => e.tid)).size).toBe(1);
    for (const evs of [utc, up, tt]) expect(evs.every((e) => e.phase.startsWith('Pause '))).toBe(true);
  });

  it('-Xlog:gc,safepoint: every Safepoint line with its times', async () => {
    const { lines, items } = await jvmItems('g1-safepoint.log');
    const sps = items.filter((i): i is SafepointEvent => i.kind === 'safepoint');
    const SP =
      /^\[(\d+)\.(\d+)s\]\[info\]\[safepoint *\] Safepoint "(\w+)", Time since last: \d+ ns, Reaching safepoint: (\d+) ns, Cleanup: (\d+) ns, At safepoint: (\d+) ns, Total: (\d+) ns$/;
    const raw = lines.map((l, i) => ({ n: i + 1, m: SP.exec(l) })).filter((x) => x.m !== null);
    expect(raw.length).toBe(lines.filter((l) => l.includes('Safepoint "')).length);
    expect(sps.map((s) => s.line)).toEqual(raw.map((r) => r.n));
    for (const [k, s] of sps.entries()) {
      const m = must(raw[k]?.m, 'safepoint');
      const total = BigInt(must(m[7], 'total'));
      expect(s).toEqual({
        kind: 'safepoint',
        line: raw[k]?.n,
        runtime: 'jvm',
        operation: m[3],
        tid: null,
        clock: 'uptime',
        startNs: secNs(must(m[1], 's'), must(m[2], 'f')) - total,
        durationNs: total,
        reachingNs: BigInt(must(m[4], 'r')),
        cleanupNs: BigInt(must(m[5], 'c')),
        atSafepointNs: BigInt(must(m[6], 'a')),
      });
    }
  });

  it('ZGC: pauses and concurrent phases per cycle, pause flag from the name', async () => {
    const { lines, items } = await jvmItems('zgc.log');
    const ev = gcEvents(items);
    const cycles = lines.filter(
      (l) => /\] GC\(\d+\) Garbage Collection \(/.test(l) && l.includes('->'),
    ).length;
    expect(cycles).toBeGreaterThan(0);
    for (const phase of ['Pause Mark Start', 'Pause Mark End', 'Pause Relocate Start', 'Concurrent Mark']) {
      const n = lines.filter((l) => new RegExp(`\\] GC\\(\\d+\\) ${phase} [\\d.]+ms$`).test(l)).length;
      expect(
        ev.filter((e) => e.phase === phase),
        phase,
      ).toHaveLength(n);
      expect(n).toBe(cycles);
    }
    expect(ev.filter((e) => e.pause).every((e) => e.phase.startsWith('Pause '))).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------
// Go gctrace (Go 1.19)

describe('Go 1.19 GODEBUG=gctrace=1 (test/fixtures/formats/go-gctrace)', () => {
  it('three phases per line laid end to end from @start; heap, number and forced as printed', async () => {
    const lines = rawLines(text('go-gctrace/gctrace.txt'));
    const items = await collect(parseGoGctrace(feed(lines)));
    expect(items.filter(isIssue)).toEqual([]);
    const LINE =
      /^gc (\d+) @(\d+)\.(\d+)s \d+%: ([\d.]+)\+([\d.]+)\+([\d.]+) ms clock, [\d.+/]+ ms cpu, (\d+)->(\d+)->(\d+) MB, \d+ MB goal, \d+ MB stacks, \d+ MB globals, \d+ P( \(forced\))?$/;
    const gcLines = lines.filter((l) => l.startsWith('gc '));
    expect(gcLines.every((l) => LINE.test(l))).toBe(true);
    const ev = items.filter((i): i is GcEvent => i.kind === 'gc');
    expect(ev).toHaveLength(3 * gcLines.length);
    const MIB = 1024n * 1024n;
    gcLines.forEach((l, k) => {
      const m = must(LINE.exec(l), l);
      const start = secNs(must(m[2], 's'), must(m[3], 'f'));
      const [a, b, c] = [msNs(must(m[4], 'a')), msNs(must(m[5], 'b')), msNs(must(m[6], 'c'))];
      const forced = m[10] !== undefined;
      const [e1, e2, e3] = [ev[3 * k], ev[3 * k + 1], ev[3 * k + 2]];
      const common = {
        kind: 'gc',
        line: lines.indexOf(l) + 1,
        runtime: 'go',
        tid: null,
        clock: 'process-start',
        gcId: Number(m[1]),
      };
      expect(e1).toEqual({
        ...common,
        ...(forced ? { cause: 'forced' } : {}),
        phase: 'sweep termination',
        pause: true,
        startNs: start,
        durationNs: a,
      });
      expect(e2).toMatchObject({ ...common, phase: 'mark and scan', startNs: start + a, durationNs: b });
      // Concurrent mark; `(forced)` (runtime.GC) is checked in the report, not asserted here.
      if (!forced) expect(e2?.pause).toBe(false);
      expect(e3).toMatchObject({
        ...common,
        phase: 'mark termination',
        pause: true,
        startNs: start + a + b,
        durationNs: c,
        heapBeforeBytes: BigInt(must(m[7], 'h0')) * MIB,
        heapAfterBytes: BigInt(must(m[8], 'h1')) * MIB,
      });
    });
    // The program ends with runtime.GC(): the last line is forced.
    expect(ev.at(-1)?.cause).toBe('forced');
    expect(ev.at(-1)?.gcId).toBe(gcLines.length);
  });
});

// ---------------------------------------------------------------------------------------------
// Zipkin v2 JSON from @opentelemetry/exporter-zipkin

interface ZipkinJson {
  traceId: string;
  id: string;
  parentId?: string;
  name: string;
  kind?: string;
  timestamp: number;
  duration: number;
  localEndpoint: { serviceName: string };
  tags: Record<string, string>;
}

describe('Zipkin v2 JSON POSTed by @opentelemetry/exporter-zipkin (test/fixtures/formats/zipkin)', () => {
  const posts = files('zipkin', /^post-\d+\.json$/);

  it('has the three recorded POST bodies', () => {
    expect(posts).toEqual(['post-1.json', 'post-2.json', 'post-3.json']);
  });

  for (const file of posts) {
    it(`${file}: every span as sent (ids, µs → ns exactly, kind, status, tags)`, async () => {
      const body = text(`zipkin/${file}`);
      const items = await collect(parseSpans(feed(rawLines(body)), 'zipkin-json'));
      expect(items.filter(isIssue)).toEqual([]);
      const spans = items.filter((i): i is SpanRecord => i.kind === 'span');
      const sent = JSON.parse(body) as ZipkinJson[];
      expect(spans).toHaveLength(sent.length);
      // Timestamps are below 2^53: the JSON numbers are exact; the text must say the same.
      for (const [k, z] of sent.entries()) {
        expect(Number.isSafeInteger(z.timestamp)).toBe(true);
        expect(body).toContain(
          `"id":"${z.id}","kind"`.replace(',"kind"', z.kind ? ',"kind"' : ',"timestamp"'),
        );
        const s = must(spans[k], 'span');
        const startNs = BigInt(z.timestamp) * 1000n;
        expect(s).toEqual({
          kind: 'span',
          line: 1,
          traceId: z.traceId,
          spanId: z.id,
          parentSpanId: z.parentId ?? null,
          name: z.name,
          spanKind: z.kind === undefined ? 'unspecified' : z.kind.toLowerCase(),
          service: z.localEndpoint.serviceName,
          startNs,
          endNs: startNs + BigInt(z.duration) * 1000n,
          status:
            z.tags['otel.status_code'] === 'ERROR'
              ? 'error'
              : z.tags['otel.status_code'] === 'OK'
                ? 'ok'
                : 'unset',
          attributes: z.tags,
          resource: { 'service.name': z.localEndpoint.serviceName },
        });
      }
    });
  }

  it('thread.id is the recording thread, as a string tag, on the spans that set it', async () => {
    const all: SpanRecord[] = [];
    for (const f of posts)
      for (const i of await collect(parseSpans(feed(rawLines(text(`zipkin/${f}`))), 'zipkin-json')))
        if (i.kind === 'span') all.push(i);
    const tids = all.map((s) => s.attributes['thread.id']).filter((t) => t !== undefined);
    const rawTids = [...text('zipkin/post-1.json').matchAll(/"thread\.id":"(\d+)"/g)].map((m) => m[1]);
    expect(tids.length).toBe(5);
    expect(new Set(tids)).toEqual(new Set(rawTids));
    expect(new Set(tids).size).toBe(1);
    // Parent links stay inside a trace; every trace has one root.
    const roots = all.filter((s) => s.parentSpanId === null);
    expect(roots.map((s) => s.name)).toEqual(['GET /orders/:id', 'POST /checkout', 'reindex']);
    for (const s of all)
      if (s.parentSpanId !== null)
        expect(all.find((p) => p.spanId === s.parentSpanId)?.traceId).toBe(s.traceId);
  });
});

// ---------------------------------------------------------------------------------------------
// Detection and fuzzing of the recorded variants

describe('recorded variants: detection and fuzzing', () => {
  const expected: Record<string, string> = {
    [PERF]: 'perf-script',
    [STRACE]: 'strace',
    [JVM]: 'jvm-unified',
    'go-gctrace': 'go-gctrace',
    zipkin: 'zipkin-json',
  };
  it('every recorded file is detected as its format', () => {
    for (const [dir, format] of Object.entries(expected))
      for (const f of files(dir, /\.(txt|log|json)$/))
        expect(detectFormat(readFileSync(new URL(`${dir}/${f}`, FORMATS)), f)?.format, `${dir}/${f}`).toBe(
          format,
        );
  });

  const ITERATIONS = Math.max(1, Number(process.env['FUZZ_ITERATIONS'] ?? 100) || 100);
  const SEED = Number(process.env['FUZZ_SEED'] ?? 1) || 1;
  const seeds = (dir: string, re: RegExp): Uint8Array[] =>
    files(dir, re).map((f) => readFileSync(new URL(`${dir}/${f}`, FORMATS)));
  const cases: [string, Uint8Array[], LineParseFn][] = [
    ['perf variants', seeds(PERF, /\.txt$/), (l) => parsePerfScript(l)],
    ['strace variants', seeds(STRACE, /\.txt$/), (l) => parseStrace(l)],
    ['jvm gc variants', seeds(JVM, /\.log$/), parseJvmGcLog],
    ['go gctrace 1.19', seeds('go-gctrace', /\.txt$/), parseGoGctrace],
    ['zipkin exporter', seeds('zipkin', /\.json$/), (l) => parseSpans(l, 'zipkin-json')],
  ];
  for (const [name, s, parse] of cases) {
    it(`fuzz: ${name} never throw, hang or emit malformed items`, async () => {
      expect(s.length).toBeGreaterThan(0);
      const r = await fuzzParser(name, s, parse, 'lines', { iterations: ITERATIONS, seed: SEED });
      expect(r.runs).toBe(s.length + ITERATIONS);
    });
  }
});
