/**
 * Handshake and identity against the real app (its configuration: allowed origins, secret,
 * socket caps), where `test/integration/live-security.test.ts` proves the same mechanisms on
 * the fixture server. Cases already proven there are not repeated; see docs/reliability.md.
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { deriveKeys, signToken, ViewTokens } from '../../src/live/tokens.js';
import { makeTempDir } from '../support/temp-dir.js';
import { CookieJar, LiveClient, UpgradeRefused } from '../support/live-client.js';
import { type StartedApp, startApp, TEST_SECRET } from '../support/start-app.js';
import { TodoTab } from '../support/todo-tab.js';
import { AppProcess } from './app-process.js';

let server: StartedApp;
const open: { close(): Promise<void> }[] = [];
const keys = deriveKeys(TEST_SECRET);
const tokens = new ViewTokens(keys);
const STALE = { status: 'error', response: { reason: 'stale' } };

before(async () => {
  server = await startApp();
});

after(async () => {
  await Promise.all(open.map((c) => c.close().catch(() => {})));
  await server.stop();
  server.remove();
});

function track<T extends { close(): Promise<void> }>(c: T): T {
  open.push(c);
  return c;
}

/** The HTTP status of an upgrade: 101 when it opened, else the refusal's status. */
async function upgradeStatus(attempt: Promise<LiveClient>): Promise<number> {
  try {
    track(await attempt);
    return 101;
  } catch (err) {
    assert.ok(err instanceof UpgradeRefused, String(err));
    return err.status;
  }
}

function sessionIdOf(jar: CookieJar): string {
  const cookie = jar.get('todo_live_session');
  assert.ok(cookie, 'the page set the identity cookie');
  return cookie.split('.')[0]!;
}

/** Live view servers running in the app's actor system. */
function viewServers(): number {
  return server.app.system.snapshot().filter((s) => s.type === 'live-view').length;
}

/** A token exactly as `signToken` makes them, but with another envelope version. */
function signWithVersion(key: Buffer, data: unknown, version: number): string {
  const body = Buffer.from(JSON.stringify({ v: version, iat: Date.now(), d: data })).toString('base64url');
  return `${body}.${createHmac('sha256', key).update(body).digest('base64url')}`;
}

