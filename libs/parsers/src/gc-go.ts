import type { GcEvent, GcParsedItem } from './gc-common.js';
import { allDigits, issue, msToNanos, parseDecimalScaled } from './gc-common.js';

/**
 * Go `GODEBUG=gctrace=1` lines (stderr):
 *
 *   gc <n> @<sec>s <pct>%: <a>+<b>+<c> ms clock, <cpu…> ms cpu, <x>-><y>-><z> MB, <goal> MB goal, … <p> P [(forced)]
 *
 * `@<sec>s` is seconds since program start at the GC start (clock 'process-start'). Each line
 * gives three events laid end to end from that start: `sweep termination` (STW, a),
 * `mark and scan` (concurrent, b — also for `(forced)`, which only says `runtime.GC()` asked for
 * the cycle: Go ≥ 1.9 runs it concurrently unless GODEBUG=gcstoptheworld is set), `mark termination`
 * (STW, c). The heap transition (start → end MB, MiB) is put on the `mark termination` event.
 * There is no thread information: tid is null.
 *
 * Everything that does not start with `gc <digit>` (program output, `scvg`, pacer traces) is
 * skipped silently; a `gc N …` line that cannot be read is an issue.
 */

const MIB = 1024n * 1024n;

export function isGoGctraceLine(line: string): boolean {
  return line.startsWith('gc ') && line.length > 3 && line.charCodeAt(3) >= 48 && line.charCodeAt(3) <= 57;
}

export async function* parseGoGctrace(lines: AsyncIterable<string>): AsyncGenerator<GcParsedItem> {
  let lineNo = 0;
  for await (const raw of lines) {
    lineNo++;
    if (!isGoGctraceLine(raw)) continue;
    const line = raw.length > 4096 ? raw.slice(0, 4096) : raw;
    const t = line.trimEnd().split(' ');
    const idText = t[1] ?? '';
    const at = t[2] ?? '';
    if (!allDigits(idText) || idText.length > 9) {
      yield issue(lineNo, 'bad GC number', 'gc');
      continue;
    }
    const startNs = at.startsWith('@') && at.endsWith('s') ? parseDecimalScaled(at.slice(1, -1), 9) : null;
    if (startNs === null) {
      yield issue(lineNo, `unreadable start '${at}'`, 'time');
      continue;
    }
    const clockIdx = t.indexOf('clock,');
    const phases = clockIdx >= 2 && t[clockIdx - 1] === 'ms' ? (t[clockIdx - 2] ?? '').split('+') : [];
    const ns = phases.map(msToNanos);
    const [a, b, c] = ns;
    if (ns.length !== 3 || a == null || b == null || c == null) {
      yield issue(lineNo, 'expected <a>+<b>+<c> ms clock', 'clock');
      continue;
    }
    let heapBefore: bigint | undefined;
    let heapAfter: bigint | undefined;
    for (let k = 0; k + 1 < t.length; k++) {
      const tok = t[k] ?? '';
      if (tok.includes('->') && t[k + 1] === 'MB,') {
        const parts = tok.split('->');
        if (parts.length >= 2 && allDigits(parts[0] ?? '') && allDigits(parts[1] ?? '')) {
          heapBefore = BigInt(parts[0] ?? '0') * MIB;
          heapAfter = BigInt(parts[1] ?? '0') * MIB;
        }
        break;
      }
    }
    const forced = line.trimEnd().endsWith('(forced)');
    const gcId = Number(idText);
    const base = {
      kind: 'gc',
      line: lineNo,
      runtime: 'go',
      tid: null,
      clock: 'process-start',
      gcId,
      ...(forced ? { cause: 'forced' } : {}),
    } as const;
    const e1: GcEvent = { ...base, phase: 'sweep termination', pause: true, startNs, durationNs: a };
    const e2: GcEvent = {
      ...base,
      phase: 'mark and scan',
      pause: false,
      startNs: startNs + a,
      durationNs: b,
    };
    const e3: GcEvent = {
      ...base,
      phase: 'mark termination',
      pause: true,
      startNs: startNs + a + b,
      durationNs: c,
      ...(heapBefore === undefined || heapAfter === undefined
        ? {}
        : { heapBeforeBytes: heapBefore, heapAfterBytes: heapAfter }),
    };
    yield e1;
    yield e2;
    yield e3;
  }
}
