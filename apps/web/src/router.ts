/**
 * Hash routes. Each route may carry a query after `?` inside the hash, which holds the view
 * state (filters, zoom range, selection) so that a copied URL reopens the same view:
 *   `#/`                      captures list
 *   `#/captures/:id`          capture detail
 *   `#/t/:traceId?from=&to=…` replay of one request
 *   `#/requests?capture=&route=&service=&cause=&min=&max=&q=&sort=&page=`  requests, slowest first
 *   `#/compare?a=<traceId>&b=<traceId>`  two requests cause by cause
 * Views that change their own state call `replaceQuery`, which rewrites the URL without
 * remounting the view (history.replaceState fires no hashchange).
 */
export type Route =
  | { name: 'captures' }
  | { name: 'capture'; id: string }
  | { name: 'replay'; traceId: string; query: URLSearchParams }
  | { name: 'requests'; query: URLSearchParams }
  | { name: 'compare'; query: URLSearchParams }
  | { name: 'not-found'; path: string };

function decode(part: string): string | null {
  try {
    return decodeURIComponent(part);
  } catch {
    return null;
  }
}

export function splitHash(hash: string): { path: string; query: URLSearchParams } {
  const raw = hash.replace(/^#/, '') || '/';
  const q = raw.indexOf('?');
  return q < 0
    ? { path: raw, query: new URLSearchParams() }
    : { path: raw.slice(0, q) || '/', query: new URLSearchParams(raw.slice(q + 1)) };
}

export function parseRoute(hash: string): Route {
  const { path, query } = splitHash(hash);
  if (path === '/' || path === '') return { name: 'captures' };
  const capture = /^\/captures\/([^/]+)\/?$/.exec(path);
  if (capture?.[1]) {
    const id = decode(capture[1]);
    return id === null ? { name: 'not-found', path } : { name: 'capture', id };
  }
  if (/^\/requests\/?$/.test(path)) return { name: 'requests', query };
  if (/^\/compare\/?$/.test(path)) return { name: 'compare', query };
  const replay = /^\/t\/([^/]+)\/?$/.exec(path);
  if (replay?.[1]) {
    const traceId = decode(replay[1]);
    return traceId === null ? { name: 'not-found', path } : { name: 'replay', traceId, query };
  }
  return { name: 'not-found', path };
}

export function captureHref(id: string): string {
  return `#/captures/${encodeURIComponent(id)}`;
}

export function replayHref(traceId: string, query?: URLSearchParams): string {
  const q = query?.toString();
  return `#/t/${encodeURIComponent(traceId)}${q ? `?${q}` : ''}`;
}

export const CAPTURES_HREF = '#/';
export const REQUESTS_HREF = '#/requests';

/** The requests page with filters (empty values left out). */
export function requestsHref(filters: Record<string, string | undefined> = {}): string {
  const query = new URLSearchParams();
  for (const [k, v] of Object.entries(filters)) if (v !== undefined && v !== '') query.set(k, v);
  const q = query.toString();
  return `${REQUESTS_HREF}${q ? `?${q}` : ''}`;
}

export function compareHref(a: string, b: string | undefined, capture?: string): string {
  const query = new URLSearchParams({ a });
  if (b !== undefined) query.set('b', b);
  if (capture) query.set('capture', capture);
  return `#/compare?${query.toString()}`;
}

/** Rewrites the current route's query (view state) without remounting the view. */
export function replaceQuery(query: URLSearchParams): void {
  const { path } = splitHash(location.hash);
  const q = query.toString();
  history.replaceState(history.state, '', `#${path}${q ? `?${q}` : ''}`);
}

/** A mounted page; `dispose` stops its timers, requests and charts. */
export interface View {
  element: HTMLElement;
  title: string;
  dispose(): void;
}
