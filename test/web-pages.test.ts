import { readFileSync } from 'node:fs';
import path from 'node:path';
import { type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CaptureOverviewDto, RequestListDto, RequestStatsDto } from '@threadreel/model';
import { folderParts, upload, waitSettled } from './support/client.js';
import type { TestDatabase } from './support/database.js';
import { launchChromium } from './support/browser.js';
import { REPO_ROOT } from './support/env.js';
import { startTestApi, tempDir, type ApiProc } from './support/processes.js';

const javaDir = path.join(REPO_ROOT, 'test/fixtures/captures/java');

/** Rows of the requests table as the page shows them. */
async function rows(page: Page): Promise<{ traceId: string; cause: string; durationNs: bigint }[]> {
  const trs = page.locator('#requests-table tbody tr[data-trace-id]');
  const out: { traceId: string; cause: string; durationNs: bigint }[] = [];
  for (let i = 0, n = await trs.count(); i < n; i++) {
    const tr = trs.nth(i);
    const [traceId, cause, durationNs] = await Promise.all([
      tr.getAttribute('data-trace-id'),
      tr.getAttribute('data-dominant-cause'),
      tr.getAttribute('data-duration-ns'),
    ]);
    out.push({ traceId: traceId ?? '', cause: cause ?? '', durationNs: BigInt(durationNs ?? '0') });
  }
  return out;
}

/** Waits (in the page) until the hash holds `hashPart` and the requests page has drawn. */
async function requestsReady(page: Page, hashPart: string): Promise<void> {
  await page.waitForFunction(
    `location.hash.includes(${JSON.stringify(hashPart)}) && document.querySelector('#requests-page')?.dataset.state === 'ready'`,
    undefined,
    { timeout: 30_000 },
  );
}

/** Waits until the hash is exactly `hash`. */
async function hashIs(page: Page, hash: string): Promise<void> {
  await page.waitForFunction(`location.hash === ${JSON.stringify(hash)}`, undefined, { timeout: 30_000 });
}

