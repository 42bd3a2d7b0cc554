import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { ThreadSighting } from '@threadreel/model';
import { parseThreadsJsonl, sniffThreadsJsonl, type ThreadsJsonlItem } from './threads-jsonl.js';
import { fuzzParser } from './testing/fuzz.js';

const fixture = (runtime: string): string =>
  readFileSync(
    fileURLToPath(new URL(`../../../test/fixtures/captures/${runtime}/threads.jsonl`, import.meta.url)),
    'utf8',
  );

function linesOf(text: string): AsyncIterable<string> {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return Readable.from(lines) as AsyncIterable<string>;
}

async function parse(text: string): Promise<ThreadsJsonlItem[]> {
  const out: ThreadsJsonlItem[] = [];
  for await (const item of parseThreadsJsonl(linesOf(text))) out.push(item);
  return out;
}

const sightings = (items: ThreadsJsonlItem[]): ThreadSighting[] =>
  items.filter((i): i is ThreadSighting => i.kind === 'thread');
const issues = (items: ThreadsJsonlItem[]) => items.filter((i) => i.kind === 'issue');

describe('parseThreadsJsonl on the real captures', () => {
  for (const runtime of ['java', 'node', 'python']) {
    it(`reads every line of ${runtime}/threads.jsonl`, async () => {
      const text = fixture(runtime);
      const items = await parse(text);
      expect(issues(items)).toEqual([]);
      const lines = text.split('\n').filter((l) => l.length > 0);
      const s = sightings(items);
      expect(s.length).toBe(lines.length);
      // Each sighting equals its line read with a regex, values as text (no JS number for ns).
      s.forEach((x, i) => {
        const m =
          /^\{"snapshot":(\d+),"tNs":"(\d+)","realtimeNs":"(\d+)","pid":(\d+),"tid":(\d+),"comm":"(.*)"\}$/.exec(
            lines[i] ?? '',
          );
        expect(m, lines[i]).not.toBeNull();
        expect(x).toEqual({
          kind: 'thread',
          line: i + 1,
          source: 'proc',
          clock: 'monotonic',
          timeNs: BigInt(m?.[2] ?? ''),
          realtimeNs: BigInt(m?.[3] ?? ''),
          snapshot: Number(m?.[1]),
          pid: Number(m?.[4]),
          tid: Number(m?.[5]),
          runtimeThreadId: null,
          name: JSON.parse(`"${m?.[6] ?? ''}"`) as string,
          event: 'snapshot',
        });
      });
    });
  }

  it('reads exact values of the java capture', async () => {
    const s = sightings(await parse(fixture('java')));
    expect(s[0]).toMatchObject({
      timeNs: 4_944_675_893_031n,
      realtimeNs: 1_795_303_748_718_123_396n,
      pid: 1516,
      tid: 1516,
      name: 'java',
      snapshot: 0,
    });
    expect(s.filter((x) => x.snapshot === 0).length).toBe(33);
    expect(s.at(-1)).toMatchObject({ snapshot: 5, tid: 1580, name: 'Attach Listener' });
  });
});

describe('parseThreadsJsonl field checks', () => {
  const good = '{"snapshot":1,"tNs":"10","realtimeNs":"20","pid":4,"tid":5,"comm":"w"}';
  const cases: [string, string][] = [
    ['not json', 'json'],
    ['{"snapshot":1', 'json'],
    ['[1,2]', 'json'],
    ['{"tNs":"10","pid":4,"tid":5,"comm":"w"}', 'snapshot'],
    ['{"snapshot":-1,"tNs":"10","pid":4,"tid":5,"comm":"w"}', 'snapshot'],
    ['{"snapshot":1.5,"tNs":"10","pid":4,"tid":5,"comm":"w"}', 'snapshot'],
    ['{"snapshot":1,"pid":4,"tid":5,"comm":"w"}', 'tNs'],
    ['{"snapshot":1,"tNs":"1e3","pid":4,"tid":5,"comm":"w"}', 'tNs'],
    ['{"snapshot":1,"tNs":"-5","pid":4,"tid":5,"comm":"w"}', 'tNs'],
    ['{"snapshot":1,"tNs":1.5,"pid":4,"tid":5,"comm":"w"}', 'tNs'],
    ['{"snapshot":1,"tNs":null,"pid":4,"tid":5,"comm":"w"}', 'tNs'],
    ['{"snapshot":1,"tNs":"10","realtimeNs":"x","pid":4,"tid":5,"comm":"w"}', 'realtimeNs'],
    ['{"snapshot":1,"tNs":"10","pid":"4","tid":5,"comm":"w"}', 'pid'],
    ['{"snapshot":1,"tNs":"10","pid":0,"tid":5,"comm":"w"}', 'pid'],
    ['{"snapshot":1,"tNs":"10","pid":4,"comm":"w"}', 'tid'],
    ['{"snapshot":1,"tNs":"10","pid":4,"tid":5}', 'comm'],
    ['{"snapshot":1,"tNs":"10","pid":4,"tid":5,"comm":7}', 'comm'],
    [`{"snapshot":1,"tNs":"10","pid":4,"tid":5,"comm":"${'x'.repeat(65)}"}`, 'comm'],
  ];
  it('names the bad field and keeps the good lines', async () => {
    const text = [good, ...cases.map(([l]) => l), '', good].join('\n');
    const items = await parse(text);
    expect(issues(items).map((i) => [i.line, i.field])).toEqual(cases.map(([, f], i) => [i + 2, f]));
    expect(issues(items).every((i) => i.kind === 'issue' && i.reason.length > 0)).toBe(true);
    expect(sightings(items).map((s) => s.line)).toEqual([1, cases.length + 3]);
  });

  it('accepts bare integers exactly, no realtimeNs, extra fields and a CRLF', async () => {
    const s = sightings(
      await parse('{"snapshot":0,"tNs":18446744073709551615,"pid":1,"tid":2,"comm":"a","x":true}\r\n'),
    );
    expect(s[0]?.timeNs).toBe(18_446_744_073_709_551_615n);
    expect(s[0]?.realtimeNs).toBeUndefined();
    expect(s[0]?.name).toBe('a');
  });
});

describe('sniffThreadsJsonl', () => {
  it('recognises threads.jsonl only', () => {
    expect(sniffThreadsJsonl(fixture('java').slice(0, 1024))).toBe(true);
    expect(sniffThreadsJsonl(fixture('python').slice(0, 60))).toBe(true);
    expect(sniffThreadsJsonl('{"phase":"start","generation":0}\n')).toBe(false);
    expect(sniffThreadsJsonl('{"recording":{"events":[')).toBe(false);
    expect(sniffThreadsJsonl('')).toBe(false);
  });
});

describe('parseThreadsJsonl fuzz', () => {
  it('never throws, hangs or yields malformed issues', async () => {
    const enc = new TextEncoder();
    const seeds = ['java', 'node', 'python'].map((r) => enc.encode(fixture(r)));
    const r = await fuzzParser('threads-jsonl', seeds, (lines) => parseThreadsJsonl(lines), 'lines', {
      iterations: 300,
    });
    expect(r.runs).toBe(303);
  });
});
