import type { DataSource } from 'typeorm';
import type pg from 'pg';

/** The pg pool behind a TypeORM DataSource, for COPY and bulk statements. */
export function poolOf(ds: DataSource): pg.Pool {
  const driver = ds.driver as unknown as { master?: pg.Pool };
  if (!driver.master) throw new Error('DataSource is not initialised (no pg pool)');
  return driver.master;
}

/** Partition names derive from the capture id (a uuid), never from user text. */
export function partitionName(table: PartitionedTable, captureId: string): string {
  if (!/^[0-9a-f-]{36}$/.test(captureId)) throw new Error(`not a capture id: ${captureId}`);
  return `${table}_${captureId.replace(/-/g, '')}`;
}

/** Tables the parse jobs load. */
export const SOURCE_EVENT_TABLES = [
  'samples',
  'frames',
  'stacks',
  'syscalls',
  'log_records',
  'spans',
  'gc_events',
  'sched_events',
  'runtime_events',
  'thread_sightings',
] as const;
/** Tables correlation derives. */
export const DERIVED_TABLES = [
  'segment_chunks',
  'wakeups',
  'span_bindings',
  'lod_chunks',
  'lane_tiles',
] as const;
/** Every event table: partitioned by capture, created with the capture, dropped with it. */
export const PARTITIONED_TABLES = [...SOURCE_EVENT_TABLES, ...DERIVED_TABLES] as const;
export type PartitionedTable = (typeof PARTITIONED_TABLES)[number];
