import {
  parseSecondsToNanosAt,
  type Nanos,
  type ParsedItem,
  type ParseIssue,
  type PerfRecord,
  type RawFrame,
} from '@threadreel/model';
import { PerfHeaderReader } from './perf-header.js';
import { parseSchedPayload, schedType } from './sched.js';

/**
 * `perf script` text parser.
 *
 * Record header grammar (fields in perf's fixed order, all but comm/tid and the event optional):
 *
 *   <comm> <tid | pid/tid> [K|U|H|G] [<[cpu]>] [<yyyy-mm-dd hh:mm:ss.frac>] [<sec.frac>:] [<period>] <event>: [<payload>]
 *
 * The comm may contain spaces, digits, `/` and `:` and may be right-aligned with leading
 * spaces, so the tid is found as the first whitespace-delimited `\d+(/\d+)?` token after
 * which the rest of the line parses as the fields above. Stack lines are
 * `<ws><hex ip> <symbol>[+0xoff] (<dso>)` with the dso the last balanced parenthesised group.
 * Everything is scanned by hand (no backtracking regexes) to keep ~1M lines/s.
 */

/** The fields of a record header line. */
export interface PerfHeader extends Pick<
  PerfRecord,
  'comm' | 'pid' | 'tid' | 'cpu' | 'timeNs' | 'period' | 'event' | 'trace'
> {
  /** Set when perf printed `ip sym (dso)` on the header line itself (no call graph recorded). */
  readonly frame: RawFrame | null;
}

export type PerfHeaderResult =
  | { readonly ok: true; readonly header: PerfHeader }
  | { readonly ok: false; readonly field?: string; readonly reason: string };

const SPACE = 32;
const TAB = 9;
const CR = 13;
const HASH = 35;
const COLON = 58;
const SLASH = 47;
const MINUS = 45;
const DOT = 46;
const LPAREN = 40;
const RPAREN = 41;
const LBRACKET = 91;
const RBRACKET = 93;

const UNKNOWN = '[unknown]';

function isWs(c: number): boolean {
  return c === SPACE || c === TAB || c === CR;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function isHex(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70);
}

function trimEndIndex(s: string, start: number, end: number): number {
  while (end > start && isWs(s.charCodeAt(end - 1))) end--;
  return end;
}

function skipWs(s: string, i: number, end: number): number {
  while (i < end && isWs(s.charCodeAt(i))) i++;
  return i;
}

function tokenEnd(s: string, i: number, end: number): number {
  while (i < end && !isWs(s.charCodeAt(i))) i++;
  return i;
}

/** Index just past `-?\d+` starting at i, or -1. */
function scanInt(s: string, i: number, end: number): number {
  if (i < end && s.charCodeAt(i) === MINUS) i++;
  const start = i;
  while (i < end && isDigit(s.charCodeAt(i))) i++;
  return i > start ? i : -1;
}

function allDigits(s: string, start: number, end: number): boolean {
  if (end <= start) return false;
  for (let i = start; i < end; i++) if (!isDigit(s.charCodeAt(i))) return false;
  return true;
}

/** `[123]` */
function isCpuToken(s: string, start: number, end: number): boolean {
  return (
    end - start >= 3 &&
    s.charCodeAt(start) === LBRACKET &&
    s.charCodeAt(end - 1) === RBRACKET &&
    allDigits(s, start + 1, end - 1)
  );
}

/** `yyyy-mm-dd` (first half of the `tod` field). */
function isDateToken(s: string, start: number, end: number): boolean {
  return (
    end - start === 10 &&
    s.charCodeAt(start + 4) === MINUS &&
    s.charCodeAt(start + 7) === MINUS &&
    allDigits(s, start, start + 4) &&
    allDigits(s, start + 5, start + 7) &&
    allDigits(s, start + 8, end)
  );
}

/** `hh:mm:ss[.frac]` (second half of the `tod` field). */
function isClockToken(s: string, start: number, end: number): boolean {
  if (end - start < 8) return false;
  if (s.charCodeAt(start + 2) !== COLON || s.charCodeAt(start + 5) !== COLON) return false;
  if (!allDigits(s, start, start + 2) || !allDigits(s, start + 3, start + 5)) return false;
  if (!allDigits(s, start + 6, start + 8)) return false;
  return end === start + 8 || (s.charCodeAt(start + 8) === DOT && allDigits(s, start + 9, end));
}

