import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { ParseIssue, ThreadSighting } from '@threadreel/model';
import { detectFormat } from './formats.js';
import { fuzzParser } from './testing/fuzz.js';
import {
  parseThreadList,
  sniffThreadList,
  type ThreadListItem,
  type ThreadListLayout,
} from './thread-list.js';

/**
 * Thread listings recorded on this machine (test/fixtures/formats/thread-list, README.md there):
 * one Python process with six threads named by prctl(PR_SET_NAME), listed every way record.sh
 * shows. Expected values come from the workload's own names (threads.py) and from the raw text
 * read with a regex written for each layout, never from the parser.
 */

const DIR = new URL('../../../test/fixtures/formats/thread-list/', import.meta.url);
const text = (f: string): string => readFileSync(new URL(f, DIR), 'utf8');

function feed(t: string): AsyncIterable<string> {
  const lines = t.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return Readable.from(lines) as AsyncIterable<string>;
}

async function parse(t: string): Promise<ThreadListItem[]> {
  const out: ThreadListItem[] = [];
  for await (const x of parseThreadList(feed(t))) out.push(x);
  return out;
}

const sightings = (items: readonly ThreadListItem[]): ThreadSighting[] =>
  items.filter((i): i is ThreadSighting => i.kind === 'thread');
const issues = (items: readonly ThreadListItem[]): ParseIssue[] =>
  items.filter((i): i is ParseIssue => i.kind === 'issue');

/** threads.py's NAMES, cut to the kernel's 15 bytes, plus the main thread (python3). */
const NAMES: readonly string[] = (() => {
  const src = text('threads.py');
  const list = /NAMES = \[([^\]]*)\]/.exec(src)?.[1] ?? '';
  const names = [...list.matchAll(/"([^"]*)"/g)].map((m) => {
    const b = Buffer.from(m[1] ?? '', 'utf8').subarray(0, 15);
    return b.toString('utf8');
  });
  return ['python3', ...names];
})();

/** The recorded process: pid and (tid, name) pairs, from the `grep . …/comm` output. */
const TRUTH = (() => {
  const rows = text('grep-task-comm.txt')
    .trim()
    .split('\n')
    .map((l) => {
      const m = /^\/proc\/(\d+)\/task\/(\d+)\/comm:(.*)$/.exec(l);
      return { pid: Number(m?.[1]), tid: Number(m?.[2]), name: m?.[3] ?? '' };
    });
  const pid = rows[0]?.pid ?? 0;
  return { pid, rows };
})();

/** Sightings as [pid, tid, name] triples, in file order. */
const triples = (s: readonly ThreadSighting[]) => s.map((x) => [x.pid, x.tid, x.name]);

interface Case {
  readonly file: string;
  readonly layout: ThreadListLayout;
  /** Whether the listing names the threads (false: a command line column, or ps -m '-'). */
  readonly named: boolean;
  readonly withPid: boolean;
}

const SAME_PROCESS: readonly Case[] = [
  { file: 'proc-task-tab.tsv', layout: 'tsv', named: true, withPid: false },
  { file: 'proc-task-space.txt', layout: 'space', named: true, withPid: false },
  { file: 'grep-task-comm.txt', layout: 'proc-grep', named: true, withPid: true },
  { file: 'head-task-comm.txt', layout: 'proc-head', named: true, withPid: true },
  { file: 'head-task-status.txt', layout: 'proc-head', named: true, withPid: true },
  { file: 'cat-task-status.txt', layout: 'proc-status', named: true, withPid: true },
  { file: 'ps-L-o-pid-lwp-comm.txt', layout: 'ps', named: true, withPid: true },
  { file: 'ps-L-o-lwp-comm-pid.txt', layout: 'ps', named: true, withPid: true },
  { file: 'ps-T-o-spid-pid-ucmd.txt', layout: 'ps', named: true, withPid: true },
  { file: 'ps-L.txt', layout: 'ps', named: true, withPid: true },
  { file: 'ps-T.txt', layout: 'ps', named: true, withPid: true },
  { file: 'ps-Ll.txt', layout: 'ps', named: true, withPid: true },
  { file: 'ps-L-o-tid-pid-cmd.txt', layout: 'ps', named: false, withPid: true },
  { file: 'ps-L-o-pid-tid-args.txt', layout: 'ps', named: false, withPid: true },
  { file: 'ps-fT.txt', layout: 'ps', named: false, withPid: true },
  { file: 'ps-m-o-pid-tid-comm.txt', layout: 'ps', named: false, withPid: true },
];

