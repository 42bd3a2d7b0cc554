import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestDatabase } from './support/database.js';
import { SHARED_DIR } from './support/env.js';
import { startTestApi, type ApiProc } from './support/processes.js';
import { text, upload, waitSettled } from './support/client.js';

const dir = path.join(SHARED_DIR, 'conformance/flamegraph-perf');
const inputs = existsSync(dir)
  ? readdirSync(path.join(dir, 'input'))
      .filter((f) => f.endsWith('.txt'))
      .sort()
  : [];
const MODES = [
  { suffix: 'tid', query: 'groupBy=tid' },
  { suffix: 'pid', query: 'groupBy=pid' },
  { suffix: 'all', query: 'groupBy=none&annotate=kernel,jit' },
] as const;

const sortedLines = (s: string) =>
  s
    .split('\n')
    .filter((l) => l.length > 0)
    .sort();

describe('perf conformance through the API (stackcollapse-perf.pl --tid/--pid/--all)', () => {
  let db: TestDatabase;
  let api: ApiProc;
  const captureOf = new Map<string, string>();

  beforeAll(async () => {
    if (inputs.length === 0) throw new Error(`conformance inputs missing under ${dir}`);
    ({ api, db } = await startTestApi('conformance'));
    const uploads = await Promise.all(inputs.map((f) => upload(api.url, [path.join(dir, 'input', f)])));
    for (const [i, u] of uploads.entries()) {
      expect(u.status).toBe(202);
      captureOf.set(inputs[i]!, u.body.captureId);
    }
    // Some inputs end mid-record (their last sample is rejected, as stackcollapse-perf.pl drops
    // it): those captures are degraded by that rejected line and nothing else.
    for (const [input, id] of captureOf) {
      const c = await waitSettled(api.url, id);
      if (c.state === 'degraded')
        expect(c.degradedParts.map((p) => [p.stage, p.file, /lines? rejected/.test(p.reason)])).toEqual([
          ['parse', input, true],
        ]);
      else expect(c.state).toBe('ready');
    }
  });
  afterAll(async () => {
    await api?.stop();
    await db?.drop();
  });

  it('has all 8 inputs', () => {
    expect(inputs).toHaveLength(8);
  });

  for (const input of inputs) {
    for (const mode of MODES) {
      it(`${input} --${mode.suffix}`, async () => {
        const name = input.replace(/\.txt$/, '');
        const expected = readFileSync(
          path.join(dir, 'expected', `${name}-collapsed-${mode.suffix}.txt`),
          'utf8',
        );
        const r = await text(`${api.url}/api/captures/${captureOf.get(input)}/folded?${mode.query}`);
        expect(r.status).toBe(200);
        expect(sortedLines(r.body)).toEqual(sortedLines(expected));
      });
    }
  }
});
