import type { CompareDto, RequestRowDto } from '@threadreel/model';
import { compareRequests, isAbortError, listRequests, type RequestQuery } from '../api';
import { causeLabel } from '../causes';
import { append, el, td, th, type Child } from '../dom';
import { showError, spawn } from '../errors';
import { formatDuration, formatEpochNs, formatSignedDuration, parseNs } from '../format';
import { causeBar, causeLegend, causeName } from '../requests/cause-bar';
import { compareHref, replayHref, requestsHref, type View } from '../router';

const TRACE_ID = /^(?:[0-9a-f]{32}|[0-9a-f]{16})$/i;
/** Requests of the route offered in the picker. */
const PICK_LIMIT = 200;

function abs(v: bigint): bigint {
  return v < 0n ? -v : v;
}

/** One sentence naming the total difference and the cause that differs most. */
export function compareSentence(c: CompareDto): string {
  const a = BigInt(c.a.durationNs);
  const b = BigInt(c.b.durationNs);
  const total = a - b;
  const head =
    total === 0n
      ? `A and B took the same time (${formatDuration(a)}).`
      : `A took ${formatDuration(abs(total))} ${total > 0n ? 'longer' : 'less'} than B (${formatDuration(a)} against ${formatDuration(b)}).`;
  const top = c.causes.find((x) => BigInt(x.deltaNs) !== 0n);
  if (!top) return `${head} Their breakdowns are identical.`;
  const delta = BigInt(top.deltaNs);
  const share = total !== 0n && delta > 0n === total > 0n ? Number((abs(delta) * 100n) / abs(total)) : null;
  return (
    `${head} The biggest difference is ${causeLabel(top.cause)}: ${formatDuration(BigInt(top.aNs))} in A against ` +
    `${formatDuration(BigInt(top.bNs))} in B (${formatSignedDuration(delta)}` +
    (share !== null && share <= 100 ? `, ${share} % of the gap` : '') +
    ').'
  );
}

