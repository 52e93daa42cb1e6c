import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { html } from '../../src/live/template.js';
import { defineView } from '../../src/live/view.js';
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

async function joined(path: string, options: { jar?: CookieJar } = {}): Promise<LiveClient> {
  const client = await LiveClient.open(server.baseUrl, path, options);
  clients.push(client);
  const reply = await client.join();
  assert.equal(reply.status, 'ok', JSON.stringify(reply));
  return client;
}

const text = (html: string, id: string) => new RegExp(`id="${id}">([^<]*)<`).exec(html)?.[1];

describe('dead render and join', () => {
  it('serves the same inner HTML over HTTP as the join renders', async () => {
    const client = await joined('/counter');
    assert.equal(client.page.containerHTML, client.html());
    assert.match(client.page.viewId, /^phx-[A-Za-z0-9_-]{16}$/);
  });

  it('renders the same HTML over HTTP and at join for every fixture view', async () => {
    for (const path of ['/counter', '/form', '/nav?page=3', '/crash', '/pusher', '/room?room=x']) {
      const client = await joined(path);
      assert.equal(client.html(), client.page.containerHTML, path);
      assert.equal(client.title ?? 'Fixture', client.page.title, path);
    }
  });

  it('signs the route’s session data into the token and hands it to mount', async () => {
    const own = await startFixtureServer({
      withAssets: false,
      sessionData: (request) => ({ locale: String(request.headers['accept-language'] ?? 'en').slice(0, 2) }),
      routes: [
        {
          path: '/whoami',
          view: defineView<{ locale: string }>({
            name: 'whoami',
            mount: (_p, session, socket) => socket.assign({ locale: String(session.data.locale) }),
            render: ({ locale }) => html`<p id="locale">${locale}</p>`,
          }),
        },
      ],
    });
    try {
      const res = await fetch(`${own.baseUrl}/whoami`, { headers: { 'accept-language': 'fr-FR' } });
      assert.match(await res.text(), /<p id="locale">fr<\/p>/);
      const client = await LiveClient.open(own.baseUrl, '/whoami');
      clients.push(client);
      await client.join();
      // The join sees what was signed at render time, not a re-evaluation.
      assert.equal(client.html(), client.page.containerHTML);
      assert.match(client.html(), /<p id="locale">[^<]+<\/p>/);
    } finally {
      await own.close();
    }
  });

  it('puts the container attributes, CSRF meta tag and title in the page', async () => {
    const res = await fetch(`${server.baseUrl}/nav?page=4`);
    const body = await res.text();
    assert.equal(res.status, 200);
    assert.match(body, /<div id="phx-[^"]+" data-phx-main data-phx-session="[^"]+" data-phx-static="[^"]+">/);
    assert.match(body, /<meta name="csrf-token" content="[A-Za-z0-9_-]+">/);
    assert.match(body, /<title data-default="Fixture">Page 4<\/title>/);
    assert.match(res.headers.get('set-cookie') ?? '', /HttpOnly; SameSite=Lax/);
  });

  it('redirects a dead render whose mount navigates', async () => {
    const res = await fetch(`${server.baseUrl}/nav?start=redirect`, { redirect: 'manual' });
    assert.equal(res.status, 302);
    assert.equal(res.headers.get('location'), '/counter');
  });

  it('echoes the client version and answers heartbeats', async () => {
    const client = await LiveClient.open(server.baseUrl, '/counter');
    clients.push(client);
    const reply = await client.join();
    assert.equal(reply.response.liveview_version, '1.2.12');
    assert.deepEqual(await client.heartbeat(), { status: 'ok', response: {} });
  });
});

describe('bindings', () => {
  it('click with phx-value-* values', async () => {
    const client = await joined('/counter');
    const reply = await client.click('inc', { by: '5', value: '' });
    assert.equal(reply.status, 'ok');
    assert.equal(text(client.html(), 'count'), '5');
    await client.click('dec');
    assert.equal(text(client.html(), 'count'), '4');
  });

  it('keyup, keydown, blur and focus with their values', async () => {
    const client = await joined('/counter');
    await client.keyup('key-up', 'Enter', { field: 'keys', value: 'typed' });
    assert.equal(text(client.html(), 'last'), 'key-up {&quot;key&quot;:&quot;Enter&quot;,&quot;field&quot;:&quot;keys&quot;,&quot;value&quot;:&quot;typed&quot;}');
    await client.keydown('key-down', 'Escape');
    assert.match(text(client.html(), 'last') ?? '', /^key-down .*Escape/);
    await client.blur('left', { value: 'x' });
    assert.match(text(client.html(), 'last') ?? '', /^left /);
    await client.focus('entered');
    assert.match(text(client.html(), 'last') ?? '', /^entered /);
  });

  it('an <li> click value of 0 arrives as the string "0"', async () => {
    const client = await joined('/counter');
    await client.click('noted', { id: '3', value: 0 });
    assert.equal(text(client.html(), 'last'), 'noted {&quot;id&quot;:&quot;3&quot;,&quot;value&quot;:&quot;0&quot;}');
  });

  it('form change and submit decode URL-encoded, nested fields; submit resets the input', async () => {
    const client = await joined('/form');
    await client.change('validate', { 'item[title]': 'Call m' }, 'item[title]');
    assert.equal(text(client.html(), 'draft'), 'Call m');
    const reply = await client.submit('save', 'item%5Btitle%5D=Call+mom+%26+dad');
    assert.equal(reply.status, 'ok');
    assert.match(client.html(), /<li>Call mom &amp; dad<\/li>/);
    assert.match(client.html(), /name="item\[title\]" value=""/);
  });

  it('hook events get the view reply through r', async () => {
    const client = await joined('/pusher');
    const reply = await client.hook('hook-call', { text: 'hi' });
    assert.deepEqual((reply.response.diff as Record<string, unknown>).r, { echoed: 'hi' });
  });

  it('pushes events and titles with the diff', async () => {
    const client = await joined('/pusher');
    assert.equal(client.title, 'Pusher 0');
    await client.click('ping');
    assert.deepEqual(client.events, [['pong', { n: 1 }]]);
    assert.equal(client.title, 'Pusher 1');
    const reply = await client.click('silent');
    assert.deepEqual(reply.response, { diff: { e: [['only-event', {}]] } });
  });

  it('acknowledges every event, also those the view does nothing with', async () => {
    const client = await joined('/nav');
    assert.deepEqual(await client.click('no-such-event'), { status: 'ok', response: {} });
    assert.deepEqual(await client.push(client.topic, 'cids_will_destroy', { cids: [1] }), { status: 'ok', response: {} });
    assert.deepEqual(await client.push(client.topic, 'cids_destroyed', { cids: [1] }), { status: 'ok', response: { cids: [1] } });
  });
});

