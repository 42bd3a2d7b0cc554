import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { ParseIssue, StraceExit, StraceItem, StraceSignal, StraceSyscall } from '@threadreel/model';
import { batchesOf } from './testing/batches.js';
import { parseStrace, parseStraceBatches, parseStraceFd, splitStraceArgs } from './strace.js';

function linesOf(text: string): AsyncIterable<string> {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return Readable.from(lines) as AsyncIterable<string>;
}

async function parseLines(lines: readonly string[]): Promise<StraceItem[]> {
  const out: StraceItem[] = [];
  for await (const item of parseStrace(Readable.from(lines) as AsyncIterable<string>)) out.push(item);
  return out;
}

async function parse(text: string): Promise<StraceItem[]> {
  const out: StraceItem[] = [];
  for await (const item of parseStrace(linesOf(text))) out.push(item);
  return out;
}

const calls = (items: StraceItem[]): StraceSyscall[] =>
  items.filter((i): i is StraceSyscall => i.kind === 'syscall');
const issues = (items: StraceItem[]): ParseIssue[] =>
  items.filter((i): i is ParseIssue => i.kind === 'issue');
const signals = (items: StraceItem[]): StraceSignal[] =>
  items.filter((i): i is StraceSignal => i.kind === 'signal');
const exits = (items: StraceItem[]): StraceExit[] => items.filter((i): i is StraceExit => i.kind === 'exit');

function capture(name: string): string {
  const url = new URL(`../../../test/fixtures/captures/${name}/strace.txt.gz`, import.meta.url);
  return gunzipSync(readFileSync(url)).toString('utf8');
}

