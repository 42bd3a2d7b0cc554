/**
 * Flame graph (icicle, root on top) as an ECharts custom series: one rectangle per node,
 * x = cumulative value, y = depth. Inverted = bottom-up (leaf functions as roots, built
 * from each node's self value). Search dims what does not match; click zooms into a node.
 */
import type { FlameGraphDto, FlameNodeDto } from '@threadreel/model';
import { CustomChart, type CustomSeriesOption } from 'echarts/charts';
import {
  TooltipComponent,
  GridComponent,
  type TooltipComponentOption,
  type GridComponentOption,
} from 'echarts/components';
import { init, use, type ComposeOption, type ECharts } from 'echarts/core';
import type { CustomSeriesRenderItemAPI, CustomSeriesRenderItemParams } from 'echarts';
import { CanvasRenderer } from 'echarts/renderers';
import { escapeHtml } from '../dom';
import { themeColors } from '../theme';
import { durationLabel } from './model';

use([CustomChart, TooltipComponent, GridComponent, CanvasRenderer]);

type Option = ComposeOption<CustomSeriesOption | TooltipComponentOption | GridComponentOption>;

const ROW = 18;
const MAX_NODES = 6000;

interface Flat {
  x0: number;
  x1: number;
  depth: number;
  name: string;
  value: number;
  samples: number;
  path: string;
}

/** Bottom-up tree: for each node's self value, the path leaf → root. */
export function invertTree(root: FlameNodeDto): FlameNodeDto {
  const out: FlameNodeDto = { name: root.name, value: 0, samples: 0, children: [] };
  const walk = (node: FlameNodeDto, path: FlameNodeDto[]) => {
    const childSum = node.children.reduce((a, c) => a + c.value, 0);
    const childSamples = node.children.reduce((a, c) => a + c.samples, 0);
    const self = node.value - childSum;
    const selfSamples = Math.max(0, node.samples - childSamples);
    if (self > 0 && path.length > 0) {
      let at = out;
      at.value += self;
      at.samples += selfSamples;
      for (let i = path.length - 1; i >= 0; i--) {
        const p = path[i];
        if (!p) continue;
        let next = at.children.find((c) => c.name === p.name);
        if (!next) {
          next = { name: p.name, value: 0, samples: 0, children: [] };
          at.children.push(next);
        }
        next.value += self;
        next.samples += selfSamples;
        at = next;
      }
    }
    for (const c of node.children) walk(c, [...path, c]);
  };
  walk(root, []);
  out.children.sort((a, b) => b.value - a.value);
  const sortDeep = (n: FlameNodeDto) => {
    n.children.sort((a, b) => b.value - a.value);
    n.children.forEach(sortDeep);
  };
  sortDeep(out);
  return out;
}

function find(root: FlameNodeDto, path: string): FlameNodeDto | null {
  if (!path) return root;
  let at: FlameNodeDto | undefined = root;
  for (const part of path.split('\u0001').slice(1)) {
    at = at?.children.find((c) => c.name === part);
    if (!at) return null;
  }
  return at ?? null;
}

function flatten(root: FlameNodeDto, rootPath: string): Flat[] {
  const out: Flat[] = [];
  const total = root.value || 1;
  const minValue = total / 4000;
  const walk = (n: FlameNodeDto, x0: number, depth: number, path: string) => {
    if (out.length >= MAX_NODES) return;
    out.push({ x0, x1: x0 + n.value, depth, name: n.name, value: n.value, samples: n.samples, path });
    let x = x0;
    for (const c of n.children) {
      if (c.value >= minValue) walk(c, x, depth + 1, `${path}\u0001${c.name}`);
      x += c.value;
    }
  };
  walk(root, 0, 0, rootPath);
  return out;
}

function hue(name: string): number {
  let h = 0;
  for (let i = 0; i < name.length; i++) h = (h * 31 + name.charCodeAt(i)) | 0;
  return Math.abs(h);
}

const BASE_HUE: Record<FlameGraphDto['kind'], number> = { cpu: 20, offcpu: 210, wakers: 280 };

