import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { API_MAIN, WORKER_MAIN, REPO_ROOT, TEST_REDIS_URL } from './env.js';
import { createTestDatabase, type TestDatabase } from './database.js';

export interface Proc {
  proc: ChildProcess;
  output(): string;
  /** SIGTERM and wait for exit (SIGKILL after `graceMs`). */
  stop(graceMs?: number): Promise<number | null>;
  kill(): Promise<void>;
}

export interface ApiProc extends Proc {
  url: string;
  port: number;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export function tempDir(label: string): string {
  return mkdtempSync(path.join(tmpdir(), `threadreel-${label}-`));
}

export function queuePrefix(): string {
  return `t${randomBytes(5).toString('hex')}`;
}

/** Env for a spawned process: only what the test says, plus PATH/HOME. No inherited DATABASE_URL/REDIS_URL. */
function baseEnv(env: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: 'test' };
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v;
  return out;
}

function launch(script: string, args: string[], env: Record<string, string | undefined>): Proc {
  const proc = spawn(process.execPath, [script, ...args], {
    cwd: REPO_ROOT,
    env: baseEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const keep = (d: Buffer) => {
    out += d.toString();
    if (out.length > 200_000) out = out.slice(-100_000);
  };
  proc.stdout?.on('data', keep);
  proc.stderr?.on('data', keep);
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  return {
    proc,
    output: () => out,
    async stop(graceMs = 20_000) {
      if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode;
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
    async kill() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill('SIGKILL');
      await exited;
    },
  };
}

export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined | null | false>,
  timeoutMs = 60_000,
  everyMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline)
      throw new Error(
        `timed out waiting for ${what}${last ? `: ${last instanceof Error ? last.message : JSON.stringify(last)}` : ''}`,
      );
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export async function startApi(
  env: Record<string, string | undefined>,
  args: string[] = [],
): Promise<ApiProc> {
  const port = await freePort();
  const p = launch(API_MAIN, args, { HOST: '127.0.0.1', PORT: String(port), ...env });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitFor(
      'API health',
      async () => {
        if (p.proc.exitCode !== null) throw new Error(`API exited with ${p.proc.exitCode}:\n${p.output()}`);
        const r = await fetch(`${url}/api/health`);
        return r.ok;
      },
      90_000,
    );
  } catch (e) {
    await p.kill();
    throw new Error(`${(e as Error).message}\n--- API output ---\n${p.output()}`);
  }
  return { ...p, url, port };
}

export function startWorker(env: Record<string, string | undefined>): Proc {
  return launch(WORKER_MAIN, [], env);
}

/**
 * The usual e2e setup: a fresh database on the real PostgreSQL and an API on it with its
 * in-process workers on the real Redis, in a fresh data directory and queue namespace.
 */
export async function startTestApi(
  label: string,
  env: Record<string, string | undefined> = {},
  args: string[] = [],
): Promise<{ api: ApiProc; db: TestDatabase; dataDir: string }> {
  const db = await createTestDatabase(label);
  const dataDir = path.join(tempDir(label), 'data');
  try {
    const api = await startApi(
      {
        DATABASE_URL: db.url,
        REDIS_URL: TEST_REDIS_URL,
        DATA_DIR: dataDir,
        QUEUE_PREFIX: queuePrefix(),
        ...env,
      },
      args,
    );
    return { api, db, dataDir };
  } catch (e) {
    await db.drop();
    throw e;
  }
}
