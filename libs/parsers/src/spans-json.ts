import type { ParseIssue } from '@threadreel/model';

/**
 * JSON document reading for the span parsers: splits a line stream into JSON documents (one per
 * line, or one spread over many lines when pretty-printed) and parses them without losing
 * 64-bit integers. `JSON.parse` turns `1763719200123456789` into a double, so integer literals
 * beyond 2^53 are first rewritten as marked strings and revived as `bigint`.
 */

/** A parsed JSON document and the 1-based line it starts on. */
export interface JsonDocument {
  readonly kind: 'doc';
  readonly line: number;
  readonly value: unknown;
}

/** Default cap on one multi-line document (characters). */
export const DEFAULT_MAX_DOCUMENT_CHARS = 64 * 1024 * 1024;

const QUOTE = 34;
const BACKSLASH = 92;
const MINUS = 45;
const DOT = 46;
const PLUS = 43;
const LBRACE = 123;
const RBRACE = 125;
const LBRACKET = 91;
const RBRACKET = 93;
const DIGIT_0 = 48;
const LOWER_E = 101;
const UPPER_E = 69;
const BOM = 0xfeff;

/** Prefix of the strings that stand for integer literals outside the safe range. */
const BIG_MARK = '\u0000\u0001int:';
/** The same prefix as JSON string text (raw control characters are not valid JSON). */
const BIG_MARK_JSON = '\\u0000\\u0001int:';

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function issue(line: number, reason: string, field?: string): ParseIssue {
  return field === undefined ? { kind: 'issue', line, reason } : { kind: 'issue', line, field, reason };
}

/**
 * Rewrites integer literals outside JSON strings whose value is not a safe integer as
 * `"<mark><digits>"`, so that {@link parseJsonExact} can revive them as bigint. Returns null when
 * the text has no such literal (the common case: a cheap pre-check skips the scan).
 */
export function quoteUnsafeIntegers(text: string): string | null {
  // Only digits right after `:`, `[` or `,` can be a literal; a string has a quote there.
  if (!/[:[,]\s*-?\d{16}/.test(text)) return null;
  const len = text.length;
  let parts: string[] | null = null;
  let last = 0;
  let inString = false;
  for (let i = 0; i < len; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
      continue;
    }
    if (c === QUOTE) {
      inString = true;
      continue;
    }
    if (c !== MINUS && !isDigit(c)) continue;
    let j = c === MINUS ? i + 1 : i;
    const digitsStart = j;
    while (j < len && isDigit(text.charCodeAt(j))) j++;
    const next = j < len ? text.charCodeAt(j) : -1;
    if (next === DOT || next === LOWER_E || next === UPPER_E) {
      // A fraction or exponent: a double by definition; skip the rest of the literal.
      while (j < len) {
        const d = text.charCodeAt(j);
        if (!isDigit(d) && d !== DOT && d !== LOWER_E && d !== UPPER_E && d !== PLUS && d !== MINUS) break;
        j++;
      }
    } else if (j - digitsStart >= 16 && text.charCodeAt(digitsStart) !== DIGIT_0) {
      const literal = text.slice(i, j);
      if (!Number.isSafeInteger(Number(literal))) {
        parts ??= [];
        parts.push(text.slice(last, i), '"', BIG_MARK_JSON, literal, '"');
        last = j;
      }
    }
    i = j - 1;
  }
  if (parts === null) return null;
  parts.push(text.slice(last));
  return parts.join('');
}

function reviveBig(_key: string, value: unknown): unknown {
  if (typeof value === 'string' && value.startsWith(BIG_MARK)) {
    const digits = value.slice(BIG_MARK.length);
    if (/^-?\d+$/.test(digits)) return BigInt(digits);
  }
  return value;
}

export type JsonParseResult =
  { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly reason: string };

/**
 * `JSON.parse` that keeps integers exact: safe integers are numbers, larger integer literals
 * are bigint. Never throws.
 */
export function parseJsonExact(text: string): JsonParseResult {
  try {
    const quoted = quoteUnsafeIntegers(text);
    const value: unknown = quoted === null ? JSON.parse(text) : JSON.parse(quoted, reviveBig);
    return { ok: true, value };
  } catch (e) {
    return { ok: false, reason: e instanceof Error ? e.message : String(e) };
  }
}