describe('parseStrace: verbatim samples (input-formats.md §2.3)', () => {
  it('merges unfinished/resumed across interleaved tids', async () => {
    const items = await parse(
      [
        '[pid 28772] select(4, [3], NULL, NULL, NULL <unfinished ...>',
        '[pid 28779] clock_gettime(CLOCK_REALTIME, {tv_sec=1130322148, tv_nsec=3977000}) = 0',
        '[pid 28772] <... select resumed> )      = 1 (in [3])',
      ].join('\n'),
    );
    expect(issues(items)).toEqual([]);
    const [clock, select] = calls(items);
    expect(clock).toMatchObject({ name: 'clock_gettime', tid: 28779, ret: '0', line: 2, category: 'other' });
    expect(clock!.args).toBe('CLOCK_REALTIME, {tv_sec=1130322148, tv_nsec=3977000}');
    expect(select).toMatchObject({
      name: 'select',
      tid: 28772,
      line: 1,
      resumedLine: 3,
      args: '4, [3], NULL, NULL, NULL',
      ret: '1',
      retDetail: 'in [3]',
      category: 'poll',
      startNs: null,
      durationNs: null,
    });
    expect(select!.unfinished).toBeUndefined();
  });

  it('restart after a signal, signal lines, killed exit and a never-resumed call', async () => {
    const items = await parse(
      [
        'read(0, 0x7ffff72cf5cf, 1)              = ? ERESTARTSYS (To be restarted)',
        '--- SIGALRM {si_signo=SIGALRM, si_code=SI_KERNEL} ---',
        'rt_sigreturn({mask=[]})                 = 0',
        'read(0, "", 1)                          = 0',
        'sigsuspend([] <unfinished ...>',
        '--- SIGINT {si_signo=SIGINT, si_code=SI_USER, si_pid=...} ---',
        '+++ killed by SIGINT +++',
      ].join('\n'),
    );
    expect(issues(items)).toEqual([]);
    const c = calls(items);
    expect(c[0]).toMatchObject({
      name: 'read',
      ret: '?',
      errno: 'ERESTARTSYS',
      errnoText: 'To be restarted',
      tid: null,
    });
    expect(c[2]).toMatchObject({ name: 'read', args: '0, "", 1', ret: '0' });
    expect(c[3]).toMatchObject({ name: 'sigsuspend', args: '[]', ret: null, unfinished: 'never-resumed' });
    expect(signals(items).map((s) => [s.signal, s.info])).toEqual([
      ['SIGALRM', '{si_signo=SIGALRM, si_code=SI_KERNEL}'],
      ['SIGINT', '{si_signo=SIGINT, si_code=SI_USER, si_pid=...}'],
    ]);
    expect(exits(items)).toMatchObject([{ how: 'killed', signal: 'SIGINT', coreDumped: false, code: null }]);
  });

  it('status-filtered lines with -ttt epoch timestamps keep bigint start times', async () => {
    const items = await parse(
      [
        '[pid 28779] 1130322148.939977 clock_gettime(CLOCK_REALTIME, {1130322148, 939977000}) = 0',
        '[pid 28772] 1130322148.438139 select(4, [3], NULL, NULL, NULL) = 1 (in [3])',
      ].join('\n'),
    );
    expect(issues(items)).toEqual([]);
    expect(calls(items).map((c) => c.startNs)).toEqual([1130322148_939977000n, 1130322148_438139000n]);
  });

  it('futex with -f -t -T: time of day, -T duration, futex op and address', async () => {
    const items = await parse(
      [
        '[pid 21518] 09:14:34 futex(0xc0000ba4c8, FUTEX_WAIT_PRIVATE, 0, NULL <unfinished ...>',
        '[pid 21496] 09:14:34 futex(0x96bb20, FUTEX_WAKE_PRIVATE, 1 <unfinished ...>',
        '[pid 21493] 09:14:34 futex(0x96bb40, FUTEX_WAIT_PRIVATE, 0, {4, 939313694} <unfinished ...>',
        '[pid 21496] 09:14:34 <... futex resumed> ) = 0 <0.000021>',
        '[pid 21491] 09:14:34 futex(0x967d30, FUTEX_WAIT_PRIVATE, 0, {60, 0} <unfinished ...>',
        '[pid 21493] 09:14:39 futex(0x967d30, FUTEX_WAKE_PRIVATE, 1) = 1 <0.000013>',
      ].join('\n'),
    );
    expect(issues(items)).toEqual([]);
    const c = calls(items);
    const wake = c.find((x) => x.tid === 21496)!;
    expect(wake).toMatchObject({
      futexAddr: '0x96bb20',
      futexOp: 'FUTEX_WAKE_PRIVATE',
      args: '0x96bb20, FUTEX_WAKE_PRIVATE, 1',
      durationNs: 21_000n,
      startNs: null,
      timeOfDayNs: (9n * 3600n + 14n * 60n + 34n) * 1_000_000_000n,
      category: 'lock',
      ret: '0',
    });
    const wake2 = c.find((x) => x.line === 6)!;
    expect(wake2).toMatchObject({ durationNs: 13_000n, ret: '1', futexAddr: '0x967d30' });
    // The three waits never resumed before the end of input.
    expect(c.filter((x) => x.unfinished === 'never-resumed').map((x) => x.tid)).toEqual([
      21518, 21493, 21491,
    ]);
  });

  it('attach with threads: status line skipped, restart_syscall merged', async () => {
    const items = await parse(
      [
        'strace: Process 8302 attached with 5 threads',
        '[pid  8306] futex(0xc000061948, FUTEX_WAIT_PRIVATE, 0, NULL <unfinished ...>',
        '[pid  8303] restart_syscall(<... resuming interrupted read ...> <unfinished ...>',
        '[pid  8302] epoll_pwait(4, [{events=EPOLLIN|EPOLLOUT, data={u32=759693314, u64=9179953998470840322}}], 128, -1, NULL, 0) = 1',
        '[pid  8302] futex(0x1171da0, FUTEX_WAKE_PRIVATE, 1 <unfinished ...>',
        '[pid  8303] <... restart_syscall resumed>) = 0',
      ].join('\n'),
    );
    expect(issues(items)).toEqual([]);
    const c = calls(items);
    expect(c[0]).toMatchObject({ name: 'epoll_pwait', tid: 8302, category: 'poll', ret: '1' });
    expect(c[1]).toMatchObject({
      name: 'restart_syscall',
      tid: 8303,
      line: 3,
      resumedLine: 6,
      args: '<... resuming interrupted read ...>',
      ret: '0',
    });
  });

  it('status message spliced into the middle of a syscall line', async () => {
    const items = await parse(
      [
        '[pid 29799] arch_prctl(ARCH_SET_FS, 0xc000078410strace: Process 29800 attached',
        ' <unfinished ...>',
        '[pid 29799] <... arch_prctl resumed>) = 0',
        '[pid 29797] <... rt_sigprocmask resumed>NULL, 8) = 0',
      ].join('\n'),
    );
    expect(issues(items)).toEqual([]);
    const c = calls(items);
    expect(c[0]).toMatchObject({
      name: 'arch_prctl',
      line: 1,
      resumedLine: 3,
      args: 'ARCH_SET_FS, 0xc000078410',
    });
    expect(c[1]).toMatchObject({
      name: 'rt_sigprocmask',
      unfinished: 'resumed-only',
      args: 'NULL, 8',
      tid: 29797,
    });
  });

  it('partial args before unfinished and output args after resumed', async () => {
    const items = await parse(
      [
        '[pid 195519] getsockname(6,  <unfinished ...>',
        '[pid 195519] <... getsockname resumed>{sa_family=AF_INET, sin_port=htons(47746), sin_addr=inet_addr("172.16.0.46")}, [112->16]) = 0',
        '[pid 192595] read(6,  <unfinished ...>',
        '[pid 192595] <... read resumed>"HTTP/1.1 200 OK\\r\\nBdpagetype: 1\\r\\n..."..., 4096) = 4096',
      ].join('\n'),
    );
    expect(issues(items)).toEqual([]);
    const c = calls(items);
    expect(c[0]).toMatchObject({
      name: 'getsockname',
      args: '6, {sa_family=AF_INET, sin_port=htons(47746), sin_addr=inet_addr("172.16.0.46")}, [112->16]',
      category: 'net',
    });
    expect(c[1]).toMatchObject({ name: 'read', ret: '4096', category: 'other', fd: null });
  });

  it('detach on Ctrl-C', async () => {
    const items = await parse(
      ['[pid    46] epoll_wait(5, ^CProcess 46 detached', ' <detached ...>', 'Process 47 detached'].join(
        '\n',
      ),
    );
    expect(issues(items)).toEqual([]);
    expect(calls(items)).toMatchObject([
      { name: 'epoll_wait', tid: 46, args: '5,', unfinished: 'detached', ret: null },
    ]);
  });

  it('exit, superseded and killed lines with -o pid prefixes', async () => {
    const items = await parse(
      [
        '1234  nanosleep({tv_sec=123, tv_nsec=0} <unfinished ...>) = ?',
        '1234  +++ superseded by execve in pid 1230 +++',
        '1230  exit_group(0) = ?',
        '1230  +++ exited with 0 +++',
        '--- SIGUSR1 {si_signo=SIGUSR1, si_code=SI_KERNEL} ---',
        '+++ killed by SIGSEGV (core dumped) +++',
        '--- stopped by SIGSTOP ---',
        'nanosleep({tv_sec=1, tv_nsec=0}, NULL) = 0 <1.000>',
      ].join('\n'),
    );
    expect(issues(items)).toEqual([]);
    const c = calls(items);
    expect(c[0]).toMatchObject({
      name: 'nanosleep',
      tid: 1234,
      ret: '?',
      unfinished: 'never-resumed',
      category: 'sleep',
    });
    expect(c[2]).toMatchObject({ durationNs: 1_000_000_000n, category: 'sleep' });
    expect(exits(items)).toMatchObject([
      { how: 'superseded', tid: 1234, supersededBy: 1230 },
      { how: 'exited', tid: 1230, code: 0 },
      { how: 'killed', signal: 'SIGSEGV', coreDumped: true, tid: null },
    ]);
    expect(signals(items)[1]).toMatchObject({ signal: 'SIGSTOP', stopped: true });
  });

  it('execve in a non-leader thread resumes under the leader id; bare then prefixed lines pair', async () => {
    const items = await parse(
      [
        'read(0,  <unfinished ...>',
        '[pid  1231] execve("/bin/true", ["true"], 0x7ffd /* 3 vars */ <unfinished ...>',
        '[pid  1230] +++ superseded by execve in pid 1231 +++',
        '[pid  1230] <... execve resumed>) = 0',
        '[pid  1229] <... read resumed>"", 1) = 0',
      ].join('\n'),
    );
    expect(issues(items)).toEqual([]);
    const c = calls(items);
    expect(c).toHaveLength(2);
    expect(c[0]).toMatchObject({ name: 'execve', line: 2, resumedLine: 4, tid: 1230, ret: '0' });
    expect(c[0]!.unfinished).toBeUndefined();
    expect(c[1]).toMatchObject({ name: 'read', line: 1, resumedLine: 5, tid: 1229, args: '0, "", 1' });
    expect(c[1]!.unfinished).toBeUndefined();
  });

  it('ns timestamps, errno with text, decorated return values', async () => {
    const items = await parse(
      [
        '4242  1700000000.123456789 openat(AT_FDCWD, "/nope", O_RDONLY) = -1 ENOENT (No such file or directory) <0.000012345>',
        '4242  1700000000.200000000 openat(AT_FDCWD, "/etc/passwd", O_RDONLY|O_CLOEXEC) = 3</etc/passwd> <0.000010>',
        '4242  1700000000.300000000 fcntl(3</etc/passwd>, F_SETLKW, {l_type=F_WRLCK, l_whence=SEEK_SET, l_start=0, l_len=0}) = 0',
        '4242  1700000000.400000000 write(1</dev/pts/0<char 136:0>>, "a)b,c=\\"d", 9) = 9',
        '4242  1700000000.500000000 write(4<TCP:[127.0.0.1:5432->127.0.0.1:40000]>, "x", 1) = 1',
        '4242  1700000000.600000000 fsync(7</tmp/x>(deleted)) = 0',
        '4242  1700000000.700000000 exit_group(0) = ? <unavailable>',
      ].join('\n'),
    );
    expect(issues(items)).toEqual([]);
    const c = calls(items);
    expect(c[0]).toMatchObject({
      startNs: 1700000000_123456789n,
      durationNs: 12_345n,
      ret: '-1',
      errno: 'ENOENT',
      errnoText: 'No such file or directory',
      category: 'file',
    });
    expect(c[1]!.fd).toMatchObject({ num: 3, kind: 'file', path: '/etc/passwd' });
    expect(c[2]).toMatchObject({ category: 'lock' });
    expect(c[3]).toMatchObject({ category: 'file', ret: '9' });
    expect(c[3]!.fd).toMatchObject({ num: 1, kind: 'file', path: '/dev/pts/0', device: 'char 136:0' });
    expect(c[4]).toMatchObject({ category: 'net' });
    expect(c[4]!.fd).toMatchObject({
      kind: 'socket',
      protocol: 'TCP',
      local: '127.0.0.1:5432',
      peer: '127.0.0.1:40000',
    });
    expect(c[5]!.fd).toMatchObject({ kind: 'file', path: '/tmp/x', deleted: true });
    expect(c[6]).toMatchObject({ ret: '?', durationNs: null });
  });

  it('elapsed time from both halves when -T is missing, across midnight for -tt', async () => {
    const items = await parse(
      [
        '[pid 1] 23:59:59.900000 read(3</a>,  <unfinished ...>',
        '[pid 1] 00:00:00.100000 <... read resumed>"", 10) = 0',
        '[pid 2] 1.5 poll([{fd=3, events=POLLIN}], 1, 100 <unfinished ...>',
        '[pid 2] 2.25 <... poll resumed>) = 0 (Timeout)',
      ].join('\n'),
    );
    expect(issues(items)).toEqual([]);
    const [read, poll] = calls(items);
    expect(read).toMatchObject({ durationNs: 200_000_000n, category: 'file', args: '3</a>, "", 10' });
    expect(poll).toMatchObject({ durationNs: 750_000_000n, startNs: 1_500_000_000n, retDetail: 'Timeout' });
  });

  it('reports malformed lines with line numbers and keeps going', async () => {
    const items = await parse(
      [
        'garbage here',
        '[pid 12 read(3) = 0',
        'read(3, "abc"',
        'read(3) 0',
        '99:99:99 read(3) = 0',
        'write(1, "ok", 2) = 2',
        '<... x resumed',
        '--- SIGX',
        '+++ exploded +++',
      ].join('\n'),
    );
    expect(issues(items).map((i) => i.line)).toEqual([1, 2, 3, 4, 5, 7, 8, 9]);
    expect(issues(items).every((i) => i.reason.length > 0)).toBe(true);
    expect(calls(items)).toHaveLength(1);
  });
});

