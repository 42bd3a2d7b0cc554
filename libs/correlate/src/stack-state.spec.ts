import { describe, expect, it } from 'vitest';
import { classifyStack, type StackFrame } from './stack-state.js';

/**
 * Real off-CPU stacks copied verbatim from the recorded captures
 * (`zcat test/fixtures/captures/<lang>/perf.script.gz | sed -n '<line>,+20p'`). Each test names
 * the fixture and the line of its `sched:sched_switch` header.
 */

/** Parses perf-script callchain lines: `<addr> <symbol> (<dso>)`. */
function frames(text: string): StackFrame[] {
  const out: StackFrame[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*[0-9a-f]+\s+(.*?)\s+\((.*)\)\s*$/.exec(line);
    if (m?.[1] !== undefined && m[2] !== undefined) out.push({ symbol: m[1], dso: m[2] });
  }
  return out;
}

describe('classifyStack on java/perf.script.gz', () => {
  it('L49 log-writer prev_state=S: futex wait → lock', () => {
    const v = classifyStack(
      frames(`
	ffffffff821f8b58 __schedule ([kernel.kallsyms])
	ffffffff821f94c3 schedule ([kernel.kallsyms])
	ffffffff8143f416 futex_do_wait ([kernel.kallsyms])
	ffffffff8143fc0a __futex_wait ([kernel.kallsyms])
	ffffffff8143fcf7 futex_wait ([kernel.kallsyms])
	ffffffff8143b42d do_futex ([kernel.kallsyms])
	ffffffff8143b6a2 __x64_sys_futex ([kernel.kallsyms])
	ffffffff821ed511 do_syscall_64 ([kernel.kallsyms])
	ffffffff81000130 entry_SYSCALL_64_after_hwframe ([kernel.kallsyms])
	           85f16 __futex_abstimed_wait_common (/usr/lib/x86_64-linux-gnu/libc.so.6)`),
    );
    expect(v?.state).toBe('lock');
    expect(v?.reason).toContain('futex');
  });

  it('L14933 C1 CompilerThre prev_state=S: __lll_lock_wait in Mutex::lock → lock', () => {
    const v = classifyStack(
      frames(`
	ffffffff821f8b58 __schedule ([kernel.kallsyms])
	ffffffff821f94c3 schedule ([kernel.kallsyms])
	ffffffff8143f416 futex_do_wait ([kernel.kallsyms])
	ffffffff8143fc0a __futex_wait ([kernel.kallsyms])
	ffffffff8143fcf7 futex_wait ([kernel.kallsyms])
	ffffffff8143b42d do_futex ([kernel.kallsyms])
	ffffffff8143b6a2 __x64_sys_futex ([kernel.kallsyms])
	ffffffff821ed511 do_syscall_64 ([kernel.kallsyms])
	ffffffff81000130 entry_SYSCALL_64_after_hwframe ([kernel.kallsyms])
	           8612b __GI___lll_lock_wait (/usr/lib/x86_64-linux-gnu/libc.so.6)
	          be59f3 Mutex::lock (/usr/lib/jvm/java-17-openjdk-amd64/lib/server/libjvm.so)
	          5403ff ciEnv::register_method (/usr/lib/jvm/java-17-openjdk-amd64/lib/server/libjvm.so)
	          461977 Compilation::install_code (/usr/lib/jvm/java-17-openjdk-amd64/lib/server/libjvm.so)`),
    );
    expect(v?.state).toBe('lock');
    expect(v?.reason).toMatch(/Mutex::lock|lll_lock_wait/);
  });

  it('L41734 http-worker-2 prev_state=S: futex under SafepointSynchronize::block → gc', () => {
    const v = classifyStack(
      frames(`
	ffffffff821f8b58 __schedule ([kernel.kallsyms])
	ffffffff821f94c3 schedule ([kernel.kallsyms])
	ffffffff8143f416 futex_do_wait ([kernel.kallsyms])
	ffffffff8143fc0a __futex_wait ([kernel.kallsyms])
	ffffffff8143fcf7 futex_wait ([kernel.kallsyms])
	ffffffff8143b42d do_futex ([kernel.kallsyms])
	ffffffff8143b6a2 __x64_sys_futex ([kernel.kallsyms])
	ffffffff821ed511 do_syscall_64 ([kernel.kallsyms])
	ffffffff81000130 entry_SYSCALL_64_after_hwframe ([kernel.kallsyms])
	          101829 syscall (/usr/lib/x86_64-linux-gnu/libc.so.6)
	          cd77e0 SafepointSynchronize::block (/usr/lib/jvm/java-17-openjdk-amd64/lib/server/libjvm.so)
	          cdf0d0 SafepointMechanism::process (/usr/lib/jvm/java-17-openjdk-amd64/lib/server/libjvm.so)
	          ea615a JavaThread::check_special_condition_for_native_trans (/usr/lib/jvm/java-17-openjdk-amd64/lib/server/libjvm.so)
	    7f7db4945619 Interpreter (/tmp/perf-1516.map)`),
    );
    expect(v?.state).toBe('gc');
  });

  it('L34 JFR Thread Samp prev_state=S: do_nanosleep → sleep', () => {
    const v = classifyStack(
      frames(`
	ffffffff821f8b58 __schedule ([kernel.kallsyms])
	ffffffff821f94c3 schedule ([kernel.kallsyms])
	ffffffff8220043e do_nanosleep ([kernel.kallsyms])
	ffffffff8141fcd4 hrtimer_nanosleep ([kernel.kallsyms])
	ffffffff814288d0 common_nsleep ([kernel.kallsyms])
	ffffffff8142bbde __x64_sys_clock_nanosleep ([kernel.kallsyms])
	ffffffff821ed511 do_syscall_64 ([kernel.kallsyms])
	ffffffff81000130 entry_SYSCALL_64_after_hwframe ([kernel.kallsyms])
	           cf545 clock_nanosleep@GLIBC_2.2.5 (/usr/lib/x86_64-linux-gnu/libc.so.6)
	          89cd97 JfrThreadSampler::run (/usr/lib/jvm/java-17-openjdk-amd64/lib/server/libjvm.so)`),
    );
    expect(v?.state).toBe('sleep');
  });

  it('L314109 http-worker-2 prev_state=D: fsync waiting on writeback → file', () => {
    const v = classifyStack(
      frames(`
	ffffffff821f8b58 __schedule ([kernel.kallsyms])
	ffffffff821f94c3 schedule ([kernel.kallsyms])
	ffffffff821f958f io_schedule ([kernel.kallsyms])
	ffffffff8158c1c6 folio_wait_bit ([kernel.kallsyms])
	ffffffff8159970a folio_wait_writeback ([kernel.kallsyms])
	ffffffff8158bc9c __filemap_fdatawait_range ([kernel.kallsyms])
	ffffffff8158e03f file_write_and_wait_range ([kernel.kallsyms])
	ffffffff8171e5cf generic_buffers_fsync_noflush ([kernel.kallsyms])
	ffffffff817aa8a5 ext4_fsync_nojournal.constprop.0 ([kernel.kallsyms])
	ffffffff817aabd6 ext4_sync_file ([kernel.kallsyms])
	ffffffff8170fa3b do_fsync ([kernel.kallsyms])
	ffffffff8170fe8f __x64_sys_fsync ([kernel.kallsyms])
	ffffffff821ed511 do_syscall_64 ([kernel.kallsyms])
	ffffffff81000130 entry_SYSCALL_64_after_hwframe ([kernel.kallsyms])
	           fec4a fsync (/usr/lib/x86_64-linux-gnu/libc.so.6)
	    7f7db49455ba Interpreter (/tmp/perf-1516.map)`),
    );
    expect(v?.state).toBe('file');
  });

  it('L1040 HTTP-Dispatcher prev_state=S: epoll_wait → idle', () => {
    const v = classifyStack(
      frames(`
	ffffffff821f8b58 __schedule ([kernel.kallsyms])
	ffffffff821f94c3 schedule ([kernel.kallsyms])
	ffffffff822008fb schedule_hrtimeout_range_clock ([kernel.kallsyms])
	ffffffff817302b8 do_epoll_wait ([kernel.kallsyms])
	ffffffff817318ca __x64_sys_epoll_wait ([kernel.kallsyms])
	ffffffff821ed511 do_syscall_64 ([kernel.kallsyms])
	ffffffff81000130 entry_SYSCALL_64_after_hwframe ([kernel.kallsyms])
	          108f36 epoll_wait (/usr/lib/x86_64-linux-gnu/libc.so.6)
	    7f7db49455ba Interpreter (/tmp/perf-1516.map)
	    7f7db4941374 Interpreter (/tmp/perf-1516.map)`),
    );
    expect(v?.state).toBe('idle');
  });

  it('L9636 HTTP-Dispatcher prev_state=t: ptrace_stop beats ObjectMonitor::enter → other (strace overhead)', () => {
    const v = classifyStack(
      frames(`
	ffffffff821f8b58 __schedule ([kernel.kallsyms])
	ffffffff821f94c3 schedule ([kernel.kallsyms])
	ffffffff8136f502 ptrace_stop ([kernel.kallsyms])
	ffffffff8136f7b3 ptrace_do_notify ([kernel.kallsyms])
	ffffffff8136f840 ptrace_notify ([kernel.kallsyms])
	ffffffff81415cae syscall_trace_enter ([kernel.kallsyms])
	ffffffff821ed69a do_syscall_64 ([kernel.kallsyms])
	ffffffff81000130 entry_SYSCALL_64_after_hwframe ([kernel.kallsyms])
	           86193 __GI___lll_lock_wake (/usr/lib/x86_64-linux-gnu/libc.so.6)
	          c084d1 ObjectMonitor::EnterI (/usr/lib/jvm/java-17-openjdk-amd64/lib/server/libjvm.so)
	          c09328 ObjectMonitor::enter (/usr/lib/jvm/java-17-openjdk-amd64/lib/server/libjvm.so)
	          e4c544 ObjectSynchronizer::enter (/usr/lib/jvm/java-17-openjdk-amd64/lib/server/libjvm.so)`),
    );
    expect(v).toEqual({ state: 'other', reason: 'ptrace stop (strace overhead)' });
  });

  it('L341905 http-worker-2 prev_state=R: preempted while spinning in ObjectMonitor::enter → null', () => {
    const v = classifyStack(
      frames(`
	ffffffff821f8b58 __schedule ([kernel.kallsyms])
	ffffffff821f94c3 schedule ([kernel.kallsyms])
	ffffffff821f39f0 irqentry_exit_to_user_mode ([kernel.kallsyms])
	ffffffff81000e46 asm_sysvec_reschedule_ipi ([kernel.kallsyms])
	          c09177 ObjectMonitor::enter (/usr/lib/jvm/java-17-openjdk-amd64/lib/server/libjvm.so)
	          e4c544 ObjectSynchronizer::enter (/usr/lib/jvm/java-17-openjdk-amd64/lib/server/libjvm.so)
	          81dc00 InterpreterRuntime::monitorenter (/usr/lib/jvm/java-17-openjdk-amd64/lib/server/libjvm.so)
	    7f7db495379a Interpreter (/tmp/perf-1516.map)`),
    );
    expect(v).toBeNull();
  });

  it('L11828 http-worker-4 prev_state=S: sigsuspend (JVM thread suspension) → other', () => {
    const v = classifyStack(
      frames(`
	ffffffff821f8b58 __schedule ([kernel.kallsyms])
	ffffffff821f94c3 schedule ([kernel.kallsyms])
	ffffffff8136b037 sigsuspend.isra.0 ([kernel.kallsyms])
	ffffffff81373697 __x64_sys_rt_sigsuspend ([kernel.kallsyms])
	ffffffff821ed511 do_syscall_64 ([kernel.kallsyms])
	ffffffff81000130 entry_SYSCALL_64_after_hwframe ([kernel.kallsyms])
	           3c301 __sigsuspend (/usr/lib/x86_64-linux-gnu/libc.so.6)
	           3c050 __restore_rt (/usr/lib/x86_64-linux-gnu/libc.so.6)`),
    );
    expect(v?.state).toBe('other');
  });
});

