import type { StackVerdict } from './segments.js';

/**
 * Classifies an off-CPU stack (the callchain recorded at `sched_switch`, or a runtime event's
 * stack) into a thread state: why the thread was blocked.
 *
 * Frames are leaf first: kernel frames (`__schedule`, `futex_do_wait`…), then user frames
 * (libc, libjvm, JIT/perf-map names, Python `py::` trampolines). The whole stack is searched;
 * the meaningful frame nearest to the leaf wins, except that a *generic* wait primitive is
 * refined by the nearest outer frame that says what it was used for:
 *
 * | frame (nearest to leaf)                                       | verdict                              |
 * |---------------------------------------------------------------|--------------------------------------|
 * | `ptrace_stop`                                                 | other: stopped by the tracer (strace) |
 * | `do_nanosleep`, `hrtimer_nanosleep`, `clock_nanosleep`, `nanosleep`, `usleep`, `Thread.sleep`, `JVM_Sleep` | sleep |
 * | `io_schedule*`, `blk_*`, `blkdev_*`, `submit_bio_wait`, `jbd2*`, `ext4_sync_file`, `file_write_and_wait*`, `folio_wait*`, `wait_on_page*`, `*wait_on_bit*`, `xfs_*sync*` | file |
 * | `sk_wait_data`, `tcp_recvmsg`, `inet_recvmsg`, `sock_recvmsg`, `unix_stream_read_generic`, `sk_stream_wait_memory`, `SocketInputStream.read`, `NioSocketImpl.read`, `socketRead0` | net |
 * | `inet_csk_accept` (blocking accept on a listener)             | idle                                  |
 * | `ep_poll`, `do_epoll_wait`, `do_select`, `do_sys_poll`, `epoll_wait`, `epoll_pwait`, `poll`, `select` | idle, **net** when an outer frame is a socket read in progress |
 * | `futex_wait*`, `futex_do_wait`, `__futex_abstimed_wait*`, `do_futex` (generic futex) | lock, refined by the nearest outer user frame below |
 * | `pthread_cond_wait`/`timedwait`, `__pthread_cond_wait_common` | **idle** (a condition wait alone is ambiguous: waiting for work or for an event), lock when an outer frame is a lock (`Parker::park`, `Mutex::lock`, `ObjectMonitor`, `take_gil`, `PyThread_acquire_lock`) |
 * | `__lll_lock_wait`, `pthread_mutex_lock` (a mutex)             | lock                                  |
 * | `Unsafe.park`, `Unsafe_Park`, `LockSupport.park`, `Parker::park` | lock, idle when an outer frame is a queue wait |
 * | `ObjectMonitor::enter`/`EnterI`, `ObjectSynchronizer::enter`, `InterpreterRuntime::monitorenter`, HotSpot `Mutex::lock` | lock |
 * | `ObjectMonitor::wait`, `Object.wait`                          | lock (as JFR `JavaMonitorWait`)       |
 * | `take_gil`                                                    | lock, lockId `gil` (GIL wait)          |
 * | `PyThread_acquire_lock*`, `lock_PyThread_acquire_lock`        | lock, idle when an outer frame is a queue/condition wait |
 * | `LinkedBlockingQueue.take/poll`, `ArrayBlockingQueue.take`, `ThreadPoolExecutor.getTask`, `SynchronousQueue`, `DelayedWorkQueue.take`, `ForkJoinPool.awaitWork`, Python `queue.get`, `Condition.wait` | idle (a worker waiting for work) |
 * | `SafepointSynchronize::block`                                 | gc (held at a safepoint)              |
 * | `rwsem_down_*`, `__mutex_lock` (kernel locks)                 | lock (kernel lock)                    |
 * | `do_wait` (waitpid), `pipe_read`, `pipe_write`                | other                                 |
 * | `sigsuspend`, `do_sigtimedwait`                               | other (signal wait; in a JVM, thread suspension by the profiler) |
 *
 * A preemption frame nearer the leaf than any of these (`irqentry_exit_to_user_mode`,
 * `asm_sysvec_*`, `preempt_schedule*`, `__cond_resched`, `exit_to_user_mode_loop`) means the thread
 * was not blocked but preempted (e.g. spinning in `ObjectMonitor::enter`): null. Anything else
 * (unknown frames, empty stack): null, so the caller falls back to prev_state and other evidence.
 */