describe('parseStrace: fast paths and their fallbacks', () => {
  it('finds the argument list close quote-aware, not at the last `) = `', async () => {
    const items = await parse(
      [
        '123  1700000000.000001 write(1, "a) = 5 <0.1>", 12) = 12 <0.000010>',
        '123  1700000000.000002 write(1, "x) = 1", 6 <unfinished ...>',
        '123  1700000000.000004 <... write resumed>) = 6 <0.000002>',
        '125  1700000000.000005 openat(AT_FDCWD, "/tmp", O_RDONLY) = 3</tmp/we ird) = x>',
        String.raw`125  1700000000.000009 write(1, "a\") = 1\\", 3) = 3 <0.000001>`,
      ].join('\n'),
    );
    expect(issues(items)).toEqual([]);
    const [w1, w2, open, w3] = calls(items);
    expect(w1).toMatchObject({ args: '1, "a) = 5 <0.1>", 12', ret: '12', durationNs: 10_000n, line: 1 });
    expect(w2).toMatchObject({
      args: '1, "x) = 1", 6',
      ret: '6',
      line: 2,
      resumedLine: 3,
      durationNs: 2_000n,
    });
    expect(w2!.unfinished).toBeUndefined();
    // `) = ` inside a decorated return value: the close is the first top-level `)`.
    expect(open).toMatchObject({
      args: 'AT_FDCWD, "/tmp", O_RDONLY',
      ret: '3</tmp/we ird) = x>',
      durationNs: null,
    });
    expect(open!.fd).toMatchObject({ num: 3, kind: 'file', path: '/tmp/we ird) = x' });
    // An escaped quote does not end the string; an escaped backslash before a quote does.
    expect(w3).toMatchObject({ args: String.raw`1, "a\") = 1\\", 3`, ret: '3' });
  });

  it('results: errno with text, hex with detail, `?`, missing and odd durations', async () => {
    const items = await parse(
      [
        '125  1700000000.000006 read(0, "", 4096) = -1 EAGAIN (Resource temporarily unavailable) <0.000020>',
        '125  1700000000.000007 fcntl(3, F_GETFL) = 0x2 (flags O_RDWR) <0.000005>',
        '125  1700000000.000008 mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, -1, 0) = 0x7f0000 <0.000010>',
        '125  1700000000.000014 gettid()        = 125 <5>',
        '125  1700000000.000015 gettid() = 125 <unavailable>',
        '125  1700000000.000016 gettid() = 125',
        '125  1700000000.000017 exit_group(0)   = ?',
      ].join('\n'),
    );
    expect(issues(items)).toEqual([]);
    const [read, fcntl, mmap, t1, t2, t3, exit] = calls(items);
    expect(read).toMatchObject({
      ret: '-1',
      errno: 'EAGAIN',
      errnoText: 'Resource temporarily unavailable',
      retDetail: null,
      durationNs: 20_000n,
      startNs: 1_700_000_000_000_006_000n,
    });
    expect(fcntl).toMatchObject({ ret: '0x2', errno: null, retDetail: 'flags O_RDWR', durationNs: 5_000n });
    expect(mmap).toMatchObject({ ret: '0x7f0000', durationNs: 10_000n });
    expect(t1).toMatchObject({ ret: '125', durationNs: 5_000_000_000n });
    expect(t2).toMatchObject({ ret: '125', durationNs: null });
    expect(t3).toMatchObject({ ret: '125', durationNs: null });
    expect(exit).toMatchObject({ name: 'exit_group', ret: '?', durationNs: null });
  });

  it('fds: leading decoration, arrows, nested -yy device, (deleted); futex address and op', async () => {
    const items = await parse(
      [
        '125  1700000000.000010 close(3</tmp/gone>(deleted)) = 0 <0.000001>',
        '125  1700000000.000011 read(4<TCP:[127.0.0.1:1->127.0.0.1:2]>, "x", 1) = 1 <0.000003>',
        '125  1700000000.000012 read(5</dev/null<char 1:3>>, "", 1) = 0 <0.000003>',
        '125  1700000000.000013 futex(0x7f00 , FUTEX_WAKE_PRIVATE, 1) = 0 <0.000004>',
        '125  1700000000.000014 futex_waitv([{uaddr=0x1, val=0}], 1, 0, NULL, CLOCK_MONOTONIC) = 0',
      ].join('\n'),
    );
    expect(issues(items)).toEqual([]);
    const [close, tcp, dev, futex, waitv] = calls(items);
    expect(close!.fd).toEqual({ num: 3, kind: 'file', raw: '/tmp/gone', path: '/tmp/gone', deleted: true });
    expect(tcp!.fd).toMatchObject({ num: 4, kind: 'socket', local: '127.0.0.1:1', peer: '127.0.0.1:2' });
    expect(tcp!.category).toBe('net');
    expect(dev!.fd).toMatchObject({ num: 5, kind: 'file', path: '/dev/null', device: 'char 1:3' });
    expect(futex).toMatchObject({ futexAddr: '0x7f00', futexOp: 'FUTEX_WAKE_PRIVATE', category: 'lock' });
    expect(waitv).toMatchObject({ futexAddr: '[{uaddr=0x1, val=0}]', futexOp: '1' });
  });

  it('-t/-tt time of day with and without [pid N]; a spliced status line under -ttt', async () => {
    const items = await parse(
      [
        '12:00:01 gettid() = 5 <0.000001>',
        '[pid 7] 12:00:01.5 futex(0x10, FUTEX_WAKE_PRIVATE, 1) = 0 <0.000002>',
        '1234  1700000000.000001 futex(0x7f00, FUTEX_WAIT_PRIVATE, 0, NULLstrace: Process 99 attached',
        ' <unfinished ...>',
        '1234  1700000000.000002 <... futex resumed>) = -1 ETIMEDOUT (Connection timed out) <0.001000>',
      ].join('\n'),
    );
    expect(issues(items)).toEqual([]);
    const [a, b, c] = calls(items);
    expect(a).toMatchObject({ tid: null, startNs: null, timeOfDayNs: 43_201_000_000_000n, ret: '5' });
    expect(b).toMatchObject({ tid: 7, timeOfDayNs: 43_201_500_000_000n, futexAddr: '0x10' });
    expect(c).toMatchObject({
      tid: 1234,
      line: 3,
      resumedLine: 5,
      args: '0x7f00, FUTEX_WAIT_PRIVATE, 0, NULL',
      errno: 'ETIMEDOUT',
      durationNs: 1_000_000n,
      startNs: 1_700_000_000_000_001_000n,
    });
  });
});

