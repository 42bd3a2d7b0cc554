import type { Nanos, ParseIssue, RuntimeClock, SourceHeader, ThreadSighting } from '@threadreel/model';
import { issue, parseDecimalScaled } from './gc-common.js';
import { checkTimeZone, isoToNanos, matchIsoPrefix } from './logs-common.js';

/**
 * `jstack [-l] PID` (and `jcmd PID Thread.print`) text → one {@link ThreadSighting} per thread
 * entry, source 'jstack', event 'snapshot'.
 *
 * A dump starts with `Full thread dump …`; the `YYYY-MM-DD HH:MM:SS` line before it is the dump
 * time (the JVM's local wall time, no zone): clock 'local-wall' (epoch ns as if the wall time were
 * UTC), or 'realtime' when `options.timeZone` (IANA) says which zone the JVM used. Without a date
 * line (a pasted dump) the clock is 'none' and timeNs null. `snapshot` is the dump's 0-based ordinal
 * in the file. A `12345:` line before the date (jcmd) gives the pid unless `options.pid` is set.
 *
 * Thread header lines, any JDK 8–21 layout:
 *   `"name" #17 [12345] daemon prio=5 os_prio=0 cpu=59.31ms elapsed=0.67s tid=0x… nid=0x606 …`
 *   `"VM Thread" os_prio=0 cpu=6.93ms elapsed=2.37s tid=0x… nid=0x5f3 runnable`
 * `#N` → runtimeThreadId (null for VM-internal threads), `nid` → tid (hex `0x…`, or decimal in
 * JDK 19+; the `[N]` of JDK 19+ is used when nid is missing), `daemon` (false when absent on a
 * Java thread, undefined on VM threads), `prio` → priority, `os_prio` → osPriority, `cpu` → cpuNs;
 * `tid=0x…` (a JVM pointer) and `elapsed` are ignored. JDK 17 prints one VM thread (the JFR
 * sampler) without its quoted name (`os_prio=0 … nid=0x601 runnable`): accepted with name null.
 * Then `java.lang.Thread.State: WAITING (parking)` → state `WAITING`; `at …` lines → topFrames (the
 * first 8, leaf first, without `at `); `- waiting to lock <0x…> (a …)`, `- locked <…>`, `- parking
 * to wait for <…>`, `- waiting on <…>` → locks (whitespace collapsed, at most 32); entries under
 * `Locked ownable synchronizers:` become `owns <0x…> (a …)`.
 *
 * `Found one Java-level deadlock:` sections become a header item `jstack.deadlock` whose value is
 * JSON `{"snapshot":n,"threads":[{"thread":"a","waiting":"waiting to lock monitor 0x… (object
 * 0x…, a …)","heldBy":"b"},…]}` (one header per cycle); the "Java stack information" that follows repeats
 * the stacks above and is skipped.
 *
 * Issues: a thread header whose `nid` cannot be read (the thread is still emitted, tid null); an
 * unknown `options.timeZone` (once); a file with no thread entry at all.
 */

export interface ParseJstackOptions {
  /** IANA zone the JVM's wall clock used: makes the dump time 'realtime'. */
  readonly timeZone?: string;
  /** Process id of the dumped JVM (jstack does not print it). */
  readonly pid?: number;
}

export type JstackParsedItem = ThreadSighting | SourceHeader | ParseIssue;

