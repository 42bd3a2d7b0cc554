import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CaptureDetail, DegradedPart, DegradedStage } from '@threadreel/model';
import type { TestDatabase } from './support/database.js';
import { REPO_ROOT } from './support/env.js';
import { startTestApi, tempDir, type ApiProc } from './support/processes.js';
import { folderParts, upload, waitSettled } from './support/client.js';

/**
 * Capture-level fuzzing of the correlation: the real fixture bundles with one part made odd —
 * a source dropped, thread names blanked, a source's clock shifted or its clock pairs gone,
 * files cut mid-line, a tid reused, a file emptied — each uploaded through the API. Whatever
 * the oddity, correlation must not throw: the capture ends `ready` or `degraded` (never
 * `failed`, never with the correlation as a whole given up), its degraded parts name what
 * went wrong, and every request (server span) still has a breakdown summing to its duration.
 * Variants are made in temporary folders from the committed fixtures.
 */

const SCENARIOS = ['java', 'node', 'python'] as const;
/** `THREADREEL_FUZZ_ONLY=tid` runs the variants whose name (`java: tid reused`) contains it. */
const ONLY = process.env.THREADREEL_FUZZ_ONLY;
type Scenario = (typeof SCENARIOS)[number];

interface Manifest {
  clocks?: unknown;
  files: { path: string; role: string }[];
}

function readText(file: string): string {
  const bytes = readFileSync(file);
  return (file.endsWith('.gz') ? gunzipSync(bytes) : bytes).toString('utf8');
}
function writeText(file: string, text: string): void {
  writeFileSync(file, file.endsWith('.gz') ? gzipSync(text) : text);
}
function edit(dir: string, rel: string, change: (text: string) => string): void {
  writeText(path.join(dir, rel), change(readText(path.join(dir, rel))));
}
function editManifest(dir: string, change: (m: Manifest) => void): void {
  edit(dir, 'manifest.json', (text) => {
    const m = JSON.parse(text) as Manifest;
    change(m);
    return JSON.stringify(m, null, 2);
  });
}
/** Cut a text mid-line at about `fraction` of its length (never on a line boundary). */
function cutMidLine(text: string, fraction: number): string {
  let at = Math.floor(text.length * fraction);
  while (at > 0 && (text[at] === '\n' || text[at - 1] === '\n')) at--;
  return text.slice(0, at);
}
/** The two tids strace saw most (pool workers, the event loop). */
function busiestTids(strace: string): [string, string] {
  const counts = new Map<string, number>();
  for (const line of strace.split('\n')) {
    const tid = /^(\d+)\s/.exec(line)?.[1];
    if (tid) counts.set(tid, (counts.get(tid) ?? 0) + 1);
  }
  const [a, b] = [...counts].sort((x, y) => y[1] - x[1]);
  if (!a || !b) throw new Error('strace fixture with fewer than two tids');
  return [a[0], b[0]];
}

const SPANS: Record<Scenario, string> = {
  java: 'spans/spans.otlp.jsonl',
  node: 'spans/otlp-received.jsonl',
  python: 'spans/spans.otlp.jsonl',
};
const GC: Record<Scenario, string> = { java: 'gc/gc.log', node: 'gc/trace-gc.log', python: 'gc/gc.jsonl' };

interface Variant {
  kind: string;
  /** Makes the bundle odd; returns a description of what it did. */
  apply(dir: string, s: Scenario): string;
  /** A part that must be listed (stage, and file or source), when the oddity is detectable. */
  expectPart?: (s: Scenario) => { stage: DegradedStage; file?: string; source?: string };
  /** The control: nothing odd, so nothing may be listed. */
  clean?: boolean;
  /** What else must hold of the capture's status. */
  check?: (detail: CaptureDetail) => void;
}

