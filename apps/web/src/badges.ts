import type { CaptureState, SourceFileState } from '@threadreel/model';
import { el } from './dom';

const TERMINAL: ReadonlySet<CaptureState> = new Set<CaptureState>(['ready', 'degraded', 'failed']);

/** True while the API is still working on the capture (it will change state on its own). */
export function isInProgress(state: CaptureState): boolean {
  return !TERMINAL.has(state);
}

/** A coloured state label; the colour comes from CSS (`.badge-<state>`). */
export function stateBadge(state: CaptureState | SourceFileState): HTMLSpanElement {
  // Guard the class name in case the API grows a state this build does not know.
  const known = /^[a-z-]+$/.test(state) ? state : 'unknown';
  return el('span', { class: `badge badge-${known}`, data: { state } }, state);
}

/** Ready to use: all went through (`ready`) or some parts degraded (`degraded`, listed). */
export function isUsable(state: CaptureState): boolean {
  return state === 'ready' || state === 'degraded';
}
