/**
 * Capture-wide lists (GC pauses, bindings, fd hand-offs) that every request consults for its
 * own window: sorted by start once, so each request reads only the entries near its window
 * (binary search, then a walk bounded by the longest entry) instead of the whole list — a
 * scan per request made request analysis quadratic in the capture's size.
 */
export class IntervalIndex<T> {
  private readonly starts: bigint[];
  private readonly entries: { end: bigint; order: number; value: T }[];
  private readonly longest: bigint;

  constructor(values: readonly T[], start: (v: T) => bigint, end: (v: T) => bigint) {
    const sorted = values
      .map((value, order) => ({ start: start(value), end: end(value), order, value }))
      .sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : a.order - b.order));
    this.starts = sorted.map((e) => e.start);
    this.entries = sorted.map(({ end: e, order, value }) => ({ end: e, order, value }));
    let longest = 0n;
    for (const e of sorted) if (e.end - e.start > longest) longest = e.end - e.start;
    this.longest = longest;
  }

  /**
   * The entries with start ≤ hi and end ≥ lo (a superset of any stricter overlap test the
   * caller applies after), in the order they were given.
   */
  overlapping(lo: bigint, hi: bigint): T[] {
    const from = lo - this.longest;
    // First entry starting at or after `from`.
    let a = 0;
    let b = this.starts.length;
    while (a < b) {
      const m = (a + b) >> 1;
      if ((this.starts[m] ?? 0n) < from) a = m + 1;
      else b = m;
    }
    const hits: { order: number; value: T }[] = [];
    for (let i = a; i < this.starts.length && (this.starts[i] ?? 0n) <= hi; i++) {
      const e = this.entries[i];
      if (e && e.end >= lo) hits.push(e);
    }
    return hits.sort((x, y) => x.order - y.order).map((e) => e.value);
  }
}

/** Per key, an {@link IntervalIndex} of the values with that key. */
export function indexBy<T>(
  values: readonly T[],
  key: (v: T) => string,
  start: (v: T) => bigint,
  end: (v: T) => bigint,
): Map<string, IntervalIndex<T>> {
  const groups = new Map<string, T[]>();
  for (const v of values) {
    const k = key(v);
    const list = groups.get(k);
    if (list) list.push(v);
    else groups.set(k, [v]);
  }
  return new Map([...groups].map(([k, list]) => [k, new IntervalIndex(list, start, end)]));
}
