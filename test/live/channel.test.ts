import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeEventValue, ViewChannel, ViewCrash } from '../../src/live/channel.js';
import type { Params } from '../../src/live/params.js';
import { LocalPubSub } from '../../src/live/pubsub.js';
import { LiveRouter } from '../../src/live/router.js';
import { ClientRendered } from '../support/client-rendered.js';
import { fixtureRoutes, shelfStore } from '../fixtures/views/index.js';

const router = new LiveRouter(fixtureRoutes);

type Sent = [string | null, string | null, string, string, Record<string, unknown>];

function open(path: string, options: { pubsub?: LocalPubSub } = {}) {
  const url = new URL(`http://localhost${path}`);
  const match = router.match(url);
  assert.ok(match, `no fixture route for ${path}`);
  const sent: Sent[] = [];
  const infos: unknown[] = [];
  const channel = new ViewChannel({
    id: 'phx-test',
    topic: 'lv:phx-test',
    joinRef: '1',
    route: match.route,
    router,
    url: url.href,
    params: match.params,
    session: { id: 'session-1', data: {} },
    send: (text) => sent.push(JSON.parse(text) as Sent),
    deliver: (m) => infos.push(m),
    ...(options.pubsub === undefined ? {} : { pubsub: options.pubsub }),
  });
  return { channel, sent, infos };
}

function lastReply(sent: Sent[]) {
  const frame = sent.at(-1);
  assert.ok(frame);
  assert.equal(frame[3], 'phx_reply');
  return frame[4] as { status: string; response: Record<string, unknown> };
}

async function joined(path: string, options: { pubsub?: LocalPubSub } = {}) {
  const v = open(path, options);
  assert.equal(await v.channel.join('1'), 'continue');
  const { status, response } = lastReply(v.sent);
  assert.equal(status, 'ok');
  const client = new ClientRendered('phx-test', response.rendered as never);
  return { ...v, client, response };
}

const click = (event: string, value: Params = {}) => ({ type: 'click', event, value });

describe('ViewChannel join', () => {
  it('replies with the full render and the client version, stamped with the join ref', async () => {
    const { sent, client, response } = await joined('/counter');
    assert.equal(response.liveview_version, '1.2.12');
    assert.deepEqual(sent[0]?.slice(0, 4), ['1', '1', 'lv:phx-test', 'phx_reply']);
    assert.match(client.toHTML(), /<h1 id="count">0<\/h1>/);
  });

  it('runs handleParams with the URL params and carries the title', async () => {
    const { client } = await joined('/nav?page=3');
    assert.match(client.toHTML(), /page 3/);
    assert.equal(client.title, 'Page 3');
  });

  it('answers a mount that redirects with an error reply the client follows', async () => {
    const r = open('/nav?start=redirect');
    assert.equal(await r.channel.join('1'), 'stop');
    assert.deepEqual(lastReply(r.sent), { status: 'error', response: { redirect: { to: '/counter' } } });
    const n = open('/nav?start=navigate');
    assert.equal(await n.channel.join('1'), 'stop');
    assert.deepEqual(lastReply(n.sent), { status: 'error', response: { live_redirect: { to: '/counter', kind: 'push' } } });
  });

  it('renders the patched params and reports live_patch when mount patches', async () => {
    const { response, client } = await joined('/nav?start=patch');
    assert.deepEqual(response.live_patch, { to: '/nav?page=7', kind: 'push' });
    assert.match(client.toHTML(), /page 7/);
  });

  it('answers join crashed when mount throws', async () => {
    const r = open('/crash?mount=crash');
    assert.equal(await r.channel.join('1'), 'stop');
    assert.deepEqual(lastReply(r.sent), { status: 'error', response: { reason: 'join crashed' } });
  });

  it('cuts a view that patches on every handleParams', async () => {
    const r = open('/loop');
    assert.equal(await r.channel.join('1'), 'stop');
    assert.deepEqual(lastReply(r.sent).response, { reason: 'join crashed' });
  });
});

