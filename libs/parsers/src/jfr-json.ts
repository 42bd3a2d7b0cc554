import type {
  GcEvent,
  Nanos,
  ParseIssue,
  RuntimeEvent,
  RuntimeEventType,
  RuntimeFrame,
  RuntimeThreadRef,
  SafepointEvent,
  SourceHeader,
  StackSample,
  ThreadSighting,
} from '@threadreel/model';
import { issue } from './gc-common.js';
import { parseIsoTime } from './gc-jvm.js';

/**
 * `jfr print --json recording.jfr`: one JSON document
 * `{"recording": {"events": [ {"type": "jdk.X", "values": {…}}, … ]}}` that can be gigabytes.
 *
 * Streaming: {@link JfrEventScanner} walks the text character by character (strings skipped
 * with indexOf), finds each element of `recording.events` and hands only that element's text
 * to JSON.parse, so memory is bounded by the largest event ({@link ParseJfrJsonOptions.maxEventChars},
 * default 16 Mi chars; a bigger event is an issue and is skipped). Integers of 16+ digits are
 * quoted before JSON.parse so none loses precision. `line` of every item is the 1-based line
 * where the event's JSON starts.
 *
 * Recovery from damaged text (JSON strings never span lines, and `jfr print` closes every event
 * with `}` at one fixed indentation, learnt from the first event): a string still open at the
 * end of a line marks its event as broken; a line whose `}` sits at the event indentation while
 * the event is still nested ends the broken event there; text between events that is not an
 * object makes the scanner skip to the next `}, {` line at that indentation. Each broken event is
 * one issue. A document that ends inside an event or before `]` is reported as truncated.
 *
 * Mapping (times: `startTime` ISO text with offset → epoch ns exactly, clock 'realtime';
 * durations: ISO-8601 `PT…S` → ns exactly, read textually):
 * - `jdk.ExecutionSample`, `jdk.NativeMethodSample` → {@link StackSample}: thread from
 *   `sampledThread` (tid = `osThreadId`, runtimeThreadId = `javaThreadId`, name = `javaName` ??
 *   `osName`), weight 1 `samples`, labels `state` and `truncated` (when the stack was cut).
 * - Frames, leaf first: symbol `pkg.Class.method` (`method.type.name` with `/` → `.`, then
 *   `method.name`), dso `[java]`, addr `''` (JFR has no address), `lineNumber` (absent when < 0)
 *   and `frameType` (`Interpreted`, `JIT compiled`, `Inlined`, `Native`).
 * - `jdk.ThreadPark` (park: parkedClass, address, timeout), `jdk.JavaMonitorEnter` (monitorClass,
 *   previousOwner, address), `jdk.JavaMonitorWait` (monitorClass, notifier, timeout, address),
 *   `jdk.ThreadSleep` (timeoutNs = `time`), `jdk.SocketRead/Write` (peer `host:port`, else
 *   `address:port`; bytes), `jdk.FileRead/Write/Force` (path, bytes) → {@link RuntimeEvent} with
 *   the `eventThread` and stack. Addresses are hex text `0x…`. A timeout ≤ 0 (no timeout; JFR
 *   writes huge negative spans for "none") is left out.
 * - `jdk.ThreadStart/End` → a {@link ThreadSighting} (event start/end) of `thread` (else
 *   `eventThread`) AND a RuntimeEvent thread-start/end (instant) carrying `parentThread` and the stack.
 * - `jdk.GarbageCollection` → GcEvent (phase = `name`, e.g. G1New/G1Old/G1Full, cause, gcId,
 *   tid null). pause = `sumOfPauses` ≥ `duration`: the whole collection stopped the world (young
 *   and full GCs); concurrent cycles (G1Old, ZGC) are pause false and their stops come as
 *   `jdk.GCPhasePause` events.
 * - `jdk.GCPhasePause` and `jdk.GCPhasePauseLevel1` → GcEvent pause true (phase = `name`, tid of
 *   the VM thread). Level-1 events are sub-phases nested inside the GCPhasePause of the same gcId:
 *   do not add them to pause totals (`phaseLevel1: false` leaves them out).
 * - `jdk.SafepointBegin` + `jdk.SafepointEnd` paired by `safepointId` → SafepointEvent from begin
 *   start to end start + end duration, reachingNs = begin duration, operation = the
 *   `jdk.ExecuteVMOperation` with that safepointId. A safepoint lacking its end but with its
 *   operation is emitted from the operation's span (at the end of input); one lacking both, or an
 *   end without a begin, is counted as `jfr.unpaired.<type>`. Non-safepoint VM operations are
 *   counted as skipped.
 * - `jdk.JVMInformation` → header `jfr.pid`.
 * - Any other type: counted, emitted at the end as headers `jfr.skipped.<type>` = count.
 *
 * Issues (field named): element not an object (`event`), no `type`/`values`, unreadable
 * `startTime` (must carry an offset) or `duration`, event too large, broken or truncated JSON.
 */

