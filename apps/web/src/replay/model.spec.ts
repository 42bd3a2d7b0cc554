import { describe, expect, it } from 'vitest';
import type { LaneItemDto } from '@threadreel/model';
import {
  Offsets,
  itemAt,
  laneData,
  layeredStateTime,
  parseViewQuery,
  splitTraceIds,
  viewQueryString,
  type ViewQuery,
} from './model';

const BASE = '1795303749827444244';

describe('Offsets', () => {
  it('subtracts as bigint and round-trips, on the fast path and off it', () => {
    const off = new Offsets(BASE);
    expect(off.of('1795303749827444244')).toBe(0);
    expect(off.of('1795303749967798880')).toBe(140_354_636);
    expect(off.of('1795303749827444243')).toBe(-1);
    // A different number of digits takes the bigint path.
    expect(off.of('999')).toBe(Number(999n - BigInt(BASE)));
    expect(off.abs(140_354_636)).toBe('1795303749967798880');
  });
});

const seg = (s: number, e: number, state: LaneItemDto['state']): LaneItemDto => ({
  kind: 'segment',
  startNs: (BigInt(BASE) + BigInt(s)).toString(),
  endNs: (BigInt(BASE) + BigInt(e)).toString(),
  state,
});

describe('lane data', () => {
  const off = new Offsets(BASE);
  const lane = laneData(
    [
      seg(0, 100, 'cpu'),
      seg(100, 300, 'lock'),
      {
        kind: 'summary',
        startNs: (BigInt(BASE) + 400n).toString(),
        endNs: (BigInt(BASE) + 500n).toString(),
        state: 'net',
        summary: { net: '60', cpu: '40' },
        count: 7,
      },
    ],
    off,
  );

  it('finds the item under a time, with slack at gaps', () => {
    expect(itemAt(lane, 50, 0)).toBe(0);
    expect(itemAt(lane, 150, 0)).toBe(1);
    expect(itemAt(lane, 350, 0)).toBe(-1);
    expect(itemAt(lane, 395, 10)).toBe(2);
  });

  it('sums time per state in a range, clipping segments and scaling summaries', () => {
    const m = layeredStateTime({ base: lane, detail: null }, 50, 450);
    expect(m.get('cpu')).toBeCloseTo(50 + 20);
    expect(m.get('lock')).toBe(200);
    expect(m.get('net')).toBeCloseTo(30);
  });

  it('reads the detail layer inside its range and the base elsewhere', () => {
    const detail = laneData([seg(100, 200, 'file'), seg(200, 300, 'sleep')], off);
    const m = layeredStateTime({ base: lane, detail: { from: 100, to: 300, data: detail } }, 0, 300);
    expect(m.get('cpu')).toBe(100);
    expect(m.get('file')).toBe(100);
    expect(m.get('sleep')).toBe(100);
    expect(m.get('lock')).toBeUndefined();
  });
});

describe('view query', () => {
  it('round-trips the view state through the hash query', () => {
    const v: ViewQuery = {
      from: 1000,
      to: 250_000_000,
      threads: ['27', '32'],
      brush: { from: 5000, to: 90_000 },
      flame: 'offcpu',
      invert: true,
      search: 'reserve',
    };
    expect(parseViewQuery(new URLSearchParams(viewQueryString(v).toString()))).toEqual(v);
  });

  it('ignores malformed or inverted values', () => {
    const v = parseViewQuery(new URLSearchParams('from=9&to=3&sel=1,x,2&bf=a&bt=2&flame=nope'));
    expect(v.from).toBeNull();
    expect(v.to).toBeNull();
    expect(v.threads).toEqual(['1', '2']);
    expect(v.brush).toBeNull();
    expect(v.flame).toBeNull();
  });
});

describe('splitTraceIds', () => {
  it('cuts text around 32-hex trace ids', () => {
    const id = '0123456789abcdef0123456789ABCDEF';
    expect(splitTraceIds(`GET /x trace=${id} done`)).toEqual([
      'GET /x trace=',
      { traceId: id.toLowerCase() },
      ' done',
    ]);
    expect(splitTraceIds('no ids here')).toEqual(['no ids here']);
  });
});
