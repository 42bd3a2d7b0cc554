import { once } from 'node:events';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { CaptureDetail, UploadAccepted } from '@threadreel/model';
import { UsageError } from './errors.js';
import type { UploadFile } from './files.js';
import { multipartBody, type MultipartBody } from './multipart.js';

/** The server answered with a non-2xx status (exit code 3). */
export class HttpError extends Error {
  override readonly name = 'HttpError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The server could not be reached at all, or sent something that is not our API (exit code 3). */
export class UnreachableError extends Error {
  override readonly name = 'UnreachableError';
}

type Fetch = typeof fetch;

/** Describes why fetch failed, digging out the system error (ECONNREFUSED …) undici wraps. */
function networkReason(err: unknown): string {
  let reason = err instanceof Error ? err.message : String(err);
  let cause: unknown = err instanceof Error ? err.cause : undefined;
  while (cause instanceof Error) {
    reason = cause.message || reason;
    cause = cause.cause;
  }
  return reason;
}

/** A buffered HTTP response. */
export interface RawResponse {
  status: number;
  statusText: string;
  text: string;
}

/** Builds the message of a failed response, ideally from an ApiError body `{statusCode, error, message}`. */
export function httpErrorFrom({ status, statusText, text }: RawResponse, action: string): HttpError {
  let detail = statusText || 'error';
  try {
    const body: unknown = JSON.parse(text);
    if (typeof body === 'object' && body !== null && 'message' in body) {
      const { message } = body;
      detail = Array.isArray(message) ? message.map(String).join('; ') : String(message);
    }
  } catch {
    const trimmed = text.trim();
    if (trimmed !== '' && trimmed.length <= 200 && !trimmed.startsWith('<')) detail = trimmed;
  }
  return new HttpError(status, `${action} failed: HTTP ${status}: ${detail}`);
}

export type UploadProgress = (sentBytes: number, totalBytes: number) => void;

/**
 * POSTs a multipart body with node:http(s), writing only as fast as the socket drains.
 * Stops sending as soon as the server answers (e.g. 413 before the body is complete).
 */
function postMultipart(
  url: URL,
  body: MultipartBody,
  signal?: AbortSignal,
  onProgress?: UploadProgress,
): Promise<RawResponse> {
  return new Promise<RawResponse>((resolve, reject) => {
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(url, {
      method: 'POST',
      headers: {
        'content-type': body.contentType,
        'content-length': String(body.length),
        accept: 'application/json',
      },
      signal,
    });
    let responded = false;
    let settled = false;
    let stopSending: () => void = () => undefined;
    const stopped = new Promise<void>((resolveStop) => (stopSending = resolveStop));
    const settle = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      fn();
    };

    req.on('response', (res: IncomingMessage) => {
      responded = true;
      stopSending();
      const chunks: Buffer[] = [];
      const done = (): void => {
        settle(() =>
          resolve({
            status: res.statusCode ?? 0,
            statusText: res.statusMessage ?? '',
            text: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        // An early answer leaves the request body unfinished: drop that connection.
        if (!req.writableFinished) req.destroy();
      };
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', done);
      res.on('close', done);
      res.on('error', (err) => settle(() => reject(err)));
    });
    // After a response has started, a write error (EPIPE …) only means the server stopped reading.
    req.on('error', (err) => {
      stopSending();
      if (!responded) settle(() => reject(err));
    });

    void (async () => {
      let sent = 0;
      try {
        for await (const chunk of body.chunks()) {
          if (responded || req.destroyed) return;
          sent += chunk.byteLength;
          if (!req.write(chunk)) await Promise.race([once(req, 'drain'), stopped]);
          onProgress?.(sent, body.length);
        }
        req.end();
      } catch (err) {
        if (!responded) req.destroy(err instanceof Error ? err : new Error(String(err)));
      }
    })();
  });
}

export class ApiClient {
  constructor(
    /** Base URL without a trailing slash, e.g. http://127.0.0.1:8080. */
    readonly server: string,
    private readonly fetchImpl: Fetch = fetch,
  ) {}

  /** The capture's page in the web UI (hash route of apps/web). */
  captureUiUrl(id: string): string {
    return `${this.server}/#/captures/${encodeURIComponent(id)}`;
  }

  captureApiUrl(id: string): string {
    return `${this.server}/api/captures/${encodeURIComponent(id)}`;
  }

  /**
   * POST /api/captures with every file under the multipart field `files`, streamed
   * from disk (see multipart.ts for why this does not use fetch + FormData).
   */
  async upload(
    files: readonly UploadFile[],
    name: string | null,
    signal?: AbortSignal,
    onProgress?: UploadProgress,
  ): Promise<UploadAccepted> {
    const url = new URL(`${this.server}/api/captures`);
    if (name !== null) url.searchParams.set('name', name);
    let response: RawResponse;
    try {
      response = await postMultipart(url, multipartBody(files), signal, onProgress);
    } catch (err) {
      if (signal?.aborted || err instanceof UsageError) throw err;
      throw new UnreachableError(`cannot reach ${this.server}: ${networkReason(err)}`);
    }
    if (response.status < 200 || response.status > 299) throw httpErrorFrom(response, 'upload');
    const body = this.json(response.text, 'upload');
    if (!isUploadAccepted(body)) throw new UnreachableError(`unexpected upload response from ${this.server}`);
    return { captureId: body.captureId, duplicates: body.duplicates ?? [], rejected: body.rejected ?? [] };
  }

  /** GET /api/captures/:id */
  async capture(id: string, signal?: AbortSignal): Promise<CaptureDetail> {
    const response = await this.get(this.captureApiUrl(id), signal);
    if (response.status < 200 || response.status > 299) throw httpErrorFrom(response, `GET capture ${id}`);
    const body = this.json(response.text, `GET capture ${id}`);
    if (!isCaptureDetail(body)) throw new UnreachableError(`unexpected capture response from ${this.server}`);
    return body;
  }

  private async get(url: string, signal?: AbortSignal): Promise<RawResponse> {
    try {
      const response = await this.fetchImpl(url, { signal, headers: { accept: 'application/json' } });
      return { status: response.status, statusText: response.statusText, text: await response.text() };
    } catch (err) {
      if (signal?.aborted) throw err;
      throw new UnreachableError(`cannot reach ${this.server}: ${networkReason(err)}`);
    }
  }

  private json(text: string, action: string): unknown {
    try {
      const body: unknown = JSON.parse(text);
      return body;
    } catch {
      throw new UnreachableError(
        `${action}: ${this.server} did not answer with JSON (is it a threadreel server?)`,
      );
    }
  }
}

function isUploadAccepted(
  body: unknown,
): body is Partial<UploadAccepted> & Pick<UploadAccepted, 'captureId'> {
  if (typeof body !== 'object' || body === null) return false;
  const value = body as Partial<Record<keyof UploadAccepted, unknown>>;
  return (
    typeof value.captureId === 'string' &&
    (value.duplicates === undefined || Array.isArray(value.duplicates)) &&
    (value.rejected === undefined || Array.isArray(value.rejected))
  );
}

function isCaptureDetail(body: unknown): body is CaptureDetail {
  if (typeof body !== 'object' || body === null) return false;
  const value = body as Partial<Record<keyof CaptureDetail, unknown>>;
  return typeof value.id === 'string' && typeof value.state === 'string' && Array.isArray(value.sourceFiles);
}
