import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { THREAD_STATES, type LaneItemDto, type ThreadState } from '@threadreel/model';
import {
  buildFlameTree,
  decimalTraceIdToHex,
  defaultResolution,
  extractTraceIds,
  isShort,
  levelOfDetail,
  paddedWindow,
  samplingPeriodNs,
  type LodSegment,
} from './replay.js';

function lane(durations: readonly number[], states: readonly ThreadState[], start = 1_000n): LodSegment[] {
  const out: LodSegment[] = [];
  let t = start;
  durations.forEach((d, i) => {
    const end = t + BigInt(d);
    out.push({ startNs: t, endNs: end, state: states[i % states.length] ?? 'cpu', source: 'sched' });
    t = end;
  });
  return out;
}

function timePerState(items: readonly LaneItemDto[]): Map<string, bigint> {
  const m = new Map<string, bigint>();
  for (const it of items) {
    if (it.kind === 'segment') {
      const ns = BigInt(it.endNs) - BigInt(it.startNs);
      if (ns > 0n) m.set(it.state, (m.get(it.state) ?? 0n) + ns);
    } else for (const [s, ns] of Object.entries(it.summary)) m.set(s, (m.get(s) ?? 0n) + BigInt(ns ?? '0'));
  }
  return m;
}

function inputPerState(segs: readonly LodSegment[]): Map<string, bigint> {
  const m = new Map<string, bigint>();
  for (const s of segs) if (s.endNs > s.startNs) m.set(s.state, (m.get(s.state) ?? 0n) + s.endNs - s.startNs);
  return m;
}

