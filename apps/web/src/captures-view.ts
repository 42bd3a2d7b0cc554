import type { CaptureOverviewDto, CaptureSummary } from '@threadreel/model';
import { deleteCapture, getCaptureOverview, isAbortError, listCaptures } from './api';
import { isInProgress, stateBadge } from './badges';
import { el, td, th } from './dom';
import { showError, spawn } from './errors';
import { formatBytes, formatCount, formatDateTime, formatDuration, formatEpochNs, parseNs } from './format';
import { captureHref, requestsHref, type View } from './router';
import type { UploadPanel } from './upload';

const POLL_MS = 2_000;
const COLUMNS = 10;

/** The captures page: upload panel and the table of captures, refreshed while any is in progress. */
export function capturesView(upload: UploadPanel): View {
  const controller = new AbortController();
  let timer: number | undefined;
  let highlightId: string | null = null;
  let loading = false;
  let reloadRequested = false;
  let overview = new Map<string, CaptureOverviewDto>();

  const tbody = el('tbody');
  const table = el(
    'table',
    { id: 'captures-table', class: 'data-table clickable', attrs: { 'data-testid': 'captures-table' } },
    el(
      'thead',
      null,
      el(
        'tr',
        null,
        th('Name'),
        th('State'),
        th('Sources'),
        th('Time range (UTC)'),
        th('Requests', 'num'),
        th('Files', 'num'),
        th('Size', 'num'),
        th('Created'),
        el('th', { attrs: { scope: 'col' } }, el('span', { class: 'visually-hidden' }, 'Actions')),
      ),
    ),
    tbody,
  );
  const status = el('span', { class: 'muted small', attrs: { 'aria-live': 'polite' } });
  const refresh = el('button', { class: 'button-quiet', attrs: { type: 'button' } }, 'Refresh');

  const element = el(
    'div',
    { class: 'page', id: 'captures-page' },
    upload.element,
    el(
      'section',
      { class: 'panel', attrs: { 'aria-labelledby': 'captures-heading' } },
      el('div', { class: 'panel-head' }, el('h2', { id: 'captures-heading' }, 'Captures'), status, refresh),
      el('div', { class: 'table-scroll' }, table),
    ),
  );
  tbody.append(messageRow('Loading…'));

  function messageRow(text: string): HTMLTableRowElement {
    return el('tr', { class: 'message-row' }, el('td', { attrs: { colspan: COLUMNS } }, text));
  }

  function emptyRow(): HTMLTableRowElement {
    return el(
      'tr',
      { class: 'message-row', id: 'captures-empty' },
      el(
        'td',
        { attrs: { colspan: COLUMNS } },
        el('strong', null, 'No captures yet.'),
        ' Drop the files of a capture on the box above, or choose them: ',
        'perf script output (perf.script or .gz) and, for requests and their causes, the spans exported by your tracer ',
        '(OTLP JSON, Zipkin or Jaeger), with strace, application logs, GC logs, jstack dumps and a manifest.json as you have them. ',
        'A single .tar.gz bundle (as written by ',
        el('code', null, 'threadreel record'),
        ') works too.',
      ),
    );
  }

  function ingestCell(capture: CaptureSummary, o: CaptureOverviewDto | undefined): HTMLTableCellElement {
    const cell = el('td', null, stateBadge(capture.state));
    if (isInProgress(capture.state)) {
      const done = o?.filesDone ?? 0;
      const total = o?.files ?? capture.files;
      cell.append(
        el(
          'div',
          { class: 'ingest', data: { ingest: `${done}/${total}` } },
          el('progress', { attrs: { max: Math.max(total, 1), value: done, 'aria-label': 'Files parsed' } }),
          capture.state === 'correlating' ? 'correlating…' : `${done} of ${total} files`,
        ),
      );
    }
    if (capture.error)
      cell.append(
        el(
          'div',
          { class: capture.state === 'degraded' ? 'cell-degraded' : 'cell-error' },
          capture.state === 'degraded' ? `Degraded: ${capture.error}` : capture.error,
        ),
      );
    return cell;
  }

  function rangeCell(o: CaptureOverviewDto | undefined): HTMLTableCellElement {
    const from = parseNs(o?.fromNs);
    const to = parseNs(o?.toNs);
    if (from === null || to === null) return el('td', { class: 'muted small' }, '—');
    return el(
      'td',
      { class: 'small', title: `${o?.fromNs ?? ''} … ${o?.toNs ?? ''} ns` },
      formatEpochNs(o?.fromNs),
      el('div', { class: 'muted' }, `for ${formatDuration(to - from)}`),
    );
  }

  function row(capture: CaptureSummary): HTMLTableRowElement {
    const o = overview.get(capture.id);
    const href = captureHref(capture.id);
    const remove = el(
      'button',
      { class: 'button-danger small', attrs: { type: 'button', 'data-action': 'delete' } },
      'Delete',
    );
    remove.addEventListener('click', (event) => {
      event.stopPropagation();
      spawn(removeCapture(capture, remove));
    });
    const formats = (o?.formats ?? []).filter((f) => f.format !== 'manifest');
    const tr = el(
      'tr',
      {
        data: { captureId: capture.id, state: capture.state },
        class: capture.id === highlightId ? 'is-new' : undefined,
      },
      el('td', null, el('a', { attrs: { href } }, capture.name || capture.id)),
      ingestCell(capture, o),
      el(
        'td',
        null,
        el(
          'span',
          { class: 'format-list' },
          ...formats.map((f) =>
            el('span', { class: 'chip', title: `${f.files} file${f.files === 1 ? '' : 's'}` }, f.format),
          ),
        ),
      ),
      rangeCell(o),
      td(o ? formatCount(o.requests) : '—', 'num'),
      td(capture.files, 'num'),
      el('td', { class: 'num', title: `${capture.bytes} bytes` }, formatBytes(capture.bytes)),
      el('td', { title: capture.createdAt }, formatDateTime(capture.createdAt)),
      el(
        'td',
        { class: 'actions' },
        o && o.requests > 0
          ? el('a', { class: 'small', attrs: { href: requestsHref({ capture: capture.id }) } }, 'Requests')
          : null,
        ' ',
        remove,
      ),
    );
    tr.addEventListener('click', (event) => {
      // Links and buttons in the row do their own thing.
      if (event.target instanceof Element && event.target.closest('a, button')) return;
      location.hash = href;
    });
    return tr;
  }

  function render(captures: CaptureSummary[]): void {
    if (captures.length === 0) {
      tbody.replaceChildren(emptyRow());
      return;
    }
    const sorted = [...captures].sort((a, b) => b.createdAt.localeCompare(a.createdAt));
    tbody.replaceChildren(...sorted.map(row));
  }

  function schedule(captures: CaptureSummary[]): void {
    window.clearTimeout(timer);
    timer = undefined;
    const busy = captures.filter((c) => isInProgress(c.state)).length;
    if (busy > 0 && !controller.signal.aborted) {
      timer = window.setTimeout(() => spawn(load()), POLL_MS);
      status.textContent = `${busy} capture${busy === 1 ? '' : 's'} in progress — refreshing automatically`;
    } else {
      status.textContent = '';
    }
  }

  async function load(): Promise<void> {
    if (loading) {
      // Answer the latest request too (e.g. an upload finished during a poll).
      reloadRequested = true;
      return;
    }
    loading = true;
    window.clearTimeout(timer);
    try {
      const [captures, overviews] = await Promise.all([
        listCaptures(controller.signal),
        // The overview only adds columns: the list still shows without it.
        getCaptureOverview(undefined, controller.signal).catch((error: unknown) => {
          if (isAbortError(error)) throw error;
          showError(error);
          return [] as CaptureOverviewDto[];
        }),
      ]);
      overview = new Map(overviews.map((x) => [x.captureId, x]));
      render(captures);
      schedule(captures);
    } catch (error) {
      if (isAbortError(error)) return;
      status.textContent = 'Could not load captures — use Refresh to retry';
      if (tbody.querySelector('tr[data-capture-id]') === null) {
        tbody.replaceChildren(messageRow('Captures could not be loaded.'));
      }
      showError(error);
    } finally {
      loading = false;
      if (reloadRequested && !controller.signal.aborted) {
        reloadRequested = false;
        spawn(load());
      }
    }
  }

  async function removeCapture(capture: CaptureSummary, button: HTMLButtonElement): Promise<void> {
    const label = capture.name ? `"${capture.name}"` : capture.id;
    if (!window.confirm(`Delete capture ${label} and all its data? This cannot be undone.`)) return;
    button.disabled = true;
    try {
      await deleteCapture(capture.id);
    } catch (error) {
      button.disabled = false;
      throw error;
    }
    await load();
  }

  refresh.addEventListener('click', () => spawn(load()));
  upload.onAccepted = (accepted) => {
    highlightId = accepted.captureId;
    spawn(load());
  };
  spawn(load());

  return {
    element,
    title: 'Captures',
    dispose() {
      controller.abort();
      window.clearTimeout(timer);
      if (upload.onAccepted) upload.onAccepted = null;
    },
  };
}
