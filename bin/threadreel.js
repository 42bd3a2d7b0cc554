#!/usr/bin/env node
// Launcher of the threadreel CLI. The CLI is TypeScript (apps/cli/src) compiled by
// `npm run build` into dist/; this file only loads the compiled entry point.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/apps/cli/src/main.js', import.meta.url);

if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write(
    `threadreel: the CLI is not built (${fileURLToPath(entry)} is missing).\n` +
      `Run "npm run build" in ${fileURLToPath(new URL('..', import.meta.url))} first.\n`,
  );
  process.exit(2);
}

await import(entry.href);
