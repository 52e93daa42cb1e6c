import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TodoFaults } from '../../src/todo/index.js';
import { createTodoApp, seenResolution, type TodoApp } from '../../src/web/app.js';
import { loadConfig } from '../../src/web/config.js';
import { ensureAssets, TEST_SECRET } from '../support/start-app.js';
import { makeTempDir } from '../support/temp-dir.js';

const dir = makeTempDir('web-app');
const apps: TodoApp[] = [];

async function build(env: Record<string, string> = {}, faults?: TodoFaults): Promise<TodoApp> {
  const config = loadConfig({ DATA_DIR: dir.path, SECRET_KEY_BASE: TEST_SECRET, LOG_LEVEL: 'silent', HOST: '127.0.0.1', PORT: '4999', ...env });
  const app = await createTodoApp({ config, ...(faults === undefined ? {} : { faults }) });
  apps.push(app);
  return app;
}

before(() => ensureAssets());
after(async () => {
  for (const app of apps) await app.shutdown();
  dir.remove();
});

describe('the HTTP app', () => {
  it('serves the three filter routes and sets the identity cookie on the first visit only', async () => {
    const app = await build({ DATABASE_URL: `sqlite:${dir.path}/a.db` });
    const first = await app.fastify.inject({ method: 'GET', url: '/' });
    assert.equal(first.statusCode, 200);
    const cookie = String(first.headers['set-cookie']);
    assert.match(cookie, /^todo_live_session=[0-9a-f-]{36}\.[\w-]+; Path=\/; Max-Age=\d+; HttpOnly; SameSite=Lax$/);
    assert.doesNotMatch(cookie, /Secure/);
    const value = cookie.split(';')[0]!;
    for (const url of ['/active', '/completed']) {
      const res = await app.fastify.inject({ method: 'GET', url, headers: { cookie: value } });
      assert.equal(res.statusCode, 200, url);
      assert.equal(res.headers['set-cookie'], undefined, `${url} keeps the cookie it was given`);
      assert.match(res.body, /<section class="todoapp">/);
    }
    assert.equal((await app.fastify.inject({ method: 'GET', url: '/nope' })).statusCode, 404);
  });

  it('replaces a forged cookie with a fresh identity', async () => {
    const app = await build({ DATABASE_URL: `sqlite:${dir.path}/b.db` });
    const res = await app.fastify.inject({
      method: 'GET',
      url: '/',
      headers: { cookie: 'todo_live_session=9d86eeb3-cf45-47bf-9430-3893caedbe4a.forged' },
    });
    assert.match(String(res.headers['set-cookie']), /^todo_live_session=/);
    assert.doesNotMatch(String(res.headers['set-cookie']), /9d86eeb3-cf45-47bf-9430-3893caedbe4a/);
  });

  it('marks the cookie Secure (with the __Host- prefix) and sends HSTS when the public URL is https', async () => {
    const app = await build({ DATABASE_URL: `sqlite:${dir.path}/c.db`, PUBLIC_URL: 'https://todos.example.com' });
    const res = await app.fastify.inject({ method: 'GET', url: '/' });
    assert.match(String(res.headers['set-cookie']), /^__Host-todo_live_session=.*; HttpOnly; SameSite=Lax; Secure$/);
    assert.match(String(res.headers['strict-transport-security']), /max-age=31536000/);
    assert.match(String(res.headers['content-security-policy']), /connect-src 'self' wss:\/\/todos\.example\.com/);
  });

  it('sends a strict Content-Security-Policy and no HSTS on plain http', async () => {
    const app = await build({ DATABASE_URL: `sqlite:${dir.path}/d.db` });
    const res = await app.fastify.inject({ method: 'GET', url: '/' });
    const csp = String(res.headers['content-security-policy']);
    for (const directive of ["default-src 'self'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'", "base-uri 'none'", "object-src 'none'"]) {
      assert.ok(csp.includes(directive), `${directive} in ${csp}`);
    }
    assert.doesNotMatch(csp, /unsafe-inline|upgrade-insecure-requests/);
    assert.equal(res.headers['strict-transport-security'], undefined);
    assert.equal(res.headers['x-content-type-options'], 'nosniff');
    assert.equal(res.headers['x-frame-options'], 'DENY', 'the legacy framing header agrees with frame-ancestors');
    assert.equal(res.headers['cache-control'], 'no-store');
  });

  it('serves digested assets as immutable', async () => {
    const app = await build({ DATABASE_URL: `sqlite:${dir.path}/e.db` });
    const page = await app.fastify.inject({ method: 'GET', url: '/' });
    const js = /src="(\/assets\/app-[0-9a-f]+\.js)"/.exec(page.body)?.[1];
    const css = /href="(\/assets\/app-[0-9a-f]+\.css)"/.exec(page.body)?.[1];
    assert.ok(js && css);
    for (const url of [js, css]) {
      const res = await app.fastify.inject({ method: 'GET', url });
      assert.equal(res.statusCode, 200, url);
      assert.match(String(res.headers['cache-control']), /immutable/);
    }
  });

  it('answers /healthz always and /readyz with 503 once draining', async () => {
    const app = await build({ DATABASE_URL: `sqlite:${dir.path}/f.db` });
    assert.deepEqual((await app.fastify.inject({ method: 'GET', url: '/healthz' })).json(), { status: 'ok' });
    const ready = await app.fastify.inject({ method: 'GET', url: '/readyz' });
    assert.equal(ready.statusCode, 200);
    assert.deepEqual(ready.json(), { status: 'ready' });
    const stopping = app.shutdown();
    const draining = await app.fastify.inject({ method: 'GET', url: '/readyz' }).catch(() => null);
    if (draining !== null) assert.equal(draining.statusCode, 503);
    assert.equal(await stopping, true);
  });

  it('answers an unknown address with an HTML page for people and JSON for programs', async () => {
    const app = await build({ DATABASE_URL: `sqlite:${dir.path}/h.db` });
    const page = await app.fastify.inject({ method: 'GET', url: '/nope', headers: { accept: 'text/html' } });
    assert.equal(page.statusCode, 404);
    assert.match(String(page.headers['content-type']), /text\/html/);
    assert.match(page.body, /<h2>Nothing here<\/h2>[\s\S]*<a href="\/">Back to your todos<\/a>/);
    assert.doesNotMatch(page.body, /<script|style=/);
    const json = await app.fastify.inject({ method: 'GET', url: '/nope', headers: { accept: 'application/json' } });
    assert.deepEqual(json.json(), { error: 'Nothing here' });
  });

  it('shows a friendly error page, without internal details, when the list cannot be loaded', async () => {
    const app = await build({ DATABASE_URL: `sqlite:${dir.path}/i.db` }, {
      beforeLoad() {
        throw new Error('injected: secret internals');
      },
    });
    const res = await app.fastify.inject({ method: 'GET', url: '/', headers: { accept: 'text/html' } });
    assert.equal(res.statusCode, 500);
    assert.match(res.body, /Something went wrong/);
    assert.doesNotMatch(res.body, /injected|secret internals|todo-user/);
  });

  it('refuses the socket upgrade from a foreign origin before upgrading', async () => {
    const app = await build({ DATABASE_URL: `sqlite:${dir.path}/g.db` });
    const res = await app.fastify.inject({
      method: 'GET',
      url: '/live/websocket?vsn=2.0.0&_csrf_token=x',
      headers: { origin: 'https://evil.example', connection: 'upgrade', upgrade: 'websocket' },
    });
    assert.equal(res.statusCode, 403);
  });
});

describe('seenResolution', () => {
  it('keeps last seen to a hundredth of the user retention, and never less precisely than a day', () => {
    assert.equal(seenResolution(365 * 86_400_000), 86_400_000);
    assert.equal(seenResolution(10 * 86_400_000), 8_640_000);
    assert.equal(seenResolution(1000), 10);
    assert.equal(seenResolution(0), 0);
  });
});
