import type { ParseIssue } from './events.js';
import type { Nanos } from './time.js';

/** Coarse class of a syscall, used to colour off-CPU time. */
export type StraceCategory = 'net' | 'file' | 'lock' | 'sleep' | 'poll' | 'other';

/** What a `-y`/`-yy` fd decoration (`3</etc/passwd>`, `4<TCP:[a->b]>`) says the fd is. */
export type StraceFdKind = 'socket' | 'file' | 'pipe' | 'other';

/** A file descriptor together with strace's `<…>` decoration. */
export interface StraceFd {
  readonly num: number;
  readonly kind: StraceFdKind;
  /** Decoration text between the outer angle brackets, verbatim. */
  readonly raw: string;
  /** File path (without a `-yy` device suffix), or a unix socket's bound path. */
  readonly path?: string;
  /** Socket protocol as strace names it: `TCP`, `TCPv6`, `UDP`, `UNIX-STREAM`, `NETLINK`, `socket`… */
  readonly protocol?: string;
  /** Local endpoint (`127.0.0.1:5432`) or, for an unbound/unconnected socket, its inode. */
  readonly local?: string;
  /** Peer endpoint of a connected socket. */
  readonly peer?: string;
  /** Device from a `-yy` nested decoration, e.g. `char 1:3`. */
  readonly device?: string;
  /** strace appended `(deleted)`: the file was unlinked. */
  readonly deleted?: boolean;
}

/**
 * Why a syscall event is not a complete call:
 * - `never-resumed`: `<unfinished ...>` never got its `<... resumed>` (thread died, trace ended);
 * - `resumed-only`: a `<... resumed>` line without its first half (trace started mid-call);
 * - `detached`: strace detached while the call was in progress (`<detached ...>`).
 */
export type StraceIncomplete = 'never-resumed' | 'resumed-only' | 'detached';

/** One system call; `<unfinished ...>`/`<... resumed>` halves are merged into one event. */
export interface StraceSyscall {
  readonly kind: 'syscall';
  /** 1-based line of the call's first half (its entry). */
  readonly line: number;
  /** 1-based line of the `<... resumed>` half when the call was split, else null. */
  readonly resumedLine: number | null;
  /** Thread id from the `[pid N]` / `N ` prefix; null when strace printed none (single process, `-ff`). */
  readonly tid: number | null;
  /** Entry time as epoch ns (`-ttt`, `--timestamps=unix`); null when not recorded or time-of-day only. */
  readonly startNs: Nanos | null;
  /** Entry time as ns since local midnight (`-t`/`-tt`, which carry no date); null otherwise. */
  readonly timeOfDayNs: Nanos | null;
  /** Time in the call: `-T` when printed, else resumed-line time − entry time, else null. */
  readonly durationNs: Nanos | null;
  readonly name: string;
  /** Argument text as printed, both halves joined for a split call. */
  readonly args: string;
  /** Return value token (`0`, `-1`, `?`, `0x7f…`, `3</path>`); null when the call never returned. */
  readonly ret: string | null;
  /** `ENOENT`, `ERESTARTSYS`, `ETIMEDOUT`…; null on success. */
  readonly errno: string | null;
  /** `No such file or directory`; null when none. */
  readonly errnoText: string | null;
  /** Parenthesised detail after a return value, e.g. `in [3]`, `Timeout`, `flags O_RDONLY`. */
  readonly retDetail: string | null;
  readonly category: StraceCategory;
  /** First decorated fd among the arguments (else a decorated return value); null when none. */
  readonly fd: StraceFd | null;
  /** Futex operation (`FUTEX_WAIT_BITSET_PRIVATE|FUTEX_CLOCK_REALTIME`), futex calls only. */
  readonly futexOp: string | null;
  /** Futex user address (`0x7f…`): the key that ties WAITs to WAKEs across threads. */
  readonly futexAddr: string | null;
  /** Set only when the call is not a complete entry/exit pair. */
  readonly unfinished?: StraceIncomplete;
}

/** `--- SIGCHLD {si_signo=…} ---` or `--- stopped by SIGSTOP ---`. */
export interface StraceSignal {
  readonly kind: 'signal';
  readonly line: number;
  readonly tid: number | null;
  readonly startNs: Nanos | null;
  readonly timeOfDayNs: Nanos | null;
  readonly signal: string;
  /** The siginfo text `{…}`; empty when none was printed. */
  readonly info: string;
  /** `--- stopped by SIG… ---` (a group-stop) rather than a delivery. */
  readonly stopped: boolean;
}

/** `+++ exited with 0 +++`, `+++ killed by SIGKILL (core dumped) +++`, `+++ superseded by execve in pid N +++`. */
export interface StraceExit {
  readonly kind: 'exit';
  readonly line: number;
  readonly tid: number | null;
  readonly startNs: Nanos | null;
  readonly timeOfDayNs: Nanos | null;
  readonly how: 'exited' | 'killed' | 'superseded';
  /** Exit status for `exited`, else null. */
  readonly code: number | null;
  /** Killing signal for `killed`, else null. */
  readonly signal: string | null;
  readonly coreDumped: boolean;
  /** For `superseded`: the pid whose execve replaced this thread. */
  readonly supersededBy: number | null;
}

export type StraceItem = StraceSyscall | StraceSignal | StraceExit | ParseIssue;