const MAX_LINE = 64 * 1024;
const MAX_FRAMES = 8;
const MAX_LOCKS = 32;
const MAX_DEADLOCK_THREADS = 64;
const DATE_RE = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/;
const HEADER_START = /^(?:#\d+|\[\d+\]|daemon|prio=|os_prio=|tid=)/;
const NAMELESS_RE = /^(?:#\d+ )?(?:daemon )?(?:prio=\d+ )?os_prio=-?\d+ .*\bnid=/;

interface Entry {
  readonly line: number;
  readonly name: string | null;
  readonly runtimeThreadId: string | null;
  readonly tid: number | null;
  readonly daemon: boolean | undefined;
  readonly priority: number | undefined;
  readonly osPriority: number | undefined;
  readonly cpuNs: Nanos | undefined;
  state: string | undefined;
  readonly frames: string[];
  readonly locks: string[];
  ownable: boolean;
}

interface HeaderParse {
  readonly entry: Entry;
  readonly nidError: string | null;
}

function smallInt(text: string | undefined): number | undefined {
  if (text === undefined || !/^-?\d{1,9}$/.test(text)) return undefined;
  return Number(text);
}

/** `0x5f4` or `1524` → number; null when unreadable. */
function parseNid(text: string): number | null {
  if (/^0x[0-9a-fA-F]{1,8}$/.test(text)) return parseInt(text.slice(2), 16);
  if (/^\d{1,10}$/.test(text)) {
    const n = Number(text);
    return n <= 0xffffffff ? n : null;
  }
  return null;
}

/** Parses the part after the quoted name. */
function parseHeaderRest(line: number, name: string | null, rest: string): HeaderParse {
  let runtimeThreadId: string | null = null;
  let bracketTid: number | null = null;
  let daemon: boolean | undefined;
  let priority: number | undefined;
  let osPriority: number | undefined;
  let cpuNs: Nanos | undefined;
  let tid: number | null = null;
  let nidError: string | null = null;
  let sawNid = false;
  for (const tok of rest.split(' ')) {
    if (tok.length === 0) continue;
    if (tok.startsWith('#') && /^#\d{1,19}$/.test(tok)) runtimeThreadId = tok.slice(1);
    else if (tok.startsWith('[') && /^\[\d{1,10}\]$/.test(tok) && !sawNid)
      bracketTid = Number(tok.slice(1, -1));
    else if (tok === 'daemon') daemon = true;
    else if (tok.startsWith('prio=')) priority = smallInt(tok.slice(5));
    else if (tok.startsWith('os_prio=')) osPriority = smallInt(tok.slice(8));
    else if (tok.startsWith('cpu=') && tok.endsWith('ms')) {
      const v = parseDecimalScaled(tok.slice(4, -2), 6);
      if (v !== null) cpuNs = v;
    } else if (tok.startsWith('nid=')) {
      sawNid = true;
      tid = parseNid(tok.slice(4));
      if (tid === null) nidError = `unreadable nid '${tok.slice(4, 40)}'`;
      break; // the state text and the stack address follow
    }
  }
  if (!sawNid) tid = bracketTid;
  if (daemon === undefined && runtimeThreadId !== null) daemon = false;
  return {
    entry: {
      line,
      name,
      runtimeThreadId,
      tid,
      daemon,
      priority,
      osPriority,
      cpuNs,
      state: undefined,
      frames: [],
      locks: [],
      ownable: false,
    },
    nidError,
  };
}

/** A thread header line → its parse; null when the line is not one. */
function parseThreadHeader(line: number, text: string): HeaderParse | null {
  if (text.charCodeAt(0) === 34 /* " */) {
    // The name may contain quotes: use the last `" ` followed by header fields.
    let at = text.lastIndexOf('" ');
    while (at > 0) {
      const rest = text.slice(at + 2);
      if (HEADER_START.test(rest)) return parseHeaderRest(line, text.slice(1, at), rest);
      at = text.lastIndexOf('" ', at - 1);
    }
    return null;
  }
  if (NAMELESS_RE.test(text)) return parseHeaderRest(line, null, text);
  return null;
}

interface DeadlockThread {
  thread: string;
  waiting?: string;
  heldBy?: string;
}

/** Streams jstack text into {@link ThreadSighting}s, deadlock headers and issues. */
export async function* parseJstack(
  lines: AsyncIterable<string>,
  options: ParseJstackOptions = {},
): AsyncGenerator<JstackParsedItem> {
  let timeZone = options.timeZone;
  let lineNo = 0;
  let pid: number | null = options.pid ?? null;
  let snapshot = -1;
  let pendingDate: { text: string; line: number } | null = null;
  let timeNs: Nanos | null = null;
  let clock: RuntimeClock = 'none';
  let current: Entry | null = null;
  let mode: 'threads' | 'deadlock' | 'deadlock-stacks' = 'threads';
  let deadlock: DeadlockThread[] = [];
  let threadsSeen = 0;

  if (timeZone !== undefined) {
    const err = checkTimeZone(timeZone);
    if (err !== null) {
      yield issue(1, `unknown time zone '${timeZone}': dump times stay local-wall (${err})`, 'timeZone');
      timeZone = undefined;
    }
  }

  const finishEntry = (): ThreadSighting | null => {
    const e = current;
    current = null;
    if (e === null) return null;
    threadsSeen++;
    return {
      kind: 'thread',
      line: e.line,
      source: 'jstack',
      clock,
      timeNs,
      snapshot: snapshot < 0 ? 0 : snapshot,
      pid,
      tid: e.tid,
      runtimeThreadId: e.runtimeThreadId,
      name: e.name,
      event: 'snapshot',
      ...(e.state === undefined ? {} : { state: e.state }),
      ...(e.daemon === undefined ? {} : { daemon: e.daemon }),
      ...(e.priority === undefined ? {} : { priority: e.priority }),
      ...(e.osPriority === undefined ? {} : { osPriority: e.osPriority }),
      ...(e.cpuNs === undefined ? {} : { cpuNs: e.cpuNs }),
      topFrames: e.frames,
      locks: e.locks,
    };
  };

  const finishDeadlock = (): SourceHeader | null => {
    if (deadlock.length === 0) return null;
    const value = JSON.stringify({ snapshot: snapshot < 0 ? 0 : snapshot, threads: deadlock });
    deadlock = [];
    return { kind: 'header', key: 'jstack.deadlock', value };
  };

  for await (const raw of lines) {
    lineNo++;
    let text = raw.length > MAX_LINE ? raw.slice(0, MAX_LINE) : raw;
    if (text.endsWith('\r')) text = text.slice(0, -1);
    if (lineNo === 1 && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    const trimmed = text.trim();

    // Dump boundaries and sections, in any mode.
    if (DATE_RE.test(text)) {
      pendingDate = { text, line: lineNo };
      continue;
    }
    if (text.startsWith('Full thread dump')) {
      const done = finishEntry();
      if (done !== null) yield done;
      const dl = finishDeadlock();
      if (dl !== null) yield dl;
      mode = 'threads';
      snapshot = snapshot < 0 ? 0 : snapshot + 1;
      timeNs = null;
      clock = 'none';
      if (pendingDate !== null) {
        const parts = matchIsoPrefix(pendingDate.text);
        const t = parts === null ? null : isoToNanos(parts, timeZone);
        if (t !== null && t.timeNs !== null) {
          timeNs = t.timeNs;
          clock = timeZone === undefined ? 'local-wall' : 'realtime';
        } else yield issue(pendingDate.line, 'unreadable dump date', 'date');
      }
      pendingDate = null;
      continue;
    }
    if (/^\d{1,10}:$/.test(text) && options.pid === undefined) {
      const n = Number(text.slice(0, -1));
      if (n > 0) pid = n;
      continue;
    }
    if (text.startsWith('Found one Java-level deadlock') || text.startsWith('Found one deadlock')) {
      const done = finishEntry();
      if (done !== null) yield done;
      const dl = finishDeadlock();
      if (dl !== null) yield dl;
      mode = 'deadlock';
      continue;
    }
    if (/^Found \d+ deadlocks?\.$/.test(trimmed)) {
      const dl = finishDeadlock();
      if (dl !== null) yield dl;
      mode = 'threads';
      continue;
    }

    if (mode === 'deadlock') {
      if (text.startsWith('Java stack information')) {
        mode = 'deadlock-stacks';
        continue;
      }
      if (text.startsWith('"') && text.endsWith('":')) {
        if (deadlock.length < MAX_DEADLOCK_THREADS) deadlock.push({ thread: text.slice(1, -2) });
        continue;
      }
      const last = deadlock[deadlock.length - 1];
      if (last === undefined) continue;
      const held = /^which is held by "(.*)"$/.exec(trimmed);
      if (held) last.heldBy = held[1] ?? '';
      else if (trimmed.startsWith('waiting ')) last.waiting = trimmed.replace(/,$/, '');
      continue;
    }
    if (mode === 'deadlock-stacks') continue;

    const header = text.length > 0 && (text[0] === '"' || text[0] === 'o' || text[0] === '#');
    if (header) {
      const h = parseThreadHeader(lineNo, text);
      if (h !== null) {
        const done = finishEntry();
        if (done !== null) yield done;
        if (snapshot < 0) snapshot = 0;
        if (h.nidError !== null) yield issue(lineNo, h.nidError, 'nid');
        current = h.entry;
        continue;
      }
    }
    if (text.startsWith('JNI global refs')) {
      const done = finishEntry();
      if (done !== null) yield done;
      continue;
    }
    const entry: Entry | null = current;
    if (entry === null) continue;
    if (trimmed.startsWith('java.lang.Thread.State:')) {
      const state = trimmed.slice(23).trim().split(' ')[0];
      if (state !== undefined && state.length > 0) entry.state = state;
    } else if (trimmed.startsWith('at ')) {
      if (entry.frames.length < MAX_FRAMES) entry.frames.push(trimmed.slice(3));
    } else if (trimmed === 'Locked ownable synchronizers:') {
      entry.ownable = true;
    } else if (trimmed.startsWith('- ')) {
      const body = trimmed.slice(2).replace(/\s+/g, ' ');
      if (body === 'None' || entry.locks.length >= MAX_LOCKS) continue;
      entry.locks.push(entry.ownable && body.startsWith('<') ? `owns ${body}` : body);
    }
  }
  const done = finishEntry();
  if (done !== null) yield done;
  const dl = finishDeadlock();
  if (dl !== null) yield dl;
  if (threadsSeen === 0 && lineNo > 0) yield issue(1, 'no thread dump entries found', 'thread');
}

/** Confident check on the first KiB: a `Full thread dump` line, or a thread header with its state line. */
export function sniffJstack(headText: string): boolean {
  const head = headText.slice(0, 1024);
  if (/^Full thread dump /m.test(head)) return true;
  return /^"[^\n]*" #\d+ [^\n]*prio=\d+ [^\n]*nid=/m.test(head) && head.includes('java.lang.Thread.State: ');
}