/** A token that is meant as the time field: digits and dots ending with `:`, e.g. `202513.231785:`. */
function isTimeLike(s: string, start: number, end: number): boolean {
  if (end - start < 2 || s.charCodeAt(end - 1) !== COLON || !isDigit(s.charCodeAt(start))) return false;
  let dot = false;
  for (let i = start; i < end - 1; i++) {
    const c = s.charCodeAt(i);
    if (c === DOT) dot = true;
    else if (!isDigit(c)) return false;
  }
  return dot;
}

function isMiscToken(s: string, start: number, end: number): boolean {
  if (end - start !== 1) return false;
  const c = s.charCodeAt(start);
  return c === 75 /* K */ || c === 85 /* U */ || c === 72 /* H */ || c === 71; /* G */
}

const PERF_RECORD = 'PERF_RECORD_';

type AfterTid =
  | {
      readonly ok: true;
      readonly cpu: number | null;
      readonly timeNs: Nanos | null;
      readonly period: bigint | null;
      readonly event: string;
      readonly payloadStart: number;
    }
  | { readonly ok: false; readonly field?: string; readonly reason: string };

const NO_EVENT: AfterTid = { ok: false, reason: 'no event name after the tid' };

/** Parses the fields after the tid, from `pos` to `end` (already right-trimmed). */
function parseAfterTid(s: string, pos: number, end: number): AfterTid {
  // Stages enforce perf's field order: misc/cpu (1-2), tod (3), time (4), period (5).
  let stage = 0;
  let misc = false;
  let cpu: number | null = null;
  let timeNs: Nanos | null = null;
  let period: bigint | null = null;
  for (;;) {
    pos = skipWs(s, pos, end);
    if (pos >= end) return NO_EVENT;
    const tEnd = tokenEnd(s, pos, end);
    if (!misc && stage <= 2 && isMiscToken(s, pos, tEnd)) {
      misc = true;
      pos = tEnd;
      continue;
    }
    if (stage < 2 && isCpuToken(s, pos, tEnd)) {
      cpu = Number(s.slice(pos + 1, tEnd - 1));
      stage = 2;
      pos = tEnd;
      continue;
    }
    if (stage < 3 && isDateToken(s, pos, tEnd)) {
      const cStart = skipWs(s, tEnd, end);
      const cEnd = tokenEnd(s, cStart, end);
      if (!isClockToken(s, cStart, cEnd))
        return { ok: false, field: 'tod', reason: 'date without a clock time' };
      stage = 3;
      pos = cEnd;
      continue;
    }
    if (stage < 4 && isTimeLike(s, pos, tEnd)) {
      timeNs = parseSecondsToNanosAt(s, pos, tEnd - 1);
      if (timeNs === null)
        return { ok: false, field: 'time', reason: `unparsable time '${s.slice(pos, tEnd - 1)}'` };
      stage = 4;
      pos = tEnd;
      continue;
    }
    if (stage < 5 && allDigits(s, pos, tEnd)) {
      period = BigInt(s.slice(pos, tEnd));
      stage = 5;
      pos = tEnd;
      continue;
    }
    // An event name never starts with a digit: such a token is a time printed after what was
    // taken for the period, i.e. the tid candidate was a number at the end of the comm
    // (`my worker 1 28069  1616.070939: …`), and the next candidate has to be tried.
    if (tEnd - pos >= 2 && s.charCodeAt(tEnd - 1) === COLON && !isDigit(s.charCodeAt(pos))) {
      return { ok: true, cpu, timeNs, period, event: s.slice(pos, tEnd - 1), payloadStart: tEnd };
    }
    if (s.startsWith(PERF_RECORD, pos)) {
      // Side-band records (--show-task-events, --show-lost-events…) may omit the colon.
      return { ok: true, cpu, timeNs, period, event: s.slice(pos, tEnd), payloadStart: tEnd };
    }
    return { ok: false, reason: `unexpected '${s.slice(pos, tEnd)}' where the event name was expected` };
  }
}

/**
 * Parses one record header line. Exposed for format sniffing and tests; {@link parsePerfScript}
 * is the streaming entry point.
 */
