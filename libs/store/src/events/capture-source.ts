import type { DataSource } from 'typeorm';
import type {
  AcceptRow,
  CaptureFile,
  ClockEvidenceRows,
  CpuClockRow,
  FutexWakeRow,
  StackFramesById,
  WindowSample,
  CorrelationThread,
  FileOffsets,
  LogRow,
  PauseRow,
  ReadRow,
  RuntimeRow,
  SchedRow,
  SpanKind,
  SpanRow,
  SyscallRow,
} from '@threadreel/model';
import { acceptedPeer, bareAddress } from '@threadreel/model';
import { readStackFrames } from './stacks.js';

/** `unnest` arguments for a file-offset join. */
function offsetArgs(offsets: FileOffsets): [number[], string[]] {
  return [[...offsets.keys()], [...offsets.values()].map(String)];
}

const OFFSETS = `(SELECT unnest($2::int[]) AS file_ordinal, unnest($3::bigint[]) AS off)`;

/**
 * The read port of correlation (libs/correlate `CaptureSource`) on Postgres: what one capture's
 * correlation reads, per capture and per thread, with every time shifted onto the epoch axis by
 * its file's offset. Each per-thread read uses the (capture, tid, time) indexes; windowed reads
 * turn the aligned window into per-file raw ranges, so those indexes narrow them too.
 */
export class PgCaptureSource {
  constructor(
    private readonly ds: DataSource,
    private readonly captureId: string,
  ) {}

  async files(): Promise<CaptureFile[]> {
    return this.ds.query(
      `SELECT id, ordinal, name, format, clock, state, headers FROM source_files WHERE capture_id = $1 ORDER BY ordinal`,
      [this.captureId],
    );
  }

  /** Clocks a file's rows use (GC logs carry one per row). */
  async rowClocks(fileOrdinal: number): Promise<string[]> {
    const rows = await this.ds.query<{ clock: string }[]>(
      `SELECT DISTINCT clock FROM gc_events WHERE capture_id = $1 AND file_ordinal = $2`,
      [this.captureId, fileOrdinal],
    );
    return rows.map((r) => r.clock);
  }

