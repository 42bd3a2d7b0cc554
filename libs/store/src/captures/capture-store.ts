import { createHash } from 'node:crypto';
import type { DataSource, EntityManager } from 'typeorm';
import type {
  CaptureDetail,
  CaptureState,
  CaptureSummary,
  DegradedPart,
  SourceFileReport,
} from '@threadreel/model';
import { CaptureEntity } from '../entities/capture.entity.js';
import { SourceFileEntity } from '../entities/source-file.entity.js';
import { partitionName, PARTITIONED_TABLES, type PartitionedTable } from '../events/pg.js';

export interface NewSourceFile {
  name: string;
  sha256: string;
  size: number;
}

export interface CreatedCapture {
  capture: CaptureEntity;
  files: SourceFileEntity[];
  /** False when the same set of bytes was already a capture: that one is returned. */
  created: boolean;
}

/** The identity of a capture's content: the same files (in any order) → the same key. */
export function captureContentKey(files: readonly NewSourceFile[], manifest: unknown): string {
  const h = createHash('sha256');
  for (const sha of files.map((f) => f.sha256).sort()) h.update(sha);
  if (manifest !== undefined && manifest !== null) h.update(JSON.stringify(manifest));
  return h.digest('hex');
}

/** Captures and their source files: metadata through TypeORM, partitions through DDL. */
export class CaptureStore {
  constructor(private readonly ds: DataSource) {}

  /**
   * Creates a capture with its files and event partitions in one transaction, or
   * returns the existing capture with the same content.
   */
  async create(name: string, files: readonly NewSourceFile[], manifest: unknown): Promise<CreatedCapture> {
    const contentKey = captureContentKey(files, manifest);
    return this.ds.transaction(async (em) => {
      // Serialise concurrent uploads of the same content.
      await em.query('SELECT pg_advisory_xact_lock(hashtext($1))', [contentKey]);
      const existing = await em.findOne(CaptureEntity, { where: { contentKey } });
      if (existing) {
        const existingFiles = await em.find(SourceFileEntity, {
          where: { captureId: existing.id },
          order: { ordinal: 'ASC' },
        });
        return { capture: existing, files: existingFiles, created: false };
      }
      const capture = await em.save(
        em.create(CaptureEntity, {
          name,
          contentKey,
          state: 'queued',
          manifest: manifest ?? null,
          error: null,
        }),
      );
      const unique = new Map<string, NewSourceFile>();
      for (const f of files) if (!unique.has(f.sha256)) unique.set(f.sha256, f);
      const rows = [...unique.values()].map((f, ordinal) =>
        em.create(SourceFileEntity, {
          captureId: capture.id,
          ordinal,
          name: f.name,
          sha256: f.sha256,
          sizeBytes: String(f.size),
          state: 'queued',
          lines: '0',
          events: '0',
          rejectedCount: '0',
          rejected: [],
          headers: {},
          attempts: 0,
        }),
      );
      const saved = await em.save(rows);
      await this.createPartitions(em, capture.id);
      return { capture, files: saved, created: true };
    });
  }

