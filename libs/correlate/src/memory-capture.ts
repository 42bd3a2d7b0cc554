import {
  evenlySpaced,
  acceptedPeer,
  bareAddress,
  pushTo,
  type AcceptRow,
  type CaptureFile,
  type ClockEvidenceRows,
  type CorrelationThread,
  type CpuClockRow,
  type FileOffsets,
  type FrameRow,
  type FutexWakeRow,
  type GcEvent,
  type LogRecord,
  type LogRow,
  type PauseRow,
  type PerfRecord,
  type RawFrame,
  type ReadRow,
  type RuntimeEvent,
  type RuntimeRow,
  type SafepointEvent,
  type SchedRow,
  type SpanRecord,
  type SpanRow,
  type StackFramesById,
  type StackSample,
  type StraceSyscall,
  type SyscallRow,
  type ThreadSighting,
  type WindowSample,
} from '@threadreel/model';
import type { CaptureSource, EventOffsets, ThreadEvents } from './ports.js';

/**
 * The read port of `correlate(source, sink)` over a capture held in memory: the parsed records
 * of its files, as the parsers yield them (with a {@link MemorySink} for the write port). It
 * answers every read as
 * libs/store's Postgres implementation does from its tables (the port contract test in
 * test/ compares the two on the same uploaded capture), so specs can correlate whole
 * captures without a database. Meant for captures that fit in memory: fixtures and specs.
 */

/** A source file as the parse step leaves it: its facts, and its records in file order. */
export interface MemoryFile {
  readonly name: string;
  readonly format: string | null;
  /** The clock its times are in (the manifest's, else the format's default); null: per record or none. */
  readonly clock: string | null;
  readonly headers?: Record<string, string>;
  /** As the parse job leaves it: `parsed`, `stored` (kept unparsed) or `failed`; default `parsed` with a format. */
  readonly state?: 'parsed' | 'stored' | 'failed';
  readonly records: Iterable<{ readonly kind: string; readonly line: number }>;
}

interface ThreadRow {
  id: string;
  pid: number | null;
  tid: number;
  names: string[];
}
interface SampleRow {
  threadId: string;
  file: number;
  timeNs: bigint | null;
  stackId: string | null;
  weight: bigint;
  /** A sampling event (`event`) or a tracepoint. */
  sampling: boolean;
  event: string;
}
interface SchedTableRow {
  file: number;
  kind: 'switch' | 'wakeup' | 'waking' | 'wakeup_new';
  timeNs: bigint | null;
  /** switch: the thread switched out; wakeups: the waker. */
  tid: number;
  prevState: string | null;
  /** switch: the thread switched in; wakeups: the woken thread. */
  otherTid: number;
  stackId: string | null;
}
interface Filed<T> {
  file: number;
  item: T;
}

const byTime =
  <T>(time: (x: T) => bigint) =>
  (a: T, b: T) => {
    const x = time(a);
    const y = time(b);
    return x < y ? -1 : x > y ? 1 : 0;
  };
const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
/** perf prints `:<tid>` for a comm it never saw: that is no name. */
const isName = (n: string | null | undefined): n is string => !!n && !/^:[0-9]+$/.test(n);
const CPU_CLOCK = /^(cpu-clock|task-clock)(:|$)/;

/** What libs/store keeps as a syscall's target: the socket peer, else the path (or the local socket). */
function syscallTarget(s: StraceSyscall): { fdKind: string | null; target: string | null } {
  const fd = s.fd;
  if (!fd) return { fdKind: null, target: null };
  const path = fd.path ?? (fd.local ? `${fd.protocol ?? 'socket'} ${fd.local}` : undefined);
  return { fdKind: fd.kind ?? null, target: fd.peer ?? path ?? null };
}

export class MemoryCapture implements CaptureSource {
  readonly fileStates: CaptureFile[] = [];
  private readonly threadRows: ThreadRow[] = [];
  private readonly threadByKey = new Map<string, ThreadRow>();
  private readonly samples: SampleRow[] = [];
  private readonly schedRows: SchedTableRow[] = [];
  private readonly syscallRows: Filed<StraceSyscall>[] = [];
  private readonly runtimeRows: Filed<RuntimeEvent & { stackId: string | null }>[] = [];
  private readonly gcRows: Filed<GcEvent | SafepointEvent>[] = [];
  private readonly spanRows: Filed<SpanRecord>[] = [];
  private readonly logRows: LogRecord[] = [];
  private readonly sightings: ThreadSighting[] = [];
  private readonly stackIds = new Map<string, string>();
  private readonly stacks = new Map<string, FrameRow[]>();
  /** Indexes of the rows by thread, built on first read and dropped when rows change. */
  private byThread: Map<string, SampleRow[]> | null = null;
  private schedByTid: Map<number, SchedTableRow[]> | null = null;