describe('origins of the real app', () => {
  it('refuses foreign, look-alike, other-scheme, other-port and null origins with 403, and accepts its own', async () => {
    const { port } = server;
    for (const origin of [
      'https://evil.example',
      `http://127.0.0.1:${port}.evil.example`,
      `http://127.0.0.1.evil.example:${port}`,
      `https://127.0.0.1:${port}`,
      `http://127.0.0.1:${port + 1}`,
      `http://127.0.0.1`,
      'null',
      '',
    ]) {
      assert.equal(await upgradeStatus(LiveClient.open(server.url, '/', { origin })), 403, JSON.stringify(origin));
    }
    // The defaults allow both local names of the public URL's port.
    assert.equal(await upgradeStatus(LiveClient.open(server.url, '/', { origin: `http://localhost:${port}` })), 101);
    assert.equal(await upgradeStatus(LiveClient.open(server.url, '/')), 101);
  });

  it('refuses an upgrade that has no Origin and no valid CSRF token', async () => {
    assert.equal(await upgradeStatus(LiveClient.open(server.url, '/', { origin: null, csrfToken: '' })), 403);
    assert.equal(await upgradeStatus(LiveClient.open(server.url, '/', { origin: null, csrfToken: 'forged' })), 403);
  });

  it('logs a refused upgrade without the CSRF token or the cookie', { timeout: 40_000 }, async () => {
    const data = makeTempDir('handshake-log');
    const app = new AppProcess({ dataDir: data.path });
    try {
      await app.start();
      const page = await LiveClient.fetchPage(app.url, '/');
      const refused = await LiveClient.openSocket(app.url, page, new CookieJar(), { origin: 'https://evil.example' }).then(
        () => 0,
        (err: unknown) => (err instanceof UpgradeRefused ? err.status : -1),
      );
      assert.equal(refused, 403);
      const deadline = Date.now() + 5000;
      while (!app.output().includes('live socket upgrade refused') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      const log = app.output();
      assert.match(log, /"origin":"https:\/\/evil\.example".*"status":403.*"msg":"live socket upgrade refused"/);
      assert.ok(!log.includes(page.csrfToken), 'the CSRF token stays out of the log');
    } finally {
      await app.stop();
      data.remove();
    }
  });
});

describe('CSRF and page tokens on the real app', () => {
  it('answers stale to a socket with a missing, forged or other-session CSRF token, and a fresh page recovers', async () => {
    const other = await LiveClient.fetchPage(server.url, '/');
    for (const csrfToken of ['', 'forged', other.csrfToken]) {
      const client = track(await LiveClient.open(server.url, '/', { csrfToken }));
      const before = viewServers();
      assert.deepEqual(await client.join(), STALE, JSON.stringify(csrfToken));
      assert.equal(viewServers(), before, 'no view server started for a refused join');
      // What the browser does on stale: reload the page, which brings a valid token.
      const reloaded = track(await TodoTab.open(server.url, '/', { jar: client.jar }));
      assert.equal(reloaded.titles().length, 0);
    }
  });

  it('answers stale to tampered, wrong-version, expired and foreign-key page tokens, starting nothing', async () => {
    const client = track(await LiveClient.open(server.url, '/'));
    const sid = sessionIdOf(client.jar);
    const claims = { lvId: client.page.viewId, view: 'todos', sid };
    const { session } = client.page;
    const flip = (s: string, at: number) => `${s.slice(0, at)}${s[at] === 'A' ? 'B' : 'A'}${s.slice(at + 1)}`;
    const variants: Record<string, string> = {
      'tampered body': flip(session, 12),
      'tampered signature': flip(session, session.length - 3),
      'version 0': signWithVersion(keys['live-session'], claims, 0),
      'version 2': signWithVersion(keys['live-session'], claims, 2),
      'older than 14 days': signToken(keys['live-session'], claims, Date.now() - 14 * 24 * 3600 * 1000 - 60_000),
      'from the future': signToken(keys['live-session'], claims, Date.now() + 10 * 60_000),
      'signed with a retired secret': signToken(deriveKeys('retired-secret-'.padEnd(64, 'r'))['live-session'], claims),
      'signed as a static token': signToken(keys['live-static'], claims),
      'minted for another session': tokens.signSession({ ...claims, sid: '00000000-0000-4000-8000-000000000000' }),
      'minted for another container': tokens.signSession({ ...claims, lvId: 'phx-notthisone000000' }),
      'not a token': '{"v":1}',
    };
    const before = viewServers();
    for (const [name, token] of Object.entries(variants)) {
      assert.deepEqual(await client.join({ session: token }), STALE, name);
    }
    assert.equal(viewServers(), before, 'no view server started');
    assert.equal((await client.join()).status, 'ok', 'the genuine token still joins');
  });

  it('answers unauthorized to a genuine token for a view the app does not serve', async () => {
    const client = track(await LiveClient.open(server.url, '/'));
    const forged = tokens.signSession({ lvId: client.page.viewId, view: 'admin', sid: sessionIdOf(client.jar) });
    const before = viewServers();
    assert.deepEqual(await client.join({ session: forged }), { status: 'error', response: { reason: 'unauthorized' } });
    assert.deepEqual(await client.join({ url: '/admin' }), { status: 'error', response: { reason: 'unauthorized' } });
    assert.equal(viewServers(), before);
  });

  it("refuses one user's page token replayed on another user's socket, and never shows the victim's todos", async () => {
    const victim = await TodoTab.open(server.url);
    track(victim);
    await victim.add('victim secret');
    const victimPage = await LiveClient.fetchPage(server.url, '/', victim.client.jar);
    const attacker = track(await LiveClient.open(server.url, '/'));
    const reply = await attacker.join({ session: victimPage.session, static: victimPage.static, topic: `lv:${victimPage.viewId}` });
    assert.deepEqual(reply, STALE);
    assert.ok(!attacker.frames.some((f) => JSON.stringify(f).includes('victim secret')));
  });
});

describe('identity cookie on the real app', () => {
  it('ignores a session id in the page query string or the socket params', async () => {
    const victim = track(await TodoTab.open(server.url));
    await victim.add('not yours');
    const victimId = sessionIdOf(victim.client.jar);
    const res = await fetch(`${server.url}/?session_id=${victimId}&todo_live_session=${victimId}`);
    const body = await res.text();
    assert.ok(!body.includes('not yours'));
    const setCookie = res.headers.getSetCookie().join('\n');
    assert.ok(!setCookie.includes(victimId), 'the query string does not choose the identity');
    const attacker = track(await TodoTab.open(server.url, '/', { socketParams: { session_id: victimId, todo_live_session: victimId } }));
    assert.deepEqual(attacker.titles(), []);
  });

  it('gives a cookie with a tampered signature, or signed with a retired secret, a fresh empty identity', async () => {
    const owner = track(await TodoTab.open(server.url));
    await owner.add('owner only');
    const cookie = owner.client.jar.get('todo_live_session')!;
    const [id, sig] = cookie.split('.') as [string, string];
    const retired = await startApp({ env: { SECRET_KEY_BASE: 'retired-secret-'.padEnd(64, 'r') } });
    let retiredCookie: string;
    try {
      const old = await TodoTab.open(retired.url);
      await old.close();
      retiredCookie = old.client.jar.get('todo_live_session')!;
    } finally {
      await retired.stop();
      retired.remove();
    }
    for (const forged of [`${id}.${sig.slice(0, -2)}xx`, `${id}.`, id, retiredCookie, `${retiredCookie.split('.')[0]}.${sig}`]) {
      const jar = new CookieJar();
      jar.set('todo_live_session', forged);
      const tab = track(await TodoTab.open(server.url, '/', { jar }));
      assert.deepEqual(tab.titles(), [], forged);
      const fresh = jar.get('todo_live_session')!;
      assert.notEqual(fresh, forged, 'a new cookie replaces the bad one');
      assert.notEqual(fresh.split('.')[0], id);
    }
  });
});

describe('connection caps on the real app', () => {
  it('lets one browser hold 10 sockets and refuses the 11th with 429, then admits one once a socket closed', async () => {
    const jar = new CookieJar();
    const page = await LiveClient.fetchPage(server.url, '/', jar);
    const sockets = [];
    for (let i = 0; i < 10; i++) sockets.push(await LiveClient.openSocket(server.url, page, jar));
    try {
      const status = await LiveClient.openSocket(server.url, page, jar).then(
        (ws) => {
          sockets.push(ws);
          return 101;
        },
        (err: unknown) => (err instanceof UpgradeRefused ? err.status : -1),
      );
      assert.equal(status, 429);
      const first = sockets.shift()!;
      await new Promise((resolve) => {
        first.once('close', resolve);
        first.close();
      });
      // The server notices the close a moment after the client does.
      const deadline = Date.now() + 2000;
      let again = 0;
      while (again !== 101 && Date.now() < deadline) {
        again = await LiveClient.openSocket(server.url, page, jar).then(
          (ws) => {
            sockets.push(ws);
            return 101;
          },
          (err: unknown) => (err instanceof UpgradeRefused ? err.status : -1),
        );
        if (again !== 101) await new Promise((r) => setTimeout(r, 50));
      }
      assert.equal(again, 101);
    } finally {
      for (const ws of sockets) ws.terminate();
    }
  });

  it('caps the sockets one address can open with fresh identities at 50, and admits one again once a socket closed', async () => {
    // Its own app: the sockets other tests keep open here come from the same address.
    const own = await startApp();
    const sockets = [];
    let refusedAt = -1;
    let refusal = 0;
    try {
      for (let i = 0; i < 60 && refusedAt < 0; i++) {
        const jar = new CookieJar();
        const page = await LiveClient.fetchPage(own.url, '/', jar);
        try {
          sockets.push(await LiveClient.openSocket(own.url, page, jar));
        } catch (err) {
          assert.ok(err instanceof UpgradeRefused, String(err));
          refusedAt = i;
          refusal = err.status;
        }
      }
      assert.equal(refusedAt, 50, 'the 51st socket from one address is refused');
      assert.equal(refusal, 429);
      assert.equal(own.app.live.sockets.connectionsFrom('127.0.0.1'), 50);
      const first = sockets.shift()!;
      await new Promise((resolve) => {
        first.once('close', resolve);
        first.close();
      });
      const deadline = Date.now() + 2000;
      let again = 0;
      while (again !== 101 && Date.now() < deadline) {
        const jar = new CookieJar();
        const page = await LiveClient.fetchPage(own.url, '/', jar);
        again = await LiveClient.openSocket(own.url, page, jar).then(
          (ws) => {
            sockets.push(ws);
            return 101;
          },
          (err: unknown) => (err instanceof UpgradeRefused ? err.status : -1),
        );
        if (again !== 101) await new Promise((r) => setTimeout(r, 50));
      }
      assert.equal(again, 101, 'a closed socket frees its place');
    } finally {
      for (const ws of sockets) ws.terminate();
      await own.stop();
      own.remove();
    }
  });
});