describe('parseStraceFd / splitStraceArgs', () => {
  it('decodes socket, unix, pipe and other decorations', () => {
    expect(parseStraceFd('3<TCP:[12345]>')).toMatchObject({
      kind: 'socket',
      protocol: 'TCP',
      local: '12345',
    });
    expect(parseStraceFd('3<TCPv6:[[::1]:5432->[::1]:40000]>')).toMatchObject({
      protocol: 'TCPv6',
      local: '[::1]:5432',
      peer: '[::1]:40000',
    });
    expect(parseStraceFd('3<UNIX-STREAM:[123456,"net-yy-unix.socket"]>')).toMatchObject({
      kind: 'socket',
      protocol: 'UNIX-STREAM',
      local: '123456',
      path: 'net-yy-unix.socket',
    });
    expect(parseStraceFd('9<socket:[77]>')).toMatchObject({ kind: 'socket', protocol: 'socket' });
    expect(parseStraceFd('5<pipe:[999]>')).toMatchObject({ kind: 'pipe' });
    expect(parseStraceFd('16<anon_inode:[eventpoll]>')).toMatchObject({
      kind: 'other',
      raw: 'anon_inode:[eventpoll]',
    });
    expect(parseStraceFd('3<unterminated')).toBeNull();
    expect(parseStraceFd('AT_FDCWD')).toBeNull();
  });

  it('splits quote- and bracket-aware', () => {
    expect(splitStraceArgs('1, "a, b)", {x=1, y=[2, 3]}, 4<UDP:[1.2.3.4:5->6.7.8.9:10]>')).toEqual([
      '1',
      '"a, b)"',
      '{x=1, y=[2, 3]}',
      '4<UDP:[1.2.3.4:5->6.7.8.9:10]>',
    ]);
    expect(splitStraceArgs('')).toEqual([]);
  });
});

