package com.threadreel.scenario;

import com.sun.management.GarbageCollectionNotificationInfo;
import com.sun.management.GcInfo;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import javax.management.Notification;
import javax.management.NotificationEmitter;
import javax.management.openmbean.CompositeData;

/**
 * Where one request's time went, measured inside the service around the real operations: one line
 * of {@code measured.jsonl} per finished request (warm-up requests excluded).
 *
 * <pre>{"traceId":"…","spanId":"…","route":"/lock","tid":1234,"thread":"http-worker-1",
 *  "arrivalNs":"…","handlerStartNs":"…","handlerEndNs":"…",
 *  "components":{"pool-queue":"…","lock":"…","gc":"…","net":"…","file":"…","cpu":"…"}}</pre>
 *
 * Times are epoch ns of {@link Clock} (CLOCK_MONOTONIC anchored once to the wall clock, the clock of
 * the spans and log lines); components are ns. All as decimal strings.
 *
 * <ul>
 *   <li>{@code arrivalNs}: the HTTP dispatcher thread submits the exchange to the worker pool (the
 *       request's bytes have arrived; the pool thread parses the request line and headers).
 *   <li>{@code handlerStartNs}: a pool thread takes the exchange off the executor's queue.
 *   <li>{@code handlerEndNs}: the response has been written.
 *   <li>{@code pool-queue} = handlerStart − arrival: the wait in the executor's queue.
 *   <li>{@code lock}: time blocked entering the {@code LedgerMonitor} (from just before the {@code
 *       synchronized} to the first statement inside it; the JVM's spinning before it parks is in it).
 *       The service takes no other contended lock on the request path.
 *   <li>{@code net}: the upstream HTTP call (connect, request, response read).
 *   <li>{@code file}: the /file journal I/O, open (truncate) to close, with every write and force.
 *   <li>{@code gc}: stop-the-world GC pauses overlapping [arrival, handlerEnd]. See {@link Gc}.
 *   <li>{@code cpu}: the thread's CPU time (user + system) over [handlerStart, handlerEnd] minus the CPU
 *       it used inside the lock, net and file windows (spinning on the monitor, copying the file
 *       writes in the kernel), so that the components do not count the same time twice. Nothing is
 *       subtracted for GC: a thread stopped for a pause is parked at the safepoint and its CPU clock
 *       does not advance (an /alloc request's CPU + gc stays under its handler time). What CPU time
 *       cannot separate: G1's write-barrier and refinement work done by the request thread itself, and
 *       the runtime's own work on it (JIT deoptimisation, class loading) count as cpu.
 * </ul>
 *
 * The components need not add up to the request's time: waiting for a core (runnable, not running)
 * is in none of them; a GC pause during a wait counts both as gc and as that wait.
 *
 * <p>Request threads only queue a finished record (no I/O on the request path); the {@code
 * otlp-exporter} thread calls {@link #flush} every 200 ms and the shutdown hook {@link #close}. A
 * record is written once the notifications of every GC that ended before its end have arrived (they
 * are delivered tens of ms late by the JVM's notification thread).
 */
final class Measured {
  private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();
  private static final ConcurrentLinkedQueue<Measured> FINISHED = new ConcurrentLinkedQueue<>();
  /** Finished records still waiting for GC notifications; touched only under WRITE_LOCK. */
  private static final List<Measured> WAITING = new ArrayList<>();

  private static final Object WRITE_LOCK = new Object();
  private static OutputStream out;

  // Set when the request is taken off the pool's queue (System.nanoTime() and thread CPU ns).
  final long arrivalNano;
  final long startNano;
  private final long startCpu;

  // Set by the handler.
  String traceId;
  String spanId;
  String route;
  boolean suppressed;

  long lockNs;
  long netNs;
  long fileNs;
  /** Thread CPU time spent inside the lock, net and file windows. */
  private long waitCpuNs;

  private long windowNano;
  private long windowCpu;

