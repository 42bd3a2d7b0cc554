import { describe, expect, it } from 'vitest';
import { readClockPair, systemClock, toRealtime, type ClockSource } from './clock.js';

/** A clock whose monotonic time advances 100 ns per read and realtime = offset + monotonic. */
function fakeClock(offsetNs: bigint, msTruncation = true): ClockSource & { reads: number } {
  let mono = 1_000_000_000n + 123_456n;
  const source = {
    reads: 0,
    mono: () => {
      source.reads++;
      mono += 100n;
      return mono;
    },
    realMs: () => {
      const real = mono + offsetNs;
      return msTruncation ? Number(real / 1_000_000n) : Number(real) / 1e6;
    },
    realFine: () => Number(mono + offsetNs) / 1e6,
  };
  return source;
}

describe('clock pairs', () => {
  it('brackets the millisecond step of Date.now between two monotonic reads', () => {
    const offset = 1_700_000_000_000_000_000n;
    const pair = readClockPair(fakeClock(offset));
    expect(pair.method).toBe('ms-step');
    expect(pair.realtimeNs % 1_000_000n).toBe(0n);
    // The true monotonic instant of that realtime is realtime - offset; the pair is within its bound.
    const error = pair.monotonicNs - (pair.realtimeNs - offset);
    expect(error < 0n ? -error : error).toBeLessThanOrEqual(pair.uncertaintyNs);
    expect(pair.uncertaintyNs).toBeLessThanOrEqual(200n);
  });

  it('keeps the tightest of several brackets when a read is preempted', () => {
    const offset = 1_700_000_000_000_000_000n;
    // Monotonic time advances 100 ns per read; the first two times a read of the realtime
    // clock sees a new millisecond, the thread is preempted for 3 ms right after it.
    let mono = 5_000_000_000n + 777n;
    let stalls = 2;
    let lastMs = Number.NaN;
    const preempted: ClockSource = {
      mono: () => (mono += 100n),
      realMs: () => {
        const ms = Number((mono + offset) / 1_000_000n);
        if (stalls > 0 && !Number.isNaN(lastMs) && ms !== lastMs) {
          stalls--;
          mono += 3_000_000n;
        }
        lastMs = ms;
        return ms;
      },
      realFine: () => Number(mono + offset) / 1e6,
    };
    const pair = readClockPair(preempted);
    expect(stalls).toBe(0);
    expect(pair.method).toBe('ms-step');
    expect(pair.uncertaintyNs).toBeLessThanOrEqual(200n);
    const error = pair.monotonicNs - (pair.realtimeNs - offset);
    expect(error < 0n ? -error : error).toBeLessThanOrEqual(pair.uncertaintyNs);
  });

  it('falls back to timeOrigin + now when the realtime clock never steps', () => {
    const stuck: ClockSource = { ...fakeClock(0n), realMs: () => 42 };
    const pair = readClockPair(stuck);
    expect(pair.method).toBe('time-origin');
    expect(pair.uncertaintyNs).toBeGreaterThan(0n);
  });

  it('on this machine agrees with Date.now to a millisecond and is tight', () => {
    readClockPair();
    const pair = readClockPair(systemClock);
    // Date.now() truncates realtime to whole ms: the instant it was read lies in
    // [ms, ms + 1 ms), and between the two monotonic reads around it (however long a
    // preemption makes that bracket), so the mapped bracket must meet that millisecond.
    const before = toRealtime(process.hrtime.bigint(), pair);
    const viaDate = BigInt(Date.now()) * 1_000_000n;
    const after = toRealtime(process.hrtime.bigint(), pair);
    const slack = pair.uncertaintyNs + 50_000n; // plus the 1 µs rounding of the time-origin fallback
    expect(after + slack).toBeGreaterThanOrEqual(viaDate);
    expect(before - slack).toBeLessThan(viaDate + 1_000_000n);
    expect(pair.uncertaintyNs).toBeLessThan(1_000_000n);
  });

  it('maps monotonic to realtime by the pair offset', () => {
    expect(toRealtime(150n, { monotonicNs: 100n, realtimeNs: 1000n })).toBe(1050n);
  });
});