// Lines of test/fixtures/captures/node/perf.script.gz as committed in b7865b6 (the node fixture was
// re-recorded later; these stacks are kept verbatim from that recording).
describe('classifyStack on node/perf.script.gz (b7865b6)', () => {
  it('L268 node prev_state=S: epoll_pwait (event loop) → idle', () => {
    const v = classifyStack(
      frames(`
	ffffffff821f8b58 __schedule ([kernel.kallsyms])
	ffffffff821f94c3 schedule ([kernel.kallsyms])
	ffffffff8220093a schedule_hrtimeout_range_clock ([kernel.kallsyms])
	ffffffff817302b8 do_epoll_wait ([kernel.kallsyms])
	ffffffff8173032e do_epoll_pwait.part.0 ([kernel.kallsyms])
	ffffffff81731b4a __x64_sys_epoll_pwait ([kernel.kallsyms])
	ffffffff821ed511 do_syscall_64 ([kernel.kallsyms])
	ffffffff81000130 entry_SYSCALL_64_after_hwframe ([kernel.kallsyms])
	          108cae epoll_pwait (/usr/lib/x86_64-linux-gnu/libc.so.6)`),
    );
    expect(v?.state).toBe('idle');
  });

  it('L294701 node prev_state=D: mmap lock (rwsem) in munmap → lock, not file', () => {
    const v = classifyStack(
      frames(`
	ffffffff821f8b58 __schedule ([kernel.kallsyms])
	ffffffff821f94c3 schedule ([kernel.kallsyms])
	ffffffff821f9771 schedule_preempt_disabled ([kernel.kallsyms])
	ffffffff821fd7c0 rwsem_down_write_slowpath ([kernel.kallsyms])
	ffffffff821fdd8c down_write_killable ([kernel.kallsyms])
	ffffffff8161212d __vm_munmap ([kernel.kallsyms])
	ffffffff815f2af7 __x64_sys_munmap ([kernel.kallsyms])
	ffffffff821ed511 do_syscall_64 ([kernel.kallsyms])
	ffffffff81000130 entry_SYSCALL_64_after_hwframe ([kernel.kallsyms])
	          101a07 __munmap (/usr/lib/x86_64-linux-gnu/libc.so.6)
	         1d503af v8::base::PageAllocator::FreePages (/usr/bin/node)`),
    );
    expect(v?.state).toBe('lock');
    expect(v?.reason).toContain('rwsem');
  });

  it('L33285 node prev_state=D: fsync cache flush (blkdev_issue_flush) → file', () => {
    const v = classifyStack(
      frames(`
	ffffffff821f8b58 __schedule ([kernel.kallsyms])
	ffffffff821f94c3 schedule ([kernel.kallsyms])
	ffffffff82200647 schedule_timeout ([kernel.kallsyms])
	ffffffff821f8501 io_schedule_timeout ([kernel.kallsyms])
	ffffffff821fa53f wait_for_completion_io_timeout ([kernel.kallsyms])
	ffffffff81aed184 submit_bio_wait ([kernel.kallsyms])
	ffffffff81af9693 blkdev_issue_flush ([kernel.kallsyms])
	ffffffff817aabf2 ext4_sync_file ([kernel.kallsyms])`),
    );
    expect(v?.state).toBe('file');
  });
});

