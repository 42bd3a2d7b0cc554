import type {
  ApiError,
  CaptureDetail,
  CaptureOverviewDto,
  CaptureSummary,
  CompareDto,
  FoldGroupBy,
  LookupDto,
  RequestListDto,
  RequestStatsDto,
  SampleTimeline,
  ThreadMapDto,
  ThreadSummary,
  UploadAccepted,
} from '@threadreel/model';

const BASE = '/api';

/** An HTTP or network failure, with a message that is fit to show to the user. */
export class ApiRequestError extends Error {
  override readonly name = 'ApiRequestError';
  constructor(
    /** HTTP status, or 0 when no response arrived. */
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export function isAbortError(error: unknown): boolean {
  return error instanceof DOMException && error.name === 'AbortError';
}

function isApiError(value: unknown): value is ApiError & { message: unknown } {
  return typeof value === 'object' && value !== null && 'statusCode' in value && 'message' in value;
}

/** Builds the user-facing message of a failed response from its body (ideally an `ApiError`). */
export function describeFailure(status: number, statusText: string, body: string, what: string): string {
  const head = `${what} failed (HTTP ${status}${statusText ? ` ${statusText}` : ''})`;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    parsed = undefined;
  }
  if (isApiError(parsed)) {
    const { message } = parsed;
    const text = Array.isArray(message) ? message.map(String).join('; ') : String(message);
    return text ? `${head}: ${text}` : head;
  }
  const plain = body.trim();
  // A short non-HTML body (proxy errors, plain text) is still informative.
  if (plain && plain.length <= 300 && !plain.startsWith('<')) return `${head}: ${plain}`;
  return head;
}

async function request(path: string, what: string, init: RequestInit = {}): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(`${BASE}${path}`, init);
  } catch (error) {
    if (isAbortError(error)) throw error;
    throw new ApiRequestError(0, `${what} failed: the API is not reachable (${String(error)})`);
  }
  if (!response.ok) {
    const body = await response.text().catch(() => '');
    throw new ApiRequestError(
      response.status,
      describeFailure(response.status, response.statusText, body, what),
    );
  }
  return response;
}

export async function getJson<T>(path: string, what: string, signal?: AbortSignal): Promise<T> {
  const response = await request(path, what, { headers: { Accept: 'application/json' }, signal });
  const text = await response.text();
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new ApiRequestError(
      response.status,
      `${what} failed: the API answered with something that is not JSON`,
    );
  }
}

/** A binary answer (e.g. lane tiles) as bytes; errors as {@link getJson}'s. */
export async function getBytes(
  path: string,
  what: string,
  accept: string,
  signal?: AbortSignal,
): Promise<Uint8Array> {
  const response = await request(path, what, { headers: { Accept: accept }, signal });
  return new Uint8Array(await response.arrayBuffer());
}

const capturePath = (id: string): string => `/captures/${encodeURIComponent(id)}`;

export function listCaptures(signal?: AbortSignal): Promise<CaptureSummary[]> {
  return getJson<CaptureSummary[]>('/captures', 'Loading captures', signal);
}

export function getCapture(id: string, signal?: AbortSignal): Promise<CaptureDetail> {
  return getJson<CaptureDetail>(capturePath(id), 'Loading the capture', signal);
}

export function getThreads(id: string, signal?: AbortSignal): Promise<ThreadSummary[]> {
  return getJson<ThreadSummary[]>(`${capturePath(id)}/threads`, 'Loading threads', signal);
}

export function getTimeline(id: string, buckets: number, signal?: AbortSignal): Promise<SampleTimeline> {
  return getJson<SampleTimeline>(
    `${capturePath(id)}/timeline?buckets=${buckets}`,
    'Loading the sample timeline',
    signal,
  );
}

export function getThreadMap(id: string, signal?: AbortSignal): Promise<ThreadMapDto> {
  return getJson<ThreadMapDto>(`${capturePath(id)}/thread-map`, 'Loading the thread mappings', signal);
}

/** Formats, ingest progress, request counts and time ranges, of all captures or of one. */
export function getCaptureOverview(capture?: string, signal?: AbortSignal): Promise<CaptureOverviewDto[]> {
  const q = capture ? `?capture=${encodeURIComponent(capture)}` : '';
  return getJson<CaptureOverviewDto[]>(`/capture-overview${q}`, 'Loading the capture overview', signal);
}

function queryString(params: Record<string, string | number | undefined>): string {
  const query = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') query.set(k, String(v));
  const q = query.toString();
  return q ? `?${q}` : '';
}

