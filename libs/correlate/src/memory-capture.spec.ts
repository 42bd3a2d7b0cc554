import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadCapture } from './testing/load-capture.js';

const PYTHON = fileURLToPath(new URL('../../../test/fixtures/plain/python', import.meta.url));

const sorted = (times: readonly bigint[]) => times.every((t, i) => i === 0 || (times[i - 1] ?? t) <= t);

describe('MemoryCapture read port on a real plain capture (python: perf, strace, ps -L, logs, spans, GC)', async () => {
  const { capture, issues } = await loadCapture(PYTHON);
  const files = await capture.files();
  const ord = (format: string) => files.find((f) => f.format === format)?.ordinal ?? -1;
  const perf = new Map([[ord('perf-script'), 0n]]);
  const strace = new Map([[ord('strace'), 0n]]);

  it('recognises every uploaded file as the parse job would, with its default clock', () => {
    expect(files.map((f) => [f.name, f.format, f.clock])).toEqual([
      ['app.log', 'logs', null],
      ['gc.jsonl.gz', 'python-gc-jsonl', null],
      ['loadgen.otlp.jsonl', 'otlp-json', 'realtime'],
      ['perf.script.txt.gz', 'perf-script', 'perf-default'],
      ['spans.otlp.jsonl', 'otlp-json', 'realtime'],
      ['strace.txt.gz', 'strace', null],
      ['threads.txt', 'thread-list', null],
    ]);
    expect(issues).toEqual([]);
  });

  it('resolves one thread per OS thread across perf, strace and the ps -L listing', async () => {
    const threads = await capture.threads(null);
    // perf script's default fields print the tid alone: the threads keep no pid (no manifest names the target).
    expect(threads.map((t) => [t.tid, t.names])).toEqual([
      [15544, ['python3']],
      [15546, ['span-exporter']],
      [15547, ['worker_0']],
      [15548, ['worker_1']],
      [15549, ['worker_2']],
      [15550, ['acceptor']],
    ]);
    // Sorted by tid, one per OS thread.
    expect(threads.map((t) => t.tid)).toEqual([...new Set(threads.map((t) => t.tid))].sort((a, b) => a - b));
  });

  it("answers a thread's events in time order, switch-outs, switch-ins and wakeups from sched", async () => {
    const threads = await capture.threads(null);
    const worker = threads.find((t) => t.names.includes('worker_0'));
    expect(worker).toBeDefined();
    if (!worker) return;
    const ev = await capture.threadEvents(worker, { perf, strace, runtime: new Map() });
    const kinds = new Set(ev.sched.map((s) => s.kind));
    expect([...kinds].sort()).toEqual(['in', 'out', 'wakeup']);
    expect(sorted(ev.sched.map((s) => s.timeNs))).toBe(true);
    expect(sorted(ev.syscalls.map((s) => s.startNs))).toBe(true);
    expect(sorted(ev.samples)).toBe(true);
    expect(ev.syscalls.length).toBeGreaterThan(10);
    expect(ev.samples.length).toBeGreaterThan(10);
    // cpu-clock at 199 Hz: every sample carries its period (CPU ns since the previous one).
    expect(ev.cpuClock.length).toBe(ev.samples.length);
    expect(ev.syscalls.every((s) => s.endNs >= s.startNs)).toBe(true);
    // Switch-outs carry the blocked stack, readable through the port.
    const stackIds = ev.sched.flatMap((s) => (s.kind === 'out' && s.stackId ? [s.stackId] : []));
    const frames = await capture.stackFrames(stackIds.slice(0, 5));
    expect([...frames.values()].every((f) => f.length > 0 && f.every((x) => x.symbol.length > 0))).toBe(true);
    // The same thread's events moved by an offset move by exactly that offset.
    const shifted = await capture.threadEvents(worker, {
      perf: new Map([[ord('perf-script'), 1_000n]]),
      strace,
      runtime: new Map(),
    });
    expect(shifted.sched.map((s) => s.timeNs - 1_000n)).toEqual(ev.sched.map((s) => s.timeNs));
  });

  it('finds the accepted connections, their first reads and the futex wakes strace saw', async () => {
    const accepts = await capture.accepts(strace);
    const reads = await capture.firstReads(strace);
    expect(accepts.length).toBeGreaterThan(5);
    expect(accepts.every((a) => /^\d+\.\d+\.\d+\.\d+:\d+$/.test(a.peer))).toBe(true);
    // Every accepted client is read by some thread.
    const readPeers = new Set(reads.map((r) => r.peer));
    expect(accepts.filter((a) => readPeers.has(a.peer)).length).toBeGreaterThan(accepts.length / 2);
    const wakes = await capture.futexWakes(strace);
    expect(sorted(wakes.map((w) => w.startNs))).toBe(true);
    expect(wakes.every((w) => /^0x[0-9a-f]+$/.test(w.addr))).toBe(true);
  });

  it('keeps files without a place off the axis: no offset, no events', async () => {
    const threads = await capture.threads(null);
    const t = threads[0];
    if (!t) throw new Error('no thread');
    const none = await capture.threadEvents(t, { perf: new Map(), strace: new Map(), runtime: new Map() });
    expect([none.sched, none.syscalls, none.samples, none.cpuClock].map((x) => x.length)).toEqual([
      0, 0, 0, 0,
    ]);
    expect(await capture.samplesInWindow([t.id], 0n, 1n << 62n, new Map())).toEqual([]);
  });
});
