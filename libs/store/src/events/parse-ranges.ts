import type pg from 'pg';
import type { RejectedLine } from '@threadreel/model';

/** One byte range of a source file, as planned by the file's parse attempt `generation`. */
export interface FileRange {
  readonly generation: number;
  readonly index: number;
  readonly count: number;
  readonly start: number;
  /** Exclusive. */
  readonly end: number;
  /** Line number of the range's first line in the file. */
  readonly firstLine: number;
}

/** What parsing one range gave: the parts of the file's report. */
export interface RangeReport {
  readonly lines: number;
  readonly events: number;
  readonly rejectedCount: number;
  readonly rejected: readonly RejectedLine[];
  readonly headers: Readonly<Record<string, string>>;
  readonly extra: Readonly<Record<string, string | null>>;
  readonly parseMs: number;
}

/** A range job of an older attempt, after the file's parse started over: it must not commit. */
export class StaleRangeError extends Error {
  override readonly name = 'StaleRangeError';
}

/**
 * Starts a file's parse in ranges: locks the file row, deletes every row the file wrote
 * before from `targets` (its tables' partitions) and its earlier ranges, in one
 * transaction. Returns the generation (the file's attempt count) the ranges belong to.
 */
export async function startRangedParse(
  pool: pg.Pool,
  fileId: string,
  captureId: string,
  fileOrdinal: number,
  targets: readonly string[],
): Promise<number> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const res = await client.query<{ attempts: number }>(
      'SELECT attempts FROM source_files WHERE id = $1 FOR UPDATE',
      [fileId],
    );
    const generation = res.rows[0]?.attempts;
    if (generation === undefined) throw new Error(`source file ${fileId} is gone`);
    for (const t of targets)
      await client.query(`DELETE FROM ${t} WHERE capture_id = $1 AND file_ordinal = $2`, [
        captureId,
        fileOrdinal,
      ]);
    await client.query('DELETE FROM source_file_ranges WHERE file_id = $1', [fileId]);
    await client.query('COMMIT');
    return generation;
  } catch (e) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw e;
  } finally {
    client.release();
  }
}

/** Whether a range's rows are already committed (a retried range job then has nothing to do). */
export async function rangeDone(pool: pg.Pool, fileId: string, range: FileRange): Promise<boolean> {
  const res = await pool.query(
    'SELECT 1 FROM source_file_ranges WHERE file_id = $1 AND generation = $2 AND range_index = $3',
    [fileId, range.generation, range.index],
  );
  return (res.rowCount ?? 0) > 0;
}

/**
 * Records a range inside the transaction that holds its rows, just before COMMIT. Holds the
 * file row (FOR SHARE) so a new attempt cannot delete the file's rows in between, and
 * throws {@link StaleRangeError} when a newer attempt already started over.
 */
export async function recordRange(
  client: pg.PoolClient,
  fileId: string,
  range: FileRange,
  report: RangeReport,
): Promise<void> {
  const res = await client.query<{ attempts: number }>(
    'SELECT attempts FROM source_files WHERE id = $1 FOR SHARE',
    [fileId],
  );
  if (res.rows[0]?.attempts !== range.generation)
    throw new StaleRangeError(`range ${range.index} of attempt ${range.generation} is stale`);
  await client.query(
    `INSERT INTO source_file_ranges (file_id, generation, range_index, range_count, start_byte, end_byte,
       first_line, lines, events, rejected_count, rejected, headers, extra, parse_ms)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
    [
      fileId,
      range.generation,
      range.index,
      range.count,
      range.start,
      range.end,
      range.firstLine,
      report.lines,
      report.events,
      report.rejectedCount,
      JSON.stringify(report.rejected),
      JSON.stringify(report.headers),
      JSON.stringify(report.extra),
      report.parseMs,
    ],
  );
}

/** The reports of a generation's ranges in file order once all are committed, else null. */
export async function finishedRanges(
  pool: pg.Pool,
  fileId: string,
  generation: number,
): Promise<RangeReport[] | null> {
  const res = await pool.query<{
    range_count: number;
    lines: string;
    events: string;
    rejected_count: string;
    rejected: RejectedLine[];
    headers: Record<string, string>;
    extra: Record<string, string | null>;
    parse_ms: number;
  }>(
    `SELECT range_count, lines, events, rejected_count, rejected, headers, extra, parse_ms
     FROM source_file_ranges WHERE file_id = $1 AND generation = $2 ORDER BY range_index`,
    [fileId, generation],
  );
  const first = res.rows[0];
  if (first === undefined || res.rows.length !== first.range_count) return null;
  return res.rows.map((r) => ({
    lines: Number(r.lines),
    events: Number(r.events),
    rejectedCount: Number(r.rejected_count),
    rejected: r.rejected,
    headers: r.headers,
    extra: r.extra,
    parseMs: r.parse_ms,
  }));
}