export interface ParseJfrJsonOptions {
  /** Largest event text passed to JSON.parse, in UTF-16 chars (default 16 Mi). */
  readonly maxEventChars?: number;
  /** Process id for samples and sightings (the JSON does not repeat it per event). */
  readonly pid?: number;
  /** Emit `jdk.GCPhasePauseLevel1` sub-phases (default true). */
  readonly phaseLevel1?: boolean;
}

export type JfrParsedItem =
  StackSample | RuntimeEvent | ThreadSighting | GcEvent | SafepointEvent | ParseIssue | SourceHeader;

export const JFR_MAX_EVENT_CHARS = 16 * 1024 * 1024;
const MAX_DEPTH = 1024;
const MAX_KEY = 64;
const MAX_FRAMES = 4096;
const MAX_SKIPPED_TYPES = 1024;
const MAX_PENDING_SAFEPOINTS = 256;
const MAX_TEXT = 4096;

/** One element of the events array as the scanner found it. */
export interface ScannedElement {
  readonly line: number;
  /** Element text; null when it was dropped (see {@link reason}). */
  readonly text: string | null;
  readonly reason?: string;
}

const SPACE = 32;
const TAB = 9;
const CR = 13;
const QUOTE = 34;
const BACKSLASH = 92;
const OPEN_OBJ = 123;
const CLOSE_OBJ = 125;
const OPEN_ARR = 91;
const CLOSE_ARR = 93;
const COMMA = 44;
const COLON = 58;

const isWs = (c: number): boolean => c === SPACE || c === TAB || c === CR || c === 10;

/** Index of the next `"` or `\` at or after `from`, or -1. */
function nextQuoteOrEscape(s: string, from: number): number {
  const q = s.indexOf('"', from);
  const b = s.indexOf('\\', from);
  if (q < 0) return b;
  if (b < 0) return q;
  return q < b ? q : b;
}

/**
 * Incremental scanner for `{"recording":{"events":[…]}}`: feed it lines, it returns the text of
 * each complete element of the events array (an array nested under the key `events` of an object
 * stored under `recording`). Memory: the element being captured (≤ maxEventChars) plus a small
 * container stack.
 */
export class JfrEventScanner {
  // Outer structure.
  private readonly containers: number[] = []; // OPEN_OBJ | OPEN_ARR
  private readonly containerKeys: (string | null)[] = [];
  private overflowDepth = 0;
  private lastKey: string | null = null;
  private expectKey = false;
  private keyBuf: string | null = null;
  // String state (outer and captured).
  private inString = false;
  private escape = false;
  // Events array.
  private eventsLevel = -1;
  /** True once the events array was found. */
  eventsSeen = false;
  /** True once the events array was closed. */
  eventsClosed = false;
  // Capture.
  private capturing = false;
  private capKind: 'container' | 'string' | 'scalar' = 'container';
  private capDepth = 0;
  private capParts: string[] = [];
  private capChars = 0;
  private capLine = 0;
  private capOverflow = false;
  private capBroken: string | null = null;
  /** Indentation of the `}` that closes an event, learnt from the first one at a line start. */
  private closeIndent = -1;
  private skipping = false;
  private skipLine = 0;
  private readonly maxChars: number;

  constructor(maxEventChars: number = JFR_MAX_EVENT_CHARS) {
    this.maxChars = Math.max(16, maxEventChars);
  }

  private get atEventsLevel(): boolean {
    return this.eventsLevel >= 0 && this.containers.length === this.eventsLevel && this.overflowDepth === 0;
  }

  private startCapture(kind: 'container' | 'string' | 'scalar', lineNo: number): void {
    this.capturing = true;
    this.capKind = kind;
    this.capDepth = kind === 'container' ? 1 : 0;
    this.capParts = [];
    this.capChars = 0;
    this.capLine = lineNo;
    this.capOverflow = false;
    this.capBroken = null;
  }

  private appendCapture(piece: string): void {
    if (this.capOverflow) return;
    this.capChars += piece.length;
    if (this.capChars > this.maxChars) {
      this.capOverflow = true;
      this.capParts = [];
      return;
    }
    this.capParts.push(piece);
  }

  private endCapture(out: ScannedElement[], lastPiece: string, brokenReason?: string): void {
    this.appendCapture(lastPiece);
    const reason =
      brokenReason ??
      this.capBroken ??
      (this.capOverflow ? `event larger than ${this.maxChars} characters, skipped` : undefined);
    if (reason !== undefined) out.push({ line: this.capLine, text: null, reason });
    else out.push({ line: this.capLine, text: this.capParts.join('') });
    this.capturing = false;
    this.capParts = [];
    this.capChars = 0;
  }

  private indentOf(line: string): number {
    let k = 0;
    while (k < line.length && line.charCodeAt(k) === SPACE) k++;
    return k;
  }

