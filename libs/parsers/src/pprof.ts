import { constants as zlibConstants, gunzipSync } from 'node:zlib';
import type { ParseIssue, RawFrame, SourceHeader, StackSample } from '@threadreel/model';
import { Profile } from 'pprof-format';

/**
 * pprof (`profile.proto`, usually gzipped: `.pb.gz`) → stack samples, decoded with
 * `pprof-format`. The whole profile is decoded in memory (the format needs it: strings,
 * locations and functions are tables the samples point into), up to
 * {@link ParsePprofOptions.maxBytes} of input and of decompressed data.
 *
 * One {@link StackSample} per pprof sample, weighted by the value of one sample type (`cpu/
 * nanoseconds` if present, else the profile's `default_sample_type`, else the last; or the one
 * named in the options). Frames are leaf first; a location with several lines (inlined functions)
 * gives one frame per line, innermost first, all with the location's address. pprof has no
 * per-sample time: `clock` is `none` unless a numeric label (`timestamp_ns`, `end_timestamp_ns`,
 * `timestamp` with unit `nanoseconds`) gives one. Profile facts (`time_nanos`, `duration_nanos`,
 * `period`, sample types, comments) come first as {@link SourceHeader}s. `line` is the 1-based
 * sample ordinal; issues about the whole profile have line 1. Never throws.
 */

export const DEFAULT_MAX_PPROF_BYTES = 512 * 1024 * 1024;

export interface ParsePprofOptions {
  /** Sample type to weigh samples by: `cpu` or `cpu/nanoseconds`. */
  readonly sampleType?: string;
  /** Cap on the input and on the decompressed profile, in bytes (default 512 MiB). */
  readonly maxBytes?: number;
}

export type PprofItem = StackSample | ParseIssue | SourceHeader;

type Numeric = number | bigint;

const GZIP_MAGIC_0 = 0x1f;
const GZIP_MAGIC_1 = 0x8b;

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function isGzip(b: Uint8Array): boolean {
  return b.length >= 2 && b[0] === GZIP_MAGIC_0 && b[1] === GZIP_MAGIC_1;
}

// ---------------------------------------------------------------------------------------------
// Wire-level check (pprof-format reads leniently: a cut field would decode silently)

function varintEnd(b: Uint8Array, pos: number, end: number): number {
  for (let i = pos; i < end && i < pos + 10; i++) if ((b[i] as number) < 0x80) return i + 1;
  return -1;
}

function varint32(b: Uint8Array, pos: number, end: number): { value: number; next: number } | null {
  let value = 0;
  for (let i = 0; i < 5 && pos + i < end; i++) {
    const c = b[pos + i] as number;
    value += (c & 0x7f) * 2 ** (7 * i);
    if (c < 0x80) return { value, next: pos + i + 1 };
  }
  return null;
}

/** Wire type of each `Profile` field; 13 (`comment`) may be packed or not. */
const PROFILE_FIELDS: Readonly<Record<number, readonly number[]>> = {
  1: [2],
  2: [2],
  3: [2],
  4: [2],
  5: [2],
  6: [2],
  7: [0],
  8: [0],
  9: [0],
  10: [0],
  11: [2],
  12: [0],
  13: [0, 2],
  14: [0],
  15: [0],
};

/** `ValueType` payload: only fields 1 and 2, varints (cut at the end of `b` is fine). */
function looksLikeValueType(b: Uint8Array, pos: number, end: number): boolean {
  while (pos < end) {
    const t = b[pos];
    if (t !== 0x08 && t !== 0x10) return false;
    const e = varintEnd(b, pos + 1, end);
    if (e < 0) return end === b.length;
    pos = e;
  }
  return true;
}

/**
 * Walks the top-level fields of a `Profile`, checking that `sample_type` and `period_type` hold
 * `ValueType`s. With `partial` the buffer may stop mid-field (a sniffed head); otherwise a cut
 * field is an error. Returns the field count and the number of `sample_type`s, or an error text.
 */
