import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { ThreadSighting } from '@threadreel/model';
import { parseJstack, sniffJstack, type JstackParsedItem, type ParseJstackOptions } from './jstack.js';
import { fuzzParser } from './testing/fuzz.js';

const read = (rel: string): string =>
  readFileSync(fileURLToPath(new URL(`../../../test/fixtures/${rel}`, import.meta.url)), 'utf8');
const START = read('captures/java/jstack-start.txt');
const END = read('captures/java/jstack-end.txt');
const DEADLOCK = read('formats/jstack/deadlock.txt');

function linesOf(text: string): AsyncIterable<string> {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return Readable.from(lines) as AsyncIterable<string>;
}

async function parse(text: string, options?: ParseJstackOptions): Promise<JstackParsedItem[]> {
  const out: JstackParsedItem[] = [];
  for await (const item of parseJstack(linesOf(text), options)) out.push(item);
  return out;
}

const threads = (items: JstackParsedItem[]): ThreadSighting[] =>
  items.filter((i): i is ThreadSighting => i.kind === 'thread');
const issues = (items: JstackParsedItem[]) => items.filter((i) => i.kind === 'issue');

/** Header lines counted with plain text tests: quoted thread headers, plus JDK 17's nameless one. */
function headerLines(text: string): number[] {
  return text.split('\n').flatMap((l, i) => (/^("[^"]*" .*| ?os_prio=\d+ .*)nid=0x/.test(l) ? [i + 1] : []));
}

/** `2026-11-21 23:29:08` as if UTC, in ns. */
const wallNs = (text: string): bigint => BigInt(Date.parse(`${text.replace(' ', 'T')}Z`)) * 1_000_000n;

describe('parseJstack on the real scenario dumps', () => {
  it('emits one sighting per thread entry, at its header line', async () => {
    for (const text of [START, END]) {
      const items = await parse(text);
      expect(issues(items)).toEqual([]);
      const t = threads(items);
      expect(t.map((x) => x.line)).toEqual(headerLines(text));
      expect(t.length).toBe(33);
      // Java threads are the ones with `#N`; VM threads have no java id.
      const javaCount = text.split('\n').filter((l) => /^"[^"]*" #\d+ /.test(l)).length;
      expect(t.filter((x) => x.runtimeThreadId !== null).length).toBe(javaCount);
      const date = text.split('\n')[0] ?? '';
      expect(t.every((x) => x.clock === 'local-wall' && x.timeNs === wallNs(date) && x.snapshot === 0)).toBe(
        true,
      );
      expect(t.every((x) => x.source === 'jstack' && x.event === 'snapshot' && x.pid === null)).toBe(true);
    }
  });

  it('reads a parked worker exactly', async () => {
    const t = threads(await parse(START));
    const w = t.find((x) => x.name === 'http-worker-1');
    expect(w).toEqual({
      kind: 'thread',
      line: 90, // grep -n http-worker-1 jstack-start.txt
      source: 'jstack',
      clock: 'local-wall',
      timeNs: wallNs('2026-11-21 23:29:08'),
      snapshot: 0,
      pid: null,
      tid: 0x606,
      runtimeThreadId: '17',
      name: 'http-worker-1',
      event: 'snapshot',
      state: 'WAITING',
      daemon: false,
      priority: 5,
      osPriority: 0,
      cpuNs: 59_310_000n,
      topFrames: [
        'jdk.internal.misc.Unsafe.park(java.base@17.0.15/Native Method)',
        'java.util.concurrent.locks.LockSupport.park(java.base@17.0.15/LockSupport.java:341)',
        'java.util.concurrent.locks.AbstractQueuedSynchronizer$ConditionNode.block(java.base@17.0.15/AbstractQueuedSynchronizer.java:506)',
        'java.util.concurrent.ForkJoinPool.unmanagedBlock(java.base@17.0.15/ForkJoinPool.java:3465)',
        'java.util.concurrent.ForkJoinPool.managedBlock(java.base@17.0.15/ForkJoinPool.java:3436)',
        'java.util.concurrent.locks.AbstractQueuedSynchronizer$ConditionObject.await(java.base@17.0.15/AbstractQueuedSynchronizer.java:1630)',
        'java.util.concurrent.LinkedBlockingQueue.take(java.base@17.0.15/LinkedBlockingQueue.java:435)',
        'java.util.concurrent.ThreadPoolExecutor.getTask(java.base@17.0.15/ThreadPoolExecutor.java:1062)',
      ],
      locks: [
        'parking to wait for <0x00000000ff32ce20> (a java.util.concurrent.locks.AbstractQueuedSynchronizer$ConditionObject)',
      ],
    });
    const fin = t.find((x) => x.name === 'Finalizer');
    expect(fin).toMatchObject({
      daemon: true,
      priority: 8,
      state: 'WAITING',
      tid: 0x5f5,
      runtimeThreadId: '3',
    });
    expect(fin?.locks).toEqual([
      'waiting on <0x00000000fc0c5c80> (a java.lang.ref.ReferenceQueue$Lock)',
      'locked <0x00000000fc0c5c80> (a java.lang.ref.ReferenceQueue$Lock)',
    ]);
    const vm = t.find((x) => x.name === 'VM Thread');
    expect(vm).toMatchObject({ runtimeThreadId: null, tid: 0x5f3, osPriority: 0, topFrames: [], locks: [] });
    expect(vm?.daemon).toBeUndefined();
    expect(vm?.state).toBeUndefined();
    // JDK 17 prints one VM thread without its quoted name.
    const nameless = t.filter((x) => x.name === null);
    expect(nameless.map((x) => [x.line, x.tid])).toEqual([[184, 0x601]]);
  });

  it('resolves the dump time in a time zone when given one', async () => {
    const t = threads(await parse(START, { timeZone: 'Europe/Berlin', pid: 1516 }));
    expect(t[0]?.clock).toBe('realtime');
    expect(t[0]?.timeNs).toBe(wallNs('2026-11-21 22:29:08'));
    expect(t[0]?.pid).toBe(1516);
    const bad = await parse(START, { timeZone: 'Mars/Olympus' });
    expect(issues(bad).map((i) => i.field)).toEqual(['timeZone']);
    expect(threads(bad)[0]?.clock).toBe('local-wall');
  });

  it('reads the deadlock dump: blocked threads, ownable synchronizers and the deadlock header', async () => {
    const items = await parse(DEADLOCK);
    expect(issues(items)).toEqual([]);
    const t = threads(items);
    expect(t.length).toBe(headerLines(DEADLOCK).length);
    const a = t.find((x) => x.name === 'deadlock-a');
    const aLines = DEADLOCK.split('\n');
    const aLine = aLines.findIndex((l) => l.startsWith('"deadlock-a" #')) + 1;
    expect(a?.line).toBe(aLine);
    expect(a?.state).toBe('BLOCKED');
    const waitLock = /- waiting to lock <(0x[0-9a-f]+)>/.exec(aLines[aLine + 2] ?? '')?.[1];
    const held = /- locked <(0x[0-9a-f]+)>/.exec(aLines[aLine + 3] ?? '')?.[1];
    expect(a?.locks).toEqual([
      `waiting to lock <${waitLock}> (a java.lang.Object)`,
      `locked <${held}> (a java.lang.Object)`,
    ]);
    expect(a?.topFrames?.[0]).toMatch(/^Contention\.lambda\$deadlock\$\d\(Contention\.java:\d+\)$/);
    const headers = items.filter((i) => i.kind === 'header');
    expect(headers.length).toBe(1);
    expect(headers[0]?.key).toBe('jstack.deadlock');
    const value = JSON.parse(headers[0]?.value ?? '') as {
      snapshot: number;
      threads: { thread: string; waiting: string; heldBy: string }[];
    };
    expect(value.snapshot).toBe(0);
    expect(value.threads.map((x) => [x.thread, x.heldBy])).toEqual([
      ['deadlock-a', 'deadlock-b'],
      ['deadlock-b', 'deadlock-a'],
    ]);
    expect(value.threads[0]?.waiting).toMatch(
      /^waiting to lock monitor 0x[0-9a-f]+ \(object 0x[0-9a-f]+, a java\.lang\.Object\)$/,
    );
    // The "Java stack information" repeat did not become extra threads or frames.
    expect(t.filter((x) => x.name === 'deadlock-a').length).toBe(1);
    expect(a?.topFrames?.length).toBe(3);
    const attach = t.find((x) => x.name === 'Attach Listener');
    expect(attach?.locks).toEqual([]);
  });
});

describe('parseJstack edge cases', () => {
  it('numbers several dumps in one file', async () => {
    const t = threads(await parse(START + END));
    expect(t.length).toBe(66);
    expect(t.filter((x) => x.snapshot === 1).length).toBe(33);
    expect(t[40]?.timeNs).toBe(wallNs('2026-11-21 23:29:13'));
    expect(t[40]?.line).toBeGreaterThan(START.split('\n').length - 1);
  });

  it('reads a dump without its header (clock none), JDK 19+ decimal nid and [tid], jcmd pid line', async () => {
    const text = [
      '"main" #1 [4321] prio=5 os_prio=0 cpu=10.50ms elapsed=1.00s tid=0x00007f0000000000 nid=4321 runnable  [0x1]',
      '   java.lang.Thread.State: RUNNABLE',
      '\tat Main.main(Main.java:3)',
      '',
      '"odd "name"" #2 daemon prio=9 os_prio=0 tid=0x1 nid=0x10 waiting on condition',
      '"bad" #3 prio=5 os_prio=0 tid=0x1 nid=0xZZ runnable',
    ].join('\n');
    const items = await parse(text);
    const t = threads(items);
    expect(t.map((x) => [x.name, x.tid, x.runtimeThreadId, x.clock, x.timeNs, x.snapshot])).toEqual([
      ['main', 4321, '1', 'none', null, 0],
      ['odd "name"', 16, '2', 'none', null, 0],
      ['bad', null, '3', 'none', null, 0],
    ]);
    expect(t[0]?.cpuNs).toBe(10_500_000n);
    expect(issues(items)).toEqual([
      { kind: 'issue', line: 6, field: 'nid', reason: "unreadable nid '0xZZ'" },
    ]);
    const jcmd = threads(await parse(`4242:\n${START}`));
    expect(jcmd.every((x) => x.pid === 4242)).toBe(true);
  });

  it('reports a file without thread entries and ignores stray text', async () => {
    expect(issues(await parse('hello\nworld\n')).map((i) => i.field)).toEqual(['thread']);
    expect(await parse('')).toEqual([]);
    const t = threads(await parse(`garbage line\n${DEADLOCK}\ntrailing \tat nothing`));
    expect(t.length).toBe(headerLines(DEADLOCK).length);
  });
});

describe('sniffJstack', () => {
  it('recognises dumps only', () => {
    expect(sniffJstack(START.slice(0, 1024))).toBe(true);
    expect(sniffJstack(DEADLOCK.slice(0, 1024))).toBe(true);
    expect(
      sniffJstack(
        '"main" #1 prio=5 os_prio=0 tid=0x1 nid=0x2 runnable\n   java.lang.Thread.State: RUNNABLE\n',
      ),
    ).toBe(true);
    expect(sniffJstack('{"recording":{"events":[')).toBe(false);
    expect(sniffJstack('"main" said hello\n')).toBe(false);
  });
});

describe('parseJstack fuzz', () => {
  it('never throws, hangs or yields malformed issues', async () => {
    const enc = new TextEncoder();
    const r = await fuzzParser(
      'jstack',
      [enc.encode(START), enc.encode(DEADLOCK)],
      (lines) => parseJstack(lines),
      'lines',
      { iterations: 300 },
    );
    expect(r.runs).toBe(302);
  });
});