  /**
   * The capture's threads. Makes sure every OS thread any source names has a thread row (perf
   * made most; strace and the thread map add the rest, under the pid the map gives or the
   * target's), and collects its names and Java ids with the mappings that joined them.
   */
  async threads(targetPid: number | null): Promise<CorrelationThread[]> {
    // Runtime profilers (JFR, py-spy) name the OS tid but not the pid: their thread rows join the
    // row perf made for the same tid (one OS thread, one row), their samples moving with them.
    await this.ds.transaction(async (em) => {
      await em.query(
        `UPDATE samples s SET thread_id = k.id
         FROM threads n JOIN threads k ON k.capture_id = n.capture_id AND k.tid = n.tid AND k.pid IS NOT NULL
         WHERE n.capture_id = $1 AND n.pid IS NULL AND s.capture_id = $1 AND s.thread_id = n.id`,
        [this.captureId],
      );
      await em.query(
        `UPDATE threads k SET names = ARRAY(SELECT DISTINCT unnest(k.names || n.names))
         FROM threads n
         WHERE n.capture_id = $1 AND k.capture_id = $1 AND n.pid IS NULL AND k.pid IS NOT NULL AND n.tid = k.tid`,
        [this.captureId],
      );
      await em.query(
        `DELETE FROM threads n WHERE n.capture_id = $1 AND n.pid IS NULL
           AND EXISTS (SELECT 1 FROM threads k WHERE k.capture_id = $1 AND k.tid = n.tid AND k.pid IS NOT NULL)`,
        [this.captureId],
      );
      // A tid only a runtime profiler saw belongs to the process the thread map or the manifest names.
      await em.query(
        `UPDATE threads n SET pid = coalesce(
           (SELECT s.pid FROM thread_sightings s WHERE s.capture_id = $1 AND s.tid = n.tid AND s.pid IS NOT NULL LIMIT 1), $2::int)
         WHERE n.capture_id = $1 AND n.pid IS NULL AND $2::int IS NOT NULL`,
        [this.captureId, targetPid],
      );
    });
    await this.ds.query(
      `INSERT INTO threads (capture_id, pid, tid, names)
       SELECT $1, coalesce(p.pid, $2::int), x.tid, '{}'::text[]
       FROM (SELECT DISTINCT tid FROM syscalls WHERE capture_id = $1 AND tid IS NOT NULL
             UNION SELECT DISTINCT tid FROM thread_sightings WHERE capture_id = $1 AND tid IS NOT NULL) x
       LEFT JOIN LATERAL (SELECT pid FROM thread_sightings s WHERE s.capture_id = $1 AND s.tid = x.tid AND s.pid IS NOT NULL LIMIT 1) p ON true
       WHERE NOT EXISTS (SELECT 1 FROM threads t WHERE t.capture_id = $1 AND t.tid = x.tid)
       ON CONFLICT DO NOTHING`,
      [this.captureId, targetPid],
    );
    await this.ds.query(
      `UPDATE threads t SET
         -- A tid no source names (strace alone saw it) keeps an empty list: array_agg over no row
         -- is NULL. Blank names and perf's ':<tid>' (printed for a comm it never saw) are no names.
         names = coalesce((SELECT array_agg(DISTINCT n ORDER BY n) FROM (
                    SELECT unnest(t.names) AS n
                    UNION SELECT s.name FROM thread_sightings s WHERE s.capture_id = t.capture_id AND s.tid = t.tid AND s.name IS NOT NULL
                  ) names WHERE n IS NOT NULL AND n <> '' AND n !~ '^:[0-9]+$'), '{}'::text[]),
         runtime_ids = coalesce((SELECT jsonb_build_object('java', jsonb_agg(DISTINCT s.runtime_tid))
                        FROM thread_sightings s WHERE s.capture_id = t.capture_id AND s.tid = t.tid
                          AND s.runtime_tid IS NOT NULL AND s.source IN ('jstack', 'jfr')
                        HAVING count(*) > 0), '{}'::jsonb),
         mappings = coalesce((SELECT jsonb_agg(DISTINCT jsonb_build_object(
                        'source', s.source, 'name', s.name, 'runtimeId', s.runtime_tid,
                        'confidence', CASE s.source WHEN 'jfr' THEN 1 WHEN 'jstack' THEN 0.95 ELSE 0.9 END))
                      FROM thread_sightings s WHERE s.capture_id = t.capture_id AND s.tid = t.tid), '[]'::jsonb)
       WHERE t.capture_id = $1`,
      [this.captureId],
    );
    const rows = await this.ds.query<
      { id: string; pid: number | null; tid: number; names: string[]; java: string[] | null }[]
    >(
      `SELECT id::text AS id, pid, tid, names,
              (SELECT array_agg(j) FROM jsonb_array_elements_text(runtime_ids->'java') j) AS java
       FROM threads WHERE capture_id = $1 ORDER BY tid`,
      [this.captureId],
    );
    return rows.map((r) => ({ id: r.id, pid: r.pid, tid: r.tid, names: r.names, javaIds: r.java ?? [] }));
  }

  /** One thread's events, each kind in time order (`id` for samples, `tid` for the rest). */
  async threadEvents(
    thread: Pick<CorrelationThread, 'id' | 'tid'>,
    offsets: { perf: FileOffsets; strace: FileOffsets; runtime: FileOffsets },
  ): Promise<{
    sched: SchedRow[];
    syscalls: SyscallRow[];
    runtime: RuntimeRow[];
    samples: bigint[];
    cpuClock: CpuClockRow[];
  }> {
    const [sched, syscalls, runtime, samples, cpuClock] = await Promise.all([
      this.sched(thread.tid, offsets.perf),
      this.syscalls(thread.tid, offsets.strace),
      this.runtimeEvents(thread.tid, offsets.runtime),
      this.sampleTimes(thread.id, offsets.perf),
      this.cpuClockSamples(thread.id, offsets.perf),
    ]);
    return { sched, syscalls, runtime, samples, cpuClock };
  }

