export * from './job-names.js';
export * from './registry.js';
export * from './queue-driver.js';
export * from './runtime.js';
export * from './lifecycle.js';
export * from './processors/deps.js';
export * from './processors/parse-file.job.js';
export * from './processors/correlate-capture.job.js';
