import { pushTo, type Nanos, type SpanBinding, type SpanKind } from '@threadreel/model';
import { sameThreadName } from './threads.js';

/**
 * Span → thread bindings: which thread executed a span, and how we know.
 *
 * In order of strength (the first that applies wins, each with its confidence):
 * 1. `thread.id` attribute that is the OS tid of a thread of the span's process
 *    (`tid-attribute`, 0.95) — Python `threading.get_native_id()`, Node's main thread;
 * 2. `thread.id` that is a Java thread id, mapped to the OS tid through JFR
 *    (`javaThreadId`↔`osThreadId`) or jstack (`#N`↔`nid`) (`java-thread-id`, 0.9). For a JVM
 *    the Java id is tried first: OpenTelemetry Java puts `Thread.getId()` there;
 * 3. `thread.name` equal to exactly one thread's name, full or as the kernel's 15-byte comm
 *    (`thread-name`, 0.7);
 * 4. log lines carrying the span id (or the trace id, inside the span's interval) written by
 *    one thread, named by tid or by a unique name (`log-lines`, 0.6);
 * 5. for a server span without any of these, the strace fd hand-off (see {@link FdHandoff}):
 *    the worker whose first read of the accepted connection falls in the span (`fd-handoff`, 0.5).
 * A span with no evidence is not bound (its time is `unknown` in the breakdown, never a guess).
 */

export interface BindSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string | null;
  readonly kind: SpanKind;
  readonly startNs: Nanos;
  readonly endNs: Nanos;
  /** Resource `process.pid`, when the exporter set it. */
  readonly pid: number | null;
  /** `thread.id` attribute as text. */
  readonly threadAttr: string | null;
  readonly threadName: string | null;
}

export interface BindThread {
  readonly threadId: string;
  readonly pid: number | null;
  readonly tid: number;
  /** Kernel comms and runtime names seen for it. */
  readonly names: readonly string[];
  /** Java thread ids mapped to this OS thread (JFR, jstack). */
  readonly javaIds: readonly string[];
}

export interface BindLog {
  readonly timeNs: Nanos | null;
  readonly tid: number | null;
  readonly threadName: string | null;
  readonly traceIds: readonly string[];
  readonly spanId: string | null;
}

/** strace: an acceptor took connection fd `fd` at `acceptNs`; `readerThreadId` first read it at `readNs`. */
export interface FdHandoff {
  readonly acceptNs: Nanos;
  readonly acceptorThreadId: string;
  readonly readerThreadId: string;
  readonly readNs: Nanos;
  readonly fd: number;
  /** The client's address (`ip:port`) from the accepted socket's decoration. */
  readonly peer: string | null;
}

export interface BindOptions {
  /** `jvm`, `node`, `python`… from the manifest target. */
  readonly runtime: string | null;
  readonly handoffs?: readonly FdHandoff[];
}

interface Index {
  byTid: Map<number, BindThread[]>;
  byJavaId: Map<string, BindThread[]>;
  all: readonly BindThread[];
}

function index(threads: readonly BindThread[]): Index {
  const byTid = new Map<number, BindThread[]>();
  const byJavaId = new Map<string, BindThread[]>();
  for (const t of threads) {
    pushTo(byTid, t.tid, t);
    for (const j of t.javaIds) pushTo(byJavaId, j, t);
  }
  return { byTid, byJavaId, all: threads };
}

function inProcess(list: readonly BindThread[] | undefined, pid: number | null): BindThread | null {
  if (!list) return null;
  const fit = pid === null ? list : list.filter((t) => t.pid === null || t.pid === pid);
  return fit.length === 1 ? (fit[0] ?? null) : null;
}

function byName(ix: Index, name: string, pid: number | null): BindThread | null {
  const hits = ix.all.filter(
    (t) => (pid === null || t.pid === null || t.pid === pid) && t.names.some((n) => sameThreadName(name, n)),
  );
  return hits.length === 1 ? (hits[0] ?? null) : null;
}

function bind(s: BindSpan, t: BindThread, method: SpanBinding['method'], confidence: number): SpanBinding {
  return {
    traceId: s.traceId,
    spanId: s.spanId,
    threadId: t.threadId,
    startNs: s.startNs,
    endNs: s.endNs,
    method,
    confidence,
  };
}

/** Binds each span to the thread that executed it (at most one binding per span). */
export function bindSpans(
  spans: readonly BindSpan[],
  threads: readonly BindThread[],
  logs: readonly BindLog[],
  options: BindOptions,
): SpanBinding[] {
  const ix = index(threads);
  const jvm = options.runtime === 'jvm';
  const logsBySpan = new Map<string, BindLog[]>();
  const logsByTrace = new Map<string, BindLog[]>();
  for (const l of logs) {
    if (l.spanId) pushTo(logsBySpan, l.spanId, l);
    for (const t of l.traceIds) pushTo(logsByTrace, t, l);
  }
  const out: SpanBinding[] = [];
  for (const s of spans) {
    const attr = s.threadAttr !== null && /^\d{1,19}$/.test(s.threadAttr) ? s.threadAttr : null;
    if (attr !== null) {
      const java = inProcess(ix.byJavaId.get(attr), s.pid);
      const os = Number(attr) <= 0x7fffffff ? inProcess(ix.byTid.get(Number(attr)), s.pid) : null;
      const first = jvm ? java : os;
      if (first) {
        out.push(bind(s, first, jvm ? 'java-thread-id' : 'tid-attribute', jvm ? 0.9 : 0.95));
        continue;
      }
      // A Java id that is also some OS tid would be a coincidence: only take the OS tid when no JVM.
      if (!jvm && java) {
        out.push(bind(s, java, 'java-thread-id', 0.9));
        continue;
      }
    }
    if (s.threadName) {
      const t = byName(ix, s.threadName, s.pid);
      if (t) {
        out.push(bind(s, t, 'thread-name', 0.7));
        continue;
      }
    }
    const lines =
      logsBySpan.get(s.spanId) ??
      (logsByTrace.get(s.traceId) ?? []).filter(
        (l) => l.timeNs !== null && l.timeNs >= s.startNs && l.timeNs < s.endNs,
      );
    const votes = new Map<string, { t: BindThread; n: number }>();
    for (const l of lines) {
      const t =
        (l.tid !== null ? inProcess(ix.byTid.get(l.tid), s.pid) : null) ??
        (l.threadName ? byName(ix, l.threadName, s.pid) : null);
      if (t) votes.set(t.threadId, { t, n: (votes.get(t.threadId)?.n ?? 0) + 1 });
    }
    const best = [...votes.values()].sort((a, b) => b.n - a.n)[0];
    if (best && (votes.size === 1 || best.n > lines.length / 2)) {
      out.push(bind(s, best.t, 'log-lines', 0.6));
      continue;
    }
    if (s.kind === 'server' && options.handoffs) {
      const h = options.handoffs.find((x) => x.readNs >= s.startNs - 5_000_000n && x.readNs < s.endNs);
      const t = h ? threads.find((x) => x.threadId === h.readerThreadId) : undefined;
      if (t) out.push(bind(s, t, 'fd-handoff', 0.5));
    }
  }
  return out;
}
