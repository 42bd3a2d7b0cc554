import { describe, expect, it } from 'vitest';
import { copyField, CopyRows, type CopyValue } from './copy-rows.js';

/** What the rows' bytes say, as text. */
function encoded(rows: CopyRows): string {
  return rows.take().toString('utf8');
}

describe('CopyRows', () => {
  const values: CopyValue[] = [
    null,
    undefined,
    0,
    7,
    -42,
    2 ** 31,
    Number.MAX_SAFE_INTEGER,
    -Number.MAX_SAFE_INTEGER,
    1.5,
    1e21,
    0n,
    -1n,
    1_700_000_000_123_456_789n,
    true,
    false,
    '',
    'plain',
    'tab\there, newline\nand CR\r and a \\ backslash',
    'ünïcödé with a\ttab',
    '日本語'.repeat(30) + '\n',
    'x'.repeat(200) + '\\',
    '\\N',
  ];

  it('encodes every kind of field as copyField renders it, rows ending with a newline', () => {
    const rows = new CopyRows('t', ['a']);
    for (const v of values) rows.field(v);
    rows.end();
    rows.field('second').num(1).end();
    expect(encoded(rows)).toBe(`${values.map(copyField).join('\t')}\nsecond\t1\n`);
    expect(rows.rows).toBe(2);
  });

  it('raw text and whole lines pass through unchanged; the buffer grows for long rows', () => {
    const rows = new CopyRows('t', ['a']);
    const long = 'ä'.repeat(2_000_000);
    rows.raw('a\tb\t').text(long).end();
    rows.lines('c\td\n', 1);
    expect(encoded(rows)).toBe(`a\tb\t${long}\nc\td\n`);
    expect(rows.empty).toBe(true);
  });

  it('is full from 1 MiB of rows on', () => {
    const rows = new CopyRows('t', ['a']);
    while (!rows.full) rows.text('y'.repeat(1000)).end();
    expect(rows.take().length).toBeGreaterThanOrEqual(1024 * 1024);
    expect(rows.full).toBe(false);
  });
});
