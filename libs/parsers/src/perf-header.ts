import type { ParseIssue, SourceHeader } from '@threadreel/model';

/**
 * perf's header block: the `# key : value` lines `perf report --header-only` prints, and
 * `perf script --header` prints before the samples (tools/perf/util/header.c, one print_*
 * function per feature of perf.data).
 *
 * Header keys a perf-script or perf-header file exposes (the parse job keeps them in the file's
 * `headers`):
 *
 * - Every `# key : value` line as perf printed it, the key trimmed: `captured on` (local time of
 *   the recording, second resolution, no zone), `hostname`, `os release`, `perf version`,
 *   `cmdline` (the `perf record` command line), `event` (one line per event: the last is kept),
 *   `reference time`, `clockid frequency`, `time of first sample`, …
 * - `clockid`: the clock perf's timestamps are in — `monotonic`, `monotonic-raw`, `realtime`,
 *   `boottime`, `tai`, `clockid-<n>` for another clock id, or `perf-default` (no `-k`: perf_clock,
 *   the kernel's sched_clock, which is none of the above). This is also the file's clock. It
 *   replaces perf's own `# clockid: monotonic (1)` line (print_clock_data: `clockid_name(id)`, the
 *   first name of perf's CLOCKID_MAP with that id, then the id).
 * - `clockidFrom`: which evidence gave it, the first of: `clockid line` (that line, printed when
 *   perf.data has HEADER_CLOCK_DATA: perf ≥ 5.10 recording with `-k`); `event attr`
 *   (`use_clockid = 1, …, clockid = N` in an `# event :` line: the perf_event_attr of an older perf
 *   recording with `-k`; clockid 0 is not printed, so `use_clockid` alone means 0, realtime);
 *   `cmdline` (`-k X`, `-kX`, `--clockid X`, `--clockid=X` before `--` in the recorded command:
 *   X a name of perf's CLOCKID_MAP, any case, optionally `CLOCK_`-prefixed, or a number);
 *   `header without clock` (a perf header naming no clock: perf's default clock).
 *   A file with no header block gives neither key.
 * - `clockRefTodNs`, `clockRefClockNs`: the reference pair perf stores with `-k`
 *   (HEADER_CLOCK_DATA), from `# reference time: <local date> = S.UUUUUU (TOD) = S.NNNNNNNNN
 *   (<clock>)`: the wall-clock (CLOCK_REALTIME) time in ns and the same moment on perf's clock in
 *   ns, decimal strings computed as bigint. perf prints the TOD with microseconds only, so
 *   clockRefTodNs ends in 000 and may be up to 999 ns below the value perf stored. A perf time t
 *   (ns) is at wall time clockRefTodNs + (t − clockRefClockNs).
 */

/** Header keys that `perf script --header` and `perf report --header-only` print early. */
export const PERF_HEADER_KEYS = /^# (captured on|perf version|cmdline|event|nrcpus online|os release)\s*:/m;

/** The derived keys (kept by the parse job even past its cap on the number of header keys). */
export const PERF_CLOCK_HEADER_KEYS = ['clockid', 'clockidFrom', 'clockRefTodNs', 'clockRefClockNs'] as const;

/** Linux clock ids (include/uapi/linux/time.h) of the clocks perf's CLOCKID_MAP names. */
const CLOCK_BY_ID: Readonly<Record<string, string>> = {
  '0': 'realtime',
  '1': 'monotonic',
  '4': 'monotonic-raw',
  '7': 'boottime',
  '11': 'tai',
};

/** perf's CLOCKID_MAP names (tools/perf/util/clockid.c), lower case, without `CLOCK_`. */
const CLOCK_BY_NAME: Readonly<Record<string, string>> = {
  monotonic: 'monotonic',
  mono: 'monotonic',
  monotonic_raw: 'monotonic-raw',
  raw: 'monotonic-raw',
  realtime: 'realtime',
  real: 'realtime',
  boottime: 'boottime',
  boot: 'boottime',
  tai: 'tai',
};

/** A clock as `-k` takes it or `clockid_name` prints it → threadreel's clock name; null if unknown. */
export function perfClockName(text: string): string | null {
  const t = text.trim();
  if (/^\d{1,10}$/.test(t)) {
    const id = String(Number(t));
    return Object.hasOwn(CLOCK_BY_ID, id) ? (CLOCK_BY_ID[id] ?? null) : `clockid-${id}`;
  }
  const name = t.toLowerCase().replace(/^clock_/, '');
  return Object.hasOwn(CLOCK_BY_NAME, name) ? (CLOCK_BY_NAME[name] ?? null) : null;
}

/** `# key : value` → header; null for decoration (`# ====`, `#`, `# … info available`). */
export function parsePerfComment(line: string): SourceHeader | null {
  const colon = line.indexOf(':');
  if (colon < 0) return null;
  const key = line.slice(1, colon).trim();
  if (key.length === 0) return null;
  return { kind: 'header', key, value: line.slice(colon + 1).trim() };
}

/** `-k X` / `-kX` / `--clockid X` / `--clockid=X` of a recorded `perf record` command line. */
function cmdlineClock(cmdline: string): string | null {
  const tokens = cmdline.trim().split(/\s+/);
  for (let i = 1; i < tokens.length; i++) {
    const t = tokens[i] ?? '';
    if (t === '--') return null; // the workload's own arguments follow
    let value: string | undefined;
    if (t === '-k' || t === '--clockid') value = tokens[i + 1];
    else if (t.startsWith('--clockid=')) value = t.slice('--clockid='.length);
    else if (/^-k./.test(t)) value = t.slice(2);
    if (value !== undefined) return perfClockName(value);
  }
  return null;
}

