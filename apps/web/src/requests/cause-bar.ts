import type { RequestCauseKey } from '@threadreel/model';
import { CAUSE_ORDER, causeColor, causeLabel } from '../causes';
import { el } from '../dom';
import { formatDuration, parseNs } from '../format';

/** Wall time per cause in CAUSE_ORDER (ns), zero causes left out. */
export function causeParts(breakdown: Record<string, string>): { cause: RequestCauseKey; ns: bigint }[] {
  const parts: { cause: RequestCauseKey; ns: bigint }[] = [];
  for (const cause of CAUSE_ORDER) {
    const ns = parseNs(breakdown[cause]) ?? 0n;
    if (ns > 0n) parts.push({ cause, ns });
  }
  return parts;
}

/** Multi-line text naming the time of each cause, largest first (tooltips, screen readers). */
export function breakdownText(breakdown: Record<string, string>, durationNs: bigint): string {
  const parts = causeParts(breakdown).sort((a, b) => (b.ns > a.ns ? 1 : b.ns < a.ns ? -1 : 0));
  const lines = parts.map(({ cause, ns }) => {
    const pct = durationNs > 0n ? Number((ns * 1000n) / durationNs) / 10 : 0;
    return `${causeLabel(cause)}: ${formatDuration(ns)} (${pct.toFixed(1)} %)`;
  });
  return [`${formatDuration(durationNs)} in all`, ...lines].join('\n');
}

/** What the hover tooltip of each drawn bar shows. */
const tooltips = new WeakMap<Element, { breakdown: Record<string, string>; durationNs: bigint }>();

/**
 * One floating tooltip for every cause bar (`#cause-tooltip`): the time of each cause, in ms,
 * largest first, with its colour. Installed once; bars register themselves when drawn.
 */
export function installCauseTooltip(): void {
  const tip = el('div', {
    id: 'cause-tooltip',
    class: 'cause-tooltip',
    attrs: { role: 'tooltip', hidden: true },
  });
  document.body.append(tip);
  let shownFor: Element | null = null;
  const place = (event: MouseEvent) => {
    const pad = 14;
    const { innerWidth, innerHeight } = window;
    const rect = tip.getBoundingClientRect();
    let x = event.clientX + pad;
    let y = event.clientY + pad;
    if (x + rect.width > innerWidth - 4) x = Math.max(event.clientX - rect.width - pad, 4);
    if (y + rect.height > innerHeight - 4) y = Math.max(event.clientY - rect.height - pad, 4);
    tip.style.left = `${x}px`;
    tip.style.top = `${y}px`;
  };
  document.addEventListener('mouseover', (event) => {
    const bar = event.target instanceof Element ? event.target.closest('.cause-bar') : null;
    const info = bar ? tooltips.get(bar) : undefined;
    if (!bar || !info) {
      if (shownFor) {
        tip.hidden = true;
        shownFor = null;
      }
      return;
    }
    if (shownFor !== bar) {
      shownFor = bar;
      const hovered = event.target instanceof HTMLElement ? event.target.dataset['cause'] : undefined;
      const parts = causeParts(info.breakdown).sort((a, b) => (b.ns > a.ns ? 1 : b.ns < a.ns ? -1 : 0));
      tip.replaceChildren(
        el('div', { class: 'tip-head' }, `${formatDuration(info.durationNs)} wall time`),
        el(
          'table',
          null,
          el(
            'tbody',
            null,
            ...parts.map(({ cause, ns }) =>
              el(
                'tr',
                { class: cause === hovered ? 'is-hovered' : undefined, data: { cause } },
                el('td', null, swatch(cause), ' ', causeLabel(cause)),
                el('td', { class: 'num' }, `${(Number(ns / 1_000n) / 1_000).toFixed(2)} ms`),
                el(
                  'td',
                  { class: 'num muted' },
                  info.durationNs > 0n ? `${(Number((ns * 1000n) / info.durationNs) / 10).toFixed(1)} %` : '',
                ),
              ),
            ),
          ),
        ),
      );
      tip.hidden = false;
    }
    place(event);
  });
  document.addEventListener('mousemove', (event) => {
    if (shownFor) place(event);
  });
  window.addEventListener('hashchange', () => {
    tip.hidden = true;
    shownFor = null;
  });
}

/**
 * A stacked bar of a request's wall time by cause. Its length is `durationNs / scaleNs` of
 * the cell, so bars of one table (or of a comparison) share a scale.
 */
export function causeBar(
  breakdown: Record<string, string>,
  durationNs: bigint,
  scaleNs: bigint,
  large = false,
): HTMLElement {
  const parts = causeParts(breakdown);
  const total = parts.reduce((s, p) => s + p.ns, 0n);
  const width = scaleNs > 0n ? Number((durationNs * 10000n) / scaleNs) / 100 : 100;
  const bar = el('div', {
    class: large ? 'cause-bar large' : 'cause-bar',
    attrs: { role: 'img', 'aria-label': breakdownText(breakdown, durationNs).replace(/\n/g, '; ') },
  });
  tooltips.set(bar, { breakdown, durationNs });
  bar.style.width = `${Math.max(Math.min(width, 100), 0.5)}%`;
  for (const { cause, ns } of parts) {
    const seg = el('span', { data: { cause } });
    seg.style.background = causeColor(cause);
    seg.style.flexGrow = total > 0n ? String(Number((ns * 100000n) / total) / 1000) : '0';
    seg.style.flexBasis = '0';
    bar.append(seg);
  }
  return el('div', { class: 'bar-track' }, bar);
}

export function swatch(cause: string): HTMLSpanElement {
  const s = el('span', { class: 'swatch', attrs: { 'aria-hidden': 'true' } });
  s.style.background = causeColor(cause);
  return s;
}

/** A cause with its colour swatch. */
export function causeName(cause: string): HTMLSpanElement {
  return el('span', { class: 'cause-name', data: { cause } }, swatch(cause), causeLabel(cause));
}

/** The shared legend: every cause with its fixed colour. */
export function causeLegend(): HTMLElement {
  return el(
    'ul',
    { class: 'cause-legend', attrs: { 'aria-label': 'Cause colours' } },
    ...CAUSE_ORDER.map((cause) => el('li', { data: { cause } }, swatch(cause), causeLabel(cause))),
  );
}
