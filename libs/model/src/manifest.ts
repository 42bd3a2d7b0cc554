/**
 * The capture manifest (`manifest.json` in a bundle): what a parser cannot know from a
 * file alone — roles, formats, clocks, time zone, pids, the monotonic↔realtime pairs.
 * MANIFEST_SCHEMA is the single source; docs/bundle/manifest.schema.json is a copy that
 * a test keeps equal. Nanosecond values are decimal strings.
 */

export const FILE_ROLES = [
  'perf',
  'perf-map',
  'strace',
  'threads',
  'jstack',
  'jfr',
  'logs',
  'spans',
  'gc',
  'profile',
  'ground-truth',
  'other',
] as const;
export type FileRole = (typeof FILE_ROLES)[number];

export const CLOCKS = [
  'monotonic',
  'realtime',
  'boottime',
  'perf-default',
  'process-uptime',
  'local-wall',
  'unknown',
] as const;
export type ClockName = (typeof CLOCKS)[number];

export interface ManifestFile {
  path: string;
  role: FileRole;
  /** Parser format name (`perf-script`, `strace`, `otlp-json`, `jvm-unified-log`, …); omitted = detect. */
  format?: string;
  clock?: ClockName;
  /** IANA zone of local-time stamps in this file, when it differs from the capture's. */
  timeZone?: string;
  pid?: number;
  /** True when the recording of this file was cut short (Ctrl-C, target exited, disk full). */
  partial?: boolean;
  note?: string;
}

export interface ClockPair {
  at: 'start' | 'end';
  monotonicNs: string;
  realtimeNs: string;
  /** Half the time it took to read both clocks: the pair's error bound. */
  uncertaintyNs?: string;
}

export interface CaptureManifest {
  version: 1;
  name?: string;
  host?: string;
  kernel?: string;
  timeZone?: string;
  recordedAt?: string;
  durationNs?: string;
  pids?: number[];
  target?: {
    pid: number;
    comm?: string;
    cmdline?: string[];
    runtime?: 'jvm' | 'node' | 'python' | 'go' | 'native';
    /**
     * When the process started, in ns since boot (`/proc/PID/stat` starttime × 10 ms: the
     * kernel's USER_HZ is 100). CLOCK_BOOTTIME, equal to CLOCK_MONOTONIC on a host that
     * never suspended. Anchors logs timed from process start (Node `--trace-gc`, Go gctrace).
     */
    startBoottimeNs?: string;
  };
  clocks?: ClockPair[];
  files: ManifestFile[];
  warnings?: string[];
  recorder?: { tool: string; version?: string; commands?: string[] };
}

const nsString = { type: 'string', pattern: '^[0-9]{1,20}$' } as const;

export const MANIFEST_SCHEMA = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://threadreel.dev/schemas/manifest-v1.json',
  title: 'threadreel capture manifest',
  type: 'object',
  required: ['version', 'files'],
  additionalProperties: true,
  properties: {
    version: { const: 1, description: 'Manifest format version.' },
    name: { type: 'string', maxLength: 200 },
    host: { type: 'string' },
    kernel: { type: 'string' },
    timeZone: { type: 'string', description: 'IANA time zone of the host, e.g. Europe/Berlin.' },
    recordedAt: { type: 'string', format: 'date-time' },
    durationNs: nsString,
    pids: { type: 'array', items: { type: 'integer', minimum: 0 } },
    target: {
      type: 'object',
      required: ['pid'],
      properties: {
        pid: { type: 'integer', minimum: 0 },
        comm: { type: 'string' },
        cmdline: { type: 'array', items: { type: 'string' } },
        runtime: { enum: ['jvm', 'node', 'python', 'go', 'native'] },
        startBoottimeNs: nsString,
      },
    },
    clocks: {
      type: 'array',
      items: {
        type: 'object',
        required: ['at', 'monotonicNs', 'realtimeNs'],
        properties: {
          at: { enum: ['start', 'end'] },
          monotonicNs: nsString,
          realtimeNs: nsString,
          uncertaintyNs: nsString,
        },
      },
    },
    files: {
      type: 'array',
      items: {
        type: 'object',
        required: ['path', 'role'],
        properties: {
          path: { type: 'string', minLength: 1, pattern: '^(?!/)(?!.*(^|/)\\.\\.(/|$)).+$' },
          role: { enum: [...FILE_ROLES] },
          format: { type: 'string' },
          clock: { enum: [...CLOCKS] },
          timeZone: { type: 'string' },
          pid: { type: 'integer', minimum: 0 },
          partial: { type: 'boolean' },
          note: { type: 'string' },
        },
      },
    },
    warnings: { type: 'array', items: { type: 'string' } },
    recorder: {
      type: 'object',
      required: ['tool'],
      properties: {
        tool: { type: 'string' },
        version: { type: 'string' },
        commands: { type: 'array', items: { type: 'string' } },
      },
    },
  },
} as const;

/**
 * The manifest entry describing an uploaded file. Manifest paths are relative to the
 * manifest's own folder; uploaded names may carry the bundle's folder (`cap/logs/app.log`
 * next to `cap/manifest.json`).
 */
export function manifestEntryFor(
  manifest: CaptureManifest | null | undefined,
  manifestName: string | null,
  fileName: string,
): ManifestFile | null {
  if (!manifest || !Array.isArray(manifest.files)) return null;
  const dir =
    manifestName && manifestName.includes('/')
      ? manifestName.slice(0, manifestName.lastIndexOf('/') + 1)
      : '';
  const rel = dir && fileName.startsWith(dir) ? fileName.slice(dir.length) : fileName;
  return (
    manifest.files.find((f) => f.path === rel) ?? manifest.files.find((f) => f.path === fileName) ?? null
  );
}
