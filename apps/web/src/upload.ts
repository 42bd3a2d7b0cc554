import type { UploadAccepted } from '@threadreel/model';
import { UploadCancelledError, uploadCapture, type UploadHandle } from './api';
import { el, td, th } from './dom';
import { showError } from './errors';
import { errorMessage, formatBytes } from './format';
import { captureHref } from './router';

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
    result,
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