  /**
   * Creates the capture's missing partitions (a table added by a later migration gets
   * them on the capture's next parse). Serialised per capture: parallel parse jobs would
   * race on the same CREATE.
   */
  async ensurePartitions(captureId: string): Promise<void> {
    await this.ds.transaction(async (em) => {
      await em.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`partitions:${captureId}`]);
      await this.createPartitions(em, captureId);
    });
  }

  private async createPartitions(em: EntityManager, captureId: string): Promise<void> {
    for (const table of PARTITIONED_TABLES) {
      await em.query(
        `CREATE TABLE IF NOT EXISTS ${partitionName(table, captureId)} PARTITION OF ${table} FOR VALUES IN ('${captureId}')`,
      );
    }
  }

  /**
   * Deletes a capture: its partitions are dropped (no row scan) and its metadata rows
   * cascade. Returns the sha256s no other capture references, for blob clean-up.
   */
  /**
   * Refreshes the planner's statistics of the capture's partitions (all, or `tables`). A
   * partition loaded by COPY has none until autovacuum gets to it, and without them PostgreSQL
   * guesses a couple of rows and may choose nested loops that read a thread's events once per
   * event of another table: the correlate step's joins went from 0.9 s to 20 min at 1 M events.
   * Run after bulk loads, before the queries that join them.
   */
  async analyze(captureId: string, tables: readonly PartitionedTable[] = PARTITIONED_TABLES): Promise<void> {
    for (const table of tables) await this.ds.query(`ANALYZE ${partitionName(table, captureId)}`);
  }

  async delete(captureId: string): Promise<{ deleted: boolean; orphanBlobs: string[] }> {
    return this.ds.transaction(async (em) => {
      const capture = await em.findOne(CaptureEntity, {
        where: { id: captureId },
        lock: { mode: 'pessimistic_write' },
      });
      if (!capture) return { deleted: false, orphanBlobs: [] };
      const shas = (await em.find(SourceFileEntity, { where: { captureId } })).map((f) => f.sha256);
      for (const table of PARTITIONED_TABLES) {
        await em.query(`DROP TABLE IF EXISTS ${partitionName(table, captureId)}`);
      }
      await em.delete(CaptureEntity, { id: captureId });
      const stillUsed = shas.length
        ? await em.query<
            {
              sha256: string;
            }[]
          >('SELECT DISTINCT sha256 FROM source_files WHERE sha256 = ANY($1)', [shas])
        : [];
      const used = new Set(stillUsed.map((r) => r.sha256));
      return { deleted: true, orphanBlobs: shas.filter((s) => !used.has(s)) };
    });
  }

  async exists(captureId: string): Promise<boolean> {
    return (await this.ds.getRepository(CaptureEntity).count({ where: { id: captureId } })) > 0;
  }

  async get(captureId: string): Promise<CaptureEntity | null> {
    return this.ds.getRepository(CaptureEntity).findOne({ where: { id: captureId } });
  }

  async files(captureId: string): Promise<SourceFileEntity[]> {
    return this.ds.getRepository(SourceFileEntity).find({ where: { captureId }, order: { ordinal: 'ASC' } });
  }

  async file(fileId: string): Promise<SourceFileEntity | null> {
    return this.ds.getRepository(SourceFileEntity).findOne({ where: { id: fileId } });
  }

  /**
   * Moves a capture forward; a capture never goes back from ready/degraded/failed except on
   * re-correlation. The degraded parts are replaced (none unless given).
   */
  async setState(
    captureId: string,
    state: CaptureState,
    error: string | null = null,
    degradedParts: readonly DegradedPart[] = [],
  ): Promise<void> {
    await this.ds
      .getRepository(CaptureEntity)
      .update({ id: captureId }, { state, error, degradedParts: [...degradedParts] });
  }

  /** queued → parsing on the first parse job that starts. */
  async markParsing(captureId: string): Promise<void> {
    await this.ds.query(
      `UPDATE captures SET state = 'parsing', updated_at = now() WHERE id = $1 AND state = 'queued'`,
      [captureId],
    );
  }

  async updateFile(fileId: string, patch: Partial<Omit<SourceFileEntity, 'capture'>>): Promise<void> {
    await this.ds.getRepository(SourceFileEntity).update({ id: fileId }, patch);
  }

  async incrementAttempts(fileId: string): Promise<void> {
    await this.ds.query('UPDATE source_files SET attempts = attempts + 1 WHERE id = $1', [fileId]);
  }

  /** Captures whose jobs may have been lost (accepted but never finished). */
  async unfinished(): Promise<{ id: string }[]> {
    return this.ds.getRepository(CaptureEntity).find({
      select: { id: true },
      where: [{ state: 'queued' }, { state: 'parsing' }, { state: 'correlating' }],
    });
  }

  async list(): Promise<CaptureSummary[]> {
    const rows = await this.ds.query<
      {
        id: string;
        name: string;
        state: CaptureState;
        error: string | null;
        created_at: Date;
        updated_at: Date;
        files: number;
        bytes: string;
      }[]
    >(`
      SELECT c.id, c.name, c.state, c.error, c.created_at, c.updated_at,
             count(f.id)::int AS files, coalesce(sum(f.size_bytes), 0)::text AS bytes
      FROM captures c LEFT JOIN source_files f ON f.capture_id = c.id
      GROUP BY c.id ORDER BY c.created_at DESC`);
    return rows.map((r) => ({
      id: r.id,
      name: r.name,
      state: r.state,
      error: r.error,
      createdAt: r.created_at.toISOString(),
      updatedAt: r.updated_at.toISOString(),
      files: r.files,
      bytes: r.bytes,
    }));
  }

  async detail(captureId: string): Promise<CaptureDetail | null> {
    const capture = await this.get(captureId);
    if (!capture) return null;
    const files = await this.files(captureId);
    return {
      id: capture.id,
      name: capture.name,
      state: capture.state,
      error: capture.error,
      createdAt: capture.createdAt.toISOString(),
      updatedAt: capture.updatedAt.toISOString(),
      files: files.length,
      bytes: files.reduce((a, f) => a + BigInt(f.sizeBytes), 0n).toString(),
      manifest: capture.manifest,
      sourceFiles: files.map(toReport),
      degradedParts: capture.degradedParts,
    };
  }
}

export function toReport(f: SourceFileEntity): SourceFileReport {
  return {
    id: f.id,
    name: f.name,
    sha256: f.sha256,
    bytes: f.sizeBytes,
    format: f.format,
    detected: { format: f.detectedFormat, confidence: f.detectConfidence, reason: f.detectReason },
    clock: f.clock,
    clockOffsetNs: f.clockOffsetNs ?? null,
    clockMethod: f.clockMethod ?? null,
    clockEvidence: (f.clockEvidence as Record<string, unknown> | null) ?? null,
    state: f.state,
    lines: f.lines,
    events: f.events,
    rejectedCount: f.rejectedCount,
    rejected: f.rejected,
    parseMs: f.parseMs,
    note: f.note,
    error: f.error,
  };
}
