import type { StraceFd } from '@threadreel/model';

/**
 * Character-level scanning of strace text: quote- and bracket-aware argument lists, fd
 * decorations (`-y`/`-yy`), and the status messages strace splices into lines. Everything
 * works on indices into the line (charCodeAt, no backtracking regexes, no intermediate
 * copies) because it runs on every line.
 */

export const SPACE = 32;
export const TAB = 9;
export const CR = 13;
export const QUOTE = 34;
export const BACKSLASH = 92;
export const LPAREN = 40;
export const RPAREN = 41;
export const LBRACE = 123;
export const RBRACE = 125;
export const LBRACKET = 91;
export const RBRACKET = 93;
export const LT = 60;
export const GT = 62;
export const MINUS = 45;
export const DOT = 46;
export const COLON = 58;
export const COMMA = 44;

export function isWs(c: number): boolean {
  return c === SPACE || c === TAB || c === CR;
}

export function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

export function isNameChar(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || isDigit(c) || c === 95;
}

/** Whitespace as `String.prototype.trim` understands it (WhiteSpace and LineTerminator). */
export function isTrimWs(c: number): boolean {
  if (c <= 32) return c === 32 || (c >= 9 && c <= 13);
  if (c < 0xa0) return false;
  return (
    c === 0xa0 ||
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000 ||
    c === 0xfeff
  );
}

export function skipWs(s: string, i: number, end: number): number {
  while (i < end && isWs(s.charCodeAt(i))) i++;
  return i;
}

export function allDigits(s: string, start: number, end: number): boolean {
  if (end <= start) return false;
  for (let i = start; i < end; i++) if (!isDigit(s.charCodeAt(i))) return false;
  return true;
}

/** `s.slice(start, end).trim()`, slicing once. */
export function trimmedSlice(s: string, start: number, end: number): string {
  while (start < end && isTrimWs(s.charCodeAt(start))) start++;
  while (end > start && isTrimWs(s.charCodeAt(end - 1))) end--;
  return s.slice(start, end);
}

/** Whether `s.slice(start, end)` starts with `prefix`. */
export function startsWithIn(s: string, prefix: string, start: number, end: number): boolean {
  return end - start >= prefix.length && s.startsWith(prefix, start);
}

/** Whether `s.slice(start, end)` ends with `suffix`. */
export function endsWithIn(s: string, suffix: string, start: number, end: number): boolean {
  return end - start >= suffix.length && s.endsWith(suffix, end);
}

/**
 * Index just past a quoted string starting at `i` (on the `"`), or `end` when unterminated.
 * A `\\` escapes the next character, so a `"` closes the string when an even number of
 * backslashes precedes it: each candidate is found with `indexOf` rather than a character loop.
 */
export function skipQuoted(s: string, i: number, end: number): number {
  let q = s.indexOf('"', i + 1);
  while (q >= 0 && q < end) {
    let b = q - 1;
    while (b > i && s.charCodeAt(b) === BACKSLASH) b--;
    if (((q - 1 - b) & 1) === 0) return q + 1;
    q = s.indexOf('"', q + 1);
  }
  return end;
}

/**
 * Index just past the closing bracket matching the opening one at `i`, quote-aware;
 * -1 when unbalanced. For `<…>` the `->` arrow of connected sockets does not close.
 */
