import { InitialSchema1763760000000 } from './1763760000000-initial-schema.js';
import { SourceEvents1763800000000 } from './1763800000000-source-events.js';
import { RuntimeEvents1763900000000 } from './1763900000000-runtime-events.js';
import { Correlation1764000000000 } from './1764000000000-correlation.js';
import { ReplayIndexes1764100000000 } from './1764100000000-replay-indexes.js';
import { ReplayWindowIndexes1764200000000 } from './1764200000000-replay-window-indexes.js';
import { SegmentLod1764300000000 } from './1764300000000-segment-lod.js';
import { LaneTiles1764400000000 } from './1764400000000-lane-tiles.js';
import { CaptureDegraded1764500000000 } from './1764500000000-capture-degraded.js';
import { ParseRanges1764650000000 } from './1764650000000-parse-ranges.js';
import { ChunkedSegments1764700000000 } from './1764700000000-chunked-segments.js';

/** Every migration, oldest first. The only way the schema changes. */
export const MIGRATIONS = [
  InitialSchema1763760000000,
  SourceEvents1763800000000,
  RuntimeEvents1763900000000,
  Correlation1764000000000,
  ReplayIndexes1764100000000,
  ReplayWindowIndexes1764200000000,
  SegmentLod1764300000000,
  LaneTiles1764400000000,
  CaptureDegraded1764500000000,
  ParseRanges1764650000000,
  ChunkedSegments1764700000000,
];
