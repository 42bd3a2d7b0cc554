import type {
  CaptureDetail,
  CaptureOverviewDto,
  FoldGroupBy,
  SampleTimeline,
  SourceFileReport,
  ThreadMapDto,
  ThreadSummary,
} from '@threadreel/model';
import {
  ApiRequestError,
  deleteCapture,
  foldedUrl,
  getCapture,
  getCaptureOverview,
  getThreadMap,
  getThreads,
  getTimeline,
  isAbortError,
} from './api';
import { isInProgress, isUsable, stateBadge } from './badges';
import { el, td, th, type Child } from './dom';
import { showError, spawn } from './errors';
import {
  errorMessage,
  formatBytes,
  formatCount,
  formatDateTime,
  formatDuration,
  formatEpochNs,
  formatMs,
  formatSignedDuration,
  nsToMs,
  parseNs,
} from './format';
import { CAPTURES_HREF, requestsHref, type View } from './router';
import { onThemeChange } from './theme';
import type { ChartHandle } from './timeline-chart';
import { buildHeatmap, samplesLabel } from './timeline-data';

const POLL_MS = 2_000;
const TIMELINE_BUCKETS = 200;
const FILE_COLUMNS = 10;

/** Evidence keys that measure how well a clock offset fits (shown as the residual). */
const RESIDUAL_KEYS = ['residualMadNs', 'residualMedianNs', 'spreadNs', 'driftNs', 'residualNs'];

function evidenceValue(key: string, value: unknown): string {
  if (typeof value === 'string' && /Ns$/.test(key) && /^-?\d+$/.test(value))
    return formatSignedDuration(BigInt(value)).replace('+', '');
  if (typeof value === 'number' && /Ns$/.test(key)) return formatDuration(BigInt(Math.round(value)));
  if (typeof value === 'string') return value;
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}

function confidenceText(c: number | null | undefined): string {
  return typeof c === 'number' && Number.isFinite(c) ? `${Math.round(c * 100)} %` : '—';
}

/** The `groupBy` values of the folded export (the model's FOLD_GROUPS; types only may be imported). */
const FOLD_GROUPS: readonly { group: FoldGroupBy; label: string }[] = [
  { group: 'tid', label: 'Per thread (tid)' },
  { group: 'pid', label: 'Per process (pid)' },
  { group: 'none', label: 'All stacks merged' },
];

