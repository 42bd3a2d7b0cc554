import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { checkManifest, formatManifestProblems } from './manifest.js';

describe('checkManifest', () => {
  it('accepts the demo capture manifest recorded by scripts/record-demo.sh', () => {
    const demo = JSON.parse(
      readFileSync(new URL('../../../test/fixtures/demo/manifest.json', import.meta.url), 'utf8'),
    ) as unknown;
    expect(checkManifest(demo)).toMatchObject({ ok: true });
  });

  it('accepts a full manifest with clocks, target and file details', () => {
    const r = checkManifest({
      version: 1,
      name: 'checkout',
      host: 'web-1',
      timeZone: 'Europe/Berlin',
      recordedAt: '2026-11-21T10:00:00.000Z',
      durationNs: '30000000000',
      target: { pid: 4242, comm: 'java', cmdline: ['java', '-jar', 'app.jar'], runtime: 'jvm' },
      clocks: [
        { at: 'start', monotonicNs: '123456789012', realtimeNs: '1763719200000000000', uncertaintyNs: '500' },
      ],
      files: [
        { path: 'perf.script.gz', role: 'perf', format: 'perf-script', clock: 'monotonic', pid: 4242 },
        { path: 'logs/app.log', role: 'logs', timeZone: 'Europe/Berlin', partial: true },
      ],
    });
    expect(r.ok).toBe(true);
  });

  it('names every wrong field and why', () => {
    const r = checkManifest({
      version: 2,
      files: [{ path: '../etc/passwd', role: 'perf' }, { path: 'x.log', role: 'log' }, { role: 'gc' }],
      clocks: [{ at: 'start', monotonicNs: 1.5, realtimeNs: '17' }],
      recordedAt: 'yesterday',
    });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const text = formatManifestProblems(r.problems);
    expect(text).toContain('version: must be 1');
    expect(text).toContain('files/0/path: must match pattern');
    expect(text).toContain('files/1/role: must be one of perf, perf-map, strace');
    expect(text).toContain('files/2/path: is required');
    expect(text).toContain('clocks/0/monotonicNs: must be string');
    expect(text).toContain('recordedAt: must match format "date-time"');
  });

  it('requires an object with files', () => {
    const r = checkManifest({ version: 1 });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(formatManifestProblems(r.problems)).toBe('files: is required');
  });
});
