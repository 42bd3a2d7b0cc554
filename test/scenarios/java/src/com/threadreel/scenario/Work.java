package com.threadreel.scenario;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayDeque;

/** The planted work itself: CPU burning by hash chaining, and allocation churn. */
final class Work {
  private static final ThreadLocal<MessageDigest> SHA256 =
      ThreadLocal.withInitial(
          () -> {
            try {
              return MessageDigest.getInstance("SHA-256");
            } catch (NoSuchAlgorithmException e) {
              throw new IllegalStateException(e);
            }
          });

  /** SHA-256 rounds per millisecond of CPU, measured at startup by {@link #calibrate}. */
  private static volatile double roundsPerMs = 2000;

  /** Keeps the JIT from dropping the work. */
  static volatile long sink;

  private Work() {}

  /** Chains {@code rounds} SHA-256 digests of a 64-byte block; pure CPU, no syscalls. */
  static byte[] hashChain(long rounds, byte seed) {
    MessageDigest md = SHA256.get();
    byte[] block = new byte[64];
    block[0] = seed;
    try {
      for (long i = 0; i < rounds; i++) {
        md.update(block);
        // Digest into the block itself: no allocation per round, so /cpu and /lock cause no GC.
        md.digest(block, 0, 32);
        block[32] ^= (byte) i;
      }
    } catch (java.security.DigestException e) {
      throw new IllegalStateException(e);
    }
    sink += block[0];
    return block;
  }

  /** About {@code ms} milliseconds of CPU (on an idle core) of hash chaining; returns a hex prefix. */
  static String burn(long ms) {
    long rounds = Math.max(1, Math.round(roundsPerMs * ms));
    byte[] b = hashChain(rounds, (byte) ms);
    return String.format("%02x%02x%02x%02x", b[0], b[1], b[2], b[3]);
  }

  /**
   * Warms the hash loop up until the JIT has compiled it, then measures rounds per ms of thread CPU
   * time. Returns the measured rate.
   */
  static double calibrate() {
    java.lang.management.ThreadMXBean mx = java.lang.management.ManagementFactory.getThreadMXBean();
    long warmEnd = System.nanoTime() + 1_200_000_000L;
    while (System.nanoTime() < warmEnd) hashChain(5_000, (byte) 1);
    double best = 0;
    for (int i = 0; i < 3; i++) {
      long rounds = 40_000;
      long c0 = mx.getCurrentThreadCpuTime();
      hashChain(rounds, (byte) 2);
      long c1 = mx.getCurrentThreadCpuTime();
      double rate = rounds / Math.max(1e-3, (c1 - c0) / 1e6);
      best = Math.max(best, rate);
    }
    roundsPerMs = best;
    return best;
  }

  /** One row of the report /alloc builds: a few small objects with references. */
  record Row(long id, String key, long[] values, Row previous) {}

  /**
   * Builds {@code rows} small rows (about 120 bytes each in four objects) while keeping the last
   * {@code liveRows} reachable, so every young collection has many live objects to trace and copy:
   * pauses grow with the number of live objects, not bytes. Returns the bytes allocated (estimate).
   */
  static long churn(int rows, int liveRows) {
    final int slab = 1024;
    int window = Math.max(1, liveRows);
    Row[][] ring = new Row[(window + slab - 1) / slab][slab];
    Row prev = null;
    long acc = 0;
    for (int i = 0; i < rows; i++) {
      int k = i % window;
      long[] v = new long[4];
      v[0] = i;
      v[3] = acc;
      Row r = new Row(i, Long.toString(i * 2654435761L), v, (i & 7) == 0 ? null : prev);
      Row[] s = ring[k / slab];
      Row old = s[k % slab];
      if (old != null) acc += old.values()[0];
      s[k % slab] = r;
      prev = r;
    }
    sink += acc;
    return rows * 128L;
  }
}