describe('thread listings recorded from one process (test/fixtures/formats/thread-list)', () => {
  it('the truth: the grep listing holds the workload’s threads, names cut to 15 bytes', () => {
    expect(TRUTH.rows.map((r) => r.name).sort()).toEqual([...NAMES].sort());
    expect(TRUTH.rows.every((r) => r.tid >= TRUTH.pid)).toBe(true);
  });

  for (const c of SAME_PROCESS) {
    it(`${c.file}: detected as thread-list (${c.layout}), every thread read, no issues`, async () => {
      const t = text(c.file);
      const d = detectFormat(Buffer.from(t), 'upload');
      expect(d?.format).toBe('thread-list');
      expect(d?.confidence).toBeGreaterThan(0.5);
      expect(sniffThreadList(t)?.layout).toBe(c.layout);
      const items = await parse(t);
      expect(issues(items)).toEqual([]);
      const s = sightings(items);
      expect(triples(s)).toEqual(
        TRUTH.rows.map((r) => [c.withPid ? TRUTH.pid : null, r.tid, c.named ? r.name : null]),
      );
      for (const x of s) {
        expect(x).toMatchObject({ kind: 'thread', source: 'proc', clock: 'none', timeNs: null });
        expect(x.event).toBe('snapshot');
        // The sighting's line holds its tid.
        expect(t.split('\n')[x.line - 1]).toContain(String(x.tid));
      }
    });
  }

  it('a CMD/COMMAND column that is the command line is said so in the detection reason', () => {
    for (const f of [
      'ps-L-o-tid-pid-cmd.txt',
      'ps-L-o-pid-tid-args.txt',
      'ps-Lf.txt',
      'ps-fT.txt',
      'ps-eLf.txt',
    ])
      expect(sniffThreadList(text(f))?.reason, f).toMatch(/command line, not a thread name/);
    for (const f of [
      'ps-L.txt',
      'ps-T.txt',
      'ps-Ll.txt',
      'ps-T-o-spid-pid-ucmd.txt',
      'ps-L-o-lwp-comm-pid.txt',
    ])
      expect(sniffThreadList(text(f))?.reason, f).toMatch(/is the thread name \(comm\)/);
  });

  it('ps -Lf: kthreadd’s [kthreadd] is its comm; the python threads have no name', async () => {
    const t = text('ps-Lf.txt');
    const rows = t
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => {
        const m = /^\S+ +(\d+) +\d+ +(\d+) +\d+ +\d+ +\S+ +\S+ +\S+ (.*)$/.exec(l);
        const cmd = m?.[3] ?? '';
        return [Number(m?.[1]), Number(m?.[2]), /^\[.*\]$/.test(cmd) ? cmd.slice(1, -1) : null];
      });
    expect(rows[0]).toEqual([2, 2, 'kthreadd']);
    const items = await parse(t);
    expect(issues(items)).toEqual([]);
    expect(triples(sightings(items))).toEqual(rows);
    expect(rows.slice(1).map((r) => r[1])).toEqual(TRUTH.rows.map((r) => r.tid));
  });

  it('ps -eLf (own pid namespace): every task row, pid and tid from the PID and LWP columns', async () => {
    const t = text('ps-eLf.txt');
    const lines = t.trim().split('\n');
    expect(lines[0]).toMatch(/^UID +PID +PPID +LWP +C +NLWP +STIME +TTY +TIME +CMD$/);
    const rows = lines.slice(1).map((l) => {
      const m = /^\S+ +(\d+) +\d+ +(\d+) /.exec(l);
      return [Number(m?.[1]), Number(m?.[2]), null];
    });
    expect(rows.length).toBeGreaterThanOrEqual(NAMES.length + 1);
    const items = await parse(t);
    expect(issues(items)).toEqual([]);
    expect(triples(sightings(items))).toEqual(rows);
  });
});

