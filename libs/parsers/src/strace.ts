import {
  type Nanos,
  type ParseIssue,
  type StraceExit,
  type StraceIncomplete,
  type StraceItem,
  type StraceSignal,
  type StraceSyscall,
} from '@threadreel/model';
import { classify } from './strace-classify.js';
import {
  isBad,
  parsePrefix,
  parseResult,
  splitDuration,
  type Bad,
  type Cursor,
  type Duration,
  type Result,
  type Stamp,
} from './strace-fields.js';
import {
  GT,
  LPAREN,
  SPACE,
  TAB,
  allDigits,
  endsWithIn,
  findArgsClose,
  findSplice,
  firstFd,
  isNameChar,
  isNoise,
  isTrimWs,
  isWs,
  splitArgs,
  trimmedSlice,
} from './strace-scan.js';

export { parseStraceFd, splitStraceArgs } from './strace-scan.js';

/**
 * strace text parser (`strace -f [-t|-tt|-ttt] [-T] [-y|-yy] [-o file]`).
 *
 * Line grammar: `[prefix] [timestamp] body [<duration>]` where
 *   prefix    = `[pid N]` (stderr) | `N ` (`-o` with `-f`) | nothing (one process, `-ff`);
 *   timestamp = `HH:MM:SS[.frac]` (`-t`/`-tt`, time of day) | `sec.frac` (`-ttt`, epoch);
 *   body      = `name(args) = ret [ERRNO (text)] [(detail)]` | `name(args <unfinished ...>`
 *             | `<... name resumed>args) = ret…` | `--- SIG… ---` | `+++ … +++`.
 * Split calls are merged per `<tid, name>` and emitted when their second half arrives, so
 * events come out in exit order for split calls: sort by `startNs` downstream.
 * Arguments are scanned by hand, quote- and bracket-aware (strings may hold `)`, `,`, `=`).
 * Nothing throws: a line that cannot be understood becomes a {@link ParseIssue}.
 */

const UNFINISHED = '<unfinished ...>';
const DETACHED = '<detached ...>';
const NS_PER_DAY = 86_400_000_000_000n;

/** A call's first half, waiting for its `<... name resumed>`. */
interface Pending {
  readonly line: number;
  readonly stamp: Stamp;
  readonly name: string;
  args: string;
}

function joinArgs(a: string, b: string): string {
  if (a.length === 0) return b;
  if (b.length === 0) return a;
  return a.endsWith(',') ? `${a} ${b}` : `${a}${b}`;
}

function issue(line: number, reason: string, field?: string): ParseIssue {
  return field === undefined ? { kind: 'issue', line, reason } : { kind: 'issue', line, field, reason };
}

function issueOf(line: number, b: Bad): ParseIssue {
  return issue(line, b.reason, b.field);
}

/**
 * The first two arguments of a futex call when nothing before the second comma (or the end)
 * is quoted, bracketed or decorated: then they are what `splitArgs(args, 2)` gives, trimmed.
 */
const FUTEX_ARGS = /([^"<()[\]{},]*),([^"<()[\]{},]*)(?:,|$)/y;

function makeSyscall(
  line: number,
  resumedLine: number | null,
  stamp: Stamp,
  durationNs: Nanos | null,
  name: string,
  args: string,
  result: Result | null,
  unfinished: StraceIncomplete | null,
): StraceSyscall {
  const ret = result === null ? null : result.ret;
  const fd = firstFd(args, ret);
  let futexOp: string | null = null;
  let futexAddr: string | null = null;
  if (name.startsWith('futex')) {
    const m = ((FUTEX_ARGS.lastIndex = 0), FUTEX_ARGS.exec(args));
    if (m !== null) {
      futexAddr = (m[1] as string).trim();
      futexOp = (m[2] as string).trim();
    } else {
      const parts = splitArgs(args, 2);
      futexAddr = parts[0] ?? null;
      futexOp = parts[1] ?? null;
    }
  }
  const ev: StraceSyscall = {
    kind: 'syscall',
    line,
    resumedLine,
    tid: stamp.tid,
    startNs: stamp.startNs,
    timeOfDayNs: stamp.timeOfDayNs,
    durationNs,
    name,
    args,
    ret,
    errno: result === null ? null : result.errno,
    errnoText: result === null ? null : result.errnoText,
    retDetail: result === null ? null : result.retDetail,
    category: classify(name, fd, args),
    fd,
    futexOp,
    futexAddr,
  };
  return unfinished === null ? ev : { ...ev, unfinished };
}

