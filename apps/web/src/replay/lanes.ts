/**
 * Thread lanes on a plain 2D canvas (tens of thousands of rectangles per frame stay within a
 * few ms): segments coloured by state, the request window highlighted, pool-queue hatched,
 * GC pauses as bands, log markers, wakeup arrows. A second canvas on top holds what moves
 * with the mouse (hover outline, cursor line, brush) so it redraws without the lanes.
 */
import { CAUSE_COLORS, STATE_ORDER } from '../causes';
import { themeColors } from '../theme';
import { firstEndingAfter, layerAt, type LaneData, type LaneLayers } from './model';

export const LABEL_W = 230;
export const RIGHT_PAD = 16;
export const LANE_H = 22;
export const HEADER_H = 22;

export type Row =
  | { kind: 'header'; group: string; label: string; collapsed: boolean; count: number }
  | {
      kind: 'lane';
      threadId: string;
      pid: number | null;
      layers: LaneLayers;
      bound: boolean;
    };

export interface Band {
  from: number;
  to: number;
  label: string;
}

export interface Arrow {
  t: number;
  from: string;
  to: string;
  strong: boolean;
}

export interface LogMark {
  t: number;
  threadId: string;
  level: string | null;
}

export interface Scene {
  rows: Row[];
  /** Request arrival and end (offsets). */
  request: { from: number; to: number };
  /** Pool-queue bands on a lane: arrival … the worker starts. */
  poolQueue: { threadId: string; from: number; to: number }[];
  gc: { band: Band; pid: number | null }[];
  arrows: Arrow[];
  logs: LogMark[];
  selected: ReadonlySet<string>;
}

export interface Viewport {
  from: number;
  to: number;
  width: number;
}

export function rowTops(rows: readonly Row[]): number[] {
  const tops: number[] = [];
  let y = 0;
  for (const r of rows) {
    tops.push(y);
    y += r.kind === 'header' ? HEADER_H : LANE_H;
  }
  tops.push(y);
  return tops;
}

function alpha(hex: string, a: number): string {
  const n = parseInt(hex.slice(1), 16);
  return `rgba(${(n >> 16) & 255},${(n >> 8) & 255},${n & 255},${a})`;
}

let hatch: { color: string; pattern: CanvasPattern | null } | null = null;

function hatchPattern(ctx: CanvasRenderingContext2D): CanvasPattern | string {
  const color = CAUSE_COLORS['pool-queue'];
  if (hatch?.color === color && hatch.pattern) return hatch.pattern;
  const c = document.createElement('canvas');
  c.width = 8;
  c.height = 8;
  const g = c.getContext('2d');
  if (!g) return alpha(color, 0.4);
  g.strokeStyle = color;
  g.lineWidth = 2;
  g.beginPath();
  g.moveTo(0, 8);
  g.lineTo(8, 0);
  g.stroke();
  const pattern = ctx.createPattern(c, 'repeat');
  hatch = { color, pattern };
  return pattern ?? alpha(color, 0.4);
}

