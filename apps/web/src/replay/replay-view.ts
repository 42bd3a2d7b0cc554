/**
 * Replay of one request (`#/t/:traceId`): its spans as a waterfall over one lane per involved
 * thread (bound, lock holders, wakers), on one time axis; wakeup arrows, GC bands, pool-queue
 * hatching and log markers on the lanes; a cause panel with evidence that jumps to where it
 * happened; a brushed range with its breakdown and flame graphs; the request's logs.
 *
 * The whole view state (zoom, selected lanes, brush, flame tab) lives in the hash query, so
 * a copied URL reopens the same view. Times stay bigint until made relative to the window
 * start; lanes are re-read at the resolution of the visible range as one zooms.
 */
import type {
  FlameGraphDto,
  LaneItemDto,
  LanesDto,
  ReplayDto,
  ReplayLogDto,
  ReplayThreadDto,
  StackFrameDto,
  StacksDto,
  ThreadState,
  ThreadTimelineDto,
} from '@threadreel/model';
import { tileLevelFor } from '@threadreel/model';
import { ApiRequestError, getJson, isAbortError, listCaptures } from '../api';
import { CAUSE_COLORS, STATE_ORDER, causeColor, causeLabel } from '../causes';
import { append, el, type Child } from '../dom';
import { showError } from '../errors';
import { errorMessage } from '../format';
import { CAPTURES_HREF, captureHref, replaceQuery, replayHref, type View } from '../router';
import { onThemeChange } from '../theme';
import { causePanel, type Jump } from './cause-panel';
import { createFlame, type FlameHandle } from './flame';
import {
  HEADER_H,
  LABEL_W,
  LANE_H,
  RIGHT_PAD,
  drawLanes,
  drawOverlay,
  rowTops,
  type OverlayState,
  type Row,
  type Scene,
} from './lanes';
import {
  Offsets,
  durationLabel,
  itemAt,
  itemOf,
  laneData,
  layerAt,
  layeredStateTime,
  offsetLabel,
  parseViewQuery,
  splitTraceIds,
  tileLaneData,
  viewQueryString,
  type LaneLayers,
  type ViewQuery,
} from './model';
import { createSpansChart, layoutSpans, type SpansChart } from './spans-chart';
import { TileStore } from './tiles';
import './replay.css';

/** View changes closer than this (wheel, held keys) share one lanes read. */
const LOD_DEBOUNCE_MS = 12;
const FLAME_DEBOUNCE_MS = 150;
const MIN_SPAN_NS = 2_000;
const GROUPS = [
  { key: 'bound', label: 'Ran the request' },
  { key: 'offload', label: 'Ran its offloaded work' },
  { key: 'holder', label: 'Lock holders' },
  { key: 'waker', label: 'Wakers' },
  { key: 'pool', label: 'Rest of the pool' },
] as const;

type FlameTab = 'cpu' | 'offcpu' | 'wakers';
const FLAME_TABS: { key: FlameTab; label: string }[] = [
  { key: 'cpu', label: 'On-CPU' },
  { key: 'offcpu', label: 'Off-CPU' },
  { key: 'wakers', label: 'Wakers' },
];

function isTyping(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  const tag = target.tagName;
  return tag === 'INPUT' || tag === 'TEXTAREA' || tag === 'SELECT' || target.isContentEditable;
}

const isKernel = (f: StackFrameDto): boolean => /kernel|vmlinux/.test(f.dso);
/** A frame of the program itself: not the kernel, the C library, the loader, the VM or its interpreter. */
const isAppFrame = (f: StackFrameDto): boolean =>
  !isKernel(f) &&
  !/(^|\/)(libc|libpthread|ld-linux[^/]*|libjvm|libstdc\+\+)[.-][^/]*$/.test(f.dso) &&
  !/^(Interpreter|\[unknown\])$/.test(f.name);

function textWithTraceLinks(text: string): Child[] {
  return splitTraceIds(text).map((p) =>
    typeof p === 'string'
      ? p
      : el('a', { class: 'trace-link', attrs: { href: replayHref(p.traceId) } }, p.traceId),
  );
}

export function replayView(traceId: string, query: URLSearchParams): View {
  const controller = new AbortController();
  const cleanups: (() => void)[] = [];
  const root = el(
    'section',
    { id: 'replay', class: 'panel', data: { state: 'loading', wakeupArrows: '0', lodSeq: '0' } },
    el('h2', null, 'Replay of trace ', el('code', null, traceId)),
  );
  const body = el(
    'div',
    { class: 'replay-loading' },
    el('span', { class: 'spinner' }),
    ' Loading the replay…',
  );
  root.append(body);
  let disposeMounted: (() => void) | null = null;

  getJson<ReplayDto>(
    `/traces/${encodeURIComponent(traceId)}?lanes=auto`,
    'Loading the replay',
    controller.signal,
  )
    .then((replay) => {
      body.remove();
      disposeMounted = mount(root, replay, parseViewQuery(query), controller.signal);
    })
    .catch(async (error: unknown) => {
      if (isAbortError(error)) return;
      root.dataset['state'] = 'error';
      if (error instanceof ApiRequestError && error.status === 404) {
        let searched = '';
        try {
          const caps = await listCaptures(controller.signal);
          searched = ` (searched ${caps.length} capture${caps.length === 1 ? '' : 's'})`;
        } catch {
          searched = '';
        }
        body.replaceWith(
          el(
            'div',
            { class: 'empty-state', id: 'replay-empty' },
            el('p', null, el('strong', null, `No request with trace id ${traceId}${searched}.`)),
            el(
              'p',
              { class: 'muted' },
              'The trace id may belong to a capture that was not uploaded, or to a request that was not a server or root span.',
            ),
            el('a', { attrs: { href: CAPTURES_HREF } }, '← Back to the captures'),
          ),
        );
        return;
      }
      body.replaceWith(
        el(
          'div',
          { class: 'empty-state error' },
          el('p', null, 'This replay could not be loaded: ', errorMessage(error)),
          el('a', { attrs: { href: CAPTURES_HREF } }, '← Back to the captures'),
        ),
      );
      showError(error);
    });

  return {
    element: root,
    title: `Trace ${traceId}`,
    dispose: () => {
      controller.abort();
      disposeMounted?.();
      for (const c of cleanups) c();
    },
  };
}