/** Duration from the two halves' timestamps when `-T` was not printed. */
function elapsed(a: Stamp, b: Stamp): Nanos | null {
  if (a.startNs !== null && b.startNs !== null && b.startNs >= a.startNs) return b.startNs - a.startNs;
  if (a.timeOfDayNs !== null && b.timeOfDayNs !== null) {
    const d = b.timeOfDayNs - a.timeOfDayNs;
    return d >= 0n ? d : d + NS_PER_DAY; // wrapped past midnight
  }
  return null;
}

type Marker = 'unfinished' | 'detached' | null;

/** Argument text with a trailing `<unfinished ...>` / `<detached ...>` marker stripped. */
interface Marked {
  args: string;
  marker: Marker;
}

/** Strips a trailing marker from the argument text `s.slice(start, end)`, into `out`. */
function stripMarker(s: string, start: number, end: number, out: Marked): Marked {
  let t = end;
  while (t > start && isTrimWs(s.charCodeAt(t - 1))) t--;
  if (t === start || s.charCodeAt(t - 1) !== GT) {
    // Both markers end with `>`.
    out.args = trimmedSlice(s, start, t);
    out.marker = null;
  } else if (endsWithIn(s, UNFINISHED, start, t)) {
    out.args = trimmedSlice(s, start, t - UNFINISHED.length);
    out.marker = 'unfinished';
  } else if (endsWithIn(s, DETACHED, start, t)) {
    out.args = trimmedSlice(s, start, t - DETACHED.length);
    out.marker = 'detached';
  } else {
    out.args = trimmedSlice(s, start, t);
    out.marker = null;
  }
  return out;
}

/** Per-line parser state: split calls waiting for their second half, per tid. */
class StraceState {
  private readonly pending = new Map<number | null, Map<string, Pending>>();

  open(p: Pending): Pending | null {
    let m = this.pending.get(p.stamp.tid);
    if (m === undefined) {
      m = new Map();
      this.pending.set(p.stamp.tid, m);
    }
    const prev = m.get(p.name) ?? null;
    m.set(p.name, p);
    return prev;
  }

  /**
   * Removes the call `name` waiting on `tid`. Falls back to one opened without a pid prefix:
   * strace adds `[pid N]` only once a second process is traced, so a call may open bare and
   * resume prefixed.
   */
  take(tid: number | null, name: string): Pending | null {
    return this.takeFrom(tid, name) ?? (tid === null ? null : this.takeFrom(null, name));
  }

  private takeFrom(tid: number | null, name: string): Pending | null {
    const m = this.pending.get(tid);
    const p = m?.get(name);
    if (m === undefined || p === undefined) return null;
    m.delete(name);
    return p;
  }

  /**
   * A non-leader thread `from` ran execve and took over the leader's id `to`: its pending
   * execve resumes under `to` (`+++ superseded by execve in pid N +++`).
   */
  rekeyExecve(from: number, to: number): void {
    const p = this.take(from, 'execve');
    if (p !== null) this.open({ ...p, stamp: { ...p.stamp, tid: to } });
  }

  /** Removes and returns every pending call of `tid` (all tids when undefined). */
  drain(tid?: number | null): Pending[] {
    const out: Pending[] = [];
    for (const [t, m] of this.pending) {
      if (tid !== undefined && t !== tid) continue;
      out.push(...m.values());
      m.clear();
    }
    return out.sort((a, b) => a.line - b.line);
  }
}

