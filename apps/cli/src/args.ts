import { UsageError } from './errors.js';
import { parseRecordOptions, type RecordOptions } from './record/options.js';

export const DEFAULT_SERVER = 'http://127.0.0.1:8080';
export const DEFAULT_TIMEOUT_SECONDS = 300;

export type Command =
  | { kind: 'help' }
  | { kind: 'version' }
  | {
      kind: 'upload';
      paths: string[];
      server: string;
      name: string | null;
      wait: boolean;
      /** Milliseconds to wait for the capture to finish; Infinity for no limit. */
      timeoutMs: number;
    }
  | { kind: 'demo'; server: string; timeoutMs: number }
  | { kind: 'record'; options: RecordOptions };

export const USAGE = `threadreel - record perf captures and upload them to a threadreel server

Usage:
  threadreel upload <file|dir|bundle.tar.gz>... [--server URL] [--name NAME]
                    [--no-wait] [--timeout SECS]
  threadreel demo [--server URL] [--timeout SECS]
  threadreel record --pid PID [--duration 30s] [--out DIR] [--perf-freq 199]
                    [--no-strace] [--jfr] [--logs FILE...] [--spans FILE...]
                    [--gc-log FILE] [--name NAME] [--upload URL]
  threadreel help
  threadreel --version

Commands:
  upload   Upload capture files, then wait until the server has parsed them and
           print a per-file report. Directories are expanded recursively (hidden
           files and directories are skipped); a manifest.json among the files
           describes the capture. A .tar.gz/.tgz/.tar bundle must come alone; the
           server unpacks it.
  demo     Upload the demo capture shipped with threadreel (test/fixtures/demo),
           wait until it is ready and print its URL in the web UI.
  record   (Linux, root) Record every thread of a running process into a bundle
           folder (docs/bundle-format.md): perf record (cpu-clock samples with
           call graphs, every sched_switch/sched_wakeup), strace -f, a tid->comm
           map each second, jstack (and JFR with --jfr) for a JVM, clock pairs,
           the given log/span/GC files and a manifest.json. Stops after
           --duration, when the target exits, or at Ctrl-C (SIGINT/SIGTERM);
           a second Ctrl-C skips the post-processing. Progress goes to stderr,
           the bundle path and its files to stdout.

Options:
  --server URL     API server (default: $THREADREEL_SERVER, else ${DEFAULT_SERVER})
  --name NAME      name of the new capture (upload and record)
  --no-wait        return as soon as the upload is accepted (upload only)
  --timeout SECS   stop waiting after SECS seconds (default ${DEFAULT_TIMEOUT_SECONDS}; 0 waits forever)

Record options:
  --pid PID        process to record, with all its threads (required)
  --duration D     how long: 30s (default), 500ms, 2m, 1h or plain seconds
  --out DIR        bundle folder, created; must be empty if it exists
                   (default ./threadreel-<pid>-<UTC time>)
  --perf-freq HZ   cpu-clock samples per second and CPU (default 199)
  --max-stack N    keep at most N frames (leaf first) per perf call chain (default: all perf recorded)
  --no-strace      do not run strace (it slows the target down a lot)
  --jfr            JVM only: also a JFR recording (jcmd JFR.start/dump/stop)
  --logs FILE...   application logs to copy into the bundle (logs/)
  --spans FILE...  span files (OTLP JSON, ...) to copy into the bundle (spans/)
  --gc-log FILE    GC log to copy into the bundle (gc/)
  --name NAME      capture name in the manifest and on upload
  --upload URL     upload the bundle to this server when done

  -h, --help       show this help
  -v, --version    print the version
  --               end of options: the remaining arguments are paths

Exit codes:
  0  the capture is ready and every file parsed cleanly
  1  the capture failed or is degraded (usable, with the problems listed: a
     file failed, was refused or had rejected lines, a source could not be
     placed on the time axis, a stage of the correlation could not be built),
     or the capture was not finished within --timeout
  2  usage error (bad option, missing or unreadable path)
  3  server unreachable or HTTP error

Exit codes of record (0-3 as above, 1 and 3 only with --upload; a record code
10-17 wins over the upload's):
  0    bundle written (also when Ctrl-C ended the recording early)
  10   not root, or lacking CAP_PERFMON/CAP_SYS_ADMIN (perf) or
       CAP_SYS_PTRACE (strace), or not allowed to trace this process
  11   unprivileged user and kernel.perf_event_paranoid is above -1
  12   perf, strace (or jcmd/jfr with --jfr) not found in PATH
  13   no such process (the pid is gone before the recording started)
  14   output folder cannot be created, is not empty or is not writable
  15   the target exited during the recording (partial bundle written)
  16   disk full: recording stopped, what was written is kept
  17   perf or strace failed (message above; what could be saved is kept)
  130  a second Ctrl-C aborted the post-processing or the upload
`;

type OptionName =
  | 'server'
  | 'name'
  | 'timeout'
  | 'no-wait'
  | 'help'
  | 'version'
  | 'pid'
  | 'duration'
  | 'out'
  | 'perf-freq'
  | 'max-stack'
  | 'no-strace'
  | 'jfr'
  | 'logs'
  | 'spans'
  | 'gc-log'
  | 'upload';

