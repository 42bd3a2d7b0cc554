import { readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SampleTimeline, SamplesPage, ThreadSummary } from '@threadreel/model';
import type { TestDatabase } from './support/database.js';
import { REPO_ROOT } from './support/env.js';
import { startTestApi, type ApiProc } from './support/processes.js';
import { text, upload, waitSettled } from './support/client.js';

const demoDir = path.join(REPO_ROOT, 'test/fixtures/demo');

/** Query endpoints over the demo capture, recorded with perf on a real multi-threaded program. */
describe('threads, samples, events, timeline and folded stacks of the demo capture', () => {
  let db: TestDatabase;
  let api: ApiProc;
  let id: string;
  const get = async <T>(p: string): Promise<T> => {
    const r = await fetch(`${api.url}/api/captures/${id}${p}`);
    expect(r.status, p).toBe(200);
    return (await r.json()) as T;
  };

  beforeAll(async () => {
    ({ api, db } = await startTestApi('profiles'));
    const files = readdirSync(demoDir)
      .filter((f) => f !== 'README.md')
      .map((f) => path.join(demoDir, f));
    const r = await upload(api.url, files);
    id = r.body.captureId;
    expect((await waitSettled(api.url, id)).state).toBe('ready');
  });
  afterAll(async () => {
    await api?.stop();
    await db?.drop();
  });

  it('lists the named threads of the demo program with their on-CPU sample counts', async () => {
    const threads = await get<ThreadSummary[]>('/threads');
    const names = threads.flatMap((t) => t.names);
    for (const n of ['worker-0', 'worker-1', 'worker-2', 'lock-holder', 'lock-waiter'])
      expect(names).toContain(n);
    const worker = threads.find((t) => t.names.includes('worker-0'))!;
    expect(Number(worker.samples)).toBeGreaterThan(50);
    expect(BigInt(worker.lastNs!)).toBeGreaterThan(BigInt(worker.firstNs!));
    // Sample counts only count sampling events, not sched tracepoints.
    const cpu = await get<{ events: { name: string; records: string }[] }>('/events');
    const cpuClock = cpu.events.find((e) => e.name === 'cpu-clock')!;
    const sum = threads.reduce((a, t) => a + Number(t.samples), 0);
    expect(sum).toBe(Number(cpuClock.records));
  });

  it("returns one thread's samples in a [from, to) window with exact ns times and leaf-first stacks", async () => {
    const threads = await get<ThreadSummary[]>('/threads');
    const worker = threads.find((t) => t.names.includes('worker-0'))!;
    const all = await get<SamplesPage>(`/threads/${worker.id}/samples?limit=10000`);
    expect(all.truncated).toBe(false);
    expect(all.samples.length).toBeGreaterThan(50);
    const times = all.samples.map((s) => BigInt(s.timeNs!));
    for (let i = 1; i < times.length; i++) expect(times[i]! >= times[i - 1]!).toBe(true);
    const onCpu = all.samples.find((s) => s.event === 'cpu-clock')!;
    expect(onCpu.stack.map((f) => f.symbol)).toContain('worker_main');
    expect(onCpu.stack.at(-1)!.symbol).not.toBe('worker_main'); // leaf first

    const from = times[10]!;
    const to = times[20]!;
    const win = await get<SamplesPage>(`/threads/${worker.id}/samples?from=${from}&to=${to}`);
    expect(win.samples.map((s) => s.timeNs)).toEqual(all.samples.slice(10, 20).map((s) => s.timeNs));
    const page = await get<SamplesPage>(`/threads/${worker.id}/samples?limit=5`);
    expect(page.samples).toHaveLength(5);
    expect(page.truncated).toBe(true);
  });

  it('folds cpu-clock by default and any other event on request', async () => {
    const ev = await get<{ defaultFoldEvent: string; events: { name: string; tracepoint: boolean }[] }>(
      '/events',
    );
    expect(ev.defaultFoldEvent).toBe('cpu-clock');
    expect(
      ev.events
        .filter((e) => e.tracepoint)
        .map((e) => e.name)
        .sort(),
    ).toEqual(['sched:sched_switch', 'sched:sched_wakeup']);
    const folded = await text(`${api.url}/api/captures/${id}/folded?groupBy=none`);
    expect(folded.body).toMatch(/^worker-0;.*worker_main;run_job;job_primes;count_primes;is_prime \d+$/m);
    const offcpu = await text(
      `${api.url}/api/captures/${id}/folded?groupBy=none&annotate=kernel&event=${encodeURIComponent('sched:sched_switch')}`,
    );
    expect(offcpu.body).toMatch(/;schedule_\[k\];__schedule_\[k\] \d+$/m);
  });

  it('buckets on-CPU samples per thread over time', async () => {
    const tl = await get<SampleTimeline>('/timeline?buckets=50');
    expect(tl.threads.length).toBeGreaterThanOrEqual(5);
    expect(tl.threads.every((t) => t.counts.length === 50)).toBe(true);
    const threads = await get<ThreadSummary[]>('/threads');
    const total = tl.threads.reduce((a, t) => a + t.counts.reduce((x, y) => x + y, 0), 0);
    expect(total).toBe(threads.reduce((a, t) => a + Number(t.samples), 0));
  });

  it('answers bad parameters with 400 and a reason', async () => {
    for (const [p, why] of [
      ['/folded?groupBy=process', 'groupBy'],
      ['/folded?annotate=inline', 'annotate'],
      ['/timeline?buckets=0', 'buckets'],
      ['/threads/1/samples?from=1.5', 'from'],
      ['/threads/1/samples?limit=0', 'limit'],
    ] as const) {
      const r = await fetch(`${api.url}/api/captures/${id}${p}`);
      expect(r.status, p).toBe(400);
      expect(((await r.json()) as { message: string }).message).toContain(why);
    }
    expect((await fetch(`${api.url}/api/captures/${id}/threads/999999999/samples`)).status).toBe(404);
  });
});
