import type { FileRole } from '@threadreel/model';
import { sniffGcFormat } from './gc.js';
import { sniffJfrJson } from './jfr-json.js';
import { sniffJstack } from './jstack.js';
import { sniffPerfHeaderOnly } from './perf-header.js';
import { sniffPprof } from './pprof.js';
import { sniffPyspy } from './pyspy.js';
import { sniffFormat } from './sniff.js';
import { sniffSpanFormat } from './spans.js';
import { sniffOtlpProto } from './spans-otlp-proto.js';
import { sniffThreadList } from './thread-list.js';
import { sniffThreadsJsonl } from './threads-jsonl.js';

/**
 * Every source format threadreel parses, the manifest roles it may serve, and content
 * detection: a file's format comes from its first bytes (decompressed when gzip), with a
 * confidence; a manifest `format` overrides it, a manifest `role` narrows it.
 */
export const SOURCE_FORMATS = [
  'perf-script',
  'perf-header',
  'strace',
  'otlp-json',
  'otlp-proto',
  'jaeger-json',
  'zipkin-json',
  'logs',
  'jvm-unified',
  'node-trace-gc',
  'go-gctrace',
  'python-gc-jsonl',
  'jfr-json',
  'jstack',
  'threads-jsonl',
  'thread-list',
  'pprof',
  'pyspy-speedscope',
  'pyspy-chrometrace',
] as const;
export type SourceFormat = (typeof SOURCE_FORMATS)[number];

/** Formats a manifest may name that are kept but not parsed, with the reason. */
export const STORED_FORMATS: Readonly<Record<string, string>> = {
  jfr: 'binary JFR is kept as recorded; its `jfr print --json` conversion (jfr-json) is what is parsed',
  'perf-map': 'perf script already resolved JIT frames with this map when the bundle was made',
  'perf-data': 'binary perf.data is kept; upload `perf script` text (threadreel record makes it)',
  'threadreel-ground-truth': 'scenario answer key, read by tests, not a trace',
};

/** Other names the manifest may use for a format. */
const ALIASES: Readonly<Record<string, SourceFormat>> = {
  'jvm-unified-log': 'jvm-unified',
  'jvm-gc': 'jvm-unified',
  'otlp-protobuf': 'otlp-proto',
  'jfr-print-json': 'jfr-json',
  speedscope: 'pyspy-speedscope',
  chrometrace: 'pyspy-chrometrace',
  'proc-threads': 'threads-jsonl',
};

/** The roles each format can fill (a manifest role outside these is a contradiction). */
export const FORMAT_ROLES: Readonly<Record<SourceFormat, readonly FileRole[]>> = {
  'perf-script': ['perf'],
  'perf-header': ['perf'],
  strace: ['strace'],
  'otlp-json': ['spans'],
  'otlp-proto': ['spans'],
  'jaeger-json': ['spans'],
  'zipkin-json': ['spans'],
  logs: ['logs'],
  'jvm-unified': ['gc'],
  'node-trace-gc': ['gc'],
  'go-gctrace': ['gc'],
  'python-gc-jsonl': ['gc'],
  'jfr-json': ['jfr'],
  jstack: ['jstack'],
  'threads-jsonl': ['threads'],
  'thread-list': ['threads'],
  pprof: ['profile'],
  'pyspy-speedscope': ['profile'],
  'pyspy-chrometrace': ['profile'],
};

/** The format named by a manifest (canonical name), or null when it is not a parsed format. */
export function canonicalFormat(name: string): SourceFormat | null {
  if ((SOURCE_FORMATS as readonly string[]).includes(name)) return name as SourceFormat;
  return ALIASES[name] ?? null;
}

/**
 * Stored formats detection can name: recognised from the content, then kept unparsed exactly as
 * if a manifest had named them, with the roles they fill.
 */
export const DETECTED_STORED_FORMATS = { 'perf-map': ['perf-map'] } as const satisfies Readonly<
  Record<string, readonly FileRole[]>
>;
export type DetectedStoredFormat = keyof typeof DETECTED_STORED_FORMATS;

export function isStoredDetection(format: string): format is DetectedStoredFormat {
  return Object.hasOwn(DETECTED_STORED_FORMATS, format);
}

export interface Detection {
  readonly format: SourceFormat | DetectedStoredFormat;
  /** 0..1: how sure the content makes us (1 = an unambiguous signature). */
  readonly confidence: number;
  readonly reason: string;
}

const MAX_LINES = 60;

