import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RecordExit } from './exit-codes.js';
import { copySnapshot } from './write.js';
import { makeDirs, prepareOutputDir } from './setup.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'threadreel-setup-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('output folder', () => {
  it('creates a new folder with its parents, or takes an empty one', async () => {
    expect(await prepareOutputDir(join(dir, 'a', 'b'))).toBe(true);
    expect((await stat(join(dir, 'a', 'b'))).isDirectory()).toBe(true);
    await mkdir(join(dir, 'empty'));
    expect(await prepareOutputDir(join(dir, 'empty'))).toBe(false);
  });

  it('refuses a folder that is not empty, a path under a file, and /proc (exit 14)', async () => {
    await mkdir(join(dir, 'full'));
    await writeFile(join(dir, 'full', 'perf.script.gz'), 'x');
    await writeFile(join(dir, 'file'), 'x');
    for (const [path, message] of [
      [join(dir, 'full'), 'is not empty (perf.script.gz)'],
      [join(dir, 'file', 'x'), 'a parent is not a directory'],
      [join(dir, 'file'), 'exists and is not a folder'],
      ['/proc/forbidden/x', 'cannot create /proc/forbidden/x'],
    ] as const) {
      await expect(prepareOutputDir(path)).rejects.toMatchObject({
        code: RecordExit.OutputUnusable,
        message: expect.stringContaining(message) as string,
      });
    }
  });

  it('does not spin where mkdir fails although the parent exists (unlike mkdir -p in Node)', async () => {
    await expect(makeDirs('/proc/threadreel-test/a/b')).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('copySnapshot', () => {
  it('copies the size the file had when the copy started', async () => {
    const src = join(dir, 'app.log');
    await writeFile(src, 'line 1\nline 2\n');
    const result = await copySnapshot(src, join(dir, 'copy.log'));
    expect(result).toEqual({ bytes: 14, sizeAfter: 14 });
    await writeFile(join(dir, 'empty.log'), '');
    expect(await copySnapshot(join(dir, 'empty.log'), join(dir, 'empty-copy.log'))).toEqual({
      bytes: 0,
      sizeAfter: 0,
    });
  });
});
