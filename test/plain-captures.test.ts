import { existsSync, openAsBlob, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CaptureDetail } from '@threadreel/model';
import { upload, waitSettled } from './support/client.js';
import type { TestDatabase } from './support/database.js';
import { REPO_ROOT, SHARED_DIR } from './support/env.js';
import { startTestApi, type ApiProc } from './support/processes.js';

/**
 * Captures recorded with plain tools (perf, strace, a thread listing, the service's own logs, spans and GC
 * files) and NO manifest, as users upload them: test/fixtures/plain/* (scripts/record-plain-fixtures.sh)
 * and every folder of ../shared/captures (recorded by someone else). Each is uploaded file by file through
 * the API; the test prints per capture the agreement of the dominant causes with the answer key, the
 * confusion matrix, every file's inferred clock offset against the true one (clocks.json) and the files
 * that were not recognised.
 *
 * Asserted: every request of the answer key has a row, breakdowns sum to the duration, every clock
 * offset is within 100 µs of the truth (or the truth's own tolerance when wider), no file is
 * unrecognised, and agreement reaches its target: ≥ 95 % on the shared capture, ≥ 90 % on each plain
 * capture — except where a capture's `floor` is lower, with the reason beside it; the gap to the
 * target is then printed as a TODO(plain-targets) line.
 */

const NOT_UPLOADED = [/^clocks\.json/, /^ground-truth/, /^README/, /\.py$/, /\.sh$/];
const OFFSET_TOLERANCE_NS = 100_000n;

interface Source {
  label: string;
  dir: string;
  /** Agreement target (share of the scored requests). */
  target: number;
  /** What is asserted when lower than the target (the reason is in FLOORS). */
  floor: number;
}

/**
 * Plain captures whose agreement is asserted below the target, and why (none today: each capture's
 * data is fixed, so its figure is too; a re-recording that misses the target must say why here).
 */
const FLOORS: Record<string, number> = {};

const folders = (root: string): string[] =>
  existsSync(root)
    ? readdirSync(root, { withFileTypes: true })
        .filter((e) => e.isDirectory())
        .map((e) => path.join(root, e.name))
        .sort()
    : [];

const SOURCES: Source[] = [
  ...folders(path.join(REPO_ROOT, 'test/fixtures/plain')).map((dir) => ({
    label: `plain/${path.basename(dir)}`,
    dir,
    target: 0.9,
    floor: FLOORS[`plain/${path.basename(dir)}`] ?? 0.9,
  })),
  ...folders(path.join(SHARED_DIR, 'captures')).map((dir) => ({
    label: `shared/${path.basename(dir)}`,
    dir,
    target: 0.95,
    floor: 0.95,
  })),
];

/** The text of `name` or `name.gz` in `dir`, or null. */
function readMaybeGz(dir: string, name: string): string | null {
  for (const f of [name, `${name}.gz`]) {
    const p = path.join(dir, f);
    if (existsSync(p)) {
      const buf = readFileSync(p);
      return (f.endsWith('.gz') ? gunzipSync(buf) : buf).toString('utf8');
    }
  }
  return null;
}

interface TruthRequest {
  traceId: string;
  route: string;
  cause?: string;
  acceptable?: string[];
}

interface FileTruth {
  offsetNs: bigint | null;
  toleranceNs: bigint;
}

/**
 * The true offset of each uploaded file. A plain capture's clocks.json names it per file; the shared
 * capture's has the realtime − monotonic pair (its perf used -k CLOCK_MONOTONIC; every other file is epoch).
 * Big integers are read from the text: JSON.parse would round them.
 */