describe('ViewChannel events', () => {
  it('replies to a click with a minimal diff the client merges', async () => {
    const { channel, sent, client } = await joined('/counter');
    await channel.event('2', click('inc', { by: '5' }));
    const reply = lastReply(sent);
    assert.equal(reply.status, 'ok');
    assert.deepEqual(sent.at(-1)?.slice(0, 3), ['1', '2', 'lv:phx-test']);
    client.merge(reply.response.diff as never);
    assert.match(client.toHTML(), /<h1 id="count">5<\/h1>/);
  });

  it('acknowledges an event that changes nothing with an empty response', async () => {
    const { channel, sent } = await joined('/nav');
    await channel.event('2', click('unknown'));
    assert.deepEqual(lastReply(sent), { status: 'ok', response: {} });
  });

  it('acknowledges a rejected event and keeps the view', async () => {
    const { channel, sent, client } = await joined('/crash');
    assert.equal(await channel.event('2', click('reject')), 'continue');
    const reply = lastReply(sent);
    assert.equal(reply.status, 'ok');
    client.merge(reply.response.diff as never);
    assert.match(client.toHTML(), /<p id="count">100<\/p>/);
    await channel.event('3', click('inc'));
    client.merge(lastReply(sent).response.diff as never);
    assert.match(client.toHTML(), /<p id="count">101<\/p>/);
  });

  it('acknowledges the event that crashes the view, then throws', async () => {
    const { channel, sent } = await joined('/crash');
    await assert.rejects(channel.event('2', click('async-boom')), ViewCrash);
    assert.deepEqual(lastReply(sent), { status: 'ok', response: {} });
  });

  it('answers a malformed event payload with an error reply', async () => {
    const { channel, sent } = await joined('/counter');
    await channel.event('2', { type: 'nonsense', event: 3 });
    assert.equal(lastReply(sent).status, 'error');
  });

  it('puts live_patch in the reply when an event push-patches', async () => {
    const { channel, sent, client } = await joined('/nav');
    await channel.event('2', click('go', { page: '9', replace: 'yes' }));
    const reply = lastReply(sent);
    assert.deepEqual(reply.response.live_patch, { to: '/nav?page=9', kind: 'replace' });
    client.merge(reply.response.diff as never);
    assert.match(client.toHTML(), /page 9/);
    assert.equal(channel.url.search, '?page=9');
  });

  it('navigates and redirects with the reply, then closes the channel', async () => {
    const a = await joined('/nav');
    assert.equal(await a.channel.event('2', click('counter')), 'stop');
    assert.deepEqual(a.sent.at(-2)?.[4], { status: 'ok', response: { live_redirect: { to: '/counter', kind: 'push' } } });
    assert.deepEqual(a.sent.at(-1), ['1', '1', 'lv:phx-test', 'phx_close', {}]);
    const b = await joined('/nav');
    assert.equal(await b.channel.event('2', click('away')), 'stop');
    assert.deepEqual(b.sent.at(-2)?.[4], { status: 'ok', response: { redirect: { to: 'https://example.com/elsewhere' } } });
  });

  it('sends pushed events, title and hook replies at the top of the diff', async () => {
    const { channel, sent, client } = await joined('/pusher');
    assert.equal(client.title, 'Pusher 0');
    await channel.event('2', click('ping'));
    const diff = lastReply(sent).response.diff as Record<string, unknown>;
    assert.deepEqual(diff.e, [['pong', { n: 1 }]]);
    assert.equal(diff.t, 'Pusher 1');
    await channel.event('3', { type: 'hook', event: 'hook-call', value: { text: 'hi' } });
    assert.deepEqual(lastReply(sent).response, { diff: { r: { echoed: 'hi' } } });
  });
});

describe('ViewChannel patches and info', () => {
  it('runs handleParams for a client patch to the same view', async () => {
    const { channel, sent, client } = await joined('/nav');
    await channel.livePatch('2', { url: 'http://localhost/nav?page=2' });
    client.merge(lastReply(sent).response.diff as never);
    assert.match(client.toHTML(), /page 2/);
  });

  it('tells the client to live-redirect when the patch goes to another view', async () => {
    const { channel, sent } = await joined('/nav');
    await channel.livePatch('2', { url: 'http://localhost/counter' });
    assert.deepEqual(lastReply(sent), { status: 'ok', response: { link_redirect: true } });
    await channel.livePatch('3', { url: 'http://evil.example/nav' });
    assert.deepEqual(lastReply(sent), { status: 'ok', response: { link_redirect: true } });
  });

  it('pushes an unsolicited diff for a pub/sub message and unsubscribes on leave', async () => {
    const pubsub = new LocalPubSub();
    const { channel, sent, infos, client } = await joined('/room?room=r1', { pubsub });
    assert.equal(pubsub.subscriberCount('room:r1'), 1);
    await channel.event('2', click('say', { text: 'hello' }));
    assert.deepEqual(infos, [{ from: 'phx-test', text: 'hello' }]);
    await channel.info(infos[0]);
    const push = sent.at(-1)!;
    assert.deepEqual(push.slice(0, 4), ['1', null, 'lv:phx-test', 'diff']);
    client.merge(push[4] as never);
    assert.match(client.toHTML(), /<li>hello<\/li>/);
    assert.equal(await channel.leave('3'), 'stop');
    assert.deepEqual(lastReply(sent), { status: 'ok', response: {} });
    assert.equal(pubsub.subscriberCount('room:r1'), 0);
  });
});

