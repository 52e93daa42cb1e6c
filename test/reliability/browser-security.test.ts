/**
 * The real page in Chromium under the app's own headers: every feature works with the
 * Content-Security-Policy as sent and not one `securitypolicyviolation` fires; the page
 * cannot be framed; the identity cookie is out of reach of scripts; and every response
 * carries the protective headers. Header values on single responses are also unit-checked in
 * `test/web/app.test.ts`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { browserSkipReason, type GuardedPage, launchBrowser, type TestBrowser, waitForAcks, waitForConnected } from '../support/browser.js';
import { type StartedApp, startApp } from '../support/start-app.js';

const skip = browserSkipReason();
let server: StartedApp;
let browser: TestBrowser;

interface Violation {
  directive: string;
  blocked: string;
  sample: string;
}

before(async () => {
  if (skip !== undefined) return;
  server = await startApp();
  browser = await launchBrowser();
});

after(async () => {
  if (skip !== undefined) return;
  await browser.close();
  await server.stop();
  server.remove();
});

/** A guarded page that also records every CSP violation from its first script on. */
async function cspPage(): Promise<GuardedPage> {
  const page = await browser.newPage();
  await page.addInitScript(() => {
    const seen: unknown[] = [];
    (window as unknown as { __violations: unknown[] }).__violations = seen;
    document.addEventListener('securitypolicyviolation', (e) => {
      seen.push({ directive: e.violatedDirective, blocked: e.blockedURI, sample: e.sample });
    });
  });
  return page;
}

async function violations(page: GuardedPage): Promise<Violation[]> {
  return page.evaluate(() => (window as unknown as { __violations: Violation[] }).__violations);
}

describe('the page under its Content-Security-Policy in Chromium', { skip, timeout: 120_000 }, () => {
  it('adds, completes, edits, filters, deletes and reconnects with no CSP violation', async () => {
    const page = await cspPage();
    try {
      const response = await page.goto(server.url);
      assert.ok(response, 'the page loaded');
      assert.match(String(response.headers()['content-security-policy']), /script-src 'self'/);
      await waitForConnected(page);
      const hostile = `<img src=x onerror="document.title='pwned'"><style>body{display:none}</style>`;
      for (const title of ['first', 'second', hostile]) {
        await page.fill('.new-todo', title);
        await page.press('.new-todo', 'Enter');
        await waitForAcks(page);
      }
      await page.waitForFunction(() => document.querySelectorAll('.todo-list li').length === 3);
      assert.equal(await page.locator('.todo-list li label').nth(2).textContent(), hostile, 'markup shows as text');
      assert.equal(await page.locator('.todo-list img').count(), 0);
      await page.click('.todo-list li:nth-child(1) .toggle');
      await waitForAcks(page);
      await page.dblclick('.todo-list li:nth-child(2) label');
      await page.waitForSelector('.todo-list li.editing .edit');
      await page.fill('.todo-list li.editing .edit', 'second, edited');
      await page.press('.todo-list li.editing .edit', 'Enter');
      await waitForAcks(page);
      await page.click('a[href="/active"]');
      await page.waitForURL(/\/active$/);
      await page.click('a[href="/completed"]');
      await page.waitForURL(/\/completed$/);
      await page.click('a[href="/"]');
      await page.hover('.todo-list li:nth-child(3)');
      await page.click('.todo-list li:nth-child(3) .destroy');
      await waitForAcks(page);
      await page.click('.clear-completed');
      await waitForAcks(page);
      // A reconnect goes through connect-src and the socket again.
      await page.evaluate(() => {
        const socket = (window as unknown as { liveSocket: { disconnect(cb?: () => void): void; connect(): void } }).liveSocket;
        socket.disconnect(() => socket.connect());
      });
      await waitForConnected(page);
      await page.waitForFunction(() => document.querySelectorAll('.todo-list li').length === 1);
      assert.deepEqual(await page.locator('.todo-list li label').allTextContents(), ['second, edited']);
      assert.notEqual(await page.title(), 'pwned');
      assert.deepEqual(await violations(page), []);
      page.guard.assertClean();
    } finally {
      await page.close();
    }
  });

  it('reloads once on a stale CSRF token and then connects, without a reload storm', async () => {
    const page = await cspPage();
    try {
      let documents = 0;
      page.on('request', (r) => {
        if (r.resourceType() === 'document') documents++;
      });
      // The first document's CSRF token is forged before the client reads it: its join
      // answers stale. (Rewriting the response in flight would change how Chromium treats
      // the page's socket to 127.0.0.1, so the token is changed in the page instead.)
      await page.addInitScript(() => {
        if (sessionStorage.getItem('forged-once') !== null) return;
        sessionStorage.setItem('forged-once', '1');
        new MutationObserver((_records, observer) => {
          const meta = document.querySelector('meta[name="csrf-token"]');
          if (meta === null) return;
          meta.setAttribute('content', 'forged-token');
          observer.disconnect();
        }).observe(document, { subtree: true, childList: true });
      });
      page.guard.tolerate(/"code":"view\.join-failed"|stale|unauthorized/);
      await page.goto(server.url);
      await waitForConnected(page, 30_000);
      await page.waitForTimeout(500);
      assert.equal(documents, 2, 'exactly one reload');
      await page.fill('.new-todo', 'after the reload');
      await page.press('.new-todo', 'Enter');
      await waitForAcks(page);
      assert.ok((await page.locator('.todo-list li label').allTextContents()).includes('after the reload'));
      assert.deepEqual(await violations(page), []);
    } finally {
      await page.close();
    }
  });

  it('cannot be framed by another page', async () => {
    const page = await cspPage();
    try {
      // The framing page is another origin: a blank page with the app in an iframe.
      await page.setContent(`<iframe id="victim" src="${server.url}/"></iframe>`);
      // Chromium replaces a frame refused by frame-ancestors with its error page.
      const deadline = Date.now() + 10_000;
      let child = page.mainFrame().childFrames()[0];
      while ((child === undefined || !child.url().startsWith('chrome-error:')) && Date.now() < deadline) {
        await page.waitForTimeout(100);
        child = page.mainFrame().childFrames()[0];
      }
      assert.match(child?.url() ?? '(no frame)', /^chrome-error:/, 'the frame was refused');
      const loaded = await child!.evaluate(() => document.querySelector('.todoapp') !== null).catch(() => false);
      assert.equal(loaded, false, 'frame-ancestors keeps the app out of the frame');
    } finally {
      await page.close();
    }
  });

  it('keeps the identity cookie HttpOnly and SameSite=Lax, out of reach of document.cookie', async () => {
    const page = await cspPage();
    try {
      await page.goto(server.url);
      await waitForConnected(page);
      const cookies = await browser.context.cookies(server.url);
      const identity = cookies.find((c) => c.name.endsWith('todo_live_session'));
      assert.ok(identity, 'the identity cookie is set');
      assert.equal(identity.httpOnly, true);
      assert.equal(identity.sameSite, 'Lax');
      assert.equal(identity.path, '/');
      assert.equal(await page.evaluate(() => document.cookie.includes('todo_live_session')), false);
      page.guard.assertClean();
    } finally {
      await page.close();
    }
  });
});

