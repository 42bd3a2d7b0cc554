package com.threadreel.scenario;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ThreadLocalRandom;

/**
 * W3C trace context and a tiny OTLP/JSON span exporter (no agent or SDK is available): finished
 * spans are queued and the {@code otlp-exporter} thread appends one {@code ExportTraceServiceRequest}
 * JSON object per line to the spans file every 200 ms (and on shutdown); it also writes the ready
 * lines of {@code measured.jsonl} ({@link Measured#flush}). Attribute names follow the
 * OpenTelemetry Java agent 1.x (old HTTP semantic conventions, thread.id / thread.name).
 */
final class Tracing {
  static final int KIND_SERVER = 2;
  static final int KIND_CLIENT = 3;
  static final int STATUS_UNSET = 0;
  static final int STATUS_ERROR = 2;

  private static final int MAX_BATCH = 512;
  private static final long EXPORT_PERIOD_MS = 200;

  /** The context of one span; {@code parentSpanId} is "" for a root span. */
  record SpanContext(String traceId, String spanId, String parentSpanId, String flags) {
    /** The traceparent header value that makes this span the parent of a downstream span. */
    String traceparent() {
      return "00-" + traceId + "-" + spanId + "-" + flags;
    }

    /** A new child span of this one (same trace, new span id). */
    SpanContext child() {
      return new SpanContext(traceId, newSpanId(), spanId, flags);
    }
  }

  /**
   * True while this thread serves a warm-up request (header {@code X-Threadreel-Warmup}): its spans,
   * log lines and measured line are built (so that code is JIT-warm too) but dropped.
   */
  static final ThreadLocal<Boolean> SUPPRESS = ThreadLocal.withInitial(() -> Boolean.FALSE);

  private static final ConcurrentLinkedQueue<String> SPANS = new ConcurrentLinkedQueue<>();
  private static final Object WRITE_LOCK = new Object();
  private static volatile OutputStream spansOut;
  private static volatile Thread exporter;
  private static String resourcePrefix = "";

  private Tracing() {}

  /**
   * The server span context of a request: the incoming header's trace id and flags, a new span id
   * and the header's span id as parent. A missing or invalid header starts a new trace.
   */
  static SpanContext serverContext(String traceparent) {
    if (traceparent != null) {
      String[] p = traceparent.trim().split("-");
      if (p.length >= 4
          && p[0].length() == 2
          && isHex(p[0])
          && !p[0].equals("ff")
          && p[1].length() == 32
          && isHex(p[1])
          && !isZero(p[1])
          && p[2].length() == 16
          && isHex(p[2])
          && !isZero(p[2])
          && p[3].length() == 2
          && isHex(p[3])) {
        return new SpanContext(p[1], newSpanId(), p[2], p[3]);
      }
    }
    return new SpanContext(newTraceId(), newSpanId(), "", "01");
  }

  static String newTraceId() {
    ThreadLocalRandom r = ThreadLocalRandom.current();
    return hex16(r.nextLong() | 1L) + hex16(r.nextLong());
  }

  static String newSpanId() {
    return hex16(ThreadLocalRandom.current().nextLong() | 1L);
  }

  private static String hex16(long v) {
    String s = Long.toHexString(v);
    return "0".repeat(16 - s.length()) + s;
  }

