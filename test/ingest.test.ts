import { openAsBlob, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SourceFileReport } from '@threadreel/model';
import type { TestDatabase } from './support/database.js';
import { REPO_ROOT } from './support/env.js';
import { startTestApi, type ApiProc } from './support/processes.js';
import { folderParts, upload, waitSettled } from './support/client.js';

/** Every file of a fixture folder (README excluded), with its path relative to the folder. */
const EXPECTED: Record<string, Record<string, string>> = {
  java: {
    'perf.script.gz': 'perf-script',
    'strace.txt.gz': 'strace',
    'logs/app.log': 'logs',
    'spans/spans.otlp.jsonl': 'otlp-json',
    'gc/gc.log': 'jvm-unified',
    'threads.jsonl': 'threads-jsonl',
    'jstack-start.txt': 'jstack',
    'jstack-end.txt': 'jstack',
  },
  node: {
    'perf.script.gz': 'perf-script',
    'strace.txt.gz': 'strace',
    'logs/app.log': 'logs',
    'spans/otlp-received.jsonl': 'otlp-json',
    'spans/loadgen.otlp.jsonl': 'otlp-json',
    'gc/trace-gc.log': 'node-trace-gc',
    'threads.jsonl': 'threads-jsonl',
  },
  python: {
    'perf.script.gz': 'perf-script',
    'strace.txt.gz': 'strace',
    'logs/app.log': 'logs',
    'spans/spans.otlp.jsonl': 'otlp-json',
    'gc/gc.jsonl': 'python-gc-jsonl',
    'threads.jsonl': 'threads-jsonl',
  },
};

