package com.threadreel.scenario;

import java.time.Instant;

/**
 * Epoch-nanosecond clock anchored once to the wall clock and advanced by {@link System#nanoTime()}
 * (CLOCK_MONOTONIC on Linux), like the OpenTelemetry SDK's anchored clock. Spans and log lines use
 * the same clock, and the anchor is logged at startup so the monotonic clock of perf can be mapped.
 */
final class Clock {
  static final long ANCHOR_EPOCH_NS;
  static final long ANCHOR_MONOTONIC_NS;
  /** Half the narrowest nanoTime() bracket around an Instant.now() read: the anchor's uncertainty. */
  static final long ANCHOR_UNCERTAINTY_NS;

  static {
    // The wall clock read inside Instant.now() happens somewhere between two nanoTime() reads; the
    // first calls are slow (class loading, interpreter), so keep the narrowest bracket of many and
    // pair the wall time with its middle. One Instant.now()/nanoTime() pair ran 10–45 µs behind.
    long width = Long.MAX_VALUE;
    long epoch = 0;
    long mono = 0;
    for (int i = 0; i < 2000; i++) {
      long before = System.nanoTime();
      Instant now = Instant.now();
      long after = System.nanoTime();
      if (after - before < width) {
        width = after - before;
        epoch = now.getEpochSecond() * 1_000_000_000L + now.getNano();
        mono = before + width / 2;
      }
    }
    ANCHOR_EPOCH_NS = epoch;
    ANCHOR_MONOTONIC_NS = mono;
    ANCHOR_UNCERTAINTY_NS = (width + 1) / 2;
  }

  private Clock() {}

  static long epochNanos() {
    return ANCHOR_EPOCH_NS + (System.nanoTime() - ANCHOR_MONOTONIC_NS);
  }

  static long epochNanosAt(long monotonicNs) {
    return ANCHOR_EPOCH_NS + (monotonicNs - ANCHOR_MONOTONIC_NS);
  }
}
