/**
 * CLOCK_MONOTONIC ↔ CLOCK_REALTIME pairs without native code.
 *
 * process.hrtime.bigint() is CLOCK_MONOTONIC (libuv's uv_hrtime), the clock of
 * `perf record -k mono`. Date.now() is CLOCK_REALTIME truncated to whole milliseconds,
 * so the instant it steps to a new value is a realtime instant known exactly: spinning
 * until it changes and bracketing that step between two monotonic reads gives a pair
 * whose error is the bracket (about a microsecond), and it reflects the realtime clock
 * as it is now (NTP steps included), unlike performance.timeOrigin, which is fixed at
 * process start. Should the step not be seen within the spin budget, the fallback is
 * mono, timeOrigin + performance.now(), mono.
 *
 * A bracket is only as tight as the scheduler lets it be: a preemption between the two
 * monotonic reads (common on a loaded two-core machine) widens it to the length of the
 * preemption, a millisecond or more. So the pair is read several times and the tightest
 * bracket is kept, stopping early once one is within GOOD_ENOUGH_NS.
 */

export interface ClockPairReading {
  monotonicNs: bigint;
  realtimeNs: bigint;
  /** Half the width of the monotonic bracket around the realtime instant. */
  uncertaintyNs: bigint;
  method: 'ms-step' | 'time-origin';
}

export interface ClockSource {
  mono(): bigint;
  /** Realtime in whole milliseconds (Date.now). */
  realMs(): number;
  /** Realtime in fractional milliseconds (performance.timeOrigin + performance.now()). */
  realFine(): number;
}

export const systemClock: ClockSource = {
  mono: () => process.hrtime.bigint(),
  realMs: () => Date.now(),
  realFine: () => performance.timeOrigin + performance.now(),
};

/** Spin at most this long (a millisecond step always comes within 1 ms). */
const SPIN_LIMIT_NS = 5_000_000n;

/** A bracket this tight needs no further attempt. */
const GOOD_ENOUGH_NS = 20_000n;
const MAX_ATTEMPTS = 8;

export function readClockPair(clock: ClockSource = systemClock): ClockPairReading {
  let best = readClockPairOnce(clock);
  for (let attempt = 1; attempt < MAX_ATTEMPTS; attempt++) {
    // A realtime clock that never steps will not step on the next attempt either.
    if (best.method !== 'ms-step' || best.uncertaintyNs <= GOOD_ENOUGH_NS) break;
    const next = readClockPairOnce(clock);
    if (next.method === 'ms-step' && next.uncertaintyNs < best.uncertaintyNs) best = next;
  }
  return best;
}

function readClockPairOnce(clock: ClockSource): ClockPairReading {
  const start = clock.mono();
  let beforePrev = clock.mono();
  let prevMs = clock.realMs();
  for (;;) {
    const before = clock.mono();
    const ms = clock.realMs();
    const after = clock.mono();
    if (ms !== prevMs) {
      // The step to `ms` happened after the read of prevMs (itself after beforePrev)
      // and before the read of ms (itself before after).
      return {
        monotonicNs: (beforePrev + after) / 2n,
        realtimeNs: BigInt(ms) * 1_000_000n,
        uncertaintyNs: (after - beforePrev + 1n) / 2n,
        method: 'ms-step',
      };
    }
    beforePrev = before;
    prevMs = ms;
    if (after - start > SPIN_LIMIT_NS) break;
  }
  const a = clock.mono();
  const real = clock.realFine();
  const b = clock.mono();
  return {
    monotonicNs: (a + b) / 2n,
    realtimeNs: BigInt(Math.round(real * 1000)) * 1000n,
    uncertaintyNs: (b - a + 1n) / 2n + 1000n,
    method: 'time-origin',
  };
}

/** Realtime ns for a monotonic ns, by the offset of a pair. */
export function toRealtime(
  monotonicNs: bigint,
  pair: Pick<ClockPairReading, 'monotonicNs' | 'realtimeNs'>,
): bigint {
  return monotonicNs + (pair.realtimeNs - pair.monotonicNs);
}
