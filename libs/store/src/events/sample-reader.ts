import type { DataSource } from 'typeorm';
import type { SampleDto, SampleTimeline, ThreadSummary } from '@threadreel/model';
import { readStackNodes, type StackNode } from './stacks.js';

export interface FoldRow {
  comm: string;
  pid: number | null;
  tid: number;
  event: string;
  /** Frames leaf first. */
  frames: { symbol: string; dso: string }[];
  count: number;
}

/**
 * SQL readers over a capture's events. Every query is bounded by capture (one
 * partition) and, where it reads one thread, by the (capture, thread, time) index.
 */
export class SampleReader {
  constructor(private readonly ds: DataSource) {}

  async threads(captureId: string): Promise<ThreadSummary[]> {
    const rows = await this.ds.query<
      {
        id: number;
        pid: number | null;
        tid: number;
        names: string[];
        samples: string;
        first_ns: string | null;
        last_ns: string | null;
      }[]
    >(
      `SELECT id::int AS id, pid, tid, names, sample_count::text AS samples,
              first_ns::text AS first_ns, last_ns::text AS last_ns
       FROM threads WHERE capture_id = $1 ORDER BY sample_count DESC, tid`,
      [captureId],
    );
    return rows.map((r) => ({
      id: r.id,
      pid: r.pid,
      tid: r.tid,
      names: r.names,
      samples: r.samples,
      firstNs: r.first_ns,
      lastNs: r.last_ns,
    }));
  }

  async threadExists(captureId: string, threadId: number): Promise<boolean> {
    const r = await this.ds.query<unknown[]>('SELECT 1 FROM threads WHERE capture_id = $1 AND id = $2', [
      captureId,
      threadId,
    ]);
    return r.length > 0;
  }

  /** One thread's samples in [from, to), oldest first, with their stacks resolved. */
  async samples(
    captureId: string,
    threadId: number,
    from: bigint | null,
    to: bigint | null,
    limit: number,
  ): Promise<{ samples: SampleDto[]; truncated: boolean }> {
    const rows = await this.ds.query<
      {
        time_ns: string | null;
        cpu: number | null;
        event: string;
        weight: string;
        stack_id: string | null;
      }[]
    >(
      `SELECT s.time_ns::text AS time_ns, s.cpu, e.value AS event, s.weight::text AS weight, s.stack_id::text AS stack_id
       FROM samples s JOIN capture_strings e ON e.id = s.event_id
       WHERE s.capture_id = $1 AND s.thread_id = $2
         AND ($3::bigint IS NULL OR s.time_ns >= $3) AND ($4::bigint IS NULL OR s.time_ns < $4)
       ORDER BY s.time_ns NULLS FIRST
       LIMIT $5`,
      [captureId, threadId, from?.toString() ?? null, to?.toString() ?? null, limit + 1],
    );
    const truncated = rows.length > limit;
    const page = rows.slice(0, limit);
    const nodes = await this.stackNodes(
      captureId,
      page.map((r) => r.stack_id).filter((s): s is string => s !== null),
    );
    return {
      truncated,
      samples: page.map((r) => ({
        timeNs: r.time_ns,
        cpu: r.cpu,
        event: r.event,
        weight: r.weight,
        stack: r.stack_id === null ? [] : unwind(nodes, r.stack_id),
      })),
    };
  }

  /** The capture's event names with their record counts. */
  async events(captureId: string): Promise<{ name: string; tracepoint: boolean; records: string }[]> {
    const rows = await this.ds.query<{ name: string; tracepoint: boolean; records: string }[]>(
      `SELECT e.value AS name, e.kind = 'tracepoint' AS tracepoint, count(s.*)::text AS records
       FROM capture_strings e LEFT JOIN samples s ON s.capture_id = $1 AND s.event_id = e.id
       WHERE e.capture_id = $1 AND e.kind IN ('event', 'tracepoint')
       GROUP BY e.id ORDER BY e.kind, e.value`,
      [captureId],
    );
    return rows;
  }

  /**
   * What a flame graph shows by default: the first sampling event (cpu-clock, cycles…) of
   * the first file that has one, else the first event of any kind (a file of tracepoints).
   */
  async defaultFoldEvent(captureId: string): Promise<string | null> {
    const r = await this.ds.query<{ event: string | null }[]>(
      `SELECT coalesce(
         (SELECT first_sample_event FROM source_files WHERE capture_id = $1 AND first_sample_event IS NOT NULL ORDER BY ordinal LIMIT 1),
         (SELECT first_event FROM source_files WHERE capture_id = $1 AND first_event IS NOT NULL ORDER BY ordinal LIMIT 1)
       ) AS event`,
      [captureId],
    );
    return r[0]?.event ?? null;
  }

