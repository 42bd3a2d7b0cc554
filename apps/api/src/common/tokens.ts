/** Injection tokens for what main.ts builds before Nest starts. */
export const SERVER_CONFIG = Symbol('SERVER_CONFIG');
export const QUEUE_DRIVER = Symbol('QUEUE_DRIVER');