  constructor(files: Iterable<MemoryFile> = []) {
    for (const f of files) this.addFile(f);
  }

  /** Adds one file's records (as the parse step stores them: records a table holds, the rest counted only). */
  addFile(f: MemoryFile): CaptureFile {
    const ordinal = this.fileStates.length;
    const file: CaptureFile = {
      id: `file-${ordinal}`,
      ordinal,
      name: f.name,
      format: f.format,
      clock: f.clock,
      state: f.state ?? (f.format === null ? 'failed' : 'parsed'),
      headers: { ...(f.headers ?? {}) },
    };
    this.fileStates.push(file);
    this.byThread = null;
    this.schedByTid = null;
    for (const r of f.records) this.addRecord(ordinal, r);
    return file;
  }

  private addRecord(file: number, r: { readonly kind: string; readonly line: number }): void {
    switch (r.kind) {
      case 'perf':
        return this.addPerf(file, r as PerfRecord);
      case 'stack-sample':
        return this.addStackSample(file, r as StackSample);
      case 'syscall':
        this.syscallRows.push({ file, item: r as StraceSyscall });
        return;
      case 'runtime': {
        const e = r as RuntimeEvent;
        this.runtimeRows.push({ file, item: { ...e, stackId: this.intern(e.frames) } });
        return;
      }
      case 'gc':
      case 'safepoint':
        this.gcRows.push({ file, item: r as GcEvent | SafepointEvent });
        return;
      case 'span':
        this.spanRows.push({ file, item: r as SpanRecord });
        return;
      case 'log':
        this.logRows.push(r as LogRecord);
        return;
      case 'thread':
        this.sightings.push(r as ThreadSighting);
        return;
    }
  }

  private thread(pid: number | null, tid: number, comm: string): ThreadRow {
    const key = `${pid ?? ''}/${tid}`;
    let t = this.threadByKey.get(key);
    if (!t) {
      t = { id: String(this.threadRows.length + 1), pid, tid, names: [] };
      this.threadByKey.set(key, t);
      this.threadRows.push(t);
    }
    if (!t.names.includes(comm)) t.names.push(comm);
    return t;
  }

  private intern(frames: readonly RawFrame[] | undefined): string | null {
    if (!frames?.length) return null;
    const key = frames.map((f) => `${f.symbol}\u0001${f.dso}`).join('\u0002');
    let id = this.stackIds.get(key);
    if (id === undefined) {
      id = String(this.stackIds.size + 1);
      this.stackIds.set(key, id);
      this.stacks.set(
        id,
        frames.map((f) => ({ symbol: f.symbol, dso: f.dso })),
      );
    }
    return id;
  }

  private addPerf(file: number, rec: PerfRecord): void {
    const thread = this.thread(rec.pid, rec.tid, rec.comm);
    const stackId = this.intern(rec.frames);
    this.samples.push({
      threadId: thread.id,
      file,
      timeNs: rec.timeNs,
      stackId,
      weight: rec.period !== null && rec.period > 0n ? rec.period : 1n,
      sampling: rec.trace === null,
      event: rec.event,
    });
    const s = rec.sched;
    if (!s) return;
    this.schedRows.push(
      s.type === 'switch'
        ? {
            file,
            kind: 'switch',
            timeNs: rec.timeNs,
            tid: s.prevPid,
            prevState: s.prevState,
            otherTid: s.nextPid,
            stackId,
          }
        : { file, kind: s.type, timeNs: rec.timeNs, tid: rec.tid, prevState: null, otherTid: s.pid, stackId },
    );
  }

  private addStackSample(file: number, s: StackSample): void {
    const comm = s.threadName ?? (s.runtimeThreadId !== null ? `thread ${s.runtimeThreadId}` : '');
    const thread = this.thread(s.pid, s.tid ?? -1, comm);
    this.samples.push({
      threadId: thread.id,
      file,
      timeNs: s.timeNs,
      stackId: this.intern(s.frames),
      weight: s.weight > 0n ? s.weight : 1n,
      sampling: true,
      event: s.event,
    });
  }

