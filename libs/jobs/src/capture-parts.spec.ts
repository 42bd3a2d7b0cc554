import { describe, expect, it } from 'vitest';
import type { CaptureManifest } from '@threadreel/model';
import { degradedSummary, fileDegradedParts, missingFileParts } from './capture-parts.js';
import { file } from './source-file.spec-helper.js';

describe('file degraded parts', () => {
  it('failed, broken off, rejected lines and no events are parts; clean files and manifests are not', () => {
    const files = [
      file({ name: 'ok.txt' }),
      file({ name: 'manifest.json', format: 'manifest', events: '0' }),
      file({ name: 'bad.bin', format: null, state: 'failed', error: 'bad.bin: unrecognised format' }),
      file({ name: 'cut.gz', error: 'cut.gz: line 40: unexpected end of file' }),
      file({ name: 'odd.txt', rejectedCount: '2', rejected: [{ line: 3, reason: 'no timestamp' }] }),
      file({ name: 'empty.log', format: 'logs', events: '0', lines: '1' }),
      file({ name: 'perf-1.map', format: 'perf-map', state: 'stored', events: '0' }),
      file({
        name: 'blank.log',
        format: 'logs',
        state: 'stored',
        events: '0',
        note: 'stored unparsed (logs): no logs format recognised in the content',
      }),
    ];
    const parts = fileDegradedParts(files);
    expect(parts.map((p) => [p.file, p.reason])).toEqual([
      ['bad.bin', 'bad.bin: unrecognised format'],
      ['cut.gz', 'kept 10 events read before: cut.gz: line 40: unexpected end of file'],
      ['odd.txt', '2 of 10 lines rejected (line 3: no timestamp)'],
      ['empty.log', 'no events in 1 lines'],
      ['blank.log', 'stored unparsed (logs): no logs format recognised in the content'],
    ]);
    expect(parts.every((p) => p.stage === 'parse')).toBe(true);
    expect(degradedSummary(files, parts)).toBe(
      '1 of 8 files failed: bad.bin: unrecognised format; ' +
        'parse (cut.gz): kept 10 events read before: cut.gz: line 40: unexpected end of file; ' +
        'parse (odd.txt): 2 of 10 lines rejected (line 3: no timestamp); parse (empty.log): no events in 1 lines; ' +
        'parse (blank.log): stored unparsed (logs): no logs format recognised in the content',
    );
    expect(degradedSummary([file({})], [])).toBeNull();
  });

  it('a source the manifest lists but the upload lacks is a part (the ground truth is not)', () => {
    const manifest: CaptureManifest = {
      version: 1,
      files: [
        { path: 'perf.script.gz', role: 'perf', format: 'perf-script' },
        { path: 'strace.txt.gz', role: 'strace' },
        { path: 'ground-truth.json', role: 'ground-truth' },
      ],
    };
    const files = [{ name: 'cap/manifest.json' }, { name: 'cap/perf.script.gz' }];
    expect(missingFileParts(manifest, files)).toEqual([
      {
        stage: 'parse',
        file: 'strace.txt.gz',
        source: 'strace',
        thread: null,
        reason: 'listed in the manifest (strace) but not uploaded',
      },
    ]);
    expect(missingFileParts(null, files)).toEqual([]);
  });
});
