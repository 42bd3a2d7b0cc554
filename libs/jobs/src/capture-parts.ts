import { manifestEntryFor, type CaptureManifest, type DegradedPart } from '@threadreel/model';
import { STORED_FORMATS } from '@threadreel/parsers';
import type { SourceFileEntity } from '@threadreel/store';
import { isManifestName } from './processors/parse-file.job.js';

/**
 * What a capture's files say about its state, before and besides correlation: the parts that
 * degraded at parsing or upload, and the capture's one-line summary of every part.
 */

/** Files whose format carries no events of its own (the manifest describes the others). */
const NO_EVENTS_EXPECTED = new Set(['manifest']);

/**
 * What went wrong with the files themselves: failed, broken off (an error but events kept),
 * lines rejected, parsed without a single event, or kept unparsed although they were meant to
 * be read (a trace source whose content matched no format of its role). Files kept unparsed
 * by design (a perf map, a binary JFR recording, a test's ground truth) are not parts.
 */
export function fileDegradedParts(files: readonly SourceFileEntity[]): DegradedPart[] {
  const parts: DegradedPart[] = [];
  const part = (f: SourceFileEntity, reason: string): DegradedPart => ({
    stage: 'parse',
    file: f.name,
    source: f.format,
    thread: null,
    reason,
  });
  for (const f of files) {
    if (f.state === 'failed') parts.push(part(f, f.error ?? 'could not be parsed'));
    else if (f.error) parts.push(part(f, `kept ${f.events} events read before: ${f.error}`));
    else if (BigInt(f.rejectedCount) > 0n) {
      const first = f.rejected[0];
      parts.push(
        part(
          f,
          `${f.rejectedCount} of ${f.lines} lines rejected${first ? ` (line ${first.line}: ${first.reason})` : ''}`,
        ),
      );
    } else if (
      f.state === 'stored' &&
      f.format !== null &&
      f.format !== 'other' &&
      !(f.format in STORED_FORMATS)
    )
      parts.push(part(f, f.note ?? 'kept unparsed'));
    else if (
      f.state === 'parsed' &&
      BigInt(f.events) === 0n &&
      !(f.format !== null && NO_EVENTS_EXPECTED.has(f.format))
    )
      parts.push(part(f, `no events in ${f.lines} lines`));
  }
  return parts;
}

/** Sources the manifest lists that were not uploaded (the ground truth of a test bundle aside). */
export function missingFileParts(
  manifest: CaptureManifest | null,
  files: readonly Pick<SourceFileEntity, 'name'>[],
): DegradedPart[] {
  if (!manifest || !Array.isArray(manifest.files)) return [];
  const manifestName = files.find((f) => isManifestName(f.name))?.name ?? null;
  const present = new Set(files.map((f) => manifestEntryFor(manifest, manifestName, f.name)));
  return manifest.files
    .filter((e) => !present.has(e) && e.role !== 'ground-truth')
    .map((e) => ({
      stage: 'parse' as const,
      file: e.path,
      source: e.format ?? e.role,
      thread: null,
      reason: `listed in the manifest (${e.role}) but not uploaded`,
    }));
}

/** The capture's `error` line: the failed files first (as before), then every other part. */
export function degradedSummary(
  files: readonly SourceFileEntity[],
  parts: readonly DegradedPart[],
): string | null {
  const failed = files.filter((f) => f.state === 'failed');
  const others = parts.filter((p) => !(p.stage === 'parse' && failed.some((f) => f.name === p.file)));
  const shown = others.slice(0, 10).map((p) => {
    const where = p.file ?? (p.thread ? `thread tid ${p.thread.tid}` : null);
    return `${p.stage}${where ? ` (${where})` : ''}: ${p.reason}`;
  });
  if (others.length > shown.length) shown.push(`${others.length - shown.length} more degraded parts`);
  return (
    [
      failed.length
        ? `${failed.length} of ${files.length} files failed: ${failed.map((f) => f.error ?? f.name).join('; ')}`
        : null,
      ...shown,
    ]
      .filter((x) => x !== null)
      .join('; ') || null
  );
}