  /** Feeds one line (without its newline); complete elements are appended to `out`. */
  feed(line: string, lineNo: number, out: ScannedElement[]): void {
    let i = 0;
    const n = line.length;
    if (this.skipping) {
      const k = this.indentOf(line);
      if (k === this.closeIndent && line.charCodeAt(k) === CLOSE_OBJ) {
        const rest = line.slice(k + 1).trim();
        if (rest.length === 0 || rest.startsWith(']') || rest.startsWith(',')) {
          // The `}` closed the broken event: resume after it (at `, {`, `]` or the next line).
          this.skipping = false;
          i = k + 1;
        }
      }
      if (this.skipping) return;
    } else if (
      this.capturing &&
      this.capKind === 'container' &&
      this.capDepth > 1 &&
      this.closeIndent >= 0 &&
      this.indentOf(line) === this.closeIndent &&
      line.charCodeAt(this.closeIndent) === CLOSE_OBJ
    ) {
      // A `}` at the event indentation while the event is still nested: the event lost a `}`.
      this.endCapture(out, '', 'unbalanced braces in event');
      this.inString = false;
      this.escape = false;
      i = this.closeIndent + 1;
    }
    let segStart = this.capturing ? i : -1;
    while (i < n) {
      if (this.inString) {
        if (this.escape) {
          this.escape = false;
          i++;
          continue;
        }
        const j = nextQuoteOrEscape(line, i);
        if (j < 0) {
          if (this.keyBuf !== null && this.keyBuf.length < MAX_KEY) this.keyBuf += line.slice(i, n);
          i = n;
          break;
        }
        if (this.keyBuf !== null && this.keyBuf.length < MAX_KEY) this.keyBuf += line.slice(i, j);
        if (line.charCodeAt(j) === BACKSLASH) {
          this.escape = true;
          i = j + 1;
          continue;
        }
        this.inString = false;
        i = j + 1;
        if (this.keyBuf !== null) {
          this.lastKey = this.keyBuf;
          this.keyBuf = null;
        }
        if (this.capturing && this.capKind === 'string') {
          this.endCapture(out, line.slice(segStart, i));
          segStart = -1;
        }
        continue;
      }
      const c = line.charCodeAt(i);
      if (this.capturing) {
        if (this.capKind === 'scalar') {
          if (isWs(c) || c === COMMA || c === CLOSE_ARR || c === CLOSE_OBJ) {
            this.endCapture(out, line.slice(segStart, i));
            segStart = -1;
            continue; // re-handle c at the events level
          }
          i++;
          continue;
        }
        if (c === QUOTE) this.inString = true;
        else if (c === OPEN_OBJ || c === OPEN_ARR) this.capDepth++;
        else if (c === CLOSE_OBJ || c === CLOSE_ARR) {
          this.capDepth--;
          if (this.capDepth === 0) {
            if (this.closeIndent < 0 && c === CLOSE_OBJ && this.indentOf(line) === i) this.closeIndent = i;
            this.endCapture(out, line.slice(segStart, i + 1));
            segStart = -1;
          }
        }
        i++;
        continue;
      }
      if (isWs(c)) {
        i++;
        continue;
      }
      if (this.atEventsLevel) {
        if (c === COMMA) {
          i++;
          continue;
        }
        if (c === CLOSE_ARR) {
          this.pop();
          this.eventsLevel = -1;
          this.eventsClosed = true;
          i++;
          continue;
        }
        if (c !== OPEN_OBJ && this.closeIndent >= 0) {
          // Pretty-printed events are objects: this is the rest of an event closed too early
          // (a stray `}`). Skip to the next line that closes an event at the event indentation.
          out.push({ line: lineNo, text: null, reason: 'unexpected text between events, skipped' });
          this.skipping = true;
          this.skipLine = lineNo;
          return;
        }
        if (c === OPEN_OBJ || c === OPEN_ARR) this.startCapture('container', lineNo);
        else if (c === QUOTE) {
          this.startCapture('string', lineNo);
          this.inString = true;
        } else this.startCapture('scalar', lineNo);
        segStart = i;
        i++;
        continue;
      }
      this.outerChar(c);
      i++;
    }
    // End of line.
    if (this.inString) {
      // JSON strings never span lines.
      this.inString = false;
      this.escape = false;
      this.keyBuf = null;
      if (this.capturing) {
        if (this.capKind === 'string') {
          this.endCapture(out, '', 'string not closed on its line');
          return;
        }
        this.capBroken ??= 'string not closed on its line';
      }
    }
    if (this.capturing) {
      if (this.capKind === 'scalar') this.endCapture(out, line.slice(segStart));
      else this.appendCapture(segStart >= 0 ? line.slice(segStart) + '\n' : '\n');
    }
  }

  private pop(): void {
    if (this.overflowDepth > 0) {
      this.overflowDepth--;
      return;
    }
    this.containers.pop();
    this.containerKeys.pop();
    this.expectKey = false;
    this.lastKey = null;
  }

