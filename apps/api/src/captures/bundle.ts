import { createReadStream } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Parser, type ReadEntry } from 'tar';
import type { BlobStore, StoredBlob } from '@threadreel/store';

export interface BundleEntry extends StoredBlob {
  name: string;
}

export class BundleError extends Error {}

/**
 * A bundle path must stay inside its folder: relative, no `..` segment, no drive or
 * NUL. Returns the normalised relative path, or null for a path that escapes.
 */
export function safeBundlePath(raw: string): string | null {
  if (raw.includes('\0')) return null;
  const unix = raw.replace(/\\/g, '/');
  if (unix.startsWith('/') || /^[a-zA-Z]:/.test(unix)) return null;
  const norm = path.posix.normalize(unix);
  if (norm === '..' || norm.startsWith('../') || norm.split('/').includes('..')) return null;
  return norm.replace(/^(\.\/)+/, '').replace(/\/$/, '');
}

/**
 * Unpacks a `.tar.gz` (or `.tar`) bundle stored as a blob into the blob store, one
 * blob per regular file. Rejects the whole bundle when an entry path escapes the
 * bundle's folder or the archive is truncated or corrupt; links and devices are skipped.
 */
export async function unpackBundle(
  blobs: BlobStore,
  bundleSha: string,
  bundleName: string,
  limit: number,
): Promise<{ entries: BundleEntry[]; skipped: { name: string; reason: string }[] }> {
  const entries: BundleEntry[] = [];
  const skipped: { name: string; reason: string }[] = [];
  let total = 0;
  let failure: Error | null = null;
  const pending: Promise<void>[] = [];
  // Entries still being written: when the archive breaks inside one, its stream never
  // ends on its own and must be destroyed, or its blob write would wait forever.
  const open = new Set<ReadEntry>();
  const parser = new Parser({
    strict: true,
    noResume: true,
    onReadEntry: (entry: ReadEntry) => {
      const name = safeBundlePath(entry.path);
      if (name === null) {
        failure ??= new BundleError(
          `${bundleName}: bundle path escapes its folder: ${JSON.stringify(entry.path)}`,
        );
        entry.resume();
        return;
      }
      if (entry.type !== 'File' && entry.type !== 'OldFile' && entry.type !== 'ContiguousFile') {
        if (entry.type !== 'Directory') skipped.push({ name, reason: `not a regular file (${entry.type})` });
        entry.resume();
        return;
      }
      if (failure) {
        entry.resume();
        return;
      }
      open.add(entry);
      entry.on('end', () => open.delete(entry));
      pending.push(
        blobs
          .put(entry as unknown as NodeJS.ReadableStream & import('node:stream').Readable, limit - total)
          .then(
            (blob) => {
              total += blob.size;
              entries.push({ ...blob, name });
            },
            (e: unknown) => {
              failure ??= e instanceof Error ? e : new Error(String(e));
            },
          ),
      );
    },
  });
  try {
    await pipeline(createReadStream(blobs.pathOf(bundleSha)), parser);
  } catch (e) {
    failure ??= new BundleError(
      `${bundleName}: truncated or corrupt bundle (${e instanceof Error ? e.message : String(e)})`,
    );
  }
  if (failure) for (const entry of open) entry.destroy(failure);
  await Promise.allSettled(pending);
  if (failure) throw failure;
  return { entries, skipped };
}
