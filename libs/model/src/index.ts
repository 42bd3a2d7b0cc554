export * from './states.js';
export * from './time.js';
export * from './events.js';
export * from './api.js';
export * from './manifest.js';
export * from './strace-events.js';
export * from './log-events.js';
export * from './span-events.js';