export interface StackFrame {
  readonly symbol: string;
  readonly dso: string;
}

/** What a recognised frame means. */
type FrameClass =
  | 'preempt'
  | 'ptrace'
  | 'sleep'
  | 'file'
  | 'net'
  | 'accept'
  | 'poll'
  | 'futex'
  | 'cond'
  | 'mutex'
  | 'park'
  | 'monitor'
  | 'monitor-wait'
  | 'gil'
  | 'pylock'
  | 'queue'
  | 'safepoint'
  | 'kernel-lock'
  | 'child'
  | 'signal';

interface Rule {
  readonly cls: FrameClass;
  readonly test: (symbol: string) => boolean;
}

const exact =
  (...names: string[]) =>
  (s: string): boolean =>
    names.includes(s);
const re =
  (pattern: RegExp) =>
  (s: string): boolean =>
    pattern.test(s);

/** Order matters only among rules that could match the same symbol (first match wins). */
const RULES: readonly Rule[] = [
  {
    cls: 'preempt',
    test: re(
      /^(?:irqentry_exit_to_user_mode|irqentry_exit|asm_sysvec_\w+|asm_common_interrupt|preempt_schedule\w*|__cond_resched|_cond_resched|exit_to_user_mode_loop|exit_to_user_mode_prepare)$/,
    ),
  },
  { cls: 'ptrace', test: exact('ptrace_stop', 'ptrace_do_notify', 'ptrace_notify') },
  {
    cls: 'sleep',
    test: re(
      /^(?:do_nanosleep|hrtimer_nanosleep|common_nsleep|__x64_sys_clock_nanosleep|__x64_sys_nanosleep|(?:__)?clock_nanosleep|(?:__(?:libc_)?)?nanosleep|usleep|JVM_Sleep|JavaThread::sleep|pysleep)$|(?:^|[./:])Thread\.sleep|time_sleep/,
    ),
  },
  {
    cls: 'file',
    test: re(
      /^(?:io_schedule\w*|blk_\w+|blkdev_\w+|submit_bio_wait|jbd2\w*|ext4_sync_file|file_write_and_wait\w*|folio_wait\w*|wait_on_page\w*|__?wait_on_bit\w*|out_of_line_wait_on_bit\w*|bit_wait_io|xfs_\w*sync\w*|__filemap_fdatawait_range|filemap_fdatawait\w*)$/,
    ),
  },
  {
    cls: 'net',
    test: re(
      /^(?:sk_wait_data|tcp_recvmsg\w*|inet_recvmsg|inet6_recvmsg|sock_recvmsg|sock_read_iter|__sys_recvfrom|unix_stream_read_generic|unix_stream_recvmsg|sk_stream_wait_memory|sk_stream_wait_connect|socketRead0|Java_sun_nio_ch_SocketDispatcher_read0)$|SocketInputStream[.:]+read|NioSocketImpl[.:]+(?:read|timedRead|park)|SocketDispatcher[.:]+read|SocketChannelImpl[.:]+read|(?:^|[.:])sock_recv|socket\.recv/,
    ),
  },
  { cls: 'accept', test: exact('inet_csk_accept', 'inet_csk_wait_for_connect') },
  {
    cls: 'poll',
    test: re(
      /^(?:ep_poll|do_epoll_wait|do_epoll_pwait(?:\.part\.\d+)?|__x64_sys_epoll_p?wait2?|do_select|core_sys_select|do_sys_poll|poll_schedule_timeout(?:\.constprop\.\d+)?|(?:__)?epoll_p?wait2?|(?:__)?poll|(?:__)?ppoll|(?:__)?select|(?:__)?pselect6?|uv__io_poll)$/,
    ),
  },
  {
    cls: 'gil',
    test: re(/^(?:take_gil|drop_gil_and_wait|_PyEval_AcquireLock|PyEval_RestoreThread)$/),
  },
  {
    cls: 'pylock',
    test: re(
      /^(?:PyThread_acquire_lock\w*|lock_PyThread_acquire_lock|acquire_timed|lock_acquire_parse_args)$/,
    ),
  },
  {
    cls: 'queue',
    test: re(
      /(?:LinkedBlockingQueue|ArrayBlockingQueue|LinkedBlockingDeque|PriorityBlockingQueue|LinkedTransferQueue|DelayedWorkQueue)[.:;]+(?:take|poll|awaitMatch)|ThreadPoolExecutor[.:;]+getTask|SynchronousQueue|ForkJoinPool[.:;]+awaitWork|(?:^|[.:])queue\.py|Queue\.get|(?:^|::|[.:])Condition\.wait|threading\.py.*\bwait\b|\bCondition\.wait/,
    ),
  },
  {
    cls: 'monitor-wait',
    test: re(/^ObjectMonitor::wait$|^JVM_MonitorWait$|(?:^|[.:])Object[.:]+wait(?:0)?$/),
  },
  {
    cls: 'monitor',
    test: re(
      /^(?:ObjectMonitor::(?:enter|EnterI|ReenterI|enter_internal|TrySpin)|ObjectSynchronizer::(?:enter|slow_enter|inflate|enter_for)|InterpreterRuntime::monitorenter|SharedRuntime::complete_monitor_locking_C|Runtime1::monitorenter)$/,
    ),
  },
  {
    cls: 'park',
    test: re(/^(?:Unsafe_Park|Parker::park)$|Unsafe[.:;]+park|LockSupport[.:;]+park/),
  },
  { cls: 'safepoint', test: re(/^SafepointSynchronize::block$|^SafepointMechanism::process/) },
  {
    cls: 'mutex',
    test: re(
      /^(?:__GI___lll_lock_wait|__lll_lock_wait(?:_private)?|lll_lock_wait|(?:__)?pthread_mutex_(?:timed)?lock(?:@.*)?|__pthread_mutex_lock_full|Mutex::lock(?:_without_safepoint_check)?|Mutex::lock_contended|Monitor::lock)$/,
    ),
  },
  {
    cls: 'cond',
    test: re(
      /^(?:(?:__)?pthread_cond_(?:timed|clock)?wait(?:@.*)?|__pthread_cond_wait_common|Monitor::wait(?:_without_safepoint_check)?|PlatformMonitor::wait|os::PlatformMonitor::wait|os::PlatformEvent::park|PlatformEvent::park)$/,
    ),
  },
  {
    cls: 'futex',
    test: re(
      /^(?:futex_wait\w*|futex_do_wait|__futex_wait|do_futex|__x64_sys_futex|futex_wait_queue\w*|__futex_abstimed_wait\w*|futex_abstimed_wait\w*|__GI___futex_abstimed_wait\w*|sem_wait\w*|__new_sem_wait\w*|do_futex_wait\w*)$/,
    ),
  },
  {
    cls: 'kernel-lock',
    test: re(/^(?:rwsem_down_\w+|__mutex_lock\w*|mutex_lock\w*|__down_\w+|percpu_rwsem_wait)$/),
  },
  {
    cls: 'child',
    test: exact('do_wait', 'kernel_wait4', '__do_sys_wait4', 'pipe_read', 'pipe_write', 'pipe_wait'),
  },
  {
    cls: 'signal',
    test: re(
      /^(?:sigsuspend(?:\.isra\.\d+)?|__x64_sys_rt_sigsuspend|do_sigtimedwait(?:\.isra\.\d+)?|__sigsuspend|__sigtimedwait)$/,
    ),
  },
];

