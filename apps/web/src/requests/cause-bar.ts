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
    title: breakdownText(breakdown, durationNs),
    attrs: { role: 'img', 'aria-label': breakdownText(breakdown, durationNs).replace(/\n/g, '; ') },
  });
  bar.style.width = `${Math.max(Math.min(width, 100), 0.5)}%`;
  for (const { cause, ns } of parts) {
    const seg = el('span', { data: { cause }, title: `${causeLabel(cause)}: ${formatDuration(ns)}` });
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
