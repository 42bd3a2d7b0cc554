import type { SchedEvent } from '@threadreel/model';

/**
 * Scheduler tracepoint payloads as the kernel prints them (`include/trace/events/sched.h`):
 *
 *   sched_switch:  prev_comm=%s prev_pid=%d prev_prio=%d prev_state=%s%s ==> next_comm=%s next_pid=%d next_prio=%d
 *   sched_wakeup, sched_waking, sched_wakeup_new:  comm=%s pid=%d prio=%d [success=1] target_cpu=%03d
 *
 * A comm may hold spaces (`JFR Thread Samp`) and `=` signs, so a value runs up to the next
 * known key rather than to the next space. Vendor kernels append fields
 * (`extra_prev_state=…`): unknown trailing keys are ignored, never anchored on.
 */

const SCHED_TYPES: Readonly<Record<string, SchedEvent['type']>> = {
  'sched:sched_switch': 'switch',
  'sched:sched_wakeup': 'wakeup',
  'sched:sched_waking': 'waking',
  'sched:sched_wakeup_new': 'wakeup_new',
};

/** The sched event type of a perf event name, or null for any other event. */
export function schedType(event: string): SchedEvent['type'] | null {
  return SCHED_TYPES[event] ?? null;
}

export type SchedParse =
  | { readonly ok: true; readonly event: SchedEvent }
  | { readonly ok: false; readonly field: string; readonly reason: string };

/** Finds `key=` at `from` or later, preceded by the start or a space. */
function keyAt(s: string, key: string, from: number): number {
  let at = s.indexOf(key, from);
  while (at > 0 && s.charCodeAt(at - 1) !== 32) at = s.indexOf(key, at + 1);
  return at;
}

/** The value of `key=` up to the first space (or end). */
function word(s: string, at: number, key: string): string {
  const start = at + key.length;
  const end = s.indexOf(' ', start);
  return s.slice(start, end < 0 ? s.length : end);
}

function int(text: string): number | null {
  return /^-?\d{1,10}$/.test(text) ? Number(text) : null;
}

/** prev_state: `R`, `R+`, `S`, `D`, `D|K`, `I`, … (flags joined by `|`, optional `+`). */
const STATE = /^(?:[A-Za-z](?:\|[A-Za-z])*)\+?$/;

function parseSwitch(s: string): SchedParse {
  const a = keyAt(s, 'prev_comm=', 0);
  if (a < 0) return { ok: false, field: 'prev_comm', reason: 'sched_switch payload without prev_comm=' };
  const b = keyAt(s, 'prev_pid=', a + 10);
  if (b < 0) return { ok: false, field: 'prev_pid', reason: 'sched_switch payload without prev_pid=' };
  const arrow = s.indexOf(' ==> ', b);
  if (arrow < 0) return { ok: false, field: 'trace', reason: 'sched_switch payload without ` ==> `' };
  const c = keyAt(s, 'next_comm=', arrow);
  if (c < 0) return { ok: false, field: 'next_comm', reason: 'sched_switch payload without next_comm=' };
  const d = keyAt(s, 'next_pid=', c + 10);
  if (d < 0) return { ok: false, field: 'next_pid', reason: 'sched_switch payload without next_pid=' };
  const prevPid = int(word(s, b, 'prev_pid='));
  if (prevPid === null) return { ok: false, field: 'prev_pid', reason: 'prev_pid is not an integer' };
  const nextPid = int(word(s, d, 'next_pid='));
  if (nextPid === null) return { ok: false, field: 'next_pid', reason: 'next_pid is not an integer' };
  const st = keyAt(s, 'prev_state=', b);
  const prevState = st >= 0 && st < arrow ? word(s, st, 'prev_state=') : '';
  if (!STATE.test(prevState))
    return {
      ok: false,
      field: 'prev_state',
      reason: `prev_state ${JSON.stringify(prevState)} is not a task state`,
    };
  const pp = keyAt(s, 'prev_prio=', b);
  const np = keyAt(s, 'next_prio=', d);
  return {
    ok: true,
    event: {
      type: 'switch',
      prevComm: s.slice(a + 10, b - 1),
      prevPid,
      prevPrio: pp >= 0 && pp < arrow ? int(word(s, pp, 'prev_prio=')) : null,
      prevState,
      nextComm: s.slice(c + 10, d - 1),
      nextPid,
      nextPrio: np >= 0 ? int(word(s, np, 'next_prio=')) : null,
    },
  };
}

function parseWakeup(type: 'wakeup' | 'waking' | 'wakeup_new', s: string): SchedParse {
  const a = keyAt(s, 'comm=', 0);
  if (a < 0) return { ok: false, field: 'comm', reason: `sched_${type} payload without comm=` };
  const b = keyAt(s, 'pid=', a + 5);
  if (b < 0) return { ok: false, field: 'pid', reason: `sched_${type} payload without pid=` };
  const pid = int(word(s, b, 'pid='));
  if (pid === null) return { ok: false, field: 'pid', reason: 'pid is not an integer' };
  const p = keyAt(s, 'prio=', b);
  const t = keyAt(s, 'target_cpu=', b);
  const targetCpu = t >= 0 ? int(word(s, t, 'target_cpu=')) : null;
  return {
    ok: true,
    event: {
      type,
      comm: s.slice(a + 5, b - 1),
      pid,
      prio: p >= 0 ? int(word(s, p, 'prio=')) : null,
      targetCpu,
    },
  };
}

/** Parses the payload of a sched tracepoint; `type` from {@link schedType}. */
export function parseSchedPayload(type: SchedEvent['type'], payload: string): SchedParse {
  return type === 'switch' ? parseSwitch(payload) : parseWakeup(type, payload);
}