  private outerChar(c: number): void {
    const top = this.containers[this.containers.length - 1];
    switch (c) {
      case QUOTE:
        this.inString = true;
        this.keyBuf = top === OPEN_OBJ && this.expectKey && this.overflowDepth === 0 ? '' : null;
        return;
      case COLON:
        this.expectKey = false;
        return;
      case COMMA:
        this.expectKey = top === OPEN_OBJ;
        return;
      case OPEN_OBJ:
      case OPEN_ARR: {
        if (this.containers.length >= MAX_DEPTH || this.overflowDepth > 0) {
          this.overflowDepth++;
          return;
        }
        const key = top === OPEN_OBJ ? this.lastKey : null;
        const parentKey = this.containerKeys[this.containerKeys.length - 1] ?? null;
        this.containers.push(c);
        this.containerKeys.push(key);
        this.expectKey = c === OPEN_OBJ;
        this.lastKey = null;
        if (c === OPEN_ARR && key === 'events' && parentKey === 'recording' && !this.eventsSeen) {
          this.eventsSeen = true;
          this.eventsLevel = this.containers.length;
        }
        return;
      }
      case CLOSE_OBJ:
      case CLOSE_ARR:
        if (this.containers.length > 0 || this.overflowDepth > 0) this.pop();
        return;
      default:
        return;
    }
  }

  /** Issues for a document that ended early; call once after the last line. */
  finish(lastLine: number): ParseIssue[] {
    const out: ParseIssue[] = [];
    if (this.capturing) {
      out.push(issue(this.capLine, 'document ends inside this event (truncated)', 'event'));
      this.capturing = false;
      this.capParts = [];
    } else if (this.skipping)
      out.push(issue(this.skipLine, 'document ends while skipping broken text (truncated)', 'event'));
    else if (!this.eventsSeen)
      out.push(issue(Math.max(1, lastLine), 'no recording.events array found', 'recording'));
    else if (!this.eventsClosed)
      out.push(issue(Math.max(1, lastLine), 'events array not closed (truncated document)', 'recording'));
    return out;
  }
}

const LONG_INT = /\d{16}/;

/** Quotes integer literals of 16+ digits (outside strings) so JSON.parse keeps them exact. */
export function quoteLongIntegers(text: string): string {
  return LONG_INT.test(text) ? quoteNumberLiterals(text, /^-?\d{16,}$/) : text;
}

/**
 * Quotes the number literals (outside strings) that `which` matches, so that JSON.parse gives
 * their text as written instead of a double: exact integers past 2^53 and decimals as printed.
 */
export function quoteNumberLiterals(text: string, which: RegExp): string {
  const parts: string[] = [];
  let last = 0;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      i++;
      while (i < n) {
        const j = nextQuoteOrEscape(text, i);
        if (j < 0) {
          i = n;
          break;
        }
        if (text.charCodeAt(j) === BACKSLASH) i = j + 2;
        else {
          i = j + 1;
          break;
        }
      }
      continue;
    }
    if (c === 45 || (c >= 48 && c <= 57)) {
      let j = i + 1;
      while (j < n) {
        const d = text.charCodeAt(j);
        if ((d >= 48 && d <= 57) || d === 46 || d === 101 || d === 69 || d === 43 || d === 45) j++;
        else break;
      }
      const tok = text.slice(i, j);
      if (which.test(tok)) {
        parts.push(text.slice(last, i), '"', tok, '"');
        last = j;
      }
      i = j;
      continue;
    }
    i++;
  }
  if (last === 0) return text;
  parts.push(text.slice(last));
  return parts.join('');
}

const DURATION_RE =
  /^(-)?P(?:(\d{1,12})D)?(?:T(?:(-?\d{1,20})H)?(?:(-?\d{1,20})M)?(?:(-?)(\d{1,20})(?:\.(\d{1,9}))?S)?)?$/;

/** ISO-8601 duration as `java.time.Duration.toString` writes it (`PT0.001234S`, `PT1H2M`, `PT-0.5S`) → ns. */
export function parseIsoDuration(text: string): bigint | null {
  const m = DURATION_RE.exec(text);
  if (!m || text === 'P' || text === 'PT' || text.endsWith('T')) return null;
  const days = BigInt(m[2] ?? '0');
  const hours = BigInt(m[3] ?? '0');
  const minutes = BigInt(m[4] ?? '0');
  let seconds = 0n;
  if (m[6] !== undefined) {
    seconds = BigInt(m[6]) * 1_000_000_000n + BigInt((m[7] ?? '').padEnd(9, '0'));
    if (m[5] === '-') seconds = -seconds;
  }
  const total = days * 86_400_000_000_000n + hours * 3_600_000_000_000n + minutes * 60_000_000_000n + seconds;
  return m[1] === '-' ? -total : total;
}

