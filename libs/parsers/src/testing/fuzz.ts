import { readLines } from '../lines.js';

/**
 * Mutation fuzzing for the streaming parsers (test support; not exported from the library index).
 *
 * Each iteration derives its own PRNG from `(seed, iteration)`, picks a seed document, applies
 * 1–3 mutations (byte flips, random bytes, truncation, line shuffles/duplication/deletion, a
 * giant line, invalid UTF-8, NUL bytes, CRLF, a splice from another seed) and feeds the mutant
 * to the parser: in `lines` mode through the repo's {@link readLines} over random-sized byte
 * chunks, in `bytes` mode as the random-sized byte chunks themselves. The first
 * `seeds.length` iterations feed the seeds unmutated.
 *
 * Asserted for every run: the parser neither throws nor rejects; it finishes within
 * `maxMsPerRun` (an async stall is caught by a timer race, a runaway synchronous stream of items
 * by a clock check after every item; a synchronous infinite loop that never yields cannot be
 * interrupted in-process and shows up as a test timeout); every item is an object with a string
 * `kind`; every `issue` has a positive integer `line` and a non-empty string `reason`.
 *
 * A violation throws an Error naming the parser, mutation, seed and iteration; {@link fuzzMutant}
 * rebuilds the exact input of that iteration for a reproduction.
 */

export interface FuzzOptions {
  /** Mutated runs, in addition to one unmutated run per seed (default 200). */
  readonly iterations?: number;
  /** PRNG seed (default 1). */
  readonly seed?: number;
  /** Longest acceptable run, in ms (default 5000). */
  readonly maxMsPerRun?: number;
  /** Size of the `giant-line` mutation's line, in bytes (default 1 MiB). */
  readonly giantLineBytes?: number;
}

export interface FuzzResult {
  /** Parser runs (unmutated seeds included). */
  readonly runs: number;
  /** Items yielded over all runs. */
  readonly items: number;
  /** Of which `issue` items. */
  readonly issues: number;
  /** Slowest run, in ms. */
  readonly maxMs: number;
}

/** The least a parser's output item must have; issues are checked for `line`/`reason` at run time. */
export interface FuzzItem {
  readonly kind: string;
}

export type LineParseFn = (lines: AsyncIterable<string>) => AsyncIterable<FuzzItem>;
export type ByteParseFn = (chunks: AsyncIterable<Uint8Array>) => AsyncIterable<FuzzItem>;
export type ParseFn = LineParseFn | ByteParseFn;
export type FuzzMode = 'lines' | 'bytes';

/** A rebuilt fuzz input: the bytes, the chunk sizes they were fed in, and the mutations applied. */
export interface FuzzMutant {
  readonly seedIndex: number;
  readonly mutations: readonly string[];
  readonly bytes: Uint8Array;
  readonly chunkSizes: readonly number[];
}

const DEFAULT_ITERATIONS = 200;
const DEFAULT_MAX_MS = 5000;
const DEFAULT_GIANT_LINE_BYTES = 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// PRNG

