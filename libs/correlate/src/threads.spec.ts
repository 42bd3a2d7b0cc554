import { describe, expect, it } from 'vitest';
import { inferRuntime } from './threads.js';

const t = (pid: number, tid: number, ...names: string[]) => ({ pid, tid, names });

describe('inferRuntime', () => {
  it('files only one runtime writes decide it', () => {
    expect(inferRuntime(['perf-script', 'strace', 'node-trace-gc'], []).runtime).toBe('node');
    expect(inferRuntime(['jvm-unified', 'jstack', null], []).runtime).toBe('jvm');
    expect(inferRuntime(['python-gc-jsonl'], []).runtime).toBe('python');
    expect(inferRuntime(['go-gctrace'], []).runtime).toBe('go');
  });
  it('files of two runtimes decide nothing', () => {
    const r = inferRuntime(['node-trace-gc', 'jvm-unified'], [t(1, 1, 'node')]);
    expect(r.runtime).toBeNull();
    expect(r.evidence).toMatch(/several runtimes/);
  });
  it('else the main thread’s name (the executable) or the JVM’s own threads', () => {
    // Node 20 names no thread: every comm is the executable's (plain node capture's listing).
    expect(inferRuntime(['perf-script'], [t(787, 787, 'node'), t(787, 788, 'node')]).runtime).toBe('node');
    expect(inferRuntime([], [t(452, 452, 'python3'), t(452, 455, 'worker_0')]).runtime).toBe('python');
    expect(inferRuntime([], [t(9, 9, 'python3.11')]).runtime).toBe('python');
    expect(inferRuntime([], [t(5, 5, 'myapp'), t(5, 7, 'C2 CompilerThre')]).runtime).toBe('jvm');
    // A worker thread called "node" is not the main thread: no verdict from it.
    expect(inferRuntime([], [t(5, 5, 'myapp'), t(5, 6, 'node')]).runtime).toBeNull();
    expect(inferRuntime([], []).runtime).toBeNull();
  });
});