export interface RequestQuery {
  capture?: string;
  service?: string;
  route?: string;
  /** Duration bounds in ms (up to 6 decimals, i.e. exact ns). */
  minDurationMs?: string;
  maxDurationMs?: string;
  cause?: string;
  q?: string;
  sort?: 'duration' | 'start';
  order?: 'desc' | 'asc';
  limit?: number;
  offset?: number;
}

export function listRequests(query: RequestQuery, signal?: AbortSignal): Promise<RequestListDto> {
  return getJson<RequestListDto>(`/requests${queryString({ ...query })}`, 'Loading requests', signal);
}

export function getRequestStats(
  query: { capture?: string; service?: string; cause?: string; q?: string; buckets?: number },
  signal?: AbortSignal,
): Promise<RequestStatsDto> {
  return getJson<RequestStatsDto>(
    `/requests/stats${queryString(query)}`,
    'Loading the duration histograms',
    signal,
  );
}

export function compareRequests(
  a: string,
  b: string,
  capture: string | undefined,
  signal?: AbortSignal,
): Promise<CompareDto> {
  return getJson<CompareDto>(
    `/requests/compare${queryString({ a, b, capture })}`,
    'Comparing the requests',
    signal,
  );
}

export function lookupTraceIds(text: string, signal?: AbortSignal): Promise<LookupDto> {
  return getJson<LookupDto>(`/lookup${queryString({ text })}`, 'Looking up the trace id', signal);
}

export async function deleteCapture(id: string): Promise<void> {
  await request(capturePath(id), 'Deleting the capture', { method: 'DELETE' });
}

/** URL of a folded-stacks export, for a download link. */
export function foldedUrl(id: string, groupBy: FoldGroupBy, annotate: boolean): string {
  const query = new URLSearchParams({ groupBy });
  if (annotate) query.set('annotate', 'kernel,jit');
  // Keep the comma readable; it is a legal query character.
  return `${BASE}${capturePath(id)}/folded?${query.toString().replace(/%2C/g, ',')}`;
}

export interface UploadHandle {
  done: Promise<UploadAccepted>;
  abort(): void;
}

export class UploadCancelledError extends Error {
  override readonly name = 'UploadCancelledError';
  constructor() {
    super('Upload cancelled');
  }
}

/**
 * Uploads files as multipart/form-data (field `files`) with XMLHttpRequest, which unlike
 * fetch reports upload progress. `onProgress` receives bytes sent and the request total.
 */
export function uploadCapture(
  files: readonly File[],
  onProgress: (sent: number, total: number) => void,
): UploadHandle {
  const xhr = new XMLHttpRequest();
  const form = new FormData();
  for (const file of files) form.append('files', file, file.name);

  const done = new Promise<UploadAccepted>((resolve, reject) => {
    xhr.upload.addEventListener('progress', (event) => {
      if (event.lengthComputable) onProgress(event.loaded, event.total);
    });
    xhr.addEventListener('load', () => {
      const body = typeof xhr.responseText === 'string' ? xhr.responseText : '';
      if (xhr.status >= 200 && xhr.status < 300) {
        try {
          const accepted = JSON.parse(body) as UploadAccepted;
          if (typeof accepted.captureId !== 'string' && typeof accepted.captureId !== 'number') {
            throw new TypeError('no captureId');
          }
          resolve({
            captureId: String(accepted.captureId),
            duplicates: Array.isArray(accepted.duplicates) ? accepted.duplicates : [],
            rejected: Array.isArray(accepted.rejected) ? accepted.rejected : [],
          });
        } catch {
          reject(
            new ApiRequestError(xhr.status, 'Upload failed: the API answer is not a valid UploadAccepted'),
          );
        }
        return;
      }
      reject(new ApiRequestError(xhr.status, describeFailure(xhr.status, xhr.statusText, body, 'Upload')));
    });
    xhr.addEventListener('error', () => {
      reject(
        new ApiRequestError(
          0,
          'Upload failed: the connection was closed before the API answered ' +
            '(the API may be down, or it refused the upload early, e.g. because it is over the size limit)',
        ),
      );
    });
    xhr.addEventListener('timeout', () => reject(new ApiRequestError(0, 'Upload failed: timed out')));
    xhr.addEventListener('abort', () => reject(new UploadCancelledError()));
  });

  xhr.open('POST', `${BASE}/captures`);
  xhr.setRequestHeader('Accept', 'application/json');
  xhr.send(form);
  return { done, abort: () => xhr.abort() };
}
