import type {
  CaptureOverviewDto,
  CaptureSummary,
  RequestListDto,
  RequestRowDto,
  RequestStatsDto,
  RouteStatsDto,
} from '@threadreel/model';
import {
  getCaptureOverview,
  getRequestStats,
  isAbortError,
  listCaptures,
  listRequests,
  type RequestQuery,
} from '../api';
import { isInProgress } from '../badges';
import { CAUSE_ORDER, causeLabel } from '../causes';
import { el, th, type Child } from '../dom';
import { showError, spawn } from '../errors';
import {
  formatCount,
  formatDateTime,
  formatDuration,
  formatEpochNs,
  msTextToNs,
  nsToMsText,
  parseNs,
} from '../format';
import { CAPTURES_HREF, captureHref, compareHref, replayHref, requestsHref, type View } from '../router';
import { onThemeChange } from '../theme';
import { causeBar, causeLegend, causeName } from './cause-bar';
import type { HistogramHandle } from './histogram-chart';

const PAGE_SIZE = 50;
const BUCKETS = 20;
/** Routes drawn as small multiples when no route is chosen. */
const MAX_HISTOGRAMS = 9;

const SORTS = {
  slowest: { sort: 'duration', order: 'desc', label: 'Slowest first' },
  fastest: { sort: 'duration', order: 'asc', label: 'Fastest first' },
  newest: { sort: 'start', order: 'desc', label: 'Latest start first' },
  oldest: { sort: 'start', order: 'asc', label: 'Earliest start first' },
} as const;
type SortKey = keyof typeof SORTS;

/** The filter keys kept in the hash query. */
const FILTER_KEYS = ['capture', 'service', 'route', 'cause', 'min', 'max', 'q'] as const;
type FilterKey = (typeof FILTER_KEYS)[number];
type State = Record<FilterKey, string> & { sort: SortKey; page: number };

function readState(query: URLSearchParams): State {
  const sort = query.get('sort') ?? 'slowest';
  const page = Number(query.get('page') ?? '1');
  const state = {
    sort: sort in SORTS ? (sort as SortKey) : 'slowest',
    page: Number.isInteger(page) && page >= 1 ? page : 1,
  } as State;
  for (const key of FILTER_KEYS) state[key] = query.get(key)?.trim() ?? '';
  return state;
}

function stateHref(state: State): string {
  return requestsHref({
    capture: state.capture,
    service: state.service,
    route: state.route,
    cause: state.cause,
    min: state.min,
    max: state.max,
    q: state.q,
    sort: state.sort === 'slowest' ? undefined : state.sort,
    page: state.page > 1 ? String(state.page) : undefined,
  });
}

function hasFilters(state: State): boolean {
  return FILTER_KEYS.some((k) => k !== 'capture' && state[k] !== '');
}

/** The request of the route whose duration is the median: the middle one sorted by duration. */
async function medianOf(row: RequestRowDto, signal: AbortSignal): Promise<RequestRowDto | null> {
  const base: RequestQuery = {
    capture: row.captureId,
    route: row.route ?? undefined,
    service: row.service ?? undefined,
    sort: 'duration',
    order: 'asc',
  };
  const first = await listRequests({ ...base, limit: 1 }, signal);
  if (first.total < 2) return null;
  const mid = Math.floor((first.total - 1) / 2);
  const around = await listRequests({ ...base, offset: Math.max(mid - 1, 0), limit: 3 }, signal);
  const pick = around.rows.find((r, i) => i === Math.min(mid, 1) && r.traceId !== row.traceId);
  return pick ?? around.rows.find((r) => r.traceId !== row.traceId) ?? null;
}

/**
 * Requests, slowest first: a stacked cause bar per row, filters kept in the hash query,
 * paging, per-route duration histograms (a click filters to that bucket), compare actions.
 */