/** `#/compare?a=&b=`: two requests' breakdowns side by side, with a picker for b. */
export function compareView(query: URLSearchParams): View {
  const controller = new AbortController();
  const { signal } = controller;
  const a = query.get('a')?.trim() ?? '';
  const b = query.get('b')?.trim() ?? '';
  const capture = query.get('capture')?.trim() || undefined;

  const pickerBox = el('div', { id: 'compare-picker', class: 'picker' });
  const resultBox = el('div', { id: 'compare-result' });
  const element = el(
    'div',
    { id: 'compare-page', class: 'page', data: { state: 'loading', a, b } },
    el(
      'section',
      { class: 'panel' },
      el(
        'div',
        { class: 'panel-head' },
        el('h2', null, 'Compare two requests'),
        el('a', { attrs: { href: requestsHref(capture ? { capture } : {}) } }, '← Requests'),
      ),
      pickerBox,
    ),
    el('section', { class: 'panel' }, resultBox),
  );

  function traceForm(): HTMLElement {
    const inputA = el('input', {
      attrs: { name: 'a', placeholder: 'trace id A', value: a, size: 34, spellcheck: false },
    });
    const inputB = el('input', {
      attrs: { name: 'b', placeholder: 'trace id B', value: b, size: 34, spellcheck: false },
    });
    const form = el(
      'form',
      { class: 'filters', id: 'compare-form' },
      el('label', null, 'A', inputA),
      el('label', null, 'B', inputB),
      el('button', { attrs: { type: 'submit' } }, 'Compare'),
    );
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const ta = inputA.value.trim();
      const tb = inputB.value.trim();
      if (!TRACE_ID.test(ta)) {
        showError(new Error(`"${ta}" is not a trace id (32 hex digits) for A.`));
        return;
      }
      location.hash = compareHref(ta, tb || undefined, capture);
    });
    return form;
  }

  async function rowOf(traceId: string): Promise<RequestRowDto | null> {
    const list = await listRequests({ capture, q: traceId.toLowerCase(), limit: 5 }, signal);
    return list.rows.find((r) => r.traceId === traceId.toLowerCase()) ?? null;
  }

  async function renderPicker(ra: RequestRowDto): Promise<void> {
    const base: RequestQuery = {
      capture: ra.captureId,
      route: ra.route ?? undefined,
      service: ra.service ?? undefined,
      sort: 'duration',
      order: 'desc',
    };
    const list = await listRequests({ ...base, limit: PICK_LIMIT }, signal);
    let median: RequestRowDto | undefined;
    // The median as the stats count it: the lower middle in ascending order.
    const mid = list.total - 1 - Math.floor((list.total - 1) / 2);
    if (list.total > list.rows.length) {
      median = (await listRequests({ ...base, offset: mid, limit: 1 }, signal)).rows[0];
    } else median = list.rows[mid];
    const others = list.rows.filter((r) => r.traceId !== ra.traceId);
    const slowest = others[0];
    const fastest = others[others.length - 1];
    if (median?.traceId === ra.traceId) median = others[Math.min(mid, others.length - 1)];
    else if (median) median = others.find((r) => r.traceId === median?.traceId) ?? median;
    const describe = (r: RequestRowDto) =>
      `${formatDuration(BigInt(r.durationNs))} · ${causeLabel(r.dominantCause)} · ${r.traceId}`;
    const select = el(
      'select',
      { id: 'compare-pick', attrs: { 'aria-label': 'Request B' } },
      el(
        'option',
        { attrs: { value: '' } },
        `Pick B among ${others.length} other request(s) of ${ra.route ?? 'this route'}…`,
      ),
      ...others.map((r) =>
        el(
          'option',
          { attrs: { value: r.traceId, selected: r.traceId === b.toLowerCase() } },
          (r === median ? 'median · ' : r === slowest ? 'slowest · ' : r === fastest ? 'fastest · ' : '') +
            describe(r),
        ),
      ),
    );
    select.addEventListener('change', () => {
      if (select.value) location.hash = compareHref(ra.traceId, select.value, ra.captureId);
    });
    const quick = (id: string, text: string, r: RequestRowDto | undefined): HTMLElement | null =>
      r
        ? el(
            'a',
            {
              id,
              class: 'button button-quiet',
              attrs: { href: compareHref(ra.traceId, r.traceId, ra.captureId) },
            },
            `${text} (${formatDuration(BigInt(r.durationNs))})`,
          )
        : null;
    pickerBox.replaceChildren();
    append(
      pickerBox,
      el(
        'p',
        { class: 'muted small', attrs: { style: 'flex-basis: 100%; margin: 0' } },
        `A is a ${ra.route ?? ra.name} request of ${formatDuration(BigInt(ra.durationNs))}. Compare it with:`,
      ),
      quick('pick-median', 'the median', median),
      quick('pick-slowest', 'the slowest', slowest),
      quick('pick-fastest', 'the fastest', fastest),
      select,
    );
    if (others.length === 0)
      pickerBox.append(
        el('p', { class: 'muted' }, `${ra.route ?? 'This route'} has no other request in this capture.`),
      );
  }

  function side(name: string, r: RequestRowDto): HTMLElement {
    return el(
      'div',
      { class: 'small' },
      el('strong', null, name, ': '),
      el('a', { attrs: { href: replayHref(r.traceId) } }, r.route ?? r.name),
      r.service ? ` (${r.service})` : '',
      ' · ',
      el('span', { class: 'trace-id' }, r.traceId),
      ` · started ${formatEpochNs(r.startNs)} · dominant `,
      causeName(r.dominantCause),
    );
  }

  function renderResult(c: CompareDto): void {
    const da = parseNs(c.a.durationNs) ?? 0n;
    const db = parseNs(c.b.durationNs) ?? 0n;
    const scale = da > db ? da : db;
    const rows = c.causes.filter((x) => BigInt(x.aNs) !== 0n || BigInt(x.bNs) !== 0n);
    const total = da - db;
    const bars = el(
      'div',
      { class: 'compare-bars', id: 'compare-bars' },
      el('strong', null, 'A'),
      causeBar(c.a.breakdown, da, scale, true),
      el('span', { class: 'num' }, formatDuration(da)),
      el('strong', null, 'B'),
      causeBar(c.b.breakdown, db, scale, true),
      el('span', { class: 'num' }, formatDuration(db)),
    );
    const deltaClass = (d: bigint) => (d > 0n ? 'num delta-pos' : d < 0n ? 'num delta-neg' : 'num');
    const table = el(
      'table',
      { id: 'compare-table', class: 'data-table' },
      el(
        'caption',
        { class: 'muted small' },
        'Wall time per cause, largest difference first; causes with no time in either are left out.',
      ),
      el(
        'thead',
        null,
        el('tr', null, th('Cause'), th('A', 'num'), th('B', 'num'), th('Difference (A − B)', 'num')),
      ),
      el(
        'tbody',
        null,
        ...rows.map((x) => {
          const d = BigInt(x.deltaNs);
          return el(
            'tr',
            { data: { cause: x.cause, deltaNs: x.deltaNs } },
            el('td', null, causeName(x.cause)),
            el('td', { class: 'num', title: `${x.aNs} ns` }, formatDuration(BigInt(x.aNs))),
            el('td', { class: 'num', title: `${x.bNs} ns` }, formatDuration(BigInt(x.bNs))),
            el('td', { class: deltaClass(d), title: `${x.deltaNs} ns` }, formatSignedDuration(d)),
          );
        }),
      ),
      el(
        'tfoot',
        null,
        el(
          'tr',
          null,
          el('th', { attrs: { scope: 'row' } }, 'Total'),
          td(formatDuration(da), 'num'),
          td(formatDuration(db), 'num'),
          td(formatSignedDuration(total), deltaClass(total)),
        ),
      ),
    );
    const different = c.a.route !== c.b.route || c.a.service !== c.b.service;
    const swap = el('a', { attrs: { href: compareHref(c.b.traceId, c.a.traceId, capture) } }, 'Swap A and B');
    resultBox.replaceChildren();
    append(
      resultBox,
      el('p', { id: 'compare-summary', class: 'compare-summary' }, compareSentence(c)),
      different
        ? el(
            'p',
            { class: 'notice notice-warn' },
            'A and B are of different routes: their causes may differ for good reasons.',
          )
        : null,
      side('A', c.a),
      side('B', c.b),
      bars,
      causeLegend(),
      el('div', { class: 'table-scroll' }, table),
      el('p', { class: 'small' }, swap),
    );
  }

  function message(...content: Child[]): void {
    resultBox.replaceChildren(el('div', { class: 'empty-state' }, ...content));
  }

  async function load(): Promise<void> {
    if (!TRACE_ID.test(a)) {
      pickerBox.replaceChildren(traceForm());
      message(
        el('h3', null, a ? `"${a}" is not a trace id` : 'Pick two requests'),
        el(
          'p',
          null,
          'On the ',
          el('a', { attrs: { href: requestsHref() } }, 'requests page'),
          ', tick two requests of one route and press “Compare selected”, or use “vs median” on a row. Or paste two trace ids above.',
        ),
      );
      element.dataset['state'] = 'empty';
      return;
    }
    const ra = await rowOf(a);
    if (signal.aborted) return;
    if (!ra) {
      pickerBox.replaceChildren(traceForm());
      message(
        el('h3', null, 'Unknown trace id'),
        el('p', null, `No request has trace id ${a}${capture ? ' in this capture' : ''}.`),
      );
      element.dataset['state'] = 'error';
      return;
    }
    const pickerP = renderPicker(ra);
    if (!b) {
      await pickerP;
      message(el('h3', null, 'Pick B'), el('p', null, 'Choose the request to compare A with, above.'));
      element.dataset['state'] = 'empty';
      return;
    }
    if (!TRACE_ID.test(b)) {
      await pickerP;
      message(el('h3', null, `"${b}" is not a trace id`), el('p', null, 'Pick B above.'));
      element.dataset['state'] = 'error';
      return;
    }
    const [c] = await Promise.all([compareRequests(a, b, capture, signal), pickerP]);
    if (signal.aborted) return;
    renderResult(c);
    element.dataset['state'] = 'ready';
  }

  resultBox.append(el('p', { class: 'muted' }, 'Loading…'));
  spawn(
    load().catch((error: unknown) => {
      if (isAbortError(error)) return;
      element.dataset['state'] = 'error';
      message(el('h3', null, 'The comparison could not be loaded'), el('p', null, 'See the message above.'));
      throw error;
    }),
  );

  return {
    element,
    title: 'Compare',
    dispose: () => controller.abort(),
  };
}
