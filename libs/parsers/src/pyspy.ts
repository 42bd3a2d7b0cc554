import type { ParseIssue, RawFrame, SourceHeader, StackSample } from '@threadreel/model';

/**
 * py-spy profile parsers: `py-spy record --format speedscope` and `--format chrometrace`.
 *
 * Both outputs are one JSON document (py-spy writes it on one line). They are read with an
 * incremental JSON lexer that keeps number literals as text, so times and weights are converted
 * to integer nanoseconds exactly (never through a JS number), and that holds at most one token
 * plus the parser's own compact state in memory: a document of many MB on one line is fed in
 * slices. Neither parser throws: invalid input becomes {@link ParseIssue}s (a syntax error ends
 * the document, the samples read before it stay).
 *
 * Frames (both formats): leaf first; `symbol` = the Python function name, `dso` =
 * `file:line` (py-spy's own frame identity: the same function at another line is another frame;
 * just `file` when py-spy gave no line, `[unknown]` without a file), `addr` = ''. With
 * `--threads` py-spy adds a pseudo-frame `thread (<tid>): <name>` at the root (and with
 * `--subprocesses` a `process <pid>:"<cmdline>"` one before it): these are removed from the
 * frames and give the sample's OS `tid`, `threadName` and `pid`.
 *
 * `StackSample.line` is the 1-based ordinal of the sample in the file (py-spy writes the whole
 * document on one line, so a text line would not tell samples apart); issues carry the text line.
 */

export type PyspyFormat = 'pyspy-speedscope' | 'pyspy-chrometrace';
export type PyspyItem = StackSample | ParseIssue | SourceHeader;

export interface ParsePyspyOptions {
  /** Cap on frame indexes held while a speedscope document's frames are not yet read (default 64 Mi). */
  readonly maxBufferedIndexes?: number;
  /** Cap on one JSON string, in characters (default 1 Mi). */
  readonly maxStringChars?: number;
  /** Cap on one thread's stack depth in a chrome trace (default 4096). */
  readonly maxStackDepth?: number;
}

const DEFAULT_MAX_BUFFERED_INDEXES = 64 * 1024 * 1024;
const DEFAULT_MAX_STRING_CHARS = 1024 * 1024;
const DEFAULT_MAX_STACK_DEPTH = 4096;
/** Text fed to the lexer at once: bounds the token batch of a huge one-line document. */
const FEED_SLICE = 64 * 1024;
const MAX_THREADS = 65536;
const MAX_FRAMES = 4 * 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// Incremental JSON lexer (numbers kept as raw text)

const enum T {
  OpenObject,
  OpenArray,
  Close,
  Key,
  String,
  Number,
  Bool,
  Null,
}

type Token =
  | { readonly t: T.OpenObject | T.OpenArray | T.Close | T.Null; readonly line: number }
  | { readonly t: T.Key | T.String | T.Number; readonly v: string; readonly line: number }
  | { readonly t: T.Bool; readonly v: boolean; readonly line: number };

const enum Expect {
  Value,
  ValueOrEnd,
  KeyOrEnd,
  Key,
  Colon,
  Sep,
  After,
}

const NUMBER_RE = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

function isNumberChar(c: number): boolean {
  return (c >= 48 && c <= 57) || c === 45 || c === 43 || c === 46 || c === 101 || c === 69;
}

function isWs(c: number): boolean {
  return c === 32 || c === 10 || c === 13 || c === 9;
}

class JsonLexer {
  line = 1;
  error: { line: number; reason: string } | null = null;
  private readonly stack: number[] = [];
  private expect = Expect.Value;
  private mode: 'none' | 'string' | 'number' | 'literal' = 'none';
  private parts: string[] = [];
  private partChars = 0;
  private escape = false;
  private hasEscape = false;
  private isKey = false;
  private tokenLine = 1;
  /** Whether any token has started (an empty input is not a truncated document). */
  private started = false;

  constructor(private readonly maxStringChars: number) {}

  get depth(): number {
    return this.stack.length;
  }

  get done(): boolean {
    return this.expect === Expect.After && this.mode === 'none';
  }

  private fail(reason: string): void {
    this.error ??= { line: this.line, reason };
  }

  /** Lexes `text` (any slice of the document), appending complete tokens to `out`. */
  feed(text: string, out: Token[]): void {
    const len = text.length;
    let i = 0;
    while (i < len && this.error === null) {
      if (this.mode === 'string') {
        let j = i;
        while (j < len) {
          const c = text.charCodeAt(j);
          if (this.escape) this.escape = false;
          else if (c === 92) this.escape = this.hasEscape = true;
          else if (c === 34) break;
          else if (c < 0x20) {
            this.fail('control character in a string');
            return;
          }
          j++;
        }
        this.partChars += j - i;
        if (this.partChars > this.maxStringChars) {
          this.fail(`string longer than ${this.maxStringChars} characters`);
          return;
        }
        this.parts.push(text.slice(i, j));
        if (j === len) return;
        i = j + 1;
        this.finishString(out);
        continue;
      }
      if (this.mode === 'number' || this.mode === 'literal') {
        let j = i;
        const number = this.mode === 'number';
        while (j < len) {
          const c = text.charCodeAt(j);
          if (number ? !isNumberChar(c) : c < 97 || c > 122) break;
          j++;
        }
        this.partChars += j - i;
        if (this.partChars > 400) {
          this.fail('number or literal too long');
          return;
        }
        this.parts.push(text.slice(i, j));
        if (j === len) return;
        i = j;
        this.finishScalar(out);
        continue;
      }
      const c = text.charCodeAt(i);
      if (c === 10) {
        this.line++;
        i++;
        continue;
      }
      if (isWs(c)) {
        i++;
        continue;
      }
      i++;
      this.started = true;
      this.punct(c, out);
    }
  }