  /** Sample weights (periods) of one event summed per (thread, comm, stack), stacks resolved. */
  async foldRows(captureId: string, event: string): Promise<FoldRow[]> {
    const rows = await this.ds.query<
      { pid: number | null; tid: number; comm: string; stack_id: string | null; weight: string }[]
    >(
      `SELECT t.pid, t.tid, c.value AS comm, s.stack_id::text AS stack_id, sum(s.weight)::text AS weight
       FROM samples s
       JOIN capture_strings e ON e.id = s.event_id
       JOIN capture_strings c ON c.id = s.comm_id
       JOIN threads t ON t.id = s.thread_id
       WHERE s.capture_id = $1 AND e.value = $2
       GROUP BY t.pid, t.tid, c.value, s.stack_id`,
      [captureId, event],
    );
    const nodes = await this.allStackNodes(captureId);
    return rows.map((r) => ({
      comm: r.comm,
      pid: r.pid,
      tid: r.tid,
      event,
      frames: r.stack_id === null ? [] : unwind(nodes, r.stack_id),
      count: Number(r.weight),
    }));
  }

  /** Counts of on-CPU samples (non-tracepoint events) per thread per time bucket. */
  async timeline(captureId: string, buckets: number): Promise<SampleTimeline> {
    const range = await this.ds.query<{ lo: string | null; hi: string | null }[]>(
      `SELECT min(s.time_ns)::text AS lo, max(s.time_ns)::text AS hi
       FROM samples s JOIN capture_strings e ON e.id = s.event_id
       WHERE s.capture_id = $1 AND e.kind = 'event' AND s.time_ns IS NOT NULL`,
      [captureId],
    );
    const lo = range[0]?.lo;
    const hi = range[0]?.hi;
    if (!lo || !hi) return { bucketNs: '0', startNs: null, threads: [] };
    const span = BigInt(hi) - BigInt(lo) + 1n;
    const n = BigInt(buckets);
    const bucketNs = (span + n - 1n) / n;
    const rows = await this.ds.query<{ thread_id: number; bucket: number; n: number }[]>(
      `SELECT s.thread_id::int AS thread_id, ((s.time_ns - $2::bigint) / $3::bigint)::int AS bucket, count(*)::int AS n
       FROM samples s JOIN capture_strings e ON e.id = s.event_id
       WHERE s.capture_id = $1 AND e.kind = 'event' AND s.time_ns IS NOT NULL
       GROUP BY 1, 2`,
      [captureId, lo, bucketNs.toString()],
    );
    const threads = await this.threads(captureId);
    const byId = new Map<number, number[]>();
    for (const r of rows) {
      let counts = byId.get(r.thread_id);
      if (!counts) byId.set(r.thread_id, (counts = new Array<number>(buckets).fill(0)));
      if (r.bucket >= 0 && r.bucket < buckets) counts[r.bucket] = r.n;
    }
    return {
      bucketNs: bucketNs.toString(),
      startNs: lo,
      threads: threads
        .filter((t) => byId.has(t.id))
        .map((t) => ({
          id: t.id,
          label: `${t.names.at(-1) ?? '?'} ${t.pid ?? '?'}/${t.tid}`,
          counts: byId.get(t.id) ?? [],
        })),
    };
  }

  /** Recomputes per-thread sample counts and first/last sample times (on-CPU events). */
  async refreshThreadStats(captureId: string): Promise<void> {
    await this.ds.query(
      `UPDATE threads t SET sample_count = coalesce(a.n, 0), first_ns = a.lo, last_ns = a.hi
       FROM threads t2 LEFT JOIN (
         SELECT s.thread_id, count(*) AS n, min(s.time_ns) AS lo, max(s.time_ns) AS hi
         FROM samples s JOIN capture_strings e ON e.id = s.event_id
         WHERE s.capture_id = $1 AND e.kind = 'event'
         GROUP BY s.thread_id
       ) a ON a.thread_id = t2.id
       WHERE t.id = t2.id AND t2.capture_id = $1`,
      [captureId],
    );
  }

  private stackNodes(captureId: string, leafIds: string[]): Promise<Map<string, StackNode>> {
    return readStackNodes(this.ds, captureId, leafIds);
  }

  private async allStackNodes(captureId: string): Promise<Map<string, StackNode>> {
    const rows = await this.ds.query<{ id: string; parent: string | null; symbol: string; dso: string }[]>(
      `SELECT s.id::text AS id, s.parent_id::text AS parent, f.symbol, f.dso
       FROM stacks s JOIN frames f ON f.capture_id = s.capture_id AND f.id = s.frame_id
       WHERE s.capture_id = $1`,
      [captureId],
    );
    const nodes = new Map<string, StackNode>();
    for (const r of rows) nodes.set(r.id, { parent: r.parent, symbol: r.symbol, dso: r.dso });
    return nodes;
  }
}

/** Frames leaf first from a leaf stack id. */
function unwind(nodes: Map<string, StackNode>, leaf: string): { symbol: string; dso: string }[] {
  const out: { symbol: string; dso: string }[] = [];
  let id: string | null = leaf;
  while (id !== null) {
    const n = nodes.get(id);
    if (!n) break;
    out.push({ symbol: n.symbol, dso: n.dso });
    id = n.parent;
  }
  return out;
}