  private async sched(tid: number, offsets: FileOffsets): Promise<SchedRow[]> {
    if (!offsets.size) return [];
    const rows = await this.ds.query<
      {
        t: string;
        kind: 'out' | 'in' | 'wakeup';
        prev_state: string | null;
        stack: string | null;
        other: number | null;
      }[]
    >(
      `SELECT (e.time_ns + o.off)::text AS t, 'out' AS kind, e.prev_state, e.stack_id::text AS stack, e.other_tid AS other
         FROM sched_events e JOIN ${OFFSETS} o USING (file_ordinal)
         WHERE e.capture_id = $1 AND e.kind = 'switch' AND e.tid = $4 AND e.time_ns IS NOT NULL
       UNION ALL
       SELECT (e.time_ns + o.off)::text, 'in', NULL, NULL, e.tid
         FROM sched_events e JOIN ${OFFSETS} o USING (file_ordinal)
         WHERE e.capture_id = $1 AND e.kind = 'switch' AND e.other_tid = $4 AND e.time_ns IS NOT NULL
       UNION ALL
       SELECT (e.time_ns + o.off)::text, 'wakeup', NULL, e.stack_id::text, e.tid
         FROM sched_events e JOIN ${OFFSETS} o USING (file_ordinal)
         WHERE e.capture_id = $1 AND e.kind IN ('wakeup', 'waking') AND e.other_tid = $4 AND e.time_ns IS NOT NULL
       ORDER BY 1`,
      [this.captureId, ...offsetArgs(offsets), tid],
    );
    return rows.map((r) => ({
      timeNs: BigInt(r.t),
      kind: r.kind,
      prevState: r.prev_state,
      stackId: r.stack,
      otherTid: r.other,
    }));
  }

  private async syscalls(tid: number, offsets: FileOffsets): Promise<SyscallRow[]> {
    if (!offsets.size) return [];
    const rows = await this.ds.query<
      {
        s: string;
        e: string;
        name: string;
        category: string;
        fd_kind: string | null;
        fd_path: string | null;
        fd_peer: string | null;
        futex_addr: string | null;
        futex_op: string | null;
      }[]
    >(
      `SELECT (y.start_ns + o.off)::text AS s, (y.start_ns + o.off + coalesce(y.duration_ns, 0))::text AS e,
              y.name, y.category, y.fd_kind, y.fd_path, y.fd_peer, y.futex_addr, y.futex_op
       FROM syscalls y JOIN ${OFFSETS} o USING (file_ordinal)
       WHERE y.capture_id = $1 AND y.tid = $4 AND y.start_ns IS NOT NULL
       ORDER BY y.start_ns`,
      [this.captureId, ...offsetArgs(offsets), tid],
    );
    return rows.map((r) => ({
      startNs: BigInt(r.s),
      endNs: BigInt(r.e),
      name: r.name,
      category: r.category,
      fdKind: r.fd_kind,
      target: r.fd_peer ?? r.fd_path,
      futexAddr: r.futex_addr,
      futexOp: r.futex_op,
    }));
  }

  private async runtimeEvents(tid: number, offsets: FileOffsets): Promise<RuntimeRow[]> {
    if (!offsets.size) return [];
    const rows = await this.ds.query<
      {
        s: string;
        e: string;
        type: string;
        object_class: string | null;
        address: string | null;
        owner_tid: number | null;
        stack: string | null;
        peer: string | null;
        path: string | null;
      }[]
    >(
      `SELECT (r.start_ns + o.off)::text AS s, (r.start_ns + o.off + r.duration_ns)::text AS e, r.type,
              r.object_class, r.address, r.owner_tid, r.stack_id::text AS stack, r.peer, r.path
       FROM runtime_events r JOIN ${OFFSETS} o USING (file_ordinal)
       WHERE r.capture_id = $1 AND r.tid = $4 ORDER BY r.start_ns`,
      [this.captureId, ...offsetArgs(offsets), tid],
    );
    return rows.map((r) => ({
      startNs: BigInt(r.s),
      endNs: BigInt(r.e),
      type: r.type,
      objectClass: r.object_class,
      address: r.address,
      ownerTid: r.owner_tid,
      stackId: r.stack,
      target: r.peer ?? r.path,
    }));
  }

