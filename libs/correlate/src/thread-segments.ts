import type { CorrelationThread, DegradedParts, PauseRow } from '@threadreel/model';
import type { StraceClockCheck } from './align.js';
import type { EventOffsets, CaptureSource, ThreadEvents } from './ports.js';
import {
  buildSegments,
  type BuildResult,
  type PauseSpan,
  type StackVerdict,
  type ThreadInput,
} from './segments.js';
import { classifyStack } from './stack-state.js';
import { bestName, isMutator } from './threads.js';

/** What the segment stage needs of the capture besides each thread's own events. */
export interface SegmentStageContext {
  source: CaptureSource;
  offsets: EventOffsets;
  byTid: ReadonlyMap<number, CorrelationThread>;
  pauses: readonly PauseRow[];
  runtime: string | null;
  samplePeriodNs: bigint | null;
  straceCheck: StraceClockCheck;
  degraded: DegradedParts;
}

function min(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}
function max(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}

/**
 * The segment stage, one thread at a time: reads the thread's events, checks them (strace's
 * clock, two threads under one tid), classifies its off-CPU stacks and builds its segments and
 * wakeups (libs/correlate segments). Holds one thread's events at a time, and the verdicts on
 * the stacks seen so far (few per capture).
 */
export class SegmentStage {
  private readonly verdicts = new Map<string, StackVerdict | null>();
  private readonly pauses: readonly PauseSpan[];

  constructor(private readonly c: SegmentStageContext) {
    this.pauses = c.pauses.map((p) => ({ startNs: p.startNs, endNs: p.endNs, phase: p.phase, gcId: p.gcId }));
  }

  /** One thread's segments, or null when it has no event (or its data threw: a degraded part). */
  build(t: CorrelationThread): Promise<BuildResult | null> {
    const threadRef = { id: t.id, tid: t.tid };
    // One thread's odd data (or a bug it trips) costs that thread's segments, not the capture's.
    return this.c.degraded.guard({ stage: 'segments', thread: threadRef }, null, async () => {
      const events = await this.c.source.threadEvents(t, this.c.offsets);
      const { sched, syscalls: calls } = events;
      this.c.straceCheck.observe(
        sched.filter((s) => s.kind === 'out').map((s) => s.timeNs),
        calls,
      );
      const overlapping = overlappingCalls(calls);
      if (overlapping > 2 && overlapping * 100 > calls.length)
        this.c.degraded.add(
          { stage: 'threads', source: 'strace', thread: threadRef },
          `${overlapping} of ${calls.length} syscalls start before the previous one of the same tid ended: two threads under one tid (a reused tid?); its segments mix them`,
        );
      const stackIds = sched.flatMap((s) =>
        s.kind === 'out' && s.stackId && !this.verdicts.has(s.stackId) ? [s.stackId] : [],
      );
      for (const [id, frames] of await this.c.source.stackFrames(stackIds))
        this.verdicts.set(id, classifyStack(frames));
      const input = this.input(t, events);
      return input ? buildSegments(input) : null;
    });
  }

  /** The segment builder's input: the thread's events on its observed life, tids resolved to threads. */
  private input(t: CorrelationThread, e: ThreadEvents): ThreadInput | null {
    const { byTid } = this.c;
    let lo: bigint | null = null;
    let hi: bigint | null = null;
    const see = (a: bigint, b: bigint = a) => {
      lo = lo === null ? a : min(lo, a);
      hi = hi === null ? b : max(hi, b);
    };
    for (const s of e.sched) see(s.timeNs);
    for (const c of e.syscalls) see(c.startNs, c.endNs);
    for (const r of e.runtime) see(r.startNs, r.endNs);
    for (const s of e.samples) see(s);
    if (lo === null || hi === null) return null;
    return {
      threadId: t.id,
      lifeStartNs: lo,
      lifeEndNs: (hi as bigint) + 1n,
      sched: e.sched.map((s) => ({
        timeNs: s.timeNs,
        kind: s.kind,
        ...(s.prevState !== null ? { prevState: s.prevState } : {}),
        ...(s.kind === 'out' && s.stackId !== null ? { stackId: s.stackId } : {}),
        ...(s.kind === 'wakeup'
          ? {
              wakerThreadId: s.otherTid !== null ? (byTid.get(s.otherTid)?.id ?? null) : null,
              ...(s.stackId !== null ? { wakerStackId: s.stackId } : {}),
            }
          : {}),
      })),
      syscalls: e.syscalls.map((c) => ({
        startNs: c.startNs,
        endNs: c.endNs,
        name: c.name,
        category: c.category as ThreadInput['syscalls'][number]['category'],
        ...(c.target !== null ? { target: c.target } : {}),
        ...(c.fdKind !== null ? { fdKind: c.fdKind } : {}),
        ...(c.futexAddr !== null ? { futexAddr: c.futexAddr } : {}),
        ...(c.futexOp !== null ? { futexOp: c.futexOp } : {}),
      })),
      runtime: e.runtime.map((r) => ({
        startNs: r.startNs,
        endNs: r.endNs,
        type: r.type as ThreadInput['runtime'][number]['type'],
        ...(r.objectClass !== null ? { objectClass: r.objectClass } : {}),
        ...(r.address !== null ? { address: r.address } : {}),
        ...(r.ownerTid !== null ? { ownerThreadId: byTid.get(r.ownerTid)?.id ?? null } : {}),
        ...(r.stackId !== null ? { stackId: r.stackId } : {}),
        ...(r.target !== null ? { target: r.target } : {}),
      })),
      pauses: this.pauses,
      mutator: isMutator(bestName(t), this.c.runtime),
      samples: e.samples,
      cpuClock: e.cpuClock,
      samplePeriodNs: this.c.samplePeriodNs,
      stackState: (id) => this.verdicts.get(id) ?? null,
    };
  }
}

/** Syscalls of one tid that start before an earlier one ended (a thread makes one at a time). */
function overlappingCalls(calls: readonly { startNs: bigint; endNs: bigint }[]): number {
  const sorted = [...calls].sort((a, b) => (a.startNs < b.startNs ? -1 : a.startNs > b.startNs ? 1 : 0));
  let n = 0;
  let end: bigint | null = null;
  for (const c of sorted) {
    if (end !== null && c.startNs < end) n++;
    if (end === null || c.endNs > end) end = c.endNs;
  }
  return n;
}