/** Per-line scratch space, reused so that parsing a line allocates only what it emits. */
class Scratch {
  readonly at: Cursor = { pos: 0 };
  readonly dur: Duration = { end: 0, durationNs: null };
  readonly marked: Marked = { args: '', marker: null };
}

function neverResumed(p: Pending, how: StraceIncomplete): StraceSyscall {
  return makeSyscall(p.line, null, p.stamp, null, p.name, p.args, null, how);
}

function parseSignal(
  s: string,
  i: number,
  end: number,
  line: number,
  stamp: Stamp,
): StraceSignal | ParseIssue {
  // `--- SIGCHLD {…} ---` | `--- stopped by SIGSTOP ---`
  let e = end;
  if (!s.endsWith(' ---', e) && !s.endsWith('---', e))
    return issue(line, "signal line without closing '---'", 'signal');
  e -= 3;
  const body = s.slice(i + 4, e).trim();
  if (body.startsWith('stopped by ')) {
    const sig = body.slice(11).trim();
    if (sig.length === 0) return issue(line, 'missing signal name', 'signal');
    return { kind: 'signal', line, ...stamp, signal: sig, info: '', stopped: true };
  }
  const sp = body.indexOf(' ');
  const sig = sp < 0 ? body : body.slice(0, sp);
  if (!sig.startsWith('SIG') && !allDigits(sig, 0, sig.length))
    return issue(line, `unrecognised signal '${sig.slice(0, 40)}'`, 'signal');
  return {
    kind: 'signal',
    line,
    ...stamp,
    signal: sig,
    info: sp < 0 ? '' : body.slice(sp + 1).trim(),
    stopped: false,
  };
}

function parseExit(s: string, i: number, end: number, line: number, stamp: Stamp): StraceExit | ParseIssue {
  if (!s.endsWith('+++', end)) return issue(line, "exit line without closing '+++'", 'exit');
  const body = s.slice(i + 4, end - 3).trim();
  const base = {
    kind: 'exit' as const,
    line,
    ...stamp,
    code: null,
    signal: null,
    coreDumped: false,
    supersededBy: null,
  };
  if (body.startsWith('exited with ')) {
    const t = body.slice(12).trim();
    if (!allDigits(t, 0, t.length) || t.length > 10) return issue(line, `bad exit status '${t}'`, 'exit');
    return { ...base, how: 'exited', code: Number(t) };
  }
  if (body.startsWith('killed by ')) {
    let t = body.slice(10).trim();
    const core = t.endsWith('(core dumped)');
    if (core) t = t.slice(0, -13).trim();
    if (t.length === 0 || t.includes(' '))
      return issue(line, `bad killing signal '${t.slice(0, 40)}'`, 'exit');
    return { ...base, how: 'killed', signal: t, coreDumped: core };
  }
  if (body.startsWith('superseded by execve in pid ')) {
    const t = body.slice(28).trim();
    if (!allDigits(t, 0, t.length) || t.length > 10) return issue(line, `bad pid '${t}'`, 'exit');
    return { ...base, how: 'superseded', supersededBy: Number(t) };
  }
  return issue(line, `unrecognised exit line '${body.slice(0, 60)}'`, 'exit');
}

