import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { deriveKeys, signToken, ViewTokens } from '../../src/live/tokens.js';
import { FIXTURE_SECRET, type FixtureServer, startFixtureServer } from '../support/fixture-server.js';
import { CookieJar, LiveClient, UpgradeRefused } from '../support/live-client.js';

let server: FixtureServer;
let limited: FixtureServer;
const clients: LiveClient[] = [];

before(async () => {
  server = await startFixtureServer({ withAssets: false });
  limited = await startFixtureServer({
    withAssets: false,
    limits: { eventBurst: 5, eventsPerSecond: 0.001, maxRefusedEvents: 3 },
    maxSocketsPerSession: 2,
  });
});

after(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await server.close();
  await limited.close();
});

async function open(path = '/counter', options: Parameters<typeof LiveClient.open>[2] = {}, on = server) {
  const client = await LiveClient.open(on.baseUrl, path, options);
  clients.push(client);
  return client;
}

async function refusedWith(promise: Promise<unknown>): Promise<number> {
  try {
    const result = await promise;
    if (result instanceof LiveClient) clients.push(result);
    return 101;
  } catch (err) {
    assert.ok(err instanceof UpgradeRefused, String(err));
    return err.status;
  }
}

describe('handshake', () => {
  it('refuses foreign and look-alike origins with 403 before upgrading', async () => {
    const port = new URL(server.baseUrl).port;
    for (const origin of [
      'https://evil.example',
      `http://127.0.0.1.evil.example:${port}`,
      `https://127.0.0.1:${port}`,
      `http://127.0.0.1:${Number(port) + 1}`,
      'null',
    ]) {
      assert.equal(await refusedWith(open('/counter', { origin })), 403, origin);
    }
  });

  it('refuses an upgrade with neither Origin nor a valid CSRF token', async () => {
    assert.equal(await refusedWith(open('/counter', { origin: null, csrfToken: 'forged' })), 403);
    // A non-browser client without Origin but with the page's token is let in.
    assert.equal(await refusedWith(open('/counter', { origin: null })), 101);
  });

  it('refuses another serializer version', async () => {
    assert.equal(await refusedWith(open('/counter', { socketParams: { vsn: '1.0.0' } })), 400);
  });

  it('does not negotiate compression', async () => {
    const client = await open();
    assert.equal(client.socket.extensions, '');
  });

  it('caps the sockets of one session', async () => {
    const jar = new CookieJar();
    await open('/counter', { jar }, limited);
    await open('/counter', { jar }, limited);
    assert.equal(await refusedWith(open('/counter', { jar }, limited)), 429);
  });
});

describe('join tokens', () => {
  const tokens = new ViewTokens(deriveKeys(FIXTURE_SECRET));

  it('answers stale to a socket whose CSRF token belongs to another session', async () => {
    const other = await LiveClient.fetchPage(server.baseUrl, '/counter');
    const client = await open('/counter', { csrfToken: other.csrfToken });
    assert.deepEqual(await client.join(), { status: 'error', response: { reason: 'stale' } });
  });

  it('answers stale to a tampered, expired, wrong-version or foreign session token', async () => {
    const client = await open();
    const { session } = client.page;
    const sid = client.jar.header()?.match(/todo_live_session=([0-9a-f-]+)/)?.[1] ?? '';
    const claims = { lvId: client.page.viewId, view: 'counter', sid };
    const keys = deriveKeys(FIXTURE_SECRET);
    const variants = {
      tampered: `${session.slice(0, 10)}${session[10] === 'A' ? 'B' : 'A'}${session.slice(11)}`,
      expired: signToken(keys['live-session'], claims, Date.now() - 15 * 24 * 3600 * 1000),
      otherKey: signToken(deriveKeys('z'.repeat(64))['live-session'], claims),
      otherSession: tokens.signSession({ ...claims, sid: '00000000-0000-4000-8000-000000000000' }),
      otherViewId: tokens.signSession({ ...claims, lvId: 'phx-someoneelse0000' }),
      garbage: 'x',
    };
    for (const [name, token] of Object.entries(variants)) {
      assert.deepEqual(await client.join({ session: token }), { status: 'error', response: { reason: 'stale' } }, name);
    }
    assert.deepEqual(await client.join({ static: tokens.signStatic('phx-other') }), {
      status: 'error',
      response: { reason: 'stale' },
    });
    assert.equal((await client.join()).status, 'ok');
  });

  it('answers stale when one user replays another user’s page token', async () => {
    const victim = await LiveClient.fetchPage(server.baseUrl, '/counter');
    const attacker = await open();
    const reply = await attacker.join({ session: victim.session, topic: `lv:${victim.viewId}` });
    assert.deepEqual(reply, { status: 'error', response: { reason: 'stale' } });
  });

  it('answers unauthorized when the URL routes to another view than the token’s', async () => {
    const client = await open('/counter');
    assert.deepEqual(await client.join({ url: '/form' }), { status: 'error', response: { reason: 'unauthorized' } });
    assert.deepEqual(await client.join({ url: '/nowhere' }), { status: 'error', response: { reason: 'unauthorized' } });
  });

  it('ignores a session id offered in the socket params', async () => {
    const client = await open('/counter', { socketParams: { session_id: 'attacker' } });
    assert.equal((await client.join()).status, 'ok');
  });

  it('gives a browser without a cookie, or with a forged one, a fresh identity', async () => {
    const jar = new CookieJar();
    jar.set('todo_live_session', '00000000-0000-4000-8000-000000000000.forged');
    await LiveClient.fetchPage(server.baseUrl, '/counter', jar);
    assert.doesNotMatch(jar.get('todo_live_session') ?? '', /forged/);
  });
});