function checkProfileWire(b: Uint8Array, partial: boolean): { fields: number; sampleTypes: number } | string {
  let pos = 0;
  let fields = 0;
  let sampleTypes = 0;
  const done = () => ({ fields, sampleTypes });
  while (pos < b.length) {
    const tag = varint32(b, pos, b.length);
    if (tag === null) return partial ? done() : `field tag at byte ${pos} is cut off or over-long`;
    const field = Math.floor(tag.value / 8);
    const wire = tag.value % 8;
    const allowed = PROFILE_FIELDS[field];
    if (allowed === undefined || !allowed.includes(wire)) {
      // Unknown fields are allowed by protobuf, but pprof-format reads one-byte tags only.
      if (field < 16 || (wire !== 0 && wire !== 2))
        return `unexpected field ${field} with wire type ${wire} at byte ${pos}`;
    }
    fields++;
    if (wire === 0) {
      const e = varintEnd(b, tag.next, b.length);
      if (e < 0) return partial ? done() : `varint of field ${field} at byte ${pos} is cut off`;
      pos = e;
    } else {
      const len = varint32(b, tag.next, b.length);
      if (len === null) return partial ? done() : `length of field ${field} at byte ${pos} is cut off`;
      const end = len.next + len.value;
      if ((field === 1 || field === 11) && !looksLikeValueType(b, len.next, Math.min(end, b.length)))
        return `field ${field} at byte ${pos} is not a ValueType`;
      if (field === 1) sampleTypes++;
      if (end > b.length) {
        if (partial) return done();
        return `field ${field} at byte ${pos} declares ${len.value} bytes, only ${b.length - len.next} remain (truncated profile)`;
      }
      pos = end;
    }
  }
  return done();
}

/**
 * True when the first bytes are a pprof profile: gzip whose first decompressed bytes are one,
 * or valid `Profile` fields (at least 3 in the first 4 KiB, or all of a shorter head) among which
 * a `sample_type` holding a `ValueType`.
 */
export function sniffPprof(head: Uint8Array): boolean {
  let b = head.subarray(0, 64 * 1024);
  if (isGzip(b)) {
    try {
      b = gunzipSync(b, { finishFlush: zlibConstants.Z_SYNC_FLUSH, maxOutputLength: 64 * 1024 * 1024 });
    } catch {
      return false;
    }
  }
  b = b.subarray(0, 4096);
  if (b.length < 4) return false;
  const r = checkProfileWire(b, true);
  return typeof r !== 'string' && r.sampleTypes >= 1 && r.fields >= 3;
}

// ---------------------------------------------------------------------------------------------
// Parsing

async function readAll(
  bytes: AsyncIterable<Uint8Array>,
  max: number,
): Promise<{ data: Uint8Array } | { error: string }> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for await (const c of bytes) {
      total += c.length;
      if (total > max) return { error: `input larger than the ${max}-byte cap: not decoded` };
      chunks.push(c);
    }
  } catch (e) {
    return { error: `input error: ${errorText(e)}` };
  }
  const data = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    data.set(c, at);
    at += c.length;
  }
  return { data };
}

function hex(n: Numeric): string {
  return BigInt(n).toString(16);
}

const TID_LABELS = ['thread_id', 'thread.id', 'tid'];
const PID_LABELS = ['pid', 'process_id', 'process.pid'];
const THREAD_NAME_LABELS = ['thread_name', 'thread.name', 'thread'];
const TIME_LABELS = ['timestamp_ns', 'end_timestamp_ns', 'timestamp'];

function intLabel(v: string | undefined): number | null {
  if (v === undefined || !/^\d{1,15}$/.test(v)) return null;
  return Number(v);
}