export function matchClosing(s: string, i: number, end: number, open: number, close: number): number {
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

export function matchAngle(s: string, i: number, end: number): number {
  // Common case, found with built-ins: the first `>` that is not an arrow's, with neither a
  // nested `<` nor a quote before it, closes the decoration.
  let k = s.indexOf('>', i + 1);
  while (k > 0 && s.charCodeAt(k - 1) === MINUS) k = s.indexOf('>', k + 1);
  if (k >= 0 && k < end) {
    const lt = s.indexOf('<', i + 1);
    if (lt < 0 || lt > k) {
      const q = s.indexOf('"', i + 1);
      if (q < 0 || q > k) return k + 1;
    }
  }
  return matchClosing(s, i, end, LT, GT);
}

/** Whether `<` at `i` opens an fd decoration (`21<…>`): after a digit and not a `<<` shift. */
export function opensDecoration(s: string, i: number, start: number): boolean {
  return i > start && isDigit(s.charCodeAt(i - 1)) && s.charCodeAt(i + 1) !== LT;
}

/**
 * Index of the `)` closing an argument list that starts at `i`, or -1 when the list does not
 * close on this line. Brackets, quotes and fd decorations are skipped as units.
 */
export function findArgsClose(s: string, i: number, end: number): number {
  // Without any `)` before `end` the list cannot close (most `<unfinished ...>` lines).
  const first = s.indexOf(')', i);
  if (first < 0 || first >= end) return -1;
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
  return splitArgs(args, Infinity);
}

/**
 * {@link splitStraceArgs}, stopping once `max` arguments are collected: the first `max`
 * entries are the same as those of the full split.
 */
export function splitArgs(args: string, max: number): string[] {
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
      out.push(trimmedSlice(args, from, i));
      if (out.length >= max) return out;
      from = i + 1;
    }
    i++;
  }
  const last = trimmedSlice(args, from, end);
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

/**
 * The first decorated fd among the arguments, else the return value's. Only text with a `<`
 * after a digit can hold one, so most calls skip the split.
 */
export function firstFd(args: string, ret: string | null): StraceFd | null {
  if (hasDecoration(args)) {
    const lead = leadingFd(args);
    if (lead !== null) return lead;
    for (const a of splitStraceArgs(args)) {
      const fd = parseStraceFd(a);
      if (fd !== null) return fd;
    }
  }
  return ret !== null && hasDecoration(ret) ? parseStraceFd(ret) : null;
}

/**
 * The decorated fd that starts `args` (`21<…>, …`, the usual place), without splitting the
 * list; null when the list does not start with one, or when only the full split can tell.
 * Same result as `parseStraceFd` of the first argument: the splitter skips the decoration as a
 * unit, so the first argument runs at least to its `>` (and a `(deleted)` right after it).
 */
function leadingFd(args: string): StraceFd | null {
  const end = args.length;
  let i = 0;
  while (i < end && isDigit(args.charCodeAt(i))) i++;
  if (i === 0 || i > 10 || i >= end || args.charCodeAt(i) !== LT || args.charCodeAt(i + 1) === LT)
    return null;
  const close = matchAngle(args, i, end);
  if (close < 0) return null;
  return describeFd(
    Number(args.slice(0, i)),
    args.slice(i + 1, close - 1),
    args.startsWith('(deleted)', close),
  );
}

/** Whether some `<` follows a digit: only then can an argument be a decorated fd (`N<…>`). */
function hasDecoration(s: string): boolean {
  for (let at = s.indexOf('<'); at >= 0; at = s.indexOf('<', at + 1))
    if (at > 0 && isDigit(s.charCodeAt(at - 1))) return true;
  return false;
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

/** Where a strace status message was spliced into a line (`…0xc000078410strace: Process 29800 attached`). */
export function findSplice(s: string): number {
  const a = s.indexOf('strace: ');
  if (a > 0 && outsideQuotes(s, a)) return a;
  if (s.charCodeAt(s.length - 1) !== 100 /* d */ || (!s.endsWith(' detached') && !s.endsWith(' attached')))
    return -1;
  const p = s.lastIndexOf('Process ');
  if (p > 0 && outsideQuotes(s, p)) {
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

/** Whether `s.slice(start, end)` is a strace status line rather than traced output. */
export function isNoise(s: string, start: number, end: number): boolean {
  return (
    startsWithIn(s, 'strace: ', start, end) ||
    (startsWithIn(s, 'Process ', start, end) &&
      (endsWithIn(s, ' attached', start, end) || endsWithIn(s, ' detached', start, end))) ||
    startsWithIn(s, '[ Process PID=', start, end) ||
    startsWithIn(s, '^C', start, end)
  );
}