describe('classifyStack on python/perf.script.gz', () => {
  it('L200 acceptor prev_state=S: blocking accept → idle', () => {
    const v = classifyStack(
      frames(`
	ffffffff821f8b58 __schedule ([kernel.kallsyms])
	ffffffff821f94c3 schedule ([kernel.kallsyms])
	ffffffff82200691 schedule_timeout ([kernel.kallsyms])
	ffffffff82008922 inet_csk_accept ([kernel.kallsyms])
	ffffffff82057d0f inet_accept ([kernel.kallsyms])
	ffffffff81e2e9ac do_accept ([kernel.kallsyms])
	ffffffff81e2eae4 __sys_accept4 ([kernel.kallsyms])
	ffffffff81e2eb88 __x64_sys_accept4 ([kernel.kallsyms])
	ffffffff821ed511 do_syscall_64 ([kernel.kallsyms])
	ffffffff81000130 entry_SYSCALL_64_after_hwframe ([kernel.kallsyms])
	          10afa8 accept4 (/usr/lib/x86_64-linux-gnu/libc.so.6)
	c27fb98000007fb1 [unknown] ([unknown])`),
    );
    expect(v?.state).toBe('idle');
  });

  it('L39814 worker_2 prev_state=S: poll → idle', () => {
    const v = classifyStack(
      frames(`
	ffffffff821f8b58 __schedule ([kernel.kallsyms])
	ffffffff821f94c3 schedule ([kernel.kallsyms])
	ffffffff822008fb schedule_hrtimeout_range_clock ([kernel.kallsyms])
	ffffffff816d8e97 poll_schedule_timeout.constprop.0 ([kernel.kallsyms])
	ffffffff816da790 do_sys_poll ([kernel.kallsyms])
	ffffffff816db4f1 __x64_sys_poll ([kernel.kallsyms])
	ffffffff821ed511 do_syscall_64 ([kernel.kallsyms])
	ffffffff81000130 entry_SYSCALL_64_after_hwframe ([kernel.kallsyms])
	           fc26f __poll (/usr/lib/x86_64-linux-gnu/libc.so.6)
	         7f336f0 [unknown] ([unknown])`),
    );
    expect(v?.state).toBe('idle');
  });

  it('L686 worker_2 prev_state=S: __lll_lock_wait (mutex) → lock', () => {
    const v = classifyStack(
      frames(`
	ffffffff821f8b58 __schedule ([kernel.kallsyms])
	ffffffff821f94c3 schedule ([kernel.kallsyms])
	ffffffff8143f416 futex_do_wait ([kernel.kallsyms])
	ffffffff8143fc0a __futex_wait ([kernel.kallsyms])
	ffffffff8143fcf7 futex_wait ([kernel.kallsyms])
	ffffffff8143b42d do_futex ([kernel.kallsyms])
	ffffffff8143b6a2 __x64_sys_futex ([kernel.kallsyms])
	ffffffff821ed511 do_syscall_64 ([kernel.kallsyms])
	ffffffff81000130 entry_SYSCALL_64_after_hwframe ([kernel.kallsyms])
	           8612b __GI___lll_lock_wait (/usr/lib/x86_64-linux-gnu/libc.so.6)`),
    );
    expect(v?.state).toBe('lock');
  });

  it('L38940 worker_2 prev_state=D: page-cache read (folio_wait_bit_common) → file', () => {
    const v = classifyStack(
      frames(`
	ffffffff821f8b58 __schedule ([kernel.kallsyms])
	ffffffff821f94c3 schedule ([kernel.kallsyms])
	ffffffff821f958f io_schedule ([kernel.kallsyms])
	ffffffff8158abb0 folio_wait_bit_common ([kernel.kallsyms])
	ffffffff8158f0a9 filemap_get_pages ([kernel.kallsyms])
	ffffffff8158f1aa filemap_read ([kernel.kallsyms])
	ffffffff816b8c2a vfs_read ([kernel.kallsyms])`),
    );
    expect(v?.state).toBe('file');
  });
});