describe('parseThreadList field checks', () => {
  it('tid<TAB>comm: a bad tid, an empty or too long name are issues; good lines stay', async () => {
    const items = await parse(
      [
        '12\tmain',
        '99999999\tbig',
        '4194304\ttoo big',
        '13\t',
        `14\t${'x'.repeat(65)}`,
        'x\ty',
        '15\tw 1',
      ].join('\n'),
    );
    expect(issues(items).map((i) => [i.line, i.field])).toEqual([
      [2, 'line'],
      [3, 'tid'],
      [4, 'line'],
      [5, 'comm'],
      [6, 'line'],
    ]);
    expect(triples(sightings(items))).toEqual([
      [null, 12, 'main'],
      [null, 15, 'w 1'],
    ]);
  });

  it('ps: a row with too few fields or a non-numeric LWP is an issue; a repeated header starts over', async () => {
    const items = await parse(
      [
        '  PID   LWP COMMAND',
        '  10    10 a b',
        '  10',
        '  10    xx c',
        '  PID   LWP COMMAND',
        '  11    12 d',
      ].join('\n'),
    );
    expect(issues(items).map((i) => [i.line, i.field])).toEqual([
      [3, 'columns'],
      [4, 'tid'],
    ]);
    expect(triples(sightings(items))).toEqual([
      [10, 10, 'a b'],
      [11, 12, 'd'],
    ]);
  });

  it('status: Name escapes undone, a block without Pid is an issue, a bad Tgid named', async () => {
    const items = await parse(
      [
        'Name:\ta\\\\b\\nc',
        'Tgid:\t7',
        'Pid:\t8',
        'Name:\tnopid',
        'Tgid:\t7',
        'Name:\tx',
        'Tgid:\tzz',
        'Pid:\t9',
        'junk',
      ].join('\n'),
    );
    expect(triples(sightings(items))).toEqual([
      [7, 8, 'a\\b\nc'],
      [null, 9, 'x'],
    ]);
    expect(issues(items).map((i) => [i.line, i.field])).toEqual([
      [4, 'Pid'],
      [7, 'Tgid'],
      [9, 'line'],
    ]);
  });

  it('head blocks: a path that is not /proc is rejected with its content; /proc/PID/comm is the main thread', async () => {
    const items = await parse(
      [
        '==> /proc/5/comm <==',
        'init',
        '',
        '==> notes.txt <==',
        'hello',
        '',
        '==> /proc/5/task/6/comm <==',
        'w',
      ].join('\n'),
    );
    expect(triples(sightings(items))).toEqual([
      [5, 5, 'init'],
      [5, 6, 'w'],
    ]);
    expect(issues(items).map((i) => [i.line, i.field])).toEqual([[4, 'path']]);
  });

  it('a line of no layout is an issue naming the line', async () => {
    const items = await parse('hello world\n');
    expect(issues(items).map((i) => [i.line, i.field])).toEqual([[1, 'line']]);
  });
});

describe('thread-list detection does not take other formats', () => {
  it('strace lines with a tid prefix stay strace', () => {
    const strace = '1234  read(3, "abc", 3) = 3\n1234  close(3) = 0\n1235  futex(0x7f, FUTEX_WAKE, 1) = 0\n';
    expect(detectFormat(Buffer.from(strace), 'x')?.format).toBe('strace');
  });

  it('plain prose, numbers with no name and tids past PID_MAX_LIMIT are no thread list', () => {
    expect(sniffThreadList('Dear team,\nslow today\n')).toBeNull();
    expect(sniffThreadList('12\n13\n')).toBeNull();
    expect(sniffThreadList('5000000 x\n')).toBeNull();
    expect(sniffThreadList('12 main\nnot a thread line\n')).toBeNull();
  });
});

describe('parseThreadList fuzz', () => {
  it('never throws, hangs or yields malformed issues', async () => {
    const enc = new TextEncoder();
    const seeds = SAME_PROCESS.map((c) => enc.encode(text(c.file)));
    const r = await fuzzParser('thread-list', seeds, (lines) => parseThreadList(lines), 'lines', {
      iterations: 300,
    });
    expect(r.runs).toBe(300 + seeds.length);
  });
});
