import type { ParseIssue, ThreadSighting } from '@threadreel/model';
import { issue } from './gc-common.js';

/**
 * Thread listings as people make them by hand, with no manifest: each thread becomes a
 * {@link ThreadSighting} like a `threads.jsonl` line (source 'proc', event 'snapshot'), but with
 * no time (clock 'none', timeNs null): a listing says which threads existed, not when.
 *
 * Layouts (test/fixtures/formats/thread-list has a real recording of each):
 * - `tid<TAB>comm` and `tid comm` lines: `for t in /proc/$PID/task/*; do printf '%s\t%s\n' …`.
 *   No pid (null); the name is the rest of the line, spaces included.
 * - `grep . /proc/PID/task/*\/comm` → `/proc/PID/task/TID/comm:name` (and `/proc/PID/comm:name`).
 * - `head /proc/PID/task/*\/comm` (or `tail -n +1`) → `==> /proc/PID/task/TID/comm <==` blocks; the
 *   same blocks of `status` files (`head /proc/PID/task/*\/status`) are read like the next layout.
 * - `cat /proc/PID/task/*\/status` → blocks starting at `Name:`; `Tgid:` is the pid, `Pid:` the
 *   tid (proc(5)); the kernel escapes `\` and newline in `Name:` (`\\`, `\n`), undone here.
 * - `ps` with threads, under its header line: `-L`/`-T` with `-o` lists (`pid,lwp,comm`,
 *   `lwp,comm,pid`, `spid,pid,ucmd`, `tid,pid,cmd`…), `ps -L`, `ps -T`, `ps -Ll`, `ps -Lf`,
 *   `ps -eLf`, `ps -fT`, `ps -m -o …`. The tid column is `LWP`, `SPID` or `TID`, the pid column
 *   `PID` (or `TGID`). The name is the `CMD`/`COMMAND`/`COMM` column, which may hold spaces and
 *   need not be last (the columns around it are single tokens). ps prints two different things
 *   under the same headers: the thread's comm (`comm`, `ucmd`: `ps -L`, `-T`, `-l`) or the
 *   process command line (`args`, `cmd`: `-f`, `-F`, or `-o args`), the same for every thread
 *   and not a thread name. It is taken for a command line when the header has `STIME` (the
 *   `-f`/`-F` formats), or when a value starts with `/`, or is longer than the kernel's 15-byte
 *   comm and holds a space, or when every thread of a process shows the same value with a space
 *   in it. A command line is not recorded as a name (name null), except `[name]`, which ps
 *   prints when a task has no command line (kernel threads): that is the comm.
 *   `ps -m` prints the process row (tid `-`, skipped) then its threads (pid `-`: the process
 *   row's; comm `-`: unknown).
 *
 * Tids are 1..4194303 (below PID_MAX_LIMIT, 2^22): a larger number is not a Linux thread id.
 * Names are kernel comms (15 bytes; kernel threads up to 64); `<defunct>` after a comm is
 * dropped. A line that fits none of its layout's rules is a {@link ParseIssue} naming the field.
 */

export type ThreadListItem = ThreadSighting | ParseIssue;

export type ThreadListLayout = 'tsv' | 'space' | 'proc-grep' | 'proc-head' | 'proc-status' | 'ps';

/** The largest Linux tid: ids are below pid_max, which is at most PID_MAX_LIMIT (2^22) on 64-bit. */
export const MAX_LINUX_TID = 4_194_303;
const MAX_NAME = 64;
/** The kernel's comm is TASK_COMM_LEN (16) bytes with its NUL. */
const COMM_BYTES = 15;

const TSV = /^(\d{1,7})\t(.+)$/;
const SPACE = /^(\d{1,7}) +(\S.*)$/;
const GREP = /^\/proc\/(\d{1,7})\/(?:task\/(\d{1,7})\/)?comm:(.*)$/;
const HEAD = /^==> (.*) <==$/;
const PROC_PATH = /^\/proc\/(\d{1,7})\/(?:task\/(\d{1,7})\/)?(comm|status)$/;
const STATUS_FIELD = /^([A-Za-z_][A-Za-z0-9_]*):[\t ]*(.*)$/;

/** The number a text is when it can be a Linux tid (or pid), else null. */
export function linuxTid(text: string): number | null {
  if (!/^\d{1,7}$/.test(text)) return null;
  const n = Number(text);
  return n >= 1 && n <= MAX_LINUX_TID ? n : null;
}

