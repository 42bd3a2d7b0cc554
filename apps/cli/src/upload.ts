import { setTimeout as delay } from 'node:timers/promises';
import type { CaptureDetail, UploadAccepted } from '@threadreel/model';
import { ApiClient, HttpError, UnreachableError, type UploadProgress } from './client.js';
import { ExitCode } from './errors.js';
import { collectFiles, type UploadFile } from './files.js';
import type { Io } from './io.js';
import {
  formatBytes,
  formatDuration,
  isClean,
  isFinished,
  problemLines,
  ProgressReporter,
  summaryTable,
} from './progress.js';

export interface UploadOptions {
  server: string;
  name: string | null;
  wait: boolean;
  timeoutMs: number;
  signal?: AbortSignal;
  /** Poll period of GET /api/captures/:id. */
  pollIntervalMs?: number;
  /** Consecutive failed polls (network or 5xx) tolerated before giving up. */
  maxPollFailures?: number;
  client?: ApiClient;
}

const DEFAULT_POLL_MS = 500;
const DEFAULT_MAX_POLL_FAILURES = 5;

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}

function isAbort(err: unknown): boolean {
  return err instanceof Error && err.name === 'AbortError';
}

/** `threadreel upload <paths…>`: expand the paths, then upload and (unless --no-wait) wait. */
export async function runUpload(paths: readonly string[], options: UploadOptions, io: Io): Promise<ExitCode> {
  const { files, skipped } = await collectFiles(paths);
  for (const skip of skipped) io.err(`skipping ${skip.path}: ${skip.reason}\n`);
  return uploadAndWait(files, options, io);
}

/** Uploads `files` as one capture, reports it and returns the exit code. */
export async function uploadAndWait(
  files: readonly UploadFile[],
  options: UploadOptions,
  io: Io,
): Promise<ExitCode> {
  const client = options.client ?? new ApiClient(options.server);
  const total = files.reduce((sum, file) => sum + file.bytes, 0);
  io.err(`uploading ${plural(files.length, 'file')} (${formatBytes(total)}) to ${client.server}\n`);

  const started = Date.now();
  let accepted: UploadAccepted;
  try {
    accepted = await client.upload(files, options.name, options.signal, uploadMeter(io));
  } catch (err) {
    if (isAbort(err)) {
      io.err('upload interrupted\n');
      return ExitCode.Interrupted;
    }
    throw err;
  } finally {
    if (io.errIsTty) io.err('\r\x1b[2K');
  }
  const id = accepted.captureId;
  io.out(`capture ${id}\n`);
  io.err(`uploaded in ${formatDuration(Date.now() - started)}\n`);
  if (accepted.duplicates.length > 0 && accepted.duplicates.length >= files.length) {
    io.err('these exact files were uploaded before: showing the existing capture\n');
  } else {
    for (const duplicate of accepted.duplicates) io.err(`${duplicate}: already stored (same content)\n`);
  }

  if (!options.wait) {
    for (const line of problemLines(null, accepted)) io.out(`${line}\n`);
    io.out(`status: ${client.captureApiUrl(id)}\n`);
    io.out(`view:   ${client.captureUiUrl(id)}\n`);
    return accepted.rejected.length > 0 ? ExitCode.Failed : ExitCode.Ok;
  }

  const waited = await waitForCapture(client, id, options, io);
  if (waited.interrupted) {
    io.err(`stopped waiting; capture ${id} keeps processing on the server: ${client.captureUiUrl(id)}\n`);
    return ExitCode.Interrupted;
  }
  const detail = waited.detail;

  if (detail.sourceFiles.length > 0) io.out(`\n${summaryTable(detail.sourceFiles)}`);
  const problems = problemLines(detail, accepted);
  if (problems.length > 0) io.out(`\n${problems.map((line) => `${line}\n`).join('')}`);
  io.out('\n');

  if (!isFinished(detail)) {
    io.out(
      `capture ${id} is still ${detail.state} after ${formatDuration(options.timeoutMs)}; ` +
        `not waiting any longer (see ${client.captureApiUrl(id)})\n`,
    );
    return ExitCode.Failed;
  }
  const clean = isClean(detail, accepted);
  const verdict =
    detail.state === 'failed'
      ? 'failed'
      : clean
        ? 'ready'
        : detail.state === 'degraded'
          ? `degraded: usable, with problems (${plural(problems.length, 'line')} above)`
          : `ready with problems (${plural(problems.length, 'line')} above)`;
  io.out(`capture ${id} ${verdict}: ${client.captureUiUrl(id)}\n`);
  return clean ? ExitCode.Ok : ExitCode.Failed;
}

/** On a terminal, a redrawn `uploading 45% (…)` line, at most every 200 ms. */
function uploadMeter(io: Io): UploadProgress | undefined {
  if (!io.errIsTty) return undefined;
  let last = 0;
  return (sent, total) => {
    const now = Date.now();
    if (now - last < 200 && sent < total) return;
    last = now;
    const percent = total === 0 ? 100 : Math.floor((sent / total) * 100);
    io.err(`\r\x1b[2Kuploading ${percent}% (${formatBytes(sent)} of ${formatBytes(total)})`);
  };
}

type WaitResult = { interrupted: true } | { interrupted: false; detail: CaptureDetail };

/**
 * Polls GET /api/captures/:id until the capture is ready, degraded or failed, or the timeout
 * passes (then the last detail is returned unfinished). Network errors and 5xx are
 * retried up to maxPollFailures times in a row; 4xx fails at once.
 */
async function waitForCapture(
  client: ApiClient,
  id: string,
  options: UploadOptions,
  io: Io,
): Promise<WaitResult> {
  const reporter = new ProgressReporter(io);
  const interval = options.pollIntervalMs ?? DEFAULT_POLL_MS;
  const maxFailures = options.maxPollFailures ?? DEFAULT_MAX_POLL_FAILURES;
  const started = Date.now();
  let failures = 0;
  let last: CaptureDetail | null = null;

  try {
    for (;;) {
      try {
        last = await client.capture(id, options.signal);
        failures = 0;
        reporter.update(last, Date.now() - started);
        if (isFinished(last)) return { interrupted: false, detail: last };
      } catch (err) {
        const transient = err instanceof UnreachableError || (err instanceof HttpError && err.status >= 500);
        if (isAbort(err) || !transient || ++failures >= maxFailures) throw err;
        reporter.clear();
        io.err(`warning: ${err.message} (retrying, ${failures}/${maxFailures})\n`);
      }
      if (Date.now() - started >= options.timeoutMs && last !== null)
        return { interrupted: false, detail: last };
      await delay(interval, undefined, { signal: options.signal });
    }
  } catch (err) {
    if (isAbort(err)) return { interrupted: true };
    throw err;
  } finally {
    reporter.clear();
  }
}
