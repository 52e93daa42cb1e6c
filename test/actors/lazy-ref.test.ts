import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defineServer, noreply, reply } from '../../src/actors/index.js';
import { Counter, gate, harness, rejectsWith, track } from './fixtures.js';

/** Keeps a value in a shared map, like a store: init reloads what was saved. */
function storeBacked(saved: Map<string, number>, loads: string[]) {
  return defineServer<number, { type: 'get' } | { type: 'set'; value: number }, number, { type: 'set'; value: number }>({
    name: 'stored',
    idleTimeoutMs: 1000,
    init(key) {
      loads.push(key);
      return saved.get(key) ?? 0;
    },
    handleCall(msg, state, ctx) {
      if (msg.type === 'get') return reply(state, state);
      saved.set(ctx.key, msg.value);
      return reply(msg.value, msg.value);
    },
    handleCast(msg, _state, ctx) {
      saved.set(ctx.key, msg.value);
      return noreply(msg.value);
    },
  });
}

describe('lazy refs', () => {
  it('activate the key on the first message, with the activation argument', async () => {
    const { system, named } = harness();
    const ref = system.ref(Counter, 'k', { arg: 40 });
    assert.equal(ref.lazy, true);
    assert.equal(named('started').length, 0, 'creating a ref starts nothing');
    assert.equal(await ref.call({ type: 'add', n: 2 }), 42);
    assert.equal(named('started').length, 1);
  });

  it('re-activate a key after an idle stop; init reloads its state', async () => {
    const { system, clock } = harness();
    const saved = new Map<string, number>();
    const loads: string[] = [];
    const ref = system.ref(storeBacked(saved, loads), 'u1');
    await ref.call({ type: 'set', value: 7 });
    await clock.advance(1000);
    assert.deepEqual(system.snapshot(), []);
    assert.equal(await ref.call({ type: 'get' }), 7);
    assert.deepEqual(loads, ['u1', 'u1']);
  });

  it('deliver a call that races a stop to the next instance', async () => {
    const { system } = harness();
    const flushing = gate();
    let inits = 0;
    const Flushing = defineServer<number, 'who', number>({
      name: 'flushing',
      init: () => ++inits,
      handleCall: (_m, s) => reply(s, s),
      terminate: () => flushing.promise,
    });
    const ref = system.ref(Flushing, 'k');
    assert.equal(await ref.call('who'), 1);
    const stopped = system.stop(Flushing, 'k');
    const answer = ref.call('who');
    flushing.open();
    await stopped;
    assert.equal(await answer, 2);
  });

  it('wait out a second stopping instance when the next one found is stopping too', async () => {
    const { system, named } = harness();
    let inits = 0;
    const Plain = defineServer<number, 'who', number>({
      name: 'plain',
      init: () => ++inits,
      handleCall: (_m, s) => reply(s, s),
    });
    const ref = system.ref(Plain, 'k');
    await ref.call('who');
    const stopping = system.stop(Plain, 'k');
    // Runs before the waiting call resumes: a new instance appears and is told to stop at once.
    void stopping.then(() => {
      void system.startOrGet(Plain, 'k').catch(() => {});
      void system.stop(Plain, 'k');
    });
    const answer = ref.call('who');
    assert.equal(await answer, 2);
    assert.deepEqual(
      named('stopped').map((e) => e.id),
      [1, 2],
    );
    assert.deepEqual(
      named('started').map((e) => e.id),
      [1, 3],
      'the call went to the third instance',
    );
  });

  it('keep the order of one sender across a stop', async () => {
    const { system } = harness();
    const flushing = gate();
    const seen: number[] = [];
    const Log = defineServer<null, 'read', number[], number>({
      name: 'log',
      init: () => null,
      handleCast: (n, s) => {
        seen.push(n);
        return noreply(s);
      },
      handleCall: (_m, s) => reply(seen, s),
      terminate: () => flushing.promise,
    });
    const ref = system.ref(Log, 'k');
    ref.cast(1);
    await system.settle();
    const stopping = system.stop(Log, 'k');
    ref.cast(2);
    ref.cast(3);
    void stopping.then(() => ref.cast(4));
    flushing.open();
    await stopping;
    ref.cast(5);
    assert.deepEqual(await ref.call('read'), [1, 2, 3, 4, 5]);
  });

  it('deliver a cast sent while the instance stops to the next one', async () => {
    const { system } = harness();
    const saved = new Map<string, number>();
    const Stored = storeBacked(saved, []);
    const ref = system.ref(Stored, 'k');
    await ref.call({ type: 'set', value: 1 });
    const stopped = system.stop(Stored, 'k');
    assert.equal(ref.cast({ type: 'set', value: 2 }), true);
    await stopped;
    await system.settle();
    assert.equal(await ref.call({ type: 'get' }), 2);
  });

  it('report a cast accepted during a stop that can no longer be delivered, without throwing', async () => {
    const { system, named } = harness();
    const flushing = gate();
    const Log = defineServer<null, never, never, string>({
      name: 'log',
      init: () => null,
      handleCast: (_m, s) => noreply(s),
      terminate: () => flushing.promise,
    });
    const ref = system.ref(Log, 'k');
    ref.cast('first');
    await system.settle();
    const stopping = system.stop(Log, 'k');
    assert.equal(ref.cast('late'), true, 'accepted for delivery to the next instance');
    const down = system.shutdown({ drainMs: 10 });
    flushing.open();
    await stopping;
    await down;
    const dropped = named('messageDropped');
    assert.equal(dropped.length, 1);
    assert.equal((dropped[0]!.error as { code?: string }).code, 'ACTOR_SHUTTING_DOWN');
  });

  it('time out a call from when it was made, even while waiting for a stopping instance', async () => {
    const { system, clock } = harness();
    const never = gate();
    const Stuck = defineServer<null, 'x', string>({
      name: 'stuck',
      terminateTimeoutMs: 10_000,
      init: () => null,
      handleCall: (_m, s) => reply('ok', s),
      terminate: () => never.promise,
    });
    const ref = system.ref(Stuck, 'k');
    await ref.call('x');
    void system.stop(Stuck, 'k');
    const call = track(ref.call('x', { timeoutMs: 300 }));
    await clock.advance(300);
    assert.equal(call.done, true);
    assert.equal((call.error as { code?: string }).code, 'ACTOR_CALL_TIMEOUT');
  });

  it('report a failed activation to the caller, and try again on the next message', async () => {
    const { system } = harness();
    let attempts = 0;
    const Flaky = defineServer<string, 'get', string>({
      name: 'flaky',
      init: () => {
        attempts++;
        if (attempts === 1) throw new Error('db down');
        return 'up';
      },
      handleCall: (_m, s) => reply(s, s),
    });
    const ref = system.ref(Flaky, 'k');
    await rejectsWith(ref.call('get'), 'ACTOR_INIT_FAILED');
    assert.equal(await ref.call('get'), 'up');
  });

  it('refuse messages once the system shuts down', async () => {
    const { system } = harness();
    const ref = system.ref(Counter, 'k');
    await ref.call({ type: 'get' });
    await system.shutdown({ drainMs: 10 });
    await rejectsWith(ref.call({ type: 'get' }), 'ACTOR_SHUTTING_DOWN');
    assert.equal(ref.cast({ type: 'add', n: 1 }), false);
  });
});
