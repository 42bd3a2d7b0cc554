import { describe, expect, it } from 'vitest';
import { RecordError, RecordExit } from './exit-codes.js';
import {
  CAP_PERFMON,
  CAP_SYS_ADMIN,
  CAP_SYS_PTRACE,
  checkPrivileges,
  checkTools,
  detectRuntime,
  findInPath,
  hasCap,
  inspectTarget,
  parseCapEff,
  parseProcStat,
  readPrivileges,
  type Privileges,
  type SystemView,
} from './preflight.js';

const ALL_CAPS = 0x1ffffffffffn;
const caps = (...bits: number[]): bigint => bits.reduce((sum, bit) => sum | (1n << BigInt(bit)), 0n);

/** /proc/self/status as the kernel writes it, with the given effective set. */
function status(capEff: bigint): string {
  return `Name:\tnode\nUid:\t0\t0\t0\t0\nCapInh:\t0000000000000000\nCapPrm:\t${capEff.toString(16).padStart(16, '0')}\nCapEff:\t${capEff.toString(16).padStart(16, '0')}\nCapBnd:\t000001ffffffffff\n`;
}

function privileges(overrides: Partial<Privileges>): Privileges {
  return { euid: 0, capEff: ALL_CAPS, paranoid: 2, ptraceScope: 1, tracefsReadable: true, ...overrides };
}

function system(files: Record<string, string>, overrides: Partial<SystemView> = {}): SystemView {
  return {
    readText: (path) => files[path] ?? null,
    readLink: (path) => files[`link:${path}`] ?? null,
    isExecutable: (path) => files[`exec:${path}`] !== undefined,
    euid: 0,
    env: {},
    ...overrides,
  };
}

describe('capabilities', () => {
  it('reads CapEff from /proc/self/status', () => {
    expect(parseCapEff(status(ALL_CAPS))).toBe(ALL_CAPS);
    expect(parseCapEff('Name:\tx\n')).toBeNull();
    expect(hasCap(caps(CAP_SYS_PTRACE), CAP_SYS_PTRACE)).toBe(true);
    expect(hasCap(caps(CAP_SYS_PTRACE), CAP_SYS_ADMIN)).toBe(false);
    expect(hasCap(null, CAP_SYS_ADMIN)).toBe(false);
  });

  it('lets root with its capabilities record anything, whatever perf_event_paranoid says', () => {
    expect(checkPrivileges(privileges({ paranoid: 4 }), { strace: true, targetUid: 1000 })).toBeNull();
    expect(
      checkPrivileges(privileges({ capEff: caps(CAP_PERFMON, CAP_SYS_PTRACE) }), {
        strace: true,
        targetUid: 5,
      }),
    ).toBeNull();
  });

  it('refuses root without CAP_PERFMON/CAP_SYS_ADMIN (a container) with exit 10', () => {
    const sys = system({ '/proc/self/status': status(caps(CAP_SYS_PTRACE)) });
    const err = checkPrivileges(readPrivileges(sys), { strace: true, targetUid: 0 });
    expect(err?.code).toBe(RecordExit.NotPermitted);
    expect(err?.message).toContain('without CAP_PERFMON or CAP_SYS_ADMIN');
  });

  it('refuses root without CAP_SYS_PTRACE when strace is wanted, not with --no-strace', () => {
    const p = privileges({ capEff: caps(CAP_SYS_ADMIN) });
    expect(checkPrivileges(p, { strace: true, targetUid: 0 })?.message).toContain('CAP_SYS_PTRACE');
    expect(checkPrivileges(p, { strace: true, targetUid: 0 })?.code).toBe(RecordExit.NotPermitted);
    expect(checkPrivileges(p, { strace: false, targetUid: 0 })).toBeNull();
  });

  it.each([2, 1, 0])('refuses an unprivileged user at perf_event_paranoid %i with exit 11', (paranoid) => {
    const sys = system(
      { '/proc/self/status': status(0n), '/proc/sys/kernel/perf_event_paranoid': `${paranoid}\n` },
      { euid: 1000 },
    );
    const err = checkPrivileges(readPrivileges(sys), { strace: false, targetUid: 1000 });
    expect(err).toBeInstanceOf(RecordError);
    expect(err?.code).toBe(RecordExit.ParanoidTooHigh);
    expect(err?.message).toContain(`perf_event_paranoid is ${paranoid}`);
    expect(err?.message).toContain('not root: uid 1000 has no CAP_PERFMON');
  });

  it('lets an unprivileged user record its own process at paranoid -1 with readable tracefs', () => {
    const p = privileges({ euid: 1000, capEff: 0n, paranoid: -1, ptraceScope: 0 });
    expect(checkPrivileges(p, { strace: true, targetUid: 1000 })).toBeNull();
    expect(checkPrivileges({ ...p, ptraceScope: 1 }, { strace: true, targetUid: 1000 })?.message).toContain(
      'ptrace_scope is 1',
    );
    expect(checkPrivileges({ ...p, ptraceScope: 1 }, { strace: false, targetUid: 1000 })).toBeNull();
    expect(checkPrivileges(p, { strace: false, targetUid: 0 })?.code).toBe(RecordExit.NotPermitted);
    expect(
      checkPrivileges({ ...p, tracefsReadable: false }, { strace: false, targetUid: 1000 })?.message,
    ).toContain('tracefs');
  });

  it('treats an unknown perf_event_paranoid as too high for an unprivileged user', () => {
    const p = privileges({ euid: 1000, capEff: null, paranoid: null });
    expect(checkPrivileges(p, { strace: false, targetUid: 1000 })?.code).toBe(RecordExit.ParanoidTooHigh);
  });
});

