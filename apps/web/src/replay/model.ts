/**
 * Replay data made relative: every absolute ns string becomes a number of ns after the
 * window start (bigint subtraction first, so no precision is lost), and lane items become
 * parallel typed arrays that the canvas renderer and hit-testing walk quickly.
 */
import type { DecodedTile, LaneItemDto, ThreadState } from '@threadreel/model';
import { STATE_ORDER } from '../causes';

/** ns offsets from a fixed base; fast path for same-length strings sharing the high digits. */
export class Offsets {
  private readonly base: bigint;
  private readonly text: string;
  private readonly low: number;
  private readonly prefix: string;

  constructor(baseNs: string) {
    this.base = BigInt(baseNs);
    this.text = this.base.toString();
    const cut = Math.max(0, this.text.length - 15);
    this.prefix = this.text.slice(0, cut);
    this.low = Number(this.text.slice(cut) || '0');
  }

  /** ns after the base, as a number (offsets of a request window are far below 2^53). */
  of(ns: string): number {
    if (ns.length === this.text.length && ns.startsWith(this.prefix)) {
      return Number(ns.slice(this.prefix.length)) - this.low;
    }
    return Number(BigInt(ns) - this.base);
  }

  /** Back to an absolute ns string. */
  abs(offset: number): string {
    return (this.base + BigInt(Math.round(offset))).toString();
  }
}

export const STATE_INDEX: ReadonlyMap<string, number> = new Map(STATE_ORDER.map((s, i) => [s, i]));

/** One lane's items as parallel arrays, sorted by start. */
export interface LaneData {
  start: Float64Array;
  end: Float64Array;
  /** Index into STATE_ORDER. */
  state: Uint8Array;
  /** The items as the API sent them (with their detail), or null for lane tiles (see {@link itemOf}). */
  items: LaneItemDto[] | null;
  /** Lane tiles: segments per item and ns per state of merged items. */
  packed: DecodedTile | null;
}

/** Lane data from decoded lane tiles (STATE_ORDER is THREAD_STATES, the tiles' state order). */
export function tileLaneData(t: DecodedTile): LaneData {
  return { start: t.start, end: t.end, state: t.state, items: null, packed: t };
}

/**
 * Item i as a DTO: the API's own, or one built from tile arrays (a whole segment without its
 * detail, which the caller may ask for; merged segments with their ns per state).
 */
export function itemOf(lane: LaneData, i: number, off: Offsets): LaneItemDto | null {
  if (lane.items) return lane.items[i] ?? null;
  const p = lane.packed;
  if (!p || i < 0 || i >= p.start.length) return null;
  const state = STATE_ORDER[p.state[i] ?? 0] ?? 'unknown';
  const startNs = off.abs(p.start[i] ?? 0);
  const endNs = off.abs(p.end[i] ?? 0);
  const count = p.count[i] ?? 1;
  if (count <= 1) return { kind: 'segment', startNs, endNs, state };
  const summary: Partial<Record<ThreadState, string>> = {};
  for (let k = p.mixAt[i] ?? 0; k < (p.mixAt[i + 1] ?? 0); k++) {
    const st = STATE_ORDER[p.mixState[k] ?? 0];
    if (st) summary[st] = String(p.mixNs[k] ?? 0);
  }
  return { kind: 'summary', startNs, endNs, state, summary, count };
}

export function laneData(items: readonly LaneItemDto[], off: Offsets): LaneData {
  const n = items.length;
  const start = new Float64Array(n);
  const end = new Float64Array(n);
  const state = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const it = items[i];
    if (!it) continue;
    start[i] = off.of(it.startNs);
    end[i] = off.of(it.endNs);
    state[i] = STATE_INDEX.get(it.state) ?? STATE_INDEX.get('unknown') ?? 0;
  }
  return { start, end, state, items: items as LaneItemDto[], packed: null };
}

