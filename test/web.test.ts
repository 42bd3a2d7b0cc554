import { readdirSync } from 'node:fs';
import path from 'node:path';
import { type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestDatabase } from './support/database.js';
import { launchChromium } from './support/browser.js';
import { REPO_ROOT } from './support/env.js';
import { startTestApi, tempDir, type ApiProc } from './support/processes.js';
import { upload, waitSettled } from './support/client.js';

const demoDir = path.join(REPO_ROOT, 'test/fixtures/demo');

/** The first page in a real browser: upload with progress, the capture's report, threads and chart. */
describe('web UI in Chromium', () => {
  let db: TestDatabase;
  let api: ApiProc;
  let browser: Browser;
  const shots = process.env.SCREENSHOT_DIR ?? tempDir('web');

  beforeAll(async () => {
    ({ api, db } = await startTestApi('web'));
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await api?.stop();
    await db?.drop();
  });

  it('uploads the demo capture and shows its files, threads and on-CPU timeline', async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(api.url);
    await page.waitForSelector('#upload-input', { state: 'attached' });
    // A fresh install says how to get started.
    await page.waitForSelector('#captures-empty', { timeout: 30_000 });
    expect(await page.locator('#captures-empty').innerText()).toMatch(/No captures yet/);

    const files = readdirSync(demoDir)
      .filter((f) => f !== 'README.md')
      .map((f) => path.join(demoDir, f));
    await page.setInputFiles('#upload-input', files);
    const row = page.locator('#captures-table tr[data-capture-id][data-state="ready"]').first();
    await row.waitFor({ timeout: 60_000 });
    const progress = page.locator('#upload-progress');
    const [value, max] = await Promise.all([progress.getAttribute('value'), progress.getAttribute('max')]);
    expect(Number(max)).toBeGreaterThan(0);
    expect(Number(value)).toBe(Number(max));
    // Per-file progress, then the parse report of the new capture as it is read.
    expect(await page.locator('#upload-files li[data-file]').count()).toBe(files.length);
    const report = page.locator('#upload-report[data-state="ready"]');
    await report.waitFor({ timeout: 60_000 });
    const reportText = await report.innerText();
    expect(reportText).toContain('perf.script.gz');
    expect(reportText).toMatch(/perf-script/);
    await page.screenshot({ path: path.join(shots, 'captures.png') });

    await row.click();
    await page.waitForSelector('#capture-detail[data-state="ready"]', { timeout: 30_000 });
    const filesText = await page.locator('#files-table').innerText();
    expect(filesText).toContain('perf.script.gz');
    expect(filesText).toContain('perf-script');
    await page.waitForSelector('#threads-table tbody tr[data-thread-id]', { timeout: 30_000 });
    expect(await page.locator('#threads-table tbody tr[data-thread-id]').count()).toBeGreaterThanOrEqual(2);
    // ECharts draws into a canvas with real pixels.
    const canvas = page.locator('#timeline-chart canvas').first();
    await canvas.waitFor({ timeout: 30_000 });
    const box = await canvas.boundingBox();
    expect(box?.width ?? 0).toBeGreaterThan(300);
    expect(box?.height ?? 0).toBeGreaterThan(100);
    await page.screenshot({ path: path.join(shots, 'capture.png'), fullPage: true });
    // The demo capture has no spans: its requests page says so instead of showing an empty table.
    const captureId = await page.locator('#capture-detail').getAttribute('data-capture-id');
    await page.goto(`${api.url}/#/requests?capture=${captureId}`);
    const empty = page.locator('#requests-empty .empty-state');
    await empty.waitFor({ timeout: 30_000 });
    expect(await empty.innerText()).toMatch(/no span file/i);
    await page.screenshot({ path: path.join(shots, 'requests-empty.png') });

    expect(await page.locator('#error-banner').isHidden()).toBe(true);
    expect(errors).toEqual([]);
  });

  it('shows a degraded capture apart from a ready one: its badge, and what degraded on its page', async () => {
    // The demo's perf file (the same bytes, stored once) with a file no parser reads.
    const garbage = new Uint8Array(4096).map((_, i) => (i * 7919) % 256);
    const r = await upload(api.url, [
      path.join(demoDir, 'perf.script.gz'),
      { name: 'garbage.bin', data: garbage },
    ]);
    expect(r.status).toBe(202);
    expect((await waitSettled(api.url, r.body.captureId)).state).toBe('degraded');

    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(api.url);
    const row = page.locator(`#captures-table tr[data-capture-id="${r.body.captureId}"]`);
    await row.waitFor({ timeout: 30_000 });
    expect(await row.getAttribute('data-state')).toBe('degraded');
    expect(await row.locator('.badge-degraded').innerText()).toBe('degraded');
    expect(await row.locator('.cell-degraded').innerText()).toMatch(
      /^Degraded: 1 of 2 files failed: garbage\.bin/,
    );
    // The ready capture of the first test keeps its own badge.
    expect(await page.locator('#captures-table tr[data-state="ready"] .badge-ready').count()).toBeGreaterThan(
      0,
    );

    await row.click();
    await page.waitForSelector('#capture-detail[data-state="degraded"]', { timeout: 30_000 });
    const parts = page.locator('#degraded-parts');
    expect(await parts.getAttribute('data-count')).toBe('1');
    expect(await parts.innerText()).toMatch(/Degraded: usable, but one part went wrong/);
    const part = parts.locator('tr[data-stage="parse"]');
    expect(await part.innerText()).toMatch(/garbage\.bin[\s\S]*unrecognised format/);
    // Usable: its threads, chart and folded exports are there as for a ready capture.
    await page.waitForSelector('#threads-table tbody tr[data-thread-id]', { timeout: 30_000 });
    expect(await page.locator('#folded-exports a').count()).toBeGreaterThan(0);
    await page.screenshot({ path: path.join(shots, 'capture-degraded.png'), fullPage: true });
    expect(errors).toEqual([]);
  });
});
