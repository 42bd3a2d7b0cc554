import {
  parseSecondsToNanos,
  type Nanos,
  type ParseIssue,
  type StraceCategory,
  type StraceExit,
  type StraceFd,
  type StraceIncomplete,
  type StraceItem,
  type StraceSignal,
  type StraceSyscall,
} from '@threadreel/model';

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

const SPACE = 32;
const TAB = 9;
const CR = 13;
const QUOTE = 34;
const BACKSLASH = 92;
const LPAREN = 40;
const RPAREN = 41;
const LBRACE = 123;
const RBRACE = 125;
const LBRACKET = 91;
const RBRACKET = 93;
const LT = 60;
const GT = 62;
const MINUS = 45;
const DOT = 46;
const COLON = 58;
const COMMA = 44;

const UNFINISHED = '<unfinished ...>';
const DETACHED = '<detached ...>';
const NS_PER_DAY = 86_400_000_000_000n;

function isWs(c: number): boolean {
  return c === SPACE || c === TAB || c === CR;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function isNameChar(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || isDigit(c) || c === 95;
}

function skipWs(s: string, i: number, end: number): number {
  while (i < end && isWs(s.charCodeAt(i))) i++;
  return i;
}

function allDigits(s: string, start: number, end: number): boolean {
  if (end <= start) return false;
  for (let i = start; i < end; i++) if (!isDigit(s.charCodeAt(i))) return false;
  return true;
}

/** Index just past a quoted string starting at `i` (on the `"`), or `end` when unterminated. */
function skipQuoted(s: string, i: number, end: number): number {
  i++;
  while (i < end) {
    const c = s.charCodeAt(i);
    if (c === BACKSLASH) i += 2;
    else if (c === QUOTE) return i + 1;
    else i++;
  }
  return end;
}

/**
 * Index just past the closing bracket matching the opening one at `i`, quote-aware;
 * -1 when unbalanced. For `<…>` the `->` arrow of connected sockets does not close.
 */
function matchClosing(s: string, i: number, end: number, open: number, close: number): number {
  let depth = 0;
  while (i < end) {
    const c = s.charCodeAt(i);
    if (c === QUOTE) {
      i = skipQuoted(s, i, end);
      continue;
    }
    if (c === open) depth++;
    else if (c === close && !(close === GT && s.charCodeAt(i - 1) === MINUS)) {
      depth--;
      if (depth === 0) return i + 1;
    }
    i++;
  }
  return -1;
}

function matchAngle(s: string, i: number, end: number): number {
  return matchClosing(s, i, end, LT, GT);
}

/** Whether `<` at `i` opens an fd decoration (`21<…>`): after a digit and not a `<<` shift. */
function opensDecoration(s: string, i: number, start: number): boolean {
  return i > start && isDigit(s.charCodeAt(i - 1)) && s.charCodeAt(i + 1) !== LT;
}

/**
 * Index of the `)` closing an argument list that starts at `i`, or -1 when the list does not
 * close on this line. Brackets, quotes and fd decorations are skipped as units.
 */
function findArgsClose(s: string, i: number, end: number): number {
  const start = i;
  let depth = 0;
  while (i < end) {
    const c = s.charCodeAt(i);
    if (c === QUOTE) {
      i = skipQuoted(s, i, end);
      continue;
    }
    if (c === LT && opensDecoration(s, i, start)) {
      const j = matchAngle(s, i, end);
      if (j < 0) return -1;
      i = j;
      continue;
    }
    if (c === LPAREN || c === LBRACE || c === LBRACKET) depth++;
    else if (c === RBRACE || c === RBRACKET) depth = depth > 0 ? depth - 1 : 0;
    else if (c === RPAREN) {
      if (depth === 0) return i;
      depth--;
    }
    i++;
  }
  return -1;
}

/** Top-level comma-separated arguments, trimmed. */
export function splitStraceArgs(args: string): string[] {
  const out: string[] = [];
  const end = args.length;
  let depth = 0;
  let from = 0;
  let i = 0;
  while (i < end) {
    const c = args.charCodeAt(i);
    if (c === QUOTE) {
      i = skipQuoted(args, i, end);
      continue;
    }
    if (c === LT && opensDecoration(args, i, 0)) {
      const j = matchAngle(args, i, end);
      if (j < 0) break;
      i = j;
      continue;
    }
    if (c === LPAREN || c === LBRACE || c === LBRACKET) depth++;
    else if (c === RPAREN || c === RBRACE || c === RBRACKET) depth = depth > 0 ? depth - 1 : 0;
    else if (c === COMMA && depth === 0) {
      out.push(args.slice(from, i).trim());
      from = i + 1;
    }
    i++;
  }
  const last = args.slice(from).trim();
  if (last.length > 0 || out.length > 0) out.push(last);
  return out;
}

/** Parses `N<decoration>[(deleted)]`; null when `text` is not a decorated fd. */
export function parseStraceFd(text: string): StraceFd | null {
  const end = text.length;
  let i = 0;
  while (i < end && isDigit(text.charCodeAt(i))) i++;
  if (i === 0 || i > 10 || i >= end || text.charCodeAt(i) !== LT) return null;
  const close = matchAngle(text, i, end);
  if (close < 0) return null;
  const num = Number(text.slice(0, i));
  const raw = text.slice(i + 1, close - 1);
  const deleted = text.startsWith('(deleted)', close);
  return describeFd(num, raw, deleted);
}

function describeFd(num: number, raw: string, deleted: boolean): StraceFd {
  const extra = deleted ? { deleted: true } : {};
  if (raw.startsWith('/')) {
    // `-yy` device info is a nested `<char 1:3>` after the path.
    const lt = raw.indexOf('<');
    if (lt > 0 && raw.endsWith('>'))
      return { num, kind: 'file', raw, path: raw.slice(0, lt), device: raw.slice(lt + 1, -1), ...extra };
    return { num, kind: 'file', raw, path: raw, ...extra };
  }
  if (raw.startsWith('pipe:[')) return { num, kind: 'pipe', raw, ...extra };
  const colon = raw.indexOf(':[');
  if (colon > 0 && raw.endsWith(']') && isProtocolName(raw, colon)) {
    const protocol = raw.slice(0, colon);
    const inner = raw.slice(colon + 2, -1);
    const sock: { -readonly [K in keyof StraceFd]: StraceFd[K] } = { num, kind: 'socket', raw, protocol };
    const arrow = inner.indexOf('->');
    if (arrow >= 0) {
      sock.local = inner.slice(0, arrow);
      sock.peer = inner.slice(arrow + 2);
    } else if (protocol.startsWith('UNIX')) {
      // `123456` or `123456,"path"` (bound path).
      const comma = inner.indexOf(',');
      if (comma >= 0) {
        sock.local = inner.slice(0, comma);
        const p = inner.slice(comma + 1);
        sock.path = p.length >= 2 && p.startsWith('"') && p.endsWith('"') ? p.slice(1, -1) : p;
      } else sock.local = inner;
    } else sock.local = inner;
    if (deleted) sock.deleted = true;
    return sock;
  }
  return { num, kind: 'other', raw, ...extra };
}

/** `TCP`, `TCPv6`, `UNIX-STREAM`, `socket`… (letters, digits and `-`). */
function isProtocolName(s: string, end: number): boolean {
  if (end > 24) return false;
  for (let i = 0; i < end; i++) {
    const c = s.charCodeAt(i);
    if (!isNameChar(c) && c !== MINUS) return false;
  }
  return s.startsWith('socket') || (s.charCodeAt(0) >= 65 && s.charCodeAt(0) <= 90);
}

const LOCK = new Set(['futex', 'futex_time64', 'futex_waitv', 'semop', 'semtimedop', 'flock']);
const SLEEP = new Set(['nanosleep', 'clock_nanosleep', 'clock_nanosleep_time64']);
const POLL = new Set([
  'epoll_wait',
  'epoll_pwait',
  'epoll_pwait2',
  'poll',
  'ppoll',
  'ppoll_time64',
  'select',
  '_newselect',
  'pselect6',
  'pselect6_time64',
]);
const NET = new Set([
  'socket',
  'socketpair',
  'connect',
  'accept',
  'accept4',
  'bind',
  'listen',
  'sendto',
  'recvfrom',
  'sendmsg',
  'recvmsg',
  'sendmmsg',
  'recvmmsg',
  'shutdown',
  'getsockname',
  'getpeername',
  'setsockopt',
  'getsockopt',
]);
const FILE = new Set([
  'open',
  'openat',
  'openat2',
  'creat',
  'fsync',
  'fdatasync',
  'sync',
  'syncfs',
  'sync_file_range',
  'stat',
  'lstat',
  'newfstatat',
  'statx',
  'access',
  'faccessat',
  'faccessat2',
  'unlink',
  'unlinkat',
  'rename',
  'renameat',
  'renameat2',
  'mkdir',
  'mkdirat',
  'rmdir',
  'truncate',
  'ftruncate',
  'fallocate',
  'getdents64',
  'readlink',
  'readlinkat',
]);
/** Calls whose class depends on what their fd is. */
const FD_IO = new Set([
  'read',
  'write',
  'pread64',
  'pwrite64',
  'readv',
  'writev',
  'preadv',
  'pwritev',
  'preadv2',
  'pwritev2',
  'sendfile',
  'splice',
  'close',
  'fstat',
  'lseek',
  'fcntl',
]);

function classify(name: string, fd: StraceFd | null, args: string): StraceCategory {
  if (LOCK.has(name)) return 'lock';
  if (name === 'fcntl' && args.includes('F_SETLKW')) return 'lock';
  if (name === 'fcntl' && args.includes('F_OFD_SETLKW')) return 'lock';
  if (SLEEP.has(name)) return 'sleep';
  if (POLL.has(name)) return 'poll';
  if (NET.has(name)) return 'net';
  if (FILE.has(name)) return 'file';
  if (FD_IO.has(name) && fd !== null) {
    if (fd.kind === 'socket') return 'net';
    if (fd.kind === 'file') return 'file';
  }
  return 'other';
}

/** Timestamp fields shared by every event kind. */
interface Stamp {
  readonly tid: number | null;
  readonly startNs: Nanos | null;
  readonly timeOfDayNs: Nanos | null;
}

type Prefix = { readonly ok: true; readonly stamp: Stamp; readonly pos: number } | Bad;
type Bad = { readonly ok: false; readonly field?: string; readonly reason: string };

function bad(reason: string, field?: string): Bad {
  return field === undefined ? { ok: false, reason } : { ok: false, field, reason };
}

/** `HH:MM:SS[.frac]` → ns since midnight, or null. */
function parseTimeOfDay(s: string, start: number, end: number): Nanos | null {
  if (end - start < 8 || s.charCodeAt(start + 2) !== COLON || s.charCodeAt(start + 5) !== COLON) return null;
  if (!allDigits(s, start, start + 2) || !allDigits(s, start + 3, start + 5)) return null;
  if (!allDigits(s, start + 6, start + 8)) return null;
  let frac = 0n;
  if (end > start + 8) {
    if (s.charCodeAt(start + 8) !== DOT || end - start - 9 > 9 || !allDigits(s, start + 9, end)) return null;
    frac = BigInt(s.slice(start + 9, end).padEnd(9, '0'));
  }
  const h = BigInt(s.slice(start, start + 2));
  const m = BigInt(s.slice(start + 3, start + 5));
  const sec = BigInt(s.slice(start + 6, start + 8));
  if (h > 23n || m > 59n || sec > 60n) return null;
  return ((h * 60n + m) * 60n + sec) * 1_000_000_000n + frac;
}

function isEpochToken(s: string, start: number, end: number): boolean {
  let dot = false;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c === DOT) {
      if (dot) return false;
      dot = true;
    } else if (!isDigit(c)) return false;
  }
  return dot && end - start >= 3;
}

