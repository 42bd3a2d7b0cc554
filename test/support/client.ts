import { openAsBlob, readdirSync } from 'node:fs';
import path from 'node:path';
import { FINISHED_CAPTURE_STATES, type CaptureDetail, type UploadAccepted } from '@threadreel/model';
import { waitFor } from './processes.js';

export interface UploadResult {
  status: number;
  body: UploadAccepted & { message?: string; statusCode?: number };
}

/** Multipart upload of files from disk (or in-memory blobs) as a browser or the CLI would. */
/** Every file of a bundle folder (recursively, README.md aside) as upload parts named by their relative path. */
export async function folderParts(dir: string): Promise<{ name: string; data: Blob }[]> {
  const files = readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name !== 'README.md')
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)));
  return Promise.all(files.map(async (f) => ({ name: f, data: await openAsBlob(path.join(dir, f)) })));
}

export async function upload(
  baseUrl: string,
  files: (string | { name: string; data: Blob | Uint8Array | string })[],
  query = '',
): Promise<UploadResult> {
  const form = new FormData();
  for (const f of files) {
    if (typeof f === 'string') form.append('files', await openAsBlob(f), path.basename(f));
    else form.append('files', f.data instanceof Blob ? f.data : new Blob([f.data]), f.name);
  }
  const res = await fetch(`${baseUrl}/api/captures${query}`, { method: 'POST', body: form });
  return { status: res.status, body: (await res.json()) as UploadResult['body'] };
}

export async function capture(baseUrl: string, id: string): Promise<CaptureDetail> {
  const res = await fetch(`${baseUrl}/api/captures/${id}`);
  if (!res.ok) throw new Error(`GET capture ${id}: ${res.status} ${await res.text()}`);
  return (await res.json()) as CaptureDetail;
}

export async function waitSettled(baseUrl: string, id: string, timeoutMs = 120_000): Promise<CaptureDetail> {
  return waitFor(
    `capture ${id} ready, degraded or failed`,
    async () => {
      const c = await capture(baseUrl, id);
      return FINISHED_CAPTURE_STATES.includes(c.state) ? c : null;
    },
    timeoutMs,
    150,
  );
}

export async function text(url: string): Promise<{ status: number; body: string }> {
  const res = await fetch(url);
  return { status: res.status, body: await res.text() };
}
