package com.threadreel.scenario;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * A logback-like application log with an asynchronous appender: request threads only format and
 * enqueue the line (no write syscalls on the request's thread); the {@code log-writer} thread
 * appends to the file every 50 ms and on shutdown.
 *
 * <pre>2026-11-21T22:10:01.123+00:00 INFO [http-worker-2] trace_id=… span_id=… c.t.s.Server - GET /lock done in 103 ms</pre>
 *
 * Lines written outside a request carry no trace_id/span_id fields.
 */
final class AppLog {
  /** The trace context of the request running on this thread (like the logback MDC). */
  static final ThreadLocal<Tracing.SpanContext> MDC = new ThreadLocal<>();

  private static final DateTimeFormatter TS =
      DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSSxxx").withZone(ZoneId.systemDefault());
  private static final ConcurrentLinkedQueue<String> QUEUE = new ConcurrentLinkedQueue<>();
  private static final Object WRITE_LOCK = new Object();
  private static volatile OutputStream out;
  private static volatile Thread writer;

  private AppLog() {}

  static void open(Path file) throws IOException {
    out =
        Files.newOutputStream(
            file, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.APPEND);
    Thread t =
        new Thread(
            () -> {
              while (!Thread.currentThread().isInterrupted()) {
                try {
                  Thread.sleep(50);
                } catch (InterruptedException e) {
                  break;
                }
                flush();
              }
              flush();
            },
            "log-writer");
    t.setDaemon(true);
    t.start();
    writer = t;
  }

  static void info(String logger, String message) {
    log("INFO", logger, message);
  }

  static void warn(String logger, String message) {
    log("WARN", logger, message);
  }

  static void error(String logger, String message) {
    log("ERROR", logger, message);
  }

  static void log(String level, String logger, String message) {
    Instant t = Instant.ofEpochSecond(0, Clock.epochNanos());
    StringBuilder sb = new StringBuilder(160);
    sb.append(TS.format(t)).append(' ').append(level).append(" [").append(Thread.currentThread().getName()).append("] ");
    Tracing.SpanContext ctx = MDC.get();
    if (ctx != null) {
      sb.append("trace_id=").append(ctx.traceId()).append(" span_id=").append(ctx.spanId()).append(' ');
    }
    sb.append(logger).append(" - ").append(message).append('\n');
    if (!Tracing.SUPPRESS.get()) QUEUE.add(sb.toString());
  }

  static void flush() {
    synchronized (WRITE_LOCK) {
      OutputStream o = out;
      if (o == null) return;
      StringBuilder batch = new StringBuilder();
      for (String line; (line = QUEUE.poll()) != null; ) batch.append(line);
      if (batch.length() == 0) return;
      try {
        o.write(batch.toString().getBytes(StandardCharsets.UTF_8));
        o.flush();
      } catch (IOException e) {
        System.err.println("app.log write failed: " + e);
      }
    }
  }

  static void close() {
    Thread t = writer;
    if (t != null) {
      t.interrupt();
      try {
        t.join(2000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    flush();
    synchronized (WRITE_LOCK) {
      try {
        if (out != null) out.close();
      } catch (IOException e) {
        System.err.println("app.log close failed: " + e);
      }
      out = null;
    }
  }
}