/** mulberry32: small, fast, deterministic. */
class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  /** Uniform in [0, 2^32). */
  u32(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  /** Uniform integer in [0, n) (n ≥ 1). */
  int(n: number): number {
    return n <= 1 ? 0 : Math.floor((this.u32() / 0x1_0000_0000) * n);
  }
  /** Uniform integer in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }
  chance(p: number): boolean {
    return this.u32() / 0x1_0000_0000 < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)] as T;
  }
}

/** Per-iteration PRNG seed: a hash of (seed, iteration), so any iteration replays on its own. */
function iterationSeed(seed: number, iteration: number): number {
  let h = (seed ^ 0x9e3779b9) >>> 0;
  h = Math.imul(h ^ (iteration + 0x7f4a7c15), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

// ---------------------------------------------------------------------------------------------
// Mutations

const LF = 0x0a;

function concat(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function insertAt(b: Uint8Array, at: number, ins: Uint8Array): Uint8Array {
  return concat([b.subarray(0, at), ins, b.subarray(at)]);
}

/** Splits at LF keeping no separators; joining with LF restores the input. */
function splitLines(b: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  let start = 0;
  for (let i = 0; i < b.length; i++) {
    if (b[i] === LF) {
      out.push(b.subarray(start, i));
      start = i + 1;
    }
  }
  out.push(b.subarray(start));
  return out;
}

function joinLines(lines: readonly Uint8Array[]): Uint8Array {
  const parts: Uint8Array[] = [];
  const nl = Uint8Array.of(LF);
  lines.forEach((l, i) => {
    if (i > 0) parts.push(nl);
    parts.push(l);
  });
  return concat(parts);
}

function randomBytes(rng: Rng, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.int(256);
  return out;
}

const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);

interface MutationContext {
  readonly rng: Rng;
  readonly seeds: readonly Uint8Array[];
  readonly giantLineBytes: number;
}

type Mutation = (b: Uint8Array, ctx: MutationContext) => Uint8Array;

const INVALID_UTF8: readonly (readonly number[])[] = [
  [0xff],
  [0xfe, 0xff],
  [0xc3], // lone lead byte
  [0x80, 0x80], // stray continuation bytes
  [0xc0, 0xaf], // overlong '/'
  [0xe0, 0x80, 0xaf], // overlong
  [0xed, 0xa0, 0x80], // UTF-16 surrogate
  [0xf4, 0x90, 0x80, 0x80], // > U+10FFFF
  [0xef, 0xbb, 0xbf], // a BOM in the middle (valid, but a surprise)
];

function giantLine(rng: Rng, b: Uint8Array, size: number): Uint8Array {
  const kind = rng.int(6);
  const fill = (unit: Uint8Array): Uint8Array => {
    const u = unit.length === 0 ? ascii('x') : unit;
    const out = new Uint8Array(size);
    out.set(u.subarray(0, Math.min(u.length, size)));
    // Doubling copies: log(size) steps.
    for (let have = Math.min(u.length, size); have < size; have *= 2)
      out.copyWithin(have, 0, Math.min(have, size - have));
    return out;
  };
  switch (kind) {
    case 0: {
      // Repeated text of the seed itself (newlines removed).
      const from = rng.int(Math.max(1, b.length));
      const piece = b.subarray(from, from + rng.range(1, 4096)).filter((c) => c !== LF);
      return fill(piece);
    }
    case 1:
      return fill(ascii(rng.pick(['[', '{"a":', '{', '"', '\\']))); // deep nesting / open string
    case 2:
      return fill(ascii(rng.pick(['9', '0', '-1', '1e9999', '.'])));
    case 3:
      return fill(ascii(rng.pick([' ', '\t', '    at ', '(', ')', ':', ' 0x'])));
    case 4:
      return fill(randomBytes(rng, 4096).map((c) => (c === LF ? 0x20 : c)));
    default:
      return fill(ascii('a'));
  }
}

const MUTATIONS: Readonly<Record<string, Mutation>> = {
  'byte-flip': (b, { rng }) => {
    if (b.length === 0) return b;
    const out = Uint8Array.from(b);
    for (let n = rng.range(1, 16); n > 0; n--) {
      const at = rng.int(out.length);
      out[at] = (out[at] ?? 0) ^ (1 << rng.int(8));
    }
    return out;
  },
  'random-bytes': (b, { rng }) => {
    const ins = randomBytes(rng, rng.range(1, 64));
    const at = rng.int(b.length + 1);
    if (rng.chance(0.5) || at + ins.length > b.length) return insertAt(b, at, ins);
    const out = Uint8Array.from(b);
    out.set(ins, at);
    return out;
  },
  truncate: (b, { rng }) => b.subarray(0, rng.int(b.length + 1)),
  'line-shuffle': (b, { rng }) => {
    const lines = splitLines(b);
    if (lines.length < 2) return b;
    if (rng.chance(0.3)) {
      // Shuffle a window.
      const start = rng.int(lines.length);
      const end = Math.min(lines.length, start + rng.range(2, 64));
      for (let i = end - 1; i > start; i--) {
        const j = start + rng.int(i - start + 1);
        [lines[i], lines[j]] = [lines[j] as Uint8Array, lines[i] as Uint8Array];
      }
    } else {
      for (let n = rng.range(1, 10); n > 0; n--) {
        const i = rng.int(lines.length);
        const j = rng.int(lines.length);
        [lines[i], lines[j]] = [lines[j] as Uint8Array, lines[i] as Uint8Array];
      }
    }
    return joinLines(lines);
  },
  'line-duplicate': (b, { rng }) => {
    const lines = splitLines(b);
    for (let n = rng.range(1, 10); n > 0; n--) {
      const i = rng.int(lines.length);
      const len = rng.range(1, 8);
      const copy = lines.slice(i, i + len);
      const at = rng.chance(0.5) ? i : rng.int(lines.length + 1);
      lines.splice(at, 0, ...copy);
    }
    return joinLines(lines);
  },
  'line-delete': (b, { rng }) => {
    const lines = splitLines(b);
    for (let n = rng.range(1, 10); n > 0 && lines.length > 0; n--)
      lines.splice(rng.int(lines.length), rng.range(1, 8));
    return joinLines(lines);
  },
  'giant-line': (b, { rng, giantLineBytes }) => {
    const lines = splitLines(b);
    lines.splice(rng.int(lines.length + 1), 0, giantLine(rng, b, giantLineBytes));
    return joinLines(lines);
  },
  'invalid-utf8': (b, { rng }) => {
    let out = b;
    for (let n = rng.range(1, 8); n > 0; n--)
      out = insertAt(out, rng.int(out.length + 1), Uint8Array.from(rng.pick(INVALID_UTF8)));
    return out;
  },
  'nul-bytes': (b, { rng }) => {
    let out = b;
    for (let n = rng.range(1, 8); n > 0; n--)
      out = insertAt(out, rng.int(out.length + 1), new Uint8Array(rng.range(1, 16)));
    return out;
  },
  crlf: (b, { rng }) => {
    const mode = rng.int(3);
    if (mode === 2) {
      // Lone CRs.
      let out = b;
      for (let n = rng.range(1, 8); n > 0; n--)
        out = insertAt(out, rng.int(out.length + 1), Uint8Array.of(0x0d));
      return out;
    }
    const lines = splitLines(b);
    const all = mode === 0;
    return joinLines(lines.map((l) => (all || rng.chance(0.5) ? concat([l, Uint8Array.of(0x0d)]) : l)));
  },
  splice: (b, { rng, seeds }) => {
    const other = rng.pick(seeds);
    const from = rng.int(other.length + 1);
    const piece = other.subarray(from, from + rng.range(1, 8192));
    return insertAt(b, rng.int(b.length + 1), piece);
  },
};

const MUTATION_NAMES = Object.keys(MUTATIONS);
/** The giant line is costly (1 MiB per run): picked about once in 25 mutations. */
const GIANT_LINE_CHANCE = 0.04;

function randomChunkSizes(rng: Rng, total: number): number[] {
  const sizes: number[] = [];
  const style = rng.int(4);
  // Tiny chunks for the first bytes only: a large input in 1-byte chunks costs seconds.
  const tinyUntil = style === 0 ? rng.range(1, 16 * 1024) : 0;
  let left = total;
  while (left > 0) {
    const n =
      total - left < tinyUntil
        ? rng.range(1, 16) // tiny chunks: every boundary case
        : style === 1
          ? rng.range(1, 4096)
          : style === 2 || style === 0
            ? rng.range(1, 65536)
            : left; // all at once
    const take = Math.min(n, left);
    sizes.push(take);
    left -= take;
  }
  return sizes;
}

/**
 * Rebuilds the input of one fuzz iteration (the same bytes and chunking {@link fuzzParser} fed),
 * for a reproduction of a reported failure.
 */
export function fuzzMutant(
  seeds: readonly Uint8Array[],
  iteration: number,
  options: Pick<FuzzOptions, 'seed' | 'giantLineBytes'> = {},
): FuzzMutant {
  const rng = new Rng(iterationSeed(options.seed ?? 1, iteration));
  const ctx: MutationContext = {
    rng,
    seeds,
    giantLineBytes: options.giantLineBytes ?? DEFAULT_GIANT_LINE_BYTES,
  };
  let seedIndex: number;
  const mutations: string[] = [];
  let bytes: Uint8Array;
  if (iteration < seeds.length) {
    seedIndex = iteration;
    bytes = seeds[seedIndex] ?? new Uint8Array(0);
  } else {
    seedIndex = rng.int(seeds.length);
    bytes = seeds[seedIndex] ?? new Uint8Array(0);
    for (let n = rng.range(1, 3); n > 0; n--) {
      const name = rng.chance(GIANT_LINE_CHANCE)
        ? 'giant-line'
        : rng.pick(MUTATION_NAMES.filter((m) => m !== 'giant-line'));
      mutations.push(name);
      bytes = (MUTATIONS[name] as Mutation)(bytes, ctx);
    }
  }
  // readLines would take a leading 1f 8b for gzip; the fuzz input is plain text.
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    bytes = Uint8Array.from(bytes);
    bytes[0] = 0x20;
  }
  return { seedIndex, mutations, bytes, chunkSizes: randomChunkSizes(rng, bytes.length) };
}

// ---------------------------------------------------------------------------------------------
// Running

// eslint-disable-next-line @typescript-eslint/require-await -- an async source, as a file stream is
async function* chunksOf(m: FuzzMutant): AsyncGenerator<Uint8Array> {
  let at = 0;
  for (const n of m.chunkSizes) {
    // Copies: a parser must not rely on a chunk staying unchanged after it is consumed.
    yield m.bytes.slice(at, at + n);
    at += n;
  }
}

class FuzzViolation extends Error {}

function checkItem(item: unknown, index: number): void {
  if (typeof item !== 'object' || item === null)
    throw new FuzzViolation(`item #${index} is not an object: ${String(item)}`);
  const o = item as { kind?: unknown; line?: unknown; reason?: unknown };
  if (typeof o.kind !== 'string') throw new FuzzViolation(`item #${index} has no string kind`);
  if (o.kind !== 'issue') return;
  if (typeof o.line !== 'number' || !Number.isInteger(o.line) || o.line < 1)
    throw new FuzzViolation(`issue #${index} has line ${String(o.line)}, not a positive integer`);
  if (typeof o.reason !== 'string' || o.reason.length === 0)
    throw new FuzzViolation(`issue #${index} has no reason`);
}

interface RunStats {
  items: number;
  issues: number;
  ms: number;
}

async function runOnce(parse: ParseFn, mode: FuzzMode, mutant: FuzzMutant, maxMs: number): Promise<RunStats> {
  const stats: RunStats = { items: 0, issues: 0, ms: 0 };
  const start = performance.now();
  const maxLineBytes = Math.max(16 * 1024 * 1024, mutant.bytes.length + 1);
  const consume = async (): Promise<void> => {
    let out: AsyncIterable<FuzzItem>;
    try {
      out =
        mode === 'lines'
          ? (parse as LineParseFn)(readLines(chunksOf(mutant), { maxLineBytes }))
          : (parse as ByteParseFn)(chunksOf(mutant));
    } catch (e) {
      throw new FuzzViolation(`parse threw synchronously: ${describeError(e)}`);
    }
    try {
      for await (const item of out) {
        checkItem(item, stats.items);
        stats.items++;
        if (item.kind === 'issue') stats.issues++;
        if (performance.now() - start > maxMs)
          throw new FuzzViolation(`still yielding items after ${maxMs} ms (${stats.items} items): runaway`);
      }
    } catch (e) {
      if (e instanceof FuzzViolation) throw e;
      throw new FuzzViolation(`parse threw: ${describeError(e)}`);
    }
  };
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new FuzzViolation(`did not finish within ${maxMs} ms (hang)`)), maxMs);
  });
  try {
    await Promise.race([consume(), timeout]);
  } finally {
    clearTimeout(timer);
  }
  stats.ms = performance.now() - start;
  if (stats.ms > maxMs) throw new FuzzViolation(`took ${stats.ms.toFixed(0)} ms, over ${maxMs} ms`);
  return stats;
}

