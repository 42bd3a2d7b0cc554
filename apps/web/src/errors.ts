import { el, requireElement } from './dom';
import { errorMessage } from './format';
import { isAbortError, UploadCancelledError } from './api';

/**
 * The global error banner (`#error-banner`). Messages are de-duplicated, so a poll that
 * keeps failing does not pile up copies; the user dismisses them, and navigation clears them.
 */
const messages: string[] = [];

function banner(): HTMLDivElement {
  return requireElement('error-banner', HTMLDivElement);
}

function render(): void {
  const root = banner();
  root.replaceChildren();
  root.hidden = messages.length === 0;
  if (messages.length === 0) return;
  const list = el('ul', { class: 'error-list' }, ...messages.map((text) => el('li', null, text)));
  const dismiss = el(
    'button',
    {
      class: 'button-quiet',
      attrs: { type: 'button', 'aria-label': 'Dismiss errors' },
      on: { click: clearErrors },
    },
    'Dismiss',
  );
  root.append(list, dismiss);
}

/** Shows an error to the user. Aborted requests (navigation) are not errors and are ignored. */
export function showError(error: unknown): void {
  if (isAbortError(error) || error instanceof UploadCancelledError) return;
  const text = errorMessage(error);
  if (!messages.includes(text)) messages.push(text);
  while (messages.length > 5) messages.shift();
  render();
}

export function clearErrors(): void {
  messages.length = 0;
  render();
}

/** Runs a promise to completion, reporting its failure instead of leaving it unhandled. */
export function spawn(task: Promise<unknown>): void {
  task.catch(showError);
}
