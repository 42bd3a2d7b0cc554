import type { CaptureDetail, SourceFileReport, UploadAccepted } from '@threadreel/model';
import { getCapture, isAbortError, UploadCancelledError, uploadCapture, type UploadHandle } from './api';
import { isInProgress, isUsable, stateBadge } from './badges';
import { el, td, th } from './dom';
import { showError } from './errors';
import { errorMessage, formatBytes, formatCount } from './format';
import { captureHref, requestsHref } from './router';

const REPORT_POLL_MS = 1_500;
/** Rejected lines shown per file in the upload's parse report (the capture page has them all). */
const REJECTED_SHOWN = 5;

/** The parse report of an upload: per file the format detected with its confidence, events and rejected lines. */
function parseReport(c: CaptureDetail): HTMLElement {
  const files: SourceFileReport[] = Array.isArray(c.sourceFiles) ? c.sourceFiles : [];
  const done = files.filter((f) => !['queued', 'parsing'].includes(f.state)).length;
  const rows = files.flatMap((f) => {
    const pct =
      typeof f.detected?.confidence === 'number' ? `${Math.round(f.detected.confidence * 100)} %` : '? %';
    const detected = !f.detected?.format
      ? f.state === 'queued' || f.state === 'parsing'
        ? 'not read yet'
        : f.format
          ? 'named, not detected'
          : 'not recognised'
      : f.detected.format === f.format
        ? `detected, ${pct}`
        : `content looks like ${f.detected.format} (${pct})`;
    const main = el(
      'tr',
      { data: { file: f.name, state: f.state } },
      td(f.name, 'mono'),
      el(
        'td',
        { title: f.detected?.reason ?? '' },
        f.format ?? '—',
        el('span', { class: 'muted small' }, ` · ${detected}`),
      ),
      el('td', null, stateBadge(f.state)),
      td(formatCount(f.events), 'num'),
      td(formatCount(f.rejectedCount), f.rejectedCount !== '0' ? 'num warn' : 'num'),
      td(f.error ?? f.note ?? '', f.error ? 'cell-error' : 'small'),
    );
    const rejected = Array.isArray(f.rejected) ? f.rejected.slice(0, REJECTED_SHOWN) : [];
    if (rejected.length === 0) return [main];
    return [
      main,
      el(
        'tr',
        { class: 'sub-row' },
        el(
          'td',
          { attrs: { colspan: 6 } },
          el(
            'ul',
            { class: 'evidence rejected-list' },
            ...rejected.map((x) =>
              el(
                'li',
                null,
                el('span', { class: 'k' }, `line ${x.line}${x.field ? ` (${x.field})` : ''}: `),
                x.reason,
              ),
            ),
            f.rejected.length > rejected.length || f.rejectedCount !== String(rejected.length)
              ? el('li', { class: 'muted' }, 'more on the capture page')
              : null,
          ),
        ),
      ),
    ];
  });
  return el(
    'div',
    { id: 'upload-report', data: { state: c.state } },
    el(
      'p',
      { class: 'small' },
      stateBadge(c.state),
      ' ',
      isInProgress(c.state)
        ? `Parsing: ${done} of ${files.length} files read…`
        : c.state === 'ready'
          ? 'Parsed. '
          : c.state === 'degraded'
            ? `Usable, with problems (${c.degradedParts.length}): ${c.error ?? 'see the capture page'}. `
            : `Failed: ${c.error ?? 'see the capture page'}. `,
      isUsable(c.state)
        ? el('a', { attrs: { href: requestsHref({ capture: c.id }) } }, 'See its requests')
        : null,
      isUsable(c.state) ? ' · ' : null,
      el('a', { attrs: { href: captureHref(c.id) } }, 'Open the capture'),
    ),
    el(
      'div',
      { class: 'table-scroll' },
      el(
        'table',
        { class: 'data-table compact' },
        el(
          'thead',
          null,
          el(
            'tr',
            null,
            th('File'),
            th('Format · detected (confidence)'),
            th('State'),
            th('Events', 'num'),
            th('Rejected', 'num'),
            th('Note'),
          ),
        ),
        el('tbody', null, ...rows),
      ),
    ),
  );
}

type UploadState = 'idle' | 'uploading' | 'processing' | 'done' | 'error';

export interface UploadPanel {
  element: HTMLElement;
  /** Who to tell about a new capture (the mounted captures list), or null. */
  onAccepted: ((accepted: UploadAccepted) => void) | null;
}

/**
 * File picker + drop zone. Choosing or dropping files starts the upload at once; the
 * progress bar shows request bytes sent out of the total, and the API's answer (new capture,
 * duplicates, rejected files, or the error) stays visible below it.
 *
 * It is created once and re-attached to each captures page, so an upload in flight
 * survives a visit to a capture's page.
 */
