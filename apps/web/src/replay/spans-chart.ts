/**
 * The time axis and the span waterfall, as an ECharts custom series in a grid whose left and
 * right edges match the lanes canvas below, so one x pixel is one instant in both.
 */
import type { ReplaySpanDto } from '@threadreel/model';
import { CustomChart, type CustomSeriesOption } from 'echarts/charts';
import {
  GridComponent,
  TooltipComponent,
  type GridComponentOption,
  type TooltipComponentOption,
} from 'echarts/components';
import type { CustomSeriesRenderItemAPI, CustomSeriesRenderItemParams } from 'echarts';
import { init, use, type ComposeOption, type ECharts } from 'echarts/core';
import { CanvasRenderer } from 'echarts/renderers';
import { CAUSE_COLORS } from '../causes';
import { escapeHtml } from '../dom';
import { themeColors } from '../theme';
import { durationLabel, offsetLabel, type Offsets } from './model';
import { LABEL_W, RIGHT_PAD } from './lanes';

use([CustomChart, GridComponent, TooltipComponent, CanvasRenderer]);

type Option = ComposeOption<CustomSeriesOption | GridComponentOption | TooltipComponentOption>;

const ROW = 18;
const AXIS_H = 26;

export interface SpanBar {
  span: ReplaySpanDto;
  from: number;
  to: number;
  depth: number;
}

/** Spans laid out as a tree: children under their parent, by start time. */
export function layoutSpans(spans: readonly ReplaySpanDto[], off: Offsets): SpanBar[] {
  const ids = new Set(spans.map((s) => s.spanId));
  const children = new Map<string | null, ReplaySpanDto[]>();
  for (const s of spans) {
    const parent = s.parentSpanId !== null && ids.has(s.parentSpanId) ? s.parentSpanId : null;
    const list = children.get(parent) ?? [];
    list.push(s);
    children.set(parent, list);
  }
  const out: SpanBar[] = [];
  const walk = (parent: string | null, depth: number) => {
    const list = (children.get(parent) ?? []).sort((a, b) => off.of(a.startNs) - off.of(b.startNs));
    for (const s of list) {
      out.push({ span: s, from: off.of(s.startNs), to: off.of(s.endNs), depth });
      if (out.length < 500) walk(s.spanId, depth + 1);
    }
  };
  walk(null, 0);
  return out;
}

function spanColor(kind: string): string {
  if (kind === 'server') return '#4263eb';
  if (kind === 'client') return CAUSE_COLORS.net;
  if (kind === 'consumer' || kind === 'producer') return '#0ca678';
  return '#868e96';
}

export interface SpansChart {
  chart: ECharts;
  height: number;
  setView(from: number, to: number): void;
  redraw(): void;
  dispose(): void;
}

export function createSpansChart(
  container: HTMLElement,
  bars: readonly SpanBar[],
  names: ReadonlyMap<string, string>,
  onClick: (bar: SpanBar) => void,
): SpansChart {
  const height = AXIS_H + Math.max(1, bars.length) * ROW + 6;
  container.style.height = `${height}px`;
  const chart = init(container, undefined, { renderer: 'canvas' });
  let view = { from: 0, to: 1 };

  const option = (): Option => {
    const c = themeColors();
    return {
      animation: false,
      grid: { left: LABEL_W, right: RIGHT_PAD, top: AXIS_H, bottom: 2 },
      xAxis: {
        type: 'value',
        position: 'top',
        min: view.from / 1e6,
        max: view.to / 1e6,
        axisLabel: {
          color: c.muted,
          fontSize: 11,
          hideOverlap: true,
          formatter: (v: number) => `${Number(v.toPrecision(6))} ms`,
        },
        axisLine: { lineStyle: { color: c.grid } },
        splitLine: { show: true, lineStyle: { color: c.grid, opacity: 0.6 } },
      },
      yAxis: { type: 'value', min: 0, max: Math.max(1, bars.length) * ROW, inverse: true, show: false },
      tooltip: {
        trigger: 'item',
        confine: true,
        formatter: (p) => {
          const b = bars[(p as { dataIndex?: number }).dataIndex ?? -1];
          if (!b) return '';
          const s = b.span;
          const threads = [
            ...new Set(s.bindings.map((x) => names.get(x.threadId) ?? `thread ${x.threadId}`)),
          ];
          return [
            `<strong>${escapeHtml(s.name)}</strong> (${escapeHtml(s.kind)}${s.service ? `, ${escapeHtml(s.service)}` : ''})`,
            `${escapeHtml(durationLabel(b.to - b.from))} from ${escapeHtml(offsetLabel(b.from))}`,
            `status ${escapeHtml(s.status)}; ${s.sampleCount} on-CPU samples${s.short ? ' (too short to say much)' : ''}`,
            threads.length ? `ran on ${escapeHtml(threads.join(', '))}` : 'bound to no thread',
          ].join('<br>');
        },
      },
      series: [
        {
          type: 'custom',
          renderItem: (params: CustomSeriesRenderItemParams, api: CustomSeriesRenderItemAPI) => {
            const b = bars[params.dataIndex];
            if (!b) return null;
            const a = api.coord([b.from / 1e6, b.depth * ROW]);
            const e = api.coord([b.to / 1e6, b.depth * ROW]);
            const cs = params.coordSys as unknown as { x: number; width: number };
            const x0 = Math.max(cs.x, a[0] ?? 0);
            const x1 = Math.min(cs.x + cs.width, e[0] ?? 0);
            if (x1 < x0) return null;
            const w = Math.max(1, x1 - x0);
            const label = `${b.span.name} · ${durationLabel(b.to - b.from)}`;
            return {
              type: 'rect',
              shape: { x: x0, y: (a[1] ?? 0) + 2, width: w, height: ROW - 4, r: 2 },
              style: { fill: spanColor(b.span.kind), opacity: b.span.short ? 0.6 : 1 },
              textContent:
                w > 40
                  ? {
                      type: 'text',
                      style: { text: label, fill: '#fff', fontSize: 11, width: w - 6, overflow: 'truncate' },
                    }
                  : undefined,
              textConfig: w > 40 ? { position: 'insideLeft', distance: 3 } : undefined,
            };
          },
          data: bars.map((_, i) => i),
          encode: { x: 0 },
        },
      ],
    };
  };
  chart.on('click', (p) => {
    const b = bars[(p as { dataIndex?: number }).dataIndex ?? -1];
    if (b) onClick(b);
  });
  return {
    chart,
    height,
    setView(from, to) {
      view = { from, to };
      chart.setOption(option(), { notMerge: false, lazyUpdate: false });
    },
    redraw() {
      chart.setOption(option(), { notMerge: true });
    },
    dispose: () => chart.dispose(),
  };
}