/** Net `{`/`[` nesting change of one line, ignoring brackets inside strings. */
function lineDepth(line: string): number {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) inString = true;
    else if (c === LBRACE || c === LBRACKET) depth++;
    else if (c === RBRACE || c === RBRACKET) depth--;
  }
  return depth;
}

/**
 * Whether a buffered, unbalanced document followed by a line starting with `{`/`[` in column 0
 * looks cut off (a truncated JSON line) rather than continued (`[` alone on its first line, or
 * a previous line ending in `,`/`[`/`{`, as in an array written one element per line).
 */
function mayBeTruncated(buf: readonly string[]): boolean {
  const first = (buf[0] ?? '').trim();
  if (first === '[' || first === '{') return false;
  const prev = (buf[buf.length - 1] ?? '').trimEnd();
  const end = prev.charCodeAt(prev.length - 1);
  return end !== 44 /* , */ && end !== LBRACKET && end !== LBRACE;
}

function endsDocument(line: string): boolean {
  let i = line.length - 1;
  while (i >= 0 && (line.charCodeAt(i) === 32 || line.charCodeAt(i) === 9)) i--;
  const c = line.charCodeAt(i);
  return c === RBRACE || c === RBRACKET;
}

/** The line of a `JSON.parse` error inside a multi-line document (V8 names the position). */
function errorLine(text: string, reason: string, startLine: number): number {
  const m = /at position (\d+)/.exec(reason);
  if (m === null) return startLine;
  const pos = Math.min(Number(m[1]), text.length);
  let line = startLine;
  for (let i = text.indexOf('\n'); i !== -1 && i < pos; i = text.indexOf('\n', i + 1)) line++;
  return line;
}

function isBlank(line: string): boolean {
  return line.trim().length === 0;
}

/**
 * Splits lines into JSON documents. A line whose brackets balance is a document of its own
 * (JSON lines); otherwise lines are buffered until the brackets balance (a pretty-printed
 * document). While buffering, a line starting in column 0 with `{` or `[` after a line that
 * looks cut off starts a new document, so a truncated JSON line costs one issue, not the rest
 * of the file. A document
 * growing beyond `maxChars` is dropped with an issue. Never throws (except if `lines` does).
 */
export async function* readJsonDocuments(
  lines: AsyncIterable<string>,
  maxChars: number = DEFAULT_MAX_DOCUMENT_CHARS,
): AsyncGenerator<JsonDocument | ParseIssue> {
  let lineNo = 0;
  let buf: string[] = [];
  let bufChars = 0;
  let startLine = 0;
  let depth = 0;
  let skipping = false;

  for await (const raw of lines) {
    lineNo++;
    let line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (lineNo === 1 && line.charCodeAt(0) === BOM) line = line.slice(1);
    const c0 = line.charCodeAt(0);
    const opensDocument = c0 === LBRACE || c0 === LBRACKET;
    if (skipping) {
      if (!opensDocument) continue;
      skipping = false;
    }
    if (buf.length === 0) {
      if (isBlank(line)) continue;
      if (opensDocument && endsDocument(line)) {
        // Fast path for JSON lines: a line that parses on its own is a document.
        const parsed = parseJsonExact(line);
        if (parsed.ok) {
          yield { kind: 'doc', line: lineNo, value: parsed.value };
          continue;
        }
      }
      startLine = lineNo;
      depth = 0;
    } else if (opensDocument && depth > 0 && mayBeTruncated(buf)) {
      yield issue(startLine, `truncated JSON document (a new document starts on line ${lineNo})`, 'json');
      buf = [];
      bufChars = 0;
      startLine = lineNo;
      depth = 0;
    }
    buf.push(line);
    bufChars += line.length + 1;
    depth += lineDepth(line);
    if (depth <= 0) {
      const text = buf.length === 1 ? line : buf.join('\n');
      const parsed = parseJsonExact(text);
      if (parsed.ok) yield { kind: 'doc', line: startLine, value: parsed.value };
      else yield issue(errorLine(text, parsed.reason, startLine), `invalid JSON: ${parsed.reason}`, 'json');
      buf = [];
      bufChars = 0;
      continue;
    }
    if (bufChars > maxChars) {
      yield issue(startLine, `JSON document longer than ${maxChars} characters; skipped`, 'json');
      buf = [];
      bufChars = 0;
      skipping = true;
    }
  }
  if (buf.length > 0) yield issue(startLine, 'truncated JSON document at end of input', 'json');
}
