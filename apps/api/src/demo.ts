import { openAsBlob } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import type { UploadAccepted } from '@threadreel/model';

/**
 * Uploads the demo capture committed in the repository through the public API, like
 * any client would. Its content key makes this a no-op when it is already loaded.
 */
export async function loadDemo(baseUrl: string, dir: string, log: (m: string) => void): Promise<void> {
  const names = (await readdir(dir)).filter((n) => !n.startsWith('.') && n !== 'README.md');
  const form = new FormData();
  for (const n of names) form.append('files', await openAsBlob(path.join(dir, n)), n);
  const res = await fetch(`${baseUrl}/api/captures?name=demo`, { method: 'POST', body: form });
  if (res.status !== 202) {
    log(`demo capture not loaded: HTTP ${res.status} ${await res.text()}`);
    return;
  }
  const body = (await res.json()) as UploadAccepted;
  log(`demo capture ${body.captureId}: ${baseUrl}/#/captures/${body.captureId}`);
}
