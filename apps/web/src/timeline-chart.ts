/**
 * "On-CPU samples per thread over time" as an ECharts heatmap: one row per thread (busiest
 * at the top), one column per time bucket, colour = samples. Loaded lazily so the captures
 * page does not pay for ECharts.
 */
import { HeatmapChart, type HeatmapSeriesOption } from 'echarts/charts';
import {
  DataZoomInsideComponent,
  DataZoomSliderComponent,
  GridComponent,
  TooltipComponent,
  VisualMapContinuousComponent,
  type DataZoomComponentOption,
  type GridComponentOption,
  type TooltipComponentOption,
  type VisualMapComponentOption,
} from 'echarts/components';
import { init, use, type ComposeOption } from 'echarts/core';
import { CanvasRenderer } from 'echarts/renderers';
import { escapeHtml } from './dom';
import { bucketRangeLabel, samplesLabel, type TimelineHeatmap } from './timeline-data';

use([
  HeatmapChart,
  GridComponent,
  TooltipComponent,
  DataZoomInsideComponent,
  DataZoomSliderComponent,
  VisualMapContinuousComponent,
  CanvasRenderer,
]);

type ChartOption = ComposeOption<
  | HeatmapSeriesOption
  | GridComponentOption
  | TooltipComponentOption
  | DataZoomComponentOption
  | VisualMapComponentOption
>;

/** Rows shown at once; beyond that a vertical slider scrolls through the threads. */
const VISIBLE_ROWS = 30;
const ROW_PX = 22;

export interface ChartHandle {
  dispose(): void;
}

function cellOf(params: unknown): [number, number, number] | null {
  const item = Array.isArray(params) ? (params as unknown[])[0] : params;
  if (typeof item !== 'object' || item === null || !('value' in item)) return null;
  const { value } = item;
  if (!Array.isArray(value) || value.length < 3) return null;
  const [x, y, count] = value as unknown[];
  return typeof x === 'number' && typeof y === 'number' && typeof count === 'number' ? [x, y, count] : null;
}

export function renderTimelineChart(container: HTMLElement, model: TimelineHeatmap): ChartHandle {
  const scrolls = model.rows.length > VISIBLE_ROWS;
  const visibleRows = Math.min(model.rows.length, VISIBLE_ROWS);
  container.style.height = `${Math.max(240, 130 + visibleRows * ROW_PX)}px`;

  const msLabel = (bucket: number): string => {
    const ms = model.bucketStartMs[bucket];
    return ms === undefined ? '' : ms.toLocaleString('en-US', { maximumFractionDigits: model.digits });
  };

  const dataZoom: DataZoomComponentOption[] = [
    { type: 'inside', xAxisIndex: 0, filterMode: 'filter' },
    {
      type: 'slider',
      xAxisIndex: 0,
      filterMode: 'filter',
      bottom: 10,
      height: 22,
      labelFormatter: (value: number) => `${msLabel(value)} ms`,
    },
  ];
  if (scrolls) {
    dataZoom.push(
      {
        type: 'slider',
        yAxisIndex: 0,
        filterMode: 'filter',
        right: 8,
        width: 16,
        startValue: 0,
        endValue: VISIBLE_ROWS - 1,
        showDetail: false,
        zoomLock: true,
        brushSelect: false,
      },
      {
        type: 'inside',
        yAxisIndex: 0,
        filterMode: 'filter',
        zoomOnMouseWheel: false,
        moveOnMouseWheel: 'shift',
      },
    );
  }

  const option: ChartOption = {
    animation: false,
    grid: { left: 12, right: scrolls ? 40 : 16, top: 56, bottom: 84 },
    tooltip: {
      trigger: 'item',
      confine: true,
      formatter: (params) => {
        const cell = cellOf(params);
        if (!cell) return '';
        const [bucket, row, count] = cell;
        const thread = model.rows[row];
        return [
          `<strong>${escapeHtml(thread?.label ?? `row ${row}`)}</strong>`,
          escapeHtml(bucketRangeLabel(model, bucket)),
          escapeHtml(`${samplesLabel(count)} on CPU`),
        ].join('<br>');
      },
    },
    xAxis: {
      type: 'category',
      data: model.bucketStartMs.map((_, i) => String(i)),
      name: 'time since start (ms)',
      nameLocation: 'middle',
      nameGap: 28,
      axisLabel: { formatter: (_value: string, index: number) => msLabel(index), hideOverlap: true },
      axisTick: { alignWithLabel: true },
      splitArea: { show: false },
    },
    yAxis: {
      type: 'category',
      data: model.rows.map((r) => r.label),
      inverse: true,
      axisLabel: { width: 200, overflow: 'truncate', interval: 0, fontSize: 11 },
      splitArea: { show: false },
    },
    visualMap: {
      type: 'continuous',
      min: 1,
      max: Math.max(model.maxCount, 2),
      calculable: true,
      orient: 'horizontal',
      top: 4,
      right: 16,
      itemHeight: 160,
      itemWidth: 12,
      text: [`${model.maxCount.toLocaleString('en-US')} samples`, '1'],
      textGap: 8,
      inRange: { color: ['#fde68a', '#fb923c', '#ea580c', '#b91c1c', '#5b0f0f'] },
    },
    dataZoom,
    series: [
      {
        type: 'heatmap',
        name: 'On-CPU samples',
        data: model.cells,
        emphasis: { itemStyle: { borderColor: '#111827', borderWidth: 1 } },
      },
    ],
  };

  const chart = init(container, undefined, { renderer: 'canvas' });
  chart.setOption(option);
  const observer = new ResizeObserver(() => chart.resize());
  observer.observe(container);
  return {
    dispose() {
      observer.disconnect();
      chart.dispose();
    },
  };
}
