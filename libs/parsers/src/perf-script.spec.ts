import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { ParsedItem, PerfRecord } from '@threadreel/model';
import {
  parsePerfFrame,
  parsePerfHeader,
  parsePerfScript,
  parsePerfScriptBatches,
  stripSymbolOffset,
  type PerfHeader,
} from './perf-script.js';
import { batchesOf } from './testing/batches.js';

function linesOf(text: string): AsyncIterable<string> {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return Readable.from(lines) as AsyncIterable<string>;
}

async function parse(text: string): Promise<ParsedItem[]> {
  const out: ParsedItem[] = [];
  for await (const item of parsePerfScript(linesOf(text))) out.push(item);
  return out;
}

const records = (items: ParsedItem[]): PerfRecord[] =>
  items.filter((i): i is PerfRecord => i.kind === 'perf');

function header(line: string): PerfHeader {
  const r = parsePerfHeader(line);
  if (!r.ok) throw new Error(`expected a header: ${r.reason}`);
  return r.header;
}

describe('parsePerfHeader', () => {
  it('default system-wide layout: comm, tid, [cpu], time, period, event', () => {
    expect(header('simple-terminat     9 [000] 202513.231785:    1001001 cpu-clock: ')).toEqual({
      comm: 'simple-terminat',
      pid: null,
      tid: 9,
      cpu: 0,
      timeNs: 202513_231785000n,
      period: 1001001n,
      event: 'cpu-clock',
      trace: null,
      frame: null,
    });
  });

  it('per-process layout without cpu', () => {
    const h = header('simple-terminat    10 198792.736893:    1001001 cpu-clock:');
    expect([h.tid, h.cpu, h.timeNs, h.period]).toEqual([10, null, 198792_736893000n, 1001001n]);
  });

  it('pid/tid without period', () => {
    const h = header('simple-terminat     9/9     198791.127353: cpu-clock: ');
    expect([h.pid, h.tid, h.period, h.event]).toEqual([9, 9, null, 'cpu-clock']);
  });

  it('comm with spaces, pid/tid and cpu', () => {
    const h = header('V8 WorkerThread 24636/25607 [000] 94564.109216: 100 cycles:');
    expect([h.comm, h.pid, h.tid, h.cpu, h.period, h.event]).toEqual([
      'V8 WorkerThread',
      24636,
      25607,
      0,
      100n,
      'cycles',
    ]);
  });

  it('comm containing digit words is not mistaken for the tid', () => {
    const h = header('Thread 12 pool 4567 [003] 1.500000: cycles:');
    expect([h.comm, h.tid, h.cpu]).toEqual(['Thread 12 pool', 4567, 3]);
  });

  it('no time and no cpu (old perf, perf record -p)', () => {
    const h = header('func_ab 15294 cpu-clock: ');
    expect([h.comm, h.tid, h.timeNs, h.cpu, h.event]).toEqual(['func_ab', 15294, null, null, 'cpu-clock']);
  });

  it('event modifiers are kept', () => {
    const h = header('trace    6061 150520.991529:   16949152 task-clock:ppp: ');
    expect([h.event, h.period]).toEqual(['task-clock:ppp', 16949152n]);
    expect(header('a 1 1.0: cpu/event=0x3c,umask=0x1/: ').event).toBe('cpu/event=0x3c,umask=0x1/');
  });

  it('tracepoint payload after the event, with pid/tid and period', () => {
    const h = header(
      'client  2344/2345  [007] 342165.258739:          1 sched:sched_switch: prev_comm=client prev_pid=2345 prev_prio=120 prev_state=S ==> next_comm=swapper/7 next_pid=0 next_prio=120',
    );
    expect(h).toMatchObject({
      comm: 'client',
      pid: 2344,
      tid: 2345,
      cpu: 7,
      period: 1n,
      event: 'sched:sched_switch',
    });
    expect(h.trace).toBe(
      'prev_comm=client prev_pid=2345 prev_prio=120 prev_state=S ==> next_comm=swapper/7 next_pid=0 next_prio=120',
    );
  });

  it('right-aligned comm and event padding, comm with slash', () => {
    const h = header(
      '     migration/9      67 [009] 105373.359903:                     sched:sched_waking: comm=perf pid=13418 prio=120 target_cpu=009',
    );
    expect(h).toMatchObject({
      comm: 'migration/9',
      tid: 67,
      cpu: 9,
      event: 'sched:sched_waking',
      period: null,
    });
    expect(h.trace).toBe('comm=perf pid=13418 prio=120 target_cpu=009');
  });

  it('`:<tid>` comm of a thread perf never saw a COMM record for', () => {
    const h = header(
      '            :256     256 [016] 105373.359913:                                vpa-dtl: timebase: 21403600706628832 ...',
    );
    expect(h).toMatchObject({
      comm: ':256',
      tid: 256,
      cpu: 16,
      event: 'vpa-dtl',
      trace: 'timebase: 21403600706628832 ...',
    });
  });

  it('comm with colon and dash (kworker)', () => {
    const h = header(
      'kworker/3:3-eve   123 [003] 10.000001: sched:sched_switch: prev_comm=kworker/3:3 prev_pid=123',
    );
    expect([h.comm, h.tid, h.event]).toEqual(['kworker/3:3-eve', 123, 'sched:sched_switch']);
  });

  it('--ns nine-digit times never go through a float', () => {
    expect(header('a 1 [000] 1.000000123: sched:sched_switch: x=1').timeNs).toBe(1_000_000_123n);
    expect(header('a 1 [000] 9007199.254740993: cycles:').timeNs).toBe(9_007_199_254_740_993n);
  });

  it('misc K/U letter and tod', () => {
    expect(header('sched-messaging  1414 K     28690.636582:       4590 cycles: ')).toMatchObject({
      comm: 'sched-messaging',
      tid: 1414,
      period: 4590n,
      event: 'cycles',
    });
    const h = header('perf 261340 2020-07-13 18:26:55.620971621 152919.481538922:          1 cycles: ');
    expect([h.tid, h.timeNs, h.period]).toEqual([261340, 152919_481538922n, 1n]);
  });

  it('sched_wakeup_new with a padded time column', () => {
    const h = header(
      'swapper  2196 [001]  9113.810904:   sched:sched_wakeup_new: comm=voy_network_mon pid=35456 prio=120 target_cpu=017',
    );
    expect(h).toMatchObject({
      comm: 'swapper',
      tid: 2196,
      cpu: 1,
      timeNs: 9113_810904000n,
      event: 'sched:sched_wakeup_new',
    });
  });

  it('ip sym dso printed on the header line when there is no call graph', () => {
    const h = header('simple 10 198792.736893: 1 cpu-clock:          643 _Z4betav+0x10 (/workdir/simple)');
    expect(h.trace).toBeNull();
    expect(h.frame).toEqual({ addr: '643', symbol: '_Z4betav', dso: '/workdir/simple' });
  });

  it('rejects lines that are not headers, naming the field when it can', () => {
    expect(parsePerfHeader('hello world')).toMatchObject({ ok: false });
    expect(parsePerfHeader('java 123 [000] 12.3456789012: cycles:')).toMatchObject({
      ok: false,
      field: 'time',
    });
    expect(parsePerfHeader('java 123 [000] 1.2.3: cycles:')).toMatchObject({ ok: false, field: 'time' });
  });
});