  /** Call at the end of input; appends the last token (a top-level number) if any. */
  end(out: Token[]): void {
    if (this.error !== null) return;
    if (this.mode === 'number' || this.mode === 'literal') this.finishScalar(out);
    if (this.error === null && this.started && !this.done)
      this.fail('truncated JSON document at end of input');
  }

  private valueExpected(): boolean {
    return this.expect === Expect.Value || this.expect === Expect.ValueOrEnd;
  }

  private afterValue(): void {
    this.expect = this.stack.length === 0 ? Expect.After : Expect.Sep;
  }

  private punct(c: number, out: Token[]): void {
    const line = this.line;
    switch (c) {
      case 123: // {
      case 91: // [
        if (!this.valueExpected()) return this.unexpected(c);
        if (this.stack.length >= 512) return this.fail('JSON nested deeper than 512 levels');
        this.stack.push(c);
        out.push({ t: c === 123 ? T.OpenObject : T.OpenArray, line });
        this.expect = c === 123 ? Expect.KeyOrEnd : Expect.ValueOrEnd;
        return;
      case 125: // }
      case 93: {
        // ]
        const top = this.stack[this.stack.length - 1];
        const ok =
          c === 125
            ? top === 123 && (this.expect === Expect.KeyOrEnd || this.expect === Expect.Sep)
            : top === 91 && (this.expect === Expect.ValueOrEnd || this.expect === Expect.Sep);
        if (!ok) return this.unexpected(c);
        this.stack.pop();
        out.push({ t: T.Close, line });
        this.afterValue();
        return;
      }
      case 44: // ,
        if (this.expect !== Expect.Sep) return this.unexpected(c);
        this.expect = this.stack[this.stack.length - 1] === 123 ? Expect.Key : Expect.Value;
        return;
      case 58: // :
        if (this.expect !== Expect.Colon) return this.unexpected(c);
        this.expect = Expect.Value;
        return;
      case 34: // "
        if (this.expect === Expect.Key || this.expect === Expect.KeyOrEnd) this.isKey = true;
        else if (this.valueExpected()) this.isKey = false;
        else return this.unexpected(c);
        this.startToken('string');
        return;
      default:
        if (!this.valueExpected()) return this.unexpected(c);
        if (c === 45 || (c >= 48 && c <= 57)) this.startToken('number');
        else if (c >= 97 && c <= 122) this.startToken('literal');
        else return this.unexpected(c);
        this.parts.push(String.fromCharCode(c));
        this.partChars = 1;
    }
  }

  private unexpected(c: number): void {
    const ch = c >= 0x20 && c < 0x7f ? `'${String.fromCharCode(c)}'` : `U+${c.toString(16).padStart(4, '0')}`;
    this.fail(this.expect === Expect.After ? `unexpected ${ch} after the document` : `unexpected ${ch}`);
  }

  private startToken(mode: 'string' | 'number' | 'literal'): void {
    this.mode = mode;
    this.parts = [];
    this.partChars = 0;
    this.escape = false;
    this.hasEscape = false;
    this.tokenLine = this.line;
  }

  private finishString(out: Token[]): void {
    this.mode = 'none';
    const raw = this.parts.length === 1 ? (this.parts[0] as string) : this.parts.join('');
    this.parts = [];
    let v = raw;
    if (this.hasEscape) {
      try {
        v = JSON.parse(`"${raw}"`) as string;
      } catch {
        return this.fail('invalid escape in a string');
      }
    }
    if (this.isKey) {
      out.push({ t: T.Key, v, line: this.tokenLine });
      this.expect = Expect.Colon;
    } else {
      out.push({ t: T.String, v, line: this.tokenLine });
      this.afterValue();
    }
  }

  private finishScalar(out: Token[]): void {
    const mode = this.mode;
    this.mode = 'none';
    const raw = this.parts.join('');
    this.parts = [];
    const line = this.tokenLine;
    if (mode === 'number') {
      if (!NUMBER_RE.test(raw)) return this.fail(`invalid number '${raw.slice(0, 40)}'`);
      out.push({ t: T.Number, v: raw, line });
    } else if (raw === 'true' || raw === 'false') out.push({ t: T.Bool, v: raw === 'true', line });
    else if (raw === 'null') out.push({ t: T.Null, line });
    else return this.fail(`invalid literal '${raw.slice(0, 40)}'`);
    this.afterValue();
  }
}