export function createUploadPanel(): UploadPanel {
  let current: UploadHandle | null = null;

  const input = el('input', {
    id: 'upload-input',
    class: 'visually-hidden',
    attrs: { type: 'file', multiple: true, name: 'files', 'data-testid': 'upload-input' },
  });
  const progress = el('progress', {
    id: 'upload-progress',
    attrs: { max: 1, value: 0, 'data-testid': 'upload-progress', 'aria-label': 'Upload progress' },
  });
  const progressText = el('span', { class: 'progress-text', attrs: { 'aria-live': 'polite' } });
  const cancel = el('button', { class: 'button-quiet', attrs: { type: 'button' } }, 'Cancel');
  const progressRow = el(
    'div',
    { class: 'progress-row', attrs: { hidden: true } },
    progress,
    progressText,
    cancel,
  );
  const fileList = el('ul', { id: 'upload-files', class: 'upload-files', attrs: { hidden: true } });
  let fileBars: { size: number; bar: HTMLProgressElement; text: HTMLSpanElement }[] = [];
  const reportBox = el('div', { class: 'upload-result' });
  let reportTimer: number | undefined;
  let reportController: AbortController | null = null;
  const result = el('div', {
    id: 'upload-result',
    class: 'upload-result',
    attrs: { 'data-testid': 'upload-result' },
  });

  const dropZone = el(
    'div',
    { class: 'drop-zone', id: 'upload-dropzone' },
    el('p', { class: 'drop-title' }, 'Drop perf captures here'),
    el(
      'p',
      { class: 'muted' },
      'One or more capture files, optionally with a manifest.json, or a single .tar.gz bundle. ',
    ),
    el('label', { class: 'button', attrs: { for: 'upload-input' } }, 'Choose files…'),
    input,
  );

  const element = el(
    'section',
    {
      class: 'panel',
      id: 'upload-panel',
      data: { state: 'idle' },
      attrs: { 'aria-labelledby': 'upload-heading' },
    },
    el('h2', { id: 'upload-heading' }, 'Upload a capture'),
    dropZone,
    progressRow,
    fileList,
    result,
    reportBox,
  );

  function setState(state: UploadState): void {
    element.dataset['state'] = state;
    dropZone.classList.toggle('is-disabled', state === 'uploading' || state === 'processing');
    input.disabled = state === 'uploading' || state === 'processing';
    cancel.hidden = state !== 'uploading' && state !== 'processing';
  }

  function setProgress(sent: number, total: number): void {
    progress.max = Math.max(total, 1);
    progress.value = Math.min(sent, total);
    const percent = total > 0 ? Math.floor((sent / total) * 100) : 0;
    // The multipart body holds the files in order: bytes sent map onto them one after the other.
    const fileTotal = fileBars.reduce((sum, f) => sum + f.size, 0);
    let before = 0;
    const scaled = total > 0 ? (sent / total) * fileTotal : 0;
    for (const f of fileBars) {
      const mine = Math.min(Math.max(scaled - before, 0), f.size);
      f.bar.max = Math.max(f.size, 1);
      f.bar.value = f.size === 0 ? (sent >= total ? 1 : 0) : mine;
      f.text.textContent =
        f.size > 0 && mine >= f.size ? 'sent' : `${Math.floor((f.size > 0 ? mine / f.size : 0) * 100)} %`;
      before += f.size;
    }
    progressText.textContent = `${formatBytes(sent)} of ${formatBytes(total)} sent (${percent}%)`;
    if (total > 0 && sent >= total) {
      setState('processing');
      progressText.textContent = `${formatBytes(total)} sent — waiting for the API…`;
    }
  }

  function showAccepted(accepted: UploadAccepted, fileCount: number): void {
    const rejectedNames = new Set(accepted.rejected.map((r) => r.name));
    const acceptedCount = Math.max(fileCount - rejectedNames.size - accepted.duplicates.length, 0);
    const parts: HTMLElement[] = [
      el(
        'p',
        { class: 'notice notice-ok' },
        'Upload accepted: ',
        el('a', { attrs: { href: captureHref(accepted.captureId) } }, `capture ${accepted.captureId}`),
        ` (${acceptedCount} of ${fileCount} file${fileCount === 1 ? '' : 's'} queued for parsing).`,
      ),
    ];
    if (accepted.duplicates.length > 0) {
      parts.push(
        el(
          'p',
          { class: 'notice notice-info' },
          'Already stored in this capture (same content), skipped: ',
          accepted.duplicates.join(', '),
        ),
      );
    }
    if (accepted.rejected.length > 0) {
      parts.push(
        el(
          'div',
          { class: 'notice notice-warn' },
          el(
            'p',
            null,
            `${accepted.rejected.length} file${accepted.rejected.length === 1 ? ' was' : 's were'} rejected:`,
          ),
          el(
            'table',
            { class: 'data-table compact', id: 'upload-rejected' },
            el('thead', null, el('tr', null, th('File'), th('Reason'))),
            el(
              'tbody',
              null,
              ...accepted.rejected.map((r) => el('tr', null, td(r.name, 'mono'), td(r.reason))),
            ),
          ),
        ),
      );
    }
    result.replaceChildren(...parts);
  }

  function showFailure(error: unknown): void {
    result.replaceChildren(
      el('p', { class: 'notice notice-error', attrs: { role: 'alert' } }, errorMessage(error)),
    );
  }

  async function upload(files: File[]): Promise<void> {
    if (files.length === 0 || current) return;
    const total = files.reduce((sum, f) => sum + f.size, 0);
    result.replaceChildren(
      el(
        'p',
        { class: 'muted' },
        `Uploading ${files.length} file${files.length === 1 ? '' : 's'} (${formatBytes(total)}): `,
        files.map((f) => f.name).join(', '),
      ),
    );
    progressRow.hidden = false;
    window.clearTimeout(reportTimer);
    reportController?.abort();
    reportBox.replaceChildren();
    fileBars = files.map((f) => ({
      size: f.size,
      bar: el('progress', {
        attrs: { max: Math.max(f.size, 1), value: 0, 'aria-label': `Upload of ${f.name}` },
      }),
      text: el('span', { class: 'small muted' }, '0 %'),
    }));
    fileList.replaceChildren(
      ...files.map((f, i) => {
        const fb = fileBars[i];
        return el(
          'li',
          { data: { file: f.name } },
          el('span', { class: 'name mono', title: f.name }, f.name),
          fb ? fb.bar : null,
          el('span', { class: 'small' }, formatBytes(f.size), ' · ', fb ? fb.text : null),
        );
      }),
    );
    fileList.hidden = false;
    setState('uploading');
    setProgress(0, total);
    const handle = uploadCapture(files, setProgress);
    current = handle;
    try {
      const accepted = await handle.done;
      progress.value = progress.max;
      progressText.textContent = `Uploaded ${formatBytes(total)}`;
      setState('done');
      showAccepted(accepted, files.length);
      panel.onAccepted?.(accepted);
      followReport(accepted.captureId);
    } catch (error) {
      setState('error');
      if (error instanceof UploadCancelledError) {
        progressText.textContent = 'Upload cancelled';
        result.replaceChildren(el('p', { class: 'muted' }, 'Upload cancelled; nothing was stored.'));
      } else {
        progressText.textContent = 'Upload failed';
        showFailure(error);
        showError(error);
      }
    } finally {
      current = null;
      input.value = '';
    }
  }

  /** Polls the new capture until it settles, showing its parse report as files are read. */
  function followReport(captureId: string): void {
    reportController?.abort();
    const controller = new AbortController();
    reportController = controller;
    const poll = async (): Promise<void> => {
      try {
        const detail = await getCapture(captureId, controller.signal);
        if (controller.signal.aborted) return;
        reportBox.replaceChildren(parseReport(detail));
        if (isInProgress(detail.state)) reportTimer = window.setTimeout(() => void poll(), REPORT_POLL_MS);
      } catch (error) {
        if (isAbortError(error)) return;
        reportBox.replaceChildren(
          el(
            'p',
            { class: 'notice notice-error' },
            `The parse report could not be loaded: ${errorMessage(error)}`,
          ),
        );
      }
    };
    reportBox.replaceChildren(el('p', { class: 'muted' }, 'Waiting for the parse report…'));
    void poll();
  }

  function start(list: FileList | null | undefined): void {
    const files = list ? Array.from(list) : [];
    upload(files).catch(showError);
  }

  input.addEventListener('change', () => start(input.files));
  cancel.addEventListener('click', () => current?.abort());

  let dragDepth = 0;
  dropZone.addEventListener('dragenter', (event) => {
    event.preventDefault();
    dragDepth++;
    dropZone.classList.add('is-over');
  });
  dropZone.addEventListener('dragover', (event) => {
    event.preventDefault();
    if (event.dataTransfer) event.dataTransfer.dropEffect = current ? 'none' : 'copy';
  });
  dropZone.addEventListener('dragleave', () => {
    dragDepth = Math.max(dragDepth - 1, 0);
    if (dragDepth === 0) dropZone.classList.remove('is-over');
  });
  dropZone.addEventListener('drop', (event) => {
    event.preventDefault();
    dragDepth = 0;
    dropZone.classList.remove('is-over');
    start(event.dataTransfer?.files);
  });

  // A file dropped next to the zone must not make the browser navigate away to it.
  const swallow = (event: DragEvent): void => {
    if (event.dataTransfer?.types.includes('Files')) event.preventDefault();
  };
  window.addEventListener('dragover', swallow);
  window.addEventListener('drop', swallow);
  window.addEventListener('beforeunload', (event) => {
    if (current) event.preventDefault();
  });

  const panel: UploadPanel = { element, onAccepted: null };
  return panel;
}
