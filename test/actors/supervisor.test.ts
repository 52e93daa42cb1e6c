import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { type RestartType, defineServer, noreply, reply, stop } from '../../src/actors/index.js';
import { Counter, harness, rejectsWith } from './fixtures.js';

type Msg = { type: 'get' } | { type: 'crash' } | { type: 'quit' };

/** A server whose restart type is a parameter; `crash` throws, `quit` stops normally. */
function worker(restart: RestartType, inits: unknown[] = []) {
  return defineServer<number, Msg, number, Msg, never, string | undefined>({
    name: `worker-${restart}`,
    restart,
    init(_key, _ctx, arg) {
      inits.push(arg);
      return inits.length;
    },
    handleCall(msg, state) {
      if (msg.type === 'crash') throw new Error('crashed on purpose');
      if (msg.type === 'quit') return stop('normal', state, state);
      return reply(state, state);
    },
    handleCast(msg, state) {
      if (msg.type === 'crash') throw new Error('crashed on purpose');
      return msg.type === 'quit' ? stop('normal', state) : noreply(state);
    },
  });
}

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
beforeEach(() => {
  unhandled.length = 0;
  process.on('unhandledRejection', onUnhandled);
});
afterEach(() => {
  process.off('unhandledRejection', onUnhandled);
  assert.deepEqual(unhandled, [], 'no unhandled rejections');
});

describe('restart types', () => {
  it('restarts a transient server after a crash, after the backoff, with the original argument', async () => {
    const { system, clock, named } = harness({ supervisor: { backoff: { minMs: 100, maxMs: 1000, jitter: 0 } } });
    const inits: unknown[] = [];
    const Worker = worker('transient', inits);
    const ref = await system.startOrGet(Worker, 'k', { arg: 'config' });
    await rejectsWith(ref.call({ type: 'crash' }), 'ACTOR_SERVER_DOWN');
    assert.deepEqual(named('restarting'), [{ type: 'worker-transient', key: 'k', delayMs: 100, attempt: 1 }]);
    assert.deepEqual(system.snapshot().map((s) => s.status), ['backoff']);
    await clock.advance(99);
    assert.equal(inits.length, 1);
    await clock.advance(1);
    assert.deepEqual(inits, ['config', 'config']);
    const info = system.snapshot()[0]!;
    assert.equal(info.status, 'running');
    assert.equal(info.restarts, 1);
    assert.equal(info.lastError, 'crashed on purpose');
  });

  it('does not restart a transient server that stopped normally', async () => {
    const { system, clock, named } = harness();
    const ref = await system.startOrGet(worker('transient'), 'k');
    await ref.call({ type: 'quit' });
    await clock.advance(60_000);
    assert.equal(named('restarting').length, 0);
    assert.deepEqual(system.snapshot(), []);
  });

  it('restarts a permanent server even after a normal stop', async () => {
    const { system, clock } = harness();
    const Worker = worker('permanent');
    const ref = await system.startOrGet(Worker, 'k');
    await ref.call({ type: 'quit' });
    await clock.advance(1000);
    assert.equal(await system.lookup(Worker, 'k')!.call({ type: 'get' }), 2);
  });

  it('never restarts a temporary server', async () => {
    const { system, clock, named } = harness();
    const ref = await system.startOrGet(worker('temporary'), 'k');
    await rejectsWith(ref.call({ type: 'crash' }), 'ACTOR_SERVER_DOWN');
    await clock.advance(60_000);
    assert.equal(named('restarting').length, 0);
    assert.deepEqual(system.snapshot(), []);
  });

  it('does not restart a server stopped on purpose, whatever its type', async () => {
    const { system, clock, named } = harness();
    await system.stop(await system.startOrGet(worker('permanent'), 'k'));
    await clock.advance(60_000);
    assert.equal(named('restarting').length, 0);
  });

  it('keeps messages sent during the backoff for the restarted server', async () => {
    const { system, clock } = harness();
    const Worker = worker('transient');
    const ref = system.ref(Worker, 'k');
    await rejectsWith(ref.call({ type: 'crash' }), 'ACTOR_SERVER_DOWN');
    const answer = ref.call({ type: 'get' });
    await clock.advance(100);
    assert.equal(await answer, 2, 'answered by the second instance');
  });

  it('brings a crashed server back with the state it last saved, not the state it crashed with', async () => {
    const { system, clock } = harness();
    const saved = new Map<string, number>();
    const Saver = defineServer<number, { type: 'add'; n: number } | { type: 'get' } | { type: 'crash' }, number>({
      name: 'saver',
      init: (key) => saved.get(key) ?? 0,
      handleCall(msg, state, ctx) {
        if (msg.type === 'get') return reply(state, state);
        if (msg.type === 'crash') throw new Error('crash');
        const next = state + msg.n;
        saved.set(ctx.key, next); // persisted before the reply
        return reply(next, next);
      },
      handleCast(_msg, state) {
        return noreply(state + 1000); // in memory only, never saved
      },
    });
    const ref = system.ref(Saver, 'k');
    await ref.call({ type: 'add', n: 5 });
    (ref as unknown as { cast(m: unknown): boolean }).cast({});
    await rejectsWith(ref.call({ type: 'crash' }), 'ACTOR_SERVER_DOWN');
    await clock.advance(100);
    assert.equal(await ref.call({ type: 'get' }), 5);
  });

  it('treats an init that fails during a restart as another crash', async () => {
    const { system, clock, named } = harness({ supervisor: { maxRestarts: 10, maxSeconds: 60, backoff: { jitter: 0 } } });
    let inits = 0;
    const Fragile = defineServer<number, 'crash' | 'get', number>({
      name: 'fragile',
      init: () => {
        inits++;
        if (inits === 2 || inits === 3) throw new Error('still broken');
        return inits;
      },
      handleCall(msg, s) {
        if (msg === 'crash') throw new Error('crash');
        return reply(s, s);
      },
    });
    const ref = system.ref(Fragile, 'k');
    await rejectsWith(ref.call('crash'), 'ACTOR_SERVER_DOWN');
    await clock.advance(100 + 200 + 400);
    assert.equal(await ref.call('get'), 4);
    assert.deepEqual(
      named('restarting').map((e) => e.delayMs),
      [100, 200, 400],
    );
  });
});