type Obj = { readonly [k: string]: unknown };

function asObj(v: unknown): Obj | null {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : null;
}

function asStr(v: unknown): string | null {
  return typeof v === 'string' ? (v.length > MAX_TEXT ? v.slice(0, MAX_TEXT) : v) : null;
}

/** A positive id that fits a JS number exactly. */
function asId(v: unknown): number | null {
  if (typeof v === 'number') return Number.isSafeInteger(v) && v > 0 ? v : null;
  if (typeof v === 'string' && /^\d{1,15}$/.test(v)) {
    const n = Number(v);
    return n > 0 ? n : null;
  }
  return null;
}

/** Non-negative integer (number or long-integer text) → bigint. */
function asBigInt(v: unknown): bigint | null {
  if (typeof v === 'number') return Number.isSafeInteger(v) && v >= 0 ? BigInt(v) : null;
  if (typeof v === 'string' && /^\d{1,20}$/.test(v)) return BigInt(v);
  return null;
}

function hexAddress(v: unknown): string | undefined {
  const b = asBigInt(v);
  return b === null || b === 0n ? undefined : `0x${b.toString(16)}`;
}

function className(v: unknown): string | undefined {
  const name = asStr(asObj(v)?.['name']);
  return name === null ? undefined : name.replaceAll('/', '.');
}

function threadRef(v: unknown): RuntimeThreadRef | null {
  const t = asObj(v);
  if (t === null) return null;
  const javaId = asId(t['javaThreadId']);
  return {
    tid: asId(t['osThreadId']),
    runtimeThreadId: javaId === null ? null : String(javaId),
    name: asStr(t['javaName']) ?? asStr(t['osName']),
  };
}

const NO_THREAD: RuntimeThreadRef = { tid: null, runtimeThreadId: null, name: null };

function readFrames(v: unknown): { frames: RuntimeFrame[]; truncated: boolean } {
  const st = asObj(v);
  if (st === null) return { frames: [], truncated: false };
  const list = Array.isArray(st['frames']) ? (st['frames'] as unknown[]) : [];
  const frames: RuntimeFrame[] = [];
  for (const f of list) {
    if (frames.length >= MAX_FRAMES) break;
    const fo = asObj(f);
    const method = asObj(fo?.['method']);
    const cls = className(method?.['type']);
    const name = asStr(method?.['name']);
    const symbol = cls === undefined || name === null ? '[unknown]' : `${cls}.${name}`;
    const ln = fo?.['lineNumber'];
    const type = asStr(fo?.['type']);
    frames.push({
      addr: '',
      symbol,
      dso: '[java]',
      ...(typeof ln === 'number' && Number.isSafeInteger(ln) && ln >= 0 ? { lineNumber: ln } : {}),
      ...(type === null ? {} : { frameType: type }),
    });
  }
  return { frames, truncated: st['truncated'] === true };
}

const RUNTIME_TYPES: ReadonlyMap<string, RuntimeEventType> = new Map<string, RuntimeEventType>([
  ['jdk.ThreadPark', 'park'],
  ['jdk.JavaMonitorEnter', 'monitor-enter'],
  ['jdk.JavaMonitorWait', 'monitor-wait'],
  ['jdk.ThreadSleep', 'sleep'],
  ['jdk.SocketRead', 'socket-read'],
  ['jdk.SocketWrite', 'socket-write'],
  ['jdk.FileRead', 'file-read'],
  ['jdk.FileWrite', 'file-write'],
  ['jdk.FileForce', 'file-force'],
]);

interface Timed {
  readonly line: number;
  readonly startNs: Nanos;
  readonly durationNs: Nanos;
  readonly tid: number | null;
}

interface PendingSafepoint {
  begin?: Timed;
  op?: Timed & { readonly name: string | null };
}

type Emit = JfrParsedItem;

class JfrMapper {
  private readonly skipped = new Map<string, number>();
  private readonly unpaired = new Map<string, number>();
  private readonly pending = new Map<number, PendingSafepoint>();
  private readonly done = new Set<number>();
  private readonly pid: number | null;
  private readonly level1: boolean;

  constructor(options: ParseJfrJsonOptions) {
    this.pid = options.pid ?? null;
    this.level1 = options.phaseLevel1 ?? true;
  }

  private count(map: Map<string, number>, key: string): void {
    const k = map.has(key) || map.size < MAX_SKIPPED_TYPES ? key : '(other)';
    map.set(k, (map.get(k) ?? 0) + 1);
  }

  map(line: number, text: string, out: Emit[]): void {
    let value: unknown;
    try {
      value = JSON.parse(quoteLongIntegers(text));
    } catch {
      out.push(issue(line, 'event is not valid JSON', 'event'));
      return;
    }
    const ev = asObj(value);
    if (ev === null) {
      out.push(issue(line, 'event is not a JSON object', 'event'));
      return;
    }
    const type = asStr(ev['type']);
    if (type === null || type.length === 0 || type.length > 256) {
      out.push(issue(line, 'event has no type', 'type'));
      return;
    }
    const values = asObj(ev['values']);
    if (values === null) {
      out.push(issue(line, `${type} event has no values object`, 'values'));
      return;
    }
    const mapped = this.mapTyped(line, type, values, out);
    if (!mapped) this.count(this.skipped, type);
  }

