import { readdir, realpath, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { UsageError } from './errors.js';

/** One file to upload: where it is on disk and the name the server sees. */
export interface UploadFile {
  path: string;
  /**
   * Upload file name: the basename for a file argument, the `/`-separated path relative
   * to a directory argument (the server currently keeps only its base name).
   */
  name: string;
  bytes: number;
}

export interface CollectedFiles {
  files: UploadFile[];
  /** Entries met while expanding directories that are not uploaded (sockets, FIFOs, devices, loops). */
  skipped: { path: string; reason: string }[];
}

export const MANIFEST_NAME = 'manifest.json';

/** Archives the server unpacks when uploaded on their own. */
export function isBundle(name: string): boolean {
  return /\.(tar\.gz|tgz|tar)$/i.test(name);
}

/** The last segment of an upload name (`logs/app.log` → `app.log`). */
export function uploadBaseName(name: string): string {
  return name.slice(name.lastIndexOf('/') + 1);
}

function isHidden(name: string): boolean {
  return name.startsWith('.');
}

function describeFsError(path: string, err: unknown): string {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  if (code === 'ENOENT') return `no such file or directory: ${path}`;
  if (code === 'EACCES' || code === 'EPERM') return `permission denied: ${path}`;
  return `cannot read ${path}: ${err instanceof Error ? err.message : String(err)}`;
}

/**
 * Expands the paths given to `upload` into the files to send. Files are taken as
 * they are (even hidden ones); directories are walked recursively in name order,
 * skipping hidden entries, following symlinks but never a directory twice.
 * Any `manifest.json` is moved first so a streaming server sees it before the data.
 * Throws UsageError for missing/unreadable paths, an empty result, two files that
 * would upload under the same name, or a bundle mixed with other files.
 */
export async function collectFiles(paths: readonly string[]): Promise<CollectedFiles> {
  const files: UploadFile[] = [];
  const skipped: CollectedFiles['skipped'] = [];
  const seenFiles = new Set<string>();
  const seenDirs = new Set<string>();

  const addFile = async (path: string, name: string, bytes: number): Promise<void> => {
    const real = await realpath(path);
    if (seenFiles.has(real)) return;
    seenFiles.add(real);
    files.push({ path, name, bytes });
  };

  const walk = async (dir: string, prefix: string): Promise<void> => {
    const real = await realpath(dir);
    if (seenDirs.has(real)) {
      skipped.push({ path: dir, reason: 'directory already included (symlink loop?)' });
      return;
    }
    seenDirs.add(real);
    let entries: string[];
    try {
      entries = (await readdir(dir)).sort();
    } catch (err) {
      throw new UsageError(describeFsError(dir, err));
    }
    for (const entry of entries) {
      if (isHidden(entry)) continue;
      const path = join(dir, entry);
      const name = prefix === '' ? entry : `${prefix}/${entry}`;
      let info;
      try {
        info = await stat(path);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
          skipped.push({ path, reason: 'dangling symlink' });
          continue;
        }
        throw new UsageError(describeFsError(path, err));
      }
      if (info.isDirectory()) await walk(path, name);
      else if (info.isFile()) await addFile(path, name, info.size);
      else skipped.push({ path, reason: 'not a regular file' });
    }
  };

  for (const path of paths) {
    let info;
    try {
      info = await stat(path);
    } catch (err) {
      throw new UsageError(describeFsError(path, err));
    }
    if (info.isDirectory()) await walk(path, '');
    else if (info.isFile()) await addFile(path, basename(path), info.size);
    else throw new UsageError(`not a regular file or directory: ${path}`);
  }

  if (files.length === 0) {
    throw new UsageError(`nothing to upload: no files found in ${paths.join(', ')}`);
  }

  // The server keeps only the base name of each part, so base names must be unique.
  const byName = new Map<string, string>();
  for (const file of files) {
    const base = uploadBaseName(file.name);
    const other = byName.get(base);
    if (other !== undefined) {
      throw new UsageError(`two files would be uploaded as '${base}': ${other} and ${file.path}`);
    }
    byName.set(base, file.path);
  }

  const bundle = files.find((file) => isBundle(file.name));
  if (bundle !== undefined && files.length > 1) {
    throw new UsageError(
      `a bundle (.tar.gz, .tgz, .tar) must be uploaded on its own (${bundle.path} came with other files)`,
    );
  }

  const isManifest = (file: UploadFile): boolean => uploadBaseName(file.name) === MANIFEST_NAME;
  const manifestFirst = [...files.filter(isManifest), ...files.filter((file) => !isManifest(file))];
  return { files: manifestFirst, skipped };
}
