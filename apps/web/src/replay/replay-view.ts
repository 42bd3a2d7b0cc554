import type { ReplayDto } from '@threadreel/model';
import { getJson, isAbortError } from '../api';
import { el } from '../dom';
import { showError } from '../errors';
import { formatDuration } from '../format';
import type { View } from '../router';

/** Replay of one request (`#/t/:traceId`): its span, bound threads and causes. */
export function replayView(traceId: string, _query: URLSearchParams): View {
  const controller = new AbortController();
  const root = el(
    'section',
    { id: 'replay', class: 'panel', data: { state: 'loading' } },
    el('h2', null, 'Replay of trace ', el('code', null, traceId)),
  );
  const body = el('div', null, 'Loading…');
  root.append(body);
  getJson<ReplayDto>(`/traces/${encodeURIComponent(traceId)}`, 'Loading the replay', controller.signal)
    .then((replay) => {
      body.replaceChildren(
        el(
          'p',
          null,
          `${replay.request.name}: ${formatDuration(BigInt(replay.request.durationNs))}, `,
          `dominant cause ${replay.request.dominantCause}, ${replay.threads.length} threads, `,
          `${replay.spans.length} spans`,
        ),
      );
      root.dataset['state'] = 'ready';
    })
    .catch((error: unknown) => {
      if (isAbortError(error)) return;
      root.dataset['state'] = 'error';
      body.replaceChildren(el('p', null, 'This replay could not be loaded.'));
      showError(error);
    });
  return { element: root, title: `Trace ${traceId}`, dispose: () => controller.abort() };
}
