import type { FoldGroupBy, PerfRecord } from '@threadreel/model';

/**
 * Folded stacks in Brendan Gregg's format (`proc;root;…;leaf count`), computed only from
 * what the store keeps per sample: comm, pid, tid, event, frames as (symbol, dso), count.
 *
 * Rules (re-derived from the output of FlameGraph's stackcollapse-perf.pl):
 * - the first frame names the process: `comm` (groupBy none), `comm-pid` (pid) or
 *   `comm-pid/tid` (tid); `?` stands for a pid perf did not print; spaces become `_`;
 * - frames follow root → leaf; a `+0x…` offset is dropped; a frame whose symbol starts with
 *   `(` is dropped; `a->b` (inlined chain) becomes `a;b_[i]`;
 * - `[unknown]` becomes `[<basename of the dso>]` when the dso is known, else stays `[unknown]`;
 * - names are tidied: `;` → `:`, everything from the first `(` is cut (unless the name looks
 *   like a Go method `pkg.(*T).M`, and keeping `(anonymous namespace)`), quotes are removed;
 * - when the process frame is exactly `java`, a leading `L` is removed from names with a `/`;
 * - annotations: `_[k]` for kernel dsos (`[…]` or `…vmlinux`, not `…unknown…`), `_[j]` for
 *   JIT dsos (`/tmp/perf-<pid>.map`, `[JIT] tid <n>`);
 * - only samples of one event are folded: `opts.event`, else the first event seen;
 * - identical lines are summed; output is sorted by code point.
 */

/** One frame as stored: symbol (offset may or may not be stripped) and dso. */
export interface FoldFrame {
  readonly symbol: string;
  readonly dso: string;
}

export interface FoldSample {
  readonly comm: string;
  /** null when perf printed only the tid (folded as `?`). */
  readonly pid: number | null;
  readonly tid: number;
  readonly event: string;
  /** Leaf first, as perf prints them. */
  readonly frames: readonly FoldFrame[];
  /** Weight: the sample period when printed, else 1. */
  readonly count: number;
}

export interface FoldOptions {
  /** `tid` → `comm-pid/tid`, `pid` → `comm-pid`, `none` → `comm` as the first frame. */
  readonly groupBy: FoldGroupBy;
  /** Suffix kernel frames with `_[k]`. */
  readonly annotateKernel: boolean;
  /** Suffix JIT frames with `_[j]`. */
  readonly annotateJit: boolean;
  /** Only fold samples of this event; default: the event of the first sample seen. */
  readonly event?: string;
}

export type FrameKind = 'kernel' | 'jit' | 'user';

