export {
  foldStacks,
  formatFolded,
  foldSampleFromRecord,
  classifyFrame,
  frameDisplayName,
  expandFrame,
  processFrameName,
  compareCodePoints,
  type FoldFrame,
  type FoldSample,
  type FoldOptions,
  type FrameKind,
  type DisplayNameOptions,
  type ExpandOptions,
} from './fold.js';
export { analyzeRequest, dominantCause, compareRequests, type RequestInput } from './breakdown.js';
export { findDeadlock, type LockWait, type LockWaitsOf } from './deadlock.js';
export * from './replay.js';
export * from './pool.js';
export * from './requests.js';