/** Lexes a line stream into token batches (lines are joined with `\n`, huge lines fed in slices). */
async function* tokenBatches(
  lines: AsyncIterable<string>,
  lexer: JsonLexer,
): AsyncGenerator<readonly Token[], void, undefined> {
  let first = true;
  for await (const raw of lines) {
    if (lexer.error !== null) return;
    let line = raw;
    if (first) {
      if (line.charCodeAt(0) === 0xfeff) line = line.slice(1);
    } else {
      const out: Token[] = [];
      lexer.feed('\n', out); // may end a number token
      if (out.length > 0) yield out;
    }
    first = false;
    for (let at = 0; at < line.length || at === 0; at += FEED_SLICE) {
      const out: Token[] = [];
      lexer.feed(line.length <= FEED_SLICE ? line : line.slice(at, at + FEED_SLICE), out);
      if (out.length > 0) yield out;
      if (lexer.error !== null || line.length <= FEED_SLICE) break;
    }
  }
  const out: Token[] = [];
  lexer.end(out);
  if (out.length > 0) yield out;
}

// ---------------------------------------------------------------------------------------------
// Shared helpers

function issue(line: number, reason: string, field?: string): ParseIssue {
  const l = Number.isInteger(line) && line > 0 ? line : 1;
  return field === undefined ? { kind: 'issue', line: l, reason } : { kind: 'issue', line: l, field, reason };
}

const DECIMAL_RE = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/;

/**
 * Exact `raw × 10^scale` rounded to the nearest integer (halves away from zero), from a JSON
 * number literal's text. Null for a non-number or an absurd magnitude.
 */
export function decimalToScaled(raw: string, scale: number): bigint | null {
  const m = DECIMAL_RE.exec(raw);
  if (m === null) return null;
  const neg = m[1] === '-';
  const frac = m[3] ?? '';
  const digits = ((m[2] ?? '0') + frac).replace(/^0+(?=\d)/, '');
  const exp = Number(m[4] ?? '0') - frac.length + scale;
  if (!Number.isFinite(exp) || exp > 40 || digits.length + exp > 40) return null;
  let v: bigint;
  if (exp >= 0) v = BigInt(digits) * 10n ** BigInt(exp);
  else if (-exp > digits.length + 1) v = 0n;
  else {
    const d = 10n ** BigInt(-exp);
    const n = BigInt(digits);
    v = n / d;
    if ((n % d) * 2n >= d) v += 1n;
  }
  return neg ? -v : v;
}

const UNIT_SCALE: Readonly<Record<string, number>> = {
  seconds: 9,
  milliseconds: 6,
  microseconds: 3,
  nanoseconds: 0,
};

interface Frame {
  readonly name: string;
  readonly file: string | null;
  readonly line: number | null;
}

function rawFrame(f: Frame): RawFrame {
  const dso =
    f.file === null || f.file === ''
      ? '[unknown]'
      : f.line !== null && f.line > 0
        ? `${f.file}:${f.line}`
        : f.file;
  return { addr: '', symbol: f.name, dso };
}

interface ThreadFacts {
  pid: number | null;
  tid: number | null;
  runtimeThreadId: string | null;
  threadName: string | null;
}

const THREAD_FRAME_RE = /^thread \((\d{1,10}|0x[0-9a-fA-F]{1,16})\)(?:: ([\s\S]*))?$/;
const PROCESS_FRAME_RE = /^process (\d{1,10}):/;

function smallInt(text: string): number | null {
  const n = Number(text);
  return Number.isSafeInteger(n) && n >= 0 && n <= 0xffffffff ? n : null;
}

/**
 * How many root-side frames are py-spy pseudo-frames (`process …`, `thread (…)`); fills `facts`
 * from them. `at(i)` gives the i-th frame from the root.
 */
function stripPseudoFrames(count: number, at: (i: number) => Frame | undefined, facts: ThreadFacts): number {
  let i = 0;
  for (; i < count && i < 2; i++) {
    const f = at(i);
    if (f === undefined || (f.file !== null && f.file !== '')) break;
    const p = i === 0 ? PROCESS_FRAME_RE.exec(f.name) : null;
    if (p !== null) {
      facts.pid = smallInt(p[1] ?? '');
      continue;
    }
    const t = THREAD_FRAME_RE.exec(f.name);
    if (t === null) break;
    const id = t[1] ?? '';
    if (id.startsWith('0x')) facts.runtimeThreadId ??= id;
    else facts.tid = smallInt(id);
    if (t[2] !== undefined && t[2] !== '') facts.threadName = t[2];
    i++;
    break;
  }
  return i;
}

// ---------------------------------------------------------------------------------------------
// Speedscope

/** `Process 1234 Thread 5678 "name"`, `Thread 5678 "name"`, `Thread 0x7f… "name"`. */
const PROFILE_NAME_RE = /^(?:Process (\d{1,10}) )?Thread (\d{1,10}|0x[0-9a-fA-F]{1,16})(?: "([\s\S]*)")?$/;

/** Stands for a `shared.frames` entry that is not an object, so later indexes stay aligned. */
const INVALID_FRAME: Frame = { name: '[invalid frame]', file: null, line: null };