describe('protective headers on every response', () => {
  const expected: Record<string, RegExp> = {
    'content-security-policy': /default-src 'self'.*script-src 'self'.*frame-ancestors 'none'/,
    'x-content-type-options': /^nosniff$/,
    'referrer-policy': /^(same-origin|no-referrer|strict-origin-when-cross-origin)$/,
    'cross-origin-opener-policy': /^same-origin$/,
    'cross-origin-resource-policy': /^same-origin$/,
    'x-permitted-cross-domain-policies': /^none$/,
  };

  it('sends them on pages, assets, health checks, errors and refused upgrades', { skip }, async () => {
    const page = await (await fetch(`${server.url}/`)).text();
    const asset = /src="(\/assets\/[^"]+\.js)"/.exec(page)?.[1];
    assert.ok(asset);
    for (const path of ['/', '/active', asset, '/healthz', '/readyz', '/no-such-page', '/live/websocket?vsn=2.0.0']) {
      const res = await fetch(`${server.url}${path}`, { headers: { origin: 'https://evil.example' } });
      for (const [name, pattern] of Object.entries(expected)) {
        assert.match(res.headers.get(name) ?? '(missing)', pattern, `${name} on ${path} (${res.status})`);
      }
      assert.equal(res.headers.get('strict-transport-security'), null, 'no HSTS on plain http');
      assert.equal(res.headers.get('x-powered-by'), null);
      assert.equal(res.headers.get('server'), null);
    }
  });

  it(
    'denies framing in the legacy header too, matching frame-ancestors',
    { skip },
    async () => {
      const res = await fetch(`${server.url}/`);
      assert.equal(res.headers.get('x-frame-options'), 'DENY');
    },
  );
});
