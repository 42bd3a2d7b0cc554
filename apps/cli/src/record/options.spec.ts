import { describe, expect, it } from 'vitest';
import { parseArgs, USAGE } from '../args.js';
import { UsageError } from '../errors.js';
import { defaultBundleName, parseDuration } from './options.js';

describe('record options', () => {
  it('has defaults for everything but --pid', () => {
    expect(parseArgs(['record', '--pid', '42'])).toEqual({
      kind: 'record',
      options: {
        pid: 42,
        durationMs: 30_000,
        out: null,
        perfFreq: 199,
        maxStack: null,
        strace: true,
        jfr: false,
        logs: [],
        spans: [],
        gcLog: null,
        upload: null,
        name: null,
      },
    });
  });

  it('parses every option, with several files after --logs and --spans', () => {
    const command = parseArgs([
      'record',
      '--pid=7',
      '--duration',
      '2m',
      '--out',
      'bundle',
      '--perf-freq',
      '99',
      '--max-stack',
      '24',
      '--no-strace',
      '--jfr',
      '--logs',
      'a.log',
      'b.log',
      '--spans',
      's.json',
      '--logs=c.log',
      '--gc-log',
      'gc.log',
      '--upload',
      'http://h:8080/',
      '--name',
      'run 1',
    ]);
    expect(command).toEqual({
      kind: 'record',
      options: {
        pid: 7,
        durationMs: 120_000,
        out: 'bundle',
        perfFreq: 99,
        maxStack: 24,
        strace: false,
        jfr: true,
        logs: ['a.log', 'b.log', 'c.log'],
        spans: ['s.json'],
        gcLog: 'gc.log',
        upload: 'http://h:8080',
        name: 'run 1',
      },
    });
  });

  it('refuses a --max-stack out of range', () => {
    expect(() => parseArgs(['record', '--pid', '1', '--max-stack', '0'])).toThrow(UsageError);
    expect(() => parseArgs(['record', '--pid', '1', '--max-stack', 'all'])).toThrow(
      '--max-stack: expected a whole number',
    );
  });

  it('takes one value for a list option given before the command word', () => {
    expect(parseArgs(['--logs', 'a.log', 'record', '--pid', '1'])).toMatchObject({
      kind: 'record',
      options: { logs: ['a.log'] },
    });
  });

  it.each([
    [['record'], "'record' needs --pid PID"],
    [['record', '--pid', 'abc'], "--pid expects a process id, got 'abc'"],
    [['record', '--pid', '0'], '--pid expects a process id'],
    [['record', '--pid', '1', 'extra'], "'record' takes no arguments (got 'extra')"],
    [['record', '--pid', '1', '--duration', 'soon'], '--duration expects e.g. 30s'],
    [['record', '--pid', '1', '--duration', '0'], '--duration must be more than 0'],
    [['record', '--pid', '1', '--duration', '48h'], '--duration must be at most 24h'],
    [['record', '--pid', '1', '--perf-freq', '0'], '--perf-freq expects samples per second'],
    [['record', '--pid', '1', '--perf-freq', '1e3'], '--perf-freq expects samples per second'],
    [['record', '--pid', '1', '--logs'], "option '--logs' needs a value"],
    [['record', '--pid', '1', '--logs', '--jfr'], "option '--logs' needs a value"],
    [['record', '--pid', '1', '--upload', 'ftp://x'], 'only http and https'],
    [['record', '--pid', '1', '--out='], '--out must not be empty'],
    [['record', '--pid', '1', '--server', 'http://x'], "option '--server' does not apply to 'record'"],
    [['record', '--pid', '1', '--no-wait'], "option '--no-wait' does not apply to 'record'"],
    [['upload', 'a', '--pid', '1'], "option '--pid' does not apply to 'upload'"],
    [['demo', '--jfr'], "option '--jfr' does not apply to 'demo'"],
  ])('rejects %j', (argv, message) => {
    expect(() => parseArgs(argv)).toThrow(UsageError);
    expect(() => parseArgs(argv)).toThrow(message);
  });

  it('reads durations with units, plain seconds and fractions', () => {
    expect(parseDuration('30s')).toBe(30_000);
    expect(parseDuration('1.5s')).toBe(1500);
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('2m')).toBe(120_000);
    expect(parseDuration('2min')).toBe(120_000);
    expect(parseDuration('1h')).toBe(3_600_000);
    expect(parseDuration('10')).toBe(10_000);
  });

  it('names the default bundle after the pid and the UTC time', () => {
    expect(defaultBundleName(1234, new Date('2026-03-04T05:06:07.890Z'))).toBe(
      'threadreel-1234-20260304T050607Z',
    );
  });

  it('documents the command, its options and its exit codes', () => {
    for (const word of ['record --pid PID', '--duration', '--perf-freq', '--no-strace', '--jfr', '--logs']) {
      expect(USAGE).toContain(word);
    }
    for (const word of ['--spans', '--gc-log', '--upload', '--out', 'SIGINT/SIGTERM'])
      expect(USAGE).toContain(word);
    for (const code of ['10', '11', '12', '13', '14', '15', '16', '17', '130']) {
      expect(USAGE).toMatch(new RegExp(`^ {2}${code} +\\S`, 'm'));
    }
  });
});