  private startOf(line: number, type: string, values: Obj, out: Emit[]): bigint | null {
    const text = values['startTime'];
    const t = typeof text === 'string' ? parseIsoTime(text) : null;
    if (t === null || t.offsetMinutes === undefined) {
      out.push(
        issue(line, `${type}: startTime is not an ISO time with offset (${describe(text)})`, 'startTime'),
      );
      return null;
    }
    return t.epochNs;
  }

  private durationOf(line: number, type: string, key: string, values: Obj, out: Emit[]): bigint | null {
    const text = values[key];
    const d = typeof text === 'string' ? parseIsoDuration(text) : null;
    if (d === null || d < 0n) {
      out.push(
        issue(line, `${type}: ${key} is not a non-negative ISO-8601 duration (${describe(text)})`, key),
      );
      return null;
    }
    return d;
  }

  /** Returns false when the type is not one this parser maps. */
  private mapTyped(line: number, type: string, values: Obj, out: Emit[]): boolean {
    switch (type) {
      case 'jdk.ExecutionSample':
      case 'jdk.NativeMethodSample':
        this.sample(line, type, values, out);
        return true;
      case 'jdk.ThreadStart':
      case 'jdk.ThreadEnd':
        this.threadEvent(line, type, values, out);
        return true;
      case 'jdk.GarbageCollection':
        this.gc(line, type, values, out);
        return true;
      case 'jdk.GCPhasePauseLevel1':
        if (!this.level1) return false;
        this.gcPhase(line, type, values, out);
        return true;
      case 'jdk.GCPhasePause':
        this.gcPhase(line, type, values, out);
        return true;
      case 'jdk.SafepointBegin':
      case 'jdk.SafepointEnd':
      case 'jdk.ExecuteVMOperation':
        return this.safepoint(line, type, values, out);
      case 'jdk.JVMInformation': {
        const pid = asId(values['pid']);
        if (pid !== null) out.push({ kind: 'header', key: 'jfr.pid', value: String(pid) });
        return true;
      }
      default: {
        const rt = RUNTIME_TYPES.get(type);
        if (rt === undefined) return false;
        this.runtime(line, type, rt, values, out);
        return true;
      }
    }
  }

  private sample(line: number, type: string, values: Obj, out: Emit[]): void {
    const startNs = this.startOf(line, type, values, out);
    if (startNs === null) return;
    const thread = threadRef(values['sampledThread']) ?? threadRef(values['eventThread']) ?? NO_THREAD;
    const { frames, truncated } = readFrames(values['stackTrace']);
    const state = asStr(values['state']);
    const labels: Record<string, string> = {};
    if (state !== null) labels['state'] = state;
    if (truncated) labels['truncated'] = 'true';
    const s: StackSample = {
      kind: 'stack-sample',
      line,
      source: 'jfr',
      event: type,
      pid: this.pid,
      tid: thread.tid,
      runtimeThreadId: thread.runtimeThreadId,
      threadName: thread.name,
      clock: 'realtime',
      timeNs: startNs,
      weight: 1n,
      weightUnit: 'samples',
      frames,
      ...(Object.keys(labels).length > 0 ? { labels } : {}),
    };
    out.push(s);
  }

  private threadEvent(line: number, type: string, values: Obj, out: Emit[]): void {
    const startNs = this.startOf(line, type, values, out);
    if (startNs === null) return;
    const thread = threadRef(values['thread']) ?? threadRef(values['eventThread']) ?? NO_THREAD;
    const start = type === 'jdk.ThreadStart';
    out.push({
      kind: 'thread',
      line,
      source: 'jfr',
      clock: 'realtime',
      timeNs: startNs,
      pid: this.pid,
      tid: thread.tid,
      runtimeThreadId: thread.runtimeThreadId,
      name: thread.name,
      event: start ? 'start' : 'end',
    });
    const parent = start ? threadRef(values['parentThread']) : null;
    const { frames } = readFrames(values['stackTrace']);
    out.push({
      kind: 'runtime',
      line,
      source: 'jfr',
      type: start ? 'thread-start' : 'thread-end',
      event: type,
      thread,
      clock: 'realtime',
      startNs,
      durationNs: 0n,
      ...(parent === null ? {} : { parent }),
      ...(frames.length > 0 ? { frames } : {}),
    });
  }

