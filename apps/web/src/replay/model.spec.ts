import { describe, expect, it } from 'vitest';
import { decodeTile, encodeTile, type LaneItemDto, type ThreadState } from '@threadreel/model';
import {
  Offsets,
  itemAt,
  itemOf,
  laneData,
  layeredStateTime,
  stateTime,
  tileLaneData,
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

describe('lane data from tiles', () => {
  const off = new Offsets(BASE);
  const b = BigInt(BASE);
  // The same lane as the API items above, packed as a tile starting at the base.
  const bytes = encodeTile(b, [
    { startNs: b, endNs: b + 100n, state: 'cpu' },
    { startNs: b + 100n, endNs: b + 300n, state: 'lock' },
    {
      startNs: b + 400n,
      endNs: b + 500n,
      state: 'net',
      merged: { count: 7, totals: [40n, null, null, null, 60n, null, null, null, null, null] },
    },
  ]);
  const lane = tileLaneData(decodeTile(bytes, 0));

  it('builds the items as the API sends them, but for the detail of whole segments', () => {
    expect(itemOf(lane, 1, off)).toEqual(seg(100, 300, 'lock'));
    expect(itemOf(lane, 2, off)).toEqual({
      kind: 'summary',
      startNs: (b + 400n).toString(),
      endNs: (b + 500n).toString(),
      state: 'net',
      summary: { cpu: '40', net: '60' },
      count: 7,
    });
    expect(itemOf(lane, 3, off)).toBeNull();
    expect(itemAt(lane, 150, 0)).toBe(1);
  });

  it('sums time per state as the API items do', () => {
    const fromTiles = new Map<ThreadState, number>();
    stateTime(lane, 50, 450, fromTiles);
    const fromItems = layeredStateTime(
      {
        base: laneData(
          [0, 1, 2].map((i) => itemOf(lane, i, off)).filter((x): x is LaneItemDto => x !== null),
          off,
        ),
        detail: null,
      },
      50,
      450,
    );
    expect(fromTiles).toEqual(fromItems);
    expect(fromTiles.get('lock')).toBe(200);
    expect(fromTiles.get('net')).toBe(30);
  });
});
