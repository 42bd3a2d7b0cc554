export * from './states.js';
export * from './time.js';
export * from './events.js';
export * from './api.js';