/** The page of one capture: file reports, folded exports, timeline chart and threads. */
export function captureView(id: string): View {
  const controller = new AbortController();
  const { signal } = controller;
  let timer: number | undefined;
  let capture: CaptureDetail | null = null;
  let analysisState: 'none' | 'loading' | 'loaded' = 'none';
  let chart: ChartHandle | null = null;
  let lastTimeline: SampleTimeline | null = null;
  /** Files whose rejected-lines list the user opened, kept open across refreshes. */
  const openRejected = new Set<string>();

  const header = el('header', { class: 'detail-head' }, el('h2', null, 'Loading capture…'));
  const status = el('span', { class: 'muted small', attrs: { 'aria-live': 'polite' } });

  const filesBody = el('tbody');
  const filesTable = el(
    'table',
    { id: 'files-table', class: 'data-table', attrs: { 'data-testid': 'files-table' } },
    el(
      'thead',
      null,
      el(
        'tr',
        null,
        th('File'),
        th('Format'),
        th('Detected (confidence)'),
        th('State'),
        th('Size', 'num'),
        th('Lines', 'num'),
        th('Events', 'num'),
        th('Rejected', 'num'),
        th('Parse time', 'num'),
        th('Error'),
      ),
    ),
    filesBody,
  );

  const exportsBox = el('div', { id: 'folded-exports' });
  const chartBox = el('div', {
    id: 'timeline-chart',
    class: 'chart',
    attrs: {
      'data-testid': 'timeline-chart',
      role: 'img',
      'aria-label': 'On-CPU samples per thread over time',
    },
  });
  const chartNote = el('p', { class: 'muted small' });

  const threadsCaption = el('caption', { class: 'muted small' });
  const threadsBody = el('tbody');
  const threadsTable = el(
    'table',
    { id: 'threads-table', class: 'data-table', attrs: { 'data-testid': 'threads-table' } },
    threadsCaption,
    el(
      'thead',
      null,
      el(
        'tr',
        null,
        th('TID', 'num'),
        th('PID', 'num'),
        th('Names'),
        th('Samples', 'num'),
        th('First sample', 'num'),
        th('Last sample', 'num'),
      ),
    ),
    threadsBody,
  );

  const clockBody = el('tbody');
  const clockTable = el(
    'table',
    { id: 'clock-table', class: 'data-table' },
    el(
      'caption',
      { class: 'muted small' },
      'Offset added to each source’s timestamps to put it on the common (epoch) time axis, how it was found, and how well it fits.',
    ),
    el(
      'thead',
      null,
      el(
        'tr',
        null,
        th('Source file'),
        th('Clock'),
        th('Offset', 'num'),
        th('Method'),
        th('Residual'),
        th('Confidence', 'num'),
        th('Evidence'),
      ),
    ),
    clockBody,
  );
  const mapCaption = el('caption', { class: 'muted small' });
  const mapBody = el('tbody');
  const mapTable = el(
    'table',
    { id: 'thread-map-table', class: 'data-table' },
    mapCaption,
    el(
      'thead',
      null,
      el(
        'tr',
        null,
        th('TID', 'num'),
        th('PID', 'num'),
        th('Names'),
        th('Pool'),
        th('Runtime ids'),
        th('Mapped by (source · confidence)'),
        th('Samples', 'num'),
        th('Segments'),
      ),
    ),
    mapBody,
  );
  const overviewBox = el('div', { id: 'capture-overview' });
  const ingestBox = el('div', { id: 'ingest-progress' });

  const refresh = el('button', { class: 'button-quiet', attrs: { type: 'button' } }, 'Refresh');
  const remove = el('button', { class: 'button-danger', attrs: { type: 'button' } }, 'Delete capture');

  const section = (title: string, ...content: Child[]): HTMLElement =>
    el('section', { class: 'panel' }, el('h3', null, title), ...content);

  const body = el(
    'div',
    { class: 'detail-body' },
    section('Source files', el('div', { class: 'table-scroll' }, filesTable)),
    section('Clock offsets per source', el('div', { class: 'table-scroll' }, clockTable)),
    section('Folded stacks', exportsBox),
    section('On-CPU samples per thread over time', chartNote, chartBox),
    section('Threads', el('div', { class: 'table-scroll' }, threadsTable)),
    section('Thread mappings', el('div', { class: 'table-scroll' }, mapTable)),
  );

  const element = el(
    'div',
    {
      id: 'capture-detail',
      class: 'page',
      data: { captureId: id },
      attrs: { 'data-testid': 'capture-detail' },
    },
    el(
      'nav',
      { class: 'crumbs' },
      el('a', { attrs: { href: CAPTURES_HREF } }, '← All captures'),
      el('span', { class: 'toolbar' }, status, refresh, remove),
    ),
    header,
    ingestBox,
    overviewBox,
    body,
  );

  filesBody.append(messageRow(FILE_COLUMNS, 'Loading…'));
  threadsBody.append(messageRow(6, 'Waiting for the capture to be ready…'));
  mapBody.append(messageRow(8, 'Waiting for the capture to be ready…'));
  clockBody.append(messageRow(7, 'Loading…'));
  renderExports(null);

  function messageRow(columns: number, text: string): HTMLTableRowElement {
    return el('tr', { class: 'message-row' }, el('td', { attrs: { colspan: columns } }, text));
  }

  // ---- header -------------------------------------------------------------------------

  function renderHeader(c: CaptureDetail): void {
    const facts: [string, Child][] = [
      ['ID', el('code', null, c.id)],
      ['Files', formatCount(c.files)],
      ['Size', formatBytes(c.bytes)],
      ['Created', formatDateTime(c.createdAt)],
      ['Updated', formatDateTime(c.updatedAt)],
    ];
    header.replaceChildren(
      el('h2', null, c.name || c.id, ' ', stateBadge(c.state)),
      el(
        'dl',
        { class: 'facts' },
        ...facts.map(([k, v]) => el('div', null, el('dt', null, k), el('dd', null, v))),
      ),
    );
    const parts = Array.isArray(c.degradedParts) ? c.degradedParts : [];
    if (c.state === 'degraded' || (c.state === 'failed' && parts.length > 0))
      header.append(degradedNotice(c));
    else if (c.error) {
      const what = c.state === 'failed' ? 'Capture failed' : 'Some files could not be read';
      header.append(el('p', { class: 'notice notice-error' }, `${what}: ${c.error}`));
    }
    if (c.manifest !== null && c.manifest !== undefined) {
      let text: string;
      try {
        text = JSON.stringify(c.manifest, null, 2);
      } catch {
        text = '(the manifest cannot be displayed)';
      }
      header.append(
        el('details', { class: 'manifest' }, el('summary', null, 'Manifest'), el('pre', null, text)),
      );
    }
  }

  /** What degraded: one row per part (stage, file or source, thread, why). */
  function degradedNotice(c: CaptureDetail): HTMLElement {
    const parts = Array.isArray(c.degradedParts) ? c.degradedParts : [];
    const failed = c.state === 'failed';
    return el(
      'div',
      {
        id: 'degraded-parts',
        class: `notice ${failed ? 'notice-error' : 'notice-warn'}`,
        data: { count: String(parts.length) },
      },
      el(
        'p',
        null,
        failed
          ? 'Capture failed: nothing usable.'
          : `Degraded: usable, but ${parts.length === 1 ? 'one part' : `${parts.length} parts`} went wrong (the rest is kept).`,
      ),
      parts.length
        ? el(
            'table',
            { class: 'data-table compact degraded-parts' },
            el('thead', null, el('tr', null, th('Stage'), th('File / source'), th('Thread'), th('Why'))),
            el(
              'tbody',
              null,
              ...parts.map((p) =>
                el(
                  'tr',
                  { data: { stage: p.stage } },
                  td(p.stage),
                  el(
                    'td',
                    { class: 'mono' },
                    p.file ?? p.source ?? '—',
                    p.file && p.source ? ` (${p.source})` : '',
                  ),
                  td(p.thread ? `tid ${p.thread.tid}` : '—'),
                  td(p.reason),
                ),
              ),
            ),
          )
        : el('p', null, c.error ?? ''),
    );
  }

  // ---- files --------------------------------------------------------------------------

  function fileRows(file: SourceFileReport): HTMLTableRowElement[] {
    const rejectedCount = formatCount(file.rejectedCount);
    const main = el(
      'tr',
      { data: { fileId: file.id, state: file.state } },
      el('td', { class: 'mono', title: `sha256 ${file.sha256}` }, file.name),
      td(file.format ?? '—'),
      el(
        'td',
        { title: file.detected?.reason ?? '' },
        file.detected?.format
          ? `${file.detected.format} (${confidenceText(file.detected.confidence)})`
          : el(
              'span',
              { class: 'muted' },
              file.state === 'queued' || file.state === 'parsing' ? '—' : 'not recognised',
            ),
        file.detected?.reason ? el('div', { class: 'muted small' }, file.detected.reason) : null,
      ),
      el('td', null, stateBadge(file.state)),
      el('td', { class: 'num', title: `${file.bytes} bytes` }, formatBytes(file.bytes)),
      td(formatCount(file.lines), 'num'),
      td(formatCount(file.events), 'num'),
      td(rejectedCount, file.rejectedCount !== '0' ? 'num warn' : 'num'),
      td(file.parseMs === null ? '—' : formatMs(file.parseMs, 0), 'num'),
      td(file.error ?? file.note ?? '', file.error ? 'cell-error' : undefined),
    );
    const rejected = Array.isArray(file.rejected) ? file.rejected : [];
    if (rejected.length === 0) return [main];

    const shown =
      String(rejected.length) === file.rejectedCount
        ? `${rejected.length} rejected line${rejected.length === 1 ? '' : 's'}`
        : `Rejected lines: first ${rejected.length} of ${rejectedCount}`;
    const details = el(
      'details',
      { class: 'rejected', attrs: { open: openRejected.has(file.id) } },
      el('summary', null, shown),
      el(
        'table',
        { class: 'data-table compact rejected-lines' },
        el('thead', null, el('tr', null, th('Line', 'num'), th('Field'), th('Reason'))),
        el(
          'tbody',
          null,
          ...rejected.map((r) =>
            el('tr', null, td(formatCount(r.line), 'num'), td(r.field ?? '—', 'mono'), td(r.reason)),
          ),
        ),
      ),
    );
    details.addEventListener('toggle', () => {
      if (details.open) openRejected.add(file.id);
      else openRejected.delete(file.id);
    });
    const sub = el(
      'tr',
      { class: 'sub-row', data: { rejectedFor: file.id } },
      el('td', { attrs: { colspan: FILE_COLUMNS } }, details),
    );
    return [main, sub];
  }

  function renderFiles(files: SourceFileReport[]): void {
    if (files.length === 0) {
      filesBody.replaceChildren(messageRow(FILE_COLUMNS, 'No files in this capture.'));
      return;
    }
    filesBody.replaceChildren(...files.flatMap(fileRows));
  }

  // ---- ingest progress, overview, clocks, thread map --------------------------------------

  function renderIngest(c: CaptureDetail): void {
    if (!isInProgress(c.state)) {
      ingestBox.replaceChildren();
      return;
    }
    const files = Array.isArray(c.sourceFiles) ? c.sourceFiles : [];
    const done = files.filter(
      (f) => f.state === 'parsed' || f.state === 'stored' || f.state === 'failed',
    ).length;
    const parsing = files.filter((f) => f.state === 'parsing').map((f) => f.name);
    const what =
      c.state === 'correlating'
        ? 'All files are read; merging them onto one time axis per thread and explaining the requests…'
        : `${done} of ${files.length} files read${parsing.length ? ` — reading ${parsing.join(', ')}` : ''}`;
    ingestBox.replaceChildren(
      el(
        'div',
        { class: 'notice notice-info ingest', data: { state: c.state } },
        el('progress', {
          attrs: {
            max: c.state === 'correlating' ? 1 : Math.max(files.length, 1),
            value: c.state === 'correlating' ? undefined : done,
            'aria-label': 'Ingest progress',
          },
        }),
        `Still ingesting (${c.state}): ${what}. This page refreshes by itself.`,
      ),
    );
  }

  function renderOverview(o: CaptureOverviewDto | undefined): void {
    if (!o) {
      overviewBox.replaceChildren();
      return;
    }
    const from = parseNs(o.fromNs);
    const to = parseNs(o.toNs);
    const requests =
      o.requests > 0
        ? el(
            'a',
            { id: 'capture-requests-link', class: 'button', attrs: { href: requestsHref({ capture: id }) } },
            `${formatCount(o.requests)} request${o.requests === 1 ? '' : 's'} →`,
          )
        : el(
            'span',
            { class: 'muted' },
            o.spanFiles === 0
              ? 'No requests: no span file (OTLP JSON, Zipkin, Jaeger) was uploaded with this capture.'
              : 'No requests: the spans hold no server or root span.',
          );
    overviewBox.replaceChildren(
      el(
        'section',
        { class: 'panel' },
        el(
          'dl',
          { class: 'facts' },
          el('div', null, el('dt', null, 'Requests'), el('dd', null, requests)),
          el(
            'div',
            null,
            el('dt', null, 'Time range (UTC)'),
            el(
              'dd',
              null,
              from !== null && to !== null
                ? `${formatEpochNs(o.fromNs)} for ${formatDuration(to - from)}`
                : 'unknown (no source placed on the time axis)',
            ),
          ),
          el(
            'div',
            null,
            el('dt', null, 'Sources'),
            el(
              'dd',
              { class: 'format-list' },
              ...o.formats.map((f) => el('span', { class: 'chip', title: `${f.files} file(s)` }, f.format)),
            ),
          ),
        ),
      ),
    );
  }

  function renderClocks(files: SourceFileReport[]): void {
    if (files.length === 0) {
      clockBody.replaceChildren(messageRow(7, 'No files.'));
      return;
    }
    clockBody.replaceChildren(
      ...files.map((f) => {
        const evidence = f.clockEvidence && typeof f.clockEvidence === 'object' ? f.clockEvidence : {};
        const entries = Object.entries(evidence);
        const residual = entries.filter(([k]) => RESIDUAL_KEYS.includes(k));
        const conf = evidence['confidence'];
        const offset = parseNs(f.clockOffsetNs);
        return el(
          'tr',
          { data: { fileId: f.id, placed: offset === null ? 'no' : 'yes' } },
          el('td', { class: 'mono' }, f.name),
          td(f.clock ?? '—'),
          el(
            'td',
            { class: 'num', title: f.clockOffsetNs === null ? 'not placed' : `${f.clockOffsetNs} ns` },
            offset === null ? 'not placed' : offset === 0n ? '0 (as recorded)' : formatSignedDuration(offset),
          ),
          td(f.clockMethod ?? '—'),
          el(
            'td',
            { class: 'small' },
            residual.length
              ? el(
                  'ul',
                  { class: 'evidence' },
                  ...residual.map(([k, v]) =>
                    el('li', null, el('span', { class: 'k' }, `${k}: `), evidenceValue(k, v)),
                  ),
                )
              : '—',
          ),
          td(typeof conf === 'number' ? confidenceText(conf) : '—', 'num'),
          el(
            'td',
            null,
            entries.length
              ? el(
                  'ul',
                  { class: 'evidence' },
                  ...entries
                    .filter(([k]) => k !== 'confidence' && !RESIDUAL_KEYS.includes(k))
                    .map(([k, v]) =>
                      el('li', null, el('span', { class: 'k' }, `${k}: `), evidenceValue(k, v)),
                    ),
                )
              : '—',
          ),
        );
      }),
    );
  }

  function renderThreadMap(map: ThreadMapDto): void {
    const mapped = map.threads.filter((t) => t.mappings.length > 0).length;
    mapCaption.textContent = `${map.threads.length} thread${map.threads.length === 1 ? '' : 's'}, ${mapped} joined to runtime threads (jstack, threads.jsonl, logs…) with the source and confidence of each mapping.`;
    if (map.threads.length === 0) {
      mapBody.replaceChildren(messageRow(8, 'No threads in this capture.'));
      return;
    }
    mapBody.replaceChildren(
      ...map.threads.map((t) =>
        el(
          'tr',
          { data: { threadId: t.threadId, tid: String(t.tid), mappings: String(t.mappings.length) } },
          td(t.tid, 'num'),
          td(t.pid ?? '—', 'num'),
          td(t.names.length ? t.names.join(', ') : '—'),
          td(t.pool ?? '—'),
          el(
            'td',
            { class: 'small' },
            Object.entries(t.runtimeIds)
              .map(([k, v]) => `${k}: ${v.join(', ')}`)
              .join('; ') || '—',
          ),
          el(
            'td',
            { class: 'small' },
            t.mappings.length
              ? el(
                  'ul',
                  { class: 'evidence' },
                  ...t.mappings.map((m) =>
                    el(
                      'li',
                      { data: { source: m.source } },
                      el('strong', null, m.source),
                      m.name ? ` · ${m.name}` : '',
                      m.runtimeId ? ` · id ${m.runtimeId}` : '',
                      ` · ${confidenceText(m.confidence)}`,
                    ),
                  ),
                )
              : el('span', { class: 'muted' }, 'not mapped'),
          ),
          td(formatCount(t.sampleCount), 'num'),
          td(t.segmentQuality ?? '—', 'small'),
        ),
      ),
    );
  }

  // ---- folded exports -----------------------------------------------------------------

  function renderExports(c: CaptureDetail | null): void {
    if (!c || !isUsable(c.state)) {
      exportsBox.replaceChildren(
        el('p', { class: 'muted' }, 'Folded stack exports are available once the capture is ready.'),
      );
      return;
    }
    const base = (c.name || c.id).replace(/[^\w.-]+/g, '_');
    const link = (group: FoldGroupBy, annotate: boolean): HTMLAnchorElement =>
      el(
        'a',
        {
          class: 'download',
          attrs: {
            href: foldedUrl(c.id, group, annotate),
            download: `${base}-${group}${annotate ? '-annotated' : ''}.folded`,
          },
          data: { groupBy: group, annotate: annotate ? 'kernel,jit' : '' },
        },
        annotate ? 'annotated (kernel, jit)' : 'plain',
      );
    exportsBox.replaceChildren(
      el(
        'p',
        { class: 'muted small' },
        'Folded stacks (one line per unique stack with its sample count) for flame graph tools.',
      ),
      el(
        'table',
        { class: 'data-table compact exports' },
        el('thead', null, el('tr', null, th('Grouping'), th('Download'))),
        el(
          'tbody',
          null,
          ...FOLD_GROUPS.map(({ group, label }) =>
            el('tr', null, td(label), el('td', null, link(group, false), ' · ', link(group, true))),
          ),
        ),
      ),
    );
  }

  // ---- threads and timeline -----------------------------------------------------------

  function renderThreads(threads: ThreadSummary[], t0: bigint | null): void {
    threadsCaption.textContent =
      t0 === null
        ? 'No time reference: first/last sample times are unknown.'
        : `${threads.length} thread${threads.length === 1 ? '' : 's'}; first and last sample in ms after the capture start.`;
    if (threads.length === 0) {
      threadsBody.replaceChildren(messageRow(6, 'No threads in this capture.'));
      return;
    }
    const relative = (ns: string | null): string => {
      const at = parseNs(ns);
      return at === null || t0 === null ? '—' : formatMs(nsToMs(at - t0), 3);
    };
    const bySamples = [...threads].sort((a, b) => {
      const d = (parseNs(b.samples) ?? 0n) - (parseNs(a.samples) ?? 0n);
      return d > 0n ? 1 : d < 0n ? -1 : a.tid - b.tid;
    });
    threadsBody.replaceChildren(
      ...bySamples.map((t) =>
        el(
          'tr',
          { data: { threadId: String(t.id), tid: String(t.tid) } },
          td(t.tid, 'num'),
          td(t.pid ?? '—', 'num'),
          td(t.names.length > 0 ? t.names.join(', ') : '—'),
          td(formatCount(t.samples), 'num'),
          el('td', { class: 'num', title: t.firstNs ?? '' }, relative(t.firstNs)),
          el('td', { class: 'num', title: t.lastNs ?? '' }, relative(t.lastNs)),
        ),
      ),
    );
  }

  /** Start of the capture: the timeline's startNs, else the earliest thread sample. */
  function timeZero(threads: ThreadSummary[] | null, timeline: SampleTimeline | null): bigint | null {
    const fromTimeline = parseNs(timeline?.startNs);
    if (fromTimeline !== null) return fromTimeline;
    let min: bigint | null = null;
    for (const t of threads ?? []) {
      const first = parseNs(t.firstNs);
      if (first !== null && (min === null || first < min)) min = first;
    }
    return min;
  }

  async function renderTimeline(timeline: SampleTimeline): Promise<void> {
    chart?.dispose();
    chart = null;
    chartBox.replaceChildren();
    chartBox.style.height = '';
    const model = buildHeatmap(timeline);
    if (model.rows.length === 0) {
      chartNote.textContent = '';
      chartBox.classList.add('is-empty');
      chartBox.append(el('p', { class: 'muted' }, 'No on-CPU samples in this capture.'));
      return;
    }
    chartBox.classList.remove('is-empty');
    const parts = [
      `${samplesLabel(model.totalSamples)} across ${model.rows.length} thread${model.rows.length === 1 ? '' : 's'}`,
      `buckets of ${formatMs(model.bucketMs, model.digits)}`,
    ];
    if (model.idleThreads > 0) parts.push(`${model.idleThreads} thread(s) without samples hidden`);
    chartNote.textContent = `${parts.join(' · ')}. Drag or scroll to zoom; hover a cell for details.`;
    chartBox.dataset['threads'] = String(model.rows.length);
    chartBox.dataset['buckets'] = String(model.bucketStartMs.length);
    const { renderTimelineChart } = await import('./timeline-chart');
    if (signal.aborted) return;
    chart = renderTimelineChart(chartBox, model);
  }

  /** Error text in place of a section's content; `what` prefixes errors that are not API failures. */
  function sectionError(target: HTMLElement, what: string | null, error: unknown): void {
    const text = what ? `${what}: ${errorMessage(error)}` : errorMessage(error);
    target.replaceChildren(el('p', { class: 'notice notice-error' }, text));
  }

  async function loadAnalysis(): Promise<void> {
    analysisState = 'loading';
    threadsBody.replaceChildren(messageRow(6, 'Loading threads…'));
    chartNote.textContent = '';
    chartBox.replaceChildren(el('p', { class: 'muted' }, 'Loading timeline…'));
    mapBody.replaceChildren(messageRow(8, 'Loading thread mappings…'));
    const [threadsResult, timelineResult, mapResult, overviewResult] = await Promise.allSettled([
      getThreads(id, signal),
      getTimeline(id, TIMELINE_BUCKETS, signal),
      getThreadMap(id, signal),
      getCaptureOverview(id, signal),
    ]);
    if (signal.aborted) return;
    analysisState = 'loaded';
    if (mapResult.status === 'fulfilled') renderThreadMap(mapResult.value);
    else {
      mapBody.replaceChildren(messageRow(8, errorMessage(mapResult.reason)));
      showError(mapResult.reason);
    }
    if (overviewResult.status === 'fulfilled') renderOverview(overviewResult.value[0]);
    else showError(overviewResult.reason);
    const threads = threadsResult.status === 'fulfilled' ? threadsResult.value : null;
    const timeline = timelineResult.status === 'fulfilled' ? timelineResult.value : null;
    const t0 = timeZero(threads, timeline);

    if (threadsResult.status === 'rejected') {
      threadsBody.replaceChildren(messageRow(6, errorMessage(threadsResult.reason)));
      showError(threadsResult.reason);
    } else {
      renderThreads(threadsResult.value, t0);
    }

    lastTimeline = timelineResult.status === 'fulfilled' ? timelineResult.value : null;
    if (timelineResult.status === 'rejected') {
      sectionError(chartBox, null, timelineResult.reason);
      showError(timelineResult.reason);
    } else {
      try {
        await renderTimeline(timelineResult.value);
      } catch (error) {
        if (isAbortError(error)) return;
        sectionError(chartBox, 'Could not draw the timeline', error);
        showError(error);
      }
    }
  }

  // ---- loading ------------------------------------------------------------------------

  function showNotFound(): void {
    header.replaceChildren(el('h2', null, 'Capture not found'));
    body.replaceChildren(
      el(
        'p',
        { class: 'notice notice-error' },
        `There is no capture with ID ${id}. It may have been deleted. `,
        el('a', { attrs: { href: CAPTURES_HREF } }, 'Back to all captures'),
      ),
    );
    element.dataset['state'] = 'missing';
    refresh.disabled = true;
    remove.disabled = true;
  }

  async function load(reloadAnalysis = false): Promise<void> {
    window.clearTimeout(timer);
    timer = undefined;
    let detail: CaptureDetail;
    try {
      detail = await getCapture(id, signal);
    } catch (error) {
      if (isAbortError(error)) return;
      if (error instanceof ApiRequestError && error.status === 404) {
        showNotFound();
      } else {
        status.textContent = 'Could not refresh — use Refresh to retry';
        if (!capture) filesBody.replaceChildren(messageRow(FILE_COLUMNS, 'The capture could not be loaded.'));
      }
      showError(error);
      return;
    }
    if (signal.aborted) return;
    capture = detail;
    document.title = `${detail.name || detail.id} · threadreel`;
    element.dataset['state'] = detail.state;
    renderHeader(detail);
    renderFiles(Array.isArray(detail.sourceFiles) ? detail.sourceFiles : []);
    renderClocks(Array.isArray(detail.sourceFiles) ? detail.sourceFiles : []);
    renderIngest(detail);
    renderExports(detail);

    if (isInProgress(detail.state)) {
      status.textContent = `${detail.state}… refreshing automatically`;
      timer = window.setTimeout(() => spawn(load()), POLL_MS);
      return;
    }
    status.textContent = '';
    if (detail.state === 'failed') {
      threadsBody.replaceChildren(messageRow(6, 'The capture failed; no threads to show.'));
      chartBox.replaceChildren(el('p', { class: 'muted' }, 'The capture failed; no timeline to show.'));
      mapBody.replaceChildren(messageRow(8, 'The capture failed; no threads to show.'));
      return;
    }
    if (analysisState === 'none' || (reloadAnalysis && analysisState === 'loaded')) await loadAnalysis();
  }

  async function removeCapture(): Promise<void> {
    const label = capture?.name ? `"${capture.name}"` : id;
    if (!window.confirm(`Delete capture ${label} and all its data? This cannot be undone.`)) return;
    remove.disabled = true;
    try {
      await deleteCapture(id);
    } catch (error) {
      remove.disabled = false;
      throw error;
    }
    location.hash = CAPTURES_HREF;
  }

  refresh.addEventListener('click', () => {
    status.textContent = '';
    spawn(load(true));
  });
  remove.addEventListener('click', () => spawn(removeCapture()));
  // The chart takes its colours when drawn: draw it again in the new theme.
  const unsubscribe = onThemeChange(() => {
    if (lastTimeline) spawn(renderTimeline(lastTimeline));
  });
  spawn(load());

  return {
    element,
    title: 'Capture',
    dispose() {
      controller.abort();
      unsubscribe();
      window.clearTimeout(timer);
      chart?.dispose();
      chart = null;
    },
  };
}
