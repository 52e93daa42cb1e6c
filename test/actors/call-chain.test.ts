import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type ActorSystem, type LazyRef, defineServer, noreply, reply } from '../../src/actors/index.js';
import { closesCycle } from '../../src/actors/call-chain.js';
import { harness, rejectsWith } from './fixtures.js';

/** A server that, asked to `forward` along a path, calls the next key with the rest of it. */
type Hop = { path: string[] };

function relay(system: () => ActorSystem) {
  const Relay = defineServer<null, Hop, string, Hop>({
    name: 'relay',
    init: () => null,
    async handleCall(msg, state, ctx) {
      const [next, ...rest] = msg.path;
      if (next === undefined) return reply(`end at ${ctx.key}`, state);
      const answer = (await (system().ref(Relay, next) as LazyRef<Hop, string>).call({ path: rest })) as string;
      return reply(`${ctx.key}>${answer}`, state);
    },
    handleCast(msg, state, ctx) {
      const [next, ...rest] = msg.path;
      if (next !== undefined) void system().ref(Relay, next).call({ path: rest }).catch(() => {});
      void ctx;
      return noreply(state);
    },
  });
  return Relay;
}

describe('call cycles', () => {
  it('passes a call along a chain of different servers', async () => {
    const h = harness();
    const Relay = relay(() => h.system);
    assert.equal(await h.system.ref(Relay, 'a').call({ path: ['b', 'c'] }), 'a>b>end at c');
  });

  it('rejects a server calling itself at once, not after the timeout', async () => {
    const h = harness({ callTimeoutMs: 60_000 });
    const Relay = relay(() => h.system);
    const error = await rejectsWith(h.system.ref(Relay, 'a').call({ path: ['a'] }), 'ACTOR_SERVER_DOWN');
    // The inner call failed with a cycle; the handler did not catch it, so the server crashed.
    assert.match((error.cause as Error).message, /relay "a" called itself: it would deadlock/);
    assert.equal(h.clock.now(), 0);
  });

  it('rejects A → B → A and longer cycles at once, naming both ends', async () => {
    const h = harness({ callTimeoutMs: 60_000 });
    const Relay = relay(() => h.system);
    const two = await rejectsWith(h.system.ref(Relay, 'a').call({ path: ['b', 'a'] }), 'ACTOR_SERVER_DOWN');
    const inner = (two.cause as Error).cause as Error;
    assert.match(inner.message, /relay "b" called relay "a", which is waiting on it/);
    const three = await rejectsWith(h.system.ref(Relay, 'x').call({ path: ['y', 'z', 'x'] }), 'ACTOR_SERVER_DOWN');
    assert.ok(three);
    assert.equal(h.clock.now(), 0);
  });

  it('rejects a cycle that runs through an init', async () => {
    const h = harness({ callTimeoutMs: 60_000 });
    const Looping = defineServer<string, 'get', string>({
      name: 'looping',
      init: async (key, ctx) => {
        await h.system.ref(Back, 'b').call(ctx.key);
        return key;
      },
      handleCall: (_m, s) => reply(s, s),
    });
    const Back = defineServer<null, string, string>({
      name: 'back',
      init: () => null,
      handleCall: async (key, s) => reply(await h.system.ref(Looping, key).call('get'), s),
    });
    // looping "l" is in init, waiting on back "b", which calls "l": back's call is refused,
    // back crashes on it, and l's init fails with that crash as its cause.
    const error = await rejectsWith(h.system.ref(Looping, 'l').call('get'), 'ACTOR_INIT_FAILED');
    const down = error.cause as Error & { code: string; cause: Error & { code: string } };
    assert.equal(down.code, 'ACTOR_SERVER_DOWN');
    assert.equal(down.cause.code, 'ACTOR_CALL_CYCLE');
    assert.match(down.cause.message, /back "b" called looping "l", which is waiting on it/);
    assert.equal(h.clock.now(), 0);
  });

  it('does not count a server whose turn has ended as waiting', async () => {
    const h = harness();
    const Relay = relay(() => h.system);
    // a's cast fires a call to b and ends its turn; b then calling a is no cycle.
    h.system.ref(Relay, 'a').cast({ path: ['b'] });
    await h.system.settle();
    assert.equal(await h.system.ref(Relay, 'b').call({ path: ['a'] }), 'b>end at a');
  });

  it('never counts outside code as part of a cycle', async () => {
    const h = harness();
    const Relay = relay(() => h.system);
    const ref = h.system.ref(Relay, 'a');
    const answers = await Promise.all([ref.call({ path: [] }), ref.call({ path: [] })]);
    assert.deepEqual(answers, ['end at a', 'end at a']);
  });
});

describe('closesCycle', () => {
  it('follows awaiting links, visits each node once, and stops on a loop not through the caller', () => {
    const a = { awaiting: undefined as { awaiting: unknown }[] | undefined };
    const b = { awaiting: undefined as { awaiting: unknown }[] | undefined };
    const c = { awaiting: undefined as { awaiting: unknown }[] | undefined };
    b.awaiting = [c];
    c.awaiting = [b];
    type Node = Parameters<typeof closesCycle>[0];
    assert.equal(closesCycle(a as Node, b as Node), false);
    c.awaiting.push(a);
    assert.equal(closesCycle(a as Node, b as Node), true);
    assert.equal(closesCycle(a as Node, a as Node), true);
  });
});
