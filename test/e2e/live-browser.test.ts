import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import {
  browserSkipReason,
  ensureAssets,
  type GuardedPage,
  launchBrowser,
  type TestBrowser,
  waitForAcks,
  waitForConnected,
} from '../support/browser.js';
import { type FixtureServer, startFixtureServer } from '../support/fixture-server.js';

const skip = browserSkipReason();

describe('the official client against fixture views', { skip, timeout: 120_000 }, () => {
  let server: FixtureServer;
  let browser: TestBrowser;
  let page: GuardedPage;

  before(async () => {
    ensureAssets();
    server = await startFixtureServer({ withAssets: true });
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await server?.close();
  });

  afterEach(async () => {
    try {
      page?.guard.assertClean();
    } finally {
      await page?.close();
    }
  });

  it('records client diagnostics and console errors on the page guard', async () => {
    page = await browser.newPage();
    await page.goto(`${server.baseUrl}/counter`);
    await waitForConnected(page);
    await page.evaluate(() => {
      window.dispatchEvent(
        new CustomEvent('phx:live-view:diagnostic', { detail: { level: 'error', code: 'test.synthetic', message: 'synthetic' } }),
      );
      console.error('synthetic console error');
    });
    for (let i = 0; i < 100 && page.guard.problems.length < 2; i++) await new Promise((r) => setTimeout(r, 20));
    const kinds = page.guard.problems.map((p) => p.kind).sort();
    assert.deepEqual(kinds, ['console', 'diagnostic']);
    assert.throws(() => page.guard.assertClean(), /test\.synthetic/);
    page.guard.problems.length = 0;
  });

  it('joins and clicks', async () => {
    page = await browser.newPage();
    await page.goto(`${server.baseUrl}/counter`);
    await waitForConnected(page);
    await page.click('#inc5');
    await page.click('#inc');
    await waitForAcks(page);
    assert.equal(await page.textContent('#count'), '6');
    await page.click('#dec');
    await page.waitForFunction(() => document.querySelector('#count')?.textContent === '5');
  });

  it('submits a form and resets its input', async () => {
    page = await browser.newPage();
    await page.goto(`${server.baseUrl}/form`);
    await waitForConnected(page);
    await page.fill('#title', 'Buy <milk> & eggs');
    await page.waitForFunction(() => document.querySelector('#draft')?.textContent === 'Buy <milk> & eggs');
    await page.press('#title', 'Enter');
    await page.waitForFunction(() => document.querySelectorAll('#saved li').length === 1);
    await waitForAcks(page);
    assert.equal(await page.textContent('#saved li'), 'Buy <milk> & eggs');
    assert.equal(await page.inputValue('#title'), '');
  });

  it('patches with links and comes back with the back button', async () => {
    page = await browser.newPage();
    await page.goto(`${server.baseUrl}/nav?page=1`);
    await waitForConnected(page);
    await page.evaluate(() => {
      (window as unknown as { marker: number }).marker = 42;
    });
    await page.click('#next');
    await page.waitForFunction(() => document.querySelector('#page')?.textContent === 'page 2');
    assert.equal(new URL(page.url()).search, '?page=2');
    assert.equal(await page.title(), 'Page 2');
    await page.click('#go');
    await page.waitForFunction(() => document.querySelector('#page')?.textContent === 'page 9');
    assert.equal(new URL(page.url()).search, '?page=9');
    await page.goBack();
    await page.waitForFunction(() => document.querySelector('#page')?.textContent === 'page 2');
    await page.goBack();
    await page.waitForFunction(() => document.querySelector('#page')?.textContent === 'page 1');
    // No page load happened: the marker set on the first page is still there.
    assert.equal(await page.evaluate(() => (window as unknown as { marker?: number }).marker), 42);
    await page.click('#to-counter');
    await page.waitForSelector('#count');
    await waitForConnected(page);
    assert.equal(new URL(page.url()).pathname, '/counter');
    assert.equal(await page.evaluate(() => (window as unknown as { marker?: number }).marker), 42);
  });

  it('reconnects and rejoins after a server restart, without reloading the page', async () => {
    const own = await startFixtureServer({ withAssets: true });
    let restarted: FixtureServer | undefined;
    try {
      page = await browser.newPage();
      // The socket drops while the server is down: the browser logs the failed attempts.
      page.guard.tolerate(/WebSocket connection to .* failed|ERR_CONNECTION_REFUSED/);
      await page.goto(`${own.baseUrl}/counter`);
      await waitForConnected(page);
      await page.evaluate(() => {
        (window as unknown as { marker: number }).marker = 7;
      });
      await page.click('#inc');
      await page.waitForFunction(() => document.querySelector('#count')?.textContent === '1');
      await own.close();
      await page.waitForSelector('[data-phx-main].phx-error, [data-phx-main].phx-loading', { timeout: 10_000 });
      restarted = await startFixtureServer({ withAssets: true, port: own.port });
      await waitForConnected(page, 20_000);
      // A fresh mount (the counter lived in memory), on the same page.
      assert.equal(await page.textContent('#count'), '0');
      assert.equal(await page.evaluate(() => (window as unknown as { marker?: number }).marker), 7);
      await page.click('#inc');
      await page.waitForFunction(() => document.querySelector('#count')?.textContent === '1');
    } finally {
      await restarted?.close();
    }
  });
});