  private runtime(line: number, type: string, rt: RuntimeEventType, values: Obj, out: Emit[]): void {
    const startNs = this.startOf(line, type, values, out);
    if (startNs === null) return;
    const durationNs = this.durationOf(line, type, 'duration', values, out);
    if (durationNs === null) return;
    const thread = threadRef(values['eventThread']) ?? NO_THREAD;
    const { frames } = readFrames(values['stackTrace']);
    const objectClass = className(values['parkedClass'] ?? values['monitorClass']);
    const address = hexAddress(values['address']);
    const prev = rt === 'monitor-enter' ? threadRef(values['previousOwner']) : null;
    const notifier = rt === 'monitor-wait' ? threadRef(values['notifier']) : null;
    const timeoutText = rt === 'sleep' ? values['time'] : values['timeout'];
    const timeout = typeof timeoutText === 'string' ? parseIsoDuration(timeoutText) : null;
    let peer: string | undefined;
    let path: string | undefined;
    let bytes: bigint | null = null;
    if (rt === 'socket-read' || rt === 'socket-write') {
      const host = asStr(values['host']);
      const addr = asStr(values['address']);
      const port = asId(values['port']);
      const h = host !== null && host.length > 0 ? host : addr;
      if (h !== null && h.length > 0) {
        const hostText = h.includes(':') ? `[${h}]` : h;
        peer = port === null ? hostText : `${hostText}:${port}`;
      }
      bytes = asBigInt(values[rt === 'socket-read' ? 'bytesRead' : 'bytesWritten']);
    } else if (rt === 'file-read' || rt === 'file-write' || rt === 'file-force') {
      path = asStr(values['path']) ?? undefined;
      if (rt !== 'file-force') bytes = asBigInt(values[rt === 'file-read' ? 'bytesRead' : 'bytesWritten']);
    }
    out.push({
      kind: 'runtime',
      line,
      source: 'jfr',
      type: rt,
      event: type,
      thread,
      clock: 'realtime',
      startNs,
      durationNs,
      ...(objectClass === undefined ? {} : { objectClass }),
      ...(address === undefined || rt === 'socket-read' || rt === 'socket-write' ? {} : { address }),
      ...(prev === null ? {} : { previousOwner: prev }),
      ...(notifier === null ? {} : { notifier }),
      ...(peer === undefined ? {} : { peer }),
      ...(path === undefined ? {} : { path }),
      ...(bytes === null ? {} : { bytes }),
      ...(timeout !== null && timeout > 0n ? { timeoutNs: timeout } : {}),
      ...(frames.length > 0 ? { frames } : {}),
    });
  }

  private gc(line: number, type: string, values: Obj, out: Emit[]): void {
    const startNs = this.startOf(line, type, values, out);
    if (startNs === null) return;
    const durationNs = this.durationOf(line, type, 'duration', values, out);
    if (durationNs === null) return;
    const sumText = values['sumOfPauses'];
    const sum = typeof sumText === 'string' ? parseIsoDuration(sumText) : null;
    const gcId = asBigInt(values['gcId']);
    const cause = asStr(values['cause']);
    out.push({
      kind: 'gc',
      line,
      runtime: 'jvm',
      phase: asStr(values['name']) ?? type,
      pause: sum !== null && sum > 0n && sum >= durationNs,
      tid: null,
      clock: 'realtime',
      startNs,
      durationNs,
      ...(gcId !== null && gcId <= 0xffffffffn ? { gcId: Number(gcId) } : {}),
      ...(cause === null ? {} : { cause }),
    });
  }

  private gcPhase(line: number, type: string, values: Obj, out: Emit[]): void {
    const startNs = this.startOf(line, type, values, out);
    if (startNs === null) return;
    const durationNs = this.durationOf(line, type, 'duration', values, out);
    if (durationNs === null) return;
    const gcId = asBigInt(values['gcId']);
    out.push({
      kind: 'gc',
      line,
      runtime: 'jvm',
      phase: asStr(values['name']) ?? type,
      pause: true,
      tid: threadRef(values['eventThread'])?.tid ?? null,
      clock: 'realtime',
      startNs,
      durationNs,
      ...(gcId !== null && gcId <= 0xffffffffn ? { gcId: Number(gcId) } : {}),
    });
  }

  private safepointEvent(p: PendingSafepoint, endLine: number, endNs: bigint | null): SafepointEvent | null {
    const b = p.begin;
    const op = p.op;
    if (b !== undefined) {
      const end = endNs ?? (op === undefined ? null : op.startNs + op.durationNs);
      if (end === null) return null;
      return {
        kind: 'safepoint',
        line: endLine,
        runtime: 'jvm',
        operation: op?.name ?? null,
        tid: b.tid,
        clock: 'realtime',
        startNs: b.startNs,
        durationNs: end > b.startNs ? end - b.startNs : 0n,
        reachingNs: b.durationNs,
      };
    }
    if (op === undefined) return null;
    return {
      kind: 'safepoint',
      line: op.line,
      runtime: 'jvm',
      operation: op.name,
      tid: op.tid,
      clock: 'realtime',
      startNs: op.startNs,
      durationNs: op.durationNs,
    };
  }

