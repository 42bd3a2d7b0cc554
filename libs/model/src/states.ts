/** Thread states, in the vocabulary of ARCHITECTURE.md. A segment carries exactly one. */
export const THREAD_STATES = [
  'cpu',
  'runqueue',
  'lock',
  'gc',
  'net',
  'file',
  'sleep',
  'idle',
  'other',
  'unknown',
] as const;
export type ThreadState = (typeof THREAD_STATES)[number];

/** Causes attributed to a request's wall time: the waiting states plus pool-queue. */
export const CAUSES = [
  'cpu',
  'runqueue',
  'lock',
  'gc',
  'net',
  'file',
  'pool-queue',
  'sleep',
  'other',
] as const;
export type Cause = (typeof CAUSES)[number];
