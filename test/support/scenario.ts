import { execFileSync, spawn } from 'node:child_process';
import path from 'node:path';
import { REPO_ROOT } from './env.js';

/** Why perf or strace cannot record here (root, perf_event_paranoid, binaries), or null. */
export function toolsUsable(): string | null {
  try {
    execFileSync('perf', ['record', '-q', '-e', 'cpu-clock', '-o', '/dev/null', '--', 'true'], {
      stdio: 'pipe',
    });
  } catch (e) {
    return `perf cannot record: ${(e as Error).message.split('\n')[0]}`;
  }
  try {
    execFileSync('strace', ['-o', '/dev/null', 'true'], { stdio: 'pipe' });
  } catch (e) {
    return `strace cannot trace: ${(e as Error).message.split('\n')[0]}`;
  }
  return null;
}

/** Live recordings may be skipped only where asked (THREADREEL_ALLOW_NO_PERF=1); CI unsets it. */
export const allowNoPerf = process.env.THREADREEL_ALLOW_NO_PERF === '1';

/** Runs `scripts/scenario.mjs NAME --seconds N --out DIR` (records the scenario into a bundle). */
export function runScenario(
  name: string,
  out: string,
  seconds: number,
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const p = spawn(
      process.execPath,
      [path.join(REPO_ROOT, 'scripts/scenario.mjs'), name, '--seconds', String(seconds), '--out', out],
      { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    p.stdout.on('data', (d: Buffer) => (output += d.toString()));
    p.stderr.on('data', (d: Buffer) => (output += d.toString()));
    p.on('exit', (code) => resolve({ code, output }));
  });
}
