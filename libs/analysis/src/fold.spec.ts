import { describe, expect, it } from 'vitest';
import type { PerfRecord } from '@threadreel/model';
import {
  classifyFrame,
  compareCodePoints,
  expandFrame,
  foldSampleFromRecord,
  foldStacks,
  formatFolded,
  frameDisplayName,
  processFrameName,
  type FoldSample,
} from './fold.js';

const K = '[kernel.kallsyms]';

function sample(frames: [string, string][], over: Partial<FoldSample> = {}): FoldSample {
  return {
    comm: 'app',
    pid: 10,
    tid: 11,
    event: 'cpu-clock',
    count: 1,
    frames: frames.map(([symbol, dso]) => ({ symbol, dso })),
    ...over,
  };
}

describe('classifyFrame', () => {
  it('kernel: bracketed dsos and vmlinux paths, but not [unknown]', () => {
    expect(classifyFrame(K)).toBe('kernel');
    expect(classifyFrame('[nf_conntrack_ipv4]')).toBe('kernel');
    expect(classifyFrame('/lib/modules/4.3.0-rc1-virtual/build/vmlinux')).toBe('kernel');
    expect(classifyFrame('[vdso]')).toBe('kernel');
    expect(classifyFrame('[unknown]')).toBe('user');
  });

  it('jit: perf maps and perf [JIT] dsos', () => {
    expect(classifyFrame('/tmp/perf-31912.map')).toBe('jit');
    expect(classifyFrame('[JIT] tid 1234')).toBe('jit');
  });

  it('user: everything else', () => {
    expect(classifyFrame('/usr/lib/jvm/libjvm.so')).toBe('user');
    expect(classifyFrame('/tmp/perf-x.map')).toBe('user');
  });
});

describe('frameDisplayName', () => {
  it('strips offsets, arguments and quotes; replaces ; by :', () => {
    expect(frameDisplayName('cpu_startup_entry+0x80', K)).toBe('cpu_startup_entry');
    expect(frameDisplayName('v8::Function::Call(v8::Handle<v8::Value>, int)', '/x')).toBe(
      'v8::Function::Call',
    );
    expect(frameDisplayName('RegExp:[&<>\\"\\\']', '/tmp/perf-1.map')).toBe('RegExp:[&<>\\\\]');
    expect(frameDisplayName('Lio/netty/Foo;.run', '/tmp/perf-1.map')).toBe('Lio/netty/Foo:.run');
    expect(frameDisplayName('evalmachine.<anonymous>:1', '/x')).toBe('evalmachine.<anonymous>:1');
  });

  it('keeps Go method receivers and (anonymous namespace)', () => {
    expect(frameDisplayName('net/http.(*Client).Do', '/bin/app')).toBe('net/http.(*Client).Do');
    expect(frameDisplayName('(anonymous namespace)::run(int)', '/bin/app')).toBeNull();
    expect(frameDisplayName('ns::(anonymous namespace)::run(int)', '/bin/app')).toBe(
      'ns::(anonymous namespace)::run',
    );
  });

  it('[unknown] becomes the dso base name when the dso is known', () => {
    expect(frameDisplayName('[unknown]', '/usr/bin/iperf')).toBe('[iperf]');
    expect(frameDisplayName('[unknown]', '[vdso]')).toBe('[[vdso]]');
    expect(frameDisplayName('[unknown]', '[unknown]')).toBe('[unknown]');
  });

  it('drops frames whose symbol starts with ( and tidies Java names on request', () => {
    expect(frameDisplayName('(java)', '/x')).toBeNull();
    expect(frameDisplayName('Lio/netty/Foo;.run', '/tmp/perf-1.map', { tidyJava: true })).toBe(
      'io/netty/Foo:.run',
    );
    expect(frameDisplayName('LBusy;::main', '/tmp/perf-1.map', { tidyJava: true })).toBe('LBusy:::main');
  });
});

describe('expandFrame', () => {
  const all = { annotateKernel: true, annotateJit: true };
  it('annotates kernel and JIT frames', () => {
    expect(expandFrame('schedule', K, all)).toEqual(['schedule_[k]']);
    expect(expandFrame('Interpreter', '/tmp/perf-9.map', all)).toEqual(['Interpreter_[j]']);
    expect(expandFrame('main', '/bin/app', all)).toEqual(['main']);
    expect(expandFrame('schedule', K, { annotateKernel: false, annotateJit: true })).toEqual(['schedule']);
  });

  it('splits inlined chains a->b into a;b_[i]', () => {
    expect(expandFrame('outer->inner+0x4', '/bin/app', all)).toEqual(['outer', 'inner_[i]']);
    expect(expandFrame('outer->inner', K, all)).toEqual(['outer_[k]', 'inner_[i]']);
  });
});