  private static boolean isHex(String s) {
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    }
    return true;
  }

  private static boolean isZero(String s) {
    for (int i = 0; i < s.length(); i++) if (s.charAt(i) != '0') return false;
    return true;
  }

  /** A span being recorded; {@link #end} queues it for export. */
  static final class Span {
    final SpanContext ctx;
    final String name;
    final int kind;
    final long startNs;
    private final StringBuilder attrs = new StringBuilder();
    private int statusCode = STATUS_UNSET;
    private String statusMessage;

    Span(SpanContext ctx, String name, int kind) {
      this.ctx = ctx;
      this.name = name;
      this.kind = kind;
      this.startNs = Clock.epochNanos();
      Thread t = Thread.currentThread();
      attr("thread.id", t.getId());
      attr("thread.name", t.getName());
    }

    Span attr(String key, String value) {
      sep().append("{\"key\":");
      Json.str(attrs, key).append(",\"value\":{\"stringValue\":");
      Json.str(attrs, value).append("}}");
      return this;
    }

    /** int64 attributes use the proto3 JSON mapping of int64: a decimal string. */
    Span attr(String key, long value) {
      sep().append("{\"key\":");
      Json.str(attrs, key).append(",\"value\":{\"intValue\":\"").append(value).append("\"}}");
      return this;
    }

    Span error(String message) {
      statusCode = STATUS_ERROR;
      statusMessage = message;
      return this;
    }

    private StringBuilder sep() {
      if (attrs.length() > 0) attrs.append(',');
      return attrs;
    }

    void end() {
      long endNs = Clock.epochNanos();
      StringBuilder sb = new StringBuilder(512);
      sb.append("{\"traceId\":\"").append(ctx.traceId()).append("\",\"spanId\":\"").append(ctx.spanId()).append('"');
      if (!ctx.parentSpanId().isEmpty()) sb.append(",\"parentSpanId\":\"").append(ctx.parentSpanId()).append('"');
      sb.append(",\"name\":");
      Json.str(sb, name);
      sb.append(",\"kind\":").append(kind);
      sb.append(",\"startTimeUnixNano\":\"").append(startNs).append('"');
      sb.append(",\"endTimeUnixNano\":\"").append(endNs).append('"');
      sb.append(",\"attributes\":[").append(attrs).append(']');
      sb.append(",\"status\":{");
      if (statusCode != STATUS_UNSET) {
        sb.append("\"code\":").append(statusCode);
        if (statusMessage != null) Json.str(sb.append(",\"message\":"), statusMessage);
      }
      sb.append("}}");
      if (!SUPPRESS.get()) SPANS.add(sb.toString());
    }
  }

  static void open(Path spansFile, String serviceName) throws IOException {
    StringBuilder res = new StringBuilder();
    res.append("{\"resourceSpans\":[{\"resource\":{\"attributes\":[");
    res.append("{\"key\":\"service.name\",\"value\":{\"stringValue\":");
    Json.str(res, serviceName).append("}}");
    res.append(",{\"key\":\"process.pid\",\"value\":{\"intValue\":\"").append(ProcessHandle.current().pid()).append("\"}}");
    res.append(",{\"key\":\"process.runtime.name\",\"value\":{\"stringValue\":");
    Json.str(res, System.getProperty("java.runtime.name", "java")).append("}}");
    res.append(",{\"key\":\"process.runtime.version\",\"value\":{\"stringValue\":");
    Json.str(res, System.getProperty("java.runtime.version", "")).append("}}");
    res.append(",{\"key\":\"telemetry.sdk.language\",\"value\":{\"stringValue\":\"java\"}}");
    String host;
    try {
      host = InetAddress.getLocalHost().getHostName();
    } catch (IOException e) {
      host = "localhost";
    }
    res.append(",{\"key\":\"host.name\",\"value\":{\"stringValue\":");
    Json.str(res, host).append("}}");
    res.append("]},\"scopeSpans\":[{\"scope\":{\"name\":\"com.threadreel.scenario\",\"version\":\"1.0.0\"},\"spans\":[");
    resourcePrefix = res.toString();

    spansOut =
        Files.newOutputStream(
            spansFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.APPEND);
    Thread t =
        new Thread(
            () -> {
              while (!Thread.currentThread().isInterrupted()) {
                try {
                  Thread.sleep(EXPORT_PERIOD_MS);
                } catch (InterruptedException e) {
                  break;
                }
                flush();
                Measured.flush(false);
              }
              flush();
            },
            "otlp-exporter");
    t.setDaemon(true);
    t.start();
    exporter = t;
  }

  /** Writes every queued span (batches of at most 512 per line). */
  static void flush() {
    synchronized (WRITE_LOCK) {
      OutputStream so = spansOut;
      if (so == null) return;
      try {
        StringBuilder out = new StringBuilder();
        List<String> batch = new ArrayList<>();
        for (String s; (s = SPANS.poll()) != null; ) {
          batch.add(s);
          if (batch.size() == MAX_BATCH) {
            appendRequest(out, batch);
            batch.clear();
          }
        }
        if (!batch.isEmpty()) appendRequest(out, batch);
        if (out.length() > 0) {
          so.write(out.toString().getBytes(StandardCharsets.UTF_8));
          so.flush();
        }
      } catch (IOException e) {
        System.err.println("span export failed: " + e);
      }
    }
  }

  private static void appendRequest(StringBuilder out, List<String> spans) {
    out.append(resourcePrefix).append(String.join(",", spans)).append("]}]}]}\n");
  }

  static void close() {
    Thread t = exporter;
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
        if (spansOut != null) spansOut.close();
      } catch (IOException e) {
        System.err.println("spans close failed: " + e);
      }
      spansOut = null;
    }
  }

  /** Minimal JSON string encoding. */
  static final class Json {
    private Json() {}

    static StringBuilder str(StringBuilder sb, String s) {
      sb.append('"');
      for (int i = 0; i < s.length(); i++) {
        char c = s.charAt(i);
        switch (c) {
          case '"' -> sb.append("\\\"");
          case '\\' -> sb.append("\\\\");
          case '\n' -> sb.append("\\n");
          case '\r' -> sb.append("\\r");
          case '\t' -> sb.append("\\t");
          default -> {
            if (c < 0x20) sb.append(String.format("\\u%04x", (int) c));
            else sb.append(c);
          }
        }
      }
      return sb.append('"');
    }
  }
}
