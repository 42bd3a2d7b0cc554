import { CAUSES, THREAD_STATES, type Cause, type ThreadState } from '@threadreel/model';

/**
 * One fixed colour per cause and per thread state across the whole UI (cause bars, lanes,
 * legends, flame graphs). A state and the cause of the same name share their colour;
 * `idle` is a state only and `pool-queue` a cause only. Colours stay readable on both themes.
 */
export const CAUSE_COLORS: Readonly<Record<Cause | 'unknown' | ThreadState, string>> = {
  cpu: '#2f9e44',
  runqueue: '#f08c00',
  lock: '#e03131',
  gc: '#9c36b5',
  net: '#1c7ed6',
  file: '#a0522d',
  'pool-queue': '#f783ac',
  sleep: '#74c0fc',
  idle: '#ced4da',
  other: '#868e96',
  unknown: '#495057',
};

/** Causes in the order bars stack and legends list them. */
export const CAUSE_ORDER: readonly (Cause | 'unknown')[] = [...CAUSES, 'unknown'];
/** Thread states in legend order. */
export const STATE_ORDER: readonly ThreadState[] = THREAD_STATES;

const LABELS: Partial<Record<Cause | 'unknown' | ThreadState, string>> = {
  cpu: 'on CPU',
  runqueue: 'run queue (CPU starved)',
  lock: 'lock wait',
  gc: 'GC pause',
  net: 'network',
  file: 'file I/O',
  'pool-queue': 'pool queue',
  sleep: 'sleep',
  idle: 'idle',
  other: 'other wait',
  unknown: 'unknown',
};

export function causeLabel(cause: string): string {
  return LABELS[cause as Cause] ?? cause;
}

export function causeColor(cause: string): string {
  return CAUSE_COLORS[cause as Cause] ?? CAUSE_COLORS.unknown;
}
