import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MANIFEST_SCHEMA } from './manifest.js';

describe('manifest schema', () => {
  it('docs/bundle/manifest.schema.json is MANIFEST_SCHEMA (regenerate with scripts/gen-schema.mjs)', () => {
    const file = JSON.parse(
      readFileSync(new URL('../../../docs/bundle/manifest.schema.json', import.meta.url), 'utf8'),
    ) as unknown;
    expect(file).toEqual(JSON.parse(JSON.stringify(MANIFEST_SCHEMA)));
  });
});
