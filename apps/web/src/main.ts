import './style.css';
import { captureView } from './capture-view';
import { capturesView } from './captures-view';
import { el, requireElement } from './dom';
import { clearErrors, showError } from './errors';
import { CAPTURES_HREF, parseRoute, type View } from './router';
import { compareView } from './compare/compare-view';
import { replayView } from './replay/replay-view';
import { installCauseTooltip } from './requests/cause-bar';
import { requestsView } from './requests/requests-view';
import { initTraceSearch } from './search/trace-search';
import { currentTheme, initTheme, onThemeChange, setTheme, type Theme } from './theme';
import { createUploadPanel } from './upload';

initTheme();
const toggle = requireElement('theme-toggle', HTMLButtonElement);
function showTheme(theme: Theme): void {
  toggle.textContent = theme === 'dark' ? 'Light theme' : 'Dark theme';
  toggle.setAttribute('aria-pressed', String(theme === 'dark'));
  toggle.title = `Switch to the ${theme === 'dark' ? 'light' : 'dark'} theme`;
}
showTheme(currentTheme());
onThemeChange(showTheme);
toggle.addEventListener('click', () => setTheme(currentTheme() === 'dark' ? 'light' : 'dark'));
initTraceSearch();
installCauseTooltip();
const outlet = requireElement('view', HTMLElement);
const upload = createUploadPanel();
let current: View | null = null;

function notFoundView(path: string): View {
  return {
    element: el(
      'section',
      { class: 'panel' },
      el('h2', null, 'Page not found'),
      el('p', null, 'Nothing lives at ', el('code', null, path), '. '),
      el('a', { attrs: { href: CAPTURES_HREF } }, 'Go to the captures'),
    ),
    title: 'Not found',
    dispose() {},
  };
}

function mount(): void {
  const previous = current;
  current = null;
  previous?.dispose();
  clearErrors();
  const route = parseRoute(location.hash);
  let view: View;
  try {
    switch (route.name) {
      case 'captures':
        view = capturesView(upload);
        break;
      case 'capture':
        view = captureView(route.id);
        break;
      case 'replay':
        view = replayView(route.traceId, route.query);
        break;
      case 'requests':
        view = requestsView(route.query);
        break;
      case 'compare':
        view = compareView(route.query);
        break;
      case 'not-found':
        view = notFoundView(route.path);
        break;
    }
  } catch (error) {
    showError(error);
    view = notFoundView(location.hash);
  }
  current = view;
  for (const link of document.querySelectorAll<HTMLAnchorElement>('.app-nav a[data-nav]')) {
    const active = link.dataset['nav'] === route.name;
    if (active) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  document.title = `${view.title} · threadreel`;
  outlet.replaceChildren(view.element);
  window.scrollTo(0, 0);
}

// Last line of defence: anything that escaped a handler still reaches the user.
window.addEventListener('unhandledrejection', (event) => {
  event.preventDefault();
  showError(event.reason);
});
window.addEventListener('error', (event) => showError(event.error ?? event.message));
window.addEventListener('hashchange', mount);
mount();