/** First index whose end is after `t` (items of a lane do not overlap, so ends are sorted). */
export function firstEndingAfter(lane: LaneData, t: number): number {
  let lo = 0;
  let hi = lane.end.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((lane.end[mid] ?? 0) <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The item under time `t`, within `slack` ns, or -1. */
export function itemAt(lane: LaneData, t: number, slack: number): number {
  const i = firstEndingAfter(lane, t - slack);
  if (i >= lane.end.length) return -1;
  return (lane.start[i] ?? Infinity) <= t + slack ? i : -1;
}

/**
 * ns per state of a lane inside [from, to): whole segments clipped; merged summaries
 * scaled by the part of their extent inside the range.
 */
export function stateTime(lane: LaneData, from: number, to: number, into: Map<ThreadState, number>): void {
  for (let i = firstEndingAfter(lane, from); i < lane.end.length; i++) {
    const s = lane.start[i] ?? 0;
    const e = lane.end[i] ?? 0;
    if (s >= to) break;
    const clip = Math.min(e, to) - Math.max(s, from);
    if (clip <= 0) continue;
    const p = lane.packed;
    if (p) {
      if ((p.count[i] ?? 1) <= 1) {
        const st = STATE_ORDER[p.state[i] ?? 0] ?? 'unknown';
        into.set(st, (into.get(st) ?? 0) + clip);
      } else {
        const frac = e > s ? clip / (e - s) : 1;
        for (let k = p.mixAt[i] ?? 0; k < (p.mixAt[i + 1] ?? 0); k++) {
          const st = STATE_ORDER[p.mixState[k] ?? 0] ?? 'unknown';
          into.set(st, (into.get(st) ?? 0) + (p.mixNs[k] ?? 0) * frac);
        }
      }
      continue;
    }
    const item = lane.items?.[i];
    if (!item) continue;
    if (item.kind === 'segment') {
      into.set(item.state, (into.get(item.state) ?? 0) + clip);
    } else {
      const frac = e > s ? clip / (e - s) : 1;
      for (const [st, ns] of Object.entries(item.summary)) {
        const v = Number(ns ?? '0') * frac;
        into.set(st as ThreadState, (into.get(st as ThreadState) ?? 0) + v);
      }
    }
  }
}

/** A lane built from a coarse base (whole window) and a finer detail over [from, to). */
export interface LaneLayers {
  base: LaneData;
  detail: { from: number; to: number; data: LaneData } | null;
}

/** The data to read at time t: detail inside its range, base elsewhere. */
export function layerAt(l: LaneLayers, t: number): LaneData {
  return l.detail && t >= l.detail.from && t < l.detail.to ? l.detail.data : l.base;
}

/** ns per state over [from, to) using detail where it covers, base elsewhere. */
export function layeredStateTime(l: LaneLayers, from: number, to: number): Map<ThreadState, number> {
  const out = new Map<ThreadState, number>();
  const d = l.detail;
  if (!d || d.to <= from || d.from >= to) {
    stateTime(l.base, from, to, out);
    return out;
  }
  const a = Math.max(from, d.from);
  const b = Math.min(to, d.to);
  if (from < a) stateTime(l.base, from, a, out);
  stateTime(d.data, a, b, out);
  if (b < to) stateTime(l.base, b, to, out);
  return out;
}

/** Trace ids (32 hex) in free text, for links. */
const TRACE_ID_RE = /\b[0-9a-f]{32}\b/gi;

export function splitTraceIds(text: string): (string | { traceId: string })[] {
  const out: (string | { traceId: string })[] = [];
  let last = 0;
  for (const m of text.matchAll(TRACE_ID_RE)) {
    const at = m.index;
    if (at > last) out.push(text.slice(last, at));
    out.push({ traceId: m[0].toLowerCase() });
    last = at + m[0].length;
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}

/** View state kept in the hash query: offsets (ns after the window start) as integer strings. */
export interface ViewQuery {
  from: number | null;
  to: number | null;
  threads: string[];
  brush: { from: number; to: number } | null;
  flame: 'cpu' | 'offcpu' | 'wakers' | null;
  invert: boolean;
  search: string;
}

const INT = /^-?\d{1,16}$/;

function num(v: string | null): number | null {
  return v !== null && INT.test(v) ? Number(v) : null;
}

export function parseViewQuery(q: URLSearchParams): ViewQuery {
  const from = num(q.get('from'));
  const to = num(q.get('to'));
  const bf = num(q.get('bf'));
  const bt = num(q.get('bt'));
  const flame = q.get('flame');
  return {
    from: from !== null && to !== null && to > from ? from : null,
    to: from !== null && to !== null && to > from ? to : null,
    threads: (q.get('sel') ?? '').split(',').filter((s) => /^\d{1,18}$/.test(s)),
    brush: bf !== null && bt !== null && bt > bf ? { from: bf, to: bt } : null,
    flame: flame === 'cpu' || flame === 'offcpu' || flame === 'wakers' ? flame : null,
    invert: q.get('inv') === '1',
    search: q.get('q') ?? '',
  };
}

export function viewQueryString(v: ViewQuery): URLSearchParams {
  const q = new URLSearchParams();
  if (v.from !== null && v.to !== null) {
    q.set('from', String(Math.round(v.from)));
    q.set('to', String(Math.round(v.to)));
  }
  if (v.threads.length) q.set('sel', v.threads.join(','));
  if (v.brush) {
    q.set('bf', String(Math.round(v.brush.from)));
    q.set('bt', String(Math.round(v.brush.to)));
  }
  if (v.flame) q.set('flame', v.flame);
  if (v.invert) q.set('inv', '1');
  if (v.search) q.set('q', v.search);
  return q;
}

/** "+12.345 ms" style offset label for a ns offset. */
export function offsetLabel(ns: number): string {
  const ms = ns / 1e6;
  const abs = Math.abs(ms);
  const digits = abs >= 100 ? 1 : abs >= 1 ? 2 : 3;
  return `${ms >= 0 ? '+' : '−'}${abs.toFixed(digits)} ms`;
}

/** A duration in ns (number) in a readable unit. */
export function durationLabel(ns: number): string {
  const abs = Math.abs(ns);
  if (abs < 1e3) return `${Math.round(ns)} ns`;
  if (abs < 1e6) return `${(ns / 1e3).toFixed(1)} µs`;
  if (abs < 1e9) return `${(ns / 1e6).toFixed(abs < 1e7 ? 2 : 1)} ms`;
  return `${(ns / 1e9).toFixed(2)} s`;
}