describe('parseStrace: real recordings', () => {
  for (const name of ['java', 'node', 'python'] as const) {
    it(`${name}: no issues, bigint timestamps, categories and fds`, async () => {
      const text = capture(name);
      const items = await parse(text);
      expect(issues(items)).toEqual([]);
      const c = calls(items);
      expect(c.length).toBeGreaterThan(1000);
      for (const x of c) {
        expect(typeof x.startNs).toBe('bigint');
        expect(x.tid).not.toBeNull();
        if (x.durationNs !== null) expect(typeof x.durationNs).toBe('bigint');
      }
      // Lines are consumed exactly once: each syscall line is one event or half of a merged one.
      const lineCount = text.split('\n').filter((l) => l.length > 0).length;
      const merged = c.filter((x) => x.resumedLine !== null && x.unfinished === undefined).length;
      expect(c.length + merged + signals(items).length + exits(items).length).toBe(lineCount);
      expect(merged).toBeGreaterThan(0);

      const futex = c.filter((x) => x.name === 'futex');
      expect(futex.length).toBeGreaterThan(100);
      expect(futex.every((x) => x.category === 'lock' && x.futexAddr!.startsWith('0x'))).toBe(true);
      expect(futex.some((x) => x.futexOp === 'FUTEX_WAIT_BITSET_PRIVATE|FUTEX_CLOCK_REALTIME')).toBe(true);

      const fsync = c.filter((x) => x.name === 'fsync');
      expect(fsync.length).toBeGreaterThan(0);
      for (const f of fsync) {
        expect(f.category).toBe('file');
        expect(f.fd?.kind).toBe('file');
        expect(f.fd?.path).toMatch(/^\//);
      }

      const connect = c.filter((x) => x.name === 'connect');
      expect(connect.length).toBeGreaterThan(0);
      for (const k of connect) {
        expect(k.category).toBe('net');
        expect(k.fd?.kind).toBe('socket');
        expect(k.fd?.protocol).toMatch(/^(TCP|UDP|UNIX)/);
      }
      // Data transfer on sockets is classed by the fd decoration (node/java write, python sendto).
      const io = ['write', 'writev', 'read', 'sendto', 'recvfrom'];
      expect(c.some((x) => io.includes(x.name) && x.category === 'net' && x.fd?.kind === 'socket')).toBe(
        true,
      );
    });
  }

  it('java: split pairs merged with start of the first half and -T duration', async () => {
    const items = await parse(capture('java'));
    const c = calls(items);
    const merged = c.filter((x) => x.resumedLine !== null && x.unfinished === undefined);
    expect(merged.length).toBeGreaterThan(1000);
    for (const m of merged) {
      expect(m.resumedLine!).toBeGreaterThan(m.line);
      expect(m.durationNs).not.toBeNull();
    }
    // The capture ends with strace detaching: calls still blocked at the end stay unfinished.
    expect(c.some((x) => x.unfinished === 'never-resumed')).toBe(true);
    // Line 1 is the attach listener's accept, blocked for the whole capture.
    const accept = c.find((x) => x.name === 'accept' && x.line === 1)!;
    expect(accept.unfinished).toBe('never-resumed');
    expect(accept.fd).toMatchObject({
      kind: 'socket',
      protocol: 'UNIX-STREAM',
      path: '/tmp/.java_pid1516.tmp',
    });
  });
});

describe('parseStrace: mutated input never throws', () => {
  it('truncated, spliced and byte-flipped lines of a real file', async () => {
    const lines = capture('node').split('\n').slice(0, 2000);
    let seed = 12345;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const junk = ['(', ')', '"', '<', '>', '{', '[', '\\', ' ', '=', '<unfinished ...>', '\u0000', '—'];
    let totalIssues = 0;
    for (let iter = 0; iter < 15; iter++) {
      const mutated = lines.map((l) => {
        if (l.length === 0 || rnd(4) !== 0) return l;
        const at = rnd(l.length);
        switch (rnd(4)) {
          case 0:
            return l.slice(0, at);
          case 1:
            return l.slice(0, at) + junk[rnd(junk.length)]! + l.slice(at);
          case 2:
            return l.slice(0, at) + l.slice(at + 1 + rnd(10));
          default:
            return l.slice(at);
        }
      });
      const items = await parseLines(mutated);
      const iss = issues(items);
      totalIssues += iss.length;
      for (const i of iss) {
        expect(i.line).toBeGreaterThan(0);
        expect(i.line).toBeLessThanOrEqual(mutated.length);
        expect(i.reason.length).toBeGreaterThan(0);
      }
    }
    expect(totalIssues).toBeGreaterThan(0);
  });
});

describe('parseStraceBatches', () => {
  it('yields, batch by batch, exactly the items parseStrace yields one by one', async () => {
    const text = capture('node');
    const one = await parse(text);
    const batches = await batchesOf((l) => parseStraceBatches(l), text);
    expect(batches.length).toBeGreaterThan(1);
    expect(batches.every((b) => b.length > 0)).toBe(true);
    expect(batches.flat()).toEqual(one);
  });

  it('numbers lines from firstLine (a byte range of a file)', async () => {
    const items: StraceItem[] = [];
    const input = '12 10:00:00.000001 getpid() = 12\n12 10:00:00.000002 nonsense\n';
    for await (const b of parseStraceBatches(linesOf(input), { firstLine: 41 })) items.push(...b);
    expect(items.map((i) => [i.kind, i.line])).toEqual([
      ['syscall', 41],
      ['issue', 42],
    ]);
  });
});
