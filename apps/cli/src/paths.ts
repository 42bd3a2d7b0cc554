import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

interface PackageJson {
  name?: string;
  version?: string;
}

function readPackage(path: string): PackageJson | null {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as PackageJson;
  } catch {
    return null;
  }
}

/**
 * The threadreel package root, found by walking up from this module's own file
 * (apps/cli/src/ when run from source, dist/apps/cli/src/ when built), never from
 * the working directory.
 */
export function packageRoot(from: string = import.meta.url): string | null {
  let dir = dirname(fileURLToPath(from));
  for (;;) {
    const candidate = join(dir, 'package.json');
    if (existsSync(candidate) && readPackage(candidate)?.name === 'threadreel') return dir;
    const parent = dirname(dir);
    if (parent === dir) return null;
    dir = parent;
  }
}

export function packageVersion(): string {
  const root = packageRoot();
  return (root === null ? undefined : readPackage(join(root, 'package.json'))?.version) ?? 'unknown';
}

/** Directory of the demo capture recorded by scripts/record-demo.sh. */
export function demoCaptureDir(): string | null {
  const root = packageRoot();
  return root === null ? null : join(root, 'test', 'fixtures', 'demo');
}