describe('restart intensity and quarantine', () => {
  const options = { supervisor: { maxRestarts: 3, maxSeconds: 5, quarantineMs: 30_000, backoff: { minMs: 100, maxMs: 1000, jitter: 0 } } };

  it('backs off exponentially per key', async () => {
    const { system, clock, named } = harness(options);
    const ref = system.ref(worker('transient'), 'k');
    for (let i = 0; i < 3; i++) {
      await rejectsWith(ref.call({ type: 'crash' }), 'ACTOR_SERVER_DOWN');
      await clock.advance(1000);
    }
    assert.deepEqual(
      named('restarting').map((e) => e.delayMs),
      [100, 200, 400],
    );
  });

  it('quarantines a key on the crash after maxRestarts within maxSeconds, and only that key', async () => {
    const { system, clock, named } = harness(options);
    const Worker = worker('transient');
    const bad = system.ref(Worker, 'bad');
    const good = system.ref(Worker, 'good');
    for (let i = 0; i < 4; i++) {
      await rejectsWith(bad.call({ type: 'crash' }), 'ACTOR_SERVER_DOWN');
      await clock.advance(i < 3 ? 1000 : 0);
    }
    assert.equal(named('restarting').length, 3);
    assert.deepEqual(named('quarantined'), [{ type: 'worker-transient', key: 'bad', crashes: 4, untilMs: clock.now() + 30_000 }]);
    const refused = await rejectsWith(bad.call({ type: 'get' }), 'ACTOR_UNAVAILABLE');
    assert.match(refused.message, /quarantined for another 30000 ms/);
    await rejectsWith(system.startOrGet(Worker, 'bad'), 'ACTOR_UNAVAILABLE');
    assert.equal(bad.cast({ type: 'get' }), false);
    assert.equal(await good.call({ type: 'get' }), 5, 'another key of the same type is unaffected (its init was the fifth)');
    assert.deepEqual(
      system.snapshot().map((s) => [s.key, s.status]),
      [
        ['good', 'running'],
        ['bad', 'quarantined'],
      ],
    );
  });

  it('ends the quarantine after quarantineMs and starts the server again', async () => {
    const { system, clock, named } = harness(options);
    const Worker = worker('transient');
    const bad = system.ref(Worker, 'bad');
    for (let i = 0; i < 4; i++) {
      await rejectsWith(bad.call({ type: 'crash' }), 'ACTOR_SERVER_DOWN');
      await clock.advance(i < 3 ? 1000 : 0);
    }
    await clock.advance(29_999);
    await rejectsWith(bad.call({ type: 'get' }), 'ACTOR_UNAVAILABLE');
    await clock.advance(1);
    assert.deepEqual(named('released'), [{ type: 'worker-transient', key: 'bad' }]);
    assert.deepEqual(system.snapshot().map((s) => [s.status, s.restarts]), [['running', 0]]);
    assert.equal(await bad.call({ type: 'get' }), 5);
  });

  it('forgets crashes older than the window', async () => {
    const { system, clock, named } = harness(options);
    const ref = system.ref(worker('transient'), 'k');
    for (let i = 0; i < 8; i++) {
      await rejectsWith(ref.call({ type: 'crash' }), 'ACTOR_SERVER_DOWN');
      await clock.advance(2600); // at most two crashes in any 5 s window
    }
    assert.equal(named('quarantined').length, 0);
    assert.equal(named('restarting').length, 8);
  });

  it('quarantines a temporary key that keeps crashing on activation', async () => {
    const { system, named } = harness(options);
    const ref = system.ref(worker('temporary'), 'k');
    for (let i = 0; i < 4; i++) await rejectsWith(ref.call({ type: 'crash' }), 'ACTOR_SERVER_DOWN');
    assert.equal(named('quarantined').length, 1);
    await rejectsWith(ref.call({ type: 'get' }), 'ACTOR_UNAVAILABLE');
  });
});

