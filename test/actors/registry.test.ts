import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defineServer, noreply, reply } from '../../src/actors/index.js';
import { Counter, gate, harness, rejectsWith } from './fixtures.js';

describe('startOrGet', () => {
  it('runs one init for concurrent starts of one key and hands out the same pending promise', async () => {
    const { system } = harness();
    const loading = gate();
    let inits = 0;
    const Slow = defineServer<number, 'get', number>({
      name: 'slow-init',
      async init() {
        inits++;
        await loading.promise;
        return 42;
      },
      handleCall: (_m, s) => reply(s, s),
    });
    const first = system.startOrGet(Slow, 'k');
    const second = system.startOrGet(Slow, 'k');
    assert.equal(first, second);
    loading.open();
    const [a, b] = await Promise.all([first, second]);
    assert.equal(a, b);
    assert.equal(inits, 1);
    assert.equal(await system.startOrGet(Slow, 'k'), a);
  });

  it('passes the start argument to init, and ignores it for a key already live', async () => {
    const { system } = harness();
    const ref = await system.startOrGet(Counter, 'k', { arg: 5 });
    assert.equal(await ref.call({ type: 'get' }), 5);
    const again = await system.startOrGet(Counter, 'k', { arg: 99 });
    assert.equal(again, ref);
    assert.equal(await again.call({ type: 'get' }), 5);
  });

  it('never hands out a stopping server: it waits for it to be gone and starts a fresh one', async () => {
    const { system } = harness();
    const flushing = gate();
    let inits = 0;
    const Flushing = defineServer<number, 'get', number>({
      name: 'flushing',
      init: () => ++inits,
      handleCall: (_m, s) => reply(s, s),
      terminate: () => flushing.promise,
    });
    const old = await system.startOrGet(Flushing, 'k');
    const stopping = system.stop(old);
    const next = system.startOrGet(Flushing, 'k');
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(inits, 1, 'no second instance while the first is in terminate');
    assert.equal(system.lookup(Flushing, 'k'), undefined);
    flushing.open();
    await stopping;
    const fresh = await next;
    assert.notEqual(fresh, old);
    assert.notEqual(fresh.id, old.id);
    assert.equal(await fresh.call('get'), 2);
  });

  it('hands out the starting instance as soon as init is done, not before', async () => {
    const { system } = harness();
    const loading = gate();
    const Slow = defineServer<null>({ name: 'slow', init: () => loading.promise.then(() => null) });
    const start = system.startOrGet(Slow, 'k');
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(system.lookup(Slow, 'k'), undefined);
    assert.deepEqual(system.snapshot().map((s) => s.status), ['starting']);
    loading.open();
    const ref = await start;
    assert.equal(system.lookup(Slow, 'k'), ref);
  });

  it('refuses a second type with the same name', async () => {
    const { system } = harness();
    await system.startOrGet(Counter, 'k');
    const Impostor = defineServer<null>({ name: 'counter', init: () => null });
    await rejectsWith(system.startOrGet(Impostor, 'k'), 'ACTOR_BAD_SPEC');
    assert.throws(() => system.ref(Impostor, 'k'), /already used by another definition/);
  });

  it('rejects a start that is stopped before init finishes', async () => {
    const { system } = harness();
    const loading = gate();
    let terminated = 0;
    const Slow = defineServer<null>({
      name: 'slow',
      init: () => loading.promise.then(() => null),
      terminate: () => {
        terminated++;
      },
    });
    const start = system.startOrGet(Slow, 'k');
    await new Promise((resolve) => setImmediate(resolve));
    const [inst] = system.snapshot();
    assert.equal(inst?.status, 'starting');
    const stopped = system.stop(Slow, 'k');
    const rejection = rejectsWith(start, 'ACTOR_SERVER_DOWN');
    loading.open();
    await stopped;
    await rejection;
    assert.equal(terminated, 1, 'the state init produced is still terminated');
  });
});

describe('lookup', () => {
  it('finds only running instances', async () => {
    const { system } = harness();
    assert.equal(system.lookup(Counter, 'k'), undefined);
    const ref = await system.startOrGet(Counter, 'k');
    assert.equal(system.lookup(Counter, 'k'), ref);
    const stopping = system.stop(ref);
    assert.equal(system.lookup(Counter, 'k'), undefined);
    await stopping;
    assert.equal(system.lookup(Counter, 'k'), undefined);
  });

  it('keeps keys of different types apart', async () => {
    const { system } = harness();
    const Other = defineServer<string, 'get', string>({ name: 'other', init: () => 'other', handleCall: (_m, s) => reply(s, s) });
    await system.startOrGet(Counter, 'k', { arg: 3 });
    await system.startOrGet(Other, 'k');
    assert.equal(await system.lookup(Counter, 'k')!.call({ type: 'get' }), 3);
    assert.equal(await system.lookup(Other, 'k')!.call('get'), 'other');
    void noreply;
  });
});