function clockTruth(dir: string, files: string[]): Map<string, FileTruth> {
  const text = readMaybeGz(dir, 'clocks.json') ?? '';
  const out = new Map<string, FileTruth>();
  const perFile = /"files":\s*\{/.test(text)
    ? (
        JSON.parse(text) as {
          files: Record<string, { truthOffsetNs: string | null; toleranceNs: string | null }>;
        }
      ).files
    : null;
  const realMinusMono = /"realtime_minus_monotonic_ns":\s*\{\s*"start":\s*"?(-?\d+)/.exec(text)?.[1];
  for (const f of files) {
    const bare = f.replace(/\.gz$/, '');
    const t = perFile?.[bare];
    if (perFile) {
      out.set(f, {
        offsetNs: t?.truthOffsetNs != null ? BigInt(t.truthOffsetNs) : null,
        toleranceNs: BigInt(t?.toleranceNs ?? '0'),
      });
    } else if (/^perf/.test(bare)) {
      out.set(f, { offsetNs: realMinusMono ? BigInt(realMinusMono) : null, toleranceNs: 0n });
    } else if (/^threads/.test(bare)) {
      out.set(f, { offsetNs: null, toleranceNs: 0n });
    } else {
      // strace -ttt, spans, gc.jsonl (time.time_ns) and the UTC app log are epoch times.
      out.set(f, { offsetNs: 0n, toleranceNs: bare.endsWith('.log') ? 1_000_000n : 0n });
    }
  }
  return out;
}

interface Row {
  trace_id: string;
  dominant_cause: string;
  duration_ns: string;
  breakdown: Record<string, string>;
}

interface Uploaded {
  source: Source;
  captureId: string;
  files: string[];
  detail: CaptureDetail;
}

const pct = (ok: number, n: number) => `${((ok / Math.max(1, n)) * 100).toFixed(0)} %`;

describe.skipIf(SOURCES.length === 0)('plain-tools captures uploaded without a manifest', () => {
  let db: TestDatabase;
  let api: ApiProc;
  const uploaded = new Map<string, Uploaded>();

  beforeAll(async () => {
    ({ api, db } = await startTestApi('plain'));
    // All at once: the workers parse and correlate them side by side.
    await Promise.all(
      SOURCES.map(async (source) => {
        const files = readdirSync(source.dir)
          .filter((f) => !NOT_UPLOADED.some((re) => re.test(f)))
          .sort();
        const parts = await Promise.all(
          files.map(async (f) => ({ name: f, data: await openAsBlob(path.join(source.dir, f)) })),
        );
        const r = await upload(api.url, parts);
        expect(r.status, JSON.stringify(r.body)).toBe(202);
        const detail = await waitSettled(api.url, r.body.captureId, 170_000);
        uploaded.set(source.label, { source, captureId: r.body.captureId, files, detail });
      }),
    );
  }, 200_000);

  afterAll(async () => {
    await api?.stop();
    if (!process.env.THREADREEL_KEEP_DB) await db?.drop();
  });

  it.each(SOURCES.map((s) => s.label))('%s', async (label) => {
    const u = uploaded.get(label);
    expect(u, `${label} was not uploaded`).toBeDefined();
    if (!u) return;
    const { source, detail } = u;
    const truthText = readMaybeGz(source.dir, 'ground-truth.json');
    expect(truthText, `${label}: ground-truth.json`).not.toBeNull();
    const truth = (JSON.parse(truthText ?? '{}') as { requests?: TruthRequest[] }).requests ?? [];
    const rows = await db.query<Row>(
      `SELECT trace_id, dominant_cause, duration_ns::text, breakdown FROM requests WHERE capture_id = $1`,
      [u.captureId],
    );
    // One row per trace: the longest when a trace has several (a CLIENT child, say).
    const byTrace = new Map<string, Row>();
    for (const r of rows) {
      const seen = byTrace.get(r.trace_id);
      if (!seen || BigInt(r.duration_ns) > BigInt(seen.duration_ns)) byTrace.set(r.trace_id, r);
    }
    const lines: string[] = [
      `== ${label}: capture ${detail.state}, ${truth.length} requests in the answer key`,
    ];

    // Agreement per cause and the confusion matrix (truth × got); `none` is not scored.
    const per = new Map<string, { n: number; ok: number }>();
    const confusion = new Map<string, Map<string, number>>();
    for (const q of truth) {
      if (!q.cause || q.cause === 'none') continue;
      const got = byTrace.get(q.traceId)?.dominant_cause ?? 'MISSING';
      const e = per.get(q.cause) ?? { n: 0, ok: 0 };
      e.n++;
      if (got === q.cause || (q.acceptable ?? []).includes(got)) e.ok++;
      per.set(q.cause, e);
      const row = confusion.get(q.cause) ?? new Map<string, number>();
      row.set(got, (row.get(got) ?? 0) + 1);
      confusion.set(q.cause, row);
    }
    let n = 0;
    let ok = 0;
    for (const e of per.values()) [n, ok] = [n + e.n, ok + e.ok];
    lines.push(
      `agreement ${ok}/${n} = ${pct(ok, n)}  (${[...per]
        .sort()
        .map(([c, e]) => `${c} ${e.ok}/${e.n}`)
        .join(', ')})`,
    );
    const gots = [...new Set([...confusion.values()].flatMap((m) => [...m.keys()]))].sort();
    const w = Math.max(10, ...gots.map((g) => g.length));
    lines.push(`truth \\ got  ${gots.map((g) => g.padStart(w)).join(' ')}`);
    for (const [c, m] of [...confusion].sort())
      lines.push(`${c.padEnd(12)} ${gots.map((g) => String(m.get(g) ?? '').padStart(w)).join(' ')}`);

    // Clock offsets against the truth, and unrecognised files.
    const truthClocks = clockTruth(source.dir, u.files);
    const offsetsOff: string[] = [];
    const unrecognised: string[] = [];
    lines.push(`file                         state   format           offset (inferred − true)      method`);
    for (const f of [...detail.sourceFiles].sort((a, b) => a.name.localeCompare(b.name))) {
      const t = truthClocks.get(f.name);
      const got = f.clockOffsetNs === null ? null : BigInt(f.clockOffsetNs);
      let verdict = '';
      if (t?.offsetNs == null) verdict = got === null ? 'no clock' : `${got} ns (no truth)`;
      else if (got === null) verdict = 'not placed';
      else {
        const d = got - t.offsetNs;
        const abs = d < 0n ? -d : d;
        const tol = t.toleranceNs > OFFSET_TOLERANCE_NS ? t.toleranceNs : OFFSET_TOLERANCE_NS;
        verdict = `${d >= 0n ? '+' : ''}${(Number(d) / 1e6).toFixed(3)} ms${abs <= tol ? '' : ' OFF'}`;
        if (abs > tol) offsetsOff.push(`${f.name} ${verdict}`);
      }
      if (t?.offsetNs != null && got === null) offsetsOff.push(`${f.name} not placed`);
      if (f.state === 'failed' || f.format === null) unrecognised.push(`${f.name} (${f.state})`);
      lines.push(
        `${f.name.padEnd(28)} ${f.state.padEnd(7)} ${(f.format ?? '-').padEnd(16)} ${verdict.padEnd(29)} ${f.clockMethod ?? '-'}`,
      );
      if (f.error) lines.push(`${''.padEnd(28)} error: ${f.error.replace(/\s+/g, ' ').slice(0, 160)}`);
    }
    lines.push(`unrecognised: ${unrecognised.length ? unrecognised.join(', ') : 'none'}`);
    console.log(lines.join('\n'));

    // What holds today.
    expect(truth.length).toBeGreaterThan(0);
    expect(
      truth.filter((q) => !byTrace.has(q.traceId)).map((q) => `${q.route} ${q.traceId}`),
      `${label}: requests of the answer key without a row`,
    ).toEqual([]);
    for (const r of rows) {
      const sum = Object.values(r.breakdown).reduce((a, v) => a + BigInt(v), 0n);
      expect(sum, `${label} ${r.trace_id}: breakdown sums to the duration`).toBe(BigInt(r.duration_ns));
    }

    const rate = ok / Math.max(1, n);
    if (rate < source.target)
      console.log(`TODO(plain-targets) ${label}: agreement ${pct(ok, n)} < target ${source.target * 100} %`);
    expect(rate, `${label}: agreement ${pct(ok, n)}`).toBeGreaterThanOrEqual(source.floor);
    expect(offsetsOff, `${label}: clock offsets off`).toEqual([]);
    expect(unrecognised, `${label}: unrecognised files`).toEqual([]);
  });
});