export function parsePerfHeader(line: string): PerfHeaderResult {
  const end = trimEndIndex(line, 0, line.length);
  const begin = skipWs(line, 0, end);
  if (begin >= end) return { ok: false, reason: 'empty line' };
  let failure: { field?: string; reason: string } | null = null;
  // Candidate tids: `-?\d+(/-?\d+)?` tokens after the first character (the comm is never empty).
  for (let i = begin + 1; i < end; i++) {
    if (!isWs(line.charCodeAt(i - 1))) continue;
    const c = line.charCodeAt(i);
    if (!isDigit(c) && c !== MINUS) continue;
    const first = scanInt(line, i, end);
    if (first < 0) continue;
    let tokEnd = first;
    let second = -1;
    if (tokEnd < end && line.charCodeAt(tokEnd) === SLASH) {
      second = scanInt(line, tokEnd + 1, end);
      if (second < 0) continue;
      tokEnd = second;
    }
    if (tokEnd >= end || !isWs(line.charCodeAt(tokEnd))) continue;
    const rest = parseAfterTid(line, tokEnd, end);
    if (!rest.ok) {
      if (failure === null || (failure.field === undefined && rest.field !== undefined)) failure = rest;
      continue;
    }
    const commEnd = trimEndIndex(line, begin, i);
    const a = Number(line.slice(i, first));
    const pid = second < 0 ? null : a;
    const tid = second < 0 ? a : Number(line.slice(first + 1, second));
    const payloadStart = skipWs(line, rest.payloadStart, end);
    let trace: string | null = payloadStart < end ? line.slice(payloadStart, end) : null;
    let frame: RawFrame | null = null;
    if (trace !== null && isHex(trace.charCodeAt(0)) && trace.charCodeAt(trace.length - 1) === RPAREN) {
      // No call graph: perf prints `ip sym (dso)` on the header line itself.
      frame = parseFrameAt(line, payloadStart, end, true);
      if (frame !== null) trace = null;
    }
    return {
      ok: true,
      header: {
        comm: line.slice(begin, commEnd),
        pid,
        tid,
        cpu: rest.cpu,
        timeNs: rest.timeNs,
        period: rest.period,
        event: rest.event,
        trace,
        frame,
      },
    };
  }
  if (failure?.field !== undefined) return { ok: false, field: failure.field, reason: failure.reason };
  return { ok: false, field: 'header', reason: 'not a perf script record header (comm tid … event:)' };
}

/** Index of the `(` opening the parenthesised group that ends at `close`, or -1. */
function matchingOpen(s: string, start: number, close: number): number {
  let depth = 0;
  for (let i = close; i >= start; i--) {
    const c = s.charCodeAt(i);
    if (c === RPAREN) depth++;
    else if (c === LPAREN && --depth === 0) return i;
  }
  return -1;
}

/** Removes a trailing `+0x<hex>` symbol offset. */
export function stripSymbolOffset(symbol: string): string {
  const at = symbol.lastIndexOf('+0x');
  if (at <= 0 || at + 3 >= symbol.length) return symbol;
  for (let i = at + 3; i < symbol.length; i++) {
    const c = symbol.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return symbol;
  }
  return symbol.slice(0, at);
}

/**
 * Parses `<hex ip> <symbol>[+0xoff] (<dso>)` from `start` (leading whitespace skipped).
 * With `strictDso` the line must end with a ` (dso)` group (used for the header-line frame).
 */
function parseFrameAt(s: string, start: number, end: number, strictDso: boolean): RawFrame | null {
  end = trimEndIndex(s, start, end);
  let i = skipWs(s, start, end);
  const addrStart = i;
  while (i < end && isHex(s.charCodeAt(i))) i++;
  if (i === addrStart || (i < end && !isWs(s.charCodeAt(i)))) return null;
  const addr = s.slice(addrStart, i);
  i = skipWs(s, i, end);
  if (i >= end) return strictDso ? null : { addr, symbol: UNKNOWN, dso: UNKNOWN };
  let symEnd = end;
  let dso: string | null = null;
  if (s.charCodeAt(end - 1) === RPAREN) {
    let open = matchingOpen(s, i, end - 1);
    if (open < 0 || (open > i && !isWs(s.charCodeAt(open - 1)))) {
      // Unbalanced or glued to the symbol (`operator()`): fall back to the last ` (`.
      const alt = s.lastIndexOf(' (', end - 1);
      open = alt >= i ? alt + 1 : -1;
    }
    if (open >= i) {
      dso = s.slice(open + 1, end - 1);
      symEnd = trimEndIndex(s, i, open);
    }
  }
  if (dso === null && strictDso) return null;
  const rawSymbol = s.slice(i, symEnd);
  const symbol = rawSymbol.length === 0 ? UNKNOWN : stripSymbolOffset(rawSymbol);
  return { addr, symbol, dso: dso === null || dso.length === 0 ? UNKNOWN : dso };
}