/** Draws the lanes; returns the number of wakeup arrows drawn (and how many end on a bound lane). */
export function drawLanes(
  canvas: HTMLCanvasElement,
  scene: Scene,
  view: Viewport,
): { arrows: number; arrowsIntoBound: number } {
  const tops = rowTops(scene.rows);
  const height = tops[tops.length - 1] ?? 0;
  const dpr = window.devicePixelRatio || 1;
  const w = Math.max(1, view.width);
  if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(height * dpr)) {
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(Math.max(1, height) * dpr);
    canvas.style.width = `${w}px`;
    canvas.style.height = `${height}px`;
  }
  const ctx = canvas.getContext('2d');
  if (!ctx) return { arrows: 0, arrowsIntoBound: 0 };
  const colors = themeColors();
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, height);
  const left = LABEL_W;
  const right = w - RIGHT_PAD;
  const plotW = Math.max(1, right - left);
  const k = plotW / Math.max(1, view.to - view.from);
  const x = (t: number) => left + (t - view.from) * k;
  const laneY = new Map<string, number>();

  ctx.save();
  ctx.beginPath();
  ctx.rect(left, 0, plotW, height);
  ctx.clip();

  // Per state: one fillStyle, many rects.
  const buckets: number[][] = STATE_ORDER.map(() => []);
  scene.rows.forEach((row, r) => {
    const top = tops[r] ?? 0;
    if (row.kind === 'header') {
      ctx.fillStyle = alpha(colors.grid.startsWith('#') ? colors.grid : '#888888', 0.35);
      ctx.fillRect(left, top, plotW, HEADER_H);
      return;
    }
    laneY.set(row.threadId, top + LANE_H / 2);
    if (scene.selected.has(row.threadId)) {
      ctx.fillStyle = alpha(colors.accent, 0.1);
      ctx.fillRect(left, top, plotW, LANE_H);
    }
    const y0 = top + 3;
    // One rect per run of a state; an item inside a pixel already painted is skipped (at
    // most about one rect per pixel, however many items the lane has there).
    let runX0 = 0;
    let runX1 = -Infinity;
    let runState = -1;
    const flush = () => {
      if (runState >= 0) buckets[runState]?.push(runX0, y0, Math.max(1, runX1 - runX0));
      runState = -1;
    };
    const addLane = (data: LaneData, a: number, b: number) => {
      for (let i = firstEndingAfter(data, a); i < data.end.length; i++) {
        const s = data.start[i] ?? 0;
        if (s >= b) break;
        const e = data.end[i] ?? 0;
        const x0 = x(Math.max(s, a));
        const x1 = Math.max(x(Math.min(e, b)), x0 + 1);
        const st = data.state[i] ?? 0;
        if (st === runState && x0 <= runX1 + 0.5) {
          if (x1 > runX1) runX1 = x1;
          continue;
        }
        if (x1 <= Math.floor(runX1) + 1 && runState >= 0) continue;
        flush();
        runX0 = x0;
        runX1 = x1;
        runState = st;
      }
    };
    const d = row.layers.detail;
    runX1 = -Infinity;
    if (d && d.to > view.from && d.from < view.to) {
      if (view.from < d.from) addLane(row.layers.base, view.from, d.from);
      addLane(d.data, Math.max(view.from, d.from), Math.min(view.to, d.to));
      if (d.to < view.to) addLane(row.layers.base, d.to, view.to);
    } else addLane(row.layers.base, view.from, view.to);
    flush();
  });
  const h = LANE_H - 6;
  buckets.forEach((rects, si) => {
    const state = STATE_ORDER[si];
    if (!state || !rects.length) return;
    ctx.fillStyle = CAUSE_COLORS[state];
    for (let i = 0; i < rects.length; i += 3)
      ctx.fillRect(rects[i] ?? 0, rects[i + 1] ?? 0, rects[i + 2] ?? 0, h);
  });

  // Pool-queue: hatched where the request waited for a worker.
  for (const pq of scene.poolQueue) {
    const y = laneY.get(pq.threadId);
    if (y === undefined || pq.to <= view.from || pq.from >= view.to) continue;
    const x0 = x(Math.max(pq.from, view.from));
    const x1 = x(Math.min(pq.to, view.to));
    ctx.fillStyle = hatchPattern(ctx);
    ctx.fillRect(x0, y - LANE_H / 2 + 2, Math.max(2, x1 - x0), LANE_H - 4);
    ctx.strokeStyle = CAUSE_COLORS['pool-queue'];
    ctx.strokeRect(x0, y - LANE_H / 2 + 2, Math.max(2, x1 - x0), LANE_H - 4);
  }

  // GC pauses: bands over the lanes of their process.
  for (const g of scene.gc) {
    if (g.band.to <= view.from || g.band.from >= view.to) continue;
    const x0 = x(g.band.from);
    const bw = Math.max(2, x(g.band.to) - x0);
    ctx.fillStyle = alpha(CAUSE_COLORS.gc, 0.28);
    scene.rows.forEach((row, r) => {
      if (row.kind !== 'lane' || (g.pid !== null && row.pid !== null && row.pid !== g.pid)) return;
      ctx.fillRect(x0, tops[r] ?? 0, bw, LANE_H);
    });
  }

  // Outside the request: dimmed; its edges marked.
  const rx0 = x(scene.request.from);
  const rx1 = x(scene.request.to);
  ctx.fillStyle = currentDim();
  if (rx0 > left) ctx.fillRect(left, 0, rx0 - left, height);
  if (rx1 < right) ctx.fillRect(rx1, 0, right - rx1, height);
  ctx.strokeStyle = colors.accent;
  ctx.setLineDash([4, 3]);
  ctx.lineWidth = 1;
  for (const xe of [rx0, rx1]) {
    if (xe < left || xe > right) continue;
    ctx.beginPath();
    ctx.moveTo(Math.round(xe) + 0.5, 0);
    ctx.lineTo(Math.round(xe) + 0.5, height);
    ctx.stroke();
  }
  ctx.setLineDash([]);

  // Log markers: a small triangle at the top of the writer's lane.
  for (const l of scene.logs) {
    const y = laneY.get(l.threadId);
    if (y === undefined || l.t < view.from || l.t > view.to) continue;
    const lx = x(l.t);
    const lvl = (l.level ?? '').toUpperCase();
    ctx.fillStyle =
      lvl.startsWith('ERR') || lvl === 'FATAL' ? '#c92a2a' : lvl.startsWith('WARN') ? '#e67700' : colors.text;
    const ty = y - LANE_H / 2;
    ctx.beginPath();
    ctx.moveTo(lx - 4, ty);
    ctx.lineTo(lx + 4, ty);
    ctx.lineTo(lx, ty + 6);
    ctx.closePath();
    ctx.fill();
  }

  // Wakeup arrows: waker lane → woken lane at the wake time.
  let drawn = 0;
  let intoBound = 0;
  const boundLanes = new Set<string>();
  for (const row of scene.rows) if (row.kind === 'lane' && row.bound) boundLanes.add(row.threadId);
  for (const a of scene.arrows) {
    if (a.t < view.from || a.t > view.to) continue;
    const y0 = laneY.get(a.from);
    const y1 = laneY.get(a.to);
    if (y0 === undefined || y1 === undefined || y0 === y1) continue;
    const ax = x(a.t);
    const dir = y1 > y0 ? 1 : -1;
    const end = y1 - dir * (LANE_H / 2 - 2);
    ctx.strokeStyle = a.strong ? colors.text : alpha('#868e96', 0.7);
    ctx.fillStyle = ctx.strokeStyle;
    ctx.lineWidth = a.strong ? 1.5 : 1;
    ctx.beginPath();
    ctx.moveTo(ax, y0);
    ctx.lineTo(ax, end);
    ctx.stroke();
    ctx.beginPath();
    ctx.moveTo(ax, end);
    ctx.lineTo(ax - 3.5, end - dir * 6);
    ctx.lineTo(ax + 3.5, end - dir * 6);
    ctx.closePath();
    ctx.fill();
    drawn++;
    if (boundLanes.has(a.to)) intoBound++;
  }
  ctx.restore();

  // Lane separators.
  ctx.strokeStyle = alpha(colors.grid.startsWith('#') ? colors.grid : '#888888', 0.8);
  ctx.lineWidth = 1;
  ctx.beginPath();
  for (const t of tops) {
    ctx.moveTo(left, Math.round(t) + 0.5);
    ctx.lineTo(right, Math.round(t) + 0.5);
  }
  ctx.stroke();
  return { arrows: drawn, arrowsIntoBound: intoBound };
}