/** Parses a pprof profile (see the module comment). */
export async function* parsePprof(
  bytes: AsyncIterable<Uint8Array>,
  options: ParsePprofOptions = {},
): AsyncGenerator<PprofItem> {
  const max = Math.max(1, options.maxBytes ?? DEFAULT_MAX_PPROF_BYTES);
  const input = await readAll(bytes, max);
  if ('error' in input) {
    yield { kind: 'issue', line: 1, reason: input.error };
    return;
  }
  let data = input.data;
  if (data.length === 0) {
    yield { kind: 'issue', line: 1, reason: 'empty input: no pprof profile' };
    return;
  }
  if (isGzip(data)) {
    try {
      data = gunzipSync(data, { maxOutputLength: max });
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      const reason =
        code === 'ERR_BUFFER_TOO_LARGE'
          ? `decompressed profile larger than the ${max}-byte cap: not decoded`
          : `cannot decompress gzip: ${errorText(e)}`;
      yield { kind: 'issue', line: 1, field: 'gzip', reason };
      return;
    }
    if (data.length === 0) {
      yield { kind: 'issue', line: 1, reason: 'empty profile (gzip of nothing)' };
      return;
    }
  }
  const wire = checkProfileWire(data, false);
  if (typeof wire === 'string') {
    yield { kind: 'issue', line: 1, reason: `not a valid pprof profile: ${wire}` };
    return;
  }
  let profile: Profile;
  try {
    profile = Profile.decode(data);
  } catch (e) {
    yield { kind: 'issue', line: 1, reason: `cannot decode the pprof profile: ${errorText(e)}` };
    return;
  }
  try {
    yield* convert(profile, options);
  } catch (e) {
    // convert() checks every reference; this only guards against a bug in it.
    yield { kind: 'issue', line: 1, reason: `unexpected error: ${errorText(e)}` };
  }
}

