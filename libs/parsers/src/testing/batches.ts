import { Readable } from 'node:stream';
import { readLineBatches } from '../lines.js';

/**
 * The batches a batch parser yields for `text` read as ingest reads a file (test support; not
 * exported from the library index).
 */
export async function batchesOf<T>(
  parse: (lines: AsyncIterable<readonly string[]>) => AsyncIterable<T[]>,
  text: string,
): Promise<T[][]> {
  const batches: T[][] = [];
  for await (const b of parse(readLineBatches(Readable.from([Buffer.from(text)])))) batches.push(b);
  return batches;
}
