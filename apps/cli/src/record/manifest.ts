import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CaptureManifest, ClockPair, ManifestFile } from '@threadreel/model';
import type { ClockPairReading } from './clock.js';
import type { TargetInfo } from './preflight.js';

export const MANIFEST_FILE = 'manifest.json';

/** The files `threadreel record` writes, with what the manifest says of each. */
export const BUNDLE_FILES = {
  perfScript: { path: 'perf.script.gz', role: 'perf', format: 'perf-script', clock: 'monotonic' },
  /** Kept (raw) only when perf script did not run or failed. */
  perfData: { path: 'perf.data', role: 'perf', format: 'perf-data', clock: 'monotonic' },
  strace: { path: 'strace.txt.gz', role: 'strace', format: 'strace', clock: 'realtime' },
  /** Kept uncompressed only when the gzip step did not run. */
  straceRaw: { path: 'strace.txt', role: 'strace', format: 'strace', clock: 'realtime' },
  threads: { path: 'threads.jsonl', role: 'threads', format: 'threads-jsonl', clock: 'monotonic' },
  jstackStart: { path: 'jstack-start.txt', role: 'jstack', format: 'jstack', clock: 'local-wall' },
  jstackEnd: { path: 'jstack-end.txt', role: 'jstack', format: 'jstack', clock: 'local-wall' },
  jfr: { path: 'recording.jfr', role: 'jfr', format: 'jfr', clock: 'realtime' },
  jfrJson: { path: 'jfr.json.gz', role: 'jfr', format: 'jfr-json', clock: 'realtime' },
} as const satisfies Record<string, Omit<ManifestFile, 'pid'>>;

export type BundleFileKind = keyof typeof BUNDLE_FILES;

/** A file in the bundle as the manifest lists it, plus its size for the summary. */
export interface BundleEntry extends ManifestFile {
  bytes: number;
}

export interface ManifestInput {
  name: string | null;
  host: string;
  kernel: string;
  timeZone: string;
  /** Realtime of the start clock pair. */
  startRealtimeNs: bigint;
  durationNs: bigint;
  target: TargetInfo;
  clocks: { start: ClockPairReading; end: ClockPairReading | null };
  files: readonly BundleEntry[];
  warnings: readonly string[];
  commands: readonly string[];
  version: string;
}

function pair(at: ClockPair['at'], reading: ClockPairReading): ClockPair {
  return {
    at,
    monotonicNs: String(reading.monotonicNs),
    realtimeNs: String(reading.realtimeNs),
    uncertaintyNs: String(reading.uncertaintyNs),
  };
}

/** `/proc/PID/stat` times are in USER_HZ ticks, 100 per second on every Linux architecture. */
const NS_PER_CLOCK_TICK = 10_000_000n;

/** The manifest of a recorded bundle (valid against MANIFEST_SCHEMA). */
export function buildManifest(input: ManifestInput): CaptureManifest {
  const { target } = input;
  const manifest: CaptureManifest = {
    version: 1,
    ...(input.name === null ? {} : { name: input.name.slice(0, 200) }),
    host: input.host,
    kernel: input.kernel,
    timeZone: input.timeZone,
    recordedAt: new Date(Number(input.startRealtimeNs / 1_000_000n)).toISOString(),
    durationNs: String(input.durationNs < 0n ? 0n : input.durationNs),
    pids: [target.pid],
    target: {
      pid: target.pid,
      comm: target.comm,
      cmdline: target.cmdline,
      ...(target.runtime === null ? {} : { runtime: target.runtime }),
      ...(/^\d+$/.test(target.startTime)
        ? { startBoottimeNs: String(BigInt(target.startTime) * NS_PER_CLOCK_TICK) }
        : {}),
    },
    clocks: [
      pair('start', input.clocks.start),
      ...(input.clocks.end === null ? [] : [pair('end', input.clocks.end)]),
    ],
    files: input.files.map(({ bytes: _bytes, ...file }) => file),
    warnings: [...input.warnings],
    recorder: { tool: 'threadreel record', version: input.version, commands: [...input.commands] },
  };
  return manifest;
}

/** Writes manifest.json atomically (temp file + rename). */
export async function writeManifest(dir: string, manifest: CaptureManifest): Promise<void> {
  const temp = join(dir, `.${MANIFEST_FILE}.tmp`);
  await writeFile(temp, `${JSON.stringify(manifest, null, 2)}\n`);
  await rename(temp, join(dir, MANIFEST_FILE));
}

/**
 * A name for a copied file that no other file of the bundle has, as a base name: the
 * server keeps only base names, and manifest.json or perf.script.gz must stay ours.
 */
export function uniqueName(name: string, taken: Set<string>): string {
  const dot = name.lastIndexOf('.');
  const stem = dot > 0 ? name.slice(0, dot) : name;
  const ext = dot > 0 ? name.slice(dot) : '';
  let candidate = name;
  for (let n = 2; taken.has(candidate) || candidate.startsWith('.'); n++) {
    candidate = `${stem.replace(/^\.+/, '')}-${n}${ext}`;
  }
  taken.add(candidate);
  return candidate;
}

/** Base names the recorder itself may write. */
export function reservedNames(pid: number): Set<string> {
  return new Set([
    MANIFEST_FILE,
    ...Object.values(BUNDLE_FILES).map((f) => f.path),
    `perf-${pid}.map`,
    'perf.data.old',
  ]);
}
