import { basename, delimiter, isAbsolute, join } from 'node:path';
import { RecordError, RecordExit } from './exit-codes.js';

/**
 * Checks made before anything is started. Each is a pure function of what it is given
 * (the text of /proc files, PATH, a predicate for executables) so tests can simulate
 * any machine; system.ts supplies the real values.
 */

export const CAP_SYS_PTRACE = 19;
export const CAP_SYS_ADMIN = 21;
export const CAP_PERFMON = 38;

/** What the checks read from the machine. */
export interface SystemView {
  /** Text of a file, or null when it is missing or unreadable. */
  readText: (path: string) => string | null;
  /** Target of a symlink, or null. */
  readLink: (path: string) => string | null;
  isExecutable: (path: string) => boolean;
  euid: number;
  env: Readonly<Record<string, string | undefined>>;
}

/** The effective capability set from /proc/self/status (`CapEff:\t000001ffffffffff`). */
export function parseCapEff(status: string): bigint | null {
  const match = /^CapEff:\s*([0-9a-fA-F]+)\s*$/m.exec(status);
  return match?.[1] === undefined ? null : BigInt(`0x${match[1]}`);
}

export function hasCap(caps: bigint | null, cap: number): boolean {
  return caps !== null && ((caps >> BigInt(cap)) & 1n) === 1n;
}

