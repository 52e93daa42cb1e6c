import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, afterEach, before, describe, it } from 'node:test';
import { browserSkipReason, type GuardedPage, launchBrowser, type TestBrowser, waitForAcks, waitForConnected } from '../support/browser.js';
import { type StartedApp, startApp } from '../support/start-app.js';

const skip = browserSkipReason();
const AXE = readFileSync(new URL('../../node_modules/axe-core/axe.min.js', import.meta.url), 'utf8');

describe('TodoMVC in Chromium with the official client', { skip, timeout: 120_000 }, () => {
  let server: StartedApp;
  let browser: TestBrowser;
  let page: GuardedPage;

  before(async () => {
    server = await startApp();
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
    server?.remove();
  });

  afterEach(async () => {
    try {
      page?.guard.assertClean();
    } finally {
      await page?.close();
      // Each test is a new user: a fresh cookie, an empty list.
      await browser.context.clearCookies();
    }
  });

  async function openApp(path = '/'): Promise<GuardedPage> {
    const p = await browser.newPage();
    await p.addInitScript(() => {
      document.addEventListener('securitypolicyviolation', (e) => console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`));
    });
    await p.goto(`${server.url}${path}`);
    await waitForConnected(p);
    return p;
  }

  const titles = (p: GuardedPage) => p.locator('.todo-list li label').allTextContents();

  async function addTodo(p: GuardedPage, title: string): Promise<void> {
    const before = await p.locator('.todo-list li').count();
    await p.fill('.new-todo', title);
    await p.press('.new-todo', 'Enter');
    await p.waitForFunction((n) => document.querySelectorAll('.todo-list li').length > n, before);
    await waitForAcks(p);
  }

  it('adds trimmed todos, clears the field, ignores blanks and counts with the right plural', async () => {
    page = await openApp();
    assert.equal(await page.locator('.main').count(), 0, 'no main section without todos');
    assert.equal(await page.locator('.footer').count(), 0, 'no footer without todos');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'new-todo', 'the field has focus on load');
    await addTodo(page, '  Buy milk  ');
    assert.deepEqual(await titles(page), ['Buy milk']);
    assert.equal(await page.inputValue('.new-todo'), '');
    assert.equal(await page.textContent('.todo-count'), '1 item left');
    assert.equal(await page.textContent('.todo-count strong'), '1');
    await page.fill('.new-todo', '    ');
    await page.press('.new-todo', 'Enter');
    await waitForAcks(page);
    assert.deepEqual(await titles(page), ['Buy milk']);
    await addTodo(page, '<b>Bake</b> 🍰');
    assert.deepEqual(await titles(page), ['Buy milk', '<b>Bake</b> 🍰']);
    assert.equal(await page.locator('.todo-list b').count(), 0, 'markup in a title is text');
    assert.equal(await page.textContent('.todo-count'), '2 items left');
  });

  it('toggles one, toggles all, and clears completed', async () => {
    page = await openApp();
    await addTodo(page, 'one');
    await addTodo(page, 'two');
    assert.equal(await page.locator('.clear-completed').count(), 0);
    await page.locator('.todo-list li').nth(0).locator('.toggle').check();
    await page.waitForSelector('.todo-list li.completed');
    await waitForAcks(page);
    assert.equal(await page.textContent('.todo-count'), '1 item left');
    assert.equal(await page.isChecked('#toggle-all'), false);
    await page.click('label[for="toggle-all"]');
    await page.waitForFunction(() => document.querySelectorAll('.todo-list li.completed').length === 2);
    await waitForAcks(page);
    assert.equal(await page.isChecked('#toggle-all'), true, 'toggle all follows the items');
    assert.equal(await page.textContent('.todo-count'), '0 items left');
    await page.click('label[for="toggle-all"]');
    await page.waitForFunction(() => document.querySelectorAll('.todo-list li.completed').length === 0);
    await page.locator('.todo-list li').nth(1).locator('.toggle').check();
    await page.waitForSelector('.clear-completed');
    await page.click('.clear-completed');
    await page.waitForFunction(() => document.querySelectorAll('.todo-list li').length === 1);
    await waitForAcks(page);
    assert.deepEqual(await titles(page), ['one']);
    assert.equal(await page.locator('.clear-completed').count(), 0);
    assert.equal(await page.isChecked('#toggle-all'), false);
  });

  it('edits on double-click with focus in the field: Enter saves, Escape cancels, blur saves, empty deletes', async () => {
    page = await openApp();
    await addTodo(page, 'first');
    await addTodo(page, 'second');
    const first = page.locator('.todo-list li').nth(0);

    await first.locator('label').dblclick();
    await page.waitForSelector('.todo-list li.editing .edit');
    await page.waitForFunction(() => document.activeElement?.classList.contains('edit') === true);
    assert.equal(await first.locator('.edit').inputValue(), 'first');
    assert.equal(await first.locator('.view').isVisible(), false, 'the other controls hide while editing');
    await page.fill('.todo-list li.editing .edit', '  first, renamed  ');
    await page.press('.todo-list li.editing .edit', 'Enter');
    await page.waitForFunction(() => document.querySelector('.todo-list li.editing') === null);
    await waitForAcks(page);
    assert.deepEqual(await titles(page), ['first, renamed', 'second']);

    await first.locator('label').dblclick();
    await page.waitForFunction(() => document.activeElement?.classList.contains('edit') === true);
    await page.fill('.todo-list li.editing .edit', 'not kept');
    await page.press('.todo-list li.editing .edit', 'Escape');
    await page.waitForFunction(() => document.querySelector('.todo-list li.editing') === null);
    await waitForAcks(page);
    assert.deepEqual(await titles(page), ['first, renamed', 'second']);

    await first.locator('label').dblclick();
    await page.waitForFunction(() => document.activeElement?.classList.contains('edit') === true);
    await page.fill('.todo-list li.editing .edit', 'saved on blur');
    await page.click('h1');
    await page.waitForFunction(() => document.querySelector('.todo-list li.editing') === null);
    await waitForAcks(page);
    assert.deepEqual(await titles(page), ['saved on blur', 'second']);

    await page.locator('.todo-list li').nth(1).locator('label').dblclick();
    await page.waitForFunction(() => document.activeElement?.classList.contains('edit') === true);
    await page.fill('.todo-list li.editing .edit', '   ');
    await page.press('.todo-list li.editing .edit', 'Enter');
    await page.waitForFunction(() => document.querySelectorAll('.todo-list li').length === 1);
    await waitForAcks(page);
    assert.deepEqual(await titles(page), ['saved on blur']);
  });

  it('destroys a todo from its hover button', async () => {
    page = await openApp();
    await addTodo(page, 'keep');
    await addTodo(page, 'drop');
    const drop = page.locator('.todo-list li').nth(1);
    await drop.hover();
    await drop.locator('.destroy').click();
    await page.waitForFunction(() => document.querySelectorAll('.todo-list li').length === 1);
    await waitForAcks(page);
    assert.deepEqual(await titles(page), ['keep']);
  });

  it('filters by live patch, and the back button and a reload keep the filter', async () => {
    page = await openApp();
    await addTodo(page, 'open');
    await addTodo(page, 'done');
    await page.locator('.todo-list li').nth(1).locator('.toggle').check();
    await page.waitForSelector('.todo-list li.completed');
    await waitForAcks(page);
    await page.click('.filters a[href="/active"]');
    await page.waitForFunction(() => location.pathname === '/active' && document.querySelectorAll('.todo-list li').length === 1);
    assert.deepEqual(await titles(page), ['open']);
    assert.equal(await page.getAttribute('.filters a[href="/active"]', 'class'), 'selected');
    await page.click('.filters a[href="/completed"]');
    await page.waitForFunction(() => location.pathname === '/completed');
    await page.waitForFunction(() => document.querySelector('.todo-list li label')?.textContent === 'done');
    await page.goBack();
    await page.waitForFunction(() => location.pathname === '/active' && document.querySelector('.todo-list li label')?.textContent === 'open');
    await page.reload();
    await waitForConnected(page);
    assert.deepEqual(await titles(page), ['open'], 'the first render is already filtered');
    await page.goBack();
    await page.waitForFunction(() => location.pathname === '/');
    await page.waitForFunction(() => document.querySelectorAll('.todo-list li').length === 2);
  });

  it('explains a title over the limit inline and keeps what was typed', async () => {
    page = await openApp();
    const long = 'x'.repeat(501);
    await page.fill('.new-todo', long);
    await page.waitForSelector('#new-todo-error');
    await page.press('.new-todo', 'Enter');
    await waitForAcks(page);
    assert.match((await page.textContent('#new-todo-error')) ?? '', /at most 500 characters/);
    assert.equal(await page.inputValue('.new-todo'), long);
    assert.equal(await page.locator('.todo-list li').count(), 0);
  });

  it('has no serious or critical accessibility violations (axe-core)', async () => {
    page = await openApp();
    await addTodo(page, 'check me');
    await addTodo(page, 'and me');
    await page.locator('.todo-list li').nth(0).locator('.toggle').check();
    await page.waitForSelector('.clear-completed');
    await waitForAcks(page);
    // Evaluated through the debugging protocol, so the page's strict CSP does not apply to it.
    await page.evaluate(AXE);
    const violations = await page.evaluate(async () => {
      const axe = (window as unknown as { axe: { run(ctx: Document): Promise<{ violations: { id: string; impact: string; nodes: { target: string[] }[] }[] }> } }).axe;
      const result = await axe.run(document);
      return result.violations.map((v) => ({ id: v.id, impact: v.impact, targets: v.nodes.map((n) => n.target.join(' ')) }));
    });
    const bad = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    assert.deepEqual(bad, [], JSON.stringify(bad, null, 2));
    const names = await page.evaluate(() =>
      Array.from(document.querySelectorAll('.todo-list .toggle')).map((el) => document.getElementById(el.getAttribute('aria-labelledby') ?? '')?.textContent),
    );
    assert.deepEqual(names, ['check me', 'and me'], 'each checkbox is named by its title');
    // Accessible names as computed from the hidden "Delete" and the title (the button shows on hover).
    assert.equal(await page.getByRole('button', { name: 'Delete check me', exact: true, includeHidden: true }).count(), 1);
    assert.equal(await page.getByRole('button', { name: 'Delete and me', exact: true, includeHidden: true }).count(), 1);
    assert.equal(await page.getAttribute('.todo-count', 'aria-live'), 'polite');
  });
});