/** Patterns the fixtures do not contain (stacks were unwound through libc only). Synthetic. */
describe('classifyStack refinement (synthetic stacks, not from fixtures)', () => {
  const k = (...symbols: string[]): StackFrame[] => symbols.map((symbol) => ({ symbol, dso: 'x' }));

  it('a pool worker parked in its queue take() is idle, not a lock', () => {
    const v = classifyStack(
      k(
        'futex_wait_queue',
        'futex_wait',
        'Parker::park',
        'Unsafe_Park',
        'java.util.concurrent.locks.LockSupport.park',
        'java.util.concurrent.LinkedBlockingQueue.take',
        'java.util.concurrent.ThreadPoolExecutor.getTask',
      ),
    );
    expect(v?.state).toBe('idle');
  });
  it('the same park under ReentrantLock.lock is a lock', () => {
    const v = classifyStack(
      k('futex_wait_queue', 'Parker::park', 'Unsafe_Park', 'java.util.concurrent.locks.ReentrantLock.lock'),
    );
    expect(v?.state).toBe('lock');
  });
  it('perf-map-agent JIT names (Lpkg/Class;::method) are recognised', () => {
    expect(classifyStack(k('futex_wait', 'Ljava/util/concurrent/LinkedBlockingQueue;::take'))?.state).toBe(
      'idle',
    );
  });
  it('pthread_cond_wait alone is idle; under take_gil it is the GIL (lock, lockId gil)', () => {
    expect(
      classifyStack(k('futex_wait', '__futex_abstimed_wait_common', 'pthread_cond_wait@@GLIBC_2.3.2'))?.state,
    ).toBe('idle');
    expect(
      classifyStack(
        k('futex_wait', 'pthread_cond_timedwait@@GLIBC_2.3.2', 'take_gil', 'PyEval_RestoreThread'),
      ),
    ).toMatchObject({
      state: 'lock',
      lockId: 'gil',
    });
  });
  it('Python lock acquire is a lock; inside queue.get it is idle', () => {
    expect(
      classifyStack(k('futex_wait', 'PyThread_acquire_lock_timed', 'lock_PyThread_acquire_lock'))?.state,
    ).toBe('lock');
    expect(
      classifyStack(
        k(
          'futex_wait',
          'PyThread_acquire_lock_timed',
          'py::Condition.wait:/usr/lib/python3.12/threading.py',
          'py::Queue.get:/usr/lib/python3.12/queue.py',
        ),
      )?.state,
    ).toBe('idle');
  });
  it('epoll with a socket read in progress is net', () => {
    expect(
      classifyStack(
        k('ep_poll', 'do_epoll_wait', 'sun.nio.ch.NioSocketImpl.park', 'java.net.SocketInputStream.read'),
      )?.state,
    ).toBe('net');
    expect(
      classifyStack(k('sk_wait_data', 'tcp_recvmsg_locked', 'tcp_recvmsg', 'inet_recvmsg', 'sock_recvmsg'))
        ?.state,
    ).toBe('net');
  });
  it('Thread.sleep → sleep; waitpid/pipe → other; unknown and empty → null; symoff stripped', () => {
    expect(
      classifyStack(k('futex_wait', 'os::PlatformEvent::park', 'JavaThread::sleep', 'JVM_Sleep'))?.state,
    ).toBe('sleep');
    expect(classifyStack(k('do_wait', 'kernel_wait4'))?.state).toBe('other');
    expect(classifyStack(k('pipe_read', 'vfs_read'))?.state).toBe('other');
    expect(classifyStack(k('[unknown]', 'main'))).toBeNull();
    expect(classifyStack([])).toBeNull();
    expect(classifyStack(k('do_nanosleep+0x6e', 'hrtimer_nanosleep+0x10'))?.state).toBe('sleep');
  });
});
