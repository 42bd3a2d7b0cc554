import { describe, expect, it } from 'vitest';
import { lostEventWarnings, perfRecordArgv, perfScriptArgv, recordedSamples } from './perf.js';
import { straceArgv } from './strace.js';

describe('perf and strace command lines', () => {
  it('records cpu-clock by frequency and every sched switch/wakeup, on CLOCK_MONOTONIC', () => {
    expect(perfRecordArgv('perf', 42, 199, '/b/.perf.data').join(' ')).toBe(
      'perf record -k mono -g --sample-cpu -N -c 1 -e cpu-clock/freq=199,name=cpu-clock/ ' +
        '-e sched:sched_switch -e sched:sched_wakeup -p 42 -o /b/.perf.data',
    );
    // No global -F: it would throttle the tracepoints too.
    expect(perfRecordArgv('perf', 42, 999, 'x')).not.toContain('-F');
  });

  it('converts with per-type field lists', () => {
    expect(perfScriptArgv('/usr/bin/perf', 'p.data')).toEqual([
      '/usr/bin/perf',
      'script',
      '-i',
      'p.data',
      '--header',
      '--ns',
      '-F',
      'sw:comm,pid,tid,cpu,time,period,event,ip,sym,dso',
      '-F',
      'trace:comm,pid,tid,cpu,time,period,event,trace,ip,sym,dso',
    ]);
  });

  it('limits call chains with --max-stack when asked', () => {
    const argv = perfScriptArgv('perf', 'p.data', 24);
    expect(argv.slice(argv.indexOf('--max-stack'), argv.indexOf('--max-stack') + 2)).toEqual([
      '--max-stack',
      '24',
    ]);
  });

  it('straces every thread with realtime stamps, durations and fd paths', () => {
    expect(straceArgv('strace', 42, 'out.txt')).toEqual([
      'strace',
      '-f',
      '-ttt',
      '-T',
      '-yy',
      '-p',
      '42',
      '-o',
      'out.txt',
    ]);
  });
});

describe('perf output', () => {
  it('finds the sample count', () => {
    expect(
      recordedSamples(
        '[ perf record: Woken up 4335 times to write data ]\n[ perf record: Captured and wrote 4.928 MB /b/.perf.data (12049 samples) ]\n',
      ),
    ).toBe(12049);
    expect(recordedSamples('nothing')).toBeNull();
  });

  it('turns perf warnings about lost data into one line each', () => {
    const stderr =
      'Warning:\nProcessed 230530 events and lost 7 chunks!\n\nCheck IO/CPU overload!\n\n' +
      'Warning:\n12 out of order events recorded.\n\n[ perf record: Captured and wrote 1 MB x (10 samples) ]\n';
    expect(lostEventWarnings(stderr)).toEqual([
      'Processed 230530 events and lost 7 chunks!',
      '12 out of order events recorded.',
    ]);
    expect(lostEventWarnings('[ perf record: Woken up 1 times to write data ]\n')).toEqual([]);
  });
});
