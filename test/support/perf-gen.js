// @ts-check
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';

/**
 * Writes a synthetic `perf script` file in the real default layout (comm pid/tid [cpu]
 * time: period event: + call chain closed by a blank line), deterministic for a seed,
 * to exercise ingest at volume without committing large fixtures. Shared by the e2e
 * tests and the benchmarks.
 * @param {string} file
 * @param {{ samples: number, threads?: number, pid?: number, seed?: number, startSec?: number }} opts
 * @returns {Promise<void>}
 */
export async function writePerfScript(file, opts) {
  const threads = opts.threads ?? 8;
  const pid = opts.pid ?? 4242;
  let seed = opts.seed ?? 1;
  const rand = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed;
  };
  const funcs = [
    'parse_request',
    'handle',
    'compute_hash',
    'encode_json',
    'read_block',
    'lock_acquire',
    'serialize',
    'deflate',
  ];
  const out = createWriteStream(file);
  let t = BigInt(opts.startSec ?? 1000) * 1_000_000_000n;
  let buf = '';
  for (let i = 0; i < opts.samples; i++) {
    const tid = pid + (i % threads);
    t += 1_001_001n + BigInt(rand() % 1000);
    const sec = t / 1_000_000_000n;
    const usec = ((t % 1_000_000_000n) / 1000n).toString().padStart(6, '0');
    buf += `worker-${i % threads} ${pid}/${tid} [00${i % 2}] ${sec}.${usec}:    1001001 cpu-clock:\n`;
    const depth = 3 + (rand() % 5);
    for (let d = 0; d < depth; d++) {
      const f = funcs[(rand() + d) % funcs.length] ?? 'x';
      buf += `\t    ${(0x400000 + d * 16 + (rand() % 7)).toString(16)} ${f}_${d} (/usr/bin/demo-app)\n`;
    }
    buf += `\t    7f10b9594ec5 __libc_start_main (/lib/x86_64-linux-gnu/libc.so.6)\n\n`;
    if (buf.length > 1 << 20) {
      if (!out.write(buf)) await once(out, 'drain');
      buf = '';
    }
  }
  out.end(buf);
  await once(out, 'finish');
}
