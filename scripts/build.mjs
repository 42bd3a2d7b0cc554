// Builds the server, worker and CLI (tsc → dist/, path aliases rewritten) and the web UI (vite → dist/web).
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = (name) => fileURLToPath(new URL(`../node_modules/.bin/${name}`, import.meta.url));
const run = (cmd, args) => {
  try {
    execFileSync(bin(cmd), args, { cwd: root, stdio: 'inherit' });
  } catch {
    console.error(`build failed: ${cmd} ${args.join(' ')}`);
    process.exit(1);
  }
};

rmSync(new URL('../dist', import.meta.url), { recursive: true, force: true });
run('tsc', ['-p', 'tsconfig.build.json']);
run('tsc-alias', ['-p', 'tsconfig.build.json']);
run('vite', ['build', '--config', 'apps/web/vite.config.ts', '--logLevel', 'warn']);