const VALUE_OPTIONS = new Set<OptionName>([
  'server',
  'name',
  'timeout',
  'pid',
  'duration',
  'out',
  'perf-freq',
  'max-stack',
  'gc-log',
  'upload',
]);
const FLAG_OPTIONS = new Set<OptionName>(['no-wait', 'help', 'version', 'no-strace', 'jfr']);
/** Options that take one or more values (`--logs a.log b.log`) and may be repeated. */
const LIST_OPTIONS = new Set<OptionName>(['logs', 'spans']);
const SHORT: Record<string, OptionName> = { h: 'help', v: 'version' };
type CommandName = 'upload' | 'demo' | 'record';
/** Options each command accepts besides --help/--version. */
const ALLOWED: Record<CommandName, ReadonlySet<OptionName>> = {
  upload: new Set(['server', 'name', 'timeout', 'no-wait']),
  demo: new Set(['server', 'timeout']),
  record: new Set([
    'pid',
    'duration',
    'out',
    'perf-freq',
    'max-stack',
    'no-strace',
    'jfr',
    'logs',
    'spans',
    'gc-log',
    'upload',
    'name',
  ]),
};

function isOptionName(name: string): name is OptionName {
  return (
    VALUE_OPTIONS.has(name as OptionName) ||
    FLAG_OPTIONS.has(name as OptionName) ||
    LIST_OPTIONS.has(name as OptionName)
  );
}

function isCommandName(name: string): name is CommandName {
  return name === 'upload' || name === 'demo' || name === 'record';
}

/**
 * Parses the arguments after `threadreel` (process.argv.slice(2)). `env` supplies
 * THREADREEL_SERVER. Throws UsageError on anything it does not understand.
 */
export function parseArgs(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>> = {},
): Command {
  const positionals: string[] = [];
  const values = new Map<OptionName, string>();
  const lists = new Map<OptionName, string[]>();
  const flags = new Set<OptionName>();

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
      if (!isOptionName(name)) throw new UsageError(`unknown option '--${name}'`);
      if (FLAG_OPTIONS.has(name)) {
        if (eq !== -1) throw new UsageError(`option '--${name}' takes no value`);
        flags.add(name);
        continue;
      }
      if (LIST_OPTIONS.has(name)) {
        const list = lists.get(name) ?? [];
        lists.set(name, list);
        if (eq !== -1) {
          list.push(arg.slice(eq + 1));
          continue;
        }
        // After the command word, `--logs a b c` takes every following non-option;
        // before it, exactly one value (so `--logs a record` keeps `record` as the command).
        const greedy = positionals.length > 0;
        let taken = 0;
        while (i + 1 < argv.length) {
          const next = argv[i + 1] as string;
          if (next === '--' || (next.startsWith('-') && next !== '-') || (taken > 0 && !greedy)) break;
          list.push(next);
          taken++;
          i++;
        }
        if (taken === 0) throw new UsageError(`option '--${name}' needs a value`);
        continue;
      }
      let value: string;
      if (eq !== -1) {
        value = arg.slice(eq + 1);
      } else {
        const next = argv[i + 1];
        if (next === undefined || (next.startsWith('-') && next !== '-')) {
          throw new UsageError(`option '--${name}' needs a value`);
        }
        value = next;
        i++;
      }
      values.set(name, value);
      continue;
    }
    if (arg.length > 1 && arg.startsWith('-')) {
      for (const letter of arg.slice(1)) {
        const name = SHORT[letter];
        if (name === undefined) throw new UsageError(`unknown option '-${letter}'`);
        flags.add(name);
      }
      continue;
    }
    positionals.push(arg);
  }

  if (flags.has('help')) return { kind: 'help' };
  if (flags.has('version')) return { kind: 'version' };

  const [command, ...rest] = positionals;
  if (command === undefined) throw new UsageError('no command given');
  if (command === 'help') return { kind: 'help' };
  if (command === 'version') return { kind: 'version' };
  if (!isCommandName(command)) throw new UsageError(`unknown command '${command}'`);

  for (const name of [...values.keys(), ...lists.keys(), ...flags]) {
    if (!ALLOWED[command].has(name))
      throw new UsageError(`option '--${name}' does not apply to '${command}'`);
  }

  if (command === 'record') {
    return { kind: 'record', options: parseRecordOptions({ values, lists, flags, rest }, parseServer) };
  }

  const server = parseServer(values.get('server') ?? env['THREADREEL_SERVER'] ?? DEFAULT_SERVER);
  const timeoutMs = parseTimeout(values.get('timeout'));

  if (command === 'demo') {
    if (rest.length > 0) throw new UsageError(`'demo' takes no arguments (got '${rest[0]}')`);
    return { kind: 'demo', server, timeoutMs };
  }

  if (rest.length === 0)
    throw new UsageError("'upload' needs at least one file, directory or .tar.gz bundle");
  const name = values.get('name');
  if (name !== undefined && name.trim() === '') throw new UsageError('--name must not be empty');
  return { kind: 'upload', paths: rest, server, name: name ?? null, wait: !flags.has('no-wait'), timeoutMs };
}

/** Validates an http(s) base URL and returns it without a trailing slash. */
export function parseServer(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`invalid server URL '${raw}' (expected e.g. ${DEFAULT_SERVER})`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`invalid server URL '${raw}': only http and https are supported`);
  }
  if (url.search !== '' || url.hash !== '') {
    throw new UsageError(`invalid server URL '${raw}': no query or fragment allowed`);
  }
  if (url.username !== '' || url.password !== '') {
    throw new UsageError(`invalid server URL '${raw}': credentials in the URL are not supported`);
  }
  return url.href.replace(/\/+$/, '');
}

/** `--timeout SECS` in milliseconds; 0 means no limit (Infinity). */
export function parseTimeout(raw: string | undefined): number {
  if (raw === undefined) return DEFAULT_TIMEOUT_SECONDS * 1000;
  if (!/^\d+(\.\d+)?$/.test(raw)) throw new UsageError(`--timeout expects seconds, got '${raw}'`);
  const seconds = Number(raw);
  return seconds === 0 ? Infinity : seconds * 1000;
}