function mount(root: HTMLElement, replay: ReplayDto, initial: ViewQuery, signal: AbortSignal): () => void {
  const cleanups: (() => void)[] = [];
  const off = new Offsets(replay.window.fromNs);
  const windowNs = Math.max(1, off.of(replay.window.toNs));
  const req = replay.request;
  const reqFrom = off.of(req.startNs);
  const reqTo = off.of(req.endNs);
  const cap = replay.captureId;
  const capPath = `/captures/${encodeURIComponent(cap)}`;
  const threads = new Map<string, ReplayThreadDto>(replay.threads.map((t) => [t.threadId, t]));
  const boundSet = new Set(replay.threads.filter((t) => t.role === 'bound').map((t) => t.threadId));
  const layers = new Map<string, LaneLayers>();
  for (const t of replay.threads) layers.set(t.threadId, { base: laneData(t.segments, off), detail: null });

  const threadLabel = (id: string | null): string => {
    if (id === null) return 'unknown thread';
    const t = threads.get(id);
    return t ? t.name : `thread ${id}`;
  };

  // ---- state ------------------------------------------------------------------------------
  const state = {
    from: initial.from !== null ? Math.max(0, initial.from) : 0,
    to: initial.to !== null ? Math.min(windowNs, initial.to) : windowNs,
    selected: new Set(initial.threads.filter((t) => threads.has(t))),
    brush: initial.brush,
    flame: initial.flame ?? 'cpu',
    flameOpen: initial.flame !== null,
    invert: initial.invert,
    search: initial.search,
    collapsed: new Set<string>(replay.threads.length > 12 ? ['waker', 'pool'] : ['pool']),
  };
  if (state.to - state.from < MIN_SPAN_NS) {
    state.from = 0;
    state.to = windowNs;
  }

  // ---- stacks (batched, cached) -------------------------------------------------------------
  const stackCache = new Map<string, Promise<StackFrameDto[]>>();
  let stackQueue: { id: string; resolve: (f: StackFrameDto[]) => void }[] = [];
  let stackTimer: number | null = null;
  const flushStacks = () => {
    stackTimer = null;
    const batch = stackQueue;
    stackQueue = [];
    for (let i = 0; i < batch.length; i += 200) {
      const part = batch.slice(i, i + 200);
      getJson<StacksDto>(`${capPath}/stacks?ids=${part.map((p) => p.id).join(',')}`, 'Loading stacks', signal)
        .then((dto) => {
          const m = new Map(dto.stacks.map((s) => [s.stackId, s.frames]));
          for (const p of part) p.resolve(m.get(p.id) ?? []);
        })
        .catch((e: unknown) => {
          for (const p of part) p.resolve([]);
          if (!isAbortError(e)) showError(e);
        });
    }
  };
  const stack = (id: string): Promise<StackFrameDto[]> => {
    let p = stackCache.get(id);
    if (!p) {
      p = new Promise((resolve) => stackQueue.push({ id, resolve }));
      stackCache.set(id, p);
      stackTimer ??= window.setTimeout(flushStacks, 10);
    }
    return p;
  };
  const stackTopNow = new Map<string, string>();
  const stackTop = async (id: string | null | undefined): Promise<string | null> => {
    if (!id) return null;
    const frames = await stack(id);
    const top = (frames.find(isAppFrame) ?? frames.find((f) => !isKernel(f)) ?? frames[0])?.name ?? null;
    if (top) stackTopNow.set(id, top);
    return top;
  };

  // ---- segment detail (lane tiles carry none: asked for on hover or click, kept) -------------
  const segmentDetail = new Map<string, Promise<LaneItemDto | null>>();
  const detailOf = (threadId: string, item: LaneItemDto): Promise<LaneItemDto | null> => {
    const key = `${threadId}/${item.startNs}`;
    let p = segmentDetail.get(key);
    if (!p) {
      const end = (BigInt(item.startNs) + 1n).toString();
      p = getJson<ThreadTimelineDto>(
        `${capPath}/threads/${encodeURIComponent(threadId)}/timeline?from=${item.startNs}&to=${end}&resolution=1`,
        'Loading the segment',
        signal,
      )
        .then((dto) => dto.items.find((x) => x.kind === 'segment' && x.startNs === item.startNs) ?? null)
        .catch((e: unknown) => {
          segmentDetail.delete(key);
          if (!isAbortError(e)) showError(e);
          return null;
        });
      segmentDetail.set(key, p);
    }
    return p;
  };

  // ---- DOM ------------------------------------------------------------------------------------
  const head = el(
    'div',
    { class: 'replay-head' },
    el('h2', null, req.name, ' ', el('span', { class: 'muted' }, durationLabel(Number(req.durationNs)))),
    el(
      'p',
      { class: 'muted' },
      `trace `,
      el('code', null, req.traceId),
      req.service ? ` · ${req.service}` : '',
      req.route ? ` · ${req.route}` : '',
      ' · dominant cause ',
      el(
        'span',
        { class: 'cause-chip', attrs: { style: `background:${causeColor(req.dominantCause)}` } },
        causeLabel(req.dominantCause),
      ),
      ' · capture ',
      el('a', { attrs: { href: captureHref(cap) } }, cap.slice(0, 8)),
      req.sparse ? ' · few samples: the cpu share is a guess' : '',
    ),
  );
  const linkOut = el('input', {
    class: 'replay-link',
    attrs: { readonly: true, 'aria-label': 'Link to this view', value: '' },
  });
  const btn = (label: string, title: string, onClick: () => void, id?: string) =>
    el('button', { id, class: 'small', title, attrs: { type: 'button' }, on: { click: onClick } }, label);
  const toolbar = el(
    'div',
    { class: 'replay-toolbar' },
    btn('−', 'Zoom out (S)', () => zoom(1.5)),
    btn('+', 'Zoom in (W)', () => zoom(1 / 1.5)),
    btn('Whole request', 'Show the whole window', () => setView(0, windowNs)),
    btn('Zoom to range', 'Zoom to the selected range', () => {
      if (state.brush) setView(state.brush.from, state.brush.to);
    }),
    btn('Clear selection', 'Clear the range and lane selection (Esc)', () => clearSelection()),
    btn(
      'Copy link',
      'Copy a link to this exact view',
      () => {
        linkOut.value = location.href;
        linkOut.select();
        void navigator.clipboard?.writeText(location.href).catch(() => undefined);
      },
      'replay-copy-link',
    ),
    linkOut,
    el(
      'span',
      { class: 'muted replay-keys' },
      'W/S zoom · A/D pan · drag: select a range · Ctrl+wheel: zoom · click a lane name: select it',
    ),
  );
  const legend = el(
    'div',
    { class: 'replay-legend' },
    ...STATE_ORDER.map((s) =>
      el(
        'span',
        { class: 'legend-item' },
        el('span', { class: 'swatch', attrs: { style: `background:${CAUSE_COLORS[s]}` } }),
        causeLabel(s),
      ),
    ),
    el('span', { class: 'legend-item' }, el('span', { class: 'swatch hatch' }), causeLabel('pool-queue')),
    el(
      'span',
      { class: 'legend-item' },
      el('span', { class: 'swatch', attrs: { style: `background:${CAUSE_COLORS.gc};opacity:.35` } }),
      'GC pause (process)',
    ),
    el('span', { class: 'legend-item' }, '▼ log line'),
    el('span', { class: 'legend-item' }, '↓ wakeup (waker → woken)'),
  );

  const spansBox = el('div', { class: 'replay-spans', id: 'replay-spans' });
  const labels = el('div', { id: 'replay-lanes', class: 'replay-lanes' });
  const lanesCanvas = el('canvas', { class: 'replay-canvas' });
  const overlay = el('canvas', { class: 'replay-overlay' });
  const tooltip = el('div', { class: 'replay-tooltip', attrs: { role: 'tooltip' } });
  tooltip.hidden = true;
  const lanesWrap = el(
    'div',
    { class: 'replay-lanes-wrap', id: 'replay-plot' },
    lanesCanvas,
    overlay,
    labels,
    tooltip,
  );
  const plotCol = el('div', { class: 'replay-plot-col' }, spansBox, lanesWrap, legend);

  const detail = el('section', { id: 'replay-detail', class: 'replay-card' });
  detail.hidden = true;

  const rangeInfo = el('div', { id: 'range-breakdown' });
  const flameBox = el('div', { id: 'flame', class: 'flame', data: { state: 'idle', nodes: '0' } });
  const flameInfo = el(
    'p',
    { class: 'muted flame-info' },
    'Pick a flame graph above, or drag across the lanes to select a range and threads.',
  );
  const tabs = el(
    'div',
    { class: 'tabs', attrs: { role: 'tablist' } },
    ...FLAME_TABS.map((t) =>
      el(
        'button',
        {
          class: 'tab small',
          data: { tab: t.key },
          attrs: { type: 'button', role: 'tab' },
          on: {
            click: () => {
              state.flame = t.key;
              state.flameOpen = true;
              updateTabs();
              scheduleFlame();
              scheduleQuery();
            },
          },
        },
        t.label,
      ),
    ),
  );
  const invertBox = el('input', { attrs: { type: 'checkbox', id: 'flame-invert' } });
  invertBox.checked = state.invert;
  invertBox.addEventListener('change', () => {
    state.invert = invertBox.checked;
    renderFlame();
    scheduleQuery();
  });
  const searchBox = el('input', {
    id: 'flame-search',
    attrs: { type: 'search', placeholder: 'highlight frames…', value: state.search },
  });
  searchBox.addEventListener('input', () => {
    state.search = searchBox.value;
    renderFlame();
    scheduleQuery();
  });
  const flameCard = el(
    'section',
    { class: 'replay-card replay-flame' },
    el('h3', null, 'Selected range'),
    rangeInfo,
    el(
      'div',
      { class: 'flame-bar' },
      tabs,
      el('label', { class: 'flame-invert' }, invertBox, ' invert (bottom-up)'),
      searchBox,
    ),
    flameInfo,
    flameBox,
  );
  const logsBody = el('div', { id: 'replay-logs', class: 'replay-logs' });
  const logsTitle = el('h3', null, 'Logs');
  const logsCard = el('section', { class: 'replay-card replay-logs-card' }, logsTitle, logsBody);

  const causes = causePanel({
    replay,
    off,
    threadLabel,
    tidOf: (id) => threads.get(id)?.tid ?? null,
    lockWaits: (waiter, lockId) => {
      const l = layers.get(waiter);
      if (!l) return [];
      const out: { from: number; to: number; waker: string | null }[] = [];
      l.base.items?.forEach((it, i) => {
        if (it.kind !== 'segment' || it.state !== 'lock') return;
        if (lockId !== null && it.lockId !== undefined && it.lockId !== lockId) return;
        const from = l.base.start[i] ?? 0;
        const to = l.base.end[i] ?? 0;
        if (to <= reqFrom || from >= reqTo) return;
        out.push({ from: Math.max(from, reqFrom), to: Math.min(to, reqTo), waker: it.wakerThreadId ?? null });
      });
      return out;
    },
    targetSegments: (target) => {
      const out: { from: number; to: number; threadId: string }[] = [];
      for (const id of boundSet) {
        const l = layers.get(id);
        l?.base.items?.forEach((it, i) => {
          if (it.kind === 'segment' && it.target === target)
            out.push({ from: l.base.start[i] ?? 0, to: l.base.end[i] ?? 0, threadId: id });
        });
      }
      return out;
    },
    stackTop,
    jump: (j: Jump) => {
      state.selected = new Set(j.threads.filter((t) => threads.has(t)));
      for (const t of state.selected) {
        const g = threads.get(t)?.role;
        if (g) state.collapsed.delete(g);
      }
      buildRows();
      setView(j.from, j.to);
      lanesWrap.scrollIntoView({ block: 'nearest' });
      scheduleFlame();
    },
  });

  const main = el('div', { class: 'replay-main' }, plotCol, causes);
  const bottom = el('div', { class: 'replay-bottom' }, flameCard, logsCard);
  root.replaceChildren(head, toolbar, main, detail, bottom);

  // ---- rows & labels ---------------------------------------------------------------------------
  let rows: Row[] = [];
  let tops: number[] = [];
  const buildRows = () => {
    rows = [];
    for (const g of GROUPS) {
      const members = replay.threads.filter((t) => t.role === g.key);
      if (!members.length) continue;
      const collapsed = state.collapsed.has(g.key);
      rows.push({ kind: 'header', group: g.key, label: g.label, collapsed, count: members.length });
      if (collapsed) continue;
      for (const t of members) {
        const l = layers.get(t.threadId);
        if (l)
          rows.push({
            kind: 'lane',
            threadId: t.threadId,
            pid: t.pid,
            layers: l,
            bound: boundSet.has(t.threadId),
          });
      }
    }
    tops = rowTops(rows);
    const labelEls = rows.map((r, i) => {
      const top = tops[i] ?? 0;
      if (r.kind === 'header') {
        return el(
          'button',
          {
            class: 'lane-group',
            data: { group: r.group },
            attrs: {
              type: 'button',
              style: `top:${top}px;height:${HEADER_H}px`,
              'aria-expanded': String(!r.collapsed),
            },
            on: {
              click: () => {
                if (state.collapsed.has(r.group)) state.collapsed.delete(r.group);
                else state.collapsed.add(r.group);
                buildRows();
                redraw();
                scheduleLod();
              },
            },
          },
          `${r.collapsed ? '▸' : '▾'} ${r.label} (${r.count})`,
        );
      }
      const t = threads.get(r.threadId);
      const role = t?.role ?? 'waker';
      return el(
        'div',
        {
          class: `lane-label${state.selected.has(r.threadId) ? ' selected' : ''}`,
          data: { threadId: r.threadId, role, roles: t?.roles.join(' ') },
          title: `${t?.names.join(' / ') ?? ''} — tid ${t?.tid ?? '?'}${t?.pid !== null && t?.pid !== undefined ? `, pid ${t.pid}` : ''}${t?.pool ? `, pool ${t.pool}` : ''}. Click to select.`,
          attrs: { style: `top:${top}px;height:${LANE_H}px` },
          on: {
            click: (e) => {
              if (e.ctrlKey || e.metaKey || e.shiftKey) {
                if (state.selected.has(r.threadId)) state.selected.delete(r.threadId);
                else state.selected.add(r.threadId);
              } else if (state.selected.size === 1 && state.selected.has(r.threadId)) state.selected.clear();
              else state.selected = new Set([r.threadId]);
              selectionChanged();
            },
          },
        },
        el('span', { class: 'lane-name' }, t?.name ?? r.threadId),
        el('span', { class: 'lane-tid' }, `tid ${t?.tid ?? '?'}`),
        role !== 'bound' ? el('span', { class: `lane-role role-${role}` }, role) : null,
      );
    });
    labels.replaceChildren(...labelEls);
    const h = tops[tops.length - 1] ?? 0;
    labels.style.height = `${h}px`;
    lanesWrap.style.height = `${h}px`;
  };

  // ---- scene -----------------------------------------------------------------------------------
  const firstBinding = new Map<string, number>();
  for (const s of replay.spans)
    for (const b of s.bindings) {
      const t = off.of(b.startNs);
      if (t < (firstBinding.get(b.threadId) ?? Infinity)) firstBinding.set(b.threadId, t);
    }
  const poolQueue: Scene['poolQueue'] = [];
  if (Number(req.breakdown['pool-queue'] ?? '0') > 0) {
    const server = replay.spans.find((s) => s.spanId === req.spanId) ?? replay.spans[0];
    const b = server?.bindings.slice().sort((x, y) => off.of(x.startNs) - off.of(y.startNs))[0];
    if (b && off.of(b.startNs) > reqFrom)
      poolQueue.push({ threadId: b.threadId, from: reqFrom, to: off.of(b.startNs) });
  }
  const boundPid = replay.threads.find((t) => t.role === 'bound')?.pid ?? null;
  const sortedLogs: { t: number; log: ReplayLogDto }[] = replay.logs
    .filter((l) => l.timeNs !== null)
    .map((l) => ({ t: off.of(l.timeNs ?? '0'), log: l }))
    .sort((a, b) => a.t - b.t);
  const scene = (): Scene => ({
    rows,
    request: { from: reqFrom, to: reqTo },
    poolQueue,
    gc: replay.gcPauses.map((g) => ({
      band: { from: off.of(g.startNs), to: off.of(g.endNs), label: `${g.kind} ${g.phase}` },
      pid: boundPid,
    })),
    arrows: replay.wakeups
      .filter((w) => w.wakerThreadId !== null && w.wakerThreadId !== w.wakeeThreadId)
      .map((w) => ({
        t: off.of(w.timeNs),
        from: w.wakerThreadId ?? '',
        to: w.wakeeThreadId,
        strong: boundSet.has(w.wakeeThreadId) || w.lockId !== null,
      })),
    logs: sortedLogs
      .filter((l) => l.log.threadId !== null)
      .map((l) => ({ t: l.t, threadId: l.log.threadId ?? '', level: l.log.level })),
    selected: state.selected,
  });

  // ---- drawing ---------------------------------------------------------------------------------
  let spans: SpansChart | null = null;
  const bars = layoutSpans(replay.spans, off);
  const names = new Map(replay.threads.map((t) => [t.threadId, t.name]));
  const width = () => Math.max(LABEL_W + 100, lanesWrap.clientWidth || plotCol.clientWidth || 1000);
  const plotW = () => Math.max(1, width() - LABEL_W - RIGHT_PAD);
  const xOf = (t: number) => LABEL_W + ((t - state.from) / (state.to - state.from)) * plotW();
  const tOf = (x: number) => state.from + ((x - LABEL_W) / plotW()) * (state.to - state.from);
  let overlayState: OverlayState = { cursorX: null, hover: null, brush: null };
  let drawFrame = 0;

  const brushRect = (): OverlayState['brush'] => {
    if (!state.brush) return null;
    const sel = rows
      .map((r, i) => ({ r, i }))
      .filter(({ r }) => r.kind === 'lane' && state.selected.has(r.threadId));
    let y0 = 0;
    let y1 = tops[tops.length - 1] ?? 0;
    if (sel.length) {
      y0 = Math.min(...sel.map(({ i }) => tops[i] ?? 0));
      y1 = Math.max(...sel.map(({ i }) => (tops[i] ?? 0) + LANE_H));
    }
    const x0 = Math.max(LABEL_W, xOf(state.brush.from));
    const x1 = Math.min(width() - RIGHT_PAD, xOf(state.brush.to));
    return x1 > x0 ? { x0, x1, y0, y1 } : null;
  };
  const drawOverlayNow = () => {
    drawOverlay(overlay, width(), tops[tops.length - 1] ?? 0, {
      ...overlayState,
      brush: overlayState.brush ?? brushRect(),
    });
  };
  const redrawNow = () => {
    drawFrame = 0;
    const t0 = performance.now();
    const r = drawLanes(lanesCanvas, scene(), { from: state.from, to: state.to, width: width() });
    root.dataset['wakeupArrows'] = String(r.arrows);
    root.dataset['wakeupArrowsIntoBound'] = String(r.arrowsIntoBound);
    root.dataset['viewFrom'] = String(Math.round(state.from));
    root.dataset['viewTo'] = String(Math.round(state.to));
    root.dataset['selected'] = [...state.selected].sort().join(',');
    drawOverlayNow();
    root.dataset['drawMs'] = (performance.now() - t0).toFixed(1);
  };
  const redraw = () => {
    if (!drawFrame) drawFrame = requestAnimationFrame(redrawNow);
  };

  // ---- view changes ----------------------------------------------------------------------------
  const setView = (from: number, to: number) => {
    let span = Math.max(MIN_SPAN_NS, Math.min(windowNs, to - from));
    let f = from;
    if (span >= windowNs) {
      f = 0;
      span = windowNs;
    }
    f = Math.max(0, Math.min(windowNs - span, f));
    state.from = f;
    state.to = f + span;
    spans?.setView(state.from, state.to);
    redraw();
    scheduleLod();
    scheduleQuery();
  };
  let cursorT: number | null = null;
  const zoom = (factor: number, at?: number) => {
    const c = at ?? cursorT ?? (state.from + state.to) / 2;
    const center = c >= state.from && c <= state.to ? c : (state.from + state.to) / 2;
    const span = (state.to - state.from) * factor;
    const frac = (center - state.from) / (state.to - state.from);
    setView(center - frac * span, center - frac * span + span);
  };
  const pan = (frac: number) => {
    const span = state.to - state.from;
    setView(state.from + span * frac, state.to + span * frac);
  };

  // ---- level of detail -------------------------------------------------------------------------
  let lodTimer: number | null = null;
  let lodController: AbortController | null = null;
  let lodSeq = 0;
  // Drawn: the span chart rendered and the lanes (from the payload, or their first tiles) drawn.
  let ready = false;
  let spansDrawn = false;
  let lanesDrawn = replay.lanes === 'full';
  const markReady = () => {
    if (ready || !spansDrawn || !lanesDrawn) return;
    ready = true;
    // The lanes drawn last are current unless a frame is still queued for them.
    if (drawFrame) {
      cancelAnimationFrame(drawFrame);
      redrawNow();
    }
    root.dataset['state'] = 'ready';
  };
  const lodDone = () => {
    lodSeq++;
    root.dataset['lodSeq'] = String(lodSeq);
    root.dataset['lodPending'] = '0';
    if (!lanesDrawn) {
      lanesDrawn = true;
      markReady();
    }
  };
  const scheduleLod = () => {
    root.dataset['lodPending'] = '1';
    if (lodTimer !== null) clearTimeout(lodTimer);
    lodTimer = null;
    // Tiles at hand: no request to save, draw them in this frame.
    if (tilesAtHand()) loadLod();
    else lodTimer = window.setTimeout(loadLod, LOD_DEBOUNCE_MS);
  };
  // Lane tiles when the capture has them (a capture correlated before them: the lanes read).
  const tiles = new TileStore(capPath, BigInt(replay.window.fromNs), signal);
  let useTiles = true;
  let lodAsk = 0;
  const visibleLanes = () =>
    rows.filter((r): r is Extract<Row, { kind: 'lane' }> => r.kind === 'lane').map((r) => r.threadId);
  /** Whether the current view's lanes are all in the tile cache (or need no read). */
  const tilesAtHand = (): boolean => {
    const res = Math.max(1, Math.floor((state.to - state.from) / plotW()));
    if (replay.lanes === 'full' && res >= Number(replay.resolutionNs) * 0.8) return true;
    const level = useTiles ? tileLevelFor(BigInt(res)) : null;
    return level !== null && tiles.has(visibleLanes(), level, state.from, state.to);
  };
  const loadLod = () => {
    lodTimer = null;
    const ask = ++lodAsk;
    const span = state.to - state.from;
    const baseRes = Number(replay.resolutionNs);
    const res = Math.max(1, Math.floor(span / plotW()));
    const visible = visibleLanes();
    if ((replay.lanes === 'full' && res >= baseRes * 0.8) || !visible.length) {
      // The base lanes are fine enough at this zoom.
      for (const l of layers.values()) l.detail = null;
      redraw();
      requestAnimationFrame(() => lodDone());
      return;
    }
    const level = useTiles ? tileLevelFor(BigInt(res)) : null;
    if (level !== null) {
      const from = state.from;
      const to = state.to;
      const asked = performance.now();
      const apply = () => {
        if (ask !== lodAsk) return;
        root.dataset['lodApiMs'] = (performance.now() - asked).toFixed(1);
        for (const id of visible) {
          const l = layers.get(id);
          const t = tiles.lane(id, level, from, to);
          if (l && t) l.detail = { from: t.from, to: t.to, data: tileLaneData(t.data) };
        }
        root.dataset['tileRequests'] = String(tiles.requests);
        root.dataset['tileLevel'] = String(level);
        cancelAnimationFrame(drawFrame);
        redrawNow();
        requestAnimationFrame(() => {
          if (ask !== lodAsk) return;
          lodDone();
          // The next zoom step in likely needs the finer level over this view: fetch it now.
          if (level > 0)
            tiles.load(visible, level - 1, from, to).catch((e: unknown) => {
              if (!isAbortError(e) && !(e instanceof ApiRequestError && e.status === 404)) showError(e);
            });
        });
      };
      if (tiles.has(visible, level, from, to)) {
        apply();
        return;
      }
      tiles
        .load(visible, level, from, to)
        .then(apply)
        .catch((e: unknown) => {
          if (isAbortError(e)) return;
          if (e instanceof ApiRequestError && e.status === 404) {
            // No tiles for this capture: reduce the segments per read instead.
            useTiles = false;
            if (ask === lodAsk) loadLod();
            return;
          }
          if (ask === lodAsk) root.dataset['lodPending'] = '0';
          showError(e);
        });
      return;
    }
    lodController?.abort();
    const from = Math.max(0, state.from - span * 0.25);
    const to = Math.min(windowNs, state.to + span * 0.25);
    const ctl = new AbortController();
    lodController = ctl;
    const onAbort = () => ctl.abort();
    signal.addEventListener('abort', onAbort, { once: true });
    const q = new URLSearchParams({
      threadIds: visible.join(','),
      from: off.abs(from),
      to: off.abs(to),
      resolution: String(res),
    });
    const asked = performance.now();
    getJson<LanesDto>(`${capPath}/lanes?${q.toString().replace(/%2C/g, ',')}`, 'Loading lanes', ctl.signal)
      .then((dto) => {
        if (ctl.signal.aborted || ask !== lodAsk) return;
        root.dataset['lodApiMs'] = (performance.now() - asked).toFixed(1);
        const f = off.of(dto.fromNs);
        const t = off.of(dto.toNs);
        for (const lane of dto.lanes) {
          const l = layers.get(lane.threadId);
          if (l) l.detail = { from: f, to: t, data: laneData(lane.items, off) };
        }
        cancelAnimationFrame(drawFrame);
        redrawNow();
        requestAnimationFrame(() => {
          if (!ctl.signal.aborted && ask === lodAsk) lodDone();
        });
      })
      .catch((e: unknown) => {
        if (isAbortError(e)) return;
        root.dataset['lodPending'] = '0';
        showError(e);
      })
      .finally(() => signal.removeEventListener('abort', onAbort));
  };

  // ---- query (deep link) -----------------------------------------------------------------------
  let queryTimer: number | null = null;
  const currentQuery = (): ViewQuery => ({
    from: state.from <= 0 && state.to >= windowNs ? null : state.from,
    to: state.from <= 0 && state.to >= windowNs ? null : state.to,
    threads: [...state.selected],
    brush: state.brush,
    flame: state.flameOpen ? state.flame : null,
    invert: state.invert,
    search: state.search,
  });
  const writeQuery = () => {
    queryTimer = null;
    replaceQuery(viewQueryString(currentQuery()));
    linkOut.value = location.href;
  };
  const scheduleQuery = () => {
    if (queryTimer !== null) clearTimeout(queryTimer);
    queryTimer = window.setTimeout(writeQuery, 120);
  };

  // ---- selection, range breakdown, flame -------------------------------------------------------
  const flameThreads = () => (state.selected.size ? [...state.selected] : [...boundSet]);
  const flameRange = () => state.brush ?? { from: reqFrom, to: reqTo };
  const renderRange = () => {
    const r = flameRange();
    const ids = flameThreads();
    const total = new Map<ThreadState, number>();
    const rowsEls = ids.map((id) => {
      const l = layers.get(id);
      const m = l ? layeredStateTime(l, r.from, r.to) : new Map<ThreadState, number>();
      for (const [k, v] of m) total.set(k, (total.get(k) ?? 0) + v);
      return el(
        'div',
        { class: 'range-row', data: { threadId: id } },
        el('span', { class: 'range-name' }, threadLabel(id)),
        stackedBar(m),
      );
    });
    const sum = [...total.values()].reduce((a, b) => a + b, 0);
    const list = el(
      'ul',
      { class: 'range-list' },
      ...[...total]
        .filter(([, v]) => v > 0)
        .sort((a, b) => b[1] - a[1])
        .map(([k, v]) =>
          el(
            'li',
            { data: { cause: k } },
            el('span', { class: 'swatch', attrs: { style: `background:${causeColor(k)}` } }),
            `${causeLabel(k)}: ${durationLabel(v)} (${sum > 0 ? ((v / sum) * 100).toFixed(1) : '0'} %)`,
          ),
        ),
    );
    rangeInfo.replaceChildren(
      el(
        'p',
        { class: 'muted' },
        state.brush
          ? `${offsetLabel(r.from - reqFrom)} … ${offsetLabel(r.to - reqFrom)} (${durationLabel(r.to - r.from)})`
          : 'The whole request (drag on the lanes to select a range)',
        ` · ${ids.length} thread${ids.length === 1 ? '' : 's'}${state.selected.size ? ' selected' : ' that ran the request'}`,
      ),
      ...rowsEls,
      list,
    );
  };

  let flame: FlameHandle | null = null;
  let flameData: FlameGraphDto | null = null;
  let flameTimer: number | null = null;
  let flameCtl: AbortController | null = null;
  const renderFlame = () => {
    if (!flameData) return;
    if (!flameData.root.value) {
      flameBox.dataset['state'] = 'empty';
      flameBox.dataset['nodes'] = '0';
      flame?.render(flameData, { invert: state.invert, search: state.search });
      return;
    }
    flame ??= createFlame(flameBox, () => {
      if (flameBox.dataset['state'] === 'drawing') flameBox.dataset['state'] = 'ready';
    });
    flameBox.dataset['state'] = 'drawing';
    const n = flame.render(flameData, { invert: state.invert, search: state.search });
    flameBox.dataset['nodes'] = String(n);
  };
  const loadFlame = () => {
    flameTimer = null;
    flameCtl?.abort();
    const ctl = new AbortController();
    flameCtl = ctl;
    const r = flameRange();
    const q = new URLSearchParams({
      kind: state.flame,
      threadIds: flameThreads().join(','),
      from: off.abs(r.from),
      to: off.abs(r.to),
    });
    flameBox.dataset['state'] = 'loading';
    flameInfo.textContent = 'Loading…';
    const onAbort = () => ctl.abort();
    signal.addEventListener('abort', onAbort, { once: true });
    getJson<FlameGraphDto>(
      `${capPath}/flame?${q.toString().replace(/%2C/g, ',')}`,
      'Loading the flame graph',
      ctl.signal,
    )
      .then((g) => {
        if (ctl.signal.aborted) return;
        flameData = g;
        const what = g.unit === 'samples' ? 'on-CPU samples' : 'blocked segments';
        flameInfo.textContent =
          g.samples === 0
            ? `No ${what} in this range on these threads.`
            : `${g.samples.toLocaleString('en-US')} ${what}${g.unit === 'samples' && g.samples < 10 ? ' — too few samples to trust the shape' : ''}${g.unit === 'ns' ? `, ${durationLabel(g.root.value)} blocked` : ''}. Click a frame to zoom into it.`;
        renderFlame();
      })
      .catch((e: unknown) => {
        if (isAbortError(e)) return;
        flameBox.dataset['state'] = 'error';
        flameInfo.textContent = `The flame graph could not be loaded: ${errorMessage(e)}`;
        showError(e);
      })
      .finally(() => signal.removeEventListener('abort', onAbort));
  };
  const scheduleFlame = () => {
    renderRange();
    flameBox.dataset['state'] = 'loading';
    if (flameTimer !== null) clearTimeout(flameTimer);
    flameTimer = window.setTimeout(loadFlame, FLAME_DEBOUNCE_MS);
  };
  const updateTabs = () => {
    for (const b of tabs.querySelectorAll<HTMLButtonElement>('[data-tab]')) {
      const on = b.dataset['tab'] === state.flame;
      b.classList.toggle('active', on);
      b.setAttribute('aria-selected', String(on));
    }
  };

  const selectionChanged = () => {
    for (const n of labels.querySelectorAll<HTMLElement>('.lane-label'))
      n.classList.toggle('selected', state.selected.has(n.dataset['threadId'] ?? ''));
    redraw();
    scheduleFlame();
    scheduleQuery();
  };
  const clearSelection = () => {
    state.brush = null;
    state.selected.clear();
    overlayState.brush = null;
    renderLogs();
    selectionChanged();
  };

  // ---- logs --------------------------------------------------------------------------------
  let logRows: { t: number; row: HTMLElement }[] = [];
  const renderLogs = () => {
    const r = state.brush;
    const shown = r ? sortedLogs.filter((l) => l.t >= r.from && l.t <= r.to) : sortedLogs;
    logsTitle.textContent = `Logs (${shown.length}${r ? ' in the selected range' : ''}${replay.logsTruncated ? ', truncated' : ''})`;
    logRows = shown.map((l) => ({
      t: l.t,
      row: el(
        'div',
        { class: 'log-row', data: { t: String(l.t) } },
        el('span', { class: 'log-time' }, offsetLabel(l.t - reqFrom)),
        el('span', { class: `log-level level-${(l.log.level ?? '').toLowerCase()}` }, l.log.level ?? ''),
        el(
          'span',
          { class: 'log-thread' },
          l.log.threadName ?? (l.log.tid !== null ? `tid ${l.log.tid}` : ''),
        ),
        el('span', { class: 'log-msg' }, ...textWithTraceLinks(l.log.message)),
        ...l.log.traceIds
          .filter((t) => !l.log.message.toLowerCase().includes(t))
          .map((t) => el('a', { class: 'trace-link', attrs: { href: replayHref(t) } }, t)),
      ),
    }));
    const untimed = replay.logs.filter((l) => l.timeNs === null).length;
    logsBody.replaceChildren();
    append(
      logsBody,
      ...(logRows.length
        ? logRows.map((l) => l.row)
        : [
            el('p', { class: 'muted' }, r ? 'No log lines in this range.' : 'No log lines for this request.'),
          ]),
      untimed ? el('p', { class: 'muted' }, `${untimed} log lines without a time are not shown.`) : null,
    );
  };
  let followed: HTMLElement | null = null;
  const followLogs = (t: number) => {
    if (!logRows.length) return;
    let lo = 0;
    let hi = logRows.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((logRows[mid]?.t ?? 0) < t) lo = mid + 1;
      else hi = mid;
    }
    const row = logRows[Math.min(lo, logRows.length - 1)]?.row;
    if (!row || row === followed) return;
    followed?.classList.remove('cursor');
    row.classList.add('cursor');
    followed = row;
    logsBody.scrollTop = Math.max(0, row.offsetTop - logsBody.offsetTop - logsBody.clientHeight / 3);
  };

  // ---- hover & detail ------------------------------------------------------------------------
  const laneAtY = (y: number): Extract<Row, { kind: 'lane' }> | null => {
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i];
      if (r && y >= (tops[i] ?? 0) && y < (tops[i + 1] ?? 0)) return r.kind === 'lane' ? r : null;
    }
    return null;
  };
  const hitAt = (
    px: number,
    py: number,
  ): {
    row: Extract<Row, { kind: 'lane' }>;
    item: LaneItemDto;
    from: number;
    to: number;
    /** A whole segment from lane tiles: its detail is asked for ({@link detailOf}). */
    lazy: boolean;
  } | null => {
    const row = laneAtY(py);
    if (!row || px < LABEL_W) return null;
    const t = tOf(px);
    const data = layerAt(row.layers, t);
    const slack = (2 * (state.to - state.from)) / plotW();
    const i = itemAt(data, t, slack);
    const item = i < 0 ? null : itemOf(data, i, off);
    if (!item) return null;
    return {
      row,
      item,
      from: data.start[i] ?? 0,
      to: data.end[i] ?? 0,
      lazy: data.items === null && item.kind === 'segment',
    };
  };
  const itemLines = (item: LaneItemDto, from: number, to: number, threadId: string): Child[] => {
    const lines: Child[] = [
      el(
        'strong',
        null,
        item.kind === 'segment'
          ? causeLabel(item.state)
          : `${item.count} segments merged (mostly ${causeLabel(item.state)})`,
      ),
      el(
        'div',
        null,
        `${durationLabel(to - from)} from ${offsetLabel(from - reqFrom)} · ${threadLabel(threadId)}`,
      ),
    ];
    if (item.kind === 'summary') {
      const parts = Object.entries(item.summary)
        .map(([k, v]) => [k, Number(v ?? '0')] as const)
        .sort((a, b) => b[1] - a[1])
        .map(([k, v]) => `${causeLabel(k)} ${durationLabel(v)}`);
      lines.push(
        el('div', null, parts.join(', ')),
        el('div', { class: 'muted' }, 'zoom in (W) to see each segment'),
      );
      return lines;
    }
    if (item.syscall) lines.push(el('div', null, 'syscall ', el('code', null, item.syscall)));
    if (item.target)
      lines.push(
        el(
          'div',
          null,
          item.state === 'net' ? 'peer ' : item.state === 'file' ? 'path ' : 'target ',
          el('code', null, item.target),
        ),
      );
    if (item.lockId) lines.push(el('div', null, 'lock ', el('code', null, item.lockId)));
    if (item.wakerThreadId)
      lines.push(
        el(
          'div',
          null,
          `woken by ${threadLabel(item.wakerThreadId)}${threads.get(item.wakerThreadId) ? ` (tid ${threads.get(item.wakerThreadId)?.tid})` : ''}`,
        ),
      );
    if (item.reason) lines.push(el('div', null, `reason: ${item.reason}`));
    return lines;
  };
  let hoverKey = '';
  const showTooltip = (px: number, py: number) => {
    const hit = hitAt(px, py);
    if (!hit) {
      tooltip.hidden = true;
      hoverKey = '';
      overlayState.hover = null;
      return;
    }
    const key = `${hit.row.threadId}:${hit.from}`;
    overlayState.hover = {
      x0: xOf(Math.max(hit.from, state.from)),
      x1: xOf(Math.min(hit.to, state.to)),
      y: (tops[rows.indexOf(hit.row)] ?? 0) + LANE_H / 2,
    };
    if (key !== hoverKey) {
      hoverKey = key;
      const fill = (item: LaneItemDto, loading: boolean) => {
        const lines = itemLines(item, hit.from, hit.to, hit.row.threadId);
        const stackLine = el('div', { class: 'stack-top' });
        const sid = item.kind === 'segment' ? (item.blockedStackId ?? null) : null;
        if (sid) {
          const known = stackTopNow.get(sid);
          stackLine.textContent = known ? `at ${known}` : 'at …';
          if (!known)
            void stackTop(sid).then((top) => {
              if (hoverKey === key) stackLine.textContent = top ? `at ${top}` : '';
            });
        }
        tooltip.replaceChildren();
        append(
          tooltip,
          ...lines,
          sid ? stackLine : null,
          el('div', { class: 'muted' }, loading ? 'loading detail…' : 'click for stacks'),
        );
      };
      fill(hit.item, hit.lazy);
      if (hit.lazy)
        void detailOf(hit.row.threadId, hit.item).then((full) => {
          if (hoverKey === key) fill(full ?? hit.item, false);
        });
    }
    tooltip.hidden = false;
    const w = width();
    tooltip.style.left = `${Math.min(px + 14, w - 320)}px`;
    tooltip.style.top = `${py + 14}px`;
  };
  const frameList = (frames: readonly StackFrameDto[]): HTMLElement =>
    frames.length
      ? el(
          'ol',
          { class: 'stack' },
          ...frames.map((f) => el('li', { title: `${f.symbol} (${f.dso})` }, f.name)),
        )
      : el('p', { class: 'muted' }, 'no stack recorded');
  const openDetail = (hit: NonNullable<ReturnType<typeof hitAt>>) => {
    if (hit.lazy) {
      void detailOf(hit.row.threadId, hit.item).then((full) =>
        openDetail({ ...hit, item: full ?? hit.item, lazy: false }),
      );
      return;
    }
    const { item, from, to, row } = hit;
    const blocked = el('div', null, item.kind === 'segment' && item.blockedStackId ? 'Loading…' : '');
    const waker = el('div', null, item.kind === 'segment' && item.wakerStackId ? 'Loading…' : '');
    detail.replaceChildren();
    append(
      detail,
      el(
        'div',
        { class: 'detail-head' },
        el(
          'h3',
          null,
          `${threadLabel(row.threadId)} · ${item.kind === 'segment' ? causeLabel(item.state) : 'merged segments'}`,
        ),
        el(
          'button',
          {
            class: 'small button-quiet',
            attrs: { type: 'button' },
            on: { click: () => (detail.hidden = true) },
          },
          'Close',
        ),
      ),
      ...itemLines(item, from, to, row.threadId),
      item.kind === 'summary'
        ? el(
            'button',
            {
              class: 'small',
              attrs: { type: 'button' },
              on: { click: () => setView(from - (to - from) * 0.1, to + (to - from) * 0.1) },
            },
            'Zoom to these segments',
          )
        : null,
      item.kind === 'segment'
        ? el(
            'div',
            { class: 'detail-stacks' },
            el('div', null, el('h4', null, 'Blocked stack'), blocked),
            el(
              'div',
              null,
              el(
                'h4',
                null,
                `Waker stack${item.wakerThreadId ? ` (${threadLabel(item.wakerThreadId)})` : ''}`,
              ),
              waker,
            ),
          )
        : null,
    );
    detail.hidden = false;
    if (item.kind === 'segment') {
      if (item.blockedStackId)
        void stack(item.blockedStackId).then((f) => blocked.replaceChildren(frameList(f)));
      else
        blocked.replaceChildren(
          el(
            'p',
            { class: 'muted' },
            item.state === 'cpu' ? 'on CPU: see the on-CPU flame graph' : 'no stack recorded',
          ),
        );
      if (item.wakerStackId) void stack(item.wakerStackId).then((f) => waker.replaceChildren(frameList(f)));
      else
        waker.replaceChildren(
          el('p', { class: 'muted' }, item.wakerThreadId ? 'no stack recorded' : 'no waker seen'),
        );
    }
  };

  // ---- mouse ---------------------------------------------------------------------------------
  let drag: { x: number; y: number; moved: boolean } | null = null;
  const local = (e: MouseEvent) => {
    const r = lanesWrap.getBoundingClientRect();
    return { x: e.clientX - r.left, y: e.clientY - r.top };
  };
  lanesWrap.addEventListener('mousedown', (e) => {
    const p = local(e);
    if (e.button !== 0 || p.x < LABEL_W) return;
    e.preventDefault();
    drag = { x: p.x, y: p.y, moved: false };
  });
  const onMove = (e: MouseEvent) => {
    const p = local(e);
    const inside =
      p.x >= LABEL_W && p.x <= width() - RIGHT_PAD && p.y >= 0 && p.y <= (tops[tops.length - 1] ?? 0);
    if (drag) {
      if (Math.abs(p.x - drag.x) > 3) drag.moved = true;
      if (drag.moved) {
        const x0 = Math.max(LABEL_W, Math.min(drag.x, p.x));
        const x1 = Math.min(width() - RIGHT_PAD, Math.max(drag.x, p.x));
        const y0 = Math.max(0, Math.min(drag.y, p.y));
        const y1 = Math.max(drag.y, p.y);
        overlayState = { cursorX: p.x, hover: null, brush: { x0, x1, y0, y1 } };
        tooltip.hidden = true;
        drawOverlayNow();
      }
      return;
    }
    if (!inside) {
      if (overlayState.cursorX !== null || !tooltip.hidden) {
        overlayState = { cursorX: null, hover: null, brush: null };
        tooltip.hidden = true;
        cursorT = null;
        drawOverlayNow();
      }
      return;
    }
    cursorT = tOf(p.x);
    overlayState.cursorX = p.x;
    showTooltip(p.x, p.y);
    drawOverlayNow();
    followLogs(cursorT);
  };
  const onUp = (e: MouseEvent) => {
    if (!drag) return;
    const d = drag;
    drag = null;
    const p = local(e);
    if (d.moved) {
      const a = tOf(Math.max(LABEL_W, Math.min(d.x, p.x)));
      const b = tOf(Math.min(width() - RIGHT_PAD, Math.max(d.x, p.x)));
      const y0 = Math.min(d.y, p.y);
      const y1 = Math.max(d.y, p.y);
      const covered = rows
        .map((r, i) => ({ r, top: tops[i] ?? 0 }))
        .filter(({ r, top }) => r.kind === 'lane' && top + LANE_H > y0 && top < y1)
        .map(({ r }) => (r.kind === 'lane' ? r.threadId : ''));
      state.brush = { from: a, to: b };
      state.selected = new Set(covered);
      overlayState.brush = null;
      state.flameOpen = true;
      updateTabs();
      renderLogs();
      selectionChanged();
      return;
    }
    const hit = hitAt(p.x, p.y);
    if (hit) {
      if (!(e.ctrlKey || e.metaKey || e.shiftKey)) state.selected = new Set([hit.row.threadId]);
      else state.selected.add(hit.row.threadId);
      selectionChanged();
      openDetail(hit);
    }
  };
  window.addEventListener('mousemove', onMove);
  window.addEventListener('mouseup', onUp);
  cleanups.push(() => {
    window.removeEventListener('mousemove', onMove);
    window.removeEventListener('mouseup', onUp);
  });
  lanesWrap.addEventListener(
    'wheel',
    (e) => {
      const p = local(e);
      if (p.x < LABEL_W) return;
      if (e.ctrlKey || e.metaKey) {
        e.preventDefault();
        zoom(Math.exp(Math.max(-1, Math.min(1, e.deltaY / 300))), tOf(p.x));
      } else if (Math.abs(e.deltaX) > Math.abs(e.deltaY) || e.shiftKey) {
        e.preventDefault();
        pan((e.shiftKey ? e.deltaY : e.deltaX) / plotW());
      }
    },
    { passive: false },
  );
  const onKey = (e: KeyboardEvent) => {
    if (isTyping(e.target) || e.ctrlKey || e.metaKey || e.altKey) return;
    const k = e.key.toLowerCase();
    if (k === 'w') zoom(1 / 1.5);
    else if (k === 's') zoom(1.5);
    else if (k === 'a') pan(-0.2);
    else if (k === 'd') pan(0.2);
    else if (k === 'escape') clearSelection();
    else return;
    e.preventDefault();
  };
  document.addEventListener('keydown', onKey);
  cleanups.push(() => document.removeEventListener('keydown', onKey));

  // ---- start -----------------------------------------------------------------------------------
  buildRows();
  // Lanes from tiles (the payload has only the waits): ask for them first, so the read runs
  // while the rest of the view is built.
  if (replay.lanes === 'waits') loadLod();
  updateTabs();
  renderLogs();
  renderRange();
  spans = createSpansChart(spansBox, bars, names, (b) => {
    const m = (b.to - b.from) * 0.05;
    setView(b.from - m, b.to + m);
  });
  spans.chart.on('finished', () => {
    spansDrawn = true;
    markReady();
  });
  spans.setView(state.from, state.to);
  redrawNow();
  // Full lanes in the payload: a zoomed deep link reads its own now (tiles were asked for above).
  if (replay.lanes === 'full') {
    if (state.from > 0 || state.to < windowNs) scheduleLod();
    else lodDone();
  }
  if (state.flameOpen || state.brush) scheduleFlame();
  linkOut.value = location.href;

  // A new width changes the time per pixel: the lanes' level of detail is picked again.
  let lastPlotW = plotW();
  const observer = new ResizeObserver(() => {
    spans?.chart.resize();
    flame?.resize();
    redraw();
    const w = plotW();
    if (w !== lastPlotW) {
      lastPlotW = w;
      if (ready) scheduleLod();
    }
  });
  observer.observe(lanesWrap);
  cleanups.push(() => observer.disconnect());
  cleanups.push(
    onThemeChange(() => {
      spans?.redraw();
      renderFlame();
      redraw();
    }),
  );

  return () => {
    for (const c of cleanups) c();
    lodController?.abort();
    flameCtl?.abort();
    for (const t of [lodTimer, queryTimer, flameTimer, stackTimer]) if (t !== null) clearTimeout(t);
    cancelAnimationFrame(drawFrame);
    spans?.dispose();
    flame?.dispose();
  };
}

function stackedBar(m: ReadonlyMap<ThreadState, number>): HTMLElement {
  const total = [...m.values()].reduce((a, b) => a + b, 0) || 1;
  return el(
    'div',
    { class: 'cause-bar small' },
    ...STATE_ORDER.filter((s) => (m.get(s) ?? 0) > 0).map((s) =>
      el('span', {
        class: 'cause-bar-part',
        title: `${causeLabel(s)}: ${durationLabel(m.get(s) ?? 0)}`,
        attrs: {
          style: `width:${(((m.get(s) ?? 0) / total) * 100).toFixed(3)}%;background:${causeColor(s)}`,
        },
      }),
    ),
  );
}