describe('navigation', () => {
  it('a client live_patch runs handleParams and updates the URL', async () => {
    const client = await joined('/nav?page=1');
    assert.equal(text(client.html(), 'params'), '1');
    const reply = await client.patch('/nav?page=2');
    assert.equal(reply.status, 'ok');
    assert.match(client.html(), /page 2/);
    assert.equal(text(client.html(), 'params'), '2');
    assert.equal(client.title, 'Page 2');
  });

  it('a patch to another view answers link_redirect, and the redirect join mounts it on the same topic', async () => {
    const client = await joined('/nav');
    const reply = await client.patch('/counter');
    assert.deepEqual(reply.response, { link_redirect: true });
    await client.leave();
    const joinReply = await client.join({ redirect: '/counter' });
    assert.equal(joinReply.status, 'ok');
    assert.match(client.html(), /<h1 id="count">0<\/h1>/);
  });

  it('a server push-patch drives handleParams and tells the client', async () => {
    const client = await joined('/nav');
    const reply = await client.click('go', { page: '9' });
    assert.deepEqual(reply.response.live_patch, { to: '/nav?page=9', kind: 'push' });
    assert.match(client.html(), /page 9/);
    assert.equal(client.url, `${server.baseUrl}/nav?page=9`);
    // A rejoin after the patch mounts at the patched URL.
    await client.join();
    assert.match(client.html(), /page 9/);
  });

  it('push-navigate and redirect reply, then close the channel', async () => {
    const client = await joined('/nav');
    const closed = client.next('phx_close');
    const reply = await client.click('counter');
    assert.deepEqual(reply.response.live_redirect, { to: '/counter', kind: 'push' });
    await closed;
    assert.deepEqual(await client.click('counter'), { status: 'error', response: { reason: 'unmatched topic' } });
  });

  it('a join whose mount redirects gets the redirect in its error reply', async () => {
    const client = await LiveClient.open(server.baseUrl, '/nav');
    clients.push(client);
    const reply = await client.join({ url: '/nav?start=navigate' });
    assert.deepEqual(reply, { status: 'error', response: { live_redirect: { to: '/counter', kind: 'push' } } });
  });
});

describe('pub/sub', () => {
  it('delivers a message from one socket as an unsolicited diff to every view of the topic', async () => {
    const a = await joined('/room?room=blue');
    const b = await joined('/room?room=blue');
    const other = await joined('/room?room=red');
    const diffs = Promise.all([a.nextDiff(), b.nextDiff()]);
    await a.click('say', { text: '<b>hi</b>' });
    await diffs;
    assert.match(b.html(), /<li>&lt;b&gt;hi&lt;\/b&gt;<\/li>/);
    assert.match(a.html(), /<li>&lt;b&gt;hi&lt;\/b&gt;<\/li>/);
    assert.doesNotMatch(other.html(), /hi/);
  });

  it('unsubscribes views that leave or whose socket closes', async () => {
    const a = await joined('/room?room=gone');
    const b = await joined('/room?room=gone');
    assert.equal(server.pubsub.subscriberCount('room:gone'), 2);
    await a.leave();
    await b.close();
    await server.system.settle();
    for (let i = 0; i < 50 && server.pubsub.subscriberCount('room:gone') > 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(server.pubsub.subscriberCount('room:gone'), 0);
  });
});

describe('isolation', () => {
  it('two sockets of one session hold separate views', async () => {
    const jar = new CookieJar();
    const a = await joined('/counter', { jar });
    const b = await joined('/counter', { jar });
    await a.click('inc', { by: '3' });
    await b.click('inc', { by: '1' });
    assert.equal(text(a.html(), 'count'), '3');
    assert.equal(text(b.html(), 'count'), '1');
  });
});