function textLines(text: string): string[] {
  const out: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.trim().length === 0) continue;
    out.push(line);
    if (out.length >= MAX_LINES) break;
  }
  return out;
}

/** `[pid N] ` / `N ` prefix, optional time (`hh:mm:ss[.f]`, epoch `s.f`), then `name(` … or a signal/exit line. */
const STRACE_LINE =
  /^(?:\[pid +\d+\] |\d+ +)?(?:\d\d:\d\d:\d\d(?:\.\d+)? |\d{9,}(?:\.\d+)? )?(?:[a-z_][a-z0-9_]*\(.*(?:\) += |<unfinished \.\.\.>$)|<\.\.\. [a-z_][a-z0-9_]* resumed>|--- SIG[A-Z0-9]+ |\+\+\+ (?:exited|killed) )/;

function strace(lines: readonly string[]): Detection | null {
  if (lines.length === 0) return null;
  const hits = lines.filter((l) => STRACE_LINE.test(l)).length;
  const share = hits / lines.length;
  if (hits === 0 || share < 0.5) return null;
  return {
    format: 'strace',
    confidence: round(0.6 + 0.35 * share),
    reason: `${hits} of the first ${lines.length} lines are strace calls, signals or exits`,
  };
}

const ISO_START = /^\[?\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d/;
const SYSLOG_START = /^(?:<\d+>\d? ?)?[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d /;
const JSON_TIME =
  /"(?:time|timestamp|@timestamp|ts|asctime|date|datetime|timeUnixNano|observedTimeUnixNano)"\s*:/;
const JSON_MSG = /"(?:msg|message|body|level|severity|log\.level|severityText)"\s*:/;

function logs(lines: readonly string[]): Detection | null {
  if (lines.length === 0) return null;
  let starts = 0;
  let json = 0;
  for (const l of lines) {
    if (l.startsWith('{') && JSON_TIME.test(l) && JSON_MSG.test(l)) json++;
    else if (ISO_START.test(l) || SYSLOG_START.test(l)) starts++;
  }
  const entries = starts + json;
  // Continuation lines (stack traces) are normal in logs, so a lower share still counts.
  if (entries === 0 || entries / lines.length < 0.2) return null;
  return {
    format: 'logs',
    confidence: round(0.4 + 0.4 * (entries / lines.length)),
    reason: `${entries} of the first ${lines.length} lines start a log entry (${json} JSON, ${starts} text)`,
  };
}

/**
 * perf's JIT symbol map (`/tmp/perf-PID.map`, tools/perf/Documentation/jit-interface.txt):
 * `START SIZE symbolname` lines, START and SIZE hex (without 0x as Node `--perf-basic-prof` and
 * Python `-X perf` write them, with 0x as the JVM's `jcmd PID Compiler.perfmap` does).
 */
const PERF_MAP_LINE = /^(?:0x)?([0-9a-fA-F]{1,16}) (?:0x)?[0-9a-fA-F]{1,16} \S/;

function perfMap(text: string): Detection | null {
  const lines = text.split('\n');
  // The first chunk may end inside a line.
  if (!text.endsWith('\n') && lines.length > 1) lines.pop();
  const seen = lines.filter((l) => l.trim().length > 0).slice(0, MAX_LINES);
  if (seen.length === 0 || !seen.every((l) => PERF_MAP_LINE.test(l))) return null;
  // A tid and a name starting with hex letters can look like START SIZE: an address has hex
  // letters or more digits than any tid.
  const address = (l: string): string => PERF_MAP_LINE.exec(l)?.[1] ?? '';
  if (!seen.some((l) => /[a-fA-F]/.test(address(l)) || address(l).length > 7)) return null;
  return {
    format: 'perf-map',
    confidence: 0.85,
    reason: `${seen.length} 'START SIZE symbol' lines in hex: a perf-PID.map JIT symbol map`,
  };
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}

/**
 * Detects a file's format from its first bytes (already decompressed if the file is gzip;
 * a cut last line is fine) and its name. Returns the most confident match, or null.
 */
export function detectFormat(head: Uint8Array, fileName: string): Detection | null {
  const buf = Buffer.from(head.buffer, head.byteOffset, head.byteLength);
  if (buf.length === 0) return null;
  if (sniffPprof(buf)) return { format: 'pprof', confidence: 0.9, reason: 'pprof Profile protobuf' };
  if (sniffOtlpProto(buf))
    return { format: 'otlp-proto', confidence: 0.85, reason: 'OTLP ExportTraceServiceRequest protobuf' };
  let text = buf.toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (sniffPerfHeaderOnly(text))
    return {
      format: 'perf-header',
      confidence: 0.95,
      reason:
        'perf header block alone (perf report --header-only): # captured on / cmdline lines, no samples',
    };
  if (sniffFormat(buf, fileName) === 'perf-script')
    return { format: 'perf-script', confidence: 0.95, reason: 'perf script record header' };
  if (sniffJfrJson(text))
    return {
      format: 'jfr-json',
      confidence: 0.95,
      reason: '`jfr print --json` document ("recording", "events")',
    };
  const pyspy = sniffPyspy(text);
  if (pyspy) return { format: pyspy, confidence: 0.9, reason: `py-spy ${pyspy.slice(6)} output` };
  if (sniffThreadsJsonl(text))
    return {
      format: 'threads-jsonl',
      confidence: 0.95,
      reason: 'threads.jsonl snapshot lines (snapshot, tNs, tid, comm)',
    };
  const threads = sniffThreadList(text);
  const threadList = threads && {
    format: 'thread-list' as const,
    confidence: threads.confidence,
    reason: threads.reason,
  };
  // The /proc and ps layouts have signatures; bare `tid comm` lines are tried last.
  if (threadList && threads.layout !== 'tsv' && threads.layout !== 'space') return threadList;
  if (sniffJstack(text)) return { format: 'jstack', confidence: 0.9, reason: 'jstack thread dump' };
  const span = sniffSpanFormat(text);
  if (span) return { format: span, confidence: 0.9, reason: `${span} span document keys` };
  const gc = sniffGcFormat(text);
  if (gc) return { format: gc, confidence: 0.85, reason: `${gc} GC log lines` };
  const lines = textLines(text);
  return perfMap(text) ?? strace(lines) ?? logs(lines) ?? threadList;
}

export type FormatChoice =
  | {
      readonly format: SourceFormat;
      readonly confidence: number;
      readonly reason: string;
      /** What the content alone says (also when the manifest overrode it). */
      readonly detected: Detection | null;
    }
  | {
      readonly stored: string;
      readonly reason: string;
      readonly detected: Detection | null;
      /** The role the stored format fills, when the content (not the manifest) named it. */
      readonly role?: FileRole;
    }
  | { readonly unknown: true; readonly reason: string; readonly detected: null };

/**
 * The format to parse a file with: the manifest's `format` when it names one (it overrides
 * detection: the reason says when the content disagrees), else the detected format when it
 * fits the manifest's `role` (`stored` when it is a kept-unparsed format such as a perf map),
 * else `stored` (known role, nothing to parse) or `unknown`.
 */
export function chooseFormat(
  head: Uint8Array,
  fileName: string,
  entry: { readonly role?: FileRole; readonly format?: string } | null,
): FormatChoice {
  const detected = detectFormat(head, fileName);
  const declared = entry?.format;
  if (declared !== undefined) {
    const canonical = canonicalFormat(declared);
    if (canonical !== null) {
      const disagree =
        detected && detected.format !== canonical
          ? `; the content looks like ${detected.format} (${detected.reason})`
          : '';
      return { format: canonical, confidence: 1, reason: `manifest format ${declared}${disagree}`, detected };
    }
    const why = STORED_FORMATS[declared];
    return { stored: declared, reason: why ?? `no parser for format ${declared}`, detected };
  }
  const role = entry?.role;
  if (detected) {
    const f = detected.format;
    if (isStoredDetection(f)) {
      // Kept unparsed, as when a manifest names it (STORED_FORMATS), if it fits the role.
      const roles: readonly FileRole[] = DETECTED_STORED_FORMATS[f];
      if (role === undefined || roles.includes(role))
        return {
          stored: f,
          reason: `${detected.reason}; ${STORED_FORMATS[f] ?? ''}`,
          detected,
          ...(roles[0] === undefined ? {} : { role: roles[0] }),
        };
    } else if (role === undefined || FORMAT_ROLES[f].includes(role))
      return { format: f, confidence: detected.confidence, reason: detected.reason, detected };
  }
  if (role !== undefined) {
    const fits = detected ? ` (content looks like ${detected.format}, which is not a ${role} format)` : '';
    return { stored: role, reason: `no ${role} format recognised in the content${fits}`, detected };
  }
  return { unknown: true, reason: 'no known format in the first bytes', detected: null };
}