describe('parsePerfFrame', () => {
  it('plain frame', () => {
    expect(parsePerfFrame('\t          400570 func_b (/root/lang/func_ab)')).toEqual({
      addr: '400570',
      symbol: 'func_b',
      dso: '/root/lang/func_ab',
    });
  });

  it('strips +0x offsets and keeps kernel addresses as text', () => {
    expect(parsePerfFrame('\tffffffffad135f6f native_safe_halt+0x1f ([kernel.kallsyms])')).toEqual({
      addr: 'ffffffffad135f6f',
      symbol: 'native_safe_halt',
      dso: '[kernel.kallsyms]',
    });
  });

  it('symbols with spaces and parentheses: the dso is the last group', () => {
    expect(
      parsePerfFrame(
        '\t    7f6b41abe926 JavaCalls::call_helper(JavaValue*, methodHandle*, JavaCallArguments*, Thread*) (/usr/lib/jvm/libjvm.so)',
      ),
    ).toMatchObject({
      symbol: 'JavaCalls::call_helper(JavaValue*, methodHandle*, JavaCallArguments*, Thread*)',
      dso: '/usr/lib/jvm/libjvm.so',
    });
    expect(
      parsePerfFrame('\t c6d78255e68 RegExp:\\bFoo ?Bar(?:/[\\d.]+|[ \\w.]*) (/tmp/perf-31912.map)'),
    ).toMatchObject({
      symbol: 'RegExp:\\bFoo ?Bar(?:/[\\d.]+|[ \\w.]*)',
      dso: '/tmp/perf-31912.map',
    });
    expect(parsePerfFrame('\t 1234 (anonymous namespace)::run() (/opt/my app/bin)')).toMatchObject({
      symbol: '(anonymous namespace)::run()',
      dso: '/opt/my app/bin',
    });
  });

  it('dso with a nested ` (deleted)` suffix', () => {
    expect(parsePerfFrame('\t 55d0 main (/usr/bin/app (deleted))')).toMatchObject({
      symbol: 'main',
      dso: '/usr/bin/app (deleted)',
    });
  });

  it('unknown symbols and dsos, JIT dsos', () => {
    expect(parsePerfFrame('\t 6ce258d4c544155 [unknown] ([unknown])')).toEqual({
      addr: '6ce258d4c544155',
      symbol: '[unknown]',
      dso: '[unknown]',
    });
    expect(parsePerfFrame('\t 7f08 Interpreter ([JIT] tid 1234)')).toMatchObject({ dso: '[JIT] tid 1234' });
    expect(parsePerfFrame('\t 7f08')).toEqual({ addr: '7f08', symbol: '[unknown]', dso: '[unknown]' });
  });

  it('srcline lines are not frames', () => {
    expect(parsePerfFrame('  uniform_int_dist.h:300')).toBeNull();
    expect(parsePerfFrame('  libc-2.33.so[27b25]')).toBeNull();
    expect(parsePerfFrame('  deadbeef.c:12')).toBeNull();
  });

  it('stripSymbolOffset only strips a trailing lowercase hex offset', () => {
    expect(stripSymbolOffset('cpu_startup_entry+0x800047c022ec')).toBe('cpu_startup_entry');
    expect(stripSymbolOffset('a+b')).toBe('a+b');
    expect(stripSymbolOffset('operator+0xzz')).toBe('operator+0xzz');
    expect(stripSymbolOffset('+0x10')).toBe('+0x10');
  });
});

