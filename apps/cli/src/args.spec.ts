import { describe, expect, it } from 'vitest';
import { DEFAULT_SERVER, parseArgs, parseServer, parseTimeout, USAGE } from './args.js';
import { UsageError } from './errors.js';

describe('parseArgs', () => {
  it('parses upload with defaults', () => {
    expect(parseArgs(['upload', 'a.gz', 'dir'])).toEqual({
      kind: 'upload',
      paths: ['a.gz', 'dir'],
      server: DEFAULT_SERVER,
      name: null,
      wait: true,
      timeoutMs: 300_000,
    });
  });

  it('accepts options before, between and after paths, in both --opt value and --opt=value forms', () => {
    const command = parseArgs([
      '--server',
      'http://h:9/',
      'upload',
      'a',
      '--name=run 1',
      'b',
      '--no-wait',
      '--timeout',
      '2.5',
    ]);
    expect(command).toEqual({
      kind: 'upload',
      paths: ['a', 'b'],
      server: 'http://h:9',
      name: 'run 1',
      wait: false,
      timeoutMs: 2500,
    });
  });

  it('takes everything after -- as paths', () => {
    const command = parseArgs(['upload', '--', '--weird-name', '-x']);
    expect(command).toMatchObject({ kind: 'upload', paths: ['--weird-name', '-x'] });
  });

  it('uses THREADREEL_SERVER unless --server is given', () => {
    const env = { THREADREEL_SERVER: 'https://trace.example/base/' };
    expect(parseArgs(['demo'], env)).toEqual({
      kind: 'demo',
      server: 'https://trace.example/base',
      timeoutMs: 300_000,
    });
    expect(parseArgs(['demo', '--server', 'http://x:1'], env)).toMatchObject({ server: 'http://x:1' });
  });

  it('recognises help and version in every spelling', () => {
    for (const argv of [['--help'], ['-h'], ['help'], ['upload', '--help'], ['demo', '-h']]) {
      expect(parseArgs(argv)).toEqual({ kind: 'help' });
    }
    for (const argv of [['--version'], ['-v'], ['version']])
      expect(parseArgs(argv)).toEqual({ kind: 'version' });
  });

  it.each([
    [[], 'no command given'],
    [['frobnicate'], "unknown command 'frobnicate'"],
    [['upload'], "'upload' needs at least one file"],
    [['upload', 'a', '--bogus'], "unknown option '--bogus'"],
    [['upload', 'a', '-x'], "unknown option '-x'"],
    [['upload', 'a', '--server'], "option '--server' needs a value"],
    [['upload', 'a', '--name', '--no-wait'], "option '--name' needs a value"],
    [['upload', 'a', '--no-wait=yes'], "option '--no-wait' takes no value"],
    [['upload', 'a', '--timeout', 'soon'], "--timeout expects seconds, got 'soon'"],
    [['upload', 'a', '--timeout=-1'], '--timeout expects seconds'],
    [['upload', 'a', '--name='], '--name must not be empty'],
    [['upload', 'a', '--server', 'ftp://x'], 'only http and https'],
    [['upload', 'a', '--server', 'not a url'], "invalid server URL 'not a url'"],
    [['demo', 'extra'], "'demo' takes no arguments"],
    [['demo', '--no-wait'], "option '--no-wait' does not apply to 'demo'"],
    [['demo', '--name', 'x'], "option '--name' does not apply to 'demo'"],
  ])('rejects %j', (argv, message) => {
    expect(() => parseArgs(argv)).toThrow(UsageError);
    expect(() => parseArgs(argv)).toThrow(message);
  });
});

describe('parseServer', () => {
  it('keeps a base path and drops trailing slashes', () => {
    expect(parseServer('http://127.0.0.1:8080/')).toBe('http://127.0.0.1:8080');
    expect(parseServer('https://example.com/threadreel//')).toBe('https://example.com/threadreel');
  });

  it('refuses queries, fragments and credentials', () => {
    expect(() => parseServer('http://h/?a=1')).toThrow('no query or fragment');
    expect(() => parseServer('http://user:pw@h/')).toThrow('credentials');
  });
});

describe('parseTimeout', () => {
  it('reads seconds; 0 means forever', () => {
    expect(parseTimeout(undefined)).toBe(300_000);
    expect(parseTimeout('10')).toBe(10_000);
    expect(parseTimeout('0')).toBe(Infinity);
  });
});

it('documents every command, option and exit code', () => {
  for (const word of [
    'upload',
    'demo',
    '--server',
    '--name',
    '--no-wait',
    '--timeout',
    '--version',
    'THREADREEL_SERVER',
  ]) {
    expect(USAGE).toContain(word);
  }
  expect(USAGE).toMatch(/^ {2}3 {2}server unreachable/m);
});
