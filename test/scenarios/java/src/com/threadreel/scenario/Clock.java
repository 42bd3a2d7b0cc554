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

  static {
    Instant now = Instant.now();
    ANCHOR_MONOTONIC_NS = System.nanoTime();
    ANCHOR_EPOCH_NS = now.getEpochSecond() * 1_000_000_000L + now.getNano();
  }

  private Clock() {}

  static long epochNanos() {
    return ANCHOR_EPOCH_NS + (System.nanoTime() - ANCHOR_MONOTONIC_NS);
  }

  static long epochNanosAt(long monotonicNs) {
    return ANCHOR_EPOCH_NS + (monotonicNs - ANCHOR_MONOTONIC_NS);
  }
}
