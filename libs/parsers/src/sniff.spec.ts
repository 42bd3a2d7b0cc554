import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { sniffFormat } from './sniff.js';

const PERF = [
  '# ========',
  '# captured on: Sun Oct 25 23:31:43 2015',
  '# perf version : 3.13.11-ckt12',
  '# ========',
  '#',
  'ab 23927 [000] 184694.229089: cycles: ',
  '\tffffffff8104f45a native_write_msr_safe ([kernel.kallsyms])',
  '',
].join('\n');

describe('sniffFormat', () => {
  it('recognises perf script text, with or without the --header block', () => {
    expect(sniffFormat(Buffer.from(PERF), 'out.txt')).toBe('perf-script');
    expect(
      sniffFormat(
        Buffer.from('java 12688/12764 6544038.708352: 10309278 cpu-clock:\n\t 4005 main (/a)\n'),
        'x',
      ),
    ).toBe('perf-script');
    expect(
      sniffFormat(
        Buffer.from('func_ab 15294 cpu-clock: \n\t          400570 func_b (/root/lang/func_ab)\n'),
        'x',
      ),
    ).toBe('perf-script');
    expect(
      sniffFormat(
        Buffer.from(
          '     migration/9      67 [009] 105373.359903:   sched:sched_waking: comm=perf pid=13418 prio=120\n',
        ),
        'trace',
      ),
    ).toBe('perf-script');
  });

  it('recognises gzipped perf script from the first chunk only', () => {
    const big = Buffer.from(
      PERF + 'ab 23927 [000] 184694.229097: cycles: \n\t ffff x ([kernel.kallsyms])\n\n'.repeat(5000),
    );
    const gz = gzipSync(big);
    expect(sniffFormat(gz.subarray(0, 512), 'perf.txt.gz')).toBe('perf-script');
  });

  it('tolerates a first chunk cut in the middle of a line', () => {
    const text = 'ab 23927 [000] 184694.229089: cycles: \n\tffffffff8104f45a native_wr';
    expect(sniffFormat(Buffer.from(text), 'x')).toBe('perf-script');
  });

  it('returns null for other formats and binary data', () => {
    expect(sniffFormat(Buffer.from('PERFILE2\0\0\0\0'), 'perf.data')).toBeNull();
    expect(sniffFormat(Buffer.from('{"resourceSpans": []}\n'), 'spans.json')).toBeNull();
    expect(
      sniffFormat(Buffer.from('1234  12:00:00.123456 futex(0x7f, FUTEX_WAIT, 0) = 0\n'), 'strace.out'),
    ).toBeNull();
    expect(sniffFormat(Buffer.from('2024-01-01 12:00:00 INFO [main] starting\n'), 'app.log')).toBeNull();
    expect(sniffFormat(Buffer.alloc(0), 'empty.txt')).toBeNull();
    expect(sniffFormat(Buffer.from([0x1f, 0x8b, 0x00, 0x01]), 'bad.gz')).toBeNull();
    expect(sniffFormat(readFileSync(new URL(import.meta.url)), 'sniff.spec.ts')).toBeNull();
  });
});