describe('levelOfDetail', () => {
  it('sends segments of at least one pixel whole, with their detail', () => {
    const segs: LodSegment[] = [
      { startNs: 0n, endNs: 100n, state: 'cpu', source: 'sched' },
      {
        startNs: 100n,
        endNs: 400n,
        state: 'lock',
        source: 'strace',
        syscall: 'futex',
        lockId: 'futex:0x1',
        wakerThreadId: '7',
        blockedStackId: '42',
      },
    ];
    const items = levelOfDetail(segs, 100n);
    expect(items).toEqual([
      { kind: 'segment', startNs: '0', endNs: '100', state: 'cpu', source: 'sched' },
      {
        kind: 'segment',
        startNs: '100',
        endNs: '400',
        state: 'lock',
        source: 'strace',
        syscall: 'futex',
        lockId: 'futex:0x1',
        wakerThreadId: '7',
        blockedStackId: '42',
      },
    ]);
  });

  it('merges sub-pixel runs into summaries keeping time per state and the main state', () => {
    // 30 segments of 10 ns alternating cpu (x2) / runqueue at 100 ns per pixel.
    const segs = lane(new Array<number>(30).fill(10), ['cpu', 'cpu', 'runqueue']);
    const items = levelOfDetail(segs, 100n);
    expect(items.length).toBe(3);
    for (const it of items) {
      expect(it.kind).toBe('summary');
      if (it.kind === 'summary') {
        expect(it.state).toBe('cpu');
        expect(it.count).toBe(10);
      }
    }
    expect(timePerState(items)).toEqual(inputPerState(segs));
  });

  it('cuts a run at a gap of a pixel or more', () => {
    const segs: LodSegment[] = [
      { startNs: 0n, endNs: 10n, state: 'cpu', source: 'sched' },
      { startNs: 10n, endNs: 20n, state: 'net', source: 'strace' },
      { startNs: 500n, endNs: 510n, state: 'file', source: 'strace', target: '/wal' },
    ];
    const items = levelOfDetail(segs, 100n);
    expect(items.map((i) => i.kind)).toEqual(['summary', 'segment']);
    expect(items[1]).toMatchObject({ state: 'file', target: '/wal' });
  });

  it('preserves sums and keeps at most ~2 items per pixel (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 5000 }), { minLength: 0, maxLength: 400 }),
        fc.array(fc.constantFrom(...THREAD_STATES), { minLength: 1, maxLength: 5 }),
        fc.integer({ min: 1, max: 2000 }),
        (durations, states, res) => {
          const segs = lane(durations, states);
          const items = levelOfDetail(segs, BigInt(res));
          expect(timePerState(items)).toEqual(inputPerState(segs));
          const extent = durations.reduce((a, d) => a + d, 0);
          expect(items.length).toBeLessThanOrEqual(2 * Math.ceil(extent / res) + 2);
          for (const it of items) {
            if (it.kind === 'segment') continue;
            expect(BigInt(it.endNs) - BigInt(it.startNs)).toBeLessThan(2n * BigInt(res));
          }
          // Items are in time order and never overlap.
          for (let i = 1; i < items.length; i++)
            expect(BigInt(items[i]?.startNs ?? 0)).toBeGreaterThanOrEqual(BigInt(items[i - 1]?.endNs ?? 0));
          // Segments at least one pixel long are always sent whole.
          const wide = segs.filter((s) => s.endNs - s.startNs >= BigInt(res)).length;
          expect(items.filter((i) => i.kind === 'segment').length).toBeGreaterThanOrEqual(wide);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('buildFlameTree', () => {
  it('merges common prefixes, sums values and sample counts, sorts children by name', () => {
    const tree = buildFlameTree([
      { frames: ['main', 'handle', 'hash'], value: 3, samples: 3 },
      { frames: ['main', 'handle', 'parse'], value: 1, samples: 1 },
      { frames: ['main', 'gc'], value: 2, samples: 2 },
      { frames: ['main'], value: 1, samples: 1 },
    ]);
    expect(tree).toEqual({
      name: 'all',
      value: 7,
      samples: 7,
      children: [
        {
          name: 'main',
          value: 7,
          samples: 7,
          children: [
            { name: 'gc', value: 2, samples: 2, children: [] },
            {
              name: 'handle',
              value: 4,
              samples: 4,
              children: [
                { name: 'hash', value: 3, samples: 3, children: [] },
                { name: 'parse', value: 1, samples: 1, children: [] },
              ],
            },
          ],
        },
      ],
    });
  });

  it('weights by ns with a separate sample count (off-CPU)', () => {
    const tree = buildFlameTree([
      { frames: ['run', 'futex_wait'], value: 5_000_000, samples: 2 },
      { frames: ['run', 'futex_wait'], value: 1_000_000, samples: 1 },
    ]);
    expect(tree.value).toBe(6_000_000);
    expect(tree.samples).toBe(3);
    expect(tree.children[0]?.children[0]).toEqual({
      name: 'futex_wait',
      value: 6_000_000,
      samples: 3,
      children: [],
    });
  });

  it('is an empty root for no stacks', () => {
    expect(buildFlameTree([])).toEqual({ name: 'all', value: 0, samples: 0, children: [] });
  });
});

describe('extractTraceIds', () => {
  const id = '4bf92f3577b34da6a3ce929d0e0e4736';

  it('reads a W3C traceparent', () => {
    expect(extractTraceIds(`traceparent: 00-${id}-00f067aa0ba902b7-01`)).toEqual([
      { traceId: id, from: 'traceparent', text: `00-${id}-00f067aa0ba902b7-01` },
    ]);
  });

  it('reads a traceparent inside a URL', () => {
    const found = extractTraceIds(
      `see https://apm.example.com/replay?traceparent=00-${id}-00f067aa0ba902b7-01&x=1 please`,
    );
    expect(found).toEqual([{ traceId: id, from: 'traceparent', text: `00-${id}-00f067aa0ba902b7-01` }]);
  });

  it('reads a bare 32-hex id, and one in a URL path', () => {
    expect(extractTraceIds(`slow request ${id.toUpperCase()} took 2s`)).toEqual([
      { traceId: id, from: 'hex', text: id.toUpperCase() },
    ]);
    expect(extractTraceIds(`http://localhost:3000/t/${id}?at=5`)).toEqual([
      { traceId: id, from: 'url', text: id },
    ]);
  });

  it('reads trace_id= and traceId":" fields (16 hex padded)', () => {
    expect(extractTraceIds(`level=info trace_id=${id} span_id=00f067aa0ba902b7 msg=done`)).toEqual([
      { traceId: id, from: 'field', text: `trace_id=${id}` },
    ]);
    expect(extractTraceIds(`{"msg":"x","traceId":"${id}"}`)[0]).toMatchObject({ traceId: id, from: 'field' });
    expect(extractTraceIds('trace-id: a3ce929d0e0e4736')[0]).toMatchObject({
      traceId: '0000000000000000a3ce929d0e0e4736',
      from: 'field',
    });
  });

  it('converts Datadog decimal ids to the low 64 bits, padded to 32 hex', () => {
    // 0xa3ce929d0e0e4736 = 11803532876627986230
    expect(decimalTraceIdToHex('11803532876627986230')).toBe('0000000000000000a3ce929d0e0e4736');
    expect(extractTraceIds('{"dd.trace_id":"11803532876627986230","dd.span_id":"1"}')).toEqual([
      {
        traceId: '0000000000000000a3ce929d0e0e4736',
        from: 'decimal',
        text: 'trace_id":"11803532876627986230',
      },
    ]);
    expect(extractTraceIds('x-datadog-trace-id: 1234')[0]).toMatchObject({
      traceId: '000000000000000000000000000004d2',
      from: 'decimal',
    });
    // Beyond 64 bits: not a Datadog id.
    expect(decimalTraceIdToHex('18446744073709551616')).toBeNull();
    expect(decimalTraceIdToHex('0')).toBeNull();
  });

  it('keeps each id once, in order, and ignores all-zero or over-long hex', () => {
    const other = 'c88e5269bd26bb8dc859f18395f57448';
    const text = `a ${other} b 00-${id}-00f067aa0ba902b7-01 c trace_id=${id} ${'0'.repeat(32)} ${id}ff`;
    expect(extractTraceIds(text).map((f) => [f.traceId, f.from])).toEqual([
      [other, 'hex'],
      [id, 'traceparent'],
    ]);
    expect(extractTraceIds('nothing here 12345')).toEqual([]);
  });
});

describe('windows and sampling', () => {
  it('pads the window by 5 % and divides it into 1000 pixels by default', () => {
    expect(paddedWindow(1000n, 3000n)).toEqual({ fromNs: 900n, toNs: 3100n });
    expect(defaultResolution(0n, 2_000_000n)).toBe(2000n);
    expect(defaultResolution(0n, 10n)).toBe(1n);
  });

  it('reads the sampling period from a perf command line and flags short spans', () => {
    expect(samplingPeriodNs('perf record -e cpu-clock/freq=49,name=cpu-clock/ -p 1')).toBe(20_408_163n);
    expect(samplingPeriodNs('perf record -F 99 -g')).toBe(10_101_010n);
    expect(samplingPeriodNs('perf record -e cpu-clock -c 1000000')).toBe(1_000_000n);
    expect(samplingPeriodNs(undefined)).toBeNull();
    expect(isShort(30_000_000n, 20_408_163n, 5)).toBe(true);
    expect(isShort(50_000_000n, 20_408_163n, 0)).toBe(false);
    expect(isShort(50_000_000n, null, 1)).toBe(true);
  });
});
