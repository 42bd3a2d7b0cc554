import {
  appendAll,
  pushTo,
  type RequestAnalysis,
  type Segment,
  type SpanBinding,
  type Wakeup,
} from '@threadreel/model';
import type { CorrelationSink } from './ports.js';

/** A clock placement as recorded. */
export interface RecordedClock {
  fileId: string;
  offsetNs: bigint | null;
  method: string;
  evidence: Record<string, unknown>;
}

/** What one correlation derived, as a {@link MemorySink} keeps it. */
export interface Derived {
  segments: Map<string, Segment[]>;
  wakeups: Wakeup[];
  bindings: SpanBinding[];
  requests: RequestAnalysis[];
}

/**
 * The write port in memory: what a correlation writes, kept as written — clocks and thread
 * facts at once, the rest visible in `committed` only after `commit` (a `rollback` drops it),
 * as the Postgres sink does in its transaction. Lets specs correlate whole captures without a
 * database. `views` counts the threads whose replay views were asked for (the store builds them).
 */
export class MemorySink implements CorrelationSink {
  readonly clocks: RecordedClock[] = [];
  readonly threads = new Map<string, { pool: string | null; quality: string }>();
  readonly views = new Set<string>();
  committed: Derived | null = null;
  private pending: Derived = MemorySink.empty();

  private static empty(): Derived {
    return { segments: new Map(), wakeups: [], bindings: [], requests: [] };
  }

  recordClock(
    fileId: string,
    offsetNs: bigint | null,
    method: string,
    evidence: Record<string, unknown>,
  ): Promise<void> {
    this.clocks.push({ fileId, offsetNs, method, evidence });
    return Promise.resolve();
  }

  threadInfo(threadId: string, pool: string | null, quality: string): Promise<void> {
    this.threads.set(threadId, { pool, quality });
    return Promise.resolve();
  }

  threadSegments(threadId: string, segments: readonly Segment[], wakeups: readonly Wakeup[]): Promise<void> {
    for (const s of segments) pushTo(this.pending.segments, threadId, s);
    appendAll(this.pending.wakeups, wakeups);
    return Promise.resolve();
  }

  threadViews(threadId: string): Promise<void> {
    this.views.add(threadId);
    return Promise.resolve();
  }

  bindings(bindings: readonly SpanBinding[]): Promise<void> {
    appendAll(this.pending.bindings, bindings);
    return Promise.resolve();
  }

  segmentsInWindow(threadId: string, fromNs: bigint, toNs: bigint): Promise<Segment[]> {
    const list = this.pending.segments.get(threadId) ?? [];
    return Promise.resolve(list.filter((s) => s.endNs > fromNs && s.startNs < toNs));
  }

  commit(requests: readonly RequestAnalysis[]): Promise<void> {
    appendAll(this.pending.requests, requests);
    this.committed = this.pending;
    this.pending = MemorySink.empty();
    return Promise.resolve();
  }

  rollback(): Promise<void> {
    this.pending = MemorySink.empty();
    return Promise.resolve();
  }
}