describe('bad frames', () => {
  it('answers frames for topics never joined and events after leaving with unmatched topic', async () => {
    const client = await open();
    assert.deepEqual(await client.push('lv:phx-never', 'event', { type: 'click', event: 'x', value: {} }, '99'), {
      status: 'error',
      response: { reason: 'unmatched topic' },
    });
    await client.join();
    await client.leave();
    assert.deepEqual(await client.click('inc'), { status: 'error', response: { reason: 'unmatched topic' } });
    assert.deepEqual(await client.push('lvu:upload', 'phx_join', {}, null), { status: 'error', response: { reason: 'unmatched topic' } });
  });

  it('answers a frame with a stale join ref as an unmatched topic', async () => {
    const client = await open();
    await client.join();
    const oldJoin = client.joinRef;
    await client.join();
    assert.deepEqual(await client.push(client.topic, 'event', { type: 'click', event: 'inc', value: {} }, oldJoin), {
      status: 'error',
      response: { reason: 'unmatched topic' },
    });
  });

  it('replaces the view on a second join of the same topic, closing the old join', async () => {
    const client = await open();
    await client.join();
    const first = client.joinRef;
    await client.click('inc');
    const closed = client.waitFor((f) => f[3] === 'phx_close' && f[0] === first);
    await client.join();
    await closed;
    assert.match(client.html(), /<h1 id="count">0<\/h1>/);
  });

  it('answers a decodable frame with a bad payload with an error reply', async () => {
    const client = await open();
    await client.join();
    const reply = client.waitFor((f) => f[1] === '77');
    client.sendFrame([client.joinRef, '77', client.topic, 'event', 'not an object']);
    assert.deepEqual((await reply)[4], { status: 'error', response: { reason: 'bad frame' } });
    assert.equal((await client.click('inc')).status, 'ok');
  });

  it('answers unknown events with an error reply', async () => {
    const client = await open();
    await client.join();
    assert.deepEqual(await client.push(client.topic, 'allow_upload', {}), { status: 'error', response: { reason: 'unknown event' } });
  });

  it('closes with 1007 on text that is not a frame, 1003 on binary, and the server lives on', async () => {
    const a = await open();
    a.sendText('this is not json');
    assert.equal((await a.closed).code, 1007);
    const b = await open();
    b.socket.send(Buffer.from([1, 2, 3]), { binary: true });
    assert.equal((await b.closed).code, 1003);
    const c = await open();
    assert.equal((await c.join()).status, 'ok');
  });

  it('closes with 1009 on a frame above 64 KiB, also when fragmented', async () => {
    const a = await open();
    await a.join();
    a.sendFrame([a.joinRef, '5', a.topic, 'event', { type: 'click', event: 'x', value: { v: 'x'.repeat(70_000) } }]);
    assert.equal((await a.closed).code, 1009);
    const b = await open();
    const half = 'y'.repeat(40_000);
    b.socket.send(half, { fin: false });
    b.socket.send(half, { fin: true });
    assert.equal((await b.closed).code, 1009);
  });

  it('survives prototype-polluting payloads', async () => {
    const client = await open();
    await client.join();
    client.sendText(`[${JSON.stringify(client.joinRef)},"9",${JSON.stringify(client.topic)},"event",{"type":"form","event":"inc","value":"__proto__[polluted]=1&constructor[prototype][polluted]=1","meta":{"__proto__":{"polluted":1}}}]`);
    await client.waitFor((f) => f[1] === '9');
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  it('rate-limits events per socket, answering refusals, then closes with 1008', async () => {
    const client = await open('/counter', {}, limited);
    await client.join();
    const replies = await Promise.allSettled(Array.from({ length: 10 }, () => client.click('inc')));
    const statuses = replies.map((r) => (r.status === 'fulfilled' ? r.value.status : 'closed'));
    assert.deepEqual(statuses.slice(0, 5), ['ok', 'ok', 'ok', 'ok', 'ok']);
    assert.deepEqual(statuses.slice(5, 8), ['error', 'error', 'error']);
    assert.equal((await client.closed).code, 1008);
  });

  it('sends a reader that keeps up a frame larger than the buffer bound', async () => {
    const tight = await startFixtureServer({ withAssets: false, limits: { maxBufferedBytes: 64 } });
    try {
      const client = await LiveClient.open(tight.baseUrl, '/counter');
      const reply = await client.join();
      assert.equal(reply.status, 'ok', 'the join reply (far above 64 bytes) arrived');
      assert.equal((await client.click('inc')).status, 'ok');
      await client.close();
    } finally {
      await tight.close();
    }
  });

  it('closes a reader that stopped reading once what is queued for it passes the bound', { timeout: 30_000 }, async () => {
    const bound = 64 * 1024;
    const tight = await startFixtureServer({ withAssets: false, limits: { maxBufferedBytes: bound, eventBurst: 1000, eventsPerSecond: 1000 } });
    try {
      const client = await LiveClient.open(tight.baseUrl, '/form');
      await client.join();
      (client.socket as unknown as { _socket: import('node:net').Socket })._socket.pause();
      // Each change echoes a fresh 30,000-character draft twice: about 60 KB out per event.
      let sent = 0;
      while (tight.endpoint.sockets.size > 0 && sent < 400) {
        if (client.socket.readyState !== client.socket.OPEN) break;
        const title = `${sent} ${'d'.repeat(30_000)}`;
        client.sendFrame([client.joinRef, String(100 + sent), client.topic, 'event', { type: 'form', event: 'validate', value: `item[title]=${title}` }]);
        sent++;
        await new Promise((r) => setTimeout(r, 2));
      }
      const deadline = Date.now() + 5000;
      while (tight.endpoint.sockets.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.equal(tight.endpoint.sockets.size, 0, `the server closed the socket (after ${sent} events)`);
      client.socket.terminate();
    } finally {
      await tight.close();
    }
  });

  it('keeps other sockets working while one misbehaves', async () => {
    const good = await open();
    await good.join();
    const bad = await open();
    bad.sendText('garbage');
    await bad.closed;
    assert.equal((await good.click('inc')).status, 'ok');
    assert.match(good.html(), /<h1 id="count">1<\/h1>/);
  });

  it('survives a barrage of random frames: every one is answered or closes the socket', async () => {
    const ref = fc.oneof(fc.constant(null), fc.constantFrom('1', '2', '99'), fc.string({ maxLength: 40 }));
    const frame = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
      fc
        .tuple(
          ref,
          ref,
          fc.oneof(fc.constantFrom('phoenix', 'lv:phx-x', 'lvu:1', ''), fc.string({ maxLength: 30 })),
          fc.constantFrom('phx_join', 'event', 'live_patch', 'phx_leave', 'heartbeat', 'cids_destroyed', 'nope'),
          fc.oneof(fc.jsonValue({ maxDepth: 4 }), fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 3 }))),
        )
        .map((t) => JSON.stringify(t)),
    );
    const samples = fc.sample(frame, { numRuns: 300, seed: 20261124 });
    let client = await open();
    let closes = 0;
    for (const text of samples) {
      if (client.socket.readyState !== client.socket.OPEN) {
        closes++;
        client = await open();
      }
      const answered = client.waitFor(() => true, 2000).then(
        () => 'answered',
        () => 'silent',
      );
      client.sendText(text);
      const outcome = await Promise.race([answered, client.closed.then(() => 'closed')]);
      const closed = client.socket.readyState !== client.socket.OPEN;
      assert.ok(outcome === 'answered' || closed, `neither an answer nor a close for ${text}`);
    }
    assert.ok(closes < samples.length);
    const fresh = await open();
    assert.equal((await fresh.join()).status, 'ok');
  });
});
