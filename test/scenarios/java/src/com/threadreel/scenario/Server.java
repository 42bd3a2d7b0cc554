package com.threadreel.scenario;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.HttpURLConnection;
import java.net.InetSocketAddress;
import java.net.Proxy;
import java.net.URI;
import java.net.URL;
import java.net.URLDecoder;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The threadreel Java test service: an HTTP server whose routes each plant one known cause of
 * latency (lock, gc, file, net, cpu; /fast requests sent while all workers are busy wait in the
 * pool's queue: pool-queue).
 *
 * <p>Usage: {@code java ... com.threadreel.scenario.Server --port N --upstream URL --work-dir DIR
 * [--pool 4] [--service-name scenario-java]}
 *
 * <p>Writes {@code app.log}, {@code spans.otlp.jsonl} (OTLP/JSON, one ExportTraceServiceRequest per
 * line) and {@code measured.jsonl} (where each request's time went, see {@link Measured}) into the work
 * dir; the JVM itself writes {@code gc.log} when started with {@code -Xlog:gc*:file=...}.
 */
public final class Server {
  private static final String LOG = "c.t.s.Server";
  private static final String LOCK_LOG = "c.t.s.LedgerLock";
  private static final String UPSTREAM_LOG = "c.t.s.UpstreamClient";
  private static final String FILE_LOG = "c.t.s.BlobStore";
  private static final String CPU_LOG = "c.t.s.Hasher";
  private static final String ALLOC_LOG = "c.t.s.ReportBuilder";

  /** The shared monitor /lock contends on. A named class so JFR and jstack show it clearly. */
  static final class LedgerMonitor {}

  private static final LedgerMonitor LEDGER = new LedgerMonitor();

  /** The measurement of the exchange this pool thread took off the queue (set by the executor). */
  private static final ThreadLocal<Measured> MEASURED = new ThreadLocal<>();

  /** The Linux thread id (TID) of the current thread, read once from /proc/thread-self. */
  private static final ThreadLocal<Long> NATIVE_TID =
      ThreadLocal.withInitial(
          () -> {
            try {
              String link = Files.readSymbolicLink(Path.of("/proc/thread-self")).toString();
              return Long.parseLong(link.substring(link.lastIndexOf('/') + 1));
            } catch (IOException | RuntimeException e) {
              return -1L;
            }
          });

  private static final AtomicLong FILE_COUNTER = new AtomicLong();

  /** Record payload of /file, generated once so the route spends no CPU making data. */
  private static final byte[] JOURNAL_BLOCK = new byte[64 * 1024];

  static {
    new java.util.Random(42).nextBytes(JOURNAL_BLOCK);
  }

  private final int port;
  private final String upstream;
  private final Path workDir;
  private final Path dataDir;

  private Server(int port, String upstream, Path workDir) {
    this.port = port;
    this.upstream = upstream.endsWith("/") ? upstream.substring(0, upstream.length() - 1) : upstream;
    this.workDir = workDir;
    this.dataDir = workDir.resolve("data");
  }

  /** One request: its span context, query and measurement (measured.jsonl). */
  static final class Req {
    final Tracing.SpanContext ctx;
    final Map<String, String> query;
    final Measured m;

    Req(Tracing.SpanContext ctx, Map<String, String> query, Measured m) {
      this.ctx = ctx;
      this.query = query;
      this.m = m;
    }

    int intParam(String name, int dflt, int min, int max) {
      String v = query.get(name);
      if (v == null) return dflt;
      try {
        return Math.max(min, Math.min(max, Integer.parseInt(v)));
      } catch (NumberFormatException e) {
        return dflt;
      }
    }
  }

  @FunctionalInterface
  interface Route {
    String handle(Req req) throws Exception;
  }

  private Map<String, Route> routes() {
    Map<String, Route> m = new HashMap<>();
    m.put("/lock", this::lock);
    m.put("/alloc", this::alloc);
    m.put("/file", this::file);
    m.put("/upstream", this::upstreamCall);
    m.put("/cpu", this::cpu);
    m.put("/fast", this::fast);
    return m;
  }

  // ---------------------------------------------------------------------------------------------
  // Routes

  /** Contends on one shared monitor whose holder burns ~100 ms of CPU (planted cause: lock). */
  private String lock(Req req) {
    int holdMs = req.intParam("hold", 100, 1, 2000);
    String digest;
    req.m.begin();
    synchronized (LEDGER) {
      long waited = req.m.endLock();
      long acquired = System.nanoTime();
      AppLog.info(LOCK_LOG, "GET /lock acquired ledger lock after " + ms(waited) + " ms");
      digest = Work.burn(holdMs);
      long held = System.nanoTime() - acquired;
      AppLog.info(LOCK_LOG, "GET /lock releasing ledger lock after holding " + ms(held) + " ms");
    }
    return "ledger " + digest + "\n";
  }

  /**
   * Allocation churn under a 64 MiB heap: builds a report of many small rows while keeping the
   * latest {@code live} thousand reachable, so G1 young pauses (and the odd full GC) happen while
   * the request runs (planted cause: gc).
   */
  private String alloc(Req req) {
    int rowsK = req.intParam("rows", 600, 1, 100_000);
    int liveK = req.intParam("live", 100, 0, 400);
    long bytes = Work.churn(rowsK * 1000, liveK * 1000);
    AppLog.info(
        ALLOC_LOG,
        "GET /alloc built report of " + rowsK + "k rows (~" + (bytes >> 20) + " MiB allocated, " + liveK + "k rows kept live)");
    return "rows " + rowsK + "k\n";
  }

  /**
   * Appends 1–4 MiB (cycling; {@code ?mb=N} to choose) to a journal file of the work dir in
   * {@code ?chunk=} KiB records (default 32), forcing each record to disk with
   * {@code FileChannel.force(true)} like a durable write-ahead log (planted cause: file).
   */
  private String file(Req req) throws IOException {
    long n = FILE_COUNTER.getAndIncrement();
    int mb = req.intParam("mb", (int) (1 + n % 4), 1, 64);
    int chunkKb = req.intParam("chunk", 32, 4, 4096);
    Path p = dataDir.resolve("journal-" + Thread.currentThread().getName() + ".bin");
    ByteBuffer chunk = ByteBuffer.allocate(chunkKb * 1024);
    for (int off = 0; off < chunk.capacity(); off += JOURNAL_BLOCK.length) {
      chunk.put(off, JOURNAL_BLOCK, 0, Math.min(JOURNAL_BLOCK.length, chunk.capacity() - off));
    }
    long target = (long) mb << 20;
    long written = 0;
    long writeNs = 0;
    long syncNs = 0;
    int syncs = 0;
    req.m.begin(); // file: open (truncate) to close, every write and force
    try (FileChannel ch =
        FileChannel.open(
            p, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
      while (written < target) {
        chunk.putLong(0, n).putLong(8, written);
        chunk.clear();
        long t0 = System.nanoTime();
        while (chunk.hasRemaining()) written += ch.write(chunk);
        long t1 = System.nanoTime();
        ch.force(true);
        long t2 = System.nanoTime();
        writeNs += t1 - t0;
        syncNs += t2 - t1;
        syncs++;
      }
    } finally {
      req.m.endFile();
    }
    AppLog.info(
        FILE_LOG,
        "GET /file appended " + written + " bytes to " + p.getFileName() + " in " + syncs + " records: write "
            + ms(writeNs) + " ms, force " + ms(syncNs) + " ms");
    return "wrote " + written + " bytes\n";
  }

  /** A synchronous call to the slow upstream on the worker thread (planted cause: net). */
  private String upstreamCall(Req req) throws IOException {
    int delay = req.intParam("ms", 150, 0, 60_000);
    String url = upstream + "/slow?ms=" + delay;
    URL u = URI.create(url).toURL();
    Tracing.SpanContext cctx = req.ctx.child();
    Tracing.Span span =
        new Tracing.Span(cctx, "HTTP GET", Tracing.KIND_CLIENT)
            .attr("http.method", "GET")
            .attr("http.url", url)
            .attr("net.peer.name", u.getHost())
            .attr("net.peer.port", u.getPort() == -1 ? u.getDefaultPort() : u.getPort());
    AppLog.info(UPSTREAM_LOG, "GET /upstream calling " + url);
    int code = -1;
    int bytes = 0;
    long took;
    req.m.begin();
    try {
      HttpURLConnection c = (HttpURLConnection) u.openConnection(Proxy.NO_PROXY);
      c.setConnectTimeout(5_000);
      c.setReadTimeout(delay + 10_000);
      c.setRequestProperty("traceparent", cctx.traceparent());
      code = c.getResponseCode();
      try (InputStream in = code >= 400 ? c.getErrorStream() : c.getInputStream()) {
        if (in != null) bytes = in.readAllBytes().length;
      }
      span.attr("http.status_code", code);
      if (code >= 400) span.error("HTTP " + code);
    } catch (IOException e) {
      span.error(e.toString());
      throw e;
    } finally {
      took = req.m.endNet();
      span.end();
    }
    AppLog.info(UPSTREAM_LOG, "GET /upstream upstream answered " + code + " (" + bytes + " bytes) in " + ms(took) + " ms");
    if (code >= 400) throw new IOException("upstream answered " + code);
    return "upstream " + code + "\n";
  }

  /** ~80 ms of hashing (planted cause: cpu). */
  private String cpu(Req req) {
    int workMs = req.intParam("ms", 80, 1, 5000);
    String digest = Work.burn(workMs);
    AppLog.info(CPU_LOG, "GET /cpu hashed for ~" + workMs + " ms of CPU, digest " + digest);
    return "digest " + digest + "\n";
  }

  /** Trivial; {@code ?ms=N} holds the worker with a sleep. */
  private String fast(Req req) throws InterruptedException {
    int sleepMs = req.intParam("ms", 0, 0, 10_000);
    if (sleepMs > 0) Thread.sleep(sleepMs);
    return "ok\n";
  }

  // ---------------------------------------------------------------------------------------------
  // HTTP plumbing

  private void handle(HttpExchange ex, Map<String, Route> routes) throws IOException {
    long runStart = System.nanoTime();
    Measured m = MEASURED.get();
    if (m == null) m = new Measured(runStart); // not run by the pool's executor: no queue wait
    URI uri = ex.getRequestURI();
    String path = uri.getPath();
    String method = ex.getRequestMethod();
    try (InputStream in = ex.getRequestBody()) {
      in.readAllBytes();
    }
    if (path.equals("/") || path.equals("/health")) {
      respond(ex, 200, "ok\n");
      return;
    }
    Route route = routes.get(path);
    String target = uri.getRawQuery() == null ? path : path + "?" + uri.getRawQuery();
    Tracing.SpanContext ctx = Tracing.serverContext(ex.getRequestHeaders().getFirst("traceparent"));
    Tracing.Span span =
        new Tracing.Span(ctx, route == null ? method : method + " " + path, Tracing.KIND_SERVER)
            .attr("http.method", method)
            .attr("http.scheme", "http")
            .attr("http.target", target)
            .attr("net.host.name", "127.0.0.1")
            .attr("net.host.port", port);
    if (route != null) span.attr("http.route", path);
    AppLog.MDC.set(ctx);
    Tracing.SUPPRESS.set(ex.getRequestHeaders().containsKey("X-Threadreel-Warmup"));
    m.traceId = ctx.traceId();
    m.spanId = ctx.spanId();
    m.route = path;
    m.suppressed = Tracing.SUPPRESS.get();
    Req req = new Req(ctx, parseQuery(uri.getRawQuery()), m);
    int status = 200;
    String body;
    try {
      AppLog.info(LOG, method + " " + target + " started");
      if (route == null) {
        status = 404;
        body = "not found\n";
      } else {
        body = route.handle(req);
      }
    } catch (Exception e) {
      status = 500;
      body = "error: " + e + "\n";
      span.error(e.toString());
      AppLog.error(LOG, method + " " + target + " failed: " + e);
    }
    try {
      respond(ex, status, body);
    } finally {
      long end = System.nanoTime();
      span.attr("http.status_code", status);
      if (status >= 500) span.error("HTTP " + status);
      AppLog.info(LOG, method + " " + path + " done in " + ms(end - runStart) + " ms status=" + status);
      span.end();
      AppLog.MDC.remove();
      m.finish(end, NATIVE_TID.get());
      Tracing.SUPPRESS.remove();
    }
  }

  private static void respond(HttpExchange ex, int status, String body) throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    ex.getResponseHeaders().set("Content-Type", "text/plain; charset=utf-8");
    ex.sendResponseHeaders(status, bytes.length);
    try (OutputStream os = ex.getResponseBody()) {
      os.write(bytes);
    }
  }

  private static Map<String, String> parseQuery(String raw) {
    Map<String, String> m = new HashMap<>();
    if (raw == null || raw.isEmpty()) return m;
    for (String kv : raw.split("&")) {
      int eq = kv.indexOf('=');
      String k = eq < 0 ? kv : kv.substring(0, eq);
      String v = eq < 0 ? "" : kv.substring(eq + 1);
      m.put(URLDecoder.decode(k, StandardCharsets.UTF_8), URLDecoder.decode(v, StandardCharsets.UTF_8));
    }
    return m;
  }

  private static String ms(long nanos) {
    return Long.toString(Math.round(nanos / 1e6));
  }

  // ---------------------------------------------------------------------------------------------
  // Startup and shutdown

  private void run(int poolSize, String serviceName) throws IOException {
    Files.createDirectories(dataDir);
    AppLog.open(workDir.resolve("app.log"));
    Tracing.open(workDir.resolve("spans.otlp.jsonl"), serviceName);
    Measured.open(workDir.resolve("measured.jsonl"));
    long pid = ProcessHandle.current().pid();
    AppLog.info(
        LOG,
        "starting " + serviceName + " pid=" + pid + " clock anchor epoch_ns=" + Clock.ANCHOR_EPOCH_NS
            + " monotonic_ns=" + Clock.ANCHOR_MONOTONIC_NS + " uncertainty_ns=" + Clock.ANCHOR_UNCERTAINTY_NS);

    double rate = Work.calibrate();
    warmUpFile();
    AppLog.info(LOG, String.format("calibrated hashing: %.0f SHA-256 rounds per ms of CPU", rate));
    Measured.Gc.listen();
    try {
      AppLog.info(LOG, Measured.Gc.calibrate(10));
    } catch (InterruptedException e) {
      throw new IOException("interrupted while calibrating the GC clock", e);
    }

    AtomicInteger n = new AtomicInteger();
    ThreadFactory factory =
        r -> {
          Thread t = new Thread(r, "http-worker-" + n.incrementAndGet());
          t.setDaemon(false);
          return t;
        };
    ExecutorService pool = Executors.newFixedThreadPool(poolSize, factory);
    // All workers exist before the first request (and before a recorder lists the threads).
    ((ThreadPoolExecutor) pool).prestartAllCoreThreads();
    HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", port), 256);
    Map<String, Route> routes = routes();
    server.createContext("/", ex -> handle(ex, routes));
    // Arrival: the dispatcher thread submits the exchange (its request has arrived); the handler
    // starts when a pool thread takes it off the queue (measured.jsonl pool-queue).
    server.setExecutor(
        r -> {
          long arrival = System.nanoTime();
          pool.execute(
              () -> {
                MEASURED.set(new Measured(arrival));
                try {
                  r.run();
                } finally {
                  MEASURED.remove();
                }
              });
        });

    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  AppLog.info(LOG, "shutdown requested: stopping HTTP server");
                  server.stop(1);
                  pool.shutdown();
                  try {
                    if (!pool.awaitTermination(3, TimeUnit.SECONDS)) pool.shutdownNow();
                  } catch (InterruptedException e) {
                    pool.shutdownNow();
                  }
                  AppLog.info(LOG, "stopped; flushing spans, measurements and logs");
                  Tracing.close();
                  Measured.close();
                  AppLog.close();
                },
                "shutdown-hook"));

    server.start();
    AppLog.info(LOG, "listening on http://127.0.0.1:" + port + " with " + poolSize + " http-worker threads, upstream " + upstream);
    System.out.println("listening on http://127.0.0.1:" + port + " pid=" + pid);
  }

  /** Loads the file path classes and JITs nothing in particular; keeps the first /file honest. */
  private void warmUpFile() throws IOException {
    Path p = dataDir.resolve("warmup.bin");
    try (FileChannel ch =
        FileChannel.open(
            p, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
      ch.write(ByteBuffer.allocate(4096));
      ch.force(true);
    }
    Files.deleteIfExists(p);
  }

  public static void main(String[] args) throws IOException {
    Map<String, String> opts = new HashMap<>();
    for (int i = 0; i + 1 < args.length; i += 2) {
      if (!args[i].startsWith("--")) throw new IllegalArgumentException("unexpected argument " + args[i]);
      opts.put(args[i].substring(2), args[i + 1]);
    }
    String port = opts.getOrDefault("port", System.getenv("PORT"));
    String upstream = opts.getOrDefault("upstream", System.getenv("UPSTREAM_URL"));
    String workDir = opts.getOrDefault("work-dir", System.getenv("WORK_DIR"));
    if (port == null || upstream == null || workDir == null) {
      System.err.println("usage: Server --port N --upstream URL --work-dir DIR [--pool 4] [--service-name NAME]");
      System.exit(2);
    }
    int pool = Integer.parseInt(opts.getOrDefault("pool", "4"));
    String serviceName = opts.getOrDefault("service-name", "scenario-java");
    new Server(Integer.parseInt(port), upstream, Path.of(workDir).toAbsolutePath()).run(pool, serviceName);
  }
}
