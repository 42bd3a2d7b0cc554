/**
 * Light and dark themes: `data-theme` on <html> selects the CSS variables; the choice is
 * kept in localStorage and defaults to the system preference. Charts read `themeColors()`
 * and redraw on `onThemeChange`.
 */
export type Theme = 'light' | 'dark';

const KEY = 'threadreel.theme';
const listeners = new Set<(theme: Theme) => void>();

function stored(): Theme | null {
  try {
    const v = localStorage.getItem(KEY);
    return v === 'light' || v === 'dark' ? v : null;
  } catch {
    return null;
  }
}

export function currentTheme(): Theme {
  const attr = document.documentElement.dataset['theme'];
  if (attr === 'light' || attr === 'dark') return attr;
  return stored() ?? (matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light');
}

export function setTheme(theme: Theme): void {
  document.documentElement.dataset['theme'] = theme;
  try {
    localStorage.setItem(KEY, theme);
  } catch {
    // Private mode: the choice lasts for this page only.
  }
  for (const listener of listeners) listener(theme);
}

/** Applies the stored or system theme; call once at start. */
export function initTheme(): void {
  document.documentElement.dataset['theme'] = currentTheme();
}

/** Subscribes to theme changes; returns the unsubscribe function. */
export function onThemeChange(listener: (theme: Theme) => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Colours for canvas drawing (ECharts), matching the CSS variables of the theme. */
export function themeColors(): { text: string; muted: string; grid: string; panel: string; accent: string } {
  return currentTheme() === 'dark'
    ? { text: '#e6e9ee', muted: '#9aa5b1', grid: '#313a45', panel: '#1b222b', accent: '#6d9cf5' }
    : { text: '#1f2933', muted: '#65717e', grid: '#dde2e8', panel: '#ffffff', accent: '#2458c6' };
}