export interface FlameHandle {
  /** Draws a graph; resolves when ECharts has finished; returns the nodes drawn. */
  render(graph: FlameGraphDto, opts: { invert: boolean; search: string }): number;
  resize(): void;
  dispose(): void;
}

export function createFlame(container: HTMLElement, onFinished: () => void): FlameHandle {
  const chart: ECharts = init(container, undefined, { renderer: 'canvas' });
  chart.on('finished', onFinished);
  let graph: FlameGraphDto | null = null;
  let opts = { invert: false, search: '' };
  let focus = '';
  let nodes: Flat[] = [];

  const draw = (): number => {
    if (!graph) return 0;
    const tree = opts.invert ? invertTree(graph.root) : graph.root;
    const root = find(tree, focus) ?? tree;
    if (root === tree) focus = '';
    nodes = flatten(root, focus);
    const maxDepth = nodes.reduce((a, n) => Math.max(a, n.depth), 0);
    const height = Math.max(120, (maxDepth + 1) * ROW + 12);
    container.style.height = `${height}px`;
    chart.resize();
    const q = opts.search.trim().toLowerCase();
    const colors = themeColors();
    const total = root.value || 1;
    const unit = graph.unit;
    const base = BASE_HUE[graph.kind];
    const option: Option = {
      animation: false,
      grid: { left: 0, right: 0, top: 4, bottom: 4 },
      xAxis: { type: 'value', min: 0, max: total, show: false },
      yAxis: { type: 'value', min: 0, max: height - 8, inverse: true, show: false },
      tooltip: {
        trigger: 'item',
        confine: true,
        formatter: (p) => {
          const idx = (p as { dataIndex?: number }).dataIndex ?? -1;
          const n = nodes[idx];
          if (!n) return '';
          const v = unit === 'ns' ? durationLabel(n.value) : `${n.value.toLocaleString('en-US')} samples`;
          const pct = ((n.value / total) * 100).toFixed(1);
          return `<strong>${escapeHtml(n.name)}</strong><br>${escapeHtml(v)} (${pct} %)${
            unit === 'ns' ? `<br>${n.samples.toLocaleString('en-US')} blocked segments` : ''
          }`;
        },
      },
      series: [
        {
          type: 'custom',
          progressive: 0,
          renderItem: (params: CustomSeriesRenderItemParams, api: CustomSeriesRenderItemAPI) => {
            const n = nodes[params.dataIndex];
            if (!n) return null;
            const a = api.coord([n.x0, n.depth * ROW]);
            const b = api.coord([n.x1, n.depth * ROW]);
            const x0 = a[0] ?? 0;
            const w = Math.max(0.5, (b[0] ?? 0) - x0 - 0.5);
            const y = a[1] ?? 0;
            const match = q !== '' && n.name.toLowerCase().includes(q);
            const dim = q !== '' && !match;
            const h = (base + (hue(n.name) % 40)) % 360;
            const fill = match ? '#f59f00' : `hsl(${h}, ${dim ? 15 : 65}%, ${dim ? 80 : 62}%)`;
            return {
              type: 'rect',
              shape: { x: x0, y, width: w, height: ROW - 1 },
              style: { fill },
              textContent:
                w > 30
                  ? {
                      type: 'text',
                      style: { text: n.name, fill: '#111', fontSize: 11, width: w - 6, overflow: 'truncate' },
                    }
                  : undefined,
              textConfig: w > 30 ? { position: 'insideLeft', distance: 3 } : undefined,
            };
          },
          data: nodes.map((_, i) => i),
          encode: { x: 0 },
        },
      ],
      backgroundColor: colors.panel,
    };
    chart.setOption(option, { notMerge: true });
    return nodes.length;
  };

  chart.on('click', (p) => {
    const n = nodes[(p as { dataIndex?: number }).dataIndex ?? -1];
    if (!n) return;
    focus = n.path === focus ? focus.split('\u0001').slice(0, -1).join('\u0001') : n.path;
    draw();
  });

  return {
    render(g, o) {
      if (graph !== g || opts.invert !== o.invert) focus = '';
      graph = g;
      opts = o;
      return draw();
    },
    resize: () => chart.resize(),
    dispose: () => chart.dispose(),
  };
}
