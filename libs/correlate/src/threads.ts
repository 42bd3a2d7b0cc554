/**
 * Thread identity helpers: kernel comm truncation, pool names, and which threads are the
 * runtime's own (GC, JIT, VM) rather than application (mutator) threads.
 */

/** The kernel keeps 15 bytes of a thread name (TASK_COMM_LEN 16 with the NUL). */
export function kernelComm(name: string): string {
  const bytes = Buffer.from(name, 'utf8');
  if (bytes.length <= 15) return name;
  // Cut on a character boundary, as the kernel's byte cut would leave a broken last character.
  let end = 15;
  while (end > 0 && ((bytes[end] ?? 0) & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end).toString('utf8');
}

/** Whether a full runtime name and a (possibly truncated) kernel comm name the same thread. */
export function sameThreadName(fullName: string, comm: string): boolean {
  return fullName === comm || kernelComm(fullName) === comm;
}

const POOL_PATTERNS: readonly [RegExp, (m: RegExpExecArray) => string][] = [
  // Tomcat / Jetty / Netty / executors: http-nio-8080-exec-12, pool-3-thread-7, nioEventLoopGroup-2-3
  [/^(http-nio-\d+-exec)-\d+$/, (m) => m[1] ?? ''],
  [/^(pool-\d+)-thread-\d+$/, (m) => m[1] ?? ''],
  [/^(ForkJoinPool[.-][\w.-]*?)-worker-\d+$/, (m) => m[1] ?? ''],
  [/^(nioEventLoopGroup-\d+)-\d+$/, (m) => m[1] ?? ''],
  // JVM GC and JIT threads: GC Thread#3, G1 Conc#0, C2 CompilerThre(ad0)
  [/^(GC Thread|G1 Conc|G1 Refine|ZWorker|ZRuntimeWorker)#\d+$/, (m) => m[1] ?? ''],
  // libuv worker threads (Node names them libuv-worker), V8 platform workers
  [/^(libuv-worker|V8 DefaultWorke|V8 DefaultWorker)$/, (m) => m[1] ?? ''],
  // generic: name-N, name_N, name#N
  [/^(.*?[A-Za-z])[-_#.]?\d+$/, (m) => m[1] ?? ''],
];

/**
 * The pool a thread belongs to by its name (`http-worker-3` → `http-worker`,
 * `worker_1` → `worker`), or null for a name with no numbered pattern. The caller keeps a
 * pool only when two or more threads share it.
 */
export function poolName(name: string): string | null {
  for (const [re, pick] of POOL_PATTERNS) {
    const m = re.exec(name);
    if (m) {
      const p = pick(m);
      return p.length > 0 ? p : null;
    }
  }
  return null;
}

const JVM_INTERNAL =
  /^(GC Thread|G1 |VM Thread|VM Periodic|C1 CompilerThre|C2 CompilerThre|Sweeper thread|Signal Dispatch|Reference Handl|Finalizer|Common-Cleaner|Monitor Deflati|Notification Th|Service Thread|Attach Listener|JFR |ZWorker|ZDirector|ZStat|Z Driver|Z Unmap|Shenandoah)/;

/**
 * Whether a thread runs application code that a stop-the-world pause stops (a mutator).
 * JVM internal threads (GC workers, VM thread, JIT compilers, JFR) keep running during a pause.
 */
export function isMutator(name: string | null, runtime: string | null): boolean {
  if (name === null) return true;
  if (runtime === 'jvm' || runtime === null) return !JVM_INTERNAL.test(name);
  return true;
}

export type Runtime = 'jvm' | 'node' | 'python' | 'go';

const FORMAT_RUNTIME: Readonly<Record<string, Runtime>> = {
  'jvm-unified': 'jvm',
  'jfr-json': 'jvm',
  jstack: 'jvm',
  'node-trace-gc': 'node',
  'python-gc-jsonl': 'python',
  'pyspy-speedscope': 'python',
  'pyspy-chrometrace': 'python',
  'go-gctrace': 'go',
};

/** The runtime a process's main thread name (its executable's comm) says it is. */
function runtimeOfComm(comm: string): Runtime | null {
  if (/^(node|nodejs)$/.test(comm)) return 'node';
  if (/^java$/.test(comm)) return 'jvm';
  if (/^python[0-9.]*$/.test(comm)) return 'python';
  return null;
}

/**
 * Which runtime the captured process runs, when no manifest says: the runtime-specific files
 * uploaded beside the traces (a JVM GC log or JFR, Node's `--trace-gc`, Python gc callbacks,
 * Go's gctrace), else the main thread's name (the executable: `node`, `java`, `python3.11`)
 * or the JVM's own threads. Null when the evidence is absent or disagrees.
 */
export function inferRuntime(
  formats: readonly (string | null)[],
  threads: readonly {
    readonly pid: number | null;
    readonly tid: number;
    readonly names: readonly string[];
  }[],
): { runtime: Runtime | null; evidence: string } {
  const fromFiles = new Set(
    formats.flatMap((f) => (f !== null && FORMAT_RUNTIME[f] ? [FORMAT_RUNTIME[f]] : [])),
  );
  if (fromFiles.size === 1) {
    const [r] = [...fromFiles];
    if (r)
      return {
        runtime: r,
        evidence: `files only that runtime writes (${formats.filter((f) => f !== null && FORMAT_RUNTIME[f] === r).join(', ')})`,
      };
  }
  if (fromFiles.size > 1)
    return { runtime: null, evidence: `files of several runtimes: ${[...fromFiles].join(', ')}` };
  const fromMain = new Set<Runtime>();
  for (const t of threads)
    if (t.pid !== null && t.tid === t.pid)
      for (const n of t.names) {
        const r = runtimeOfComm(n);
        if (r) fromMain.add(r);
      }
  if (threads.some((t) => t.names.some((n) => /^(VM Thread|C2 CompilerThre|GC Thread#\d+)$/.test(n))))
    fromMain.add('jvm');
  if (fromMain.size === 1) {
    const [r] = [...fromMain];
    if (r) return { runtime: r, evidence: 'the process’s thread names' };
  }
  return {
    runtime: null,
    evidence: fromMain.size
      ? `thread names of several runtimes: ${[...fromMain].join(', ')}`
      : 'no runtime-specific file or thread name',
  };
}

/** A thread's display name: the longest of its names is the runtime's full one (jstack/JFR) rather than the 15-byte comm. */
export function bestName(t: { readonly names: readonly string[]; readonly tid: number }): string {
  return [...t.names].sort((a, b) => b.length - a.length)[0] ?? `tid ${t.tid}`;
}