const UNKNOWN = '[unknown]';
const PERF_MAP = /\/tmp\/perf-\d+\.map/;
const JIT_TID = /^\[JIT\] tid \d+$/;
const GO_METHOD = /\.\(.*\)\./;
const ARGS = /\((?!anonymous namespace\)).*/;
const QUOTES = /["']/g;
const OFFSET = /\+0x[0-9a-f]+$/;

/**
 * Kind of code a frame runs, from its dso alone (addresses do not tell: old kernels print
 * kernel addresses as `7fff…`). JIT: a perf map (`/tmp/perf-PID.map`) or perf's `[JIT] tid N`.
 * Kernel: a bracketed dso (`[kernel.kallsyms]`, `[nf_conntrack_ipv4]`, `[vdso]`) or a path
 * ending in `vmlinux`, unless it mentions `unknown`.
 */
export function classifyFrame(dso: string): FrameKind {
  if (JIT_TID.test(dso)) return 'jit';
  if ((dso.startsWith('[') || dso.endsWith('vmlinux')) && !dso.includes('unknown')) return 'kernel';
  if (PERF_MAP.test(dso)) return 'jit';
  return 'user';
}

export interface DisplayNameOptions {
  /** Java tidy: strip a leading `L` from names containing `/` (`Lio/netty/…` → `io/netty/…`). */
  readonly tidyJava?: boolean;
}

/** Display name of one function name (one element of an inlined `a->b` chain), without annotation. */
function tidyName(name: string, dso: string, tidyJava: boolean): string {
  if (name === UNKNOWN) {
    name = dso === UNKNOWN ? UNKNOWN : `[${dso.slice(dso.lastIndexOf('/') + 1)}]`;
  }
  if (name.includes(';')) name = name.replaceAll(';', ':');
  if (name.includes('(') && !GO_METHOD.test(name)) name = name.replace(ARGS, '');
  if (name.includes('"') || name.includes("'")) name = name.replace(QUOTES, '');
  if (tidyJava && name.charCodeAt(0) === 76 /* L */ && name.includes('/')) name = name.slice(1);
  return name;
}

/**
 * Display name of a frame as a flame graph shows it: offset stripped, `[unknown]` replaced by
 * the dso's base name in brackets when the dso is known, arguments and quotes removed, `;`
 * (the folded separator) replaced by `:`. Returns null for frames the fold drops (symbol
 * starting with `(`). An inlined chain `a->b` is returned joined with `;` (`a;b`).
 */
export function frameDisplayName(symbol: string, dso: string, opts: DisplayNameOptions = {}): string | null {
  const names = expandFrame(symbol, dso, {
    annotateKernel: false,
    annotateJit: false,
    tidyJava: opts.tidyJava,
  });
  return names.length === 0 ? null : names.join(';');
}

export interface ExpandOptions extends DisplayNameOptions {
  readonly annotateKernel: boolean;
  readonly annotateJit: boolean;
}

/**
 * The folded names one stored frame contributes, root → leaf: none when the frame is dropped,
 * several for an inlined chain `a->b->c` (`a`, `b_[i]`, `c_[i]`), each annotated per options.
 */
export function expandFrame(symbol: string, dso: string, opts: ExpandOptions): string[] {
  const raw = symbol.replace(OFFSET, '');
  if (raw.charCodeAt(0) === 40 /* ( */) return [];
  const tidyJava = opts.tidyJava ?? false;
  const kind = classifyFrame(dso);
  const suffix =
    opts.annotateKernel && kind === 'kernel' ? '_[k]' : opts.annotateJit && kind === 'jit' ? '_[j]' : '';
  const parts = raw.includes('->') ? raw.split('->') : [raw];
  const out: string[] = [];
  for (let i = 0; i < parts.length; i++) {
    const name = tidyName(parts[i] ?? '', dso, tidyJava);
    if (i > 0) out.push(name.includes('_[i]') ? name : `${name}_[i]`);
    else if (suffix === '_[j]' && name.includes('_[j]')) out.push(name);
    else out.push(name + suffix);
  }
  return out;
}

/** The first frame of a folded line: the process (and pid/tid) the sample belongs to. */
export function processFrameName(
  comm: string,
  pid: number | null,
  tid: number,
  groupBy: FoldGroupBy,
): string {
  let name: string;
  switch (groupBy) {
    case 'tid':
      name = `${comm}-${pid ?? '?'}/${tid}`;
      break;
    case 'pid':
      name = `${comm}-${pid ?? '?'}`;
      break;
    case 'none':
      name = comm;
      break;
  }
  return name.includes(' ') ? name.replaceAll(' ', '_') : name;
}

/**
 * Folds samples into `folded line (without count) → summed count`. Only samples of one event
 * are kept (`opts.event`, default the first sample's event), so iterate samples in source
 * order (or pass the event) to match stackcollapse-perf.pl.
 */
export function foldStacks(samples: Iterable<FoldSample>, opts: FoldOptions): Map<string, number> {
  const folded = new Map<string, number>();
  // Display names are pure functions of (symbol, dso, java tidy): cache them per fold.
  const cache = [new Map<string, string[]>(), new Map<string, string[]>()] as const;
  const expandOpts = [
    { annotateKernel: opts.annotateKernel, annotateJit: opts.annotateJit, tidyJava: false },
    { annotateKernel: opts.annotateKernel, annotateJit: opts.annotateJit, tidyJava: true },
  ] as const;
  let event = opts.event;
  for (const s of samples) {
    if (event === undefined) event = s.event;
    else if (s.event !== event) continue;
    const proc = processFrameName(s.comm, s.pid, s.tid, opts.groupBy);
    const java = proc === 'java' ? 1 : 0;
    const names = cache[java];
    let line = proc;
    for (let i = s.frames.length - 1; i >= 0; i--) {
      const f = s.frames[i];
      if (f === undefined) continue;
      const key = `${f.symbol}\u0000${f.dso}`;
      let parts = names.get(key);
      if (parts === undefined) {
        parts = expandFrame(f.symbol, f.dso, expandOpts[java]);
        names.set(key, parts);
      }
      for (const p of parts) line += `;${p}`;
    }
    folded.set(line, (folded.get(line) ?? 0) + s.count);
  }
  return folded;
}

/** Maps a UTF-16 code unit so that comparing mapped units orders strings by code point. */
function codePointRank(u: number): number {
  return u >= 0xd800 && u <= 0xdfff ? u + 0x2000 : u >= 0xe000 ? u - 0x800 : u;
}

/** Code point (= UTF-8 byte) order, as Perl's `sort` without locale. */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codePointRank(x) - codePointRank(y);
  }
  return a.length - b.length;
}

/** Renders folded stacks as sorted `a;b;c N\n` lines (empty string when there is none). */
export function formatFolded(folded: ReadonlyMap<string, number>): string {
  const keys = [...folded.keys()].sort(compareCodePoints);
  let out = '';
  for (const k of keys) out += `${k} ${folded.get(k) ?? 0}\n`;
  return out;
}

/**
 * A fold sample from a parsed record: weight = the printed period, or 1 when perf printed
 * none (or 0), as stackcollapse-perf.pl does.
 */
export function foldSampleFromRecord(record: PerfRecord): FoldSample {
  const period = record.period;
  return {
    comm: record.comm,
    pid: record.pid,
    tid: record.tid,
    event: record.event,
    frames: record.frames,
    count: period !== null && period > 0n ? Number(period) : 1,
  };
}