/** Parses the pid prefix and timestamp; `pos` is where the body starts. */
function parsePrefix(s: string, end: number): Prefix {
  let i = skipWs(s, 0, end);
  let tid: number | null = null;
  if (s.startsWith('[pid', i)) {
    let j = skipWs(s, i + 4, end);
    const d = j;
    while (j < end && isDigit(s.charCodeAt(j))) j++;
    if (j === d || j - d > 10) return bad('bad [pid N] prefix', 'pid');
    tid = Number(s.slice(d, j));
    if (j < end && s.charCodeAt(j) === LT) {
      // `-Y`: `[pid  123<comm>]`
      const k = s.indexOf('>', j);
      if (k < 0) return bad('bad [pid N<comm>] prefix', 'pid');
      j = k + 1;
    }
    if (j >= end || s.charCodeAt(j) !== RBRACKET) return bad('unterminated [pid N] prefix', 'pid');
    i = skipWs(s, j + 1, end);
  } else {
    let j = i;
    while (j < end && isDigit(s.charCodeAt(j))) j++;
    if (j > i && j < end && (isWs(s.charCodeAt(j)) || s.charCodeAt(j) === LT)) {
      if (j - i > 10) return bad('pid prefix too long', 'pid');
      tid = Number(s.slice(i, j));
      if (s.charCodeAt(j) === LT) {
        const k = s.indexOf('>', j);
        if (k < 0) return bad('bad pid<comm> prefix', 'pid');
        j = k + 1;
      }
      i = skipWs(s, j, end);
    }
  }
  let startNs: Nanos | null = null;
  let timeOfDayNs: Nanos | null = null;
  if (i < end && isDigit(s.charCodeAt(i))) {
    let j = i;
    while (j < end && !isWs(s.charCodeAt(j))) j++;
    if (s.charCodeAt(i + 2) === COLON) {
      timeOfDayNs = parseTimeOfDay(s, i, j);
      if (timeOfDayNs === null) return bad(`unparsable time of day '${s.slice(i, j)}'`, 'time');
    } else if (isEpochToken(s, i, j) || (tid !== null && allDigits(s, i, j))) {
      startNs = parseSecondsToNanos(s.slice(i, j));
      if (startNs === null) return bad(`unparsable timestamp '${s.slice(i, j)}'`, 'time');
    } else return bad(`unrecognised token '${s.slice(i, Math.min(j, i + 40))}'`, 'time');
    i = skipWs(s, j, end);
  }
  return { ok: true, stamp: { tid, startNs, timeOfDayNs }, pos: i };
}

