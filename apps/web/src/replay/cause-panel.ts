/**
 * The request's wall time by cause: a stacked bar and a list, each cause with its evidence
 * in words. Clicking an item asks the view to jump to where it happened.
 */
import type { ReplayDto } from '@threadreel/model';
import { CAUSE_ORDER, causeColor, causeLabel } from '../causes';
import { el, type Child } from '../dom';
import { replayHref } from '../router';
import { durationLabel, offsetLabel, type Offsets } from './model';

/** Where an evidence item points: a range and the lanes to select. */
export interface Jump {
  from: number;
  to: number;
  threads: string[];
}

interface LockEv {
  lockId: string | null;
  waitNs: string;
  waiterThreadId: string;
  holderThreadId: string | null;
  holderName: string | null;
  holderStackId: string | null;
  chain: string[];
  /** Absent in captures correlated before it existed. */
  chainHeldNs?: string[];
  deadlock: boolean;
  /** Absent in captures correlated before it existed (their `deadlock` meant only a closed chain). */
  deadlockCycle?: { threadIds: string[]; lockIds: (string | null)[]; fromNs: string; toNs: string };
}
interface GcEv {
  phase: string;
  startNs: string;
  durationNs: string;
  gcId: number | null;
}
interface PoolEv {
  pool: string;
  size: number;
  busy: number;
  waitNs: string;
  blockingTraceId?: string;
  blockingFrames?: string[];
}
interface PeerEv {
  peer: string;
  totalNs: string;
  calls: number;
  slowestNs: string;
}
interface FileEv {
  path: string;
  totalNs: string;
  ops: Record<string, number>;
}
interface CpuEv {
  topFrames: { frame: string; samples: number }[];
  samples: number;
}

function arr<T>(v: unknown): T[] {
  return Array.isArray(v) ? (v as T[]) : [];
}
function obj<T>(v: unknown): T | null {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as T) : null;
}
const ns = (v: string | undefined | null): number => (v && /^-?\d+$/.test(v) ? Number(v) : 0);

export interface CauseContext {
  replay: ReplayDto;
  off: Offsets;
  threadLabel(threadId: string | null): string;
  tidOf(threadId: string): number | null;
  /** Lock waits found on lanes: waiter, lock id → segments (offsets) and their waker. */
  lockWaits(waiter: string, lockId: string | null): { from: number; to: number; waker: string | null }[];
  /** Segments on the bound threads whose target matches. */
  targetSegments(target: string): { from: number; to: number; threadId: string }[];
  /** Top display frame of a stack, once resolved. */
  stackTop(stackId: string | null): Promise<string | null>;
  jump(j: Jump): void;
}