describe('supervisors', () => {
  it('refuse children beyond maxChildren, and take new ones once a child is gone', async () => {
    const { system } = harness();
    const small = system.supervisor('small', { maxChildren: 2 });
    await system.startOrGet(Counter, 'a', { supervisor: small });
    const b = await system.startOrGet(Counter, 'b', { supervisor: small });
    const refused = await rejectsWith(system.startOrGet(Counter, 'c', { supervisor: small }), 'ACTOR_UNAVAILABLE');
    assert.match(refused.message, /maximum of 2 children/);
    await rejectsWith(system.ref(Counter, 'c', { supervisor: small }).call({ type: 'get' }), 'ACTOR_UNAVAILABLE');
    await system.startOrGet(Counter, 'c'); // the root supervisor has no limit
    await system.stop(b);
    await system.startOrGet(Counter, 'd', { supervisor: small });
    assert.equal(small.children, 2);
    assert.deepEqual(
      system.snapshot().map((s) => [s.key, s.supervisor]),
      [
        ['a', 'small'],
        ['c', 'root'],
        ['d', 'small'],
      ],
    );
  });

  it('are created once per name', () => {
    const { system } = harness();
    assert.equal(system.supervisor('x', { maxChildren: 1 }), system.supervisor('x'));
  });

  it('refuse invalid options, saying which', () => {
    const { system } = harness();
    assert.throws(() => system.supervisor('bad', { maxRestarts: -1 }), /maxRestarts to be an integer >= 0/);
    assert.throws(() => system.supervisor('bad', { backoff: { minMs: 10, maxMs: 5 } }), /backoff.maxMs/);
    assert.throws(() => system.supervisor('bad', { backoff: { jitter: 2 } }), /jitter/);
    assert.throws(() => system.supervisor('bad', { maxChildren: 0 }), /maxChildren/);
  });

  it('keep a crash-looping key from affecting the process: no unhandled rejections, other keys answer', async () => {
    const { system, clock } = harness({ supervisor: { maxRestarts: 2, maxSeconds: 1, quarantineMs: 500, backoff: { minMs: 10, maxMs: 10, jitter: 0 } } });
    const Doomed = defineServer<null, 'x', null, never, 'tick'>({
      name: 'doomed',
      restart: 'permanent',
      init: (_k, ctx) => {
        ctx.sendAfter('tick', 5);
        return null;
      },
      handleCall: (_m, s) => reply(null, s),
      handleInfo: () => {
        throw new Error('tick failed');
      },
    });
    await system.startOrGet(Doomed, 'k');
    const ok = system.ref(Counter, 'fine');
    for (let i = 0; i < 50; i++) {
      await clock.advance(20);
      assert.equal(await ok.call({ type: 'get' }), 0);
    }
    assert.ok(system.snapshot().some((s) => s.type === 'doomed'));
  });
});