describe('processFrameName', () => {
  it('formats comm, pid and tid per grouping, ? for an unknown pid, _ for spaces', () => {
    expect(processFrameName('V8 WorkerThread', 24636, 25607, 'tid')).toBe('V8_WorkerThread-24636/25607');
    expect(processFrameName('java', null, 7, 'tid')).toBe('java-?/7');
    expect(processFrameName('java', null, 7, 'pid')).toBe('java-?');
    expect(processFrameName('java', 5, 7, 'none')).toBe('java');
  });
});

describe('foldStacks', () => {
  it('folds root to leaf, sums counts and keeps only the first event by default', () => {
    const folded = foldStacks(
      [
        sample([
          ['leaf', '/bin/app'],
          ['main', '/bin/app'],
        ]),
        sample([['sys_read', K]], { event: 'cycles', count: 100 }),
        sample(
          [
            ['leaf', '/bin/app'],
            ['main', '/bin/app'],
          ],
          { count: 4 },
        ),
      ],
      { groupBy: 'pid', annotateKernel: false, annotateJit: false },
    );
    expect([...folded]).toEqual([['app-10;main;leaf', 5]]);
  });

  it('folds the requested event', () => {
    const folded = foldStacks(
      [sample([['a', '/x']]), sample([['sys_read', K]], { event: 'cycles', count: 3 })],
      {
        groupBy: 'none',
        annotateKernel: true,
        annotateJit: false,
        event: 'cycles',
      },
    );
    expect([...folded]).toEqual([['app;sys_read_[k]', 3]]);
  });

  it('groups by tid, pid or nothing', () => {
    const samples = [sample([['a', '/x']], { tid: 1 }), sample([['a', '/x']], { tid: 2 })];
    const lines = (groupBy: 'tid' | 'pid' | 'none'): string =>
      formatFolded(foldStacks(samples, { groupBy, annotateKernel: false, annotateJit: false }));
    expect(lines('tid')).toBe('app-10/1;a 1\napp-10/2;a 1\n');
    expect(lines('pid')).toBe('app-10;a 2\n');
    expect(lines('none')).toBe('app;a 2\n');
  });

  it('a sample without frames folds to its process frame', () => {
    const folded = foldStacks([sample([])], { groupBy: 'none', annotateKernel: false, annotateJit: false });
    expect(formatFolded(folded)).toBe('app 1\n');
  });

  it('tidies Java names only when the process frame is exactly `java`', () => {
    const s = sample([['Lio/netty/Foo;.run', '/tmp/perf-1.map']], { comm: 'java', pid: null });
    const f = (groupBy: 'tid' | 'none'): string =>
      formatFolded(foldStacks([s], { groupBy, annotateKernel: false, annotateJit: true }));
    expect(f('none')).toBe('java;io/netty/Foo:.run_[j] 1\n');
    expect(f('tid')).toBe('java-?/11;Lio/netty/Foo:.run_[j] 1\n');
  });
});

describe('formatFolded', () => {
  it('sorts by code point, like Perl sort', () => {
    const m = new Map([
      ['b;x', 1],
      ['a;y', 2],
      ['a;\u{1F600}', 3],
      ['a;\uFFFD', 4],
      ['B', 5],
    ]);
    expect(formatFolded(m)).toBe('B 5\na;y 2\na;\uFFFD 4\na;\u{1F600} 3\nb;x 1\n');
    expect(compareCodePoints('\uFFFD', '\u{1F600}')).toBeLessThan(0);
    expect(formatFolded(new Map())).toBe('');
  });
});

describe('foldSampleFromRecord', () => {
  const rec: PerfRecord = {
    kind: 'perf',
    line: 1,
    comm: 'dd',
    pid: null,
    tid: 29776,
    cpu: null,
    timeNs: 666709_771979000n,
    period: 10101010n,
    event: 'cpu-clock',
    trace: null,
    frames: [{ addr: '414b3b', symbol: 'fsnotify', dso: '/lib/modules/4.1.0-virtual/build/vmlinux' }],
  };
  it('weights by the printed period, else 1', () => {
    expect(foldSampleFromRecord(rec).count).toBe(10101010);
    expect(foldSampleFromRecord({ ...rec, period: null }).count).toBe(1);
    expect(foldSampleFromRecord({ ...rec, period: 0n }).count).toBe(1);
  });
});
