/**
 * Duration histogram of one route as an ECharts bar chart; clicking a bar reports its bucket.
 * Loaded lazily with the requests page so the captures page does not pay for ECharts.
 */
import { BarChart, type BarSeriesOption } from 'echarts/charts';
import {
  GridComponent,
  TooltipComponent,
  type GridComponentOption,
  type TooltipComponentOption,
} from 'echarts/components';
import { init, use, type ComposeOption } from 'echarts/core';
import { CanvasRenderer } from 'echarts/renderers';
import type { DurationBucketDto } from '@threadreel/model';
import { escapeHtml } from '../dom';
import { formatDuration } from '../format';
import { themeColors } from '../theme';

use([BarChart, GridComponent, TooltipComponent, CanvasRenderer]);

type ChartOption = ComposeOption<BarSeriesOption | GridComponentOption | TooltipComponentOption>;

export interface HistogramHandle {
  /** Redraws with the current theme's colours. */
  restyle(): void;
  dispose(): void;
}

function bucketLabel(b: DurationBucketDto): string {
  return `${formatDuration(BigInt(b.fromNs))} – ${formatDuration(BigInt(b.toNs))}`;
}

function indexOf(params: unknown): number | null {
  if (typeof params !== 'object' || params === null || !('dataIndex' in params)) return null;
  const { dataIndex } = params;
  return typeof dataIndex === 'number' ? dataIndex : null;
}

export function renderHistogram(
  container: HTMLElement,
  buckets: readonly DurationBucketDto[],
  selected: number | null,
  onPick: (index: number) => void,
): HistogramHandle {
  const chart = init(container, undefined, { renderer: 'canvas' });
  const option = (): ChartOption => {
    const c = themeColors();
    return {
      animation: false,
      textStyle: { color: c.text },
      grid: { left: 36, right: 8, top: 10, bottom: 30 },
      tooltip: {
        trigger: 'item',
        backgroundColor: c.panel,
        borderColor: c.grid,
        textStyle: { color: c.text },
        formatter: (params: unknown) => {
          const i = indexOf(params);
          const b = i === null ? undefined : buckets[i];
          if (!b) return '';
          return `${escapeHtml(bucketLabel(b))}<br/><b>${b.count}</b> request${b.count === 1 ? '' : 's'}<br/><span style="opacity:.7">click to filter to this range</span>`;
        },
      },
      xAxis: {
        type: 'category',
        data: buckets.map((b) => formatDuration(BigInt(b.fromNs))),
        axisLabel: { color: c.muted, hideOverlap: true, fontSize: 10 },
        axisLine: { lineStyle: { color: c.grid } },
        axisTick: { alignWithLabel: true, lineStyle: { color: c.grid } },
      },
      yAxis: {
        type: 'value',
        minInterval: 1,
        axisLabel: { color: c.muted, fontSize: 10 },
        splitLine: { lineStyle: { color: c.grid } },
      },
      series: [
        {
          type: 'bar',
          name: 'requests',
          barCategoryGap: '12%',
          cursor: 'pointer',
          data: buckets.map((b, i) => ({
            value: b.count,
            itemStyle: {
              color: selected === null || selected === i ? c.accent : c.grid,
            },
          })),
        },
      ],
    };
  };
  chart.setOption(option());
  chart.on('click', (params: unknown) => {
    const i = indexOf(params);
    if (i !== null && (buckets[i]?.count ?? 0) > 0) onPick(i);
  });
  const observer = new ResizeObserver(() => chart.resize());
  observer.observe(container);
  return {
    restyle() {
      chart.setOption(option(), { notMerge: true });
    },
    dispose() {
      observer.disconnect();
      chart.dispose();
    },
  };
}