/** Parses one logical line (already joined with any continuation), updating `state`; items go to `out`. */
function parseLine(text: string, line: number, state: StraceState, sc: Scratch, out: StraceItem[]): void {
  let end = text.length;
  while (end > 0 && isWs(text.charCodeAt(end - 1))) end--;
  const stamp = parsePrefix(text, end, sc.at);
  if (isBad(stamp)) {
    out.push(issueOf(line, stamp));
    return;
  }
  const i = sc.at.pos;
  if (i >= end) {
    out.push(issue(line, 'no syscall after the prefix', 'name'));
    return;
  }
  const c = text.charCodeAt(i);
  if (c === 45 /* - */ && text.startsWith('---', i)) {
    out.push(parseSignal(text, i, end, line, stamp));
    return;
  }
  if (c === 43 /* + */ && text.startsWith('+++ ', i)) {
    const ex = parseExit(text, i, end, line, stamp);
    if (ex.kind === 'exit') {
      for (const p of state.drain(stamp.tid)) out.push(neverResumed(p, 'never-resumed'));
      if (ex.supersededBy !== null && stamp.tid !== null) state.rekeyExecve(ex.supersededBy, stamp.tid);
    }
    out.push(ex);
    return;
  }
  // Status lines start with `strace: `, `Process `, `[ Process ` or `^C`.
  if (mayBeNoise(c) && isNoise(text, i, end)) return;

  const dur = sc.dur;
  const durBad = splitDuration(text, end, dur);
  if (durBad !== null) {
    out.push(issueOf(line, durBad));
    return;
  }
  end = dur.end;
  while (end > i && isWs(text.charCodeAt(end - 1))) end--;

  if (c === 60 /* < */ && text.startsWith('<... ', i)) {
    // `<... name resumed>rest) = ret`
    let j = i + 5;
    const ns = j;
    while (j < end && isNameChar(text.charCodeAt(j))) j++;
    const name = text.slice(ns, j);
    if (name.length === 0 || !text.startsWith(' resumed>', j)) {
      out.push(issue(line, "malformed '<... name resumed>'", 'name'));
      return;
    }
    const as = j + 9;
    const close = findArgsClose(text, as, end);
    const first = state.take(stamp.tid, name);
    if (close < 0) {
      const m = stripMarker(text, as, end, sc.marked);
      if (m.marker === null) {
        if (first !== null) state.open(first);
        out.push(issue(line, "argument list not closed by ')'", 'args'));
        return;
      }
      const base: Pending = first ?? { line, stamp, name, args: '' };
      base.args = joinArgs(base.args, m.args);
      if (m.marker === 'unfinished') state.open(base);
      else out.push(neverResumed(base, 'detached'));
      return;
    }
    const r = parseResult(text, close + 1, end);
    if (isBad(r)) {
      if (first !== null) state.open(first);
      out.push(issueOf(line, r));
      return;
    }
    const m = stripMarker(text, as, close, sc.marked);
    const incomplete: StraceIncomplete | null =
      m.marker !== null ? 'never-resumed' : first === null ? 'resumed-only' : null;
    out.push(
      makeSyscall(
        first?.line ?? line,
        line,
        // A call opened before strace printed pid prefixes takes the tid of its resumed half.
        first === null ? stamp : first.stamp.tid !== null ? first.stamp : { ...first.stamp, tid: stamp.tid },
        dur.durationNs ?? (first !== null ? elapsed(first.stamp, stamp) : null),
        name,
        joinArgs(first?.args ?? '', m.args),
        r,
        incomplete,
      ),
    );
    return;
  }

  // `name(args…`
  let j = i;
  while (j < end && isNameChar(text.charCodeAt(j))) j++;
  if (j === i || j >= end || text.charCodeAt(j) !== LPAREN) {
    out.push(issue(line, `unrecognised line '${text.slice(i, Math.min(end, i + 60))}'`, 'name'));
    return;
  }
  const name = text.slice(i, j);
  const close = findArgsClose(text, j + 1, end);
  if (close < 0) {
    const m = stripMarker(text, j + 1, end, sc.marked);
    if (m.marker === null) {
      out.push(issue(line, "argument list not closed by ')'", 'args'));
      return;
    }
    const p: Pending = { line, stamp, name, args: m.args };
    if (m.marker === 'detached') {
      out.push(neverResumed(p, 'detached'));
      return;
    }
    const prev = state.open(p);
    if (prev !== null) out.push(neverResumed(prev, 'never-resumed'));
    return;
  }
  const durationNs = dur.durationNs;
  const r = parseResult(text, close + 1, end);
  if (isBad(r)) {
    out.push(issueOf(line, r));
    return;
  }
  const m = stripMarker(text, j + 1, close, sc.marked);
  out.push(
    makeSyscall(line, null, stamp, durationNs, name, m.args, r, m.marker === null ? null : 'never-resumed'),
  );
}