describe('tools', () => {
  const exec =
    (...paths: string[]) =>
    (path: string) =>
      paths.includes(path);

  it('finds programs in PATH, skipping empty and relative entries', () => {
    expect(findInPath('perf', '/nope::rel:/usr/bin', exec('/usr/bin/perf', 'rel/perf'))).toBe(
      '/usr/bin/perf',
    );
    expect(findInPath('perf', undefined, exec('/usr/bin/perf'))).toBeNull();
    expect(findInPath('/opt/perf', '', exec('/opt/perf'))).toBe('/opt/perf');
  });

  it('needs perf always, strace unless --no-strace, jcmd and jfr for --jfr; exit 12 names them', () => {
    const path = '/bin:/usr/bin';
    const onlyStrace = exec('/usr/bin/strace');
    expect(() => checkTools({ strace: true, jfr: false }, path, onlyStrace)).toThrow(
      /not found in PATH: perf/,
    );
    try {
      checkTools({ strace: true, jfr: true }, path, exec('/bin/perf'));
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(RecordError);
      expect((err as RecordError).code).toBe(RecordExit.ToolMissing);
      expect((err as RecordError).message).toMatch(/strace .*jcmd .*jfr/);
    }
    expect(checkTools({ strace: false, jfr: false }, path, exec('/bin/perf'))).toEqual({ perf: '/bin/perf' });
    expect(
      checkTools({ strace: true, jfr: false }, path, exec('/bin/perf', '/usr/bin/strace', '/usr/bin/jstack')),
    ).toEqual({
      perf: '/bin/perf',
      strace: '/usr/bin/strace',
      jstack: '/usr/bin/jstack',
    });
  });
});

describe('target', () => {
  const stat = (comm: string, state: string) =>
    `321 (${comm}) ${state} 1 321 321 0 -1 4194560 100 0 0 0 5 6 0 0 20 0 3 0 987654 1000 200`;
  const proc = {
    '/proc/321/stat': stat('my (odd) app', 'S'),
    '/proc/321/status': 'Name:\tx\nTgid:\t321\nUid:\t1000\t1001\t1000\t1000\nGid:\t50\t51\t50\t50\n',
    '/proc/321/comm': 'my (odd) app\n',
    '/proc/321/cmdline': '/usr/bin/java\0-jar\0app.jar\0',
    'link:/proc/321/exe': '/usr/lib/jvm/java-17/bin/java',
  };

  it('reads state and start time even when the comm has spaces and parentheses', () => {
    expect(parseProcStat(stat('a) (b', 'R'))).toEqual({ state: 'R', startTime: '987654' });
  });

  it('describes a live process: comm, cmdline, effective uid/gid, runtime', () => {
    expect(inspectTarget(321, system(proc))).toEqual({
      pid: 321,
      comm: 'my (odd) app',
      cmdline: ['/usr/bin/java', '-jar', 'app.jar'],
      exe: '/usr/lib/jvm/java-17/bin/java',
      uid: 1001,
      gid: 51,
      startTime: '987654',
      runtime: 'jvm',
    });
  });

  it('reports a missing or zombie pid with exit 13, and a thread id as a usage error', () => {
    const gone = () => inspectTarget(999, system(proc));
    expect(gone).toThrow('no process with pid 999');
    expect(gone).toThrow(expect.objectContaining({ code: RecordExit.NoSuchProcess }) as Error);
    const zombie = () => inspectTarget(321, system({ ...proc, '/proc/321/stat': stat('x', 'Z') }));
    expect(zombie).toThrow(/zombie/);
    const thread = () => inspectTarget(321, system({ ...proc, '/proc/321/status': 'Tgid:\t300\n' }));
    expect(thread).toThrow('use --pid 300');
    expect(thread).toThrow(expect.objectContaining({ code: RecordExit.Usage }) as Error);
  });

  it('recognises JVM, Node and Python targets by executable or argv[0]', () => {
    expect(detectRuntime('/usr/lib/jvm/bin/java', [])).toBe('jvm');
    expect(detectRuntime(null, ['node', 'server.js'])).toBe('node');
    expect(detectRuntime('/usr/bin/python3.11', ['python3'])).toBe('python');
    expect(detectRuntime('/usr/sbin/nginx', ['nginx'])).toBeNull();
  });
});
