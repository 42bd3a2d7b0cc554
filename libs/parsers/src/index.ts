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
  parsePerfScriptBatches,
  parsePerfHeader,
  parsePerfFrame,
  stripSymbolOffset,
  type PerfHeader,
  type PerfHeaderResult,
  type PerfScriptOptions,
} from './perf-script.js';
export {
  parsePerfHeaderOnly,
  sniffPerfHeaderOnly,
  perfClockName,
  PerfHeaderReader,
  PERF_CLOCK_HEADER_KEYS,
} from './perf-header.js';
export {
  checkManifest,
  formatManifestProblems,
  type ManifestCheck,
  type ManifestProblem,
} from './manifest.js';
export {
  parseStrace,
  parseStraceBatches,
  parseStraceFd,
  splitStraceArgs,
  type StraceOptions,
} from './strace.js';
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
export { parseSchedPayload, schedType, type SchedParse } from './sched.js';
export {
  chooseFormat,
  detectFormat,
  canonicalFormat,
  SOURCE_FORMATS,
  STORED_FORMATS,
  FORMAT_ROLES,
  DETECTED_STORED_FORMATS,
  isStoredDetection,
  type DetectedStoredFormat,
  type SourceFormat,
  type Detection,
  type FormatChoice,
} from './formats.js';
export {
  parseJfrJson,
  sniffJfrJson,
  parseIsoDuration,
  JfrEventScanner,
  quoteLongIntegers,
  JFR_MAX_EVENT_CHARS,
  type ParseJfrJsonOptions,
  type JfrParsedItem,
} from './jfr-json.js';
export { parseJstack, sniffJstack, type ParseJstackOptions, type JstackParsedItem } from './jstack.js';
export { parseThreadsJsonl, sniffThreadsJsonl, type ThreadsJsonlItem } from './threads-jsonl.js';
export {
  parseThreadList,
  sniffThreadList,
  parsePsHeader,
  MAX_LINUX_TID,
  linuxTid,
  type ThreadListItem,
  type ThreadListLayout,
  type ThreadListDetection,
  type PsHeader,
} from './thread-list.js';
export {
  parseOtlpProto,
  sniffOtlpProto,
  otlpProtoMessageSpans,
  DEFAULT_MAX_OTLP_MESSAGE_BYTES,
  type ParseOtlpProtoOptions,
  type OtlpProtoFraming,
} from './spans-otlp-proto.js';
export {
  parsePprof,
  sniffPprof,
  DEFAULT_MAX_PPROF_BYTES,
  type ParsePprofOptions,
  type PprofItem,
} from './pprof.js';
export {
  parsePyspySpeedscope,
  parsePyspyChromeTrace,
  sniffPyspy,
  type PyspyFormat,
  type PyspyItem,
  type ParsePyspyOptions,
} from './pyspy.js';
export {
  parserFor,
  defaultClock,
  headBytes,
  type FormatParser,
  type Parsed,
  type ParserOptions,
} from './parser-for.js';
