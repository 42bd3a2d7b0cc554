/** Hash routes: `#/` (captures list) and `#/captures/:id` (capture detail). */
export type Route =
  { name: 'captures' } | { name: 'capture'; id: string } | { name: 'not-found'; path: string };

export function parseRoute(hash: string): Route {
  const path = hash.replace(/^#/, '') || '/';
  if (path === '/' || path === '') return { name: 'captures' };
  const match = /^\/captures\/([^/]+)\/?$/.exec(path);
  if (match?.[1]) {
    try {
      return { name: 'capture', id: decodeURIComponent(match[1]) };
    } catch {
      return { name: 'not-found', path };
    }
  }
  return { name: 'not-found', path };
}

export function captureHref(id: string): string {
  return `#/captures/${encodeURIComponent(id)}`;
}

export const CAPTURES_HREF = '#/';

/** A mounted page; `dispose` stops its timers, requests and charts. */
export interface View {
  element: HTMLElement;
  title: string;
  dispose(): void;
}