/** Which outer classes refine a generic inner class (the inner one is a mechanism, not a reason). */
const REFINED_BY: Partial<Record<FrameClass, ReadonlySet<FrameClass>>> = {
  futex: new Set<FrameClass>([
    'cond',
    'mutex',
    'park',
    'monitor',
    'monitor-wait',
    'gil',
    'pylock',
    'queue',
    'sleep',
    'safepoint',
  ]),
  cond: new Set<FrameClass>([
    'park',
    'monitor',
    'monitor-wait',
    'mutex',
    'gil',
    'pylock',
    'queue',
    'sleep',
    'safepoint',
  ]),
  mutex: new Set<FrameClass>(['gil', 'monitor', 'safepoint']),
  park: new Set<FrameClass>(['queue', 'net']),
  pylock: new Set<FrameClass>(['queue', 'gil']),
  poll: new Set<FrameClass>(['net']),
  'monitor-wait': new Set<FrameClass>(['queue']),
};

/** perf prints `sym+0x1f` with `--symoff`; JIT maps print `Lcom/foo/Bar;::baz`. */
function normalize(symbol: string): string {
  let s = symbol.trim();
  const plus = s.lastIndexOf('+0x');
  if (plus > 0) s = s.slice(0, plus);
  s = s.replace(/@@?[A-Za-z]+_[\d.]+$/, '');
  if (s.includes('/') && !s.startsWith('py::')) s = s.replace(/^L/, '').replace(/\//g, '.');
  return s;
}

function classOf(symbol: string): FrameClass | null {
  const s = normalize(symbol);
  if (s === '' || s === '[unknown]') return null;
  for (const rule of RULES) if (rule.test(s)) return rule.cls;
  return null;
}

function verdictOf(cls: FrameClass, symbol: string): StackVerdict {
  switch (cls) {
    case 'preempt':
      return { state: 'runqueue', reason: `preempted (${symbol})` };
    case 'ptrace':
      return { state: 'other', reason: 'ptrace stop (strace overhead)' };
    case 'sleep':
      return { state: 'sleep', reason: `timed sleep (${symbol})` };
    case 'file':
      return { state: 'file', reason: `waiting for block I/O (${symbol})` };
    case 'net':
      return { state: 'net', reason: `socket I/O in progress (${symbol})` };
    case 'accept':
      return { state: 'idle', reason: `accept on a listener (${symbol})` };
    case 'poll':
      return { state: 'idle', reason: `waiting for events (${symbol})` };
    case 'futex':
      return { state: 'lock', reason: `futex wait (${symbol})` };
    case 'cond':
      return { state: 'idle', reason: `condition wait without lock context (${symbol})` };
    case 'mutex':
      return { state: 'lock', reason: `mutex wait (${symbol})` };
    case 'park':
      return { state: 'lock', reason: `parked (${symbol})` };
    case 'monitor':
      return { state: 'lock', reason: `monitor enter (${symbol})` };
    case 'monitor-wait':
      return { state: 'lock', reason: `monitor wait (${symbol})` };
    case 'gil':
      return { state: 'lock', reason: `GIL wait (${symbol})`, lockId: 'gil' };
    case 'pylock':
      return { state: 'lock', reason: `Python lock acquire (${symbol})` };
    case 'queue':
      return { state: 'idle', reason: `worker waiting for work (${symbol})` };
    case 'safepoint':
      return { state: 'gc', reason: `blocked at a safepoint (${symbol})` };
    case 'kernel-lock':
      return { state: 'lock', reason: `kernel lock (${symbol})` };
    case 'child':
      return { state: 'other', reason: `waiting on a child or pipe (${symbol})` };
    case 'signal':
      return { state: 'other', reason: `signal wait (${symbol})` };
  }
}

/**
 * Why a thread with this off-CPU stack was blocked, or null when the stack says nothing
 * (preempted, unknown frames, empty). See the module comment for the table.
 */
export function classifyStack(frames: readonly StackFrame[]): StackVerdict | null {
  let cls: FrameClass | null = null;
  let symbol = '';
  let i = 0;
  for (; i < frames.length; i++) {
    const frame = frames[i];
    if (frame === undefined) continue;
    const c = classOf(frame.symbol);
    if (c !== null) {
      cls = c;
      symbol = normalize(frame.symbol);
      break;
    }
  }
  if (cls === null || cls === 'preempt') return null;
  // Refine a generic mechanism by the nearest outer frame that gives it a reason; chain while
  // the refining frame is itself generic (futex → Unsafe_Park → LinkedBlockingQueue.take).
  for (i++; i < frames.length; i++) {
    const refiners: ReadonlySet<FrameClass> | undefined = REFINED_BY[cls];
    if (refiners === undefined) break;
    const frame = frames[i];
    if (frame === undefined) continue;
    const c = classOf(frame.symbol);
    if (c !== null && refiners.has(c)) {
      cls = c;
      symbol = normalize(frame.symbol);
    }
  }
  return verdictOf(cls, symbol);
}