interface ProfileBuf {
  readonly line: number;
  type: string | null;
  name: string | null;
  unit: string | null;
  startValue: string | null;
  /** Frame indexes of all samples, root first, concatenated; -1 for a non-integer entry. */
  indexes: number[];
  /** End offset of each sample in {@link indexes}. */
  ends: number[];
  /** Raw weight literals (null for a non-number). */
  weights: (string | null)[];
  /** Set when samples/weights had the wrong shape. */
  shapeError: string | null;
  samplesSeen: boolean;
  weightsSeen: boolean;
}

type SsRole =
  'root' | 'shared' | 'frames' | 'frame' | 'profiles' | 'profile' | 'samples' | 'stack' | 'weights' | 'skip';

interface SsCtx {
  readonly role: SsRole;
  readonly array: boolean;
  key: string | null;
}

interface FrameBuf {
  name: string | null;
  file: string | null;
  line: number | null;
}

/**
 * Streams a `py-spy record --format speedscope` file (any speedscope file with `sampled`
 * profiles) into {@link StackSample}s, one per sample, leaf first.
 *
 * - Each profile is one thread: `Thread <tid> "<name>"` (`Process <pid> …` with
 *   `--subprocesses`); `tid` is the OS thread id (hex pthread ids, on macOS, go to
 *   `runtimeThreadId`). The `thread (…)` root pseudo-frame of `--threads`, when present, wins.
 * - Time: speedscope samples carry no timestamps, only weights. When `unit` is a time unit
 *   (py-spy: `seconds`, each weight 1/rate), clock is `relative` and `timeNs` = startValue + the
 *   sum of the earlier samples' weights, exactly, in ns: the sample's offset in the thread's
 *   sampled time. That is a lower bound of its real time: gaps (idle threads without `--idle`,
 *   missed samples) are invisible. `weight` is the sample's weight in ns (`weightUnit`
 *   `nanoseconds`). Other units: clock `none`, `weight` the integer weight in `samples` (unit
 *   `none`) or the unit's name.
 * - Headers: `exporter` (`py-spy@0.4.2`) and `name`.
 * - Issues: invalid or truncated JSON, a non-sampled profile, samples/weights of the wrong type
 *   or length, frame indexes that are not frames (those samples are skipped, one issue per
 *   profile), profiles whose frames never came (the document ended before `shared`).
 *
 * py-spy writes `profiles` before `shared.frames`, so profiles are held (as frame indexes and
 * weight literals, capped by `maxBufferedIndexes`) until the frames are read.
 */