/** The pages of issue 6 in a real browser on the java scenario capture. */
describe('web pages in Chromium: requests, search, compare, themes, capture clocks', () => {
  let db: TestDatabase;
  let api: ApiProc;
  let browser: Browser;
  let captureId = '';
  const shots = process.env.SCREENSHOT_DIR ?? tempDir('web-pages');

  beforeAll(async () => {
    ({ api, db } = await startTestApi('webpages'));
    const r = await upload(api.url, await folderParts(javaDir));
    expect(r.status).toBe(202);
    captureId = r.body.captureId;
    const c = await waitSettled(api.url, captureId, 300_000);
    expect(c.state).toBe('ready');
    browser = await launchChromium();
  }, 400_000);
  afterAll(async () => {
    await browser?.close();
    await api?.stop();
    await db?.drop();
  });

  it('GET /t/:traceId redirects to the replay route of the UI', async () => {
    const res = await fetch(`${api.url}/t/05d952de0c26e80d3ba08639053586ad`, { redirect: 'manual' });
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('/#/t/05d952de0c26e80d3ba08639053586ad');
  });

  it('GET /api/requests/stats and /api/capture-overview feed the filters, histograms and captures list', async () => {
    const get = async <T>(p: string): Promise<{ status: number; body: T }> => {
      const res = await fetch(`${api.url}${p}`);
      return { status: res.status, body: (await res.json()) as T };
    };
    const list = await get<RequestListDto>(`/api/requests?capture=${captureId}&limit=1`);
    const stats = await get<RequestStatsDto>(`/api/requests/stats?capture=${captureId}&buckets=10`);
    expect(stats.status).toBe(200);
    expect(stats.body.total).toBe(list.body.total);
    expect(stats.body.routes.map((r) => r.route)).toContain('/lock');
    for (const r of stats.body.routes) {
      expect(r.histogram.length).toBe(10);
      expect(r.histogram.reduce((n, b) => n + b.count, 0)).toBe(r.count);
      expect(BigInt(r.minNs)).toBeLessThanOrEqual(BigInt(r.medianNs));
      expect(BigInt(r.medianNs)).toBeLessThanOrEqual(BigInt(r.p95Ns));
      expect(BigInt(r.p95Ns)).toBeLessThanOrEqual(BigInt(r.maxNs));
      expect(BigInt(r.histogram[0]!.fromNs)).toBe(BigInt(r.minNs));
      expect(BigInt(r.histogram.at(-1)!.toNs)).toBeGreaterThan(BigInt(r.maxNs));
    }
    expect(stats.body.causes.reduce((n, c) => n + c.count, 0)).toBe(list.body.total);
    const lock = await get<RequestStatsDto>(`/api/requests/stats?capture=${captureId}&cause=lock`);
    const lockList = await get<RequestListDto>(`/api/requests?capture=${captureId}&cause=lock&limit=1`);
    expect(lock.body.total).toBe(lockList.body.total);

    const overview = await get<CaptureOverviewDto[]>(`/api/capture-overview?capture=${captureId}`);
    expect(overview.status).toBe(200);
    const [o] = overview.body;
    expect(o?.captureId).toBe(captureId);
    expect(o?.formats.map((f) => f.format)).toEqual(
      expect.arrayContaining(['perf-script', 'otlp-json', 'strace']),
    );
    expect(o?.requests).toBe(list.body.total);
    expect(o?.spanFiles).toBe(1);
    expect(o?.filesDone).toBe(o?.files);
    expect(BigInt(o!.fromNs!)).toBeLessThan(BigInt(o!.toNs!));

    for (const [p, status] of [
      ['/api/requests/stats?buckets=1', 400],
      ['/api/requests/stats?capture=nope', 400],
      ['/api/requests/stats?cause=slow', 400],
      ['/api/requests/stats?capture=00000000-0000-4000-8000-000000000000', 404],
      ['/api/capture-overview?capture=00000000-0000-4000-8000-000000000000', 404],
    ] as const) {
      const r = await get<{ message: string }>(p);
      expect(r.status, p).toBe(status);
      expect(r.body.message.length, p).toBeGreaterThan(0);
    }
  });

  it('lists, filters, searches, compares, switches theme and shows clocks and thread mappings', async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    const shot = (name: string) => page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true });

    // Requests page from the header: slowest first, each row with a stacked cause bar.
    await page.goto(api.url);
    await page.click('.app-nav a[data-nav="requests"]');
    await requestsReady(page, '/requests');
    const all = await rows(page);
    expect(all.length).toBeGreaterThan(10);
    for (let i = 1; i < all.length; i++)
      expect(all[i]!.durationNs).toBeLessThanOrEqual(all[i - 1]!.durationNs);
    const first = page.locator('#requests-table tbody tr[data-trace-id]').first();
    expect(await first.locator('.cause-bar span[data-cause]').count()).toBeGreaterThan(0);
    // Hovering a bar shows the ms of each cause.
    await first.locator('.cause-bar').hover();
    const tip = page.locator('#cause-tooltip');
    await tip.waitFor({ state: 'visible', timeout: 10_000 });
    expect(await tip.locator('tr[data-cause]').count()).toBe(await first.locator('.cause-bar span').count());
    expect(await tip.innerText()).toMatch(/\d+\.\d\d ms/);
    await shot('requests-tooltip');
    await page.locator('#duration-histograms canvas').first().waitFor({ timeout: 30_000 });
    await shot('requests');

    // Filter by dominant cause lock: only lock rows, the filter kept in the hash.
    await page.selectOption('#filter-cause', 'lock');
    await requestsReady(page, 'cause=lock');
    const lock = await rows(page);
    expect(lock.length).toBeGreaterThan(0);
    expect(lock.every((r) => r.cause === 'lock')).toBe(true);
    for (let i = 1; i < lock.length; i++)
      expect(lock[i]!.durationNs).toBeLessThanOrEqual(lock[i - 1]!.durationNs);
    await shot('requests-lock');

    // The slowest lock row opens its replay.
    const slowest = lock[0]!;
    await page.locator(`#requests-table tr[data-trace-id="${slowest.traceId}"] td.num`).first().click();
    await hashIs(page, `#/t/${slowest.traceId}`);
    await page.waitForSelector('#replay[data-state="ready"]', { timeout: 60_000 });
    await shot('replay-from-requests');

    // A real log line with a trace id, pasted into the header search, opens that trace.
    const line = readFileSync(path.join(javaDir, 'logs/app.log'), 'utf8')
      .split('\n')
      .find((l) => l.includes(' started') && l.includes('GET /upstream') && l.includes('trace_id='))!;
    const traceId = /trace_id=([0-9a-f]{32})/.exec(line)![1]!;
    await page.fill('#trace-search', line);
    await page.press('#trace-search', 'Enter');
    await hashIs(page, `#/t/${traceId}`);
    await page.waitForSelector('#replay[data-state="ready"]', { timeout: 60_000 });

    // Several trace ids in the text: a list of their requests.
    const two = lock.slice(0, 2).map((r) => r.traceId);
    await page.fill('#trace-search', `slow ones: ${two.join(' and ')}`);
    await page.press('#trace-search', 'Enter');
    await page.waitForSelector('#lookup-results[data-state="many"]', { timeout: 30_000 });
    const links = page.locator('#lookup-results a');
    const hrefs: string[] = [];
    for (let i = 0, n = await links.count(); i < n; i++)
      hrefs.push((await links.nth(i).getAttribute('href')) ?? '');
    expect(hrefs.sort()).toEqual(two.map((id) => `#/t/${id}`).sort());
    await page.keyboard.press('Escape');

    // An unknown trace id says what was read and that nothing matched.
    await page.fill('#trace-search', 'traceparent: 00-0123456789abcdef0123456789abcdef-0123456789abcdef-01');
    await page.press('#trace-search', 'Enter');
    const none = page.locator('#lookup-results[data-state="unknown"]');
    await none.waitFor({ timeout: 30_000 });
    expect(await none.innerText()).toContain('0123456789abcdef0123456789abcdef');
    expect(await none.innerText()).toMatch(/no request/i);
    await shot('search-unknown');
    await page.keyboard.press('Escape');

    // The route's duration histogram: a click on its first bar lists that duration range only.
    await page.goto(`${api.url}/#/requests?capture=${captureId}&route=%2Flock`);
    await requestsReady(page, 'route=%2Flock');
    const canvas = page.locator('#duration-histograms canvas').first();
    await canvas.waitFor({ timeout: 30_000 });
    const box = (await canvas.boundingBox())!;
    // Grid of the chart: 36 px left, 8 px right, 30 px bottom; 20 buckets, the first never empty.
    await page.mouse.click(box.x + 36 + (box.width - 44) / 40, box.y + box.height - 33);
    await requestsReady(page, 'min=');
    const bucket = new URLSearchParams(new URL(page.url()).hash.split('?')[1] ?? '');
    expect(bucket.get('route')).toBe('/lock');
    const inBucket = await rows(page);
    expect(inBucket.length).toBeGreaterThan(0);
    for (const r of inBucket) {
      expect(Number(r.durationNs) / 1e6).toBeGreaterThanOrEqual(Number(bucket.get('min')) - 1e-6);
      expect(Number(r.durationNs) / 1e6).toBeLessThanOrEqual(Number(bucket.get('max')) + 1e-6);
    }
    await shot('requests-bucket');

    // "vs median" on a row compares it with the median request of its route.
    await page.goto(`${api.url}/#/requests?capture=${captureId}&route=%2Flock&sort=fastest`);
    await requestsReady(page, 'sort=fastest');
    const fastest = (await rows(page))[0]!;
    await page.click(
      `#requests-table tr[data-trace-id="${fastest.traceId}"] button[data-action="compare-median"]`,
    );
    await page.waitForSelector(`#compare-page[data-a="${fastest.traceId}"][data-state="ready"]`, {
      timeout: 30_000,
    });
    expect(await page.locator('#compare-table tbody tr[data-cause]').count()).toBeGreaterThan(0);
    await page.goBack();
    await requestsReady(page, 'sort=fastest');

    // Compare two requests of one route, ticked on the requests page.
    const boxes = page.locator('#requests-table input[data-action="compare"]');
    expect(await boxes.count()).toBeGreaterThanOrEqual(2);
    await boxes.nth(0).check();
    await boxes.nth(1).check();
    await page.click('#compare-selected');
    await page.waitForSelector('#compare-page[data-state="ready"]', { timeout: 30_000 });
    const deltaRows = page.locator('#compare-table tbody tr[data-cause]');
    const causes: bigint[] = [];
    for (let i = 0, n = await deltaRows.count(); i < n; i++)
      causes.push(BigInt((await deltaRows.nth(i).getAttribute('data-delta-ns')) ?? '0'));
    expect(causes.length).toBeGreaterThan(0);
    const abs = (v: bigint) => (v < 0n ? -v : v);
    for (let i = 1; i < causes.length; i++) expect(abs(causes[i]!)).toBeLessThanOrEqual(abs(causes[i - 1]!));
    expect(await page.locator('#compare-summary').innerText()).toMatch(/biggest difference is/);
    expect(await page.locator('#compare-bars .cause-bar').count()).toBe(2);
    await shot('compare');

    // … and against the route's median from the picker.
    const median = new URLSearchParams(
      ((await page.getAttribute('#pick-median', 'href')) ?? '').split('?')[1] ?? '',
    ).get('b');
    expect(median).toMatch(/^[0-9a-f]{32}$/);
    await page.click('#pick-median');
    await page.waitForSelector(`#compare-page[data-b="${median}"][data-state="ready"]`, { timeout: 30_000 });
    expect(await page.locator('#compare-table tbody tr[data-cause]').count()).toBeGreaterThan(0);

    // Dark theme: the toggle switches every variable; charts redraw.
    const light = await page.evaluate('getComputedStyle(document.documentElement).backgroundColor');
    await page.click('#theme-toggle');
    expect(await page.getAttribute('html', 'data-theme')).toBe('dark');
    const dark = await page.evaluate('getComputedStyle(document.documentElement).backgroundColor');
    expect(dark).not.toBe(light);
    await shot('compare-dark');
    await page.goto(`${api.url}/#/requests?capture=${captureId}`);
    await requestsReady(page, 'capture=');
    await page.locator('#duration-histograms canvas').first().waitFor({ timeout: 30_000 });
    await shot('requests-dark');

    // The capture: clock offsets per source with method and evidence, thread mappings.
    await page.goto(`${api.url}/#/captures/${captureId}`);
    await page.waitForSelector('#capture-detail[data-state="ready"]', { timeout: 30_000 });
    await page.waitForSelector('#thread-map-table tbody tr[data-tid]', { timeout: 30_000 });
    const clocks = await page.locator('#clock-table').innerText();
    expect(clocks).toContain('perf.script.gz');
    expect(clocks).toContain('manifest clock pair');
    expect(clocks).toMatch(/spreadNs|residual/);
    const mapped = page.locator('#thread-map-table tbody tr[data-tid]:not([data-mappings="0"])');
    expect(await mapped.count()).toBeGreaterThan(0);
    expect(await page.locator('#thread-map-table').innerText()).toContain('jstack');
    await page.click('#theme-toggle');
    expect(await page.getAttribute('html', 'data-theme')).toBe('light');
    await shot('capture');

    // An empty result explains itself.
    await page.goto(`${api.url}/#/requests?capture=${captureId}&cause=sleep`);
    await requestsReady(page, 'cause=sleep');
    expect(await page.locator('#requests-empty').innerText()).toMatch(/No request matches these filters/);

    expect(await page.locator('#error-banner').isHidden()).toBe(true);
    expect(errors).toEqual([]);
  });
});
