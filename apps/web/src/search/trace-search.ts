import type { FoundTraceId, LookupDto, RequestRowDto } from '@threadreel/model';
import { isAbortError, lookupTraceIds } from '../api';
import { append, el, requireElement, type Child } from '../dom';
import { errorMessage, formatDuration, formatEpochNs } from '../format';
import { replayHref } from '../router';
import { causeName } from '../requests/cause-bar';

const FORM_LABELS: Record<string, string> = {
  traceparent: 'a W3C traceparent',
  hex: 'a hex trace id',
  decimal: 'a Datadog decimal trace id',
  field: 'a trace_id field',
  url: 'a URL',
};

function foundText(found: readonly FoundTraceId[]): Child[] {
  return found
    .slice(0, 10)
    .map((f, i) =>
      el(
        'span',
        null,
        i > 0 ? ', ' : '',
        el('code', null, f.traceId),
        ` (from ${FORM_LABELS[f.from] ?? f.from}${f.text && f.text !== f.traceId ? ` “${f.text.slice(0, 80)}”` : ''})`,
      ),
    );
}

function resultLink(r: RequestRowDto): HTMLElement {
  return el(
    'li',
    { data: { traceId: r.traceId } },
    el('a', { attrs: { href: replayHref(r.traceId) } }, r.route ?? r.name),
    ' ',
    el('span', { class: 'trace-id' }, r.traceId),
    ` · ${formatDuration(BigInt(r.durationNs))} · `,
    causeName(r.dominantCause),
    ` · ${r.service ?? 'no service'} · ${formatEpochNs(r.startNs)}`,
  );
}

/**
 * The header's search box (`#trace-search`): a trace id, traceparent, URL or pasted log line.
 * Enter asks `/api/lookup`; one request opens its replay, several are listed in
 * `#lookup-results`, none says what was read from the text and that nothing matched.
 */
export function initTraceSearch(): void {
  const form = requireElement('trace-search-form', HTMLFormElement);
  const input = requireElement('trace-search', HTMLInputElement);
  const results = requireElement('lookup-results', HTMLDivElement);
  let controller: AbortController | null = null;

  function close(): void {
    results.hidden = true;
    results.replaceChildren();
    delete results.dataset['state'];
  }

  function show(state: string, title: string, ...body: Child[]): void {
    const dismiss = el('button', { class: 'button-quiet small', attrs: { type: 'button' } }, 'Close');
    dismiss.addEventListener('click', close);
    results.replaceChildren(el('div', { class: 'lookup-head' }, el('strong', null, title), dismiss));
    append(results, ...body);
    results.dataset['state'] = state;
    results.hidden = false;
  }

  function render(text: string, dto: LookupDto): void {
    const distinct = new Map<string, RequestRowDto>();
    for (const r of dto.requests) if (!distinct.has(r.traceId)) distinct.set(r.traceId, r);
    const [only] = distinct.values();
    if (distinct.size === 1 && only) {
      close();
      input.value = '';
      input.blur();
      location.hash = replayHref(only.traceId);
      return;
    }
    if (distinct.size > 1) {
      show(
        'many',
        `${distinct.size} requests match`,
        el('p', { class: 'small muted' }, 'Read from the text: ', ...foundText(dto.found)),
        el('ul', null, ...[...distinct.values()].map(resultLink)),
      );
      return;
    }
    if (dto.found.length === 0) {
      show(
        'none',
        'No trace id found in the text',
        el(
          'p',
          null,
          'Nothing in “',
          el('code', null, text.length > 120 ? `${text.slice(0, 120)}…` : text),
          '” looks like a trace id. Paste a 32-hex trace id, a traceparent (00-<trace id>-<span id>-01), a URL carrying one, or a log line with trace_id=…',
        ),
      );
      return;
    }
    show(
      'unknown',
      dto.found.length === 1 ? 'No request has this trace id' : 'No request has any of these trace ids',
      el('p', null, 'Read from the text: ', ...foundText(dto.found), '.'),
      el(
        'p',
        { class: 'muted small' },
        'No uploaded capture holds a request (server or root span) with it. The capture may not be uploaded yet, still ingesting, or its spans were not included.',
      ),
    );
  }

  async function search(text: string): Promise<void> {
    controller?.abort();
    const current = new AbortController();
    controller = current;
    show('loading', 'Looking up…');
    try {
      const dto = await lookupTraceIds(text, current.signal);
      if (current.signal.aborted) return;
      render(text, dto);
    } catch (error) {
      if (isAbortError(error)) return;
      show('error', 'The lookup failed', el('p', { class: 'notice notice-error' }, errorMessage(error)));
    }
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) {
      close();
      return;
    }
    void search(text);
  });
  input.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') close();
  });
  document.addEventListener('click', (event) => {
    if (results.hidden || !(event.target instanceof Node)) return;
    if (results.contains(event.target) && event.target instanceof Element && event.target.closest('a')) {
      close();
      return;
    }
    if (!results.contains(event.target) && !form.contains(event.target)) close();
  });
  window.addEventListener('hashchange', () => {
    if (results.dataset['state'] !== 'loading') close();
  });
}