describe('ViewChannel hibernation', () => {
  const books = () => [
    { id: '1', title: 'Dune' },
    { id: '2', title: 'Emma' },
  ];

  it('drops the view state while idle and wakes with a whole page the client adopts', async () => {
    shelfStore.reset();
    shelfStore.books.set('session-1', books());
    const { channel, sent, client } = await joined('/shelf');
    await channel.event('2', click('note', { text: 'before' }));
    client.merge(lastReply(sent).response.diff as never);
    const sentBefore = sent.length;

    assert.equal(channel.hibernate(), true);
    assert.equal(channel.hibernating, true);
    assert.equal(sent.length, sentBefore, 'hibernating sends nothing');
    assert.equal(channel.hibernate(), false, 'only once');

    // Meanwhile the data changed elsewhere; the next event wakes the view, which reloads it.
    shelfStore.books.set('session-1', [...books(), { id: '3', title: 'Ulysses' }]);
    const loads = shelfStore.loads;
    await channel.event('3', click('note', { text: 'after' }));
    assert.equal(shelfStore.loads, loads + 1);
    assert.equal(channel.hibernating, false);
    const diff = lastReply(sent).response.diff as Record<string, unknown>;
    assert.ok(Array.isArray(diff.s), 'the whole page, statics included');
    client.merge(diff as never);
    assert.equal(
      client.toHTML(),
      '<ul id="books"><li id="book-1">Dune</li><li id="book-2">Emma</li><li id="book-3">Ulysses</li></ul>\n<p id="note">after</p>',
    );

    // Awake again, changes are small diffs against what the client now holds.
    await channel.event('4', click('add', { title: 'Walden' }));
    const small = lastReply(sent).response.diff as Record<string, unknown>;
    assert.equal(small.s, undefined);
    client.merge(small as never);
    assert.match(client.toHTML(), /<li id="book-4">Walden<\/li><\/ul>/);
  });

  it('wakes for a server message too, pushing the whole page', async () => {
    shelfStore.reset();
    shelfStore.books.set('session-1', books());
    const { channel, sent, client } = await joined('/shelf');
    assert.equal(channel.hibernate(), true);
    shelfStore.books.set('session-1', books().slice(1));
    await channel.info({ type: 'changed' });
    const push = sent.at(-1)!;
    assert.equal(push[3], 'diff');
    client.merge(push[4] as never);
    assert.match(client.toHTML(), /^<ul id="books"><li id="book-2">Emma<\/li><\/ul>/);
  });

  it('does not hibernate a view that has no hibernate and wake pair', async () => {
    const { channel } = await joined('/counter');
    assert.equal(channel.hibernate(), false);
    assert.equal(channel.hibernating, false);
  });
});

describe('decodeEventValue', () => {
  it('decodes form values and lays meta on top', () => {
    assert.deepEqual(decodeEventValue('form', 'item%5Btitle%5D=Call+mom&_unused_x=', { _target: 'item[title]' }), {
      item: { title: 'Call mom' },
      _unused_x: '',
      _target: 'item[title]',
    });
  });

  it('stringifies click values, including the number an <li> sends', () => {
    assert.deepEqual(decodeEventValue('click', { id: '3', value: 0 }, undefined), { id: '3', value: '0' });
    assert.deepEqual(decodeEventValue('keyup', { key: 'Enter' }, undefined), { key: 'Enter' });
    assert.deepEqual(decodeEventValue('click', 'plain', undefined), { value: 'plain' });
    assert.deepEqual(decodeEventValue('click', null, undefined), {});
  });
});
