/* eslint-disable @typescript-eslint/require-await -- stub parsers that ignore their input */
import { describe, expect, it } from 'vitest';
import { fuzzMutant, fuzzParser, type FuzzItem } from './fuzz.js';

const seeds = [new TextEncoder().encode('alpha 1\nbeta 2\ngamma 3\n'), new TextEncoder().encode('x\ny\n')];

async function* echo(lines: AsyncIterable<string>): AsyncGenerator<FuzzItem> {
  for await (const l of lines) yield { kind: l.length > 0 ? 'line' : 'blank' };
}

describe('fuzzParser (harness self-test)', () => {
  it('counts runs and items of a well-behaved parser', async () => {
    const r = await fuzzParser('echo', seeds, echo, 'lines', { iterations: 50, giantLineBytes: 4096 });
    expect(r.runs).toBe(52);
    expect(r.items).toBeGreaterThan(0);
    expect(r.issues).toBe(0);
  });

  it('is deterministic: the same seed gives the same mutants', () => {
    for (let i = 0; i < 30; i++) {
      const a = fuzzMutant(seeds, i, { seed: 7, giantLineBytes: 4096 });
      const b = fuzzMutant(seeds, i, { seed: 7, giantLineBytes: 4096 });
      expect(Buffer.from(a.bytes).equals(Buffer.from(b.bytes))).toBe(true);
      expect(a.mutations).toEqual(b.mutations);
      expect(a.chunkSizes.reduce((x, y) => x + y, 0)).toBe(a.bytes.length);
    }
    expect(fuzzMutant(seeds, 0).mutations).toEqual([]);
  });

  it('reports a parser that throws, naming iteration, seed and mutation', async () => {
    async function* thrower(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<FuzzItem> {
      for await (const c of chunks) if (c.includes(0)) throw new Error('NUL!');
      yield { kind: 'ok' };
    }
    await expect(fuzzParser('thrower', seeds, thrower, 'bytes', { iterations: 500 })).rejects.toThrow(
      /fuzz thrower \(bytes\): parse threw: Error: NUL![\s\S]*iteration=\d+ seed=1 seedIndex=\d mutation=\S*nul-bytes/,
    );
  });

  it('reports a hang (a promise that never settles) and a runaway item stream', async () => {
    async function* hang(): AsyncGenerator<FuzzItem> {
      await new Promise(() => {});
    }
    await expect(fuzzParser('hang', seeds, hang, 'lines', { maxMsPerRun: 50 })).rejects.toThrow(/hang/);
    async function* runaway(): AsyncGenerator<FuzzItem> {
      for (;;) yield { kind: 'x' };
    }
    await expect(fuzzParser('runaway', seeds, runaway, 'lines', { maxMsPerRun: 50 })).rejects.toThrow(
      /runaway/,
    );
  });

  it('reports malformed items', async () => {
    async function* badIssue(): AsyncGenerator<FuzzItem> {
      yield { kind: 'issue', line: 0, reason: 'r' } as FuzzItem;
    }
    await expect(fuzzParser('bad', seeds, badIssue, 'lines')).rejects.toThrow(
      /line 0, not a positive integer/,
    );
    async function* noReason(): AsyncGenerator<FuzzItem> {
      yield { kind: 'issue', line: 1 } as FuzzItem;
    }
    await expect(fuzzParser('bad', seeds, noReason, 'lines')).rejects.toThrow(/no reason/);
    async function* noKind(): AsyncGenerator<FuzzItem> {
      yield {} as FuzzItem;
    }
    await expect(fuzzParser('bad', seeds, noKind, 'lines')).rejects.toThrow(/no string kind/);
  });
});
