import type { DegradedPart, DegradedStage } from './api.js';

/** Where a degraded part happened: everything of a part but its reason. */
export type DegradedWhere = Partial<Omit<DegradedPart, 'reason' | 'stage'>> & { stage: DegradedStage };

/** At most this many parts are kept per capture; the rest are counted in a last one. */
const MAX_PARTS = 100;
/** Threads named in one folded part. */
const MAX_TIDS = 12;
/** Parts logged one by one; the rest are in the list only. */
const MAX_LOGGED = 20;

/**
 * Errors of the store rather than of the data (a lost connection, a server shutting down,
 * too many clients): catching them would hide a fault another attempt of the job may not
 * meet, so they are rethrown.
 */
export function isInfrastructureError(e: unknown): boolean {
  if (typeof e !== 'object' || e === null) return false;
  const code = (e as { code?: unknown }).code;
  if (typeof code === 'string') {
    if (/^E(CONN|PIPE|TIMEDOUT|HOSTUNREACH|NETUNREACH|AI_AGAIN)/.test(code)) return true;
    // SQLSTATE classes 08 (connection), 53 (insufficient resources), 57 (operator intervention).
    if (/^(08|53|57)[0-9A-Z]{3}$/.test(code)) return true;
  }
  const message = (e as { message?: unknown }).message;
  return (
    typeof message === 'string' &&
    /Connection terminated|Client has encountered a connection error/.test(message)
  );
}

export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * The parts of one correlation that degraded, collected as the stages go. Parts that differ
 * only by their thread (the same reason on many threads) are folded into one that names
 * the tids.
 */
export class DegradedParts {
  private readonly parts: DegradedPart[] = [];

  constructor(private readonly log: (m: string) => void = () => undefined) {}

  add(where: DegradedWhere, reason: string): void {
    const part: DegradedPart = {
      stage: where.stage,
      file: where.file ?? null,
      source: where.source ?? null,
      thread: where.thread ?? null,
      reason,
    };
    if (this.parts.length < MAX_LOGGED)
      this.log(
        `degraded ${part.stage}${part.file ? ` ${part.file}` : ''}${part.thread ? ` tid ${part.thread.tid}` : ''}: ${reason}`,
      );
    else if (this.parts.length === MAX_LOGGED)
      this.log('more degraded parts: listed on the capture, not logged');
    this.parts.push(part);
  }

  /**
   * Runs one part of the correlation. When it throws on the data, the part is recorded and
   * `fallback` is returned, so the rest goes on; store errors are rethrown.
   */
  async guard<T>(where: DegradedWhere, fallback: T, fn: () => Promise<T> | T): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      if (isInfrastructureError(e)) throw e;
      this.add(where, errorMessage(e));
      return fallback;
    }
  }

  get size(): number {
    return this.parts.length;
  }

  /** The parts, the same reason on several threads folded into one, at most MAX_PARTS. */
  list(): DegradedPart[] {
    const folded = new Map<string, { part: DegradedPart; tids: number[] }>();
    for (const p of this.parts) {
      const key = JSON.stringify([p.stage, p.file, p.source, p.reason, p.thread === null]);
      const f = folded.get(key);
      if (!f) folded.set(key, { part: p, tids: p.thread ? [p.thread.tid] : [] });
      else if (p.thread) f.tids.push(p.thread.tid);
    }
    const out: DegradedPart[] = [];
    for (const { part, tids } of folded.values()) {
      if (tids.length <= 1) {
        out.push(part);
        continue;
      }
      const named = tids.slice(0, MAX_TIDS).join(', ');
      const more = tids.length > MAX_TIDS ? ` and ${tids.length - MAX_TIDS} more` : '';
      out.push({
        ...part,
        thread: null,
        reason: `${part.reason} (${tids.length} threads: tid ${named}${more})`,
      });
    }
    if (out.length <= MAX_PARTS) return out;
    const kept = out.slice(0, MAX_PARTS - 1);
    kept.push({
      stage: 'correlation',
      file: null,
      source: null,
      thread: null,
      reason: `${out.length - kept.length} more degraded parts not listed`,
    });
    return kept;
  }
}