  // Set by finish().
  private long endNano;
  private long cpuNs;
  private long tid;
  private String thread;
  private long[] gcCountsAtEnd;

  /** Called on the pool thread as it takes the exchange off the queue. */
  Measured(long arrivalNano) {
    this.startNano = System.nanoTime();
    this.startCpu = THREADS.getCurrentThreadCpuTime();
    this.arrivalNano = arrivalNano;
  }

  /** Opens a lock, net or file window: call {@link #endLock}, {@link #endNet} or {@link #endFile}. */
  void begin() {
    windowCpu = THREADS.getCurrentThreadCpuTime();
    windowNano = System.nanoTime();
  }

  /** Closes the window opened by {@link #begin}; returns its wall time (ns). */
  private long end() {
    long d = System.nanoTime() - windowNano;
    waitCpuNs += THREADS.getCurrentThreadCpuTime() - windowCpu;
    return d;
  }

  long endLock() {
    long d = end();
    lockNs += d;
    return d;
  }

  long endNet() {
    long d = end();
    netNs += d;
    return d;
  }

  long endFile() {
    long d = end();
    fileNs += d;
    return d;
  }

  /**
   * The response is written: records the handler's end and queues the record for {@link #flush}.
   *
   * @param tid Linux thread id of this (worker) thread
   */
  void finish(long endNano, long tid) {
    this.endNano = endNano;
    this.cpuNs = THREADS.getCurrentThreadCpuTime() - startCpu;
    this.tid = tid;
    this.thread = Thread.currentThread().getName();
    // Read after endNano, in Java code (so not inside a pause): every pause overlapping
    // [arrival, end] has ended and is counted here; its notification may still be on its way.
    this.gcCountsAtEnd = Gc.counts();
    if (!suppressed && traceId != null) FINISHED.add(this);
  }

  private String json() {
    StringBuilder sb = new StringBuilder(400);
    sb.append("{\"traceId\":\"").append(traceId).append("\",\"spanId\":\"").append(spanId).append("\",\"route\":");
    Tracing.Json.str(sb, route == null ? "" : route);
    sb.append(",\"tid\":").append(tid).append(",\"thread\":");
    Tracing.Json.str(sb, thread);
    sb.append(",\"arrivalNs\":\"").append(Clock.epochNanosAt(arrivalNano));
    sb.append("\",\"handlerStartNs\":\"").append(Clock.epochNanosAt(startNano));
    sb.append("\",\"handlerEndNs\":\"").append(Clock.epochNanosAt(endNano));
    sb.append("\",\"components\":{");
    sb.append("\"pool-queue\":\"").append(Math.max(0, startNano - arrivalNano));
    sb.append("\",\"lock\":\"").append(lockNs);
    sb.append("\",\"gc\":\"").append(Gc.pausedNs(arrivalNano, endNano));
    sb.append("\",\"net\":\"").append(netNs);
    sb.append("\",\"file\":\"").append(fileNs);
    sb.append("\",\"cpu\":\"").append(Math.max(0, cpuNs - waitCpuNs));
    sb.append("\"}}\n");
    return sb.toString();
  }

  static void open(Path file) throws IOException {
    synchronized (WRITE_LOCK) {
      out =
          new BufferedOutputStream(
              Files.newOutputStream(
                  file, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.APPEND),
              1 << 16);
    }
  }

  /** Writes the records whose GC notifications have all arrived (or every record if {@code all}). */
  static void flush(boolean all) {
    synchronized (WRITE_LOCK) {
      for (Measured m; (m = FINISHED.poll()) != null; ) WAITING.add(m);
      if (out == null || WAITING.isEmpty()) return;
      long[] seen = Gc.seen();
      try {
        for (Iterator<Measured> it = WAITING.iterator(); it.hasNext(); ) {
          Measured m = it.next();
          if (all || Gc.covered(m.gcCountsAtEnd, seen)) {
            out.write(m.json().getBytes(StandardCharsets.UTF_8));
            it.remove();
          }
        }
        out.flush();
      } catch (IOException e) {
        System.err.println("measured.jsonl write failed: " + e);
      }
    }
  }

