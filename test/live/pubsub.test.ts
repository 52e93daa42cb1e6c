import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LocalPubSub } from '../../src/live/pubsub.js';

describe('LocalPubSub', () => {
  it('delivers to every subscriber of the topic, not to others', async () => {
    const ps = new LocalPubSub();
    const got: string[] = [];
    ps.subscribe('a', (m) => got.push(`1:${m}`));
    ps.subscribe('a', (m) => got.push(`2:${m}`));
    ps.subscribe('b', (m) => got.push(`b:${m}`));
    await ps.publish('a', 'x');
    assert.deepEqual(got, ['1:x', '2:x']);
  });

  it('publishes from a subscriber to every other subscription of the topic, in order', async () => {
    const ps = new LocalPubSub();
    const got: string[] = [];
    const from = (m: unknown) => got.push(`from:${String(m)}`);
    ps.subscribe('a', (m) => got.push(`1:${String(m)}`));
    ps.subscribe('a', from);
    ps.subscribe('a', (m) => got.push(`3:${String(m)}`));
    await Promise.all([ps.publishFrom(from, 'a', 'x'), ps.publish('a', 'y')]);
    assert.deepEqual(got, ['1:x', '3:x', '1:y', 'from:y', '3:y']);
  });

  it('delivers nothing when the publishing subscriber is the only one on the topic', async () => {
    const ps = new LocalPubSub();
    const got: unknown[] = [];
    const from = (m: unknown) => got.push(m);
    ps.subscribe('a', from);
    await ps.publishFrom(from, 'a', 'x');
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(got, []);
    await ps.publish('a', 'y');
    assert.deepEqual(got, ['y']);
  });

  it('delivers outside the publisher call stack, in publish order', async () => {
    const ps = new LocalPubSub();
    const got: unknown[] = [];
    ps.subscribe('t', (m) => got.push(m));
    const p1 = ps.publish('t', 1);
    const p2 = ps.publish('t', 2);
    assert.deepEqual(got, []);
    await Promise.all([p1, p2]);
    assert.deepEqual(got, [1, 2]);
  });

  it('stops delivering after unsubscribe and forgets empty topics', async () => {
    const ps = new LocalPubSub();
    const got: unknown[] = [];
    const off = ps.subscribe('t', (m) => got.push(m));
    assert.equal(ps.subscriberCount('t'), 1);
    off();
    off();
    await ps.publish('t', 1);
    assert.deepEqual(got, []);
    assert.equal(ps.subscriberCount('t'), 0);
  });

  it('does not deliver to a subscriber removed before delivery', async () => {
    const ps = new LocalPubSub();
    const got: unknown[] = [];
    const off = ps.subscribe('t', (m) => got.push(m));
    const pending = ps.publish('t', 1);
    off();
    await pending;
    assert.deepEqual(got, []);
  });

  it('isolates a listener that throws', async () => {
    const errors: unknown[] = [];
    const ps = new LocalPubSub({ onListenerError: (err) => errors.push(err) });
    const got: unknown[] = [];
    ps.subscribe('t', () => {
      throw new Error('boom');
    });
    ps.subscribe('t', (m) => got.push(m));
    await ps.publish('t', 'x');
    assert.deepEqual(got, ['x']);
    assert.equal(errors.length, 1);
  });
  it('counts one listener subscribed twice as two subscriptions, each cancelled on its own', async () => {
    const ps = new LocalPubSub();
    const got: unknown[] = [];
    const listener = (m: unknown) => got.push(m);
    const first = ps.subscribe('t', listener);
    const second = ps.subscribe('t', listener);
    assert.equal(ps.subscriberCount('t'), 2);
    await ps.publish('t', 1);
    first();
    first();
    assert.equal(ps.subscriberCount('t'), 1);
    await ps.publish('t', 2);
    second();
    assert.equal(ps.subscriberCount('t'), 0);
    await ps.publish('t', 3);
    assert.deepEqual(got, [1, 1, 2]);
  });

  it('delivers in subscription order as a topic goes from one subscriber to several and back', async () => {
    const ps = new LocalPubSub();
    const got: string[] = [];
    const offA = ps.subscribe('t', (m) => got.push(`a${m}`));
    const offB = ps.subscribe('t', (m) => got.push(`b${m}`));
    offA();
    await ps.publish('t', 1);
    ps.subscribe('t', (m) => got.push(`c${m}`));
    await ps.publish('t', 2);
    offB();
    await ps.publish('t', 3);
    assert.deepEqual(got, ['b1', 'b2', 'c2', 'c3']);
    assert.equal(ps.subscriberCount('t'), 1);
  });

  it('does not deliver a message published before a subscriber left and came back', async () => {
    const ps = new LocalPubSub();
    const got: unknown[] = [];
    const listener = (m: unknown) => got.push(m);
    const off = ps.subscribe('t', listener);
    const pending = ps.publish('t', 'before');
    off();
    ps.subscribe('t', listener);
    await pending;
    await ps.publish('t', 'after');
    assert.deepEqual(got, ['after']);
  });
});
