import type { Nanos } from '@threadreel/model';
import {
  COLON,
  DOT,
  GT,
  LPAREN,
  LT,
  RBRACKET,
  RPAREN,
  SPACE,
  allDigits,
  isDigit,
  isWs,
  matchAngle,
  matchClosing,
  opensDecoration,
  skipWs,
} from './strace-scan.js';

/**
 * The fields around a strace call: the `[pid N]` / `N` prefix and timestamp before it, the
 * ` = ret [ERRNO (text)] [(detail)]` result and the `<duration>` after it.
 */

/** Timestamp fields shared by every event kind. */
export interface Stamp {
  readonly tid: number | null;
  readonly startNs: Nanos | null;
  readonly timeOfDayNs: Nanos | null;
}

export interface Bad {
  readonly ok: false;
  readonly field?: string;
  readonly reason: string;
}

export function bad(reason: string, field?: string): Bad {
  return field === undefined ? { ok: false, reason } : { ok: false, field, reason };
}

export function isBad(x: object): x is Bad {
  return 'ok' in x;
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

const OTHER = 0;
const INTEGER = 1;
const EPOCH = 2;

/** A number token read by {@link scanSeconds}. */
interface SecondsToken {
  /** Where the token ends: the first whitespace (space, tab, CR) or the end. */
  end: number;
  /** INTEGER: digits only; EPOCH: digits and one dot, 3+ characters; OTHER: anything else. */
  kind: number;
  /** `parseSecondsToNanos` of the token (null when not INTEGER or EPOCH, or not a plain decimal). */
  ns: Nanos | null;
}

const NS_PER_S = 1_000_000_000n;
const POW10 = [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000, 1_000_000_000];
const token: SecondsToken = { end: 0, kind: OTHER, ns: null };
let lastWhole = -1;
let lastWholeNs = 0n;

/**
 * Reads a whitespace-delimited token from `i` in one pass: its end, whether it is an integer
 * or an epoch-like `sec.frac`, and its value in nanoseconds (as `parseSecondsToNanos` would
 * give). Consecutive timestamps mostly share their whole seconds, whose value is remembered.
 * Returns a shared object, valid until the next call.
 */
function scanSeconds(s: string, i: number, end: number): SecondsToken {
  let whole = 0;
  let frac = 0;
  let dot = -1;
  let other = false;
  let j = i;
  for (; j < end; j++) {
    const c = s.charCodeAt(j);
    if (c >= 48 && c <= 57) {
      if (dot < 0) whole = whole * 10 + (c - 48);
      else frac = frac * 10 + (c - 48);
    } else if (c === DOT) {
      if (dot >= 0) other = true;
      dot = j;
    } else if (isWs(c)) break;
    else other = true;
  }
  token.end = j;
  token.ns = null;
  if (other || j === i) {
    token.kind = OTHER;
    return token;
  }
  if (dot < 0) token.kind = INTEGER;
  else if (j - i >= 3) token.kind = EPOCH;
  else {
    token.kind = OTHER;
    return token;
  }
  // The value: `\d+(\.\d{1,9})?`.
  const wholeEnd = dot < 0 ? j : dot;
  const fracDigits = dot < 0 ? 0 : j - dot - 1;
  if (wholeEnd === i || (dot >= 0 && (fracDigits === 0 || fracDigits > 9))) return token;
  const fracNs = frac * (POW10[9 - fracDigits] ?? 1);
  if (wholeEnd - i > 15) token.ns = BigInt(s.slice(i, wholeEnd)) * NS_PER_S + BigInt(fracNs);
  else if (whole === 0)
    token.ns = BigInt(fracNs); // durations
  else {
    if (whole !== lastWhole) {
      lastWhole = whole;
      lastWholeNs = BigInt(whole) * NS_PER_S;
    }
    token.ns = fracNs === 0 ? lastWholeNs : lastWholeNs + BigInt(fracNs);
  }
  return token;
}

/** The nanoseconds of whole seconds `whole` (at most 15 digits) plus `fracNs`, as scanSeconds gives them. */
function secondsNs(whole: number, fracNs: number): Nanos {
  if (whole === 0) return BigInt(fracNs);
  if (whole !== lastWhole) {
    lastWhole = whole;
    lastWholeNs = BigInt(whole) * NS_PER_S;
  }
  return fracNs === 0 ? lastWholeNs : lastWholeNs + BigInt(fracNs);
}

/**
 * `sec.frac` (1–15 whole digits, 1–9 fraction digits) from `i` up to exactly `end`, in ns;
 * null when the text is of any other shape (the general {@link scanSeconds} then decides).
 */
function plainSeconds(s: string, i: number, end: number): Nanos | null {
  let whole = 0;
  let c = s.charCodeAt(i);
  const ws = i;
  while (c >= 48 && c <= 57) {
    whole = whole * 10 + (c - 48);
    c = s.charCodeAt(++i);
  }
  if (i === ws || i - ws > 15 || c !== DOT) return null;
  const fs = ++i;
  let frac = 0;
  while (i < end) {
    c = s.charCodeAt(i);
    if (c < 48 || c > 57) return null;
    frac = frac * 10 + (c - 48);
    i++;
  }
  const digits = i - fs;
  if (digits === 0 || digits > 9) return null;
  return secondsNs(whole, frac * (POW10[9 - digits] ?? 1));
}

/**
 * The `-f -o file -ttt` prefix `PID  sec.frac ` read in one pass; null when the line starts
 * any other way (then {@link parsePrefix} reads it in general). Same stamp as the general path.
 */
function plainPrefix(s: string, end: number, at: Cursor): Stamp | null {
  let i = 0;
  let tid = 0;
  let c = s.charCodeAt(0);
  while (c >= 48 && c <= 57) {
    tid = tid * 10 + (c - 48);
    c = s.charCodeAt(++i);
  }
  if (i === 0 || i > 10 || c !== SPACE) return null;
  do c = s.charCodeAt(++i);
  while (c === SPACE);
  const ws = i;
  let whole = 0;
  while (c >= 48 && c <= 57) {
    whole = whole * 10 + (c - 48);
    c = s.charCodeAt(++i);
  }
  if (i === ws || i - ws > 15 || c !== DOT) return null;
  const fs = ++i;
  let frac = 0;
  c = s.charCodeAt(i);
  while (c >= 48 && c <= 57) {
    frac = frac * 10 + (c - 48);
    c = s.charCodeAt(++i);
  }
  const digits = i - fs;
  if (digits === 0 || digits > 9 || c !== SPACE || i >= end) return null;
  i = skipWs(s, i + 1, end);
  at.pos = i;
  return { tid, startNs: secondsNs(whole, frac * (POW10[9 - digits] ?? 1)), timeOfDayNs: null };
}

/** Where a line's body starts, set by {@link parsePrefix}. */
export interface Cursor {
  pos: number;
}

/** Parses the pid prefix and timestamp; sets `at.pos` to where the body starts. */
export function parsePrefix(s: string, end: number, at: Cursor): Stamp | Bad {
  const plain = plainPrefix(s, end, at);
  if (plain !== null) return plain;
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
    let n = 0;
    while (j < end) {
      const c = s.charCodeAt(j);
      if (!isDigit(c)) break;
      n = n * 10 + (c - 48);
      j++;
    }
    if (j > i && j < end && (isWs(s.charCodeAt(j)) || s.charCodeAt(j) === LT)) {
      if (j - i > 10) return bad('pid prefix too long', 'pid');
      tid = n;
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
    let j: number;
    if (s.charCodeAt(i + 2) === COLON) {
      j = i;
      while (j < end && !isWs(s.charCodeAt(j))) j++;
      timeOfDayNs = parseTimeOfDay(s, i, j);
      if (timeOfDayNs === null) return bad(`unparsable time of day '${s.slice(i, j)}'`, 'time');
    } else {
      const num = scanSeconds(s, i, end);
      j = num.end;
      if (num.kind === EPOCH || (tid !== null && num.kind === INTEGER)) {
        startNs = num.ns;
        if (startNs === null) return bad(`unparsable timestamp '${s.slice(i, j)}'`, 'time');
      } else return bad(`unrecognised token '${s.slice(i, Math.min(j, i + 40))}'`, 'time');
    }
    i = skipWs(s, j, end);
  }
  at.pos = i;
  return { tid, startNs, timeOfDayNs };
}

/** The part after an argument list's `)`: ` = ret [ERRNO (text)] [(detail)]`. */
export interface Result {
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

/** The object {@link parseResult} fills: valid until its next call. */
const result: { -readonly [K in keyof Result]: Result[K] } = {
  ret: '',
  errno: null,
  errnoText: null,
  retDetail: null,
};

/** Parses ` = ret …` from `i`; the Result returned is shared, valid until the next call. */
export function parseResult(s: string, i: number, end: number): Result | Bad {
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
  result.ret = ret;
  result.errno = errno;
  result.errnoText = errnoText;
  result.retDetail = retDetail;
  return result;
}

/** A trailing `<0.000021>` / `<unavailable>` found by {@link splitDuration}. */
export interface Duration {
  /** The line end without the duration. */
  end: number;
  durationNs: Nanos | null;
}

/**
 * Looks for a trailing `<0.000021>` / `<unavailable>` before `end`: sets `out` (the line end
 * without it, and the duration) and returns null, or returns why it cannot be parsed.
 */
export function splitDuration(s: string, end: number, out: Duration): Bad | null {
  out.end = end;
  out.durationNs = null;
  if (end === 0 || s.charCodeAt(end - 1) !== GT) return null;
  // `lastIndexOf('<', end - 1)`, as a loop: the `<` is a few characters back, and
  // lastIndexOf is a slow built-in.
  let lt = end - 2;
  while (lt >= 0 && s.charCodeAt(lt) !== LT) lt--;
  if (lt < 1 || !isWs(s.charCodeAt(lt - 1))) return null;
  const a = lt + 1;
  const b = end - 1;
  if (b - a === 11 && s.startsWith('unavailable', a)) {
    out.end = lt;
    return null;
  }
  // Neither a digit nor a dot (`<unfinished ...>`): scanSeconds would call it OTHER.
  const c = s.charCodeAt(a);
  if (!isDigit(c) && c !== DOT) return null;
  const plain = plainSeconds(s, a, b);
  if (plain !== null) {
    out.end = lt;
    out.durationNs = plain;
    return null;
  }
  const num = scanSeconds(s, a, b);
  if (num.end !== b || num.kind === OTHER) return null;
  const d = num.ns;
  if (d === null) return bad(`unparsable duration '${s.slice(a, b)}'`, 'duration');
  out.end = lt;
  out.durationNs = d;
  return null;
}