/** The clock of an `# event :` line's perf_event_attr (`use_clockid = 1`, `clockid = N`), or null. */
function eventAttrClock(value: string): string | null {
  if (!/(?:^|, )use_clockid = 1(?:,|$)/.test(value)) return null;
  const id = /(?:^|, )clockid = (\d+)(?:,|$)/.exec(value)?.[1] ?? '0';
  return perfClockName(id);
}

const REFERENCE = /= (\d{1,12})\.(\d{6}) \(TOD\) = (\d{1,12})\.(\d{9}) \(/;

/**
 * Reads perf's header lines one at a time and yields the headers to expose: each line as
 * printed (but `clockid`), then, at {@link finish}, the derived clock keys.
 */
export class PerfHeaderReader {
  private clockLine: string | null = null;
  private eventClock: string | null = null;
  private commandClock: string | null = null;
  private sawHeader = false;
  private reference: { tod: bigint; clock: bigint } | null = null;
  private finished = false;

  /** The headers a `#` line gives (none for decoration lines). */
  comment(line: string): SourceHeader[] {
    const h = parsePerfComment(line);
    if (h === null) return [];
    this.sawHeader ||= PERF_HEADER_KEYS.test(line) || h.key === 'reference time';
    switch (h.key) {
      case 'clockid': {
        // `monotonic (1)`: the id decides (the name is perf's first alias of it).
        const m = /^(\S+) \((\d+)\)$/.exec(h.value);
        this.clockLine = m ? perfClockName(m[2] ?? '') : perfClockName(h.value);
        return [];
      }
      case 'reference time': {
        const m = REFERENCE.exec(h.value);
        if (m)
          this.reference = {
            tod: BigInt(m[1] ?? '0') * 1_000_000_000n + BigInt(m[2] ?? '0') * 1000n,
            clock: BigInt(m[3] ?? '0') * 1_000_000_000n + BigInt(m[4] ?? '0'),
          };
        break;
      }
      case 'event':
        this.eventClock ??= eventAttrClock(h.value);
        break;
      case 'cmdline':
        this.commandClock ??= cmdlineClock(h.value);
        break;
    }
    return [h];
  }

  /** The derived keys (once): `clockid`, `clockidFrom`, `clockRefTodNs`, `clockRefClockNs`. */
  finish(): SourceHeader[] {
    if (this.finished) return [];
    this.finished = true;
    const out: SourceHeader[] = [];
    const header = (key: string, value: string) => out.push({ kind: 'header', key, value });
    const [clock, from] =
      this.clockLine !== null
        ? [this.clockLine, 'clockid line']
        : this.eventClock !== null
          ? [this.eventClock, 'event attr']
          : this.commandClock !== null
            ? [this.commandClock, 'cmdline']
            : this.sawHeader
              ? ['perf-default', 'header without clock']
              : [null, null];
    if (clock !== null && from !== null) {
      header('clockid', clock);
      header('clockidFrom', from);
    }
    if (this.reference !== null) {
      header('clockRefTodNs', this.reference.tod.toString());
      header('clockRefClockNs', this.reference.clock.toString());
    }
    return out;
  }
}

/**
 * A perf header on its own (`perf report --header-only`): `#` lines, nothing else. Every
 * header line gives its header (see the keys above); a line that is not a `#` line is an issue.
 */
export async function* parsePerfHeaderOnly(
  lines: AsyncIterable<string>,
): AsyncGenerator<SourceHeader | ParseIssue> {
  const reader = new PerfHeaderReader();
  let lineNo = 0;
  let inCmdline = false;
  for await (const raw of lines) {
    lineNo++;
    const line = raw.replace(/\r$/, '');
    if (line.trim().length === 0) continue;
    if (line.startsWith('#')) {
      inCmdline = /^#\s*cmdline\s*:/.test(line);
      yield* reader.comment(line);
    } else if (inCmdline) {
      // An argument holding a newline runs on over lines of its own: part of the command line
      // (kept as printed up to its first line; the clock flags come before any such argument).
      continue;
    } else
      yield {
        kind: 'issue',
        line: lineNo,
        field: 'line',
        reason: 'not a # header line (a perf header holds no samples)',
      };
  }
  yield* reader.finish();
}

/**
 * Whether a file's first text is a perf header alone: every non-blank line a `#` line, and
 * perf's own keys among them (`captured on`, `perf version`, `cmdline`…). `perf script --header`
 * output has samples after the header; that is perf-script.
 */
export function sniffPerfHeaderOnly(text: string): boolean {
  if (!PERF_HEADER_KEYS.test(text)) return false;
  const lines = text.split('\n');
  if (!text.endsWith('\n') && lines.length > 1) lines.pop();
  // perf prints the command line's arguments as they were: one holding a newline (`python3
  // -c '…'`) runs on over lines of its own until the next `#` line.
  let inCmdline = false;
  return lines.every((l) => {
    if (l.startsWith('#')) {
      inCmdline = /^#\s*cmdline\s*:/.test(l);
      return true;
    }
    return l.trim().length === 0 || inCmdline;
  });
}
