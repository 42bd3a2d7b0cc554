import {
  THREAD_STATES,
  type FlameNodeDto,
  type FoundTraceId,
  type LaneItemDto,
  type LaneSegmentDto,
  type SegmentDetailDto,
  type ThreadState,
  type TraceIdForm,
} from '@threadreel/model';
import { compareCodePoints } from './fold.js';

/**
 * Pure shaping for the replay API: level of detail of a thread lane, flame trees from
 * weighted stacks, trace ids found in pasted text, the request window and the sampling period.
 */

/** A segment as read for a lane: times as bigint, detail as in the segments table. */
export interface LodSegment extends SegmentDetailDto {
  readonly startNs: bigint;
  readonly endNs: bigint;
  readonly state: ThreadState;
}

const STATE_ORDER = new Map<string, number>(THREAD_STATES.map((s, i) => [s, i]));

interface Pending {
  startNs: bigint;
  endNs: bigint;
  byState: Map<ThreadState, bigint>;
  first: LodSegment;
  count: number;
}

function wholeItem(s: LodSegment): LaneSegmentDto {
  const item: LaneSegmentDto = {
    kind: 'segment',
    startNs: s.startNs.toString(),
    endNs: s.endNs.toString(),
    state: s.state,
  };
  const detail: (keyof SegmentDetailDto)[] = [
    'source',
    'syscall',
    'target',
    'lockId',
    'blockedStackId',
    'wakerThreadId',
    'wakerStackId',
    'prevState',
    'reason',
  ];
  for (const k of detail) {
    const v = s[k];
    if (v !== undefined && v !== null) item[k] = v;
  }
  return item;
}

function flush(p: Pending, out: LaneItemDto[]): void {
  if (p.count === 1) {
    out.push(wholeItem(p.first));
    return;
  }
  let state: ThreadState = 'unknown';
  let best = -1n;
  for (const [s, ns] of [...p.byState].sort(
    (a, b) => (STATE_ORDER.get(a[0]) ?? 0) - (STATE_ORDER.get(b[0]) ?? 0),
  )) {
    if (ns > best) {
      best = ns;
      state = s;
    }
  }
  const summary: Partial<Record<ThreadState, string>> = {};
  for (const [s, ns] of p.byState) summary[s] = ns.toString();
  out.push({
    kind: 'summary',
    startNs: p.startNs.toString(),
    endNs: p.endNs.toString(),
    state,
    summary,
    count: p.count,
  });
}

/**
 * Level of detail of one lane at `resolutionNs` ns per pixel. Segments (sorted by start,
 * non-overlapping) at least one pixel long are sent whole with their detail; runs of shorter
 * consecutive segments are merged into summary items about one pixel wide whose `summary`
 * keeps the time per state (sums are preserved) and whose `state` is the one with most time.
 * A run is cut at gaps of a pixel or more. The result has at most about two items per pixel
 * of the lane's extent (a run flushed early by a wide segment, then the wide segment).
 */
export function levelOfDetail(segments: readonly LodSegment[], resolutionNs: bigint): LaneItemDto[] {
  const res = resolutionNs > 0n ? resolutionNs : 1n;
  const out: LaneItemDto[] = [];
  let p: Pending | null = null;
  for (const s of segments) {
    const dur = s.endNs - s.startNs;
    if (p && (dur >= res || s.startNs - p.endNs >= res)) {
      flush(p, out);
      p = null;
    }
    if (dur >= res) {
      out.push(wholeItem(s));
      continue;
    }
    if (!p) p = { startNs: s.startNs, endNs: s.endNs, byState: new Map(), first: s, count: 0 };
    p.count++;
    if (s.endNs > p.endNs) p.endNs = s.endNs;
    if (dur > 0n) p.byState.set(s.state, (p.byState.get(s.state) ?? 0n) + dur);
    if (p.endNs - p.startNs >= res) {
      flush(p, out);
      p = null;
    }
  }
  if (p) flush(p, out);
  return out;
}

/** One weighted stack for a flame graph: frame names root → leaf. */
export interface WeightedStack {
  readonly frames: readonly string[];
  /** Samples (cpu) or ns (off-CPU, wakers). */
  readonly value: number;
  /** How many samples or segments this stack stands for. */
  readonly samples: number;
}

interface MutableNode {
  name: string;
  value: number;
  samples: number;
  children: Map<string, MutableNode>;
}

function freeze(n: MutableNode): FlameNodeDto {
  return {
    name: n.name,
    value: n.value,
    samples: n.samples,
    children: [...n.children.values()]
      .sort((a, b) => compareCodePoints(a.name, b.name))
      .map((c) => freeze(c)),
  };
}

/**
 * Flame tree `{name, value, samples, children}` with root `all`: each node's value and samples
 * are the sums over the stacks passing through it (a parent may exceed the sum of its
 * children by the stacks that end there). Children are sorted by name.
 */
export function buildFlameTree(stacks: Iterable<WeightedStack>, rootName = 'all'): FlameNodeDto {
  const root: MutableNode = { name: rootName, value: 0, samples: 0, children: new Map() };
  for (const s of stacks) {
    if (s.value <= 0 && s.samples <= 0) continue;
    root.value += s.value;
    root.samples += s.samples;
    let at = root;
    for (const f of s.frames) {
      let child = at.children.get(f);
      if (!child) at.children.set(f, (child = { name: f, value: 0, samples: 0, children: new Map() }));
      child.value += s.value;
      child.samples += s.samples;
      at = child;
    }
  }
  return freeze(root);
}

