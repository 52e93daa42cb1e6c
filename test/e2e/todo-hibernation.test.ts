import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { browserSkipReason, launchBrowser, type TestBrowser, waitForAcks, waitForConnected } from '../support/browser.js';
import { type StartedApp, startApp } from '../support/start-app.js';

const skip = browserSkipReason();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('a tab left idle in Chromium', { skip, timeout: 60_000 }, () => {
  let server: StartedApp;
  let browser: TestBrowser;

  before(async () => {
    // Idle tabs drop their list after 150 ms here (a minute by default).
    server = await startApp({ env: { VIEW_HIBERNATE_MS: '150' } });
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    if (!server.app.draining) await server.stop();
    server.remove();
  });

  it('takes the whole page back on its next update without losing focus, typing or the open edit', async () => {
    const a = await browser.newPage();
    const b = await browser.newPage();
    try {
      await a.goto(server.url);
      await waitForConnected(a);
      for (const title of ['read', 'write']) {
        await a.fill('.new-todo', title);
        await a.press('.new-todo', 'Enter');
      }
      await a.waitForFunction(() => document.querySelectorAll('.todo-list li').length === 2);
      await b.goto(server.url);
      await waitForConnected(b);
      await b.dblclick('.todo-list li:nth-child(2) label');
      await b.waitForSelector('.todo-list li.editing .edit');
      await b.fill('.todo-list li.editing .edit', 'write more');
      await sleep(500);

      // Tab a's change wakes tab b, which then receives the whole page.
      await a.locator('.todo-list li:nth-child(1) .toggle').click();
      await b.waitForSelector('.todo-list li.completed');
      assert.equal(await b.inputValue('.todo-list li.editing .edit'), 'write more', 'the field keeps what was typed');
      assert.equal(await b.evaluate(() => document.activeElement?.classList.contains('edit')), true, 'and the focus');
      await b.press('.todo-list li.editing .edit', 'Enter');
      await a.waitForFunction(() => document.querySelector('.todo-list li:nth-child(2) label')?.textContent === 'write more');

      // Idle again; now its own click wakes it.
      await sleep(500);
      await b.locator('.todo-list li:nth-child(2) .toggle').click();
      await a.waitForFunction(() => document.querySelectorAll('.todo-list li.completed').length === 2);
      await b.waitForFunction(() => document.querySelector('.todo-count')?.textContent === '0 items left');
      await waitForAcks(a);
      await waitForAcks(b);
      a.guard.assertClean();
      b.guard.assertClean();
    } finally {
      await a.close();
      await b.close();
    }
  });
});
