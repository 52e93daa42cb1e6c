import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Listeners } from '../../src/store/listeners.js';
import type { StoreEvent } from '../../src/store/index.js';

describe('Listeners', () => {
  const change: StoreEvent = { type: 'change', userId: 'u', version: 1 };

  it('reports a throwing listener and still calls the others', () => {
    const errors: unknown[] = [];
    const set = new Listeners((e) => errors.push(e));
    const heard: StoreEvent[] = [];
    set.add(() => {
      throw new Error('boom');
    });
    set.add((e) => heard.push(e));
    set.emit(change);
    assert.deepEqual(heard, [change]);
    assert.equal((errors[0] as Error).message, 'boom');
  });

  it('treats the same function subscribed twice as two subscriptions', () => {
    const set = new Listeners(() => {});
    let calls = 0;
    const listener = () => {
      calls++;
    };
    const off1 = set.add(listener);
    set.add(listener);
    set.emit(change);
    off1();
    set.emit(change);
    assert.equal(calls, 3);
    off1();
    assert.equal(set.size, 1);
  });

  it('lets a listener unsubscribe while being called without skipping others', () => {
    const set = new Listeners(() => {});
    const order: string[] = [];
    const offA = set.add(() => {
      order.push('a');
      offA();
    });
    set.add(() => order.push('b'));
    set.emit(change);
    set.emit(change);
    assert.deepEqual(order, ['a', 'b', 'b']);
  });
});