  // ---- read port ----

  files(): Promise<CaptureFile[]> {
    return Promise.resolve(this.fileStates.map((f) => ({ ...f, headers: { ...f.headers } })));
  }

  rowClocks(fileOrdinal: number): Promise<string[]> {
    return Promise.resolve([
      ...new Set(this.gcRows.filter((g) => g.file === fileOrdinal).map((g) => g.item.clock)),
    ]);
  }

  clockEvidence(
    perfOrdinal: number,
    source: 'strace' | 'runtime',
    offsets: FileOffsets,
    maxThreads = 16,
    maxMoments = 100_000,
  ): Promise<ClockEvidenceRows> {
    const switches = this.schedRows.filter(
      (e) => e.file === perfOrdinal && e.kind === 'switch' && e.timeNs !== null,
    );
    const switching = new Set(switches.map((e) => e.tid));
    const rows: { tid: number; file: number; startNs: bigint; durationNs: bigint | null }[] =
      source === 'strace'
        ? this.syscallRows.flatMap(({ file, item: y }) =>
            y.tid !== null && y.startNs !== null
              ? [{ tid: y.tid, file, startNs: y.startNs, durationNs: y.unfinished ? null : y.durationNs }]
              : [],
          )
        : this.runtimeRows.flatMap(({ file, item: y }) =>
            y.thread.tid !== null
              ? [{ tid: y.thread.tid, file, startNs: y.startNs, durationNs: y.durationNs }]
              : [],
          );
    const placed = rows.filter((r) => offsets.has(r.file));
    const counts = new Map<number, number>();
    for (const r of placed) if (switching.has(r.tid)) counts.set(r.tid, (counts.get(r.tid) ?? 0) + 1);
    const ids = [...counts].sort((a, b) => b[1] - a[1] || a[0] - b[0]).slice(0, maxThreads);
    const chosen = new Set(ids.map(([tid]) => tid));
    const switchOuts = new Map<number, bigint[]>();
    if (!chosen.size)
      return Promise.resolve({ switchOuts, moments: [], perfHasSwitches: switches.length > 0 });
    for (const e of switches) if (chosen.has(e.tid)) pushTo(switchOuts, e.tid, e.timeNs as bigint);
    for (const list of switchOuts.values()) list.sort(byTime((x: bigint) => x));
    const mine = placed
      .filter((r) => chosen.has(r.tid))
      .sort(
        (a, b) =>
          (a.startNs < b.startNs ? -1 : a.startNs > b.startNs ? 1 : 0) ||
          a.tid - b.tid ||
          (a.durationNs === b.durationNs
            ? 0
            : a.durationNs === null
              ? -1
              : b.durationNs === null
                ? 1
                : a.durationNs < b.durationNs
                  ? -1
                  : 1),
      );
    const moments = evenlySpaced(mine, maxMoments).map((r) => ({
      tid: r.tid,
      startNs: r.startNs + (offsets.get(r.file) ?? 0n),
      durationNs: r.durationNs,
    }));
    return Promise.resolve({ switchOuts, moments, perfHasSwitches: true });
  }

  rawPauses(fileOrdinal: number, clock: string): Promise<{ startNs: bigint; endNs: bigint }[]> {
    return Promise.resolve(
      this.gcRows.flatMap(({ file, item: g }) =>
        file === fileOrdinal &&
        g.clock === clock &&
        (g.kind === 'safepoint' || g.pause) &&
        g.durationNs !== null &&
        g.durationNs > 0n
          ? [{ startNs: g.startNs, endNs: g.startNs + g.durationNs }]
          : [],
      ),
    );
  }

  markerTimes(offsets: FileOffsets, symbolPattern: string): Promise<bigint[]> {
    const re = new RegExp(symbolPattern);
    const hit = new Set<string>();
    for (const [id, frames] of this.stacks) if (frames.some((f) => re.test(f.symbol))) hit.add(id);
    const out: bigint[] = [];
    for (const s of this.samples) {
      const off = offsets.get(s.file);
      if (off !== undefined && s.timeNs !== null && s.stackId !== null && hit.has(s.stackId))
        out.push(s.timeNs + off);
    }
    return Promise.resolve(evenlySpaced(out.sort(byTime((x: bigint) => x)), 5000));
  }