export function causePanel(ctx: CauseContext): HTMLElement {
  const { replay, off } = ctx;
  const req = replay.request;
  const total = Math.max(1, ns(req.durationNs));
  const reqFrom = off.of(req.startNs);
  const reqTo = off.of(req.endNs);
  const bound = req.threadIds;
  const entries = CAUSE_ORDER.map((c) => ({ cause: c, ns: ns(req.breakdown[c]) }))
    .filter((e) => e.ns > 0)
    .sort((a, b) => b.ns - a.ns);

  const bar = el(
    'div',
    { class: 'cause-bar', attrs: { role: 'img', 'aria-label': 'wall time by cause' } },
    ...entries.map((e) =>
      el('span', {
        class: 'cause-bar-part',
        title: `${causeLabel(e.cause)}: ${durationLabel(e.ns)} (${((e.ns / total) * 100).toFixed(1)} %)`,
        attrs: { style: `width:${((e.ns / total) * 100).toFixed(3)}%;background:${causeColor(e.cause)}` },
      }),
    ),
  );

  const ev = req.evidence;
  const item = (text: Child[], jump: Jump | null, extra?: Child): HTMLElement => {
    const li = el('li', { class: jump ? 'evidence jump' : 'evidence' }, ...text, extra);
    if (jump) {
      li.tabIndex = 0;
      li.title = 'Show on the timeline';
      li.addEventListener('click', () => ctx.jump(jump));
      li.addEventListener('keydown', (e) => {
        if (e.key === 'Enter') ctx.jump(jump);
      });
    }
    return li;
  };
  const pad = (a: number, b: number): Jump['from'][] => {
    const m = Math.max((b - a) * 0.15, 50_000);
    return [a - m, b + m];
  };
  const whole: Jump = { from: reqFrom, to: reqTo, threads: bound };

  /** When a thread further down the chain kept the waiter waiting longer than the releaser did. */
  const behind = (l: LockEv): string => {
    const held = (l.chainHeldNs ?? []).map(ns);
    let most = 0;
    for (let i = 1; i < held.length; i++) if ((held[i] ?? 0) > (held[most] ?? 0)) most = i;
    const t = l.chain[most + 1];
    if (most === 0 || t === undefined || t === l.waiterThreadId) return '';
    return `; most of the wait was behind ${ctx.threadLabel(t)} (${durationLabel(held[most] ?? 0)})`;
  };

  /** ` — deadlock: A waits for lock L held by B, B for lock M held by A, all at once for 3 ms`. */
  const deadlockText = (l: LockEv): string => {
    const c = l.deadlockCycle;
    if (!l.deadlock || !c || !Array.isArray(c.threadIds) || c.threadIds.length === 0) return '';
    const steps = c.threadIds.map((t, i) => {
      const next = c.threadIds[(i + 1) % c.threadIds.length] ?? t;
      return `${ctx.threadLabel(t)} waits for lock ${c.lockIds[i] ?? '(unknown)'} held by ${ctx.threadLabel(next)}`;
    });
    // Epoch times exceed 2^53: the difference is taken exactly, then shown.
    const span = /^-?\d+$/.test(c.toNs) && /^-?\d+$/.test(c.fromNs) ? BigInt(c.toNs) - BigInt(c.fromNs) : 0n;
    return ` — deadlock: ${steps.join(', ')}, all blocked at once for ${durationLabel(Number(span))}`;
  };

  const evidenceFor = (cause: string): HTMLElement[] => {
    const out: HTMLElement[] = [];
    if (cause === 'lock') {
      for (const l of arr<LockEv>(ev['lock'])) {
        const waits = ctx.lockWaits(l.waiterThreadId, l.lockId);
        const main = waits.reduce<(typeof waits)[number] | null>(
          (a, w) => (!a || w.to - w.from > a.to - a.from ? w : a),
          null,
        );
        const holder = l.holderThreadId ?? main?.waker ?? null;
        const released = main ? ` released at ${offsetLabel(main.to - reqFrom)}` : '';
        const where = el('span', { class: 'stack-top' });
        const text: Child[] = [
          el('strong', null, durationLabel(ns(l.waitNs))),
          ' waiting for lock ',
          el('code', null, l.lockId ?? '(unknown)'),
          holder
            ? `: held by ${l.holderName ?? ctx.threadLabel(holder)}${ctx.tidOf(holder) !== null ? ` (tid ${ctx.tidOf(holder)})` : ''}`
            : ': holder not seen',
          where,
          released ? `,${released}` : '',
          deadlockText(l),
          behind(l),
          l.chain.length > 2
            ? ` (chain: ${l.chain
                .map((t, i) => {
                  const held = i > 0 ? l.chainHeldNs?.[i - 1] : undefined;
                  return `${ctx.threadLabel(t)}${held !== undefined ? ` ${durationLabel(ns(held))}` : ''}`;
                })
                .join(' → ')})`
            : '',
        ];
        void ctx.stackTop(l.holderStackId).then((top) => {
          if (top) where.textContent = ` in ${top}`;
        });
        const threads = [l.waiterThreadId, ...(holder ? [holder] : [])];
        const [a, b] = main ? pad(main.from, main.to) : [reqFrom, reqTo];
        out.push(item(text, { from: a ?? reqFrom, to: b ?? reqTo, threads }));
      }
    } else if (cause === 'gc') {
      for (const g of arr<GcEv>(ev['gc'])) {
        const s = off.of(g.startNs);
        const d = ns(g.durationNs);
        const [a, b] = pad(s, s + d);
        out.push(
          item(
            [
              el('strong', null, durationLabel(d)),
              ` GC pause (${g.phase}${g.gcId !== null ? `, GC #${g.gcId}` : ''}) at ${offsetLabel(s - reqFrom)}`,
            ],
            { from: a ?? s, to: b ?? s + d, threads: bound },
          ),
        );
      }
    } else if (cause === 'pool-queue') {
      const p = obj<PoolEv>(ev['pool-queue']);
      if (p) {
        const first = replay.spans
          .flatMap((s) => s.bindings)
          .reduce((a, b) => Math.min(a, off.of(b.startNs)), Infinity);
        const end = Number.isFinite(first) ? first : reqFrom + ns(p.waitNs);
        const [a, b] = pad(reqFrom, end);
        out.push(
          item(
            [
              el('strong', null, durationLabel(ns(p.waitNs))),
              ` queued for a worker of ${p.pool} (${p.busy} of ${p.size} busy on arrival)`,
              p.blockingTraceId ? ' behind request ' : '',
              p.blockingTraceId
                ? el(
                    'a',
                    { attrs: { href: replayHref(p.blockingTraceId) } },
                    p.blockingTraceId.slice(0, 12) + '…',
                  )
                : '',
              p.blockingFrames?.length ? ` in ${p.blockingFrames.slice(0, 2).join(' ← ')}` : '',
            ],
            { from: a ?? reqFrom, to: b ?? end, threads: bound },
          ),
        );
      }
    } else if (cause === 'net') {
      for (const p of arr<PeerEv>(ev['net'])) {
        const segs = ctx.targetSegments(p.peer);
        const a0 = segs.reduce((a, s) => Math.min(a, s.from), Infinity);
        const b0 = segs.reduce((a, s) => Math.max(a, s.to), -Infinity);
        const jump = segs.length
          ? { from: a0 - 50_000, to: b0 + 50_000, threads: [...new Set(segs.map((s) => s.threadId))] }
          : whole;
        out.push(
          item(
            [
              el('strong', null, durationLabel(ns(p.totalNs))),
              ` on ${p.calls} call${p.calls === 1 ? '' : 's'} to `,
              el('code', null, p.peer),
              ` (slowest ${durationLabel(ns(p.slowestNs))})`,
            ],
            jump,
          ),
        );
      }
    } else if (cause === 'file') {
      for (const f of arr<FileEv>(ev['file'])) {
        const segs = ctx.targetSegments(f.path);
        const a0 = segs.reduce((a, s) => Math.min(a, s.from), Infinity);
        const b0 = segs.reduce((a, s) => Math.max(a, s.to), -Infinity);
        const ops = Object.entries(f.ops)
          .map(([op, n]) => `${op} ×${n}`)
          .join(', ');
        out.push(
          item(
            [
              el('strong', null, durationLabel(ns(f.totalNs))),
              ' on ',
              el('code', null, f.path),
              ops ? ` (${ops})` : '',
            ],
            segs.length
              ? { from: a0 - 50_000, to: b0 + 50_000, threads: [...new Set(segs.map((s) => s.threadId))] }
              : whole,
          ),
        );
      }
    } else if (cause === 'cpu') {
      const c = obj<CpuEv>(ev['cpu']);
      if (c) {
        const top = c.topFrames.slice(0, 3).map((f) => `${f.frame} (${f.samples})`);
        out.push(
          item(
            [
              `${c.samples} on-CPU sample${c.samples === 1 ? '' : 's'}`,
              req.sparse ? ' — too few to say where the time went' : '',
              top.length ? `; hottest: ${top.join(', ')}` : '',
            ],
            whole,
          ),
        );
      }
    } else if (cause === 'runqueue') {
      out.push(item(['runnable but waiting for a CPU (the machine was busy)'], whole));
    }
    return out;
  };

  const list = el(
    'ul',
    { class: 'cause-list' },
    ...entries.map((e) => {
      const evid = evidenceFor(e.cause);
      return el(
        'li',
        { data: { cause: e.cause } },
        el(
          'div',
          { class: 'cause-head' },
          el('span', { class: 'swatch', attrs: { style: `background:${causeColor(e.cause)}` } }),
          el('strong', null, causeLabel(e.cause)),
          el(
            'span',
            { class: 'cause-ns' },
            `${durationLabel(e.ns)} · ${((e.ns / total) * 100).toFixed(1)} %`,
          ),
        ),
        evid.length ? el('ul', { class: 'evidence-list' }, ...evid) : null,
      );
    }),
  );
  return el(
    'aside',
    { id: 'cause-panel', class: 'replay-card' },
    el('h3', null, 'Where the time went'),
    el(
      'p',
      { class: 'muted' },
      `${durationLabel(total)} wall time, mostly ${causeLabel(req.dominantCause)}.`,
    ),
    bar,
    list,
  );
}