  /**
   * What clock inference matches (libs/correlate clock-evidence): one perf file's switch-outs
   * per thread in its own clock, and the moments another source saw on the same threads,
   * aligned by that source's offsets — the busiest `maxThreads` threads both saw, at most
   * `maxMoments` moments evenly spread over the capture (not its first ones: the beginning of
   * a long capture alone matched perf at many offsets).
   */
  async clockEvidence(
    perfOrdinal: number,
    source: 'strace' | 'runtime',
    offsets: FileOffsets,
    maxThreads = 16,
    maxMoments = 100_000,
  ): Promise<ClockEvidenceRows> {
    const switchOuts = new Map<number, bigint[]>();
    if (!offsets.size) return { switchOuts, moments: [], perfHasSwitches: false };
    const table =
      source === 'strace'
        ? { from: 'syscalls y', start: 'y.start_ns', duration: 'y.duration_ns', done: 'y.incomplete IS NULL' }
        : { from: 'runtime_events y', start: 'y.start_ns', duration: 'y.duration_ns', done: 'true' };
    const tids = await this.ds.query<{ tid: number }[]>(
      `SELECT y.tid FROM ${table.from} JOIN ${OFFSETS} o USING (file_ordinal)
       WHERE y.capture_id = $1 AND y.tid IS NOT NULL AND ${table.start} IS NOT NULL
         AND EXISTS (SELECT 1 FROM sched_events e WHERE e.capture_id = $1 AND e.file_ordinal = $4
                       AND e.kind = 'switch' AND e.tid = y.tid)
       GROUP BY y.tid ORDER BY count(*) DESC LIMIT $5`,
      [this.captureId, ...offsetArgs(offsets), perfOrdinal, maxThreads],
    );
    const ids = tids.map((t) => t.tid);
    if (!ids.length) {
      const any = await this.ds.query<{ any: boolean }[]>(
        `SELECT EXISTS (SELECT 1 FROM sched_events WHERE capture_id = $1 AND file_ordinal = $2 AND kind = 'switch') AS any`,
        [this.captureId, perfOrdinal],
      );
      return { switchOuts, moments: [], perfHasSwitches: any[0]?.any ?? false };
    }
    const outs = await this.ds.query<{ tid: number; t: string }[]>(
      `SELECT tid, time_ns::text AS t FROM sched_events
       WHERE capture_id = $1 AND file_ordinal = $2 AND kind = 'switch' AND tid = ANY($3::int[])
         AND time_ns IS NOT NULL
       ORDER BY tid, time_ns`,
      [this.captureId, perfOrdinal, ids],
    );
    for (const r of outs) {
      const list = switchOuts.get(r.tid);
      if (list) list.push(BigInt(r.t));
      else switchOuts.set(r.tid, [BigInt(r.t)]);
    }
    // At most maxMoments, evenly spread over the capture (libs/model evenlySpaced), not its first ones.
    const moments = await this.ds.query<{ tid: number; s: string; d: string | null }[]>(
      `SELECT z.tid, z.s, z.d FROM (
         SELECT y.tid, (${table.start} + o.off)::text AS s,
                CASE WHEN ${table.done} THEN ${table.duration} END AS dn,
                CASE WHEN ${table.done} THEN ${table.duration}::text END AS d,
                row_number() OVER (ORDER BY ${table.start}, y.tid,
                                   CASE WHEN ${table.done} THEN ${table.duration} END NULLS FIRST) - 1 AS rn,
                count(*) OVER () AS n
         FROM ${table.from} JOIN ${OFFSETS} o USING (file_ordinal)
         WHERE y.capture_id = $1 AND y.tid = ANY($4::int[]) AND ${table.start} IS NOT NULL
       ) z
       WHERE z.rn % greatest(1, ceil(z.n::numeric / $5))::bigint = 0
       ORDER BY z.rn`,
      [this.captureId, ...offsetArgs(offsets), ids, maxMoments],
    );
    return {
      switchOuts,
      perfHasSwitches: true,
      moments: moments.map((m) => ({
        tid: m.tid,
        startNs: BigInt(m.s),
        durationNs: m.d === null ? null : BigInt(m.d),
      })),
    };
  }

