/**
 * Where correlation spends its time: the ports' reads and writes (the store) against the
 * pipeline's own work. `timed(port, name, clock)` wraps every method of a port so each call's
 * wall time (until its promise settles) is added to `clock` under `name.method`; the job log
 * gets one line per run (`PortClock.summary`), which is how a slow capture is diagnosed
 * without a profiler (the figures are wall time: overlapping calls would be counted twice,
 * and the pipeline awaits each call before the next).
 */
export class PortClock {
  private readonly calls = new Map<string, { n: number; ns: bigint }>();
  private readonly started = process.hrtime.bigint();
  private readonly stages: string[] = [];
  private lastMark = this.started;

  /** Ends a stage of the pipeline begun at the previous mark (or the start). */
  mark(stage: string): void {
    const now = process.hrtime.bigint();
    this.stages.push(`${stage} ${seconds(now - this.lastMark)}`);
    this.lastMark = now;
  }

  add(key: string, ns: bigint): void {
    const c = this.calls.get(key);
    if (c) {
      c.n++;
      c.ns += ns;
    } else this.calls.set(key, { n: 1, ns });
  }

  /** Total wall time spent in the ports so far. */
  portNs(): bigint {
    let t = 0n;
    for (const c of this.calls.values()) t += c.ns;
    return t;
  }

  /** `total 12.3 s: pipeline 4.1 s, source.threadEvents 5.0 s (31), sink.threadSegments …` (largest first). */
  summary(top = 8): string {
    const total = process.hrtime.bigint() - this.started;
    const port = this.portNs();
    const parts = [...this.calls.entries()]
      .sort((a, b) => (a[1].ns < b[1].ns ? 1 : a[1].ns > b[1].ns ? -1 : 0))
      .slice(0, top)
      .map(([k, c]) => `${k} ${seconds(c.ns)} (${c.n})`);
    const stages = this.stages.length ? ` [${this.stages.join(', ')}]` : '';
    return `total ${seconds(total)}${stages}: pipeline ${seconds(total - port)}, ${parts.join(', ')}`;
  }
}

function seconds(ns: bigint): string {
  return `${(Number(ns / 1_000_000n) / 1000).toFixed(2)} s`;
}

/** `port` with each method timed into `clock` as `name.method` (same object identity semantics otherwise). */
export function timed<T extends object>(port: T, name: string, clock: PortClock): T {
  return new Proxy(port, {
    get(target, prop, receiver) {
      const v: unknown = Reflect.get(target, prop, receiver);
      if (typeof v !== 'function' || typeof prop !== 'string') return v;
      const fn = v as (...args: unknown[]) => unknown;
      return (...args: unknown[]): unknown => {
        const t0 = process.hrtime.bigint();
        const out = fn.apply(target, args);
        if (out instanceof Promise)
          return out.finally(() => clock.add(`${name}.${prop}`, process.hrtime.bigint() - t0));
        clock.add(`${name}.${prop}`, process.hrtime.bigint() - t0);
        return out;
      };
    },
  });
}
