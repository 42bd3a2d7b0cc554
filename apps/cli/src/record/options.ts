import { UsageError } from '../errors.js';

/** What `threadreel record` was asked to do (validated, not yet checked against the system). */
export interface RecordOptions {
  pid: number;
  durationMs: number;
  /** The bundle folder; null = ./threadreel-<pid>-<timestamp>/ in the working directory. */
  out: string | null;
  perfFreq: number;
  /** `perf script --max-stack`: frames kept per call chain, leaf first; null = all. */
  maxStack: number | null;
  strace: boolean;
  jfr: boolean;
  logs: string[];
  spans: string[];
  gcLog: string | null;
  /** Server to upload the bundle to when done (validated base URL), or null. */
  upload: string | null;
  /** Capture name for the manifest and the upload. */
  name: string | null;
}

/** The record options as the generic parser in args.ts collected them. */
export interface RawRecordArgs {
  values: ReadonlyMap<string, string>;
  lists: ReadonlyMap<string, readonly string[]>;
  flags: ReadonlySet<string>;
  /** Positional arguments after `record` (none are accepted). */
  rest: readonly string[];
}

export const DEFAULT_DURATION_MS = 30_000;
export const DEFAULT_PERF_FREQ = 199;
/** A day: longer recordings are almost certainly a typo (30h for 30s). */
const MAX_DURATION_MS = 24 * 3600 * 1000;
const MAX_PERF_FREQ = 100_000;

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, min: 60_000, h: 3_600_000 };

/** `30s`, `1.5s`, `500ms`, `2m`, `1h`, or a bare number of seconds → milliseconds. */
export function parseDuration(raw: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|min|h)?$/.exec(raw.trim());
  if (match === null) {
    throw new UsageError(`--duration expects e.g. 30s, 500ms, 2m or a number of seconds, got '${raw}'`);
  }
  const ms = Math.round(Number(match[1]) * (UNITS[match[2] ?? 's'] ?? 1000));
  if (ms <= 0) throw new UsageError('--duration must be more than 0');
  if (ms > MAX_DURATION_MS) throw new UsageError(`--duration must be at most 24h, got '${raw}'`);
  return ms;
}

function parsePid(raw: string | undefined): number {
  if (raw === undefined) throw new UsageError("'record' needs --pid PID");
  if (!/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > 2 ** 22) {
    throw new UsageError(`--pid expects a process id, got '${raw}'`);
  }
  return Number(raw);
}

function parseFreq(raw: string | undefined): number {
  if (raw === undefined) return DEFAULT_PERF_FREQ;
  if (!/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > MAX_PERF_FREQ) {
    throw new UsageError(
      `--perf-freq expects samples per second between 1 and ${MAX_PERF_FREQ}, got '${raw}'`,
    );
  }
  return Number(raw);
}

function nonEmpty(option: string, paths: readonly string[]): string[] {
  for (const path of paths) if (path.trim() === '') throw new UsageError(`--${option} needs a file name`);
  return [...paths];
}

/** Validates the options of `record`; `parseServer` checks the --upload URL. */
export function parseRecordOptions(raw: RawRecordArgs, parseServer: (url: string) => string): RecordOptions {
  if (raw.rest.length > 0) {
    throw new UsageError(`'record' takes no arguments (got '${raw.rest[0]}'); use --logs/--spans for files`);
  }
  const out = raw.values.get('out');
  if (out !== undefined && out.trim() === '') throw new UsageError('--out must not be empty');
  const name = raw.values.get('name');
  if (name !== undefined && name.trim() === '') throw new UsageError('--name must not be empty');
  const gcLog = raw.values.get('gc-log');
  if (gcLog !== undefined && gcLog.trim() === '') throw new UsageError('--gc-log needs a file name');
  const upload = raw.values.get('upload');
  const durationRaw = raw.values.get('duration');
  return {
    pid: parsePid(raw.values.get('pid')),
    durationMs: durationRaw === undefined ? DEFAULT_DURATION_MS : parseDuration(durationRaw),
    out: out ?? null,
    perfFreq: parseFreq(raw.values.get('perf-freq')),
    maxStack: parseMaxStack(raw.values.get('max-stack')),
    strace: !raw.flags.has('no-strace'),
    jfr: raw.flags.has('jfr'),
    logs: nonEmpty('logs', raw.lists.get('logs') ?? []),
    spans: nonEmpty('spans', raw.lists.get('spans') ?? []),
    gcLog: gcLog ?? null,
    upload: upload === undefined ? null : parseServer(upload),
    name: name ?? null,
  };
}

/** `threadreel-<pid>-<UTC yyyymmddThhmmssZ>`, the default bundle folder name. */
export function defaultBundleName(pid: number, at: Date): string {
  const stamp = at
    .toISOString()
    .replace(/\.\d+Z$/, 'Z')
    .replace(/[-:]/g, '');
  return `threadreel-${pid}-${stamp}`;
}

function parseMaxStack(raw: string | undefined): number | null {
  if (raw === undefined) return null;
  if (!/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > 1024) {
    throw new UsageError(`--max-stack: expected a whole number from 1 to 1024, got ${JSON.stringify(raw)}`);
  }
  return Number(raw);
}
