import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LocalPubSub } from '../../src/live/pubsub.js';
import { ViewSocketImpl } from '../../src/live/view-socket.js';

describe('ViewSocketImpl', () => {
  it('notes a change only when an assigned value differs', () => {
    const socket = new ViewSocketImpl<{ a: number; b: string }>({ id: 'v', connected: true });
    socket.assign({ a: 1, b: 'x' });
    socket.markRendered();
    socket.assign({ a: 1 });
    assert.equal(socket.changed, false);
    socket.assign({ b: 'y' });
    assert.equal(socket.changed, true);
    assert.deepEqual(socket.assigns, { a: 1, b: 'y' });
  });

  it('replaces assigns rather than mutating them', () => {
    const socket = new ViewSocketImpl<{ a: number }>({ id: 'v', connected: true });
    socket.assign({ a: 1 });
    const before = socket.assigns;
    socket.assign({ a: 2 });
    assert.equal(before.a, 1);
  });

  it('keeps the last navigation asked for and hands effects out once', () => {
    const socket = new ViewSocketImpl({ id: 'v', connected: true });
    socket.pushPatch('/a');
    socket.pushNavigate('/b', { replace: true });
    socket.pushEvent('e1', { x: 1 });
    socket.setTitle('T');
    socket.replyToHook({ ok: true });
    assert.deepEqual(socket.takeNavigation(), { kind: 'navigate', to: '/b', replace: true });
    assert.equal(socket.takeNavigation(), null);
    assert.equal(socket.hasEffects, true);
    assert.deepEqual(socket.takeEffects(), { events: [['e1', { x: 1 }]], title: 'T', hookReply: { ok: true } });
    assert.equal(socket.hasEffects, false);
  });

  it('subscribes only when connected, once per topic, and drops everything on stop', async () => {
    const pubsub = new LocalPubSub();
    const got: unknown[] = [];
    const dead = new ViewSocketImpl({ id: 'd', connected: false, pubsub, deliver: (m) => got.push(m) });
    dead.subscribe('t');
    assert.equal(pubsub.subscriberCount('t'), 0);
    const live = new ViewSocketImpl({ id: 'l', connected: true, pubsub, deliver: (m) => got.push(m) });
    live.subscribe('t');
    live.subscribe('t');
    live.subscribe('u');
    assert.equal(pubsub.subscriberCount('t'), 1);
    await live.publish('t', 'hello');
    assert.deepEqual(got, ['hello']);
    live.unsubscribe('u');
    assert.deepEqual(live.topics, ['t']);
    live.unsubscribeAll();
    assert.equal(pubsub.subscriberCount('t'), 0);
  });
  it('is a subscriber that publishFrom leaves out, and none in a dead render', async () => {
    const pubsub = new LocalPubSub();
    const got: string[] = [];
    const dead = new ViewSocketImpl({ id: 'd', connected: false, pubsub, deliver: (m) => got.push(`d:${String(m)}`) });
    assert.equal(dead.subscriber, null);
    const acting = new ViewSocketImpl({ id: 'a', connected: true, pubsub, deliver: (m) => got.push(`a:${String(m)}`) });
    const other = new ViewSocketImpl({ id: 'o', connected: true, pubsub, deliver: (m) => got.push(`o:${String(m)}`) });
    acting.subscribe('t');
    other.subscribe('t');
    await pubsub.publishFrom(acting.subscriber!, 't', 'change');
    assert.deepEqual(got, ['o:change']);
  });

  it('keeps the other subscriptions in order when one in the middle is dropped', async () => {
    const pubsub = new LocalPubSub();
    const got: unknown[] = [];
    const socket = new ViewSocketImpl({ id: 's', connected: true, pubsub, deliver: (m) => got.push(m) });
    for (const topic of ['a', 'b', 'c']) socket.subscribe(topic);
    socket.unsubscribe('b');
    socket.unsubscribe('b');
    assert.deepEqual(socket.topics, ['a', 'c']);
    assert.equal(pubsub.subscriberCount('b'), 0);
    await socket.publish('b', 'lost');
    await socket.publish('c', 'kept');
    socket.subscribe('b');
    assert.deepEqual(socket.topics, ['a', 'c', 'b']);
    socket.unsubscribe('a');
    socket.unsubscribe('c');
    socket.unsubscribe('b');
    assert.deepEqual(socket.topics, []);
    assert.deepEqual(got, ['kept']);
  });
});