function describeError(e: unknown): string {
  if (e instanceof Error) return `${e.name}: ${e.message}${e.stack ? `\n${e.stack}` : ''}`;
  return String(e);
}

export function fuzzParser(
  name: string,
  seeds: readonly Uint8Array[],
  parse: LineParseFn,
  mode: 'lines',
  options?: FuzzOptions,
): Promise<FuzzResult>;
export function fuzzParser(
  name: string,
  seeds: readonly Uint8Array[],
  parse: ByteParseFn,
  mode: 'bytes',
  options?: FuzzOptions,
): Promise<FuzzResult>;
/**
 * Fuzzes `parse` with mutants of `seeds` (see the module comment). Resolves with run statistics;
 * rejects with an Error naming the parser, iteration, seed and mutations on the first violation.
 */
export async function fuzzParser(
  name: string,
  seeds: readonly Uint8Array[],
  parse: ParseFn,
  mode: FuzzMode,
  options: FuzzOptions = {},
): Promise<FuzzResult> {
  if (seeds.length === 0) throw new Error(`fuzz ${name}: no seeds`);
  const seed = options.seed ?? 1;
  const iterations = options.iterations ?? DEFAULT_ITERATIONS;
  const maxMs = options.maxMsPerRun ?? DEFAULT_MAX_MS;
  const giantLineBytes = options.giantLineBytes ?? DEFAULT_GIANT_LINE_BYTES;
  const total = seeds.length + iterations;
  const result = { runs: 0, items: 0, issues: 0, maxMs: 0 };
  for (let iteration = 0; iteration < total; iteration++) {
    const mutant = fuzzMutant(seeds, iteration, { seed, giantLineBytes });
    let stats: RunStats;
    try {
      stats = await runOnce(parse, mode, mutant, maxMs);
    } catch (e) {
      const what = e instanceof Error ? e.message : String(e);
      const mutation = mutant.mutations.length === 0 ? 'none (unmutated seed)' : mutant.mutations.join('+');
      throw new Error(
        `fuzz ${name} (${mode}): ${what}\n  iteration=${iteration} seed=${seed} seedIndex=${mutant.seedIndex} ` +
          `mutation=${mutation} inputBytes=${mutant.bytes.length} chunks=${mutant.chunkSizes.length}\n` +
          `  reproduce: fuzzMutant(seeds, ${iteration}, { seed: ${seed}, giantLineBytes: ${giantLineBytes} })`,
        { cause: e },
      );
    }
    result.runs++;
    result.items += stats.items;
    result.issues += stats.issues;
    result.maxMs = Math.max(result.maxMs, stats.ms);
  }
  return result;
}