/** First executable `name` in PATH (or `name` itself when it contains a slash). */
export function findInPath(
  name: string,
  pathEnv: string | undefined,
  isExecutable: (path: string) => boolean,
): string | null {
  if (name.includes('/')) return isExecutable(name) ? name : null;
  for (const dir of (pathEnv ?? '').split(delimiter)) {
    if (dir === '' || !isAbsolute(dir)) continue;
    const candidate = join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return null;
}

export interface ToolNeeds {
  strace: boolean;
  jfr: boolean;
}

export type ToolPaths = Partial<Record<'perf' | 'strace' | 'jcmd' | 'jstack' | 'jfr' | 'setpriv', string>>;

/** Finds the programs the recording needs; throws ToolMissing naming every missing one. */
export function checkTools(
  needs: ToolNeeds,
  pathEnv: string | undefined,
  isExecutable: (path: string) => boolean,
): ToolPaths {
  const tools: ToolPaths = {};
  const required = ['perf', ...(needs.strace ? ['strace'] : []), ...(needs.jfr ? ['jcmd', 'jfr'] : [])];
  const missing: string[] = [];
  for (const name of ['perf', 'strace', 'jcmd', 'jstack', 'jfr', 'setpriv'] as const) {
    const path = findInPath(name, pathEnv, isExecutable);
    if (path !== null) tools[name] = path;
    else if (required.includes(name)) missing.push(name);
  }
  if (missing.length > 0) {
    const hints: Record<string, string> = {
      perf: 'perf (Debian: apt-get install linux-perf; Ubuntu: linux-tools-$(uname -r))',
      strace: 'strace (apt-get install strace, or record with --no-strace)',
      jcmd: 'jcmd (a JDK, not only a JRE, for --jfr)',
      jfr: 'jfr (a JDK 11+ for --jfr)',
    };
    throw new RecordError(
      RecordExit.ToolMissing,
      `not found in PATH: ${missing.map((name) => hints[name] ?? name).join(', ')}`,
    );
  }
  return tools;
}

export interface Privileges {
  euid: number;
  capEff: bigint | null;
  /** kernel.perf_event_paranoid, or null when unknown. */
  paranoid: number | null;
  /** kernel.yama.ptrace_scope, or null without Yama. */
  ptraceScope: number | null;
  /** Whether the sched tracepoint ids in tracefs can be read (needed without CAP_SYS_ADMIN/PERFMON). */
  tracefsReadable: boolean;
}

/** Why this process may not run perf (and strace) on the target, or null when it may. */
export function checkPrivileges(
  p: Privileges,
  needs: { strace: boolean; targetUid: number },
): RecordError | null {
  const perfCap = hasCap(p.capEff, CAP_PERFMON) || hasCap(p.capEff, CAP_SYS_ADMIN);
  const ptraceCap = hasCap(p.capEff, CAP_SYS_PTRACE);
  const who = p.euid === 0 ? 'root (uid 0)' : `uid ${p.euid}`;
  if (p.euid === 0 && !perfCap) {
    return new RecordError(
      RecordExit.NotPermitted,
      `running as ${who} but without CAP_PERFMON or CAP_SYS_ADMIN (CapEff ${hex(p.capEff)}), which perf needs ` +
        'for the sched tracepoints: in a container, add --cap-add PERFMON --cap-add SYS_PTRACE (or --privileged)',
    );
  }
  if (!perfCap) {
    if (p.paranoid === null || p.paranoid > -1) {
      return new RecordError(
        RecordExit.ParanoidTooHigh,
        `not root: ${who} has no CAP_PERFMON/CAP_SYS_ADMIN and kernel.perf_event_paranoid is ` +
          `${p.paranoid ?? 'unknown'}, so perf may not record the sched tracepoints. Run it as root ` +
          '(sudo), or allow unprivileged users: sudo sysctl -w kernel.perf_event_paranoid=-1',
      );
    }
    if (!p.tracefsReadable) {
      return new RecordError(
        RecordExit.NotPermitted,
        `not root: ${who} cannot read the sched tracepoints in tracefs (/sys/kernel/tracing); run it with sudo`,
      );
    }
    if (needs.targetUid !== p.euid) {
      return new RecordError(
        RecordExit.NotPermitted,
        `not root: the target belongs to uid ${needs.targetUid}, and ${who} may only record its own processes; run it with sudo`,
      );
    }
  }
  if (needs.strace && !ptraceCap) {
    const ownAndAllowed = needs.targetUid === p.euid && (p.ptraceScope === null || p.ptraceScope <= 0);
    if (p.euid === 0 || !ownAndAllowed) {
      const why =
        p.euid === 0
          ? `running as ${who} but without CAP_SYS_PTRACE`
          : needs.targetUid !== p.euid
            ? `not root: the target belongs to uid ${needs.targetUid}`
            : `not root, and kernel.yama.ptrace_scope is ${p.ptraceScope}`;
      return new RecordError(
        RecordExit.NotPermitted,
        `${why}, so strace cannot attach (it needs CAP_SYS_PTRACE); run it with sudo or record with --no-strace`,
      );
    }
  }
  return null;
}

function hex(caps: bigint | null): string {
  return caps === null ? 'unknown' : `0x${caps.toString(16)}`;
}

export function readPrivileges(sys: SystemView): Privileges {
  const number = (path: string): number | null => {
    const text = sys.readText(path)?.trim();
    return text === undefined || !/^-?\d+$/.test(text) ? null : Number(text);
  };
  const tracefs = [
    '/sys/kernel/tracing/events/sched/sched_switch/id',
    '/sys/kernel/debug/tracing/events/sched/sched_switch/id',
  ];
  return {
    euid: sys.euid,
    capEff: parseCapEff(sys.readText('/proc/self/status') ?? ''),
    paranoid: number('/proc/sys/kernel/perf_event_paranoid'),
    ptraceScope: number('/proc/sys/kernel/yama/ptrace_scope'),
    tracefsReadable: tracefs.some((path) => sys.readText(path) !== null),
  };
}

export type Runtime = 'jvm' | 'node' | 'python' | 'go' | 'native';

export interface TargetInfo {
  pid: number;
  comm: string;
  cmdline: string[];
  exe: string | null;
  uid: number;
  gid: number;
  /** Start time in clock ticks since boot (/proc/PID/stat field 22): tells a reused pid apart. */
  startTime: string;
  runtime: Runtime | null;
}

/** State and start time from /proc/PID/stat (the comm may contain spaces and parentheses). */
export function parseProcStat(text: string): { state: string; startTime: string } | null {
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const state = fields[0];
  const startTime = fields[19];
  return state === undefined || startTime === undefined ? null : { state, startTime };
}

export function detectRuntime(exe: string | null, cmdline: readonly string[]): Runtime | null {
  const names = [exe, cmdline[0]].filter((v): v is string => !!v).map((v) => basename(v));
  if (names.some((n) => n === 'java' || n === 'javaw')) return 'jvm';
  if (names.some((n) => n === 'node' || n === 'nodejs')) return 'node';
  if (names.some((n) => /^python[0-9.]*$/.test(n))) return 'python';
  return null;
}

/** Reads what the recording needs to know about the target; NoSuchProcess when it is gone. */
export function inspectTarget(pid: number, sys: SystemView): TargetInfo {
  const stat = sys.readText(`/proc/${pid}/stat`);
  const status = sys.readText(`/proc/${pid}/status`);
  const parsed = stat === null ? null : parseProcStat(stat);
  if (parsed === null || status === null || parsed.state === 'Z' || parsed.state === 'X') {
    const why = parsed?.state === 'Z' ? ' (it has exited and is a zombie)' : '';
    throw new RecordError(RecordExit.NoSuchProcess, `no process with pid ${pid}${why}`);
  }
  const tgid = /^Tgid:\s*(\d+)/m.exec(status)?.[1];
  if (tgid !== undefined && Number(tgid) !== pid) {
    throw new RecordError(
      RecordExit.Usage,
      `${pid} is a thread of process ${tgid}: use --pid ${tgid} (every thread is recorded)`,
    );
  }
  const ids = (key: string): number =>
    Number(new RegExp(`^${key}:\\s*\\d+\\s+(\\d+)`, 'm').exec(status)?.[1] ?? -1);
  const cmdline = (sys.readText(`/proc/${pid}/cmdline`) ?? '').split('\0').filter((arg) => arg !== '');
  const exe = sys.readLink(`/proc/${pid}/exe`);
  return {
    pid,
    comm: (sys.readText(`/proc/${pid}/comm`) ?? '').replace(/\n$/, ''),
    cmdline,
    exe,
    uid: ids('Uid'),
    gid: ids('Gid'),
    startTime: parsed.startTime,
    runtime: detectRuntime(exe, cmdline),
  };
}
