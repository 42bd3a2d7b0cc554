export * from './clocks.js';
export * from './threads.js';
export * from './bindings.js';
export * from './segments.js';
export * from './stack-state.js';
export * from './pool.js';
export * from './lod.js';
export * from './tiles.js';
