import { UsageError } from './errors.js';

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
  | { kind: 'demo'; server: string; timeoutMs: number };

export const USAGE = `threadreel - upload perf captures to a threadreel server

Usage:
  threadreel upload <file|dir|bundle.tar.gz>... [--server URL] [--name NAME]
                    [--no-wait] [--timeout SECS]
  threadreel demo [--server URL] [--timeout SECS]
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

Options:
  --server URL     API server (default: $THREADREEL_SERVER, else ${DEFAULT_SERVER})
  --name NAME      name of the new capture (upload only)
  --no-wait        return as soon as the upload is accepted (upload only)
  --timeout SECS   stop waiting after SECS seconds (default ${DEFAULT_TIMEOUT_SECONDS}; 0 waits forever)
  -h, --help       show this help
  -v, --version    print the version
  --               end of options: the remaining arguments are paths

Exit codes:
  0  the capture is ready and every file parsed cleanly
  1  the capture failed, a file failed, was refused or had rejected lines,
     or the capture was not finished within --timeout
  2  usage error (bad option, missing or unreadable path)
  3  server unreachable or HTTP error
`;

type OptionName = 'server' | 'name' | 'timeout' | 'no-wait' | 'help' | 'version';

const VALUE_OPTIONS = new Set<OptionName>(['server', 'name', 'timeout']);
const FLAG_OPTIONS = new Set<OptionName>(['no-wait', 'help', 'version']);
const SHORT: Record<string, OptionName> = { h: 'help', v: 'version' };
/** Options each command accepts besides --help/--version. */
const ALLOWED: Record<'upload' | 'demo', ReadonlySet<OptionName>> = {
  upload: new Set(['server', 'name', 'timeout', 'no-wait']),
  demo: new Set(['server', 'timeout']),
};

function isOptionName(name: string): name is OptionName {
  return VALUE_OPTIONS.has(name as OptionName) || FLAG_OPTIONS.has(name as OptionName);
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
  if (command !== 'upload' && command !== 'demo') throw new UsageError(`unknown command '${command}'`);

  for (const name of [...values.keys(), ...flags]) {
    if (!ALLOWED[command].has(name))
      throw new UsageError(`option '--${name}' does not apply to '${command}'`);
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
