export {
  readLines,
  readLineBatches,
  isGzip,
  InputDecodeError,
  type ByteChunk,
  type ByteSource,
  type ReadLinesOptions,
} from './lines.js';
export { sniffFormat, SNIFFED_FORMATS, type SniffedFormat } from './sniff.js';
export {
  parsePerfScript,
  parsePerfHeader,
  parsePerfFrame,
  stripSymbolOffset,
  type PerfHeader,
  type PerfHeaderResult,
} from './perf-script.js';
export {
  checkManifest,
  formatManifestProblems,
  type ManifestCheck,
  type ManifestProblem,
} from './manifest.js';
export { parseStrace, parseStraceFd, splitStraceArgs } from './strace.js';
export {
  parseLogs,
  MAX_CONTINUATION_LINES,
  MAX_CONTINUATION_CHARS,
  MAX_JSON_LINE_CHARS,
  type LogLayout,
  type ParseLogsOptions,
} from './logs.js';
export {
  parseSpans,
  sniffSpanFormat,
  SPAN_FORMATS,
  type SpanFormat,
  type ParseSpansOptions,
} from './spans.js';
export {
  parseJvmGcLog,
  parseNodeTraceGc,
  parsePythonGcJsonl,
  parseGoGctrace,
  sniffGcFormat,
  GC_FORMATS,
  type GcFormat,
} from './gc.js';
