import { createReadStream, existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { FoldGroupBy, PerfRecord } from '@threadreel/model';
import { parsePerfScript, readLines } from '@threadreel/parsers';
import { foldSampleFromRecord, foldStacks, formatFolded, type FoldOptions } from './fold.js';

/**
 * Conformance with FlameGraph's stackcollapse-perf.pl on its own regression inputs
 * (`shared/conformance/flamegraph-perf`, a sibling of the repository folder).
 */
const root = fileURLToPath(new URL('../../../../shared/conformance/flamegraph-perf', import.meta.url));
const inputDir = join(root, 'input');
const expectedDir = join(root, 'expected');
const present = existsSync(inputDir) && existsSync(expectedDir);
if (!present) {
  console.warn(
    `\n!!! flamegraph-perf conformance corpus not found at ${root}: conformance tests SKIPPED !!!\n`,
  );
}
const inputs = present
  ? readdirSync(inputDir)
      .filter((f) => f.endsWith('.txt'))
      .sort()
  : [];

const MODES: { suffix: string; opts: FoldOptions }[] = [
  {
    suffix: 'tid',
    opts: { groupBy: 'tid' satisfies FoldGroupBy, annotateKernel: false, annotateJit: false },
  },
  { suffix: 'pid', opts: { groupBy: 'pid', annotateKernel: false, annotateJit: false } },
  { suffix: 'all', opts: { groupBy: 'none', annotateKernel: true, annotateJit: true } },
];

async function parseRecords(file: string): Promise<PerfRecord[]> {
  const records: PerfRecord[] = [];
  for await (const item of parsePerfScript(readLines(createReadStream(file)))) {
    if (item.kind === 'perf') records.push(item);
  }
  return records;
}

describe.skipIf(!present)('stackcollapse-perf.pl conformance', () => {
  it('has inputs', () => {
    expect(inputs.length).toBeGreaterThan(0);
  });
  for (const name of inputs) {
    const base = name.replace(/\.txt$/, '');
    for (const mode of MODES) {
      it(`${base} --${mode.suffix}`, async () => {
        const file = join(inputDir, name);
        const records = await parseRecords(file);
        const folded = formatFolded(foldStacks(records.map(foldSampleFromRecord), mode.opts));
        const expected = readFileSync(join(expectedDir, `${base}-collapsed-${mode.suffix}.txt`), 'utf8');
        expect(folded.split('\n')).toEqual(expected.split('\n'));
      });
    }
  }
});