/** Parses one stack line (`\t<hex ip> <symbol>[+0xoff] (<dso>)`); null when it is not one. */
export function parsePerfFrame(line: string): RawFrame | null {
  return parseFrameAt(line, 0, line.length, false);
}

/** Entries kept by {@link FrameCache} before it starts over, so memory stays bounded. */
const FRAME_CACHE_MAX = 200_000;

/**
 * Parsed stack lines by their exact text. Stack lines repeat heavily (the same functions are
 * sampled again and again), so most are a map lookup instead of a parse. Records share the
 * (readonly) frame objects. Keys and values are copied out of the decoded chunk: a line is a
 * slice of its chunk's text, and a cached slice would keep the whole chunk alive.
 */
class FrameCache {
  private readonly map = new Map<string, RawFrame | null>();

  parse(line: string): RawFrame | null {
    const hit = this.map.get(line);
    if (hit !== undefined) return hit;
    const f = parsePerfFrame(line);
    if (this.map.size >= FRAME_CACHE_MAX) this.map.clear();
    const frame = f === null ? null : { addr: detach(f.addr), symbol: detach(f.symbol), dso: detach(f.dso) };
    this.map.set(detach(line), frame);
    return frame;
  }
}

/** A flat copy of `s` that does not keep the string it was sliced from alive. */
function detach(s: string): string {
  return (' ' + s).slice(1);
}

function isBlank(line: string): boolean {
  for (let i = 0; i < line.length; i++) if (!isWs(line.charCodeAt(i))) return false;
  return true;
}

export interface PerfScriptOptions {
  /** Line number of the first line read (default 1): a byte range of a file starts further on. */
  readonly firstLine?: number;
}

interface OpenRecord {
  readonly line: number;
  readonly header: PerfHeader;
  readonly frames: RawFrame[];
}

/** Appends the record of an open header, its sched fields parsed; an issue first when they cannot be. */
function finish(r: OpenRecord, out: ParsedItem[]): void {
  const rec = toRecord(r);
  const type = rec.trace === null ? null : schedType(rec.event);
  if (type === null || rec.trace === null) {
    out.push(rec);
    return;
  }
  const sched = parseSchedPayload(type, rec.trace);
  if (sched.ok) out.push({ ...rec, sched: sched.event });
  else {
    // The record still counts as a tracepoint sample; only its scheduler fields are lost.
    out.push(issue(r.line, `${sched.reason}; kept as a plain ${rec.event} record`, sched.field), rec);
  }
}

function toRecord(r: OpenRecord): PerfRecord {
  const h = r.header;
  return {
    kind: 'perf',
    line: r.line,
    comm: h.comm,
    pid: h.pid,
    tid: h.tid,
    cpu: h.cpu,
    timeNs: h.timeNs,
    period: h.period,
    event: h.event,
    trace: h.trace,
    frames: r.frames,
  };
}

function issue(line: number, reason: string, field?: string): ParseIssue {
  return field === undefined ? { kind: 'issue', line, reason } : { kind: 'issue', line, field, reason };
}

/**
 * Streams `perf script` text into records, header facts and issues, holding one record at a
 * time. Every sample and tracepoint (sched_switch, sched_wakeup…, with its payload in `trace`)
 * becomes a {@link PerfRecord}; `# key : value` lines become `SourceHeader`s, and the clock
 * keys derived from them (`clockid`, `clockRefTodNs`…: see perf-header.ts) follow the last
 * record; a line that
 * cannot be understood becomes a {@link ParseIssue} with its 1-based line number, and parsing
 * goes on. Records end at a blank line, at the next header line, or at the end of input.
 *
 * perf closes every call chain with a blank line. When a file follows that convention but
 * its last call chain is not closed, the file was cut mid-record (a crashed or interrupted
 * `perf script`): that record's stack may be incomplete, so it is reported as an issue
 * rather than counted with a wrong stack. (stackcollapse-perf.pl drops it too.)
 *
 * One item per asynchronous step; {@link parsePerfScriptBatches} is the same parser yielding
 * the items of each input batch at once (what ingest uses).
 */