function utf8Bytes(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

/** A comm as printed; null when it cannot be one. */
function commOf(text: string): string | null {
  const name = text.endsWith(' <defunct>') ? text.slice(0, -' <defunct>'.length) : text;
  return name.length === 0 || name.length > MAX_NAME ? null : name;
}

/** The sighting of a `tid` + comm pair as printed, or the issue naming the bad field. */
function named(line: number, pid: number | null, tidText: string, nameText: string): ThreadListItem {
  const tid = linuxTid(tidText);
  if (tid === null) return issue(line, `'${tidText}' is not a Linux tid`, 'tid');
  const name = commOf(nameText);
  if (name === null) return issue(line, `comm is empty or longer than ${MAX_NAME} characters`, 'comm');
  return sighting(line, pid, tid, name);
}

function sighting(line: number, pid: number | null, tid: number, name: string | null): ThreadSighting {
  return {
    kind: 'thread',
    line,
    source: 'proc',
    clock: 'none',
    timeNs: null,
    pid,
    tid,
    runtimeThreadId: null,
    name,
    event: 'snapshot',
  };
}

// ---------------------------------------------------------------------------------------------
// ps

/** Headers ps prints for the columns read here (ps(1) "STANDARD FORMAT SPECIFIERS"). */
const PS_TID = new Set(['LWP', 'SPID', 'TID']);
const PS_PID = new Set(['PID', 'TGID']);
const PS_NAME = new Set(['CMD', 'COMMAND', 'COMM']);
const PS_HEADER_TOKEN = /^[A-Z%][A-Z0-9%_+:-]*$/;

export interface PsHeader {
  readonly columns: readonly string[];
  readonly pid: number;
  readonly tid: number;
  readonly name: number;
  /** `STIME` is there: the `-f`/`-F` formats, whose CMD is the command line. */
  readonly full: boolean;
}

/** A ps header line with a tid column, or null. */
export function parsePsHeader(line: string): PsHeader | null {
  const columns = line.trim().split(/\s+/);
  if (columns.length < 2 || !columns.every((c) => PS_HEADER_TOKEN.test(c))) return null;
  const tid = columns.findIndex((c) => PS_TID.has(c));
  if (tid < 0) return null;
  const names = columns.filter((c) => PS_NAME.has(c)).length;
  // Two free-text columns (e.g. -o comm,args) cannot be told apart by tokens.
  if (names > 1) return null;
  return {
    columns,
    pid: columns.findIndex((c) => PS_PID.has(c)),
    tid,
    name: columns.findIndex((c) => PS_NAME.has(c)),
    full: columns.includes('STIME'),
  };
}

interface PsRow {
  readonly line: number;
  /** null: `-` (ps -m thread row: the process row's pid). */
  readonly pid: number | null;
  /** null: `-` (ps -m process row). */
  readonly tid: number | null;
  readonly name: string | null;
}

type PsRowResult =
  { readonly ok: true; readonly row: PsRow } | { readonly ok: false; readonly issue: ParseIssue };

function psRow(h: PsHeader, text: string, line: number): PsRowResult {
  const tokens: { start: number; end: number }[] = [];
  for (const m of text.matchAll(/\S+/g)) tokens.push({ start: m.index, end: m.index + m[0].length });
  const n = h.columns.length;
  if (tokens.length < n || (h.name < 0 && tokens.length !== n))
    return {
      ok: false,
      issue: issue(line, `${tokens.length} fields where the header has ${n} columns`, 'columns'),
    };
  // Columns before the name are one token each, and so are those after it (counted from the end).
  const after = h.name < 0 ? 0 : n - h.name - 1;
  const at = (col: number): string => {
    const k = h.name >= 0 && col > h.name ? tokens.length - (n - col) : col;
    const t = tokens[k];
    return t === undefined ? '' : text.slice(t.start, t.end);
  };
  let name: string | null = null;
  if (h.name >= 0) {
    const first = tokens[h.name];
    const last = tokens[tokens.length - after - 1];
    name = first && last ? text.slice(first.start, last.end) : null;
  }
  const tidText = at(h.tid);
  const pidText = h.pid >= 0 ? at(h.pid) : '';
  const tid = tidText === '-' ? null : linuxTid(tidText);
  if (tid === null && tidText !== '-')
    return { ok: false, issue: issue(line, `${h.columns[h.tid]} '${tidText}' is not a Linux tid`, 'tid') };
  let pid: number | null = null;
  if (h.pid >= 0 && pidText !== '-') {
    pid = linuxTid(pidText);
    if (pid === null)
      return { ok: false, issue: issue(line, `${h.columns[h.pid]} '${pidText}' is not a pid`, 'pid') };
  }
  return { ok: true, row: { line, pid, tid, name } };
}

/** Whether the name column holds command lines rather than comms (see the module comment). */
function commandLines(h: PsHeader, rows: readonly PsRow[]): boolean {
  if (h.name < 0) return false;
  if (h.full) return true;
  const byPid = new Map<number, Set<string>>();
  const count = new Map<number, number>();
  for (const r of rows) {
    const v = r.name;
    if (v === null || v === '-') continue;
    if (v.startsWith('/')) return true;
    if (v.includes(' ') && utf8Bytes(v) > COMM_BYTES) return true;
    if (r.pid !== null) {
      const s = byPid.get(r.pid) ?? new Set<string>();
      s.add(v);
      byPid.set(r.pid, s);
      count.set(r.pid, (count.get(r.pid) ?? 0) + 1);
    }
  }
  for (const [pid, values] of byPid) {
    const [only] = [...values];
    if (values.size === 1 && (count.get(pid) ?? 0) >= 2 && only !== undefined && only.includes(' '))
      return true;
  }
  return false;
}

function psName(value: string | null, args: boolean, mThread: boolean): string | null {
  if (value === null || (mThread && value === '-')) return null;
  if (args) {
    const k = /^\[(.+)\]$/.exec(value);
    return k?.[1] === undefined ? null : commOf(k[1]);
  }
  return commOf(value);
}

/** Rows read before the comm-or-command-line decision is made (the rest follow that decision). */
const DECIDE_AFTER = 256;

class PsTable {
  private readonly pending: PsRow[] = [];
  private args: boolean | null = null;
  private processPid: number | null = null;

  constructor(readonly header: PsHeader) {}

  *add(row: PsRow): Generator<ThreadListItem> {
    if (this.args === null) {
      this.pending.push(row);
      if (this.pending.length >= DECIDE_AFTER) yield* this.flush();
      return;
    }
    yield* this.emit(row);
  }

  *flush(): Generator<ThreadListItem> {
    if (this.args === null) this.args = commandLines(this.header, this.pending);
    for (const r of this.pending.splice(0)) yield* this.emit(r);
  }

  /** Whether the name column was taken for the process command line (after {@link flush}). */
  get commandLine(): boolean {
    return this.args === true;
  }

  private *emit(r: PsRow): Generator<ThreadListItem> {
    if (r.tid === null) {
      // ps -m: the process row; its threads follow with pid '-'.
      this.processPid = r.pid;
      return;
    }
    const mThread = r.pid === null && this.header.pid >= 0;
    const pid = mThread ? this.processPid : r.pid;
    yield sighting(r.line, pid, r.tid, psName(r.name, this.args === true, mThread));
  }
}

// ---------------------------------------------------------------------------------------------
// /proc status blocks

interface StatusBlock {
  line: number;
  name: string | null;
  pid: number | null;
  tid: number | null;
  tidLine: number;
  /** From a `==> /proc/P/task/T/status <==` header, when there was one. */
  pathPid: number | null;
  pathTid: number | null;
}

function statusBlock(line: number, pathPid: number | null, pathTid: number | null): StatusBlock {
  return { line, name: null, pid: null, tid: null, tidLine: line, pathPid, pathTid };
}

/** Undoes the kernel's escaping of the status `Name:` (`\\` and `\n`). */
function unescapeStatusName(s: string): string {
  return s.replace(/\\(\\|n)/g, (_m, c: string) => (c === 'n' ? '\n' : '\\'));
}

function* endStatus(b: StatusBlock | null): Generator<ThreadListItem> {
  if (b === null) return;
  const tid = b.tid ?? b.pathTid;
  if (tid === null) {
    yield issue(b.line, 'status block without a Pid: line', 'Pid');
    return;
  }
  yield sighting(b.tid === null ? b.line : b.tidLine, b.pid ?? b.pathPid, tid, b.name);
}

// ---------------------------------------------------------------------------------------------

/** The layout of a first (non-blank) line, or null when it starts none. */
function layoutOf(line: string): ThreadListLayout | null {
  if (HEAD.test(line)) return 'proc-head';
  if (GREP.test(line)) return 'proc-grep';
  if (line.startsWith('Name:')) return 'proc-status';
  if (parsePsHeader(line) !== null) return 'ps';
  if (TSV.test(line)) return 'tsv';
  if (SPACE.test(line)) return 'space';
  return null;
}

/** Streams a thread listing (any layout above) into {@link ThreadSighting}s and issues. */
export async function* parseThreadList(lines: AsyncIterable<string>): AsyncGenerator<ThreadListItem> {
  let lineNo = 0;
  let layout: ThreadListLayout | null = null;
  let table: PsTable | null = null;
  let status: StatusBlock | null = null;
  /** Inside `==> path <==`: the path's ids and whether it is a comm (one line) or status file. */
  let head: { line: number; pid: number; tid: number | null; file: 'comm' | 'status'; done: boolean } | null =
    null;

  for await (const raw of lines) {
    lineNo++;
    const text = (lineNo === 1 ? raw.replace(/^\uFEFF/, '') : raw).replace(/\r$/, '');
    if (text.trim().length === 0) continue;
    layout ??= layoutOf(text);
    switch (layout) {
      case 'tsv':
      case 'space': {
        const m = (layout === 'tsv' ? TSV : SPACE).exec(text);
        if (m === null)
          yield issue(lineNo, `not a 'tid${layout === 'tsv' ? '<TAB>' : ' '}comm' line`, 'line');
        else yield named(lineNo, null, m[1] ?? '', m[2] ?? '');
        break;
      }
      case 'proc-grep': {
        const m = GREP.exec(text);
        if (m === null) {
          yield issue(lineNo, 'not a /proc/PID/task/TID/comm:name line', 'line');
          break;
        }
        const pid = linuxTid(m[1] ?? '');
        if (pid === null) yield issue(lineNo, `pid '${m[1] ?? ''}' out of range`, 'pid');
        else yield named(lineNo, pid, m[2] ?? String(pid), m[3] ?? '');
        break;
      }
      case 'proc-head': {
        const h = HEAD.exec(text);
        if (h !== null) {
          yield* endStatus(status);
          status = null;
          if (head !== null && head.file === 'comm' && !head.done)
            yield issue(lineNo - 1, 'comm block without a name', 'comm');
          const p = PROC_PATH.exec(h[1] ?? '');
          const pid = p === null ? null : linuxTid(p[1] ?? '');
          if (p === null || pid === null) {
            head = null;
            yield issue(lineNo, `'${h[1] ?? ''}' is not /proc/PID/task/TID/comm or …/status`, 'path');
            break;
          }
          const tid = p[2] === undefined ? null : linuxTid(p[2]);
          head = { line: lineNo, pid, tid, file: p[3] === 'status' ? 'status' : 'comm', done: false };
          if (head.file === 'status') status = statusBlock(lineNo, pid, tid);
          break;
        }
        if (head === null) break; // the content of a rejected block
        if (head.file === 'status') {
          yield* statusLine(status, text, lineNo);
          break;
        }
        if (head.done) {
          yield issue(lineNo, 'a second line in a comm block', 'comm');
          break;
        }
        head.done = true;
        yield named(head.line, head.pid, String(head.tid ?? head.pid), text);
        break;
      }
      case 'proc-status': {
        if (text.startsWith('Name:')) {
          yield* endStatus(status);
          status = statusBlock(lineNo, null, null);
        }
        yield* statusLine(status, text, lineNo);
        break;
      }
      case 'ps': {
        const header = parsePsHeader(text);
        if (header !== null) {
          if (table !== null) yield* table.flush();
          table = new PsTable(header);
          break;
        }
        if (table === null) break;
        const r = psRow(table.header, text, lineNo);
        if (r.ok) yield* table.add(r.row);
        else yield r.issue;
        break;
      }
      case null:
        yield issue(lineNo, 'not a thread listing line (tid comm, /proc/…/comm, status, ps)', 'line');
        break;
    }
  }
  if (table !== null) yield* table.flush();
  yield* endStatus(status);
  if (head !== null && head.file === 'comm' && !head.done)
    yield issue(lineNo, 'comm block without a name', 'comm');
}

function* statusLine(b: StatusBlock | null, text: string, lineNo: number): Generator<ThreadListItem> {
  const f = STATUS_FIELD.exec(text);
  if (f === null) {
    yield issue(lineNo, 'not a `Key:<TAB>value` status line', 'line');
    return;
  }
  if (b === null) return;
  const [, key, value = ''] = f;
  if (key === 'Name') {
    b.name = commOf(unescapeStatusName(value));
    if (b.name === null) yield issue(lineNo, `Name is empty or longer than ${MAX_NAME} characters`, 'Name');
  } else if (key === 'Tgid' || key === 'Pid') {
    const n = linuxTid(value.trim());
    if (n === null) yield issue(lineNo, `${key} '${value}' is not a Linux id`, key);
    else if (key === 'Tgid') b.pid = n;
    else {
      b.tid = n;
      b.tidLine = lineNo;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// detection

export interface ThreadListDetection {
  readonly layout: ThreadListLayout;
  readonly confidence: number;
  readonly reason: string;
}

const SNIFF_LINES = 60;

/**
 * Recognises a thread listing from the first text of a file (a cut last line is ignored unless
 * it is the only one). The `/proc` and `ps` layouts have signatures; the header-less
 * `tid comm` lines do not, so every line must fit and the confidence stays low: detection tries
 * them after every other text format (they must not take, e.g., strace's `1234 read(…` lines).
 */
export function sniffThreadList(headText: string): ThreadListDetection | null {
  const all = headText.replace(/^\uFEFF/, '').split('\n');
  if (!headText.endsWith('\n') && all.length > 1) all.pop();
  const lines: string[] = [];
  for (const raw of all) {
    const l = raw.replace(/\r$/, '');
    if (l.trim().length > 0) lines.push(l);
    if (lines.length >= SNIFF_LINES) break;
  }
  const first = lines[0];
  if (first === undefined) return null;
  const layout = layoutOf(first);
  const share = (re: RegExp): number => lines.filter((l) => re.test(l)).length / lines.length;
  switch (layout) {
    case 'proc-grep':
      return share(GREP) >= 0.9
        ? {
            layout,
            confidence: 0.95,
            reason: '`grep . /proc/PID/task/*/comm` lines (/proc/PID/task/TID/comm:name)',
          }
        : null;
    case 'proc-head': {
      const heads = lines.filter((l) => HEAD.test(l));
      const proc = heads.filter((l) => PROC_PATH.test(HEAD.exec(l)?.[1] ?? '')).length;
      return proc > 0 && proc === heads.length
        ? {
            layout,
            confidence: 0.95,
            reason: '`head /proc/PID/task/*/…` blocks (==> /proc/PID/task/TID/comm <==)',
          }
        : null;
    }
    case 'proc-status': {
      const keys = new Set(lines.map((l) => STATUS_FIELD.exec(l)?.[1]));
      const fields = lines.filter((l) => STATUS_FIELD.test(l)).length / lines.length;
      return keys.has('Pid') && keys.has('Tgid') && fields >= 0.9
        ? { layout, confidence: 0.9, reason: '/proc/PID/task/TID/status blocks (Name:, Tgid:, Pid:)' }
        : null;
    }
    case 'ps': {
      const h = parsePsHeader(first);
      if (h === null) return null;
      const rows: PsRow[] = [];
      for (const l of lines.slice(1)) {
        if (parsePsHeader(l) !== null) continue; // several listings one after the other
        const r = psRow(h, l, 0);
        if (!r.ok) return null;
        rows.push(r.row);
      }
      if (rows.length === 0) return null;
      const what =
        h.name < 0
          ? 'no name column'
          : commandLines(h, rows)
            ? `${h.columns[h.name] ?? ''} is the process command line, not a thread name`
            : `${h.columns[h.name] ?? ''} is the thread name (comm)`;
      return { layout, confidence: 0.9, reason: `ps thread table (${h.columns.join(' ')}): ${what}` };
    }
    case 'tsv':
    case 'space': {
      const re = layout === 'tsv' ? TSV : SPACE;
      for (const l of lines) {
        const m = re.exec(l);
        if (m === null || linuxTid(m[1] ?? '') === null || commOf(m[2] ?? '') === null) return null;
      }
      const sep = layout === 'tsv' ? 'TAB' : 'space';
      const base = layout === 'tsv' ? 0.6 : 0.5;
      return {
        layout,
        confidence: lines.length >= 2 ? base + 0.1 : base,
        reason: `${lines.length} header-less 'tid<${sep}>comm' lines (tids ≤ ${MAX_LINUX_TID}, names ≤ ${MAX_NAME} characters)`,
      };
    }
    case null:
      return null;
  }
}
