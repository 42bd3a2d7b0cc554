import type { StraceCategory, StraceFd } from '@threadreel/model';

/** The wait category of a syscall: by its name, or for fd I/O by what the fd is. */

const LOCK = new Set(['futex', 'futex_time64', 'futex_waitv', 'semop', 'semtimedop', 'flock']);
const SLEEP = new Set(['nanosleep', 'clock_nanosleep', 'clock_nanosleep_time64']);
const POLL = new Set([
  'epoll_wait',
  'epoll_pwait',
  'epoll_pwait2',
  'poll',
  'ppoll',
  'ppoll_time64',
  'select',
  '_newselect',
  'pselect6',
  'pselect6_time64',
]);
const NET = new Set([
  'socket',
  'socketpair',
  'connect',
  'accept',
  'accept4',
  'bind',
  'listen',
  'sendto',
  'recvfrom',
  'sendmsg',
  'recvmsg',
  'sendmmsg',
  'recvmmsg',
  'shutdown',
  'getsockname',
  'getpeername',
  'setsockopt',
  'getsockopt',
]);
const FILE = new Set([
  'open',
  'openat',
  'openat2',
  'creat',
  'fsync',
  'fdatasync',
  'sync',
  'syncfs',
  'sync_file_range',
  'stat',
  'lstat',
  'newfstatat',
  'statx',
  'access',
  'faccessat',
  'faccessat2',
  'unlink',
  'unlinkat',
  'rename',
  'renameat',
  'renameat2',
  'mkdir',
  'mkdirat',
  'rmdir',
  'truncate',
  'ftruncate',
  'fallocate',
  'getdents64',
  'readlink',
  'readlinkat',
]);
/** Calls whose class depends on what their fd is. */
const FD_IO = new Set([
  'read',
  'write',
  'pread64',
  'pwrite64',
  'readv',
  'writev',
  'preadv',
  'pwritev',
  'preadv2',
  'pwritev2',
  'sendfile',
  'splice',
  'close',
  'fstat',
  'lseek',
  'fcntl',
]);

type Kind = StraceCategory | 'fd-io';

/** Each name's class, the first set listing it winning (in classify's order). */
const KINDS = new Map<string, Kind>();
for (const [set, kind] of [
  [LOCK, 'lock'],
  [SLEEP, 'sleep'],
  [POLL, 'poll'],
  [NET, 'net'],
  [FILE, 'file'],
  [FD_IO, 'fd-io'],
] as const) {
  for (const name of set) if (!KINDS.has(name)) KINDS.set(name, kind);
}

export function classify(name: string, fd: StraceFd | null, args: string): StraceCategory {
  const kind = KINDS.get(name);
  if (kind === undefined) return 'other';
  if (name === 'fcntl' && (args.includes('F_SETLKW') || args.includes('F_OFD_SETLKW'))) return 'lock';
  if (kind !== 'fd-io') return kind;
  if (fd !== null) {
    if (fd.kind === 'socket') return 'net';
    if (fd.kind === 'file') return 'file';
  }
  return 'other';
}
