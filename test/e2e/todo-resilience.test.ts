import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { browserSkipReason, type GuardedPage, launchBrowser, type TestBrowser, waitForAcks, waitForConnected } from '../support/browser.js';
import { type StartedApp, startApp } from '../support/start-app.js';
import { makeTempDir } from '../support/temp-dir.js';
import { TodoTab } from '../support/todo-tab.js';

const skip = browserSkipReason();

describe('TodoMVC across tabs, users and restarts in Chromium', { skip, timeout: 120_000 }, () => {
  const data = makeTempDir('e2e-resilience');
  let server: StartedApp;
  let browser: TestBrowser;
  const pages: GuardedPage[] = [];

  before(async () => {
    server = await startApp({ dataDir: data.path });
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    if (!server.app.draining) await server.stop();
    data.remove();
  });

  afterEach(async () => {
    try {
      for (const p of pages) p.guard.assertClean();
    } finally {
      for (const p of pages.splice(0)) await p.close();
      await browser.context.clearCookies();
    }
  });

  async function openApp(path = '/'): Promise<GuardedPage> {
    const p = await browser.newPage();
    pages.push(p);
    await p.goto(`${server.url}${path}`);
    await waitForConnected(p);
    return p;
  }

  const titles = (p: GuardedPage) => p.locator('.todo-list li label').allTextContents();

  it('two tabs of one user stay in step', async () => {
    const a = await openApp();
    const b = await openApp('/active');
    await a.fill('.new-todo', 'from tab a');
    await a.press('.new-todo', 'Enter');
    await b.waitForFunction(() => document.querySelector('.todo-list li label')?.textContent === 'from tab a');
    // Under the Active filter the todo leaves the list as soon as it is completed.
    await b.locator('.todo-list li .toggle').click();
    await a.waitForSelector('.todo-list li.completed');
    await b.waitForFunction(() => document.querySelectorAll('.todo-list li').length === 0);
    assert.equal(await a.textContent('.todo-count'), '0 items left');
    await a.click('.clear-completed');
    await b.waitForFunction(() => document.querySelector('.footer') === null);
    await waitForAcks(a);
    await waitForAcks(b);
  });

  it("another user's changes never reach this browser", async () => {
    const mine = await openApp();
    await mine.fill('.new-todo', 'mine');
    await mine.press('.new-todo', 'Enter');
    await mine.waitForSelector('.todo-list li');
    const other = await TodoTab.open(server.url);
    try {
      await other.add('theirs');
      await other.toggleAll();
      await other.add('theirs too');
      // A round trip through this page's own socket proves it has seen everything sent to it.
      await mine.fill('.new-todo', 'mine again');
      await mine.press('.new-todo', 'Enter');
      await mine.waitForFunction(() => document.querySelectorAll('.todo-list li').length === 2);
      await waitForAcks(mine);
      assert.deepEqual(await titles(mine), ['mine', 'mine again']);
      assert.equal(await mine.locator('.todo-list li.completed').count(), 0);
      assert.deepEqual(other.titles(), ['theirs', 'theirs too']);
    } finally {
      await other.close();
    }
  });

  it('shows the server-error banner while the page cannot join, and clears it once it can', async () => {
    let failLoads = false;
    const flaky = await startApp({
      faults: {
        beforeLoad() {
          if (failLoads) throw new Error('injected load failure');
        },
      },
    });
    const page = await browser.newPage();
    pages.push(page);
    try {
      await page.goto(flaky.url);
      await waitForConnected(page);
      await page.fill('.new-todo', 'still here');
      await page.press('.new-todo', 'Enter');
      await page.waitForSelector('.todo-list li');
      await waitForAcks(page);
      assert.equal(await page.isVisible('#server-error'), false);

      // The client reports the failed join it is about to retry; that one is expected.
      page.guard.tolerate(/"code":"view\.join-failed"/);
      failLoads = true;
      await page.evaluate(() => {
        const socket = (window as unknown as { liveSocket: { disconnect(cb?: () => void): void; connect(): void } }).liveSocket;
        socket.disconnect(() => socket.connect());
      });
      await page.waitForSelector('[data-phx-main].phx-server-error', { timeout: 10_000 });
      await page.waitForSelector('#server-error', { state: 'visible' });
      failLoads = false;
      await page.waitForSelector('[data-phx-main].phx-connected', { timeout: 20_000 });
      await page.waitForSelector('#server-error', { state: 'hidden' });
      assert.deepEqual(await titles(page), ['still here']);
    } finally {
      // Closed before its server stops: otherwise its reconnect attempts to the stopped server
      // log connection errors that the page guard rightly reports.
      await page.close();
      await flaky.stop();
      flaky.remove();
    }
  });

  it('survives a server restart: the banner shows and clears, the todos and a half-typed title are back', async () => {
    const page = await openApp();
    await page.fill('.new-todo', 'saved before');
    await page.press('.new-todo', 'Enter');
    await page.waitForSelector('.todo-list li');
    await waitForAcks(page);
    await page.fill('.new-todo', 'half typ');
    await page.waitForFunction(() => document.querySelector('[data-phx-ref-loading],[data-phx-ref-lock]') === null);
    assert.equal(await page.isVisible('#client-error'), false);

    // The socket's own failed reconnects are expected while the server is down.
    page.guard.tolerate(/^WebSocket connection to '[^']*' failed: .*net::ERR_(CONNECTION_REFUSED|SOCKET_NOT_CONNECTED|CONNECTION_RESET)$/);
    const port = server.port;
    await server.stop();
    await page.waitForSelector('[data-phx-main].phx-client-error', { timeout: 10_000 });
    await page.waitForSelector('#client-error', { state: 'visible' });

    server = await startApp({ dataDir: data.path, port });
    await page.waitForSelector('[data-phx-main].phx-connected', { timeout: 15_000 });
    await page.waitForSelector('#client-error', { state: 'hidden' });
    assert.deepEqual(await titles(page), ['saved before']);
    assert.equal(await page.inputValue('.new-todo'), 'half typ', 'the form was recovered');
    await page.press('.new-todo', 'Enter');
    await page.waitForFunction(() => document.querySelectorAll('.todo-list li').length === 2);
    await waitForAcks(page);
    assert.deepEqual(await titles(page), ['saved before', 'half typ']);
    assert.equal(await page.inputValue('.new-todo'), '');
  });
});
