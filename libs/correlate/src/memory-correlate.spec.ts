import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { RequestAnalysis } from '@threadreel/model';
import { MemorySink } from './memory-sink.js';
import { correlate } from './pipeline.js';
import { loadCapture } from './testing/load-capture.js';

/**
 * Whole real captures correlated without a database: the plain-tools recordings of
 * test/fixtures/plain (perf, strace, ps -L, logs, spans, GC as the tools wrote them, no
 * manifest) read through the parse job's parsers into a MemoryCapture, correlated into a
 * MemorySink, scored against each capture's answer key. The e2e test (test/plain-captures)
 * asserts the same figures through upload, Postgres and the workers.
 */

const PLAIN = fileURLToPath(new URL('../../../test/fixtures/plain/', import.meta.url));

interface TruthRequest {
  traceId: string;
  cause?: string;
  acceptable?: string[];
}

/** Requests whose dominant cause is the answer key's (or one it accepts), of those it scores. */
function agreement(
  dir: string,
  requests: readonly RequestAnalysis[],
): { ok: number; n: number; missing: number } {
  const truth = (JSON.parse(readFileSync(`${dir}/ground-truth.json`, 'utf8')) as { requests: TruthRequest[] })
    .requests;
  const byTrace = new Map<string, RequestAnalysis>();
  for (const r of requests) {
    const seen = byTrace.get(r.traceId);
    if (!seen || r.durationNs > seen.durationNs) byTrace.set(r.traceId, r);
  }
  let ok = 0;
  let n = 0;
  let missing = 0;
  for (const q of truth) {
    if (!byTrace.has(q.traceId)) missing++;
    if (!q.cause || q.cause === 'none') continue;
    n++;
    const got = byTrace.get(q.traceId)?.dominantCause;
    if (got !== undefined && (got === q.cause || (q.acceptable ?? []).includes(got))) ok++;
  }
  return { ok, n, missing };
}

describe('correlate(MemoryCapture, MemorySink) on real plain captures', () => {
  it.each(['python', 'java', 'node'])(
    '%s: every request analysed, agreement at least 0.9, clocks placed',
    async (name) => {
      const dir = `${PLAIN}${name}`;
      const { capture } = await loadCapture(dir);
      const sink = new MemorySink();
      const log: string[] = [];
      const summary = await correlate(capture, sink, { manifest: null, log: (m) => log.push(m) });
      const derived = sink.committed;
      expect(derived, log.join('\n')).not.toBeNull();
      if (!derived) return;
      const { ok, n, missing } = agreement(dir, derived.requests);
      console.log(`${name}: agreement ${ok}/${n}, ${summary.segments} segments, ${summary.wakeups} wakeups`);
      expect(missing).toBe(0);
      expect(ok / n).toBeGreaterThanOrEqual(0.9);
      for (const r of derived.requests) {
        const sum = Object.values(r.breakdown).reduce((a, v) => a + v, 0n);
        expect(sum, r.traceId).toBe(r.durationNs);
      }
      // perf, strace and the spans are all placed (perf by evidence: no manifest, no header pair).
      const files = await capture.files();
      const placed = new Set(sink.clocks.filter((c) => c.offsetNs !== null).map((c) => c.fileId));
      for (const f of files.filter((x) => ['perf-script', 'strace', 'otlp-json'].includes(x.format ?? '')))
        expect(placed.has(f.id), `${f.name} placed`).toBe(true);
      // Segments of each thread are sorted and disjoint, as the store's readers expect.
      for (const segs of derived.segments.values())
        segs.forEach((s, i) => {
          const prev = segs[i - 1];
          if (prev) expect(prev.endNs <= s.startNs).toBe(true);
        });
    },
  );
});