/** The part after an argument list's `)`: ` = ret [ERRNO (text)] [(detail)]`. */
interface Result {
  readonly ret: string;
  readonly errno: string | null;
  readonly errnoText: string | null;
  readonly retDetail: string | null;
}

function isErrnoName(s: string): boolean {
  if (s.length < 2 || s.charCodeAt(0) !== 69 /* E */) return false;
  for (let i = 1; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (!((c >= 65 && c <= 90) || isDigit(c) || c === 95)) return false;
  }
  return true;
}

function parseResult(s: string, i: number, end: number): Result | Bad {
  i = skipWs(s, i, end);
  if (i >= end || s.charCodeAt(i) !== 61 /* = */) return bad("missing '=' after the arguments", 'ret');
  i = skipWs(s, i + 1, end);
  if (i >= end) return bad('missing return value', 'ret');
  const rs = i;
  while (i < end && !isWs(s.charCodeAt(i))) {
    if (s.charCodeAt(i) === LT && opensDecoration(s, i, rs)) {
      const j = matchAngle(s, i, end);
      if (j < 0) return bad('unbalanced <…> in the return value', 'ret');
      i = j;
    } else i++;
  }
  const ret = s.slice(rs, i);
  let errno: string | null = null;
  let errnoText: string | null = null;
  let retDetail: string | null = null;
  i = skipWs(s, i, end);
  if (i < end && s.charCodeAt(i) !== LPAREN) {
    let j = i;
    while (j < end && !isWs(s.charCodeAt(j))) j++;
    const word = s.slice(i, j);
    if (!isErrnoName(word)) return bad(`unexpected '${word.slice(0, 40)}' after the return value`, 'ret');
    errno = word;
    i = skipWs(s, j, end);
  }
  if (i < end && s.charCodeAt(i) === LPAREN) {
    const j = matchClosing(s, i, end, LPAREN, RPAREN);
    if (j < 0) return bad('unbalanced parenthesis after the return value', 'ret');
    const text = s.slice(i + 1, j - 1);
    if (errno !== null) errnoText = text;
    else retDetail = text;
    i = skipWs(s, j, end);
    // e.g. `= 3 (flags O_RDONLY)` after an errno text is not produced, but detail can follow one.
    if (i < end && s.charCodeAt(i) === LPAREN && errno !== null) {
      const k = matchClosing(s, i, end, LPAREN, RPAREN);
      if (k < 0) return bad('unbalanced parenthesis after the return value', 'ret');
      retDetail = s.slice(i + 1, k - 1);
      i = skipWs(s, k, end);
    }
  }
  if (i < end) return bad(`trailing text '${s.slice(i, i + 40)}' after the return value`, 'ret');
  return { ret, errno, errnoText, retDetail };
}