export async function* parsePyspySpeedscope(
  lines: AsyncIterable<string>,
  options: ParsePyspyOptions = {},
): AsyncGenerator<PyspyItem> {
  const maxBuffered = options.maxBufferedIndexes ?? DEFAULT_MAX_BUFFERED_INDEXES;
  const lexer = new JsonLexer(options.maxStringChars ?? DEFAULT_MAX_STRING_CHARS);
  const stack: SsCtx[] = [];
  let frames: Frame[] | null = null;
  let framesBuf: Frame[] = [];
  let frame: FrameBuf | null = null;
  let profile: ProfileBuf | null = null;
  const waiting: ProfileBuf[] = [];
  let buffered = 0;
  let overflow = false;
  let ordinal = 0;
  let rootSeen = false;
  const out: PyspyItem[] = [];

  const childRole = (parent: SsCtx | undefined, array: boolean): SsRole => {
    if (parent === undefined) return array ? 'skip' : 'root';
    const key = parent.key;
    switch (parent.role) {
      case 'root':
        return key === 'shared' && !array ? 'shared' : key === 'profiles' && array ? 'profiles' : 'skip';
      case 'shared':
        return key === 'frames' && array ? 'frames' : 'skip';
      case 'frames':
        return array ? 'skip' : 'frame';
      case 'profiles':
        return array ? 'skip' : 'profile';
      case 'profile':
        if (key === 'samples') return array ? 'samples' : 'skip';
        if (key === 'weights') return array ? 'weights' : 'skip';
        return 'skip';
      case 'samples':
        return array ? 'stack' : 'skip';
      case 'frame':
      case 'stack':
      case 'weights':
      case 'skip':
        return 'skip';
    }
  };

  /** The samples of one profile, yielded one by one (a profile may hold millions). */
  function* emitProfile(p: ProfileBuf, fr: readonly Frame[]): Generator<PyspyItem> {
    if (p.type !== 'sampled') {
      yield issue(p.line, `profile type '${p.type ?? '(none)'}' is not 'sampled'; skipped`, 'type');
      return;
    }
    if (p.shapeError !== null) {
      yield issue(p.line, p.shapeError, 'samples');
      return;
    }
    if (p.ends.length !== p.weights.length)
      yield issue(
        p.line,
        `profile '${p.name ?? ''}' has ${p.ends.length} samples but ${p.weights.length} weights; the extra ones are skipped`,
        'weights',
      );
    const scale = p.unit === null ? undefined : UNIT_SCALE[p.unit];
    const timed = scale !== undefined;
    let timeNs: bigint | null = null;
    if (timed) {
      timeNs = p.startValue === null ? 0n : decimalToScaled(p.startValue, scale);
      if (timeNs === null) {
        yield issue(p.line, `startValue '${p.startValue ?? ''}' is not a number; 0 used`, 'startValue');
        timeNs = 0n;
      }
    }
    const named: ThreadFacts = { pid: null, tid: null, runtimeThreadId: null, threadName: null };
    const nm = p.name === null ? null : PROFILE_NAME_RE.exec(p.name);
    if (nm !== null) {
      named.pid = nm[1] === undefined ? null : smallInt(nm[1]);
      const id = nm[2] ?? '';
      if (id.startsWith('0x')) named.runtimeThreadId = id;
      else named.tid = smallInt(id);
      named.threadName = nm[3] ?? null;
    }
    let badFrames = 0;
    let firstBad = -1;
    let badWeights = 0;
    const n = Math.min(p.ends.length, p.weights.length);
    let start = 0;
    for (let s = 0; s < n; s++) {
      const end = p.ends[s] as number;
      const rawWeight = p.weights[s] ?? null;
      const sStart = start;
      start = end;
      let weight: bigint | null =
        rawWeight === null ? null : timed ? decimalToScaled(rawWeight, scale) : decimalToScaled(rawWeight, 0);
      if (weight !== null && weight < 0n) weight = null;
      if (weight === null) {
        badWeights++;
        continue;
      }
      let ok = true;
      for (let k = sStart; k < end; k++) {
        const ix = p.indexes[k] as number;
        if (ix < 0 || ix >= fr.length) {
          ok = false;
          break;
        }
      }
      const sampleTime = timeNs;
      if (timeNs !== null) timeNs += weight;
      if (!ok) {
        badFrames++;
        if (firstBad < 0) firstBad = s;
        continue;
      }
      const facts: ThreadFacts = { ...named };
      const depth = end - sStart;
      const skip = stripPseudoFrames(depth, (i) => fr[p.indexes[sStart + i] as number], facts);
      const frames: RawFrame[] = [];
      for (let k = end - 1; k >= sStart + skip; k--)
        frames.push(rawFrame(fr[p.indexes[k] as number] as Frame));
      ordinal++;
      yield {
        kind: 'stack-sample',
        line: ordinal,
        source: 'py-spy',
        event: 'py-spy',
        pid: facts.pid,
        tid: facts.tid,
        runtimeThreadId: facts.runtimeThreadId,
        threadName: facts.threadName,
        clock: timed ? 'relative' : 'none',
        timeNs: sampleTime,
        weight,
        weightUnit: timed ? 'nanoseconds' : p.unit === 'none' || p.unit === null ? 'samples' : p.unit,
        frames,
      };
    }
    if (badFrames > 0)
      yield issue(
        p.line,
        `profile '${p.name ?? ''}': ${badFrames} samples reference frame indexes that are not in shared.frames (${fr.length} frames; first at sample ${firstBad}); skipped`,
        'samples',
      );
    if (badWeights > 0)
      yield issue(
        p.line,
        `profile '${p.name ?? ''}': ${badWeights} weights are not non-negative numbers; those samples are skipped`,
        'weights',
      );
  }

  const release = (p: ProfileBuf): void => {
    buffered -= p.indexes.length + p.weights.length;
    p.indexes = [];
    p.ends = [];
    p.weights = [];
  };

  for await (const batch of tokenBatches(lines, lexer)) {
    for (const tok of batch) {
      const top = stack[stack.length - 1];
      if (tok.t === T.Key) {
        if (top !== undefined) top.key = tok.v;
        continue;
      }
      if (tok.t === T.Close) {
        const closed = stack.pop();
        if (closed === undefined) continue;
        if (closed.role === 'frame' && frame !== null) {
          if (framesBuf.length < MAX_FRAMES)
            framesBuf.push({ name: frame.name ?? '[unknown]', file: frame.file, line: frame.line });
          frame = null;
        } else if (closed.role === 'stack' && profile !== null) {
          profile.ends.push(profile.indexes.length);
        } else if (closed.role === 'frames') {
          frames = framesBuf;
          framesBuf = [];
          for (const p of waiting) {
            yield* out.splice(0);
            yield* emitProfile(p, frames);
            release(p);
          }
          waiting.length = 0;
        } else if (closed.role === 'profile' && profile !== null) {
          if (overflow) {
            out.push(
              issue(
                profile.line,
                `more than ${maxBuffered} frame indexes held before shared.frames; profile skipped`,
              ),
            );
            release(profile);
            overflow = false;
          } else if (frames !== null) {
            yield* out.splice(0);
            yield* emitProfile(profile, frames);
            release(profile);
          } else waiting.push(profile);
          profile = null;
        }
        const parent = stack[stack.length - 1];
        if (parent !== undefined && !parent.array) parent.key = null;
        continue;
      }
      if (top === undefined && rootSeen) continue;
      if (tok.t === T.OpenObject || tok.t === T.OpenArray) {
        const array = tok.t === T.OpenArray;
        const role = childRole(top, array);
        if (top === undefined) {
          rootSeen = true;
          if (role !== 'root') {
            out.push(issue(tok.line, 'not a speedscope document (the top level is not an object)', 'json'));
          }
        }
        if (top?.role === 'frames' && array) framesBuf.push(INVALID_FRAME);
        if (role === 'frame') frame = { name: null, file: null, line: null };
        else if (role === 'profile')
          profile = {
            line: tok.line,
            type: null,
            name: null,
            unit: null,
            startValue: null,
            indexes: [],
            ends: [],
            weights: [],
            shapeError: null,
            samplesSeen: false,
            weightsSeen: false,
          };
        else if (role === 'samples' && profile !== null) profile.samplesSeen = true;
        else if (role === 'weights' && profile !== null) profile.weightsSeen = true;
        else if (role === 'skip' && profile !== null && top !== undefined) {
          if (top.role === 'samples' || top.role === 'stack' || top.role === 'weights')
            profile.shapeError ??= `profile samples/weights hold a nested ${array ? 'array' : 'object'}`;
        }
        stack.push({ role, array, key: null });
        continue;
      }
      // A scalar.
      if (top === undefined) {
        rootSeen = true;
        out.push(issue(tok.line, 'not a speedscope document (the top level is not an object)', 'json'));
        continue;
      }
      const key = top.key;
      const str = tok.t === T.String ? tok.v : null;
      const num = tok.t === T.Number ? tok.v : null;
      switch (top.role) {
        case 'root':
          if ((key === 'exporter' || key === 'name') && str !== null)
            out.push({ kind: 'header', key, value: str } satisfies SourceHeader);
          else if (key === 'shared' || key === 'profiles')
            out.push(issue(tok.line, `'${key}' is not ${key === 'shared' ? 'an object' : 'an array'}`, key));
          break;
        case 'shared':
          if (key === 'frames') out.push(issue(tok.line, "'shared.frames' is not an array", 'frames'));
          break;
        case 'frames':
          if (framesBuf.length < MAX_FRAMES) framesBuf.push(INVALID_FRAME);
          break;
        case 'frame':
          if (frame === null) break;
          if (key === 'name' && str !== null) frame.name = str;
          else if (key === 'file' && str !== null) frame.file = str;
          else if (key === 'line' && num !== null) {
            const l = Number(num);
            frame.line = Number.isSafeInteger(l) ? l : null;
          }
          break;
        case 'profile':
          if (profile === null) break;
          if (key === 'type') profile.type = str ?? '(not a string)';
          else if (key === 'name' && str !== null) profile.name = str;
          else if (key === 'unit' && str !== null) profile.unit = str;
          else if (key === 'startValue' && num !== null) profile.startValue = num;
          else if (key === 'samples' || key === 'weights')
            profile.shapeError ??= `profile '${key}' is not an array`;
          break;
        case 'stack':
          if (profile === null) break;
          if (buffered >= maxBuffered) {
            overflow = true;
            break;
          }
          {
            const ix = num === null ? -1 : Number(num);
            profile.indexes.push(Number.isSafeInteger(ix) && ix >= 0 ? ix : -1);
            buffered++;
          }
          break;
        case 'samples':
          if (profile !== null) profile.shapeError ??= 'a profile sample is not an array of frame indexes';
          break;
        case 'weights':
          if (profile === null) break;
          if (buffered >= maxBuffered) {
            overflow = true;
            break;
          }
          profile.weights.push(num);
          buffered++;
          break;
        case 'profiles':
        case 'skip':
          break;
      }
      if (!top.array) top.key = null;
    }
    if (out.length > 0) {
      yield* out;
      out.length = 0;
    }
  }
  if (lexer.error !== null) yield issue(lexer.error.line, `invalid JSON: ${lexer.error.reason}`, 'json');
  if (profile !== null) {
    yield issue(profile.line, `profile '${profile.name ?? ''}' is cut off; skipped`, 'json');
  }
  if (waiting.length > 0) {
    const first = waiting[0] as ProfileBuf;
    yield issue(
      first.line,
      `${waiting.length} profiles were read but shared.frames never was (truncated document?); their samples are skipped`,
      'frames',
    );
  }
  if (!rootSeen && lexer.error === null) yield issue(1, 'empty input: no speedscope document', 'json');
}