function currentDim(): string {
  return document.documentElement.dataset['theme'] === 'dark' ? 'rgba(0,0,0,0.38)' : 'rgba(255,255,255,0.55)';
}

export interface OverlayState {
  cursorX: number | null;
  hover: { x0: number; x1: number; y: number } | null;
  brush: { x0: number; x1: number; y0: number; y1: number } | null;
}

export function drawOverlay(canvas: HTMLCanvasElement, width: number, height: number, s: OverlayState): void {
  const dpr = window.devicePixelRatio || 1;
  if (canvas.width !== Math.round(width * dpr) || canvas.height !== Math.round(height * dpr)) {
    canvas.width = Math.round(Math.max(1, width) * dpr);
    canvas.height = Math.round(Math.max(1, height) * dpr);
    canvas.style.width = `${width}px`;
    canvas.style.height = `${height}px`;
  }
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  const colors = themeColors();
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, width, height);
  if (s.brush) {
    const { x0, x1, y0, y1 } = s.brush;
    ctx.fillStyle = alpha(colors.accent, 0.15);
    ctx.fillRect(x0, y0, x1 - x0, y1 - y0);
    ctx.strokeStyle = colors.accent;
    ctx.lineWidth = 1.5;
    ctx.strokeRect(x0 + 0.5, y0 + 0.5, x1 - x0 - 1, y1 - y0 - 1);
  }
  if (s.hover) {
    ctx.strokeStyle = colors.text;
    ctx.lineWidth = 1.5;
    ctx.strokeRect(
      s.hover.x0 - 0.5,
      s.hover.y - LANE_H / 2 + 2,
      Math.max(2, s.hover.x1 - s.hover.x0 + 1),
      LANE_H - 4,
    );
  }
  if (s.cursorX !== null) {
    ctx.strokeStyle = alpha(colors.accent, 0.8);
    ctx.lineWidth = 1;
    ctx.beginPath();
    ctx.moveTo(Math.round(s.cursorX) + 0.5, 0);
    ctx.lineTo(Math.round(s.cursorX) + 0.5, height);
    ctx.stroke();
  }
}

export { layerAt };