/** A trailing `<0.000021>` / `<unavailable>`: the line end without it and the duration. */
function splitDuration(s: string, end: number): { end: number; durationNs: Nanos | null } | Bad {
  if (end === 0 || s.charCodeAt(end - 1) !== GT) return { end, durationNs: null };
  const lt = s.lastIndexOf('<', end - 1);
  if (lt < 1 || !isWs(s.charCodeAt(lt - 1))) return { end, durationNs: null };
  const inner = s.slice(lt + 1, end - 1);
  if (inner === 'unavailable') return { end: lt, durationNs: null };
  if (!isEpochToken(inner, 0, inner.length) && !allDigits(inner, 0, inner.length))
    return { end, durationNs: null };
  const d = parseSecondsToNanos(inner);
  if (d === null) return bad(`unparsable duration '${inner}'`, 'duration');
  return { end: lt, durationNs: d };
}

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

function firstFd(args: string, ret: string | null): StraceFd | null {
  for (const a of splitStraceArgs(args)) {
    const fd = parseStraceFd(a);
    if (fd !== null) return fd;
  }
  return ret !== null ? parseStraceFd(ret) : null;
}

interface CallParts {
  readonly line: number;
  readonly resumedLine: number | null;
  readonly stamp: Stamp;
  readonly durationNs: Nanos | null;
  readonly name: string;
  readonly args: string;
  readonly result: Result | null;
  readonly unfinished: StraceIncomplete | null;
}