// ---------------------------------------------------------------------------------------------
// Chrome trace

interface ChromeThread {
  /** Frames root first. */
  readonly stack: Frame[];
  /** Time (ns) of the last group of events, null before the first. */
  groupNs: bigint | null;
  /** Events past the depth cap that were not pushed (their E events are dropped too). */
  overflow: number;
  readonly pid: number | null;
  readonly chromeTid: string;
}

interface EventBuf {
  name: string | null;
  ph: string | null;
  ts: string | null;
  pid: string | null;
  tid: string | null;
  filename: string | null;
  line: number | null;
  argName: string | null;
  readonly startLine: number;
}

type CtRole = 'root' | 'events' | 'event' | 'args' | 'skip';

interface CtCtx {
  readonly role: CtRole;
  readonly array: boolean;
  key: string | null;
}

/**
 * Streams a `py-spy record --format chrometrace` file into {@link StackSample}s.
 *
 * py-spy writes, per thread and per sample whose stack differs from the thread's previous
 * one, `E` events for the frames that ended and `B` events for the new ones, all at the sample's
 * `ts` (µs since py-spy started: clock `relative`), and at the end `E` events closing every
 * open frame. Samples whose stack did not change leave no trace, so one StackSample stands for
 * one stack *interval*: the stack after a group of events, `timeNs` = the group's ts (exact,
 * from the literal's text), `weight` = ns until the thread's next group (`weightUnit`
 * `nanoseconds`; with `--idle` off, a thread that went idle keeps its last stack until it is
 * sampled again). A sample is emitted when its interval ends (so not in time order across
 * threads); a stack still open at the end of input (truncated file) is emitted with weight 0
 * and an issue.
 *
 * Threads: the Chrome `tid` is py-spy's Python thread id (`threading.get_ident()`, a pthread_t)
 * in py-spy 0.4 (`runtimeThreadId`); newer versions remap it to a small integer and name the
 * thread in an `M` `thread_name` event (`"<python thread id>: <name>"`), whose id is then used.
 * The OS `tid` and name come from the `thread (<tid>): <name>` root pseudo-frame (`--threads`).
 * Events other than B/E/M (e.g. X) are ignored and counted in one issue. Accepts the JSON Array
 * Format and the JSON Object Format (`{"traceEvents":[…]}`).
 */
