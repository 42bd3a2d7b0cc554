import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { createGunzip } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { ParsedItem, PerfRecord } from '@threadreel/model';
import { readLineBatches } from './lines.js';
import { parsePerfScript } from './perf-script.js';
import { parseSchedPayload } from './sched.js';

const fixture = (name: string): string =>
  fileURLToPath(new URL(`../../../test/fixtures/captures/${name}/perf.script.gz`, import.meta.url));

async function parse(text: string): Promise<ParsedItem[]> {
  const out: ParsedItem[] = [];
  for await (const item of parsePerfScript(Readable.from(text.split('\n')) as AsyncIterable<string>))
    out.push(item);
  return out;
}

describe('parseSchedPayload', () => {
  it('sched_switch with a comm holding spaces (real JVM thread, from the java fixture)', () => {
    expect(
      parseSchedPayload(
        'switch',
        'prev_comm=JFR Thread Samp prev_pid=1537 prev_prio=120 prev_state=S ==> next_comm=swapper/0 next_pid=0 next_prio=120',
      ),
    ).toEqual({
      ok: true,
      event: {
        type: 'switch',
        prevComm: 'JFR Thread Samp',
        prevPid: 1537,
        prevPrio: 120,
        prevState: 'S',
        nextComm: 'swapper/0',
        nextPid: 0,
        nextPrio: 120,
      },
    });
  });

  it('R+ (preempted), D|K flag sets and vendor fields appended after next_prio', () => {
    const r = parseSchedPayload(
      'switch',
      'prev_comm=a prev_pid=10 prev_prio=120 prev_state=R+ ==> next_comm=b c next_pid=20 next_prio=98',
    );
    expect(r.ok && r.event).toMatchObject({ prevState: 'R+', nextComm: 'b c', nextPid: 20, nextPrio: 98 });
    const k = parseSchedPayload(
      'switch',
      'prev_comm=x prev_pid=1 prev_prio=120 prev_state=D|K ==> next_comm=y next_pid=2 next_prio=120 extra_prev_state=K expeller_type=0',
    );
    expect(k.ok && k.event).toMatchObject({ prevState: 'D|K', nextPid: 2, nextPrio: 120 });
  });

  it('sched_wakeup / waking / wakeup_new, with and without success=1', () => {
    expect(parseSchedPayload('wakeup', 'comm=JFR Thread Samp pid=1537 prio=120 target_cpu=001')).toEqual({
      ok: true,
      event: { type: 'wakeup', comm: 'JFR Thread Samp', pid: 1537, prio: 120, targetCpu: 1 },
    });
    const old = parseSchedPayload(
      'wakeup_new',
      'comm=voy_network_mon pid=35456 prio=120 success=1 target_cpu=017',
    );
    expect(old.ok && old.event).toMatchObject({ type: 'wakeup_new', pid: 35456, targetCpu: 17 });
    const waking = parseSchedPayload('waking', 'comm=perf pid=13418 prio=120 target_cpu=009');
    expect(waking.ok && waking.event).toMatchObject({ type: 'waking', comm: 'perf', targetCpu: 9 });
  });

  it('says which field is wrong', () => {
    expect(
      parseSchedPayload(
        'switch',
        'prev_comm=a prev_pid=x prev_prio=1 prev_state=S ==> next_comm=b next_pid=2',
      ),
    ).toEqual({
      ok: false,
      field: 'prev_pid',
      reason: 'prev_pid is not an integer',
    });
    expect(
      parseSchedPayload('switch', 'prev_comm=a prev_pid=1 prev_prio=1 prev_state=S next_comm=b next_pid=2'),
    ).toMatchObject({
      ok: false,
      field: 'trace',
    });
    expect(
      parseSchedPayload(
        'switch',
        'prev_comm=a prev_pid=1 prev_prio=1 prev_state=?? ==> next_comm=b next_pid=2',
      ),
    ).toMatchObject({
      ok: false,
      field: 'prev_state',
    });
    expect(parseSchedPayload('wakeup', 'comm=a prio=120')).toMatchObject({ ok: false, field: 'pid' });
  });
});

describe('sched records from perf script', () => {
  it('a malformed payload is reported and the record is still kept as a tracepoint', async () => {
    const items = await parse(
      'java  1516/1537  [000]  4945.112367567:          1 sched:sched_switch: prev_comm=java prev_pid=oops ==> next_comm=b next_pid=2 next_prio=120\n',
    );
    expect(items[0]).toMatchObject({ kind: 'issue', line: 1, field: 'prev_pid' });
    expect(items[1]).toMatchObject({ kind: 'perf', event: 'sched:sched_switch' });
    expect((items[1] as PerfRecord).sched).toBeUndefined();
  });

  it.each(['java', 'node', 'python'])(
    'every sched record of the %s fixture parses, the switch is in prev context and the state set is real',
    async (name) => {
      const states = new Map<string, number>();
      let switches = 0;
      let wakeups = 0;
      let issues = 0;
      const batches = readLineBatches(createReadStream(fixture(name)).pipe(createGunzip()));
      for await (const item of parsePerfScript(batches)) {
        if (item.kind === 'issue') issues++;
        if (item.kind !== 'perf' || !item.event.startsWith('sched:')) continue;
        const s = item.sched;
        expect(s, `line ${item.line}`).toBeDefined();
        if (s?.type === 'switch') {
          switches++;
          expect(s.prevPid).toBe(item.tid);
          states.set(s.prevState, (states.get(s.prevState) ?? 0) + 1);
        } else if (s) {
          wakeups++;
          expect(s.pid).toBeGreaterThan(0);
        }
      }
      expect(issues).toBe(0);
      expect(switches).toBeGreaterThan(100);
      expect(wakeups).toBeGreaterThan(10);
      for (const state of states.keys()) expect(['R', 'R+', 'S', 'D', 't', 'I']).toContain(state);
    },
  );
});
