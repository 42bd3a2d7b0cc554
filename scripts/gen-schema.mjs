// Writes docs/bundle/manifest.schema.json from MANIFEST_SCHEMA (libs/model/src/manifest.ts, built).
// A unit test fails when the two differ; run `npm run build && node scripts/gen-schema.mjs` after a change.
import { writeFileSync } from 'node:fs';
import { MANIFEST_SCHEMA } from '../dist/libs/model/src/manifest.js';

const target = new URL('../docs/bundle/manifest.schema.json', import.meta.url);
writeFileSync(target, JSON.stringify(MANIFEST_SCHEMA, null, 2) + '\n');
console.log(`wrote ${target.pathname}`);
