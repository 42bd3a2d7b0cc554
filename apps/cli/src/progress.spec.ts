import type { CaptureDetail, SourceFileReport, UploadAccepted } from '@threadreel/model';
import { describe, expect, it } from 'vitest';
import {
  fitWidth,
  formatBytes,
  formatCount,
  isClean,
  isFinished,
  problemLines,
  progressChanges,
  progressLine,
  summaryTable,
} from './progress.js';

function file(overrides: Partial<SourceFileReport> = {}): SourceFileReport {
  return {
    id: '1',
    name: 'perf.script.gz',
    sha256: 'ab',
    bytes: '56859',
    format: 'perf-script',
    detected: { format: 'perf-script', confidence: 0.95, reason: 'perf script record header' },
    clock: 'monotonic',
    clockOffsetNs: null,
    clockMethod: null,
    clockEvidence: null,
    state: 'parsed',
    lines: '40228',
    events: '3446',
    rejectedCount: '0',
    rejected: [],
    parseMs: 1234,
    note: null,
    error: null,
    ...overrides,
  };
}

function capture(overrides: Partial<CaptureDetail> = {}): CaptureDetail {
  return {
    id: 'c1',
    name: 'demo',
    state: 'ready',
    createdAt: '',
    updatedAt: '',
    files: 1,
    bytes: '56859',
    error: null,
    manifest: null,
    sourceFiles: [file()],
    degradedParts: [],
    ...overrides,
  };
}

const accepted: UploadAccepted = { captureId: 'c1', duplicates: [], rejected: [] };

describe('formatting', () => {
  it('groups digits exactly, even beyond 2^53', () => {
    expect(formatCount('0')).toBe('0');
    expect(formatCount('1234567')).toBe('1,234,567');
    expect(formatCount('123456789012345678901')).toBe('123,456,789,012,345,678,901');
    expect(formatCount(null)).toBe('-');
  });

  it('formats sizes', () => {
    expect(formatBytes('512')).toBe('512 B');
    expect(formatBytes('56859')).toBe('55.5 KiB');
    expect(formatBytes(String(3 * 1024 ** 3))).toBe('3.0 GiB');
  });

  it('cuts long lines with an ellipsis', () => {
    expect(fitWidth('abcdef', 10)).toBe('abcdef');
    expect(fitWidth('abcdef', 4)).toBe('abc…');
  });
});

describe('progress', () => {
  it('summarises the capture on one line', () => {
    const detail = capture({
      state: 'parsing',
      sourceFiles: [
        file({ state: 'parsing', events: '1200' }),
        file({ id: '2', name: 'app.log', state: 'queued', events: '0' }),
      ],
    });
    expect(progressLine(detail, 1500)).toBe(
      '[1.5s] parsing, 0/2 files done | perf.script.gz: parsing, 1,200 events | app.log: queued',
    );
  });

  it('reports only what changed between polls', () => {
    const first = capture({ state: 'parsing', sourceFiles: [file({ state: 'parsing', events: '10' })] });
    const second = capture({ state: 'parsing', sourceFiles: [file({ state: 'parsing', events: '20' })] });
    const third = capture({ state: 'correlating' });
    expect(progressChanges(null, first, 0)).toEqual([
      '[  0.0s] capture parsing',
      '[  0.0s]   perf.script.gz: parsing, 10 events',
    ]);
    expect(progressChanges(first, second, 500)).toEqual([]);
    expect(progressChanges(second, third, 1000)).toEqual([
      '[  1.0s] capture correlating',
      '[  1.0s]   perf.script.gz: parsed, 3,446 events',
    ]);
  });
});

describe('summary', () => {
  it('prints an aligned table', () => {
    expect(
      summaryTable([
        file(),
        file({ id: '2', name: 'a.log', format: null, state: 'failed', bytes: '3', parseMs: null }),
      ]),
    ).toBe(
      [
        'FILE            FORMAT       STATE       SIZE   LINES  EVENTS  REJECTED  PARSE',
        'perf.script.gz  perf-script  parsed  55.5 KiB  40,228   3,446         0  1.2 s',
        'a.log           -            failed       3 B  40,228   3,446         0      -',
        '',
      ].join('\n'),
    );
  });

  it('is clean only when ready with nothing refused, failed or rejected', () => {
    expect(isClean(capture(), accepted)).toBe(true);
    expect(problemLines(capture(), accepted)).toEqual([]);
    expect(isClean(capture({ state: 'failed' }), accepted)).toBe(false);
    expect(isClean(capture(), { ...accepted, rejected: [{ name: 'x', reason: 'unknown format' }] })).toBe(
      false,
    );
    expect(isClean(capture({ sourceFiles: [file({ rejectedCount: '1' })] }), accepted)).toBe(false);
    expect(isClean(capture({ sourceFiles: [file({ error: 'boom' })] }), accepted)).toBe(false);
    expect(isClean(capture({ state: 'degraded' }), accepted)).toBe(false);
  });

  it('says what degraded: the stages and sources, files once', () => {
    const detail = capture({
      state: 'degraded',
      error: 'clocks (strace.txt.gz): …',
      sourceFiles: [
        file({ name: 'strace.txt.gz', format: 'strace', error: 'strace.txt.gz: line 9: truncated' }),
        file({ id: '2', name: 'app.log', format: 'logs', events: '0' }),
      ],
      degradedParts: [
        {
          stage: 'clocks',
          file: 'strace.txt.gz',
          source: 'strace',
          thread: null,
          reason: "strace's clock disagrees with perf's",
        },
        { stage: 'segments', file: null, source: null, thread: { id: '7', tid: 4242 }, reason: 'bad input' },
        { stage: 'parse', file: 'strace.txt.gz', source: 'strace', thread: null, reason: 'kept 3 events' },
        { stage: 'parse', file: 'app.log', source: 'logs', thread: null, reason: 'no events in 1 lines' },
        { stage: 'parse', file: 'threads.jsonl', source: 'threads', thread: null, reason: 'not uploaded' },
      ],
    });
    expect(problemLines(detail, accepted)).toEqual([
      "degraded: clocks strace.txt.gz (strace): strace's clock disagrees with perf's",
      'degraded: segments tid 4242: bad input',
      'degraded: parse app.log (logs): no events in 1 lines',
      'degraded: parse threads.jsonl (threads): not uploaded',
      'strace.txt.gz: parsed: strace.txt.gz: line 9: truncated',
    ]);
    expect(isFinished(detail)).toBe(true);
  });

  it('lists every reason', () => {
    const detail = capture({
      state: 'failed',
      error: 'no parsable file',
      sourceFiles: [
        file({
          rejectedCount: '25',
          rejected: [
            { line: 7, field: 'time', reason: 'not a number' },
            { line: 9, reason: 'truncated' },
          ],
        }),
        file({ id: '2', name: 'x.bin', state: 'failed', error: 'unknown format' }),
      ],
    });
    expect(problemLines(detail, { ...accepted, rejected: [{ name: 'core', reason: 'too large' }] })).toEqual([
      'core: refused at upload: too large',
      'capture failed: no parsable file',
      'perf.script.gz:7: time: not a number',
      'perf.script.gz:9: truncated',
      'perf.script.gz: 23 more rejected lines (the server lists the first 2)',
      'x.bin: failed: unknown format',
    ]);
  });
});
