import { PERF_CLOCK_HEADER_KEYS } from '@threadreel/parsers';
import {
  manifestEntryFor,
  type CaptureManifest,
  type ManifestFile,
  type ParseIssue,
  type RejectedLine,
  type SourceHeader,
} from '@threadreel/model';
import type { EventWriter } from '@threadreel/store';
import type { JobDeps } from './deps.js';
import type { Parsed } from './pipelines.js';

/** Rejected lines kept in a file's report (all are counted). */
export const KEEP_REJECTED = 20;
/** Header keys kept even past the 100-key cap (perf's clock: the correlation reads them). */
const KEPT_HEADERS: ReadonlySet<string> = new Set(PERF_CLOCK_HEADER_KEYS);

/** What reading a file (or a byte range of one) gave, for its report. */
export interface ParseOutcome {
  events: number;
  rejectedCount: number;
  rejected: RejectedLine[];
  headers: Record<string, string>;
  /** Corrupt or truncated input: where it broke (what was read before it is kept). */
  inputError: string | null;
}

/**
 * Feeds a parser's batches to the writer: records are added (synchronously unless a buffer
 * must reach the database), issues and header facts collected for the report. `lines` tells
 * how many lines were read so far, for the place of an input error.
 */
export async function consume(
  items: AsyncIterable<readonly Parsed[]>,
  writer: EventWriter,
  fileName: string,
  lines: () => number,
): Promise<ParseOutcome> {
  const out: ParseOutcome = { events: 0, rejectedCount: 0, rejected: [], headers: {}, inputError: null };
  const it = items[Symbol.asyncIterator]();
  for (;;) {
    let next: IteratorResult<readonly Parsed[]>;
    try {
      next = await it.next();
    } catch (e) {
      out.inputError = `${fileName}: line ${lines() + 1}: ${e instanceof Error ? e.message : String(e)}`;
      return out;
    }
    if (next.done) return out;
    for (const item of next.value) {
      if (item.kind === 'issue') {
        const issue = item as ParseIssue;
        out.rejectedCount++;
        if (out.rejected.length < KEEP_REJECTED) {
          out.rejected.push(
            issue.field
              ? { line: issue.line, field: issue.field, reason: issue.reason }
              : { line: issue.line, reason: issue.reason },
          );
        }
      } else if (item.kind === 'header') {
        const h = item as SourceHeader;
        if (Object.keys(out.headers).length < 100 || h.key in out.headers || KEPT_HEADERS.has(h.key))
          out.headers[h.key] = h.value;
      } else {
        const pending = writer.add(item as { kind: string; line: number });
        if (pending) await pending;
        out.events++;
      }
    }
  }
}

/** Counts the lines of the batches passing through. */
export async function* countLines(
  batches: AsyncIterable<readonly string[]>,
  report: (n: number) => void,
): AsyncGenerator<readonly string[]> {
  let n = 0;
  for await (const batch of batches) {
    n += batch.length;
    report(n);
    yield batch;
  }
}

/** The manifest's entry for this file (if it describes it) and the file's time zone. */
export async function declared(
  deps: JobDeps,
  captureId: string,
  fileName: string,
): Promise<{ entry: ManifestFile | null; timeZone: string | undefined }> {
  const capture = await deps.captures.get(captureId);
  if (!capture?.manifest) return { entry: null, timeZone: undefined };
  const manifest = capture.manifest as CaptureManifest;
  const files = await deps.captures.files(captureId);
  const manifestName = files.find((f) => isManifestName(f.name))?.name ?? null;
  const entry = manifestEntryFor(manifest, manifestName, fileName);
  return { entry, timeZone: entry?.timeZone ?? manifest.timeZone };
}

export function isManifestName(name: string): boolean {
  return name === 'manifest.json' || name.endsWith('/manifest.json');
}
