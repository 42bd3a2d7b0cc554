import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UsageError } from './errors.js';
import { collectFiles, isBundle } from './files.js';

let root: string;

async function touch(path: string, content = 'x'): Promise<void> {
  await mkdir(join(root, path, '..'), { recursive: true });
  await writeFile(join(root, path), content);
}

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'threadreel-cli-files-'));
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('collectFiles', () => {
  it('expands a directory recursively in name order, skipping hidden entries, manifest first', async () => {
    await touch('cap/perf.script.gz', '12345');
    await touch('cap/manifest.json', '{}');
    await touch('cap/logs/app.log');
    await touch('cap/logs/.app.log.swp');
    await touch('cap/.git/config');
    await touch('cap/.hidden');

    const { files, skipped } = await collectFiles([join(root, 'cap')]);
    expect(files.map((file) => file.name)).toEqual(['manifest.json', 'logs/app.log', 'perf.script.gz']);
    expect(files.find((file) => file.name === 'perf.script.gz')).toEqual({
      path: join(root, 'cap', 'perf.script.gz'),
      name: 'perf.script.gz',
      bytes: 5,
    });
    expect(skipped).toEqual([]);
  });

  it('uploads file arguments under their basename, hidden or not, and drops repeats of the same file', async () => {
    await touch('a/one.log');
    await touch('b/.two.log');
    const one = join(root, 'a', 'one.log');
    const { files } = await collectFiles([one, join(root, 'b', '.two.log'), one]);
    expect(files.map((file) => file.name)).toEqual(['one.log', '.two.log']);
  });

  it('follows symlinks but not around a loop, and reports what it skips', async () => {
    await touch('cap/data/x.log');
    await symlink(join(root, 'cap'), join(root, 'cap', 'data', 'loop'));
    await symlink(join(root, 'missing'), join(root, 'cap', 'dangling'));
    await symlink(join(root, 'cap', 'data', 'x.log'), join(root, 'cap', 'y.log'));

    const { files, skipped } = await collectFiles([join(root, 'cap')]);
    // y.log is the same file as data/x.log, so only the first one met is kept.
    expect(files.map((file) => file.name)).toEqual(['data/x.log']);
    expect(skipped.map((skip) => skip.reason).sort()).toEqual([
      'dangling symlink',
      'directory already included (symlink loop?)',
    ]);
  });

  it('refuses a missing path', async () => {
    await expect(collectFiles([join(root, 'nope')])).rejects.toThrow(/no such file or directory: .*nope/);
    await expect(collectFiles([join(root, 'nope')])).rejects.toBeInstanceOf(UsageError);
  });

  it('refuses an empty result', async () => {
    await touch('empty/.only-hidden');
    await expect(collectFiles([join(root, 'empty')])).rejects.toThrow('nothing to upload');
  });

  it('refuses two files that would upload under the same (base) name', async () => {
    await touch('a/perf.script');
    await touch('b/perf.script');
    await touch('c/x/app.log');
    await touch('c/y/app.log');
    await expect(collectFiles([join(root, 'a', 'perf.script'), join(root, 'b')])).rejects.toThrow(
      "two files would be uploaded as 'perf.script'",
    );
    await expect(collectFiles([join(root, 'c')])).rejects.toThrow("two files would be uploaded as 'app.log'");
  });

  it('puts a nested manifest.json first too', async () => {
    await touch('cap/a.log');
    await touch('cap/meta/manifest.json');
    const { files } = await collectFiles([join(root, 'cap')]);
    expect(files.map((file) => file.name)).toEqual(['meta/manifest.json', 'a.log']);
  });

  it('takes a bundle alone but not with other files', async () => {
    await touch('capture.tar.gz');
    await touch('other.log');
    const { files } = await collectFiles([join(root, 'capture.tar.gz')]);
    expect(files.map((file) => file.name)).toEqual(['capture.tar.gz']);
    await expect(collectFiles([join(root, 'capture.tar.gz'), join(root, 'other.log')])).rejects.toThrow(
      'must be uploaded on its own',
    );
  });
});

describe('isBundle', () => {
  it('knows .tar.gz, .tgz and .tar, not plain .gz', () => {
    expect(isBundle('x.tar.gz')).toBe(true);
    expect(isBundle('X.TGZ')).toBe(true);
    expect(isBundle('x.tar')).toBe(true);
    expect(isBundle('perf.script.gz')).toBe(false);
  });
});