function makeSyscall(p: CallParts): StraceSyscall {
  const args = p.args;
  const ret = p.result?.ret ?? null;
  const fd = firstFd(args, ret);
  let futexOp: string | null = null;
  let futexAddr: string | null = null;
  if (p.name.startsWith('futex')) {
    const parts = splitStraceArgs(args);
    futexAddr = parts[0] ?? null;
    futexOp = parts[1] ?? null;
  }
  const ev: StraceSyscall = {
    kind: 'syscall',
    line: p.line,
    resumedLine: p.resumedLine,
    tid: p.stamp.tid,
    startNs: p.stamp.startNs,
    timeOfDayNs: p.stamp.timeOfDayNs,
    durationNs: p.durationNs,
    name: p.name,
    args,
    ret,
    errno: p.result?.errno ?? null,
    errnoText: p.result?.errnoText ?? null,
    retDetail: p.result?.retDetail ?? null,
    category: classify(p.name, fd, args),
    fd,
    futexOp,
    futexAddr,
  };
  return p.unfinished === null ? ev : { ...ev, unfinished: p.unfinished };
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

/** Strips a trailing `<unfinished ...>` / `<detached ...>` marker from argument text. */
function stripMarker(args: string): { args: string; marker: 'unfinished' | 'detached' | null } {
  const t = args.trimEnd();
  if (t.endsWith(UNFINISHED)) return { args: t.slice(0, -UNFINISHED.length).trim(), marker: 'unfinished' };
  if (t.endsWith(DETACHED)) return { args: t.slice(0, -DETACHED.length).trim(), marker: 'detached' };
  return { args: args.trim(), marker: null };
}

/** Where a strace status message was spliced into a line (`…0xc000078410strace: Process 29800 attached`). */
function findSplice(s: string): number {
  const a = s.indexOf('strace: ');
  if (a > 0 && outsideQuotes(s, a)) return a;
  const p = s.lastIndexOf('Process ');
  if (p > 0 && (s.endsWith(' detached') || s.endsWith(' attached')) && outsideQuotes(s, p)) {
    return p >= 2 && s.startsWith('^C', p - 2) ? p - 2 : p;
  }
  return -1;
}

/** Whether index `at` of `s` is outside every quoted string. */
function outsideQuotes(s: string, at: number): boolean {
  let i = 0;
  while (i < at) {
    if (s.charCodeAt(i) === QUOTE) {
      i = skipQuoted(s, i, s.length);
      if (i > at) return false;
    } else i++;
  }
  return true;
}

function isNoise(s: string): boolean {
  return (
    s.startsWith('strace: ') ||
    (s.startsWith('Process ') && (s.endsWith(' attached') || s.endsWith(' detached'))) ||
    s.startsWith('[ Process PID=') ||
    s.startsWith('^C')
  );
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
    for (const t of tid === null ? [null] : [tid, null]) {
      const m = this.pending.get(t);
      const p = m?.get(name);
      if (m !== undefined && p !== undefined) {
        m.delete(name);
        return p;
      }
    }
    return null;
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

function neverResumed(p: Pending, how: StraceIncomplete): StraceSyscall {
  return makeSyscall({
    line: p.line,
    resumedLine: null,
    stamp: p.stamp,
    durationNs: null,
    name: p.name,
    args: p.args,
    result: null,
    unfinished: how,
  });
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

/** Parses one logical line (already joined with any continuation), updating `state`. */
function* parseLine(text: string, line: number, state: StraceState): Generator<StraceItem> {
  let end = text.length;
  while (end > 0 && isWs(text.charCodeAt(end - 1))) end--;
  const pre = parsePrefix(text, end);
  if (!pre.ok) {
    yield issue(line, pre.reason, pre.field);
    return;
  }
  const { stamp } = pre;
  const i = pre.pos;
  if (i >= end) {
    yield issue(line, 'no syscall after the prefix', 'name');
    return;
  }
  if (text.startsWith('--- ', i) || text.startsWith('---', i)) {
    yield parseSignal(text, i, end, line, stamp);
    return;
  }
  if (text.startsWith('+++ ', i)) {
    const ex = parseExit(text, i, end, line, stamp);
    if (ex.kind === 'exit') {
      for (const p of state.drain(stamp.tid)) yield neverResumed(p, 'never-resumed');
      if (ex.supersededBy !== null && stamp.tid !== null) state.rekeyExecve(ex.supersededBy, stamp.tid);
    }
    yield ex;
    return;
  }
  if (isNoise(text.slice(i, end))) return;

  const dur = splitDuration(text, end);
  if ('ok' in dur) {
    yield issue(line, dur.reason, dur.field);
    return;
  }
  end = dur.end;
  while (end > i && isWs(text.charCodeAt(end - 1))) end--;

  if (text.startsWith('<... ', i)) {
    // `<... name resumed>rest) = ret`
    let j = i + 5;
    const ns = j;
    while (j < end && isNameChar(text.charCodeAt(j))) j++;
    const name = text.slice(ns, j);
    if (name.length === 0 || !text.startsWith(' resumed>', j)) {
      yield issue(line, "malformed '<... name resumed>'", 'name');
      return;
    }
    const as = j + 9;
    const close = findArgsClose(text, as, end);
    const first = state.take(stamp.tid, name);
    if (close < 0) {
      const m = stripMarker(text.slice(as, end));
      if (m.marker === null) {
        if (first !== null) state.open(first);
        yield issue(line, "argument list not closed by ')'", 'args');
        return;
      }
      const base: Pending = first ?? { line, stamp, name, args: '' };
      base.args = joinArgs(base.args, m.args);
      if (m.marker === 'unfinished') state.open(base);
      else yield neverResumed(base, 'detached');
      return;
    }
    const r = parseResult(text, close + 1, end);
    if ('ok' in r) {
      if (first !== null) state.open(first);
      yield issue(line, r.reason, r.field);
      return;
    }
    const m = stripMarker(text.slice(as, close));
    const incomplete: StraceIncomplete | null =
      m.marker !== null ? 'never-resumed' : first === null ? 'resumed-only' : null;
    yield makeSyscall({
      line: first?.line ?? line,
      resumedLine: line,
      // A call opened before strace printed pid prefixes takes the tid of its resumed half.
      stamp: first === null ? stamp : { ...first.stamp, tid: first.stamp.tid ?? stamp.tid },
      durationNs: dur.durationNs ?? (first !== null ? elapsed(first.stamp, stamp) : null),
      name,
      args: joinArgs(first?.args ?? '', m.args),
      result: r,
      unfinished: incomplete,
    });
    return;
  }

  // `name(args…`
  let j = i;
  while (j < end && isNameChar(text.charCodeAt(j))) j++;
  if (j === i || j >= end || text.charCodeAt(j) !== LPAREN) {
    yield issue(line, `unrecognised line '${text.slice(i, Math.min(end, i + 60))}'`, 'name');
    return;
  }
  const name = text.slice(i, j);
  const close = findArgsClose(text, j + 1, end);
  if (close < 0) {
    const m = stripMarker(text.slice(j + 1, end));
    if (m.marker === null) {
      yield issue(line, "argument list not closed by ')'", 'args');
      return;
    }
    const p: Pending = { line, stamp, name, args: m.args };
    if (m.marker === 'detached') {
      yield neverResumed(p, 'detached');
      return;
    }
    const prev = state.open(p);
    if (prev !== null) yield neverResumed(prev, 'never-resumed');
    return;
  }
  const r = parseResult(text, close + 1, end);
  if ('ok' in r) {
    yield issue(line, r.reason, r.field);
    return;
  }
  const m = stripMarker(text.slice(j + 1, close));
  yield makeSyscall({
    line,
    resumedLine: null,
    stamp,
    durationNs: dur.durationNs,
    name,
    args: m.args,
    result: r,
    unfinished: m.marker === null ? null : 'never-resumed',
  });
}

/**
 * Parses strace output lines into syscalls (split halves merged), signals and exits.
 * Unparsable lines become {@link ParseIssue}s; status lines (`strace: Process N attached`,
 * `Process N detached`) are skipped, also when strace spliced them into a syscall line.
 * Calls still open at a thread's `+++` line or at the end of input are emitted with
 * `unfinished: 'never-resumed'`.
 */
export async function* parseStrace(lines: AsyncIterable<string>): AsyncGenerator<StraceItem> {
  const state = new StraceState();
  let lineNo = 0;
  /** Head of a line cut by a spliced status message, waiting for its ` <unfinished ...>` tail. */
  let held: { text: string; line: number } | null = null;
  for await (const raw of lines) {
    lineNo++;
    const c0 = raw.length === 0 ? -1 : raw.charCodeAt(0);
    if (held !== null) {
      const h = held;
      held = null;
      if (c0 === SPACE || c0 === TAB) {
        yield* parseLine(h.text + raw, h.line, state);
        continue;
      }
      yield* parseLine(h.text, h.line, state);
    }
    if (c0 === -1 || raw.trim().length === 0) continue;
    const t = raw.trimStart();
    if (isNoise(t)) continue;
    const cut = findSplice(raw);
    if (cut > 0) {
      held = { text: raw.slice(0, cut), line: lineNo };
      continue;
    }
    yield* parseLine(raw, lineNo, state);
  }
  if (held !== null) yield* parseLine(held.text, held.line, state);
  for (const p of state.drain()) yield neverResumed(p, 'never-resumed');
}