export async function* parsePyspyChromeTrace(
  lines: AsyncIterable<string>,
  options: ParsePyspyOptions = {},
): AsyncGenerator<PyspyItem> {
  const maxDepth = options.maxStackDepth ?? DEFAULT_MAX_STACK_DEPTH;
  const lexer = new JsonLexer(options.maxStringChars ?? DEFAULT_MAX_STRING_CHARS);
  const stack: CtCtx[] = [];
  const threads = new Map<string, ChromeThread>();
  const threadNames = new Map<string, { id: string; name: string | null }>();
  let ev: EventBuf | null = null;
  let ordinal = 0;
  let rootSeen = false;
  let ignored = 0;
  let ignoredExample = '';
  let firstIgnoredLine = 0;
  let badEvents = 0;
  let firstBadLine = 0;
  let firstBadReason = '';
  let unmatchedEnds = 0;
  let lastNs: bigint | null = null;
  const out: PyspyItem[] = [];

  const sample = (th: ChromeThread, startNs: bigint, weight: bigint): StackSample => {
    const meta = threadNames.get(`${th.pid ?? ''}/${th.chromeTid}`);
    const facts: ThreadFacts = {
      pid: th.pid,
      tid: null,
      runtimeThreadId: meta?.id ?? th.chromeTid,
      threadName: meta?.name ?? null,
    };
    const skip = stripPseudoFrames(th.stack.length, (i) => th.stack[i], facts);
    const frames: RawFrame[] = [];
    for (let k = th.stack.length - 1; k >= skip; k--) frames.push(rawFrame(th.stack[k] as Frame));
    ordinal++;
    return {
      kind: 'stack-sample',
      line: ordinal,
      source: 'py-spy',
      event: 'py-spy',
      pid: facts.pid,
      tid: facts.tid,
      runtimeThreadId: facts.runtimeThreadId,
      threadName: facts.threadName,
      clock: 'relative',
      timeNs: startNs,
      weight: weight < 0n ? 0n : weight,
      weightUnit: 'nanoseconds',
      frames,
    };
  };

  const bad = (line: number, reason: string): void => {
    if (badEvents++ === 0) {
      firstBadLine = line;
      firstBadReason = reason;
    }
  };

  const handleEvent = (e: EventBuf): void => {
    const ph = e.ph;
    if (ph === 'M') {
      if (e.name === 'thread_name' && e.tid !== null && e.argName !== null) {
        const m = /^(\S+): ([\s\S]*)$/.exec(e.argName);
        if (threadNames.size < MAX_THREADS)
          threadNames.set(`${e.pid ?? ''}/${e.tid}`, {
            id: m?.[1] ?? e.tid,
            name: m === null ? e.argName : (m[2] ?? null),
          });
      }
      return;
    }
    if (ph !== 'B' && ph !== 'E') {
      if (ignored++ === 0) {
        firstIgnoredLine = e.startLine;
        ignoredExample = ph ?? '(none)';
      }
      return;
    }
    if (e.tid === null || !/^\d{1,20}$/.test(e.tid)) return bad(e.startLine, 'tid is not an integer');
    const ns = e.ts === null ? null : decimalToScaled(e.ts, 3);
    if (ns === null || ns < 0n) return bad(e.startLine, 'ts is not a non-negative number');
    if (ph === 'B' && (e.name === null || e.name === '')) return bad(e.startLine, 'B event without a name');
    const pid = e.pid === null ? null : smallInt(e.pid);
    const key = `${e.pid ?? ''}/${e.tid}`;
    let th = threads.get(key);
    if (th === undefined) {
      if (threads.size >= MAX_THREADS) return bad(e.startLine, `more than ${MAX_THREADS} threads`);
      th = { stack: [], groupNs: null, overflow: 0, pid, chromeTid: e.tid };
      threads.set(key, th);
    }
    if (th.groupNs !== ns) {
      // A new group: the stack after the previous group lasted from its ts until now.
      if (th.groupNs !== null && th.stack.length > 0) out.push(sample(th, th.groupNs, ns - th.groupNs));
      th.groupNs = ns;
    }
    if (lastNs === null || ns > lastNs) lastNs = ns;
    if (ph === 'B') {
      if (th.stack.length >= maxDepth || th.overflow > 0) {
        th.overflow++;
        return;
      }
      th.stack.push({ name: e.name ?? '', file: e.filename, line: e.line });
    } else if (th.overflow > 0) th.overflow--;
    else if (th.stack.pop() === undefined) unmatchedEnds++;
  };

  const childRole = (parent: CtCtx | undefined, array: boolean): CtRole => {
    if (parent === undefined) return array ? 'events' : 'root';
    switch (parent.role) {
      case 'root':
        return parent.key === 'traceEvents' && array ? 'events' : 'skip';
      case 'events':
        return array ? 'skip' : 'event';
      case 'event':
        return parent.key === 'args' && !array ? 'args' : 'skip';
      case 'args':
      case 'skip':
        return 'skip';
    }
  };

  for await (const batch of tokenBatches(lines, lexer)) {
    for (const tok of batch) {
      const top = stack[stack.length - 1];
      if (tok.t === T.Key) {
        if (top !== undefined) top.key = tok.v;
        continue;
      }
      if (tok.t === T.Close) {
        const closed = stack.pop();
        if (closed?.role === 'event' && ev !== null) {
          handleEvent(ev);
          ev = null;
        }
        const parent = stack[stack.length - 1];
        if (parent !== undefined && !parent.array) parent.key = null;
        continue;
      }
      if (top === undefined && rootSeen) continue;
      if (tok.t === T.OpenObject || tok.t === T.OpenArray) {
        const array = tok.t === T.OpenArray;
        if (top === undefined) rootSeen = true;
        const role = childRole(top, array);
        if (role === 'event')
          ev = {
            name: null,
            ph: null,
            ts: null,
            pid: null,
            tid: null,
            filename: null,
            line: null,
            argName: null,
            startLine: tok.line,
          };
        else if (top?.role === 'events') bad(tok.line, 'a trace event is not an object');
        stack.push({ role, array, key: null });
        continue;
      }
      if (top === undefined) {
        rootSeen = true;
        out.push(
          issue(tok.line, 'not a chrome trace (the top level is neither an array nor an object)', 'json'),
        );
        continue;
      }
      const key = top.key;
      const str = tok.t === T.String ? tok.v : null;
      const num = tok.t === T.Number ? tok.v : null;
      if (top.role === 'event' && ev !== null) {
        if (key === 'name') ev.name = str;
        else if (key === 'ph') ev.ph = str;
        else if (key === 'ts') ev.ts = num;
        else if (key === 'pid') ev.pid = num;
        else if (key === 'tid') ev.tid = num;
      } else if (top.role === 'args' && ev !== null) {
        if (key === 'filename') ev.filename = str;
        else if (key === 'line' && num !== null) {
          const l = Number(num);
          ev.line = Number.isSafeInteger(l) ? l : null;
        } else if (key === 'name') ev.argName = str;
      } else if (top.role === 'events') bad(tok.line, 'a trace event is not an object');
      if (!top.array) top.key = null;
    }
    if (out.length > 0) {
      yield* out;
      out.length = 0;
    }
  }
  if (lexer.error !== null) yield issue(lexer.error.line, `invalid JSON: ${lexer.error.reason}`, 'json');
  let open = 0;
  for (const th of threads.values()) {
    if (th.stack.length === 0 || th.groupNs === null) continue;
    open++;
    yield sample(th, th.groupNs, 0n);
  }
  const endLine = lexer.line;
  if (open > 0)
    yield issue(
      endLine,
      `${open} threads still had an open stack at the end of input (truncated trace?); their last stacks have weight 0`,
      'ph',
    );
  if (badEvents > 0)
    yield issue(firstBadLine, `${badEvents} trace events skipped (first: ${firstBadReason})`, 'json');
  if (ignored > 0)
    yield issue(
      firstIgnoredLine,
      `${ignored} trace events with a phase other than B/E/M ignored (first: '${ignoredExample}')`,
      'ph',
    );
  if (unmatchedEnds > 0) yield issue(endLine, `${unmatchedEnds} E events without a matching B event`, 'ph');
  if (!rootSeen && lexer.error === null) yield issue(1, 'empty input: no chrome trace', 'json');
}

// ---------------------------------------------------------------------------------------------
// Sniffing

/**
 * Names the py-spy output format from the first text of a file (one read chunk; the document
 * may be cut off), or null.
 */
export function sniffPyspy(headText: string): PyspyFormat | null {
  const text = headText.charCodeAt(0) === 0xfeff ? headText.slice(1) : headText;
  const head = text.slice(0, 1 << 16);
  const start = /\S/.exec(head);
  if (start === null) return null;
  const c = head[start.index];
  if (c === '{') {
    if (/"\$schema"\s*:\s*"https?:\/\/(www\.)?speedscope\.app\/file-format-schema\.json"/.test(head))
      return 'pyspy-speedscope';
    if (/"exporter"\s*:\s*"py-spy@/.test(head) && /"profiles"\s*:/.test(head)) return 'pyspy-speedscope';
    if (/"traceEvents"\s*:/.test(head) && /"cat"\s*:\s*"py-spy"/.test(head)) return 'pyspy-chrometrace';
    return null;
  }
  if (c === '[' && /"cat"\s*:\s*"py-spy"/.test(head) && /"ph"\s*:\s*"[BEMX]"/.test(head))
    return 'pyspy-chrometrace';
  return null;
}