/** Whether a status line can start with `c`: `strace: `, `Process `, `[ Process ` or `^C`. */
function mayBeNoise(c: number): boolean {
  return c === 115 || c === 80 || c === 91 || c === 94;
}

/** Whether a line is empty or whitespace only (`line.trim().length === 0`). */
function isBlank(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (!isTrimWs(s.charCodeAt(i))) return false;
  return true;
}

/** Index of the first character `String.prototype.trimStart` keeps. */
function trimStartIndex(s: string): number {
  let i = 0;
  while (i < s.length && isTrimWs(s.charCodeAt(i))) i++;
  return i;
}

/**
 * Parses strace output lines into syscalls (split halves merged), signals and exits.
 * Lines may come one by one or in batches (as from `readLineBatches`, one asynchronous step
 * per batch). Unparsable lines become {@link ParseIssue}s; status lines
 * (`strace: Process N attached`, `Process N detached`) are skipped, also when strace spliced
 * them into a syscall line. Calls still open at a thread's `+++` line or at the end of input
 * are emitted with `unfinished: 'never-resumed'`.
 */
export async function* parseStrace(
  lines: AsyncIterable<string | readonly string[]>,
  options: StraceOptions = {},
): AsyncGenerator<StraceItem> {
  // Not `yield* batch`: over an array that awaits once more per item.
  for await (const batch of parseStraceBatches(lines, options)) for (const item of batch) yield item;
}

export interface StraceOptions {
  /** Line number of the first line read (default 1): a byte range of a file starts further on. */
  readonly firstLine?: number;
}

/**
 * {@link parseStrace} in batches: the items of each input batch at once (one asynchronous
 * step per batch), in order, never empty.
 */
export async function* parseStraceBatches(
  lines: AsyncIterable<string | readonly string[]>,
  options: StraceOptions = {},
): AsyncGenerator<StraceItem[]> {
  const state = new StraceState();
  const sc = new Scratch();
  let out: StraceItem[] = [];
  let lineNo = options.firstLine === undefined ? 0 : options.firstLine - 1;
  /** Head of a line cut by a spliced status message, waiting for its ` <unfinished ...>` tail. */
  let heldText: string | null = null;
  let heldLine = 0;
  for await (const chunk of lines) {
    const batch = typeof chunk === 'string' ? [chunk] : chunk;
    for (let k = 0; k < batch.length; k++) {
      const raw = batch[k] as string;
      lineNo++;
      const c0 = raw.length === 0 ? -1 : raw.charCodeAt(0);
      if (heldText !== null) {
        const h = heldText;
        heldText = null;
        if (c0 === SPACE || c0 === TAB) {
          parseLine(h + raw, heldLine, state, sc, out);
          continue;
        }
        parseLine(h, heldLine, state, sc, out);
      }
      if (c0 === -1) continue;
      // Printable ASCII other than a space: neither blank nor with whitespace to trim.
      const plain = c0 > 32 && c0 < 127;
      if (!plain && isBlank(raw)) continue;
      const from = plain ? 0 : trimStartIndex(raw);
      if (mayBeNoise(raw.charCodeAt(from)) && isNoise(raw, from, raw.length)) continue;
      const cut = findSplice(raw);
      if (cut > 0) {
        heldText = raw.slice(0, cut);
        heldLine = lineNo;
        continue;
      }
      parseLine(raw, lineNo, state, sc, out);
    }
    if (out.length > 0) {
      yield out;
      out = [];
    }
  }
  if (heldText !== null) parseLine(heldText, heldLine, state, sc, out);
  for (const p of state.drain()) out.push(neverResumed(p, 'never-resumed'));
  if (out.length > 0) yield out;
}
