// Smoke test of the newcomer's path: the API with the demo capture on the embedded
// defaults (no DATABASE_URL, no REDIS_URL), started like `npm start` does after the build.
// Waits for the demo capture to be ready, fetches its folded export, stops the service.
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const freePort = () =>
  new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

const port = await freePort();
const env = {
  PATH: process.env.PATH,
  HOME: process.env.HOME,
  PORT: String(port),
  HOST: '127.0.0.1',
  DATA_DIR: path.join(mkdtempSync(path.join(tmpdir(), 'threadreel-smoke-')), 'data'),
  EMBEDDED_PG_PORT: String(await freePort()),
};
const started = Date.now();
const api = spawn(process.execPath, ['dist/apps/api/src/main.js', '--demo'], {
  cwd: root,
  env,
  stdio: ['ignore', 'inherit', 'inherit'],
});
const exited = new Promise((resolve) => api.once('exit', (code, signal) => resolve({ code, signal })));
const fail = async (msg) => {
  console.error(`smoke test FAILED: ${msg}`);
  api.kill('SIGKILL');
  process.exit(1);
};
const base = `http://127.0.0.1:${port}`;
let demo;
while (!demo) {
  if (Date.now() - started > 60_000) await fail('the demo capture was not ready within 60 s');
  if (api.exitCode !== null) await fail(`the API exited with ${api.exitCode}`);
  try {
    const list = await (await fetch(`${base}/api/captures`)).json();
    demo = list.find((c) => c.name === 'demo' && ['ready', 'degraded', 'failed'].includes(c.state));
  } catch {
    /* not up yet */
  }
  if (!demo) await new Promise((r) => setTimeout(r, 500));
}
if (demo.state !== 'ready') await fail(`demo capture ${demo.state}: ${demo.error}`);
const ui = await fetch(`${base}/`);
if (!ui.ok || !(await ui.text()).includes('<div id="error-banner"')) await fail('the UI is not served at /');
const folded = await (await fetch(`${base}/api/captures/${demo.id}/folded?groupBy=tid`)).text();
const lines = folded.trim().split('\n').filter(Boolean);
if (lines.length < 5) await fail(`folded export has ${lines.length} lines`);
console.log(
  `smoke: demo ready in ${((Date.now() - started) / 1000).toFixed(1)} s; folded export ${lines.length} lines, e.g. ${lines[0]}`,
);
api.kill('SIGTERM');
const { code, signal } = await Promise.race([
  exited,
  new Promise((r) => setTimeout(() => r({ code: 'timeout' }), 30_000)),
]);
if (code === 'timeout') await fail('the API did not stop within 30 s of SIGTERM');
console.log(`smoke: stopped (exit ${code ?? signal}); passed`);
console.log('1 passed, 0 failed');