  /** Thread resolution across sources, as libs/store's `threads` does it in SQL. */
  threads(targetPid: number | null): Promise<CorrelationThread[]> {
    const sightingPid = (tid: number) =>
      this.sightings.find((s) => s.tid === tid && s.pid !== null)?.pid ?? null;
    // A runtime profiler's row (no pid) joins the row perf made for the same tid.
    for (const n of this.threadRows.filter((t) => t.pid === null)) {
      const k = this.threadRows.find((t) => t.tid === n.tid && t.pid !== null);
      if (k) {
        for (const name of n.names) if (!k.names.includes(name)) k.names.push(name);
        for (const s of this.samples) if (s.threadId === n.id) s.threadId = k.id;
        this.byThread = null;
        this.threadRows.splice(this.threadRows.indexOf(n), 1);
      } else if (targetPid !== null) n.pid = sightingPid(n.tid) ?? targetPid;
    }
    const known = new Set(this.threadRows.map((t) => t.tid));
    const tids = new Set<number>();
    for (const { item } of this.syscallRows) if (item.tid !== null) tids.add(item.tid);
    for (const s of this.sightings) if (s.tid !== null) tids.add(s.tid);
    for (const tid of [...tids].sort((a, b) => a - b))
      if (!known.has(tid)) {
        const pid = sightingPid(tid) ?? targetPid;
        const t: ThreadRow = { id: `t${tid}`, pid, tid, names: [] };
        this.threadRows.push(t);
        this.threadByKey.set(`${pid ?? ''}/${tid}`, t);
      }
    return Promise.resolve(
      [...this.threadRows]
        .sort((a, b) => a.tid - b.tid)
        .map((t) => {
          const seen = this.sightings.filter((s) => s.tid === t.tid);
          t.names = [...new Set([...t.names, ...seen.map((s) => s.name)].filter(isName))].sort(byText);
          const java = seen.filter(
            (s) => s.runtimeThreadId !== null && (s.source === 'jstack' || s.source === 'jfr'),
          );
          return {
            id: t.id,
            pid: t.pid,
            tid: t.tid,
            names: t.names,
            javaIds: [...new Set(java.map((s) => s.runtimeThreadId as string))].sort(byText),
          };
        }),
    );
  }

  threadEvents(thread: Pick<CorrelationThread, 'id' | 'tid'>, offsets: EventOffsets): Promise<ThreadEvents> {
    const samples = this.placedSamples([thread.id], offsets.perf);
    return Promise.resolve({
      sched: this.sched(thread.tid, offsets.perf),
      syscalls: this.syscalls(thread.tid, offsets.strace),
      runtime: this.runtime(thread.tid, offsets.runtime),
      samples: samples.filter((s) => s.sampling).map((s) => s.timeNs),
      cpuClock: samples.flatMap((s): CpuClockRow[] =>
        s.sampling && CPU_CLOCK.test(s.event) && s.weight > 1n
          ? [{ timeNs: s.timeNs, periodNs: s.weight }]
          : [],
      ),
    });
  }

  /** A thread's samples (all events) placed on the epoch axis, by time. */
  private placedSamples(
    threadIds: readonly string[],
    offsets: FileOffsets,
  ): (SampleRow & { timeNs: bigint })[] {
    const out: (SampleRow & { timeNs: bigint })[] = [];
    for (const id of new Set(threadIds))
      for (const s of this.samplesOf().get(id) ?? []) {
        const off = offsets.get(s.file);
        if (off !== undefined && s.timeNs !== null) out.push({ ...s, timeNs: s.timeNs + off });
      }
    return out.sort(byTime((s) => s.timeNs));
  }

  /** Samples by thread id, in file order (built on first use; threads() may move samples). */
  private samplesOf(): Map<string, SampleRow[]> {
    if (this.byThread) return this.byThread;
    const m = new Map<string, SampleRow[]>();
    for (const s of this.samples) pushTo(m, s.threadId, s);
    return (this.byThread = m);
  }

