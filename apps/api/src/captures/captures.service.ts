import { Inject, Injectable, Logger } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import busboy from 'busboy';
import type { CaptureDetail, CaptureSummary, UploadAccepted } from '@threadreel/model';
import {
  BlobStore,
  BlobTooLargeError,
  CaptureStore,
  type NewSourceFile,
  type ServerConfig,
} from '@threadreel/store';
import type { QueueDriver } from '@threadreel/jobs';
import { QUEUE_DRIVER, SERVER_CONFIG } from '../common/tokens.js';
import { checkManifest, formatManifestProblems } from '@threadreel/parsers';
import { BundleError, safeBundlePath, unpackBundle } from './bundle.js';
import { BadUpload, PayloadTooLarge } from './upload-errors.js';

interface Part extends NewSourceFile {
  /** Name as sent, for messages. */
  sent: string;
}

const BUNDLE = /\.(tar\.gz|tgz|tar)$/i;

@Injectable()
export class CapturesService {
  private readonly log = new Logger('captures');

  constructor(
    @Inject(SERVER_CONFIG) private readonly config: ServerConfig,
    @Inject(QUEUE_DRIVER) private readonly queue: QueueDriver,
    private readonly captures: CaptureStore,
    private readonly blobs: BlobStore,
  ) {}

  list(): Promise<CaptureSummary[]> {
    return this.captures.list();
  }

  detail(id: string): Promise<CaptureDetail | null> {
    return this.captures.detail(id);
  }

  async delete(id: string): Promise<boolean> {
    const { deleted, orphanBlobs } = await this.captures.delete(id);
    for (const sha of orphanBlobs) await this.blobs.remove(sha);
    return deleted;
  }

  /**
   * Streams a multipart upload into the content-addressed store (every byte fsynced
   * before anything is queued), unpacks a bundle, reads the manifest, then creates the
   * capture and queues its flow. The same bytes again give the same capture.
   */
  async ingest(
    req: IncomingMessage,
    nameParam: string | undefined,
  ): Promise<{ status: number; body: UploadAccepted }> {
    const parts = await this.receive(req);
    const rejected: { name: string; reason: string }[] = [];
    let files: Part[] = [];
    for (const p of parts) {
      if (BUNDLE.test(p.name) && parts.length === 1) {
        try {
          const { entries, skipped } = await unpackBundle(
            this.blobs,
            p.sha256,
            p.name,
            this.config.uploadLimitBytes,
          );
          files.push(...entries.map((e) => ({ ...e, sent: `${p.name}:${e.name}` })));
          rejected.push(...skipped);
        } catch (e) {
          if (e instanceof BlobTooLargeError) throw new PayloadTooLarge(this.config.uploadLimitBytes);
          if (e instanceof BundleError) throw new BadUpload(e.message);
          throw e;
        }
      } else files.push(p);
    }
    files = files.filter((f) => {
      if (f.size > 0) return true;
      rejected.push({ name: f.name, reason: 'empty file (0 bytes)' });
      return false;
    });
    const manifestFile = files.find((f) => path.posix.basename(f.name) === 'manifest.json');
    const manifest = manifestFile ? await this.readManifest(manifestFile) : undefined;
    const traces = files.filter((f) => f !== manifestFile);
    if (traces.length === 0) {
      const why = rejected.length ? `: ${rejected.map((r) => `${r.name}: ${r.reason}`).join('; ')}` : '';
      throw new BadUpload(`no trace files in the upload${why}`);
    }
    const name =
      nameParam?.trim() ||
      (isRecord(manifest) && typeof manifest.name === 'string' ? manifest.name : '') ||
      traces[0]?.name ||
      'capture';
    const { capture, files: rows, created } = await this.captures.create(name.slice(0, 200), files, manifest);
    if (created) {
      try {
        await this.queue.addCaptureFlow(
          capture.id,
          rows.map((r) => r.id),
        );
      } catch (e) {
        // The capture and its bytes are safe; the flow is re-queued at the next start.
        this.log.error(
          `could not queue capture ${capture.id}: ${e instanceof Error ? e.message : String(e)}`,
        );
      }
    }
    return {
      status: 202,
      body: { captureId: capture.id, duplicates: created ? [] : files.map((f) => f.name), rejected },
    };
  }

  private async readManifest(file: Part): Promise<unknown> {
    let text: string;
    try {
      text = await readFile(this.blobs.pathOf(file.sha256), 'utf8');
      const value: unknown = JSON.parse(text);
      if (!isRecord(value)) throw new Error('the top level must be a JSON object');
      const check = checkManifest(value);
      if (!check.ok) throw new Error(formatManifestProblems(check.problems));
      return check.manifest;
    } catch (e) {
      throw new BadUpload(`${file.sent}: invalid manifest: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  private receive(req: IncomingMessage): Promise<Part[]> {
    const type = req.headers['content-type'] ?? '';
    if (!/^multipart\/form-data/i.test(type)) {
      return Promise.reject(
        new BadUpload('expected multipart/form-data with one or more files (field "files")'),
      );
    }
    const limit = this.config.uploadLimitBytes;
    return new Promise<Part[]>((resolve, reject) => {
      let bb: busboy.Busboy;
      try {
        bb = busboy({
          headers: req.headers,
          preservePath: true,
          limits: { fileSize: limit + 1, files: 10_000, fields: 100 },
        });
      } catch (e) {
        reject(new BadUpload(`malformed multipart request: ${e instanceof Error ? e.message : String(e)}`));
        return;
      }
      const parts: Part[] = [];
      const writes: Promise<void>[] = [];
      let total = 0;
      let failed = false;
      const fail = (e: Error) => {
        if (failed) return;
        failed = true;
        req.unpipe(bb);
        req.resume(); // drain the rest so the client receives our answer
        reject(e);
      };
      bb.on('file', (_field, stream: Readable, info) => {
        if (failed) {
          stream.resume();
          return;
        }
        const name = cleanName(info.filename);
        writes.push(
          this.blobs.put(stream, limit - total).then(
            (blob) => {
              total += blob.size;
              parts.push({ ...blob, name, sent: name });
            },
            (e: unknown) => {
              stream.resume();
              fail(e instanceof BlobTooLargeError ? new PayloadTooLarge(limit) : (e as Error));
            },
          ),
        );
      });
      bb.on('error', (e: Error) => fail(new BadUpload(`malformed multipart request: ${e.message}`)));
      bb.on('close', () => {
        void Promise.all(writes).then(() => {
          if (failed) return;
          if (parts.length === 0)
            reject(new BadUpload('no files in the upload (send them as multipart field "files")'));
          else resolve(parts);
        });
      });
      req.on('aborted', () => fail(new BadUpload('upload aborted by the client')));
      req.pipe(bb);
    });
  }
}

/**
 * A part's file name: its relative path when it has a safe one (`logs/app.log`, so names
 * match the manifest's paths), else its base name.
 */
function cleanName(raw: string | undefined): string {
  const text = (raw ?? '').replace(/[\0-\x1f]/g, '');
  const rel = text.includes('/') || text.includes('\\') ? safeBundlePath(text) : null;
  const name = rel ?? text.replace(/\\/g, '/').split('/').filter(Boolean).pop() ?? '';
  return name.slice(0, 255) || 'unnamed';
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
