import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createSystem } from '../../src/actors/index.js';
import { liveViewServer } from '../../src/live/channel-server.js';
import { makeTallyView } from '../fixtures/views/async.js';
import { fixtureRoutes } from '../fixtures/views/index.js';
import { type FixtureServer, startFixtureServer } from '../support/fixture-server.js';
import { CookieJar, LiveClient } from '../support/live-client.js';

let server: FixtureServer;
const clients: LiveClient[] = [];

before(async () => {
  server = await startFixtureServer({ withAssets: false });
});

after(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await server.close();
});

async function joined(path: string, on: FixtureServer = server, jar?: CookieJar): Promise<LiveClient> {
  const client = await LiveClient.open(on.baseUrl, path, jar === undefined ? {} : { jar });
  clients.push(client);
  assert.equal((await client.join()).status, 'ok');
  return client;
}

function liveViews(on: FixtureServer): number {
  return on.system.snapshot().filter((s) => s.type === liveViewServer.name).length;
}

describe('one actor per joined view', () => {
  it('starts a server per join and stops it on leave and on socket close', async () => {
    const before = liveViews(server);
    const a = await joined('/counter');
    const b = await joined('/counter');
    assert.equal(liveViews(server), before + 2);
    await a.leave();
    await b.close();
    for (let i = 0; i < 100 && liveViews(server) > before; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(liveViews(server), before);
  });

  it('handles one view’s events in order, also across awaits', async () => {
    const client = await joined('/crash');
    const replies = await Promise.all([
      client.click('slow', { ms: '30' }),
      client.click('inc'),
      client.click('slow', { ms: '10' }),
      client.click('inc'),
    ]);
    assert.ok(replies.every((r) => r.status === 'ok'));
    const order = client.frames.filter((f) => f[3] === 'phx_reply' && f[0] === client.joinRef && f[1] !== client.joinRef).map((f) => Number(f[1]));
    assert.deepEqual(order, [...order].sort((x, y) => x - y));
    assert.match(client.html(), /<p id="count">4<\/p>/);
  });
});

describe('crash containment', () => {
  it('acks the poison event, sends phx_error, and a rejoin mounts a fresh view', async () => {
    const client = await joined('/crash');
    await client.click('inc');
    const error = client.next('phx_error');
    const reply = await client.click('boom');
    assert.deepEqual(reply, { status: 'ok', response: {} });
    const frame = await error;
    assert.deepEqual(frame, [client.joinRef, client.joinRef, client.topic, 'phx_error', { reason: 'channel_crash' }]);
    assert.deepEqual(await client.click('inc'), { status: 'error', response: { reason: 'unmatched topic' } });
    assert.equal((await client.join()).status, 'ok');
    assert.match(client.html(), /<p id="count">0<\/p>/);
  });

  it('contains a crash after an await too, and other sockets never notice', async () => {
    const jar = new CookieJar();
    const victim = await joined('/crash', server, jar);
    const bystander = await joined('/crash', server, jar);
    const other = await joined('/counter');
    const error = victim.next('phx_error');
    await victim.click('async-boom');
    await error;
    assert.equal((await bystander.click('inc')).status, 'ok');
    assert.equal((await other.click('inc')).status, 'ok');
    assert.match(bystander.html(), /<p id="count">1<\/p>/);
    assert.equal(bystander.frames.some((f) => f[3] === 'phx_error'), false);
    assert.equal(victim.socket.readyState, victim.socket.OPEN);
  });

  it('keeps the view after a rejected event', async () => {
    const client = await joined('/crash');
    assert.equal((await client.click('reject')).status, 'ok');
    assert.equal((await client.click('inc')).status, 'ok');
    assert.match(client.html(), /<p id="count">101<\/p>/);
  });

  it('answers join crashed when mount throws, and the socket lives on', async () => {
    const client = await LiveClient.open(server.baseUrl, '/crash');
    clients.push(client);
    assert.deepEqual(await client.join({ url: '/crash?mount=crash' }), {
      status: 'error',
      response: { reason: 'join crashed' },
    });
    assert.equal((await client.join()).status, 'ok');
  });
});

describe('stops the socket did not ask for', () => {
  it('tells the client to rejoin when the runtime stops its view', async () => {
    const own = await startFixtureServer({ withAssets: false });
    try {
      const client = await joined('/counter', own);
      const error = client.next('phx_error');
      await own.system.shutdown({ drainMs: 100 });
      assert.deepEqual((await error)[4], { reason: 'channel_crash' });
      // The runtime takes no new work: the rejoin is answered, not left hanging.
      assert.deepEqual(await client.join(), { status: 'error', response: { reason: 'join crashed' } });
    } finally {
      await own.close();
    }
  });

  it('closes a socket that sends nothing, not even heartbeats, with 1008', async () => {
    const own = await startFixtureServer({ withAssets: false, limits: { idleTimeoutMs: 150 } });
    try {
      const quiet = await LiveClient.open(own.baseUrl, '/counter');
      const chatty = await LiveClient.open(own.baseUrl, '/counter');
      const beats = setInterval(() => void chatty.heartbeat().catch(() => undefined), 50);
      assert.equal((await quiet.closed).code, 1008);
      clearInterval(beats);
      assert.equal(chatty.socket.readyState, chatty.socket.OPEN);
      await chatty.close();
    } finally {
      await own.close();
    }
  });
});

describe('graceful shutdown', () => {
  it('drains in batches: in-flight events are answered, then sockets close with 1001', async () => {
    const own = await startFixtureServer({ withAssets: false });
    try {
      const a = await joined('/crash', own);
      const b = await joined('/counter', own);
      const slow = a.click('slow', { ms: '150' });
      await new Promise((r) => setTimeout(r, 20));
      const drained = own.endpoint.drain({ batchSize: 1, intervalMs: 20 });
      assert.equal((await slow).status, 'ok');
      assert.equal((await a.closed).code, 1001);
      assert.equal((await b.closed).code, 1001);
      await drained;
      // New sockets are refused while draining; the client will retry elsewhere or later.
      const refused = await LiveClient.open(own.baseUrl, '/counter').then(
        (c) => {
          clients.push(c);
          return 101;
        },
        (err: { status?: number }) => err.status,
      );
      assert.equal(refused, 503);
    } finally {
      await own.close();
    }
  });

  it('closes sockets with 1001 when the server closes, and a client rejoins after a restart', async () => {
    const first = await startFixtureServer({ withAssets: false });
    const jar = new CookieJar();
    const client = await joined('/counter', first, jar);
    await client.click('inc');
    await first.close();
    assert.equal((await client.closed).code, 1001);
    const second = await startFixtureServer({ withAssets: false, port: first.port });
    try {
      // Same secret: the old page's tokens still verify, so the tab rejoins without a reload.
      const reply = await client.reconnect();
      assert.equal(reply.status, 'ok');
      assert.deepEqual(reply.response.rendered !== undefined, true);
      assert.equal((await client.click('inc')).status, 'ok');
    } finally {
      await second.close();
    }
  });
});

describe('async views', () => {
  it('mount and events may await calls to other servers; state outlives the view', async () => {
    const system = createSystem();
    const own = await startFixtureServer({
      withAssets: false,
      system,
      routes: [...fixtureRoutes, { path: '/tally', view: makeTallyView(system) }],
    });
    try {
      const jar = new CookieJar();
      const first = await joined('/tally', own, jar);
      assert.match(first.page.containerHTML, /<p id="tally">0<\/p>/);
      await Promise.all([first.click('bump'), first.click('bump')]);
      assert.match(first.html(), /<p id="tally">2<\/p>/);
      const second = await joined('/tally', own, jar);
      assert.match(second.html(), /<p id="tally">2<\/p>/);
    } finally {
      await own.close();
    }
  });
});

describe('sockets that go away', () => {
  it('stops the views of a socket closed mid-event without disturbing the server', async () => {
    const before = liveViews(server);
    const client = await LiveClient.open(server.baseUrl, '/crash');
    await client.join();
    void client.click('slow', { ms: '80' }).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 10));
    client.socket.terminate();
    await client.closed;
    for (let i = 0; i < 100 && liveViews(server) > before; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(liveViews(server), before);
    const other = await joined('/counter');
    assert.equal((await other.click('inc')).status, 'ok');
  });
});