const HEX32 = /^[0-9a-f]{32}$/;
const TRACEPARENT = /\b([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})\b/gi;
/** `trace_id=…`, `traceId":"…"`, `x-datadog-trace-id: …`, `dd.trace_id=…`, `trace-id …`. */
const FIELD =
  /(?:trace[-_.]?id|traceid)["']?\s*[:=]?\s*["']?(?![0-9a-f]{2}-[0-9a-f]{32}-)([0-9a-f]{32}|[0-9a-f]{16}|\d{1,20})(?![0-9a-z])/gi;
const BARE_HEX = /(?<![0-9a-z])([0-9a-f]{32})(?![0-9a-z])/gi;
const URL_RE = /\bhttps?:\/\/[^\s"'<>]+/gi;
const U64_MAX = (1n << 64n) - 1n;

/** A Datadog decimal (unsigned 64-bit) trace id as the low 16 hex of a 32-hex trace id. */
export function decimalTraceIdToHex(decimal: string): string | null {
  if (!/^\d{1,20}$/.test(decimal)) return null;
  const v = BigInt(decimal);
  if (v === 0n || v > U64_MAX) return null;
  return v.toString(16).padStart(32, '0');
}

function valid(id: string): boolean {
  return HEX32.test(id) && !/^0+$/.test(id);
}

/**
 * Trace ids in pasted text (log lines, headers, JSON, URLs), in order of appearance, each
 * once: W3C `traceparent` values, `trace_id=`/`traceId":"` fields (32 hex; 16 hex padded;
 * decimal as Datadog's 64-bit ids), and bare 32-hex ids (`url` when inside a URL).
 */
export function extractTraceIds(text: string): FoundTraceId[] {
  const hits: { at: number; end: number; found: FoundTraceId }[] = [];
  const covered: [number, number][] = [];
  const overlaps = (a: number, b: number) => covered.some(([x, y]) => a < y && b > x);
  const urls: [number, number][] = [];
  for (const m of text.matchAll(URL_RE)) urls.push([m.index, m.index + m[0].length]);
  const inUrl = (a: number) => urls.some(([x, y]) => a >= x && a < y);

  for (const m of text.matchAll(TRACEPARENT)) {
    const id = (m[2] ?? '').toLowerCase();
    if (m[1]?.toLowerCase() === 'ff' || !valid(id)) continue;
    hits.push({
      at: m.index,
      end: m.index + m[0].length,
      found: { traceId: id, from: 'traceparent', text: m[0] },
    });
    covered.push([m.index, m.index + m[0].length]);
  }
  for (const m of text.matchAll(FIELD)) {
    const value = m[1] ?? '';
    const at = m.index + m[0].length - value.length;
    if (overlaps(at, at + value.length)) continue;
    let id: string | null;
    let from: TraceIdForm;
    if (/^\d+$/.test(value) && value.length !== 32) {
      id = decimalTraceIdToHex(value);
      from = 'decimal';
    } else {
      id = value.toLowerCase().padStart(32, '0');
      from = 'field';
    }
    if (id === null || !valid(id)) continue;
    hits.push({ at, end: at + value.length, found: { traceId: id, from, text: m[0] } });
    covered.push([at, at + value.length]);
  }
  for (const m of text.matchAll(BARE_HEX)) {
    const value = m[1] ?? '';
    if (overlaps(m.index, m.index + value.length)) continue;
    const id = value.toLowerCase();
    if (!valid(id)) continue;
    hits.push({
      at: m.index,
      end: m.index + value.length,
      found: { traceId: id, from: inUrl(m.index) ? 'url' : 'hex', text: value },
    });
  }
  hits.sort((a, b) => a.at - b.at);
  const seen = new Set<string>();
  const out: FoundTraceId[] = [];
  for (const h of hits) {
    if (seen.has(h.found.traceId)) continue;
    seen.add(h.found.traceId);
    out.push(h.found);
  }
  return out;
}

/** The replay window of a request: [start, end) padded by `pct` % of its duration on each side (≥ 1 ns). */
export function paddedWindow(startNs: bigint, endNs: bigint, pct = 5n): { fromNs: bigint; toNs: bigint } {
  const end = endNs > startNs ? endNs : startNs + 1n;
  const pad = ((end - startNs) * pct) / 100n;
  return { fromNs: startNs - pad, toNs: end + pad };
}

/** Default resolution: the window over `pixels` (at least 1 ns per pixel). */
export function defaultResolution(fromNs: bigint, toNs: bigint, pixels = 1000n): bigint {
  const r = (toNs - fromNs) / pixels;
  return r > 0n ? r : 1n;
}

/**
 * The on-CPU sampling period from perf's recorded command line: `-F N` / `freq=N` → 1 s / N,
 * `-c N` on cpu-clock (period in ns). Null when the command line does not say.
 */
export function samplingPeriodNs(cmdline: string | undefined | null): bigint | null {
  if (!cmdline) return null;
  const freq = /(?:freq=|-F\s+|--freq[= ])(\d+)/.exec(cmdline)?.[1];
  if (freq && Number(freq) > 0) return 1_000_000_000n / BigInt(freq);
  const count = /cpu-clock\S*\b.*?(?:-c\s+|period=)(\d+)/.exec(cmdline)?.[1];
  if (count && Number(count) > 1) return BigInt(count);
  return null;
}

/**
 * Whether an interval is too short for its samples to say much: shorter than two sampling
 * periods, or (period unknown) fewer than two samples.
 */
export function isShort(durationNs: bigint, periodNs: bigint | null, samples: number): boolean {
  return periodNs === null ? samples < 2 : durationNs < 2n * periodNs;
}