export async function* parsePerfScript(
  lines: AsyncIterable<string | readonly string[]>,
): AsyncGenerator<ParsedItem> {
  // Not `yield* batch`: over an array that awaits once more per item.
  for await (const batch of parsePerfScriptBatches(lines)) for (const item of batch) yield item;
}

/**
 * {@link parsePerfScript} in batches: the items of each input batch (a record spanning two
 * batches comes with the later one), in order, never empty.
 */
export async function* parsePerfScriptBatches(
  lines: AsyncIterable<string | readonly string[]>,
  options: PerfScriptOptions = {},
): AsyncGenerator<ParsedItem[]> {
  let lineNo = options.firstLine === undefined ? 0 : options.firstLine - 1;
  let open: OpenRecord | null = null;
  /** After a rejected header: drop its stack lines silently until the record ends. */
  let skipping = false;
  /** Whether some call chain in this file was closed by a blank line (perf's convention). */
  let blankClosesChains = false;
  const frames = new FrameCache();
  const header = new PerfHeaderReader();

  for await (const chunk of lines) {
    const batch = typeof chunk === 'string' ? [chunk] : chunk;
    const out: ParsedItem[] = [];
    for (let k = 0; k < batch.length; k++) {
      const line = batch[k] as string;
      lineNo++;
      const c0 = line.length === 0 ? -1 : line.charCodeAt(0);

      if (c0 === -1 || (isWs(c0) && isBlank(line))) {
        if (open !== null) {
          if (hasChainLines(open)) blankClosesChains = true;
          finish(open, out);
        }
        open = null;
        skipping = false;
        continue;
      }

      if (c0 === HASH) {
        for (const h of header.comment(line)) out.push(h);
        continue;
      }

      if (c0 === TAB) {
        // Stack line (perf indents them with a tab), or a `-F +srcline` line under a frame.
        if (open !== null) {
          const f = frames.parse(line);
          if (f !== null) open.frames.push(f);
          else if (open.frames.length === 0)
            out.push(issue(lineNo, 'unrecognised line before the first stack frame', 'frame'));
          // else: srcline / inline source context under a frame; not part of the model.
        } else if (!skipping) {
          out.push(issue(lineNo, 'stack line outside a record', 'frame'));
        }
        continue;
      }

      if (isWs(c0)) {
        // Space-indented: a stack line, or a header whose comm perf right-aligned (no call graph).
        const f = frames.parse(line);
        if (f !== null && open !== null && f.dso !== UNKNOWN) {
          open.frames.push(f);
          continue;
        }
        const h = parsePerfHeader(line);
        if (h.ok) {
          if (open !== null) finish(open, out);
          open = { line: lineNo, header: h.header, frames: h.header.frame ? [h.header.frame] : [] };
          skipping = false;
          continue;
        }
        if (open !== null) {
          if (f !== null) open.frames.push(f);
          else if (open.frames.length === 0)
            out.push(issue(lineNo, 'unrecognised line before the first stack frame', 'frame'));
          continue;
        }
        if (!skipping)
          out.push(
            issue(lineNo, f !== null ? 'stack line outside a record' : h.reason, f ? 'frame' : h.field),
          );
        continue;
      }

      // A record header line. It also ends a record that had no blank line after it.
      const h = parsePerfHeader(line);
      if (!h.ok && (open !== null || skipping)) {
        // Some tools strip the indentation of stack lines.
        const f = parsePerfFrame(line);
        if (f !== null) {
          open?.frames.push(f);
          continue;
        }
      }
      if (open !== null) finish(open, out);
      open = null;
      if (h.ok) {
        open = { line: lineNo, header: h.header, frames: h.header.frame ? [h.header.frame] : [] };
        skipping = false;
      } else {
        out.push(issue(lineNo, h.reason, h.field));
        skipping = true;
      }
    }
    if (out.length) yield out;
  }
  const out: ParsedItem[] = [];
  if (open !== null) {
    if (blankClosesChains && hasChainLines(open)) {
      out.push(
        issue(
          open.line,
          'last record is not closed by a blank line: the file looks cut mid-record, so its stack may be incomplete and the sample is not counted',
          'record',
        ),
      );
    } else finish(open, out);
  }
  for (const h of header.finish()) out.push(h);
  if (out.length) yield out;
}

function hasChainLines(r: OpenRecord): boolean {
  return r.frames.length > (r.header.frame ? 1 : 0);
}