  /** Stop-the-world pauses and safepoints, per (file, clock) offset. */
  async pauses(offsets: ReadonlyMap<string, bigint>): Promise<PauseRow[]> {
    const keys = [...offsets.keys()];
    if (!keys.length) return [];
    const rows = await this.ds.query<
      { s: string; e: string; phase: string; gc_id: number | null; kind: string }[]
    >(
      `SELECT (g.start_ns + o.off)::text AS s, (g.start_ns + o.off + g.duration_ns)::text AS e, g.phase, g.gc_id, g.kind
       FROM gc_events g
       JOIN (SELECT unnest($2::text[]) AS k, unnest($3::bigint[]) AS off) o ON o.k = g.file_ordinal || ':' || g.clock
       WHERE g.capture_id = $1 AND g.pause AND g.start_ns IS NOT NULL AND g.duration_ns IS NOT NULL
       ORDER BY 1`,
      [this.captureId, keys, [...offsets.values()].map(String)],
    );
    return rows.map((r) => ({
      startNs: BigInt(r.s),
      endNs: BigInt(r.e),
      phase: r.phase,
      gcId: r.gc_id,
      kind: r.kind,
    }));
  }

  /** On-CPU (sampling event) sample times of a thread, aligned. */
  private async sampleTimes(threadId: string, offsets: FileOffsets): Promise<bigint[]> {
    if (!offsets.size) return [];
    const rows = await this.ds.query<{ t: string }[]>(
      `SELECT (s.time_ns + o.off)::text AS t
       FROM samples s JOIN ${OFFSETS} o USING (file_ordinal) JOIN capture_strings e ON e.id = s.event_id
       WHERE s.capture_id = $1 AND s.thread_id = $4 AND e.kind = 'event' AND s.time_ns IS NOT NULL
       ORDER BY 1`,
      [this.captureId, ...offsetArgs(offsets), threadId],
    );
    return rows.map((r) => BigInt(r.t));
  }

  /**
   * Samples of a per-task CPU-time clock (`cpu-clock`, `task-clock`) with their period (CPU ns
   * since the thread's previous sample), aligned and sorted.
   */
  private async cpuClockSamples(threadId: string, offsets: FileOffsets): Promise<CpuClockRow[]> {
    if (!offsets.size) return [];
    const rows = await this.ds.query<{ t: string; w: string }[]>(
      `SELECT (s.time_ns + o.off)::text AS t, s.weight::text AS w
       FROM samples s JOIN ${OFFSETS} o USING (file_ordinal) JOIN capture_strings e ON e.id = s.event_id
       WHERE s.capture_id = $1 AND s.thread_id = $4 AND e.kind = 'event' AND s.time_ns IS NOT NULL
         AND e.value ~ '^(cpu-clock|task-clock)(:|$)' AND s.weight > 1
       ORDER BY 1`,
      [this.captureId, ...offsetArgs(offsets), threadId],
    );
    return rows.map((r) => ({ timeNs: BigInt(r.t), periodNs: BigInt(r.w) }));
  }

  /** On-CPU samples of threads in a window with their leaf-first display frames. */
  async samplesInWindow(
    threadIds: readonly string[],
    fromNs: bigint,
    toNs: bigint,
    offsets: FileOffsets,
  ): Promise<WindowSample[]> {
    if (!offsets.size || !threadIds.length) return [];
    // The window on each file's own clock (lo − off, hi − off): a range on samples' (capture,
    // thread, time) index per file, rather than a filter on time + off over the thread's samples.
    const rows = await this.ds.query<{ thread: string; t: string; stack: string | null }[]>(
      `SELECT s.thread_id::text AS thread, (s.time_ns + r.off)::text AS t, s.stack_id::text AS stack
       FROM unnest($2::int[], $3::bigint[]) AS r(file_ordinal, off)
       JOIN samples s ON s.capture_id = $1 AND s.thread_id = ANY($4::bigint[]) AND s.file_ordinal = r.file_ordinal
         AND s.time_ns >= $5::bigint - r.off AND s.time_ns < $6::bigint - r.off
       JOIN capture_strings e ON e.id = s.event_id
       WHERE e.kind = 'event'
       ORDER BY s.time_ns + r.off, s.thread_id`,
      [this.captureId, ...offsetArgs(offsets), threadIds, fromNs.toString(), toNs.toString()],
    );
    return rows.map((r) => ({ threadId: r.thread, timeNs: BigInt(r.t), stackId: r.stack }));
  }

