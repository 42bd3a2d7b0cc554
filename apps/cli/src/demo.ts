import { readFile, stat } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { type ExitCode, UsageError } from './errors.js';
import { MANIFEST_NAME, type UploadFile } from './files.js';
import type { Io } from './io.js';
import { demoCaptureDir } from './paths.js';
import { uploadAndWait, type UploadOptions } from './upload.js';

/**
 * The demo capture's files: manifest.json plus the files it lists (so the README
 * next to them is not uploaded).
 */
export async function demoFiles(dir: string): Promise<UploadFile[]> {
  const manifestPath = join(dir, MANIFEST_NAME);
  let manifest: unknown;
  try {
    manifest = JSON.parse(await readFile(manifestPath, 'utf8'));
  } catch (err) {
    throw new UsageError(
      `demo capture missing or unreadable at ${manifestPath} (${err instanceof Error ? err.message : String(err)}); ` +
        'record it with scripts/record-demo.sh',
    );
  }
  const listed =
    typeof manifest === 'object' &&
    manifest !== null &&
    Array.isArray((manifest as { files?: unknown }).files)
      ? ((manifest as { files: unknown[] }).files as { path?: unknown }[])
      : [];
  const names = [
    MANIFEST_NAME,
    ...listed.map((file) => file.path).filter((path): path is string => typeof path === 'string'),
  ];
  const outside = names.find((name) => isAbsolute(name) || name.split(/[\\/]/).includes('..'));
  if (outside !== undefined) throw new UsageError(`demo manifest lists a file outside ${dir}: ${outside}`);
  return Promise.all(
    names.map(async (name) => {
      const path = join(dir, name);
      try {
        return { path, name, bytes: (await stat(path)).size };
      } catch {
        throw new UsageError(`demo capture file missing: ${path}; record it with scripts/record-demo.sh`);
      }
    }),
  );
}

/** `threadreel demo`: upload the bundled demo capture and wait until it is ready. */
export async function runDemo(options: Omit<UploadOptions, 'name' | 'wait'>, io: Io): Promise<ExitCode> {
  const dir = demoCaptureDir();
  if (dir === null)
    throw new UsageError('cannot locate the threadreel installation (no package.json above the CLI)');
  return uploadAndWait(await demoFiles(dir), { ...options, name: null, wait: true }, io);
}
