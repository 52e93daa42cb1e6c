import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import Fastify from 'fastify';
import { WebSocket } from 'ws';
import { createSystem } from '../../src/actors/index.js';
import { LiveEndpoint } from '../../src/live/http.js';
import { fixtureRoutes } from '../fixtures/views/index.js';
import { FIXTURE_SECRET, fixtureLayout } from '../support/fixture-server.js';
import { CookieJar, LiveClient } from '../support/live-client.js';

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

/** A live endpoint allowing 2 sockets per address, behind Fastify with `trustProxy` as given. */
async function serve(trustProxy: boolean): Promise<{ url: string; endpoint: LiveEndpoint }> {
  const system = createSystem();
  const app = Fastify({ logger: false, trustProxy, forceCloseConnections: true });
  const endpoint = new LiveEndpoint({
    secretKeyBase: FIXTURE_SECRET,
    routes: fixtureRoutes,
    layout: fixtureLayout,
    allowedOrigins: [],
    system,
    maxSocketsPerAddress: 2,
  });
  await app.register(endpoint.plugin);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const url = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
  endpoint.allowOrigin(url);
  cleanups.push(async () => {
    await endpoint.close();
    await app.close();
    await system.shutdown({ drainMs: 1000 });
  });
  return { url, endpoint };
}

/** Opens a socket with a fresh identity claiming `forwardedFor`; resolves with 101 or the refusal's status. */
async function upgrade(url: string, forwardedFor: string, opened: WebSocket[]): Promise<number> {
  const jar = new CookieJar();
  const page = await LiveClient.fetchPage(url, '/counter', jar);
  const ws = new URL(`/live/websocket?vsn=2.0.0&_csrf_token=${encodeURIComponent(page.csrfToken)}`, url);
  ws.protocol = 'ws:';
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(ws, { headers: { origin: url, cookie: jar.header() ?? '', 'x-forwarded-for': forwardedFor } });
    socket.once('open', () => {
      opened.push(socket);
      resolve(101);
    });
    socket.once('unexpected-response', (_req, res) => {
      res.resume();
      socket.terminate();
      resolve(res.statusCode ?? 0);
    });
    socket.once('error', reject);
  });
}

describe('sockets per address', () => {
  it('counts the forwarded address behind a trusted proxy, each client on its own', async () => {
    const { url, endpoint } = await serve(true);
    const opened: WebSocket[] = [];
    try {
      assert.equal(await upgrade(url, '203.0.113.1', opened), 101);
      assert.equal(await upgrade(url, '203.0.113.1', opened), 101);
      assert.equal(await upgrade(url, '203.0.113.1', opened), 429, 'the third from one client');
      assert.equal(await upgrade(url, '203.0.113.2', opened), 101, 'another client behind the same proxy');
      assert.equal(endpoint.sockets.connectionsFrom('203.0.113.1'), 2);
      assert.equal(endpoint.sockets.connectionsFrom('127.0.0.1'), 0, 'the proxy itself is not counted');
    } finally {
      for (const ws of opened) ws.terminate();
    }
  });

  it('ignores X-Forwarded-For without a trusted proxy, so forging it gains nothing', async () => {
    const { url } = await serve(false);
    const opened: WebSocket[] = [];
    try {
      assert.equal(await upgrade(url, '198.51.100.1', opened), 101);
      assert.equal(await upgrade(url, '198.51.100.2', opened), 101);
      assert.equal(await upgrade(url, '198.51.100.3', opened), 429);
    } finally {
      for (const ws of opened) ws.terminate();
    }
  });

  it('counts the addresses of one IPv6 /64 together', async () => {
    const { url } = await serve(true);
    const opened: WebSocket[] = [];
    try {
      assert.equal(await upgrade(url, '2001:db8:0:1::1', opened), 101);
      assert.equal(await upgrade(url, '2001:db8:0:1::2', opened), 101);
      assert.equal(await upgrade(url, '2001:db8:0:1:ffff::3', opened), 429);
      assert.equal(await upgrade(url, '2001:db8:0:2::1', opened), 101);
    } finally {
      for (const ws of opened) ws.terminate();
    }
  });

  it('releases an address once its socket closed', async () => {
    const { url, endpoint } = await serve(true);
    const opened: WebSocket[] = [];
    try {
      assert.equal(await upgrade(url, '192.0.2.9', opened), 101);
      assert.equal(await upgrade(url, '192.0.2.9', opened), 101);
      const first = opened.shift()!;
      await new Promise((resolve) => {
        first.once('close', resolve);
        first.close();
      });
      const deadline = Date.now() + 2000;
      while (endpoint.sockets.connectionsFrom('192.0.2.9') > 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      assert.equal(await upgrade(url, '192.0.2.9', opened), 101);
    } finally {
      for (const ws of opened) ws.terminate();
    }
  });
});