export function requestsView(query: URLSearchParams): View {
  const controller = new AbortController();
  const { signal } = controller;
  let state = readState(query);
  let charts: HistogramHandle[] = [];
  let generation = 0;
  const selected = new Map<string, RequestRowDto>();
  let captures: CaptureSummary[] = [];
  /** Re-reads the page while a capture it waits for is still being ingested. */
  let pollTimer: number | undefined;

  // ---- filter form --------------------------------------------------------------------
  const captureSelect = el('select', { id: 'filter-capture', attrs: { name: 'capture' } });
  const serviceSelect = el('select', { id: 'filter-service', attrs: { name: 'service' } });
  const routeSelect = el('select', { id: 'filter-route', attrs: { name: 'route' } });
  const causeSelect = el('select', { id: 'filter-cause', attrs: { name: 'cause' } });
  const minInput = el('input', {
    id: 'filter-min',
    attrs: { name: 'min', type: 'number', min: 0, step: 'any', placeholder: 'ms' },
  });
  const maxInput = el('input', {
    id: 'filter-max',
    attrs: { name: 'max', type: 'number', min: 0, step: 'any', placeholder: 'ms' },
  });
  const textInput = el('input', {
    id: 'filter-q',
    attrs: { name: 'q', type: 'search', placeholder: 'trace id prefix, route, name' },
  });
  const sortSelect = el(
    'select',
    { id: 'filter-sort', attrs: { name: 'sort' } },
    ...Object.entries(SORTS).map(([key, s]) => el('option', { attrs: { value: key } }, s.label)),
  );
  const clear = el('button', { class: 'button-quiet', attrs: { type: 'button' } }, 'Clear filters');
  const label = (text: string, control: HTMLElement): HTMLLabelElement => el('label', null, text, control);
  const form = el(
    'form',
    { id: 'requests-filters', class: 'filters', attrs: { 'aria-label': 'Filter requests' } },
    label('Capture', captureSelect),
    label('Service', serviceSelect),
    label('Route', routeSelect),
    label('Dominant cause', causeSelect),
    label('Min duration (ms)', minInput),
    label('Max duration (ms)', maxInput),
    label('Text', textInput),
    label('Sort', sortSelect),
    clear,
    el('button', { class: 'visually-hidden', attrs: { type: 'submit', tabindex: -1 } }, 'Apply'),
  );

  // ---- histograms, table, pager -------------------------------------------------------
  const histNote = el('p', { class: 'muted small' });
  const histBox = el('div', { id: 'duration-histograms', class: 'histograms' });
  const summary = el('span', {
    id: 'requests-summary',
    class: 'muted small',
    attrs: { 'aria-live': 'polite' },
  });
  const tbody = el('tbody');
  const table = el(
    'table',
    { id: 'requests-table', class: 'data-table' },
    el(
      'thead',
      null,
      el(
        'tr',
        null,
        el('th', { attrs: { scope: 'col' }, title: 'Pick two to compare' }, 'Compare'),
        th('Wall time by cause'),
        th('Route'),
        th('Service'),
        th('Duration', 'num'),
        th('Dominant cause'),
        th('Start (UTC)'),
        el('th', { attrs: { scope: 'col' } }, el('span', { class: 'visually-hidden' }, 'Actions')),
      ),
    ),
    tbody,
  );
  const emptyBox = el('div', { id: 'requests-empty' });
  const compareButton = el(
    'button',
    { id: 'compare-selected', attrs: { type: 'button', disabled: true } },
    'Compare selected',
  );
  const compareNote = el(
    'span',
    { class: 'muted small' },
    'Tick two requests (ideally of one route) to compare them.',
  );
  const prev = el('button', { class: 'button-quiet', attrs: { type: 'button' } }, '← Previous');
  const next = el('button', { class: 'button-quiet', attrs: { type: 'button' } }, 'Next →');
  const pageText = el('span', { class: 'muted small' });
  const pager = el('div', { class: 'pager', id: 'requests-pager' }, pageText, prev, next);

  const histPanel = el(
    'section',
    { class: 'panel', attrs: { 'aria-labelledby': 'histograms-heading' } },
    el('h3', { id: 'histograms-heading' }, 'Duration per route'),
    histNote,
    histBox,
  );
  const compareBar = el('div', { class: 'compare-bar' }, compareButton, compareNote);
  const footnote = el(
    'p',
    { class: 'muted small' },
    '* few on-CPU samples during the request: its on-CPU share is an estimate. Hover a bar for the time of each cause; click a row to replay the request.',
  );
  const element = el(
    'div',
    { id: 'requests-page', class: 'page', data: { state: 'loading' } },
    el(
      'section',
      { class: 'panel', attrs: { 'aria-labelledby': 'requests-heading' } },
      el('div', { class: 'panel-head' }, el('h2', { id: 'requests-heading' }, 'Requests'), summary),
      form,
      causeLegend(),
    ),
    histPanel,
    el(
      'section',
      { class: 'panel' },
      compareBar,
      emptyBox,
      el('div', { class: 'table-scroll' }, table),
      footnote,
      pager,
    ),
  );

  // ---- state ↔ URL ----------------------------------------------------------------------
  function go(change: Partial<State>, resetPage = true): void {
    state = { ...state, ...change, page: change.page ?? (resetPage ? 1 : state.page) };
    const href = stateHref(state);
    // A new history entry without remounting (pushState fires no hashchange); Back remounts.
    if (href !== location.hash) history.pushState(history.state, '', href);
    syncForm();
    spawn(load());
  }

  function option(value: string, text: string, current: string): HTMLOptionElement {
    return el('option', { attrs: { value, selected: value === current } }, text);
  }

  function fillSelect(
    select: HTMLSelectElement,
    all: string,
    items: [string, string][],
    current: string,
  ): void {
    const opts = [option('', all, current), ...items.map(([v, t]) => option(v, t, current))];
    // Keep a value from the URL that the data does not (yet) list.
    if (current !== '' && !items.some(([v]) => v === current)) opts.push(option(current, current, current));
    select.replaceChildren(...opts);
    select.value = current;
  }

  function syncForm(): void {
    minInput.value = state.min;
    maxInput.value = state.max;
    textInput.value = state.q;
    sortSelect.value = state.sort;
    captureSelect.value = state.capture;
    serviceSelect.value = state.service;
    routeSelect.value = state.route;
    causeSelect.value = state.cause;
  }

  function fillCaptures(): void {
    fillSelect(
      captureSelect,
      'All captures',
      captures.map((c) => [c.id, `${c.name || c.id} · ${formatDateTime(c.createdAt)} (${c.state})`]),
      state.capture,
    );
  }

  function fillFacets(stats: RequestStatsDto | null): void {
    const services = stats?.services ?? [];
    fillSelect(
      serviceSelect,
      'All services',
      services.filter((s) => s.service !== null).map((s) => [s.service ?? '', `${s.service} (${s.count})`]),
      state.service,
    );
    const routes = new Map<string, number>();
    for (const r of stats?.routes ?? [])
      if (r.route !== null) routes.set(r.route, (routes.get(r.route) ?? 0) + r.count);
    fillSelect(
      routeSelect,
      'All routes',
      [...routes].map(([route, n]) => [route, `${route} (${n})`]),
      state.route,
    );
    const counts = new Map((stats?.causes ?? []).map((c) => [c.cause as string, c.count]));
    fillSelect(
      causeSelect,
      'Any cause',
      CAUSE_ORDER.map((c) => [c, `${causeLabel(c)} (${counts.get(c) ?? 0})`]),
      state.cause,
    );
  }

  // ---- histograms -----------------------------------------------------------------------
  function disposeCharts(): void {
    for (const c of charts) c.dispose();
    charts = [];
  }

  function selectedBucket(r: RouteStatsDto): number | null {
    if (state.route !== (r.route ?? '') || (state.service !== '' && state.service !== (r.service ?? '')))
      return null;
    const min = msTextToNs(state.min);
    const max = msTextToNs(state.max);
    if (min === null || max === null) return null;
    const i = r.histogram.findIndex((b) => BigInt(b.fromNs) === min && BigInt(b.toNs) - 1n === max);
    return i < 0 ? null : i;
  }

  async function renderHistograms(stats: RequestStatsDto, gen: number): Promise<void> {
    disposeCharts();
    let routes = stats.routes.filter((r) => r.route !== null);
    if (state.route !== '') routes = routes.filter((r) => r.route === state.route);
    if (routes.length === 0) {
      histNote.textContent = '';
      histBox.replaceChildren(el('p', { class: 'muted' }, 'No routes to draw.'));
      return;
    }
    const shown = routes.slice(0, MAX_HISTOGRAMS);
    histNote.textContent =
      (routes.length > shown.length ? `The ${shown.length} busiest of ${routes.length} routes. ` : '') +
      'Requests per duration range; click a bar to list the requests of that range.' +
      (state.route ? '' : ' Pick a route above for a larger chart.');
    histBox.classList.toggle('single', shown.length === 1);
    const boxes = shown.map((r) => {
      const chartBox = el('div', {
        class: 'chart',
        attrs: { role: 'img', 'aria-label': `Duration histogram of ${r.route ?? ''}` },
      });
      const box = el(
        'div',
        { class: 'histogram', data: { route: r.route ?? '', service: r.service ?? '' } },
        el(
          'h4',
          null,
          r.route ?? '(no route)',
          r.service ? el('span', { class: 'muted' }, ` · ${r.service}`) : null,
        ),
        el(
          'div',
          { class: 'muted small' },
          `${formatCount(r.count)} request${r.count === 1 ? '' : 's'} · median ${formatDuration(BigInt(r.medianNs))} · p95 ${formatDuration(BigInt(r.p95Ns))} · max ${formatDuration(BigInt(r.maxNs))}`,
        ),
        chartBox,
      );
      return { r, box, chartBox };
    });
    histBox.replaceChildren(...boxes.map((b) => b.box));
    const { renderHistogram } = await import('./histogram-chart');
    if (signal.aborted || gen !== generation) return;
    for (const { r, chartBox } of boxes) {
      charts.push(
        renderHistogram(chartBox, r.histogram, selectedBucket(r), (i) => {
          const b = r.histogram[i];
          if (!b) return;
          go({
            route: r.route ?? '',
            service: r.service ?? '',
            min: nsToMsText(BigInt(b.fromNs)),
            max: nsToMsText(BigInt(b.toNs) - 1n),
          });
        }),
      );
    }
  }

  // ---- table ----------------------------------------------------------------------------
  function updateCompare(): void {
    const picked = [...selected.values()];
    compareButton.disabled = picked.length !== 2;
    compareButton.textContent = `Compare selected (${picked.length}/2)`;
    const [a, b] = picked;
    if (a && b && (a.route !== b.route || a.service !== b.service))
      compareNote.textContent =
        'These two are of different routes: the comparison still works, but says less.';
    else compareNote.textContent = 'Tick two requests (ideally of one route) to compare them.';
  }

  function row(r: RequestRowDto, scale: bigint): HTMLTableRowElement {
    const duration = parseNs(r.durationNs) ?? 0n;
    const href = replayHref(r.traceId);
    const check = el('input', {
      attrs: { type: 'checkbox', 'aria-label': `Compare ${r.traceId}`, 'data-action': 'compare' },
    });
    check.checked = selected.has(r.traceId);
    check.addEventListener('change', () => {
      if (check.checked) {
        if (selected.size >= 2) {
          const oldest = selected.keys().next().value;
          if (oldest !== undefined) selected.delete(oldest);
          for (const box of tbody.querySelectorAll<HTMLInputElement>('input[data-action="compare"]'))
            box.checked = selected.has(box.closest('tr')?.dataset['traceId'] ?? '') || box === check;
        }
        selected.set(r.traceId, r);
      } else selected.delete(r.traceId);
      updateCompare();
    });
    const median = el(
      'button',
      {
        class: 'button-quiet small',
        attrs: { type: 'button', 'data-action': 'compare-median' },
        title: `Compare with the median request of ${r.route ?? 'its route'}`,
      },
      'vs median',
    );
    median.addEventListener('click', () =>
      spawn(
        (async () => {
          median.disabled = true;
          try {
            const m = await medianOf(r, signal);
            if (!m) {
              showError(new Error(`${r.route ?? 'This route'} has no other request to compare with.`));
              return;
            }
            location.hash = compareHref(r.traceId, m.traceId, r.captureId);
          } finally {
            median.disabled = false;
          }
        })(),
      ),
    );
    const tr = el(
      'tr',
      {
        data: {
          traceId: r.traceId,
          dominantCause: r.dominantCause,
          durationNs: r.durationNs,
          captureId: r.captureId,
        },
      },
      el('td', null, check),
      el('td', { class: 'bar-cell' }, causeBar(r.breakdown, duration, scale)),
      el(
        'td',
        null,
        el('a', { attrs: { href } }, r.route ?? r.name),
        el('div', { class: 'trace-id', title: 'trace id' }, r.traceId),
      ),
      el(
        'td',
        { class: 'nowrap' },
        r.service ?? '—',
        // Several captures listed together: say which one each request comes from.
        state.capture === '' && captures.length > 1
          ? el(
              'div',
              { class: 'muted small' },
              el('a', { attrs: { href: captureHref(r.captureId) } }, captureName(r.captureId)),
            )
          : null,
      ),
      el(
        'td',
        { class: 'num', title: `${r.durationNs} ns${r.sparse ? ' — short: its cpu share is a guess' : ''}` },
        formatDuration(duration),
        r.sparse ? ' *' : '',
      ),
      el('td', null, causeName(r.dominantCause)),
      el(
        'td',
        { class: 'small', title: `${r.startNs} ns` },
        formatEpochNs(r.startNs).replace(/^\d{4}-\d\d-\d\d /, ''),
      ),
      el('td', { class: 'actions' }, median),
    );
    tr.addEventListener('click', (event) => {
      if (event.target instanceof Element && event.target.closest('a, button, input, label')) return;
      location.hash = href;
    });
    return tr;
  }

  function captureName(id: string): string {
    const c = captures.find((x) => x.id === id);
    return c ? c.name || c.id : id.slice(0, 8);
  }

  function messageRow(text: string): HTMLTableRowElement {
    return el('tr', { class: 'message-row' }, el('td', { attrs: { colspan: 8 } }, text));
  }

  function empty(title: string, ...body: Child[]): HTMLElement {
    return el('div', { class: 'empty-state' }, el('h3', null, title), ...body);
  }

  async function explainEmpty(): Promise<HTMLElement> {
    if (hasFilters(state)) {
      const reset = el('button', { class: 'button-quiet', attrs: { type: 'button' } }, 'Clear the filters');
      reset.addEventListener('click', () => clear.click());
      return empty('No request matches these filters', el('p', null, 'Loosen or clear them. ', reset));
    }
    if (captures.length === 0)
      return empty(
        'No captures yet',
        el(
          'p',
          null,
          'Requests come from the spans of an uploaded capture. ',
          el('a', { attrs: { href: CAPTURES_HREF } }, 'Upload a capture'),
          ' (perf script output with OTLP, Zipkin or Jaeger spans, and optionally strace, logs and GC logs).',
        ),
      );
    if (state.capture !== '' && !captures.some((c) => c.id === state.capture))
      return empty(
        'This capture does not exist',
        el(
          'p',
          null,
          `No capture has the id ${state.capture}; it may have been deleted. `,
          el('a', { attrs: { href: requestsHref() } }, 'Show the requests of all captures'),
          ' or ',
          el('a', { attrs: { href: CAPTURES_HREF } }, 'go to the captures'),
          '.',
        ),
      );
    let overview: CaptureOverviewDto[] = [];
    try {
      overview = await getCaptureOverview(state.capture || undefined, signal);
    } catch (error) {
      if (isAbortError(error)) throw error;
    }
    const busy = captures.filter(
      (c) => (state.capture === '' || c.id === state.capture) && isInProgress(c.state),
    );
    const lines: Child[] = [];
    if (busy.length > 0) {
      lines.push(
        el(
          'p',
          null,
          `${busy.length === 1 ? 'A capture is' : `${busy.length} captures are`} still being ingested; requests appear here when ${busy.length === 1 ? 'it is' : 'they are'} ready (this page checks every few seconds). `,
          ...busy.map((c) => el('a', { attrs: { href: captureHref(c.id) } }, `Follow ${c.name || c.id}`)),
        ),
      );
      window.clearTimeout(pollTimer);
      pollTimer = window.setTimeout(() => spawn(load()), 3_000);
    }
    const noSpans = overview.filter((o) => o.spanFiles === 0);
    if (noSpans.length > 0 && busy.length === 0)
      lines.push(
        el(
          'p',
          null,
          state.capture
            ? 'This capture has no span file. '
            : `${noSpans.length} of ${overview.length} capture(s) have no span file. `,
          'Requests are the server (or root) spans of OTLP JSON, Zipkin or Jaeger files uploaded with the capture: add the spans exported by your tracer to see requests here.',
        ),
      );
    else if (busy.length === 0)
      lines.push(
        el(
          'p',
          null,
          'The spans of this capture contain no server or root span, so no request could be explained. Check that the tracer exports server spans (span kind SERVER).',
        ),
      );
    if (state.capture)
      lines.push(
        el(
          'p',
          null,
          el('a', { attrs: { href: captureHref(state.capture) } }, 'Open the capture’s parse report'),
        ),
      );
    return empty(state.capture ? 'No requests in this capture' : 'No requests yet', ...lines);
  }

  function renderTable(list: RequestListDto): void {
    const sort = SORTS[state.sort];
    const scale = list.rows.reduce((m, r) => {
      const d = parseNs(r.durationNs) ?? 0n;
      return d > m ? d : m;
    }, 0n);
    tbody.replaceChildren(...list.rows.map((r) => row(r, scale)));
    const from = (state.page - 1) * PAGE_SIZE;
    const pages = Math.max(Math.ceil(list.total / PAGE_SIZE), 1);
    summary.textContent = `${formatCount(list.total)} request${list.total === 1 ? '' : 's'} · ${sort.label.toLowerCase()}`;
    pageText.textContent =
      list.total === 0
        ? ''
        : `Showing ${from + 1}–${from + list.rows.length} of ${formatCount(list.total)} · page ${state.page} of ${pages}`;
    prev.disabled = state.page <= 1;
    next.disabled = state.page >= pages;
    pager.hidden = list.total <= PAGE_SIZE && state.page === 1;
  }

  // ---- loading --------------------------------------------------------------------------
  async function load(): Promise<void> {
    const gen = ++generation;
    element.dataset['state'] = 'loading';
    const sort = SORTS[state.sort];
    const minNs = msTextToNs(state.min);
    const maxNs = msTextToNs(state.max);
    if (state.min !== '' && minNs === null)
      showError(new Error(`Min duration "${state.min}" is not a number of ms; ignored.`));
    if (state.max !== '' && maxNs === null)
      showError(new Error(`Max duration "${state.max}" is not a number of ms; ignored.`));
    const capture = state.capture || undefined;
    tbody.replaceChildren(messageRow('Loading…'));
    const listP = listRequests(
      {
        capture,
        service: state.service || undefined,
        route: state.route || undefined,
        cause: state.cause || undefined,
        q: state.q || undefined,
        minDurationMs: minNs === null ? undefined : state.min,
        maxDurationMs: maxNs === null ? undefined : state.max,
        sort: sort.sort,
        order: sort.order,
        limit: PAGE_SIZE,
        offset: (state.page - 1) * PAGE_SIZE,
      },
      signal,
    );
    const statsP = getRequestStats(
      {
        capture,
        service: state.service || undefined,
        cause: state.cause || undefined,
        q: state.q || undefined,
        buckets: BUCKETS,
      },
      signal,
    );
    window.clearTimeout(pollTimer);
    const capturesP = listCaptures(signal);
    const [list, stats, caps] = await Promise.allSettled([listP, statsP, capturesP]);
    if (signal.aborted || gen !== generation) return;
    if (caps.status === 'fulfilled') captures = caps.value;
    fillCaptures();
    fillFacets(stats.status === 'fulfilled' ? stats.value : null);
    syncForm();
    if (stats.status === 'fulfilled') {
      try {
        await renderHistograms(stats.value, gen);
      } catch (error) {
        if (isAbortError(error)) return;
        histBox.replaceChildren(
          el('p', { class: 'notice notice-error' }, 'The histograms could not be drawn.'),
        );
        showError(error);
      }
    } else if (
      state.capture !== '' &&
      caps.status === 'fulfilled' &&
      !captures.some((c) => c.id === state.capture)
    ) {
      // A deleted capture: the empty state below says so.
      histBox.replaceChildren();
    } else {
      histBox.replaceChildren(
        el('p', { class: 'notice notice-error' }, 'The histograms could not be loaded.'),
      );
      showError(stats.reason);
    }
    if (list.status === 'rejected') {
      tbody.replaceChildren(messageRow('The requests could not be loaded (see the message above).'));
      element.dataset['state'] = 'error';
      showError(list.reason);
      return;
    }
    renderTable(list.value);
    const none = list.value.total === 0;
    compareBar.hidden = none;
    footnote.hidden = none;
    // Without any request of the capture there is nothing to draw.
    histPanel.hidden = none && (stats.status === 'rejected' || stats.value.total === 0);
    if (none) {
      tbody.replaceChildren();
      table.hidden = true;
      try {
        emptyBox.replaceChildren(await explainEmpty());
      } catch (error) {
        if (!isAbortError(error)) showError(error);
        return;
      }
    } else {
      table.hidden = false;
      emptyBox.replaceChildren();
    }
    if (gen === generation) element.dataset['state'] = 'ready';
  }

  // ---- events ---------------------------------------------------------------------------
  const onSelect = (key: FilterKey, select: HTMLSelectElement) =>
    select.addEventListener('change', () => {
      const change: Partial<State> = { [key]: select.value };
      // A new capture has other routes and services.
      if (key === 'capture') Object.assign(change, { route: '', service: '', min: '', max: '' });
      if (key === 'route') Object.assign(change, { min: '', max: '' });
      go(change);
    });
  onSelect('capture', captureSelect);
  onSelect('service', serviceSelect);
  onSelect('route', routeSelect);
  onSelect('cause', causeSelect);
  sortSelect.addEventListener('change', () => go({ sort: sortSelect.value as SortKey }));
  const applyText = () => {
    if (
      minInput.value.trim() !== state.min ||
      maxInput.value.trim() !== state.max ||
      textInput.value.trim() !== state.q
    )
      go({ min: minInput.value.trim(), max: maxInput.value.trim(), q: textInput.value.trim() });
  };
  for (const input of [minInput, maxInput, textInput]) input.addEventListener('change', applyText);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    applyText();
  });
  clear.addEventListener('click', () =>
    go({ service: '', route: '', cause: '', min: '', max: '', q: '', sort: 'slowest' }),
  );
  prev.addEventListener('click', () => go({ page: Math.max(state.page - 1, 1) }, false));
  next.addEventListener('click', () => go({ page: state.page + 1 }, false));
  compareButton.addEventListener('click', () => {
    const [a, b] = [...selected.values()];
    if (a && b)
      location.hash = compareHref(
        a.traceId,
        b.traceId,
        a.captureId === b.captureId ? a.captureId : undefined,
      );
  });
  const unsubscribe = onThemeChange(() => {
    for (const c of charts) c.restyle();
  });

  updateCompare();
  syncForm();
  spawn(load());

  return {
    element,
    title: 'Requests',
    dispose() {
      controller.abort();
      window.clearTimeout(pollTimer);
      unsubscribe();
      disposeCharts();
    },
  };
}
