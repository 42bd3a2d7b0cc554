// What the benchmarks under test/bench/ share: a fresh database on the local PostgreSQL,
// the built API and worker processes started on it, and uploads through the API.
import { spawn } from 'node:child_process';
import { openAsBlob, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const API_MAIN = path.join(ROOT, 'dist/apps/api/src/main.js');
export const WORKER_MAIN = path.join(ROOT, 'dist/apps/worker/src/main.js');
export const DATABASE_URL = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A TCP port free on 127.0.0.1 right now. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
}

/** A client on the server's maintenance database (`DATABASE_URL`), or null when none answers. */
export async function adminClient() {
  const admin = new pg.Client({ connectionString: DATABASE_URL });
  try {
    await admin.connect();
    return admin;
  } catch {
    return null;
  }
}

/** Creates database `name` on the server of `DATABASE_URL`: its URL and how to drop it. */
export async function benchDatabase(admin, name) {
  await admin.query(`CREATE DATABASE ${name}`);
  const u = new URL(DATABASE_URL);
  u.pathname = `/${name}`;
  return {
    name,
    url: u.toString(),
    drop: () => admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  };
}

/**
 * A built app (`API_MAIN`, `WORKER_MAIN`) as a child process with only the given environment
 * (plus PATH and HOME). The last ~100 kB of its output is kept for error messages.
 */
export function startNode(script, args, env) {
  const proc = spawn(process.execPath, [script, ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const keep = (d) => {
    out += d.toString();
    if (out.length > 200_000) out = out.slice(-100_000);
  };
  proc.stdout.on('data', keep);
  proc.stderr.on('data', keep);
  const exited = new Promise((r) => proc.once('exit', r));
  return {
    proc,
    pid: proc.pid,
    output: () => out,
    alive: () => proc.exitCode === null && proc.signalCode === null,
    /** SIGTERM, then SIGKILL after `graceMs`; resolves when it has exited. */
    async stop(graceMs = 20_000) {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Starts the built API on a free port and waits for /api/health. */
export async function startApi(env, args = []) {
  const port = await freePort();
  const p = startNode(API_MAIN, args, { HOST: '127.0.0.1', PORT: String(port), ...env });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (!p.alive()) throw new Error(`API exited with ${p.proc.exitCode}:\n${p.output()}`);
    try {
      if ((await fetch(`${url}/api/health`)).ok) break;
    } catch {
      // not listening yet
    }
    if (i > 900) {
      await p.stop(1000);
      throw new Error(`API did not answer /api/health in 90 s:\n${p.output()}`);
    }
    await sleep(100);
  }
  return { ...p, url, port };
}

/** Uploads files from disk (`{ name, path }`) as one multipart POST, as the UI and CLI do: the capture id. */
export async function uploadFiles(baseUrl, files) {
  const form = new FormData();
  for (const f of files) form.append('files', await openAsBlob(f.path), f.name);
  const res = await fetch(`${baseUrl}/api/captures`, { method: 'POST', body: form });
  const body = await res.json();
  if (res.status !== 202) throw new Error(`upload: ${res.status} ${JSON.stringify(body)}`);
  return body.captureId;
}

export async function captureDetail(baseUrl, captureId) {
  const res = await fetch(`${baseUrl}/api/captures/${captureId}`);
  if (!res.ok) throw new Error(`GET capture ${captureId}: ${res.status} ${await res.text()}`);
  return res.json();
}

/** Peak resident set (VmHWM) of a live process in bytes, or null once it has gone. */
export function peakRss(pid) {
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** p-quantile of ascending numbers. */
export const quantile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