function* convert(profile: Profile, options: ParsePprofOptions): Generator<PprofItem> {
  const strings = profile.stringTable.strings;
  let missingStrings = 0;
  const str = (i: Numeric): string => {
    const s =
      typeof i === 'number' ? strings[i] : i < BigInt(strings.length) ? strings[Number(i)] : undefined;
    if (s === undefined) {
      missingStrings++;
      return '';
    }
    return s;
  };
  const typeName = (t: { type: Numeric; unit: Numeric }): string => `${str(t.type)}/${str(t.unit)}`;

  // Headers.
  const types = profile.sampleType.map(typeName);
  const header = (key: string, value: string): SourceHeader => ({ kind: 'header', key, value });
  if (BigInt(profile.timeNanos) !== 0n) yield header('time_nanos', String(profile.timeNanos));
  if (BigInt(profile.durationNanos) !== 0n) yield header('duration_nanos', String(profile.durationNanos));
  if (profile.periodType !== undefined) yield header('period_type', typeName(profile.periodType));
  if (BigInt(profile.period) !== 0n) yield header('period', String(profile.period));
  yield header('sample_types', types.join(' '));
  for (const c of profile.comment) yield header('comment', str(c));
  if (BigInt(profile.dropFrames) !== 0n) yield header('drop_frames', str(profile.dropFrames));
  if (BigInt(profile.keepFrames) !== 0n) yield header('keep_frames', str(profile.keepFrames));
  if (BigInt(profile.docUrl) !== 0n) yield header('doc_url', str(profile.docUrl));

  // Sample type.
  if (types.length === 0) {
    yield { kind: 'issue', line: 1, field: 'sample_type', reason: 'profile has no sample types' };
    return;
  }
  let valueIndex: number;
  const wanted = options.sampleType;
  if (wanted !== undefined && wanted !== '') {
    valueIndex = types.findIndex((t) => t === wanted || t.split('/')[0] === wanted);
    if (valueIndex < 0) {
      yield {
        kind: 'issue',
        line: 1,
        field: 'sample_type',
        reason: `sample type '${wanted}' not in the profile (${types.join(', ')})`,
      };
      return;
    }
  } else {
    valueIndex = types.indexOf('cpu/nanoseconds');
    if (valueIndex < 0 && BigInt(profile.defaultSampleType) !== 0n) {
      const d = str(profile.defaultSampleType);
      valueIndex = profile.sampleType.findIndex((t) => str(t.type) === d);
    }
    if (valueIndex < 0) valueIndex = types.length - 1;
  }
  const sampleType = profile.sampleType[valueIndex] as { type: Numeric; unit: Numeric };
  const event = `pprof:${types[valueIndex] as string}`;
  const weightUnit = str(sampleType.unit);
  yield header('sample_type', types[valueIndex] as string);

  // Tables.
  const functions = new Map<string, { name: string; filename: string }>();
  for (const f of profile.function) {
    const name = str(f.name);
    functions.set(String(f.id), { name: name !== '' ? name : str(f.systemName), filename: str(f.filename) });
  }
  const mappings = new Map<string, string>();
  for (const m of profile.mapping) mappings.set(String(m.id), str(m.filename));
  const locations = new Map<string, { frames: readonly RawFrame[]; missing: number }>();
  for (const loc of profile.location) {
    const addr = hex(loc.address);
    const mapped = BigInt(loc.mappingId) === 0n ? undefined : mappings.get(String(loc.mappingId));
    const frames: RawFrame[] = [];
    let missing = 0;
    // Line[0] is the innermost inlined function, the last one the caller: leaf first already.
    for (const line of loc.line) {
      const fn = functions.get(String(line.functionId));
      if (fn === undefined) missing++;
      const symbol = fn?.name ?? '';
      const dso = mapped !== undefined && mapped !== '' ? mapped : (fn?.filename ?? '');
      frames.push({
        addr,
        symbol: symbol !== '' ? symbol : '[unknown]',
        dso: dso !== '' ? dso : '[unknown]',
      });
    }
    if (frames.length === 0)
      frames.push({
        addr,
        symbol: '[unknown]',
        dso: mapped !== undefined && mapped !== '' ? mapped : '[unknown]',
      });
    locations.set(String(loc.id), { frames, missing });
  }

  // Samples.
  for (let i = 0; i < profile.sample.length; i++) {
    const line = i + 1;
    const sample = profile.sample[i];
    if (sample === undefined) continue;
    const value = sample.value[valueIndex];
    if (value === undefined) {
      yield {
        kind: 'issue',
        line,
        field: 'value',
        reason: `sample has ${sample.value.length} values, ${types.length} sample types`,
      };
      continue;
    }
    const frames: RawFrame[] = [];
    const problems: string[] = [];
    for (const id of sample.locationId) {
      const loc = locations.get(String(id));
      if (loc === undefined) {
        problems.push(`location ${String(id)} not in the profile`);
        frames.push({ addr: '0', symbol: '[unknown]', dso: '[unknown]' });
        continue;
      }
      if (loc.missing > 0) problems.push(`location ${String(id)} names a function not in the profile`);
      frames.push(...loc.frames);
    }
    const labels: Record<string, string> = {};
    let timeNs: bigint | null = null;
    for (const l of sample.label) {
      const key = str(l.key);
      let v: string;
      if (BigInt(l.str) !== 0n) v = str(l.str);
      else {
        const unit = BigInt(l.numUnit) !== 0n ? str(l.numUnit) : '';
        v = unit === '' ? String(l.num) : `${String(l.num)} ${unit}`;
        if (TIME_LABELS.includes(key) && (unit === '' || unit === 'nanoseconds') && BigInt(l.num) > 0n)
          timeNs = BigInt(l.num);
      }
      labels[key] = key in labels ? `${labels[key]},${v}` : v;
    }
    const firstLabel = (keys: readonly string[]): string | undefined => {
      for (const k of keys) if (k in labels) return labels[k];
      return undefined;
    };
    if (problems.length > 0)
      yield { kind: 'issue', line, field: 'location_id', reason: [...new Set(problems)].join('; ') };
    const tidText = firstLabel(TID_LABELS);
    const threadName = firstLabel(THREAD_NAME_LABELS);
    const record: StackSample = {
      kind: 'stack-sample',
      line,
      source: 'pprof',
      event,
      pid: intLabel(firstLabel(PID_LABELS)),
      tid: intLabel(tidText),
      runtimeThreadId: null,
      threadName: threadName !== undefined && !/^\d+$/.test(threadName) ? threadName : null,
      clock: timeNs === null ? 'none' : 'realtime',
      timeNs,
      weight: BigInt(value),
      weightUnit,
      frames,
      ...(Object.keys(labels).length > 0 ? { labels } : {}),
    };
    yield record;
  }
  if (missingStrings > 0)
    yield {
      kind: 'issue',
      line: 1,
      field: 'string_table',
      reason: `${missingStrings} references to strings not in the string table (read as empty)`,
    };
}