describe('parsePerfScript', () => {
  it('yields header facts and records with leaf-first frames; a cut last call chain is an issue', async () => {
    const items = await parse(
      [
        '# ========',
        '# captured on: Sun Oct 25 23:31:43 2015',
        '# hostname : lgud-bgregg',
        '# HEADER_CPU_TOPOLOGY info available, use -I to display',
        '#',
        'java 12688 [002] 6544038.708352: 235 cpu-clock: ',
        '\tffffffff8104f45a native_write_msr_safe ([kernel.kallsyms])',
        '\t    7f26dc479340 __write_nocancel+0x10 (/lib/x86_64-linux-gnu/libpthread-2.19.so)',
        '',
        'java 12689 [003] 6544038.708360: 235 cpu-clock: ',
        '\t    7f26cab4c0b0 [unknown] ([unknown])',
      ].join('\n'),
    );
    expect(items.filter((i) => i.kind === 'header')).toEqual([
      { kind: 'header', key: 'captured on', value: 'Sun Oct 25 23:31:43 2015' },
      { kind: 'header', key: 'hostname', value: 'lgud-bgregg' },
      // A header naming no clock (perf 3.13 had no -k): perf's default clock.
      { kind: 'header', key: 'clockid', value: 'perf-default' },
      { kind: 'header', key: 'clockidFrom', value: 'header without clock' },
    ]);
    // The file closes call chains with blank lines, but its last one is not closed: cut mid-record.
    expect(items.filter((i) => i.kind === 'issue')).toEqual([
      {
        kind: 'issue',
        line: 10,
        field: 'record',
        reason: expect.stringMatching(/not closed by a blank line/) as string,
      },
    ]);
    const [a, b] = records(items);
    expect(a).toMatchObject({ kind: 'perf', line: 6, comm: 'java', tid: 12688, cpu: 2, period: 235n });
    expect(a?.frames.map((f) => f.symbol)).toEqual(['native_write_msr_safe', '__write_nocancel']);
    expect(b).toBeUndefined();
  });

  it('keeps the last record when the file never closes call chains with blank lines', async () => {
    const rs = records(await parse('a 1 1.0: cycles:\n\t 10 f (/x)\na 2 2.0: cycles:\n\t 20 g (/x)'));
    expect(rs.map((r) => [r.tid, r.frames[0]?.symbol])).toEqual([
      [1, 'f'],
      [2, 'g'],
    ]);
  });

  it('tracepoints with stacks and one-line records without blank lines (no call graph)', async () => {
    const rs = records(
      await parse(
        [
          'swapper     0 [002]  9113.660136:       sched:sched_switch: prev_comm=swapper/2 prev_pid=0 prev_prio=120 prev_state=S ==> next_comm=lidar_node next_pid=21302 next_prio=120',
          'swapper     0 [002]  9113.660967:       sched:sched_wakeup: comm=lidar_node pid=21302 prio=120 target_cpu=002',
          '     migration/9      67 [009] 105373.359908:                     sched:sched_switch: prev_comm=migration/9 prev_pid=67 prev_prio=0 prev_state=S ==> next_comm=swapper/9 next_pid=0 next_prio=120',
          'chronyc  4123/4123  [001]  2057.379201:          1     sched:sched_switch: prev_comm=chronyc prev_pid=4123 prev_prio=120 prev_state=R+ ==> next_comm=rcu_preempt next_pid=15 next_prio=98',
          '    c0b5783c __schedule ([kernel.kallsyms])',
          '    c0b57fb8 preempt_schedule_irq ([kernel.kallsyms])',
          '',
        ].join('\n'),
      ),
    );
    expect(rs.map((r) => [r.line, r.comm, r.tid, r.event, r.frames.length])).toEqual([
      [1, 'swapper', 0, 'sched:sched_switch', 0],
      [2, 'swapper', 0, 'sched:sched_wakeup', 0],
      [3, 'migration/9', 67, 'sched:sched_switch', 0],
      [4, 'chronyc', 4123, 'sched:sched_switch', 2],
    ]);
    expect(rs[1]?.trace).toBe('comm=lidar_node pid=21302 prio=120 target_cpu=002');
    expect(rs[3]?.trace).toContain('prev_state=R+');
  });

  it('reports bad lines with line numbers and keeps parsing', async () => {
    const items = await parse(
      [
        '\t  400570 func_b (/root/lang/func_ab)', // 1: stack line outside a record
        'func_ab 15294 cpu-clock: ', // 2
        '\t          400570 func_b (/root/lang/func_ab)',
        '',
        'this is not perf output', // 5: bad header, its stack lines are skipped
        '\t          400577 func_b (/root/lang/func_ab)',
        '',
        'java 123 [000] 12.3456789012: cycles:', // 8: unparsable time
        '\t          4005b1 main (/root/lang/func_ab)',
        '',
        'func_ab 15294 cpu-clock: ', // 11
        '\t          4005b1 main (/root/lang/func_ab)',
        '',
        '',
      ].join('\n'),
    );
    const issues = items.filter((i) => i.kind === 'issue');
    expect(issues.map((i) => [i.line, i.field])).toEqual([
      [1, 'frame'],
      [5, 'header'],
      [8, 'time'],
    ]);
    expect(issues[0]?.reason).toMatch(/outside a record/);
    expect(issues[2]?.reason).toMatch(/unparsable time '12.3456789012'/);
    expect(records(items).map((r) => r.line)).toEqual([2, 11]);
  });

  it('ignores -F +srcline lines under frames', async () => {
    const rs = records(
      await parse(
        [
          'a.out 35081 252436.005167:     667783 cycles:',
          '\t                  408ebb some_method_name+0x8b (/full/path/to/a.out)',
          '  uniform_int_dist.h:300',
          '\t            7f6d2148eb25 __libc_start_main+0xd5 (/lib64/libc-2.33.so)',
          '  libc-2.33.so[27b25]',
          '',
        ].join('\n'),
      ),
    );
    expect(rs[0]?.frames.map((f) => f.symbol)).toEqual(['some_method_name', '__libc_start_main']);
  });

  it('accepts stack lines whose indentation was stripped', async () => {
    const items = await parse(
      [
        '',
        'java 19983 cycles:',
        'ffffffff8103d0ca native_write_msr_safe ([kernel.kallsyms])',
        '7f72 start_thread (/lib/libpthread.so)',
        '',
      ].join('\n'),
    );
    expect(items.filter((i) => i.kind === 'issue')).toEqual([]);
    expect(records(items)[0]?.frames.map((f) => f.symbol)).toEqual(['native_write_msr_safe', 'start_thread']);
  });

  it('treats whitespace-only lines as record separators', async () => {
    const rs = records(
      await parse('a 1 1.0: cycles:\n\t 10 f (/x)\n   \na 2 2.0: cycles:\n\t 20 g (/x)\n\n'),
    );
    expect(rs.map((r) => [r.tid, r.frames[0]?.symbol])).toEqual([
      [1, 'f'],
      [2, 'g'],
    ]);
  });
});

describe('parsePerfScriptBatches', () => {
  const text = gunzipSync(
    readFileSync(new URL('../../../test/fixtures/captures/java/perf.script.gz', import.meta.url)),
  ).toString('utf8');

  it('yields, batch by batch, exactly the items parsePerfScript yields one by one', async () => {
    const one = await parse(text);
    const batches = await batchesOf((l) => parsePerfScriptBatches(l), text);
    expect(batches.length).toBeGreaterThan(1);
    expect(batches.every((b) => b.length > 0)).toBe(true);
    expect(batches.flat()).toEqual(one);
    expect(records(one).length).toBeGreaterThan(1000);
  });

  it('numbers lines from firstLine (a byte range of a file)', async () => {
    const input = 'a 1 1.5: cpu-clock:\n\tnot a frame\n\n';
    const items: ParsedItem[] = [];
    for await (const b of parsePerfScriptBatches(linesOf(input), { firstLine: 101 })) items.push(...b);
    expect(items.map((i) => [i.kind, 'line' in i ? i.line : null])).toEqual([
      ['issue', 102],
      ['perf', 101],
    ]);
  });
});