describe('scenario fixtures ingest completely', () => {
  let db: TestDatabase;
  let api: ApiProc;

  beforeAll(async () => {
    ({ api, db } = await startTestApi('ingest'));
  });
  afterAll(async () => {
    await api?.stop();
    await db?.drop();
  });

  const count = async (sql: string, params: unknown[]): Promise<number> => {
    const [row] = await db.query<{ n: number }>(sql, params);
    return row?.n ?? 0;
  };

  it.each(Object.keys(EXPECTED))(
    '%s: every source parsed with zero rejected lines, its format detected, the rest stored with why',
    async (scenario) => {
      const dir = path.join(REPO_ROOT, 'test/fixtures/captures', scenario);
      const r = await upload(api.url, await folderParts(dir));
      expect(r.status).toBe(202);
      const id = r.body.captureId;
      const c = await waitSettled(api.url, id, 300_000);
      expect(c.state).toBe('ready');
      const byName = new Map<string, SourceFileReport>(c.sourceFiles.map((f) => [f.name, f]));
      const expected = EXPECTED[scenario] ?? {};
      for (const [name, format] of Object.entries(expected)) {
        const f = byName.get(name);
        // Any rejection would be printed here with its line and reason.
        expect({ name, rejected: f?.rejected }).toEqual({ name, rejected: [] });
        expect(f, name).toMatchObject({ state: 'parsed', format, rejectedCount: '0', error: null });
        expect(Number(f?.events), name).toBeGreaterThan(0);
        // The content alone names the same format, with a confidence and a reason.
        expect(f?.detected.format, name).toBe(format);
        expect(f?.detected.confidence, name).toBeGreaterThan(0.5);
        expect(f?.detected.reason, name).toBeTruthy();
      }
      expect(byName.get('perf.script.gz')?.clock).toBe('monotonic');
      expect(byName.get('threads.jsonl')?.clock).toBe('monotonic');
      for (const f of c.sourceFiles.filter((f) => !(f.name in expected) && f.name !== 'manifest.json')) {
        expect(f.state, f.name).toBe('stored');
        expect(f.note, f.name).toMatch(/stored unparsed \((perf-map|ground-truth)\): /);
      }

      const sched = await db.query<{ kind: string; n: number; stacks: number }>(
        `SELECT kind, count(*)::int AS n, count(stack_id)::int AS stacks FROM sched_events WHERE capture_id = $1 GROUP BY kind`,
        [id],
      );
      const switches = sched.find((s) => s.kind === 'switch');
      expect(switches?.n).toBeGreaterThan(100);
      expect(switches?.stacks).toBe(switches?.n);
      expect(sched.find((s) => s.kind === 'wakeup')?.n).toBeGreaterThan(10);
      // sched_switch rows stay in prev's context: the row's tid is a thread of the target.
      expect(
        await count(
          `SELECT count(*)::int AS n FROM sched_events e WHERE e.capture_id = $1 AND e.kind = 'switch'
             AND NOT EXISTS (SELECT 1 FROM threads t WHERE t.capture_id = e.capture_id AND t.tid = e.tid)`,
          [id],
        ),
      ).toBe(0);

      // The /proc thread map: every tid it names also appears in perf or strace.
      const proc = await db.query<{ tid: number; name: string }>(
        `SELECT DISTINCT tid, name FROM thread_sightings WHERE capture_id = $1 AND source = 'proc'`,
        [id],
      );
      expect(proc.length).toBeGreaterThan(2);
      const threads = readFileSync(path.join(dir, 'threads.jsonl'), 'utf8').trim().split('\n');
      expect(
        await count(
          `SELECT count(*)::int AS n FROM thread_sightings WHERE capture_id = $1 AND source = 'proc'`,
          [id],
        ),
      ).toBe(threads.length);

      const truth = JSON.parse(readFileSync(path.join(dir, 'ground-truth.json'), 'utf8')) as {
        requests: { traceId: string }[];
      };
      const ids = [...new Set(truth.requests.map((q) => q.traceId))];
      expect(
        await count(
          `SELECT count(DISTINCT trace_id)::int AS n FROM spans WHERE capture_id = $1 AND kind = 'server' AND trace_id = ANY($2)`,
          [id, ids],
        ),
      ).toBe(ids.length);
      expect(
        await count(
          `SELECT count(DISTINCT t)::int AS n FROM log_records, unnest(trace_ids) t WHERE capture_id = $1 AND t = ANY($2)`,
          [id, ids],
        ),
      ).toBe(ids.length);
      expect(
        await count(
          `SELECT count(*)::int AS n FROM syscalls WHERE capture_id = $1 AND name LIKE 'futex%' AND category = 'lock'`,
          [id],
        ),
      ).toBeGreaterThan(0);
      expect(
        await count(`SELECT count(*)::int AS n FROM gc_events WHERE capture_id = $1 AND pause`, [id]),
      ).toBeGreaterThan(0);
      if (scenario === 'java') {
        const jstack = await db.query<{ tid: number; name: string; runtime_tid: string | null }>(
          `SELECT tid, name, runtime_tid FROM thread_sightings WHERE capture_id = $1 AND source = 'jstack'`,
          [id],
        );
        // jstack's nid is the OS tid that /proc and perf use for the same thread.
        const procTids = new Set(proc.map((p) => p.tid));
        const joined = jstack.filter((j) => j.runtime_tid !== null && procTids.has(j.tid));
        expect(joined.length).toBeGreaterThan(5);
        for (const j of joined) {
          const comm = proc.find((p) => p.tid === j.tid)?.name ?? '';
          // The kernel comm is the Java name cut to 15 bytes, or the inherited executable name
          // (`java`) for a thread the JVM never named natively (the launcher's main thread,
          // which Java later calls DestroyJavaVM).
          if (comm !== 'java') expect(comm, j.name).toBe(Buffer.from(j.name).subarray(0, 15).toString());
        }
      }
    },
    400_000,
  );

  it('format fixtures without a manifest: detected by content and parsed into their tables', async () => {
    const base = path.join(REPO_ROOT, 'test/fixtures/formats');
    const parts = [
      ['jfr/recording.json.gz', 'jfr-json'],
      ['jstack/deadlock.txt', 'jstack'],
      ['otlp-proto/export.binpb', 'otlp-proto'],
      ['otlp-proto/collector-file.binpb', 'otlp-proto'],
      ['pprof/cpu.pb.gz', 'pprof'],
      ['py-spy/speedscope.json.gz', 'pyspy-speedscope'],
      ['py-spy/chrometrace.json.gz', 'pyspy-chrometrace'],
    ] as const;
    const r = await upload(
      api.url,
      await Promise.all(parts.map(async ([f]) => ({ name: f, data: await openAsBlob(path.join(base, f)) }))),
    );
    expect(r.status).toBe(202);
    const id = r.body.captureId;
    const c = await waitSettled(api.url, id, 300_000);
    const byName = new Map(c.sourceFiles.map((f) => [f.name, f]));
    for (const [name, format] of parts) {
      expect(byName.get(name), name).toMatchObject({
        state: 'parsed',
        format,
        rejectedCount: '0',
        error: null,
      });
      expect(Number(byName.get(name)?.events), name).toBeGreaterThan(0);
    }
    const runtime = await db.query<{ type: string; n: number; owners: number; stacks: number }>(
      `SELECT type, count(*)::int AS n, count(owner_tid)::int AS owners, count(stack_id)::int AS stacks
       FROM runtime_events WHERE capture_id = $1 GROUP BY type`,
      [id],
    );
    const enter = runtime.find((t) => t.type === 'monitor-enter');
    expect(enter?.n).toBeGreaterThan(0);
    // JFR names the monitor's previous owner: the holder of the lock.
    expect(enter?.owners).toBe(enter?.n);
    expect(runtime.find((t) => t.type === 'park')?.n).toBeGreaterThan(0);
    const samples = await db.query<{ event: string; n: number }>(
      `SELECT e.value AS event, count(*)::int AS n FROM samples s JOIN capture_strings e ON e.id = s.event_id
       WHERE s.capture_id = $1 GROUP BY e.value`,
      [id],
    );
    const events = samples.map((s) => s.event);
    expect(events).toContain('jdk.ExecutionSample');
    expect(events.some((e) => e.startsWith('pprof:'))).toBe(true);
    expect(events.some((e) => e.startsWith('py-spy'))).toBe(true);
    expect(await count(`SELECT count(*)::int AS n FROM spans WHERE capture_id = $1`, [id])).toBeGreaterThan(
      0,
    );
    expect(
      await count(
        `SELECT count(*)::int AS n FROM thread_sightings WHERE capture_id = $1 AND source = 'jfr'`,
        [id],
      ),
    ).toBeGreaterThan(0);
    expect(
      await count(
        `SELECT count(*)::int AS n FROM gc_events WHERE capture_id = $1 AND runtime = 'jvm' AND clock = 'realtime'`,
        [id],
      ),
    ).toBeGreaterThan(0);
  }, 300_000);
});
