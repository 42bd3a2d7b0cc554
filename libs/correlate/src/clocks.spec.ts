import { describe, expect, it } from 'vitest';
import { alignClock, alignNearPrior, alignToMarkers, estimateResidual, zoneOffsetNs } from './clocks.js';

const MS = 1_000_000n;

describe('alignClock', () => {
  const pairs = [
    {
      at: 'start',
      monotonicNs: 4_944_674_769_635n,
      realtimeNs: 1_795_303_748_717_000_000n,
      uncertaintyNs: 121n,
    },
    {
      at: 'end',
      monotonicNs: 4_949_146_769_530n,
      realtimeNs: 1_795_303_753_189_000_000n,
      uncertaintyNs: 141n,
    },
  ];
  it('monotonic: the start pair’s offset, the drift to the end pair as spread (java fixture manifest)', () => {
    const a = alignClock('monotonic', { pairs, timeZone: 'UTC', aroundNs: null });
    expect(a.offsetNs).toBe(1_795_303_748_717_000_000n - 4_944_674_769_635n);
    expect(a.spreadNs).toBe(105n);
    expect(a.confidence).toBe(1);
  });
  it('perf-default: assumed ≈ monotonic with low confidence; no pair: not alignable', () => {
    expect(alignClock('perf-default', { pairs, timeZone: null, aroundNs: null }).confidence).toBe(0.3);
    expect(alignClock('perf-default', { pairs: [], timeZone: null, aroundNs: null }).offsetNs).toBeNull();
  });
  it('local-wall: the zone’s UTC offset at the capture’s time, DST included', () => {
    const summer = 1_782_000_000_000_000_000n; // 2026-06-21
    expect(zoneOffsetNs('Europe/Paris', summer)).toBe(2n * 3600n * 1_000_000_000n);
    const a = alignClock('local-wall', { pairs: [], timeZone: 'Europe/Paris', aroundNs: summer });
    expect(a.offsetNs).toBe(-2n * 3600n * 1_000_000_000n);
    expect(
      alignClock('local-wall', { pairs: [], timeZone: 'Nowhere/City', aroundNs: summer }).offsetNs,
    ).toBeNull();
  });
  it('process-start needs evidence of the start', () => {
    expect(alignClock('process-start', { pairs: [], timeZone: null, aroundNs: null }).offsetNs).toBeNull();
    expect(
      alignClock('process-start', {
        pairs: [],
        timeZone: null,
        aroundNs: null,
        processStart: { ns: 42n, evidence: 'log anchor' },
      }).offsetNs,
    ).toBe(42n);
  });
});

describe('estimateResidual', () => {
  it('median and MAD; strong only with enough matches and a clear offset', () => {
    const diffs = Array.from({ length: 30 }, (_, i) => 500_000n + BigInt((i % 5) * 1000));
    const r = estimateResidual(diffs);
    expect(r?.medianNs).toBe(502_000n);
    expect(r?.strong).toBe(true);
    expect(estimateResidual(diffs.slice(0, 5))?.strong).toBe(false);
    expect(estimateResidual([])).toBeNull();
  });
});

describe('alignToMarkers', () => {
  // Irregular pauses (ns since process start) and markers inside them on the epoch axis.
  const start = 1_795_303_780_000_000_000n;
  const pauses = [10n, 47n, 95n, 160n, 171n, 260n, 333n, 420n].map((ms) => ({
    startNs: ms * MS,
    endNs: ms * MS + 3n * MS,
  }));
  const markers = pauses.flatMap((p) => [start + p.startNs + MS, start + p.startNs + 2n * MS]);

  it('finds the process start that puts GC samples inside the pauses', () => {
    const a = alignToMarkers(pauses, markers);
    expect(a?.strong).toBe(true);
    expect(a?.matched).toBe(markers.length);
    const off = a?.offsetNs ?? 0n;
    expect(off > start - MS && off < start + MS).toBe(true);
  });

  it('strictly periodic pauses match at many offsets: not strong', () => {
    const periodic = Array.from({ length: 10 }, (_, i) => ({
      startNs: BigInt(i) * 20n * MS,
      endNs: BigInt(i) * 20n * MS + MS,
    }));
    const one = [start + 5n * MS];
    expect(alignToMarkers(periodic, one)?.strong).toBe(false);
  });

  it('near a prior: scores by pauses hit, so one long pause full of samples does not win', () => {
    // 20 short scavenges (1 ms, one sample each, irregular) and one 90 ms mark-compact holding
    // 40 samples.
    const runtime0 = 150n * MS; // the runtime's clock began 150 ms after the recorded start
    const gaps = [23, 41, 17, 59, 31, 47, 13, 67, 29, 53, 19, 43, 37, 61, 11, 71, 27, 49, 33, 57];
    let at = 150n;
    const short = gaps.map((g) => {
      at += BigInt(g);
      return { startNs: at * MS, endNs: at * MS + MS };
    });
    const long = { startNs: 1400n * MS, endNs: 1490n * MS };
    const ms = [
      ...short.map((p) => start + runtime0 + p.startNs + MS / 2n),
      ...Array.from({ length: 40 }, (_, k) => start + runtime0 + long.startNs + BigInt(k) * 2n * MS),
    ];
    const a = alignNearPrior([...short, long], ms, { fromNs: start - 10n * MS, toNs: start + 1000n * MS });
    expect(a?.strong).toBe(true);
    expect(a?.hits).toBe(21);
    const off = a?.offsetNs ?? 0n;
    expect(off >= start + runtime0 - MS && off <= start + runtime0 + MS).toBe(true);
    // Markers that fit nowhere: no strong anchor.
    const stray = alignNearPrior(short, [start + 5n * MS], { fromNs: start, toNs: start + 100n * MS });
    expect(stray?.strong).toBe(false);
    expect(alignNearPrior([], ms, { fromNs: start, toNs: start + MS })).toBeNull();
  });

  it('a long GC log: thousands of pauses, markers only in the stretch perf recorded', () => {
    // 3,000 irregular pauses over ~50 min of uptime; perf saw the first 5,000 GC-code samples of
    // its recording, which began 20 min in and covers ~120 pauses: thinning the pauses as the
    // markers are thinned would keep ~1 in 5 of those, and most markers would then fall outside.
    let at = 0n;
    let seed = 12345;
    const next = () => (seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648) / 2_147_483_648;
    const long = Array.from({ length: 3000 }, () => {
      at += BigInt(Math.floor(700_000 + next() * 600_000)) * 1000n;
      return { startNs: at, endNs: at + BigInt(Math.floor(2_000 + next() * 4_000)) * 1000n };
    });
    const recorded = long.filter((p) => p.startNs > 1200n * 1000n * MS).slice(0, 120);
    const ms = recorded.flatMap((p) =>
      Array.from(
        { length: 40 },
        (_, k) => start + p.startNs + BigInt(k) * ((p.endNs - p.startNs) / 41n) + 1n,
      ),
    );
    const a = alignToMarkers(long, ms);
    expect(a?.strong).toBe(true);
    expect(a?.matched).toBe(a?.markers);
    const off = a?.offsetNs ?? 0n;
    expect(off > start - MS && off < start + MS).toBe(true);
  });

  it('nothing to align', () => {
    expect(alignToMarkers([], markers)).toBeNull();
    expect(alignToMarkers(pauses, [])).toBeNull();
  });
});
