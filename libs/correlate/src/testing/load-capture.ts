import { createReadStream, openSync, readSync, closeSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { createGunzip } from 'node:zlib';
import {
  manifestEntryFor,
  type CaptureManifest,
  type ParseIssue,
  type SourceHeader,
} from '@threadreel/model';
import { chooseFormat, defaultClock, headBytes, parserFor, readLineBatches } from '@threadreel/parsers';
import { MemoryCapture } from '../memory-capture.js';

/**
 * Reads a capture folder as an upload of its files would be parsed (format detected from the
 * content, or the manifest's; each parsed with the parse job's parser; the clock the parse job
 * would record) into a {@link MemoryCapture}, for specs that correlate whole captures without a
 * database. Files are streamed (gzip decompressed); files `skip` matches are left out.
 */
export async function loadCapture(
  dir: string,
  options: {
    manifest?: CaptureManifest | null;
    skip?: readonly RegExp[];
    /** File names in ordinal order (as an upload numbered them); default: sorted by name. */
    order?: readonly string[];
  } = {},
): Promise<{ capture: MemoryCapture; issues: string[] }> {
  const manifest = options.manifest ?? null;
  const skip = options.skip ?? [/^README/, /^ground-truth/, /^clocks\.json/, /\.py$/, /\.sh$/];
  const capture = new MemoryCapture();
  const rank = (name: string) => options.order?.indexOf(name) ?? 0;
  const issues: string[] = [];
  const names = readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isFile() && !skip.some((re) => re.test(e.name)))
    .map((e) => e.name)
    .sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
  for (const name of names) {
    const file = path.join(dir, name);
    const head = firstBytes(file, 64 * 1024);
    const entry = manifestEntryFor(manifest, null, name);
    const choice = chooseFormat(headBytes(head), name, entry);
    if (!('format' in choice)) {
      capture.addFile({
        name,
        format: null,
        clock: null,
        state: 'stored' in choice ? 'stored' : 'failed',
        records: [],
      });
      continue;
    }
    const parser = parserFor(choice.format, { timeZone: entry?.timeZone ?? manifest?.timeZone });
    // Streamed, as the parse job reads it: a capture's file may be larger than a string can be.
    const gz = head[0] === 0x1f && head[1] === 0x8b;
    const items =
      parser.input === 'lines'
        ? parser.parse(readLineBatches(createReadStream(file)))
        : parser.parse(
            (gz
              ? createReadStream(file).pipe(createGunzip())
              : createReadStream(file)) as AsyncIterable<Uint8Array>,
          );
    const headers: Record<string, string> = {};
    const records: { readonly kind: string; readonly line: number }[] = [];
    for await (const batch of items)
      for (const item of batch) {
        if (item.kind === 'header') {
          const h = item as SourceHeader;
          headers[h.key] = h.value;
        } else if ('line' in item) {
          if (item.kind === 'issue') issues.push(`${name}:${item.line}: ${(item as ParseIssue).reason}`);
          else records.push(item);
        }
      }
    capture.addFile({
      name,
      format: choice.format,
      clock: entry?.clock ?? defaultClock(choice.format, headers),
      headers,
      records,
    });
  }
  return { capture, issues };
}

function firstBytes(file: string, n: number): Buffer {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(n);
    return buf.subarray(0, readSync(fd, buf, 0, n, 0));
  } finally {
    closeSync(fd);
  }
}
