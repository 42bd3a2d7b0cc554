import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Children, commandLine, endedCleanly } from './children.js';
import { runTool } from './tools.js';

/** Running (a zombie does not count: here pid 1 may be slow to reap orphans). */
function alive(pid: number | undefined): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) [ZX] /.test(stat);
  } catch {
    return false;
  }
}

describe('Children', () => {
  it('stops a child with the asked signal', async () => {
    const children = new Children();
    const child = children.spawn('sleep', ['sleep', '30']);
    expect(child.running()).toBe(true);
    const exit = await child.stop('SIGINT', 5000);
    expect(exit.signal).toBe('SIGINT');
    expect(endedCleanly(exit)).toBe(true);
    expect(children.size).toBe(0);
  });

  it('escalates to SIGTERM when the child ignores the first signal', async () => {
    const children = new Children();
    const child = children.spawn('stubborn', ['sh', '-c', 'trap "" INT; echo ready; sleep 30 & wait']);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const started = Date.now();
    const exit = await child.stop('SIGINT', 300);
    expect(exit.signal).toBe('SIGTERM');
    expect(Date.now() - started).toBeLessThan(3000);
    expect(child.output()).toContain('ready');
  });

  it('stopAll leaves nothing running, grandchildren in the group included', async () => {
    const children = new Children();
    const a = children.spawn('a', ['sleep', '30']);
    const b = children.spawn('b', ['sh', '-c', 'sleep 30 & echo $!; wait']);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const grandchild = Number(b.output().trim());
    expect(alive(grandchild)).toBe(true);
    await children.stopAll(1000);
    expect(children.size).toBe(0);
    expect(a.running() || b.running()).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(alive(grandchild)).toBe(false);
  });

  it('reports a program that cannot start without throwing', async () => {
    const run = await runTool(new Children(), 'nope', ['/nonexistent/program']);
    expect(run.ok).toBe(false);
    expect(run.exit.error?.message).toContain('ENOENT');
  });

  it('quotes command lines for the manifest', () => {
    expect(commandLine(['perf', 'record', '-e', 'cpu-clock/freq=199,name=cpu-clock/', "it's", 'a b'])).toBe(
      `perf record -e cpu-clock/freq=199,name=cpu-clock/ 'it'\\''s' 'a b'`,
    );
  });
});