const VARIANTS: Variant[] = [
  // The control: the fixture as recorded is clean.
  { kind: 'unchanged', apply: () => 'as recorded', clean: true },
  {
    kind: 'source dropped',
    apply(dir, s) {
      // A different source per scenario; the manifest still lists it.
      const rel = { java: 'strace.txt.gz', node: 'perf.script.gz', python: 'threads.jsonl' }[s];
      rmSync(path.join(dir, rel));
      return `${rel} removed`;
    },
    expectPart: (s) => ({
      stage: 'parse',
      file: { java: 'strace.txt.gz', node: 'perf.script.gz', python: 'threads.jsonl' }[s],
    }),
  },
  {
    kind: 'names removed',
    apply(dir) {
      edit(dir, 'threads.jsonl', (t) => t.replace(/"comm":"[^"]*"/g, '"comm":""'));
      // perf's comm at the start of each event line becomes what perf prints for a thread whose
      // comm it never saw (`:<tid>`); the comm fields of sched_switch/wakeup are blanked.
      edit(dir, 'perf.script.gz', (t) =>
        t
          .replace(/^[^\t#\n][^\n]*?(?=\s+\d+\/(\d+)\s+\[\d+\])/gm, (_m: string, tid: string) => `:${tid}`)
          .replace(/(prev_comm|next_comm|comm)=.*? (?=(prev_pid|next_pid|pid)=)/g, '$1= '),
      );
      for (const j of ['jstack-start.txt', 'jstack-end.txt']) rmSync(path.join(dir, j), { force: true });
      editManifest(dir, (m) => {
        m.files = m.files.filter((f) => f.role !== 'jstack');
      });
      return 'thread map and perf comms blanked, jstack removed';
    },
  },
  {
    kind: 'strace clock shifted',
    apply(dir, s) {
      const shift = { java: 2.5, node: -1.5, python: 7 }[s];
      edit(dir, 'strace.txt.gz', (t) =>
        t.replace(/^(\d+\s+)(\d+)\.(\d{6})/gm, (_m, tid: string, sec: string, us: string) => {
          const v = BigInt(sec) * 1_000_000n + BigInt(us) + BigInt(shift * 1_000_000);
          return `${tid}${v / 1_000_000n}.${(v % 1_000_000n).toString().padStart(6, '0')}`;
        }),
      );
      return `strace times ${shift > 0 ? '+' : ''}${shift} s`;
    },
    expectPart: () => ({ stage: 'clocks', source: 'strace' }),
  },
  {
    kind: 'clock pairs removed',
    apply(dir) {
      editManifest(dir, (m) => {
        delete m.clocks;
      });
      return 'manifest clock pairs removed';
    },
    // Nothing degrades: perf is placed without the pair — by the reference time its own header
    // prints (threadreel record runs `perf script --header`), else from strace's syscall stops
    // against its switch-outs — and says how.
    check: (detail) => {
      const perf = detail.sourceFiles.find((f) => f.name === 'perf.script.gz');
      expect(perf?.clockOffsetNs).not.toBeNull();
      expect(perf?.clockMethod).toMatch(/^(perf's own reference time|inferred: strace)/);
    },
  },
  {
    kind: 'files truncated',
    apply(dir, s) {
      edit(dir, 'strace.txt.gz', (t) => cutMidLine(t, 0.6));
      edit(dir, SPANS[s], (t) => cutMidLine(t, 0.7));
      edit(dir, GC[s], (t) => cutMidLine(t, 0.5));
      // A gzip stream cut short: the parser keeps what it read and says where it broke.
      const perf = path.join(dir, 'perf.script.gz');
      const gz = readFileSync(perf);
      writeFileSync(perf, gz.subarray(0, Math.floor(gz.length * 0.8)));
      return `strace, ${SPANS[s]}, ${GC[s]} cut mid-line, perf.script.gz cut mid-stream`;
    },
    expectPart: () => ({ stage: 'parse', file: 'perf.script.gz' }),
  },
  {
    kind: 'tid reused',
    apply(dir) {
      const [keep, merged] = busiestTids(readText(path.join(dir, 'strace.txt.gz')));
      edit(dir, 'strace.txt.gz', (t) => t.replace(new RegExp(`^${merged}(?=\\s)`, 'gm'), keep));
      return `strace tid ${merged} rewritten to ${keep}`;
    },
    expectPart: () => ({ stage: 'threads', source: 'strace' }),
  },
  {
    kind: 'file emptied',
    apply(dir) {
      // A 0-byte file is refused at upload; one blank line is the emptiest accepted.
      writeText(path.join(dir, 'logs/app.log'), '\n');
      return 'logs/app.log emptied';
    },
    expectPart: () => ({ stage: 'parse', file: 'logs/app.log' }),
  },
];

interface Case {
  name: string;
  scenario: Scenario;
  variant: Variant;
}

interface RequestRow {
  trace_id: string;
  span_id: string;
  duration_ns: string;
  breakdown: Record<string, string>;
}

const matches = (p: DegradedPart, want: { stage: DegradedStage; file?: string; source?: string }) =>
  p.stage === want.stage &&
  (want.file === undefined || p.file === want.file) &&
  (want.source === undefined || p.source === want.source);

describe('correlation fuzz: odd variants of the fixture captures', () => {
  let db: TestDatabase;
  let api: ApiProc;
  const started = Date.now();
  const cases: Case[] = [];
  for (const variant of VARIANTS)
    for (const scenario of SCENARIOS)
      if (!ONLY || `${scenario}: ${variant.kind}`.includes(ONLY))
        cases.push({ name: `${scenario}: ${variant.kind}`, scenario, variant });

  let root = '';
  beforeAll(async () => {
    ({ api, db } = await startTestApi('corr_fuzz'));
    root = tempDir('corr-fuzz');
  });
  afterAll(async () => {
    console.log(
      `correlation fuzz: ${cases.length} captures in ${((Date.now() - started) / 1000).toFixed(0)} s`,
    );
    await api?.stop();
    await db?.drop();
  });

  it.each(cases)(
    '$name',
    async (c) => {
      const t0 = Date.now();
      const dir = path.join(root, c.name.replace(/\W+/g, '-'));
      cpSync(path.join(REPO_ROOT, 'test/fixtures/captures', c.scenario), dir, { recursive: true });
      const did = c.variant.apply(dir, c.scenario);
      const r = await upload(api.url, await folderParts(dir), `?name=${encodeURIComponent(c.name)}`);
      expect(r.status, JSON.stringify(r.body)).toBe(202);
      const id = r.body.captureId;
      const detail: CaptureDetail = await waitSettled(api.url, id, 240_000);
      console.log(
        `${c.name} (${did}, ${((Date.now() - t0) / 1000).toFixed(1)} s): ${detail.state}${detail.degradedParts
          .map(
            (p) =>
              `\n  - ${p.stage}${p.file ? ` ${p.file}` : ''}${p.source ? ` [${p.source}]` : ''}${p.thread ? ` tid ${p.thread.tid}` : ''}: ${p.reason}`,
          )
          .join('')}`,
      );

      // Never failed, never given up as a whole: what degraded is listed, and says so.
      expect(['ready', 'degraded']).toContain(detail.state);
      expect(detail.degradedParts.filter((p) => p.stage === 'correlation')).toEqual([]);
      expect(api.output()).not.toMatch(new RegExp(`correlation failed.*|capture ${id}: failed`));
      if (detail.state === 'degraded') {
        expect(detail.degradedParts.length).toBeGreaterThan(0);
        expect(detail.error).toBeTruthy();
        for (const p of detail.degradedParts) expect(p.reason.length).toBeGreaterThan(0);
      } else expect(detail.degradedParts).toEqual([]);
      if (c.variant.clean) expect(detail.state).toBe('ready');
      const want = c.variant.expectPart?.(c.scenario);
      if (want) {
        expect(detail.state).toBe('degraded');
        expect(
          detail.degradedParts.some((p) => matches(p, want)),
          `expected a degraded part ${JSON.stringify(want)}`,
        ).toBe(true);
      }

      c.variant.check?.(detail);

      // Every server span has its request, with a breakdown summing exactly to its duration.
      const servers = await db.query<{ trace_id: string; span_id: string }>(
        `SELECT DISTINCT trace_id, span_id FROM spans WHERE capture_id = $1 AND kind = 'server'`,
        [id],
      );
      const rows = await db.query<RequestRow>(
        `SELECT trace_id, span_id, duration_ns::text, breakdown FROM requests WHERE capture_id = $1`,
        [id],
      );
      expect(servers.length).toBeGreaterThan(0);
      const have = new Set(rows.map((r) => `${r.trace_id}/${r.span_id}`));
      expect(servers.filter((s) => !have.has(`${s.trace_id}/${s.span_id}`))).toEqual([]);
      for (const r of rows) {
        const values = Object.values(r.breakdown).map((v) => BigInt(v));
        expect(
          values.every((v) => v >= 0n),
          r.trace_id,
        ).toBe(true);
        expect(
          values.reduce((a, v) => a + v, 0n),
          r.trace_id,
        ).toBe(BigInt(r.duration_ns));
      }
    },
    240_000,
  );
});