  /** Up to `perThread` distinct stacks recorded on each thread (samples and switches), to tell what a thread is. */
  async threadStacks(threadIds: readonly string[], perThread = 40): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>();
    if (!threadIds.length) return out;
    const rows = await this.ds.query<{ thread: string; stack: string }[]>(
      `SELECT t.id::text AS thread, x.stack_id::text AS stack
       FROM unnest($2::bigint[]) AS t(id)
       CROSS JOIN LATERAL (
         SELECT DISTINCT s.stack_id FROM samples s
         WHERE s.capture_id = $1 AND s.thread_id = t.id AND s.stack_id IS NOT NULL
         LIMIT $3) x`,
      [this.captureId, threadIds, perThread],
    );
    for (const r of rows) {
      const list = out.get(r.thread);
      if (list) list.push(r.stack);
      else out.set(r.thread, [r.stack]);
    }
    return out;
  }

  /** Frames (leaf first) of interned stacks. */
  stackFrames(stackIds: readonly string[]): Promise<StackFramesById> {
    return readStackFrames(this.ds, this.captureId, stackIds);
  }

  async spans(): Promise<SpanRow[]> {
    const rows = await this.ds.query<
      {
        trace_id: string;
        span_id: string;
        parent_span_id: string | null;
        name: string;
        kind: SpanKind;
        service: string | null;
        s: string;
        e: string;
        attributes: Record<string, unknown>;
      }[]
    >(
      `SELECT DISTINCT ON (trace_id, span_id) trace_id, span_id, parent_span_id, name, kind, service,
              start_ns::text AS s, end_ns::text AS e, attributes
       FROM spans WHERE capture_id = $1 ORDER BY trace_id, span_id, file_ordinal`,
      [this.captureId],
    );
    return rows.map((r) => ({
      traceId: r.trace_id,
      spanId: r.span_id,
      parentSpanId: r.parent_span_id,
      name: r.name,
      kind: r.kind,
      service: r.service,
      startNs: BigInt(r.s),
      endNs: BigInt(r.e),
      attributes: r.attributes,
    }));
  }

  /** Log records that carry a trace id (the ones that can bind or date a request). */
  async tracedLogs(): Promise<LogRow[]> {
    const rows = await this.ds.query<
      {
        t: string | null;
        tid: number | null;
        thread_name: string | null;
        trace_ids: string[];
        span_id: string | null;
      }[]
    >(
      `SELECT time_ns::text AS t, tid, thread_name, trace_ids, span_id
       FROM log_records WHERE capture_id = $1 AND cardinality(trace_ids) > 0 ORDER BY time_ns`,
      [this.captureId],
    );
    return rows.map((r) => ({
      timeNs: r.t === null ? null : BigInt(r.t),
      tid: r.tid,
      threadName: r.thread_name,
      traceIds: r.trace_ids,
      spanId: r.span_id,
    }));
  }

  /** Raw GC pauses of one file and clock (times in that clock), for anchoring it. */
  async rawPauses(fileOrdinal: number, clock: string): Promise<{ startNs: bigint; endNs: bigint }[]> {
    const rows = await this.ds.query<{ s: string; e: string }[]>(
      `SELECT start_ns::text AS s, (start_ns + duration_ns)::text AS e FROM gc_events
       WHERE capture_id = $1 AND file_ordinal = $2 AND clock = $3 AND pause AND start_ns IS NOT NULL AND duration_ns > 0`,
      [this.captureId, fileOrdinal, clock],
    );
    return rows.map((r) => ({ startNs: BigInt(r.s), endNs: BigInt(r.e) }));
  }

  /**
   * Times (aligned) of perf samples and switch-outs whose stack holds a frame matching
   * `symbolPattern` (a PostgreSQL regex): moments a thread was inside that code.
   */
  async markerTimes(offsets: FileOffsets, symbolPattern: string): Promise<bigint[]> {
    if (!offsets.size) return [];
    const rows = await this.ds.query<{ t: string }[]>(
      `WITH RECURSIVE hit AS (
         SELECT s.id FROM stacks s JOIN frames f ON f.capture_id = s.capture_id AND f.id = s.frame_id
         WHERE s.capture_id = $1 AND f.symbol ~ $4
         UNION
         SELECT s.id FROM stacks s JOIN hit h ON s.parent_id = h.id WHERE s.capture_id = $1
       )
       SELECT z.t::text AS t FROM (
         SELECT x.time_ns + o.off AS t, row_number() OVER (ORDER BY x.time_ns + o.off) - 1 AS rn, count(*) OVER () AS n
         FROM samples x JOIN ${OFFSETS} o USING (file_ordinal)
         WHERE x.capture_id = $1 AND x.stack_id IN (SELECT id FROM hit) AND x.time_ns IS NOT NULL
       ) z
       WHERE z.rn % greatest(1, ceil(z.n::numeric / 5000))::bigint = 0
       ORDER BY z.rn`,
      [this.captureId, ...offsetArgs(offsets), symbolPattern],
    );
    return rows.map((r) => BigInt(r.t));
  }

  /** FUTEX_WAKE calls (who released which futex when), aligned. */
  async futexWakes(offsets: FileOffsets): Promise<FutexWakeRow[]> {
    if (!offsets.size) return [];
    const rows = await this.ds.query<{ tid: number; s: string; addr: string }[]>(
      `SELECT y.tid, (y.start_ns + o.off)::text AS s, y.futex_addr AS addr
       FROM syscalls y JOIN ${OFFSETS} o USING (file_ordinal)
       WHERE y.capture_id = $1 AND y.name LIKE 'futex%' AND y.futex_addr IS NOT NULL AND y.tid IS NOT NULL
         AND y.futex_op ~ '(WAKE|REQUEUE)' AND y.futex_op !~ 'WAIT' AND y.start_ns IS NOT NULL
       ORDER BY 2`,
      [this.captureId, ...offsetArgs(offsets)],
    );
    return rows.map((r) => ({ tid: r.tid, startNs: BigInt(r.s), addr: r.addr }));
  }

  /** Accepted connections (strace accept/accept4) with the client's address. */
  async accepts(offsets: FileOffsets): Promise<AcceptRow[]> {
    if (!offsets.size) return [];
    const rows = await this.ds.query<{ tid: number; t: string; ret: string }[]>(
      `SELECT y.tid, (y.start_ns + o.off + coalesce(y.duration_ns, 0))::text AS t, y.ret
       FROM syscalls y JOIN ${OFFSETS} o USING (file_ordinal)
       WHERE y.capture_id = $1 AND y.name IN ('accept', 'accept4') AND y.errno IS NULL AND y.ret LIKE '%->%'
       ORDER BY 2`,
      [this.captureId, ...offsetArgs(offsets)],
    );
    const out: AcceptRow[] = [];
    for (const r of rows) {
      const peer = acceptedPeer(r.ret);
      if (peer) out.push({ tid: r.tid, timeNs: BigInt(r.t), peer });
    }
    return out;
  }

  /** The first read of each connection (by client address) on each thread. */
  async firstReads(offsets: FileOffsets): Promise<ReadRow[]> {
    if (!offsets.size) return [];
    const rows = await this.ds.query<{ tid: number; t: string; peer: string }[]>(
      `SELECT DISTINCT ON (y.fd_peer, y.tid) y.tid, (y.start_ns + o.off)::text AS t, y.fd_peer AS peer
       FROM syscalls y JOIN ${OFFSETS} o USING (file_ordinal)
       WHERE y.capture_id = $1 AND y.name IN ('read', 'recvfrom', 'recvmsg', 'readv') AND y.fd_peer IS NOT NULL
       ORDER BY y.fd_peer, y.tid, y.start_ns`,
      [this.captureId, ...offsetArgs(offsets)],
    );
    return rows.map((r) => ({ tid: r.tid, timeNs: BigInt(r.t), peer: bareAddress(r.peer) }));
  }

  /** A writer for the capture's derived rows; it replaces the earlier ones in one transaction. */
}