  private flushPending(id: number, p: PendingSafepoint, out: Emit[]): void {
    const ev = this.safepointEvent(p, p.begin?.line ?? p.op?.line ?? 0, null);
    if (ev !== null) out.push(ev);
    else this.count(this.unpaired, 'jdk.SafepointBegin');
    this.markDone(id);
  }

  private markDone(id: number): void {
    if (this.done.size >= MAX_PENDING_SAFEPOINTS * 4) {
      const first = this.done.values().next();
      if (first.done !== true) this.done.delete(first.value);
    }
    this.done.add(id);
  }

  private safepoint(line: number, type: string, values: Obj, out: Emit[]): boolean {
    if (type === 'jdk.ExecuteVMOperation' && values['safepoint'] !== true) return false;
    const startNs = this.startOf(line, type, values, out);
    if (startNs === null) return true;
    const durationNs = this.durationOf(line, type, 'duration', values, out);
    if (durationNs === null) return true;
    const tid = threadRef(values['eventThread'])?.tid ?? null;
    const timed: Timed = { line, startNs, durationNs, tid };
    const idBig = asBigInt(values['safepointId']);
    const id = idBig !== null && idBig <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(idBig) : null;
    if (id === null) {
      if (type === 'jdk.ExecuteVMOperation') {
        const ev = this.safepointEvent({ op: { ...timed, name: asStr(values['operation']) } }, line, null);
        if (ev !== null) out.push(ev);
      } else this.count(this.unpaired, type);
      return true;
    }
    if (this.done.has(id)) return true; // a late part of a safepoint already emitted
    let p = this.pending.get(id);
    if (p === undefined) {
      if (type === 'jdk.SafepointEnd') {
        this.count(this.unpaired, type);
        return true;
      }
      if (this.pending.size >= MAX_PENDING_SAFEPOINTS) {
        const oldest = this.pending.entries().next();
        if (oldest.done !== true) {
          this.pending.delete(oldest.value[0]);
          this.flushPending(oldest.value[0], oldest.value[1], out);
        }
      }
      p = {};
      this.pending.set(id, p);
    }
    if (type === 'jdk.SafepointBegin') p.begin = timed;
    else if (type === 'jdk.ExecuteVMOperation') p.op = { ...timed, name: asStr(values['operation']) };
    else {
      this.pending.delete(id);
      this.markDone(id);
      if (p.begin === undefined) {
        const ev = this.safepointEvent(p, line, null);
        if (ev !== null) out.push(ev);
        this.count(this.unpaired, type);
        return true;
      }
      const ev = this.safepointEvent(p, line, startNs + durationNs);
      if (ev !== null) out.push(ev);
    }
    return true;
  }

  finish(out: Emit[]): void {
    for (const [id, p] of this.pending) this.flushPending(id, p, out);
    this.pending.clear();
    const headers: SourceHeader[] = [];
    for (const [type, n] of this.unpaired)
      headers.push({ kind: 'header', key: `jfr.unpaired.${type}`, value: String(n) });
    for (const [type, n] of this.skipped)
      headers.push({ kind: 'header', key: `jfr.skipped.${type}`, value: String(n) });
    headers.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    out.push(...headers);
  }
}

function describe(v: unknown): string {
  if (v === undefined) return 'missing';
  const s = typeof v === 'string' ? `'${v}'` : JSON.stringify(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

/** Streams `jfr print --json` text into stack samples, runtime events, thread sightings, GC/safepoint events, headers and issues. */
export async function* parseJfrJson(
  lines: AsyncIterable<string>,
  options: ParseJfrJsonOptions = {},
): AsyncGenerator<JfrParsedItem> {
  const scanner = new JfrEventScanner(options.maxEventChars);
  const mapper = new JfrMapper(options);
  const elements: ScannedElement[] = [];
  const out: Emit[] = [];
  let lineNo = 0;
  for await (const raw of lines) {
    lineNo++;
    scanner.feed(lineNo === 1 && raw.charCodeAt(0) === 0xfeff ? raw.slice(1) : raw, lineNo, elements);
    if (elements.length === 0) continue;
    for (const el of elements) {
      if (el.text === null) out.push(issue(el.line, el.reason ?? 'broken event', 'event'));
      else mapper.map(el.line, el.text, out);
      if (out.length > 0) {
        yield* out;
        out.length = 0;
      }
    }
    elements.length = 0;
  }
  yield* scanner.finish(lineNo);
  mapper.finish(out);
  yield* out;
}

/** Confident check on the first KiB: the document opens with `{"recording": {"events": [`. */
export function sniffJfrJson(headText: string): boolean {
  const head = headText.slice(0, 1024).replace(/^\uFEFF/, '');
  return /^\s*\{\s*"recording"\s*:\s*\{\s*"events"\s*:\s*\[/.test(head);
}