  /** Sched rows by the tids they concern (the thread switched out, switched in, woken), in file order. */
  private schedOf(tid: number): SchedTableRow[] {
    if (!this.schedByTid) {
      const m = new Map<number, SchedTableRow[]>();
      for (const e of this.schedRows) {
        pushTo(m, e.tid, e);
        if (e.otherTid !== e.tid) pushTo(m, e.otherTid, e);
      }
      this.schedByTid = m;
    }
    return this.schedByTid.get(tid) ?? [];
  }

  private sched(tid: number, offsets: FileOffsets): SchedRow[] {
    const out: SchedRow[] = [];
    for (const e of this.schedOf(tid)) {
      const off = offsets.get(e.file);
      if (off === undefined || e.timeNs === null) continue;
      const timeNs = e.timeNs + off;
      if (e.kind === 'switch' && e.tid === tid)
        out.push({ timeNs, kind: 'out', prevState: e.prevState, stackId: e.stackId, otherTid: e.otherTid });
      if (e.kind === 'switch' && e.otherTid === tid)
        out.push({ timeNs, kind: 'in', prevState: null, stackId: null, otherTid: e.tid });
      if ((e.kind === 'wakeup' || e.kind === 'waking') && e.otherTid === tid)
        out.push({ timeNs, kind: 'wakeup', prevState: null, stackId: e.stackId, otherTid: e.tid });
    }
    return out.sort(byTime((s) => s.timeNs));
  }

  private syscalls(tid: number, offsets: FileOffsets): SyscallRow[] {
    return this.syscallRows
      .filter(({ file, item }) => item.tid === tid && item.startNs !== null && offsets.has(file))
      .sort(byTime(({ item }) => item.startNs as bigint))
      .map(({ file, item: y }) => {
        const start = (y.startNs as bigint) + (offsets.get(file) ?? 0n);
        return {
          startNs: start,
          endNs: start + (y.durationNs ?? 0n),
          name: y.name,
          category: y.category,
          ...syscallTarget(y),
          futexAddr: y.futexAddr,
          futexOp: y.futexOp,
        };
      });
  }

  private runtime(tid: number, offsets: FileOffsets): RuntimeRow[] {
    return this.runtimeRows
      .filter(({ file, item }) => item.thread.tid === tid && offsets.has(file))
      .sort(byTime(({ item }) => item.startNs))
      .map(({ file, item: r }) => {
        const start = r.startNs + (offsets.get(file) ?? 0n);
        return {
          startNs: start,
          endNs: start + r.durationNs,
          type: r.type,
          objectClass: r.objectClass ?? null,
          address: r.address ?? null,
          ownerTid: r.previousOwner?.tid ?? null,
          stackId: r.stackId,
          target: r.peer ?? r.path ?? null,
        };
      });
  }

  stackFrames(stackIds: readonly string[]): Promise<StackFramesById> {
    const out: StackFramesById = new Map();
    for (const id of stackIds) {
      const frames = this.stacks.get(id);
      if (frames) out.set(id, frames);
    }
    return Promise.resolve(out);
  }

  threadStacks(threadIds: readonly string[], perThread = 40): Promise<Map<string, string[]>> {
    const ids = new Set(threadIds);
    const seen = new Map<string, Set<string>>();
    for (const s of this.samples) {
      if (!ids.has(s.threadId) || s.stackId === null) continue;
      let set = seen.get(s.threadId);
      if (!set) seen.set(s.threadId, (set = new Set()));
      if (set.size < perThread) set.add(s.stackId);
    }
    return Promise.resolve(new Map([...seen].map(([k, v]) => [k, [...v]])));
  }

  pauses(gcOffsets: ReadonlyMap<string, bigint>): Promise<PauseRow[]> {
    const out: PauseRow[] = [];
    for (const { file, item: g } of this.gcRows) {
      const off = gcOffsets.get(`${file}:${g.clock}`);
      const pause = g.kind === 'safepoint' || g.pause;
      if (off === undefined || !pause || g.durationNs === null) continue;
      out.push({
        startNs: g.startNs + off,
        endNs: g.startNs + off + g.durationNs,
        phase: g.kind === 'gc' ? g.phase : (g.operation ?? 'safepoint'),
        gcId: g.kind === 'gc' ? (g.gcId ?? null) : null,
        kind: g.kind,
      });
    }
    return Promise.resolve(out.sort(byTime((p) => p.startNs)));
  }

