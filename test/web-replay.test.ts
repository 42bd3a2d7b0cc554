import path from 'node:path';
import { type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReplayDto, RequestListDto } from '@threadreel/model';
import type { TestDatabase } from './support/database.js';
import { launchChromium } from './support/browser.js';
import { REPO_ROOT } from './support/env.js';
import { startTestApi, tempDir, type ApiProc } from './support/processes.js';
import { folderParts, upload, waitSettled } from './support/client.js';

const javaDir = path.join(REPO_ROOT, 'test/fixtures/captures/java');

interface LockEvidence {
  lockId: string | null;
  waiterThreadId: string;
  holderThreadId: string | null;
  holderName: string | null;
  chainHeldNs?: string[];
}

/** The replay page in a real browser, on the real java scenario capture. */
describe('replay view in Chromium', () => {
  let db: TestDatabase;
  let api: ApiProc;
  let browser: Browser;
  const shots = process.env.SCREENSHOT_DIR ?? tempDir('web-replay');
  const errors: string[] = [];
  let traceId = '';
  let holder = '';
  let waiter = '';
  let lockId: string | null = null;
  let held: bigint[] = [];

  const newPage = async (): Promise<Page> => {
    const page = await browser.newPage({ viewport: { width: 1500, height: 1100 } });
    page.on('pageerror', (e) => errors.push(e.message));
    return page;
  };
  const ready = (page: Page) =>
    page.waitForSelector('#replay[data-state="ready"]', { timeout: 60_000 }).then(() =>
      // The lanes re-read for the view (if zoomed) have arrived and been drawn.
      page.waitForSelector('#replay[data-lod-pending="0"]', { timeout: 60_000 }),
    );

  beforeAll(async () => {
    ({ api, db } = await startTestApi('webreplay'));
    const r = await upload(api.url, await folderParts(javaDir));
    expect(r.status).toBe(202);
    const c = await waitSettled(api.url, r.body.captureId, 300_000);
    expect(c.error).toBeNull();
    browser = await launchChromium();
    // The slowest lock-bound request whose lock evidence names its holder.
    const list = (await (
      await fetch(`${api.url}/api/requests?cause=lock&sort=duration&order=desc&limit=50`)
    ).json()) as RequestListDto;
    expect(list.rows.length).toBeGreaterThan(0);
    for (const row of list.rows) {
      const replay = (await (await fetch(`${api.url}/api/traces/${row.traceId}`)).json()) as ReplayDto;
      const locks = (replay.request.evidence['lock'] ?? []) as LockEvidence[];
      const named = locks.find((l) => l.holderThreadId !== null);
      if (named?.holderThreadId) {
        traceId = row.traceId;
        holder = named.holderThreadId;
        waiter = named.waiterThreadId;
        lockId = named.lockId;
        held = (named.chainHeldNs ?? []).map(BigInt);
        break;
      }
    }
    expect(traceId, 'a lock request whose evidence names the holder').not.toBe('');
  });
  afterAll(async () => {
    await browser?.close();
    await api?.stop();
    await db?.drop();
  });

  it('shows the holder lane and a wakeup arrow into the bound thread', async () => {
    const page = await newPage();
    await page.goto(`${api.url}/#/t/${traceId}`);
    await ready(page);
    await page.screenshot({ path: path.join(shots, '1-replay.png'), fullPage: true });
    const holderLane = page.locator(`#replay-lanes [data-thread-id="${holder}"]`);
    await expect.poll(() => holderLane.count()).toBe(1);
    expect(await holderLane.getAttribute('data-role')).toBe('holder');
    expect(await page.locator(`#replay-lanes [data-thread-id="${waiter}"]`).getAttribute('data-role')).toBe(
      'bound',
    );
    const root = page.locator('#replay');
    // The lanes come from lane tiles (the payload carried only the waits).
    expect(Number(await root.getAttribute('data-tile-requests'))).toBeGreaterThan(0);
    expect(Number(await root.getAttribute('data-wakeup-arrows'))).toBeGreaterThan(0);
    expect(Number(await root.getAttribute('data-wakeup-arrows-into-bound'))).toBeGreaterThan(0);
    // The cause panel lists lock first, with the holder named in words.
    const lock = page.locator('#cause-panel li[data-cause="lock"]');
    await expect.poll(() => lock.count()).toBe(1);
    const words = await lock.innerText();
    expect(words).toContain('held by');
    // When a thread further down the wait chain (the previous holder in a convoy) kept the
    // waiter waiting longer than the releaser, the panel says so.
    const behindFurther = held.slice(1).some((v) => v > (held[0] ?? 0n));
    if (behindFurther) expect(words).toMatch(/most of the wait was behind \S+/);
    else expect(words).not.toContain('most of the wait was behind');
    expect(await page.locator('#cause-panel li[data-cause]').first().getAttribute('data-cause')).toBe('lock');
    await page.close();
  });

  it('picks the lanes level of detail again when the window is resized', async () => {
    const page = await newPage();
    await page.goto(`${api.url}/#/t/${traceId}`);
    await ready(page);
    const root = page.locator('#replay');
    const level = Number(await root.getAttribute('data-tile-level'));
    const seq = Number(await root.getAttribute('data-lod-seq'));
    // Over 4× the time per pixel: a strictly coarser tile level (levels step by 4×).
    await page.setViewportSize({ width: 420, height: 1100 });
    await page.waitForFunction(
      `Number(document.querySelector('#replay').dataset.lodSeq) > ${seq} &&
       document.querySelector('#replay').dataset.lodPending === '0'`,
      undefined,
      { timeout: 30_000 },
    );
    expect(Number(await root.getAttribute('data-tile-level'))).toBeGreaterThan(level);
    await page.close();
  });

  it('brushes a range with the mouse and gets a flame graph; the deep link reopens the same view', async () => {
    const page = await newPage();
    await page.goto(`${api.url}/#/t/${traceId}`);
    await ready(page);
    // Zoom twice with the keyboard (W), then brush across the waiter's lane.
    let seq = Number(await page.locator('#replay').getAttribute('data-lod-seq'));
    for (let i = 0; i < 2; i++) {
      await page.keyboard.press('w');
      // In-page expression as a string: the test project has no DOM types.
      await page.waitForFunction(
        `Number(document.querySelector('#replay').dataset.lodSeq) > ${seq} &&
         document.querySelector('#replay').dataset.lodPending === '0'`,
        undefined,
        { timeout: 30_000 },
      );
      seq = Number(await page.locator('#replay').getAttribute('data-lod-seq'));
    }
    const plot = await page.locator('#replay-plot').boundingBox();
    const lane = await page.locator(`#replay-lanes [data-thread-id="${waiter}"]`).boundingBox();
    if (!plot || !lane) throw new Error('no plot or lane box');
    const y = lane.y + lane.height / 2;
    await page.mouse.move(plot.x + 300, y);
    await page.mouse.down();
    await page.mouse.move(plot.x + 500, y + 4, { steps: 6 });
    await page.mouse.move(plot.x + plot.width - 60, y + 4, { steps: 6 });
    await page.mouse.up();
    const flame = page.locator('#flame');
    await page.waitForSelector('#flame:is([data-state="ready"],[data-state="empty"])', { timeout: 60_000 });
    if ((await flame.getAttribute('data-state')) === 'empty') {
      // No on-CPU samples in the range: the off-CPU graph has the blocked time.
      await page.click('[data-tab="offcpu"]');
      await page.waitForSelector('#flame:is([data-state="ready"],[data-state="empty"])', { timeout: 60_000 });
    }
    expect(await flame.getAttribute('data-state')).toBe('ready');
    expect(Number(await flame.getAttribute('data-nodes'))).toBeGreaterThan(1);
    expect(await page.locator('#range-breakdown').innerText()).toContain('thread');
    await page.screenshot({ path: path.join(shots, '2-brushed.png'), fullPage: true });

    // The URL holds the view; wait for the debounced write.
    await page.waitForFunction(`location.hash.includes('bf=') && location.hash.includes('from=')`);
    const link = page.url();
    const state = async (p: Page) => ({
      from: await p.locator('#replay').getAttribute('data-view-from'),
      to: await p.locator('#replay').getAttribute('data-view-to'),
      selected: await p.locator('#replay').getAttribute('data-selected'),
      flame: await p.locator('.tab.active').getAttribute('data-tab'),
    });
    const before = await state(page);
    expect(before.selected).toContain(waiter);
    expect(Number(before.to) - Number(before.from)).toBeGreaterThan(0);

    const again = await newPage();
    await again.goto(link);
    await ready(again);
    await again.waitForSelector('#flame:is([data-state="ready"],[data-state="empty"])', { timeout: 60_000 });
    expect(await state(again)).toEqual(before);
    expect(
      await again.locator(`#replay-lanes .lane-label.selected[data-thread-id="${waiter}"]`).count(),
    ).toBe(1);
    expect(await again.locator('#flame').getAttribute('data-state')).toBe('ready');
    await again.screenshot({ path: path.join(shots, '3-deep-link.png'), fullPage: true });
    await again.close();
    await page.close();
  });

  it('jumps from the lock evidence to the wait on the timeline', async () => {
    const page = await newPage();
    await page.goto(`${api.url}/#/t/${traceId}`);
    await ready(page);
    await page.locator('#cause-panel li[data-cause="lock"] .evidence.jump').first().click();
    await page.waitForSelector('#replay[data-lod-pending="0"]');
    const root = page.locator('#replay');
    expect(Number(await root.getAttribute('data-view-to'))).toBeGreaterThan(0);
    expect((await root.getAttribute('data-selected'))?.split(',')).toEqual(
      expect.arrayContaining([waiter, holder]),
    );
    // The wait fills the middle of the view; hovering it shows its detail, which lane tiles do
    // not carry: the view asks for it.
    const plot = await page.locator('#replay-plot').boundingBox();
    const lane = await page.locator(`#replay-lanes [data-thread-id="${waiter}"]`).boundingBox();
    if (!plot || !lane) throw new Error('no plot or lane box');
    const labelW = 230;
    await page.mouse.move(plot.x + labelW + (plot.width - labelW) / 2, lane.y + lane.height / 2);
    const tip = page.locator('.replay-tooltip');
    await expect.poll(() => tip.innerText(), { timeout: 15_000 }).toMatch(/^lock wait/i);
    await expect.poll(() => tip.innerText(), { timeout: 15_000 }).not.toContain('loading detail');
    const text = await tip.innerText();
    if (lockId) expect(text).toContain(lockId);
    expect(text).toMatch(/woken by|lock /);
    await page.screenshot({ path: path.join(shots, '4-evidence-jump.png'), fullPage: true });
    await page.close();
  });

  it('says so when no request has the trace id', async () => {
    const page = await newPage();
    await page.goto(`${api.url}/#/t/${'0'.repeat(31)}1`);
    await page.waitForSelector('#replay[data-state="error"] #replay-empty', { timeout: 30_000 });
    const text = await page.locator('#replay-empty').innerText();
    expect(text).toContain(`No request with trace id ${'0'.repeat(31)}1`);
    expect(text).toMatch(/searched 1 capture/);
    expect(await page.locator('#replay-empty a[href="#/"]').count()).toBe(1);
    await page.screenshot({ path: path.join(shots, '5-unknown.png'), fullPage: true });
    await page.close();
    expect(errors).toEqual([]);
  });
});