  /** Waits up to 2 s for outstanding GC notifications, writes every record and closes the file. */
  static void close() {
    long deadline = System.nanoTime() + 2_000_000_000L;
    for (; ; ) {
      flush(false);
      synchronized (WRITE_LOCK) {
        if (FINISHED.isEmpty() && WAITING.isEmpty()) break;
      }
      if (System.nanoTime() > deadline) {
        AppLog.warn("c.t.s.Measured", "GC notifications still missing at shutdown; gc may be undercounted");
        break;
      }
      try {
        Thread.sleep(20);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
    }
    flush(true);
    synchronized (WRITE_LOCK) {
      try {
        if (out != null) out.close();
      } catch (IOException e) {
        System.err.println("measured.jsonl close failed: " + e);
      }
      out = null;
    }
  }

  /**
   * Stop-the-world GC pauses, from the GarbageCollectorMXBean notifications
   * ({@link GarbageCollectionNotificationInfo}). With G1 on JDK 17 both collectors ("G1 Young
   * Generation": young and mixed pauses, "G1 Old Generation": full GCs) report only pauses, and a
   * pause stops every Java thread, so a pause overlapping a request's [arrival, end] delays it.
   *
   * <p>Approximate:
   *
   * <ul>
   *   <li>GcInfo start and end are whole milliseconds (truncated) since a JVM-internal instant (VM
   *       init done, ~100 ms after the base of {@code RuntimeMXBean.getUptime()}, so uptime cannot
   *       place them). {@link #calibrate} finds that instant on the System.nanoTime() clock by
   *       bracketing a few System.gc() calls at startup (to within about a millisecond, logged);
   *       each pause is then placed at the middle of its millisecond: each edge is off by up to
   *       ~0.5 ms plus the calibration error.
   *   <li>GcInfo covers the collection itself, not the rest of its safepoint: reaching it, G1's
   *       work before and after the collection, the GC log lines (-Xlog is synchronous). gc.log
   *       showed ~0.9 ms a pause beyond GcInfo's on a busy 2-core machine, so gc reads low by that.
   *   <li>Not counted: concurrent phases (they run beside the application), the Remark and Cleanup
   *       pauses of G1's concurrent cycle (JDK 17's beans do not report them) and non-GC safepoints.
   * </ul>
   */
  static final class Gc {
    private static final List<GarbageCollectorMXBean> BEANS = ManagementFactory.getGarbageCollectorMXBeans();
    /** Per collector: the highest GcInfo id (= that collector's collection count) notified. */
    private static final long[] SEEN = new long[BEANS.size()];
    /** Pauses as {startMs, endMs} of GcInfo, in notification order; touched only under PAUSES. */
    private static final List<long[]> PAUSES = new ArrayList<>();
    /** System.nanoTime() at GcInfo time 0 (set by calibrate()). */
    private static volatile long baseNano;

    private Gc() {}

    static long[] counts() {
      long[] c = new long[BEANS.size()];
      for (int i = 0; i < c.length; i++) c[i] = BEANS.get(i).getCollectionCount();
      return c;
    }

    static long[] seen() {
      synchronized (PAUSES) {
        return SEEN.clone();
      }
    }

    static boolean covered(long[] needed, long[] seen) {
      for (int i = 0; i < needed.length; i++) if (needed[i] > seen[i]) return false;
      return true;
    }

    /** Total ns of notified pauses overlapping [fromNano, toNano] (System.nanoTime()). */
    static long pausedNs(long fromNano, long toNano) {
      long base = baseNano;
      long total = 0;
      synchronized (PAUSES) {
        for (long[] p : PAUSES) {
          long s = base + p[0] * 1_000_000L + 500_000L;
          long e = base + p[1] * 1_000_000L + 500_000L;
          long o = Math.min(e, toNano) - Math.max(s, fromNano);
          if (o > 0) total += o;
        }
      }
      return total;
    }

    /** Listens to every collector's notifications; must run before {@link #calibrate}. */
    static void listen() {
      for (int i = 0; i < BEANS.size(); i++) {
        final int index = i;
        GarbageCollectorMXBean bean = BEANS.get(i);
        ((NotificationEmitter) bean).addNotificationListener((n, h) -> onNotification(index, n), null, null);
        // GCs before the listener was added are never notified: count them as seen.
        synchronized (PAUSES) {
          SEEN[i] = Math.max(SEEN[i], bean.getCollectionCount());
        }
      }
    }

    private static void onNotification(int index, Notification n) {
      if (!GarbageCollectionNotificationInfo.GARBAGE_COLLECTION_NOTIFICATION.equals(n.getType())) return;
      GarbageCollectionNotificationInfo info = GarbageCollectionNotificationInfo.from((CompositeData) n.getUserData());
      GcInfo gc = info.getGcInfo();
      // "end of minor GC" / "end of major GC" are stop-the-world collections (G1, Parallel, Serial);
      // anything else (a concurrent collector's cycle) is not a pause of the application.
      boolean pause = info.getGcAction().startsWith("end of m");
      long prune = gc.getEndTime() - 300_000; // keep 5 minutes of pauses
      synchronized (PAUSES) {
        if (pause) PAUSES.add(new long[] {gc.getStartTime(), gc.getEndTime()});
        PAUSES.removeIf(p -> p[1] < prune);
        SEEN[index] = Math.max(SEEN[index], gc.getId());
      }
    }

    /**
     * Finds System.nanoTime() at GcInfo time 0: for each of {@code rounds} System.gc() calls
     * bracketed by nanoTime() b and e, the pause [S, E] (whole ms, truncated) lies inside [b, e], so
     * base ∈ (b − (S + 1) ms, e − E ms]; the intersection over the rounds is the answer. Returns
     * a log line.
     */
    static String calibrate(int rounds) throws InterruptedException {
      long lo = Long.MIN_VALUE;
      long hi = Long.MAX_VALUE;
      int found = 0;
      for (int r = 0; r < rounds; r++) {
        // Let the notifications of earlier GCs arrive first, so that only this call's pause follows.
        long[] countsBefore = counts();
        long wait = System.nanoTime() + 2_000_000_000L;
        while (!covered(countsBefore, seen()) && System.nanoTime() < wait) Thread.sleep(5);
        int before;
        synchronized (PAUSES) {
          before = PAUSES.size();
        }
        long b = System.nanoTime();
        System.gc();
        long e = System.nanoTime();
        long[] needed = counts();
        if (java.util.Arrays.equals(needed, countsBefore)) continue; // explicit GC disabled
        long deadline = System.nanoTime() + 2_000_000_000L;
        while (!covered(needed, seen()) && System.nanoTime() < deadline) Thread.sleep(5);
        synchronized (PAUSES) {
          // Every pause notified since `before` lies inside [b, e] (only System.gc() ran in between).
          for (int i = before; i < PAUSES.size(); i++) {
            long[] p = PAUSES.get(i);
            lo = Math.max(lo, b - (p[0] + 1) * 1_000_000L);
            hi = Math.min(hi, e - p[1] * 1_000_000L);
            found++;
          }
        }
      }
      if (found == 0 || lo >= hi) {
        // Fallback: the uptime base (GcInfo's base is later, by the JVM's init time).
        long up = ManagementFactory.getRuntimeMXBean().getUptime();
        baseNano = System.nanoTime() - up * 1_000_000L;
        return "gc clock calibration failed (" + found + " pauses, lo=" + lo + " hi=" + hi
            + "); using the uptime base: gc overlaps may be off by ~100 ms";
      }
      baseNano = lo + (hi - lo) / 2;
      return "gc clock: GcInfo time 0 at monotonic_ns=" + baseNano + " ± " + (hi - lo) / 2_000 + " µs ("
          + found + " System.gc() pauses)";
    }
  }
}