  futexWakes(offsets: FileOffsets): Promise<FutexWakeRow[]> {
    const out: FutexWakeRow[] = [];
    for (const { file, item: y } of this.syscallRows) {
      const off = offsets.get(file);
      if (off === undefined || y.tid === null || y.startNs === null || y.futexAddr === null) continue;
      if (
        !y.name.startsWith('futex') ||
        !/(WAKE|REQUEUE)/.test(y.futexOp ?? '') ||
        /WAIT/.test(y.futexOp ?? '')
      )
        continue;
      out.push({ tid: y.tid, startNs: y.startNs + off, addr: y.futexAddr });
    }
    return Promise.resolve(out.sort(byTime((w) => w.startNs)));
  }

  spans(): Promise<SpanRow[]> {
    const first = new Map<string, Filed<SpanRecord>>();
    for (const s of this.spanRows) {
      const key = `${s.item.traceId}\0${s.item.spanId}`;
      const had = first.get(key);
      if (!had || s.file < had.file) first.set(key, s);
    }
    return Promise.resolve(
      [...first.values()]
        .sort((a, b) => byText(a.item.traceId, b.item.traceId) || byText(a.item.spanId, b.item.spanId))
        .map(({ item: s }) => ({
          traceId: s.traceId,
          spanId: s.spanId,
          parentSpanId: s.parentSpanId,
          name: s.name,
          kind: s.spanKind,
          service: s.service,
          startNs: s.startNs,
          endNs: s.endNs,
          // As the store keeps them: JSON, 64-bit integers as decimal strings.
          attributes: JSON.parse(
            JSON.stringify(s.attributes, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)),
          ) as Record<string, unknown>,
        })),
    );
  }

  tracedLogs(): Promise<LogRow[]> {
    const rows = this.logRows
      .filter((l) => l.traceIds.length > 0)
      .map((l) => ({
        timeNs: l.timeNs,
        tid: l.tid,
        threadName: l.threadName,
        traceIds: [...l.traceIds],
        spanId: l.spanId,
      }));
    // By time, records without one last.
    return Promise.resolve(
      rows.sort((a, b) =>
        a.timeNs === null
          ? b.timeNs === null
            ? 0
            : 1
          : b.timeNs === null
            ? -1
            : byTime((x: bigint) => x)(a.timeNs, b.timeNs),
      ),
    );
  }

  accepts(offsets: FileOffsets): Promise<AcceptRow[]> {
    const out: AcceptRow[] = [];
    for (const { file, item: y } of this.syscallRows) {
      const off = offsets.get(file);
      if (off === undefined || y.tid === null || y.startNs === null) continue;
      if ((y.name !== 'accept' && y.name !== 'accept4') || y.errno !== null || !y.ret?.includes('->'))
        continue;
      const peer = acceptedPeer(y.ret);
      if (peer) out.push({ tid: y.tid, timeNs: y.startNs + off + (y.durationNs ?? 0n), peer });
    }
    return Promise.resolve(out.sort(byTime((a) => a.timeNs)));
  }

  firstReads(offsets: FileOffsets): Promise<ReadRow[]> {
    const first = new Map<string, { raw: bigint; row: ReadRow }>();
    for (const { file, item: y } of this.syscallRows) {
      const off = offsets.get(file);
      const peer = y.fd?.peer;
      if (off === undefined || y.tid === null || y.startNs === null || !peer) continue;
      if (!['read', 'recvfrom', 'recvmsg', 'readv'].includes(y.name)) continue;
      const key = `${peer}\0${y.tid}`;
      const had = first.get(key);
      if (!had || y.startNs < had.raw)
        first.set(key, {
          raw: y.startNs,
          row: { tid: y.tid, timeNs: y.startNs + off, peer: bareAddress(peer) },
        });
    }
    return Promise.resolve([...first.values()].map((x) => x.row));
  }

  samplesInWindow(
    threadIds: readonly string[],
    fromNs: bigint,
    toNs: bigint,
    offsets: FileOffsets,
  ): Promise<WindowSample[]> {
    return Promise.resolve(
      this.placedSamples(threadIds, offsets)
        .filter((s) => s.sampling && s.timeNs >= fromNs && s.timeNs < toNs)
        .map((s) => ({ threadId: s.threadId, timeNs: s.timeNs, stackId: s.stackId })),
    );
  }
}
