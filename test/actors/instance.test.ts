import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type From, type StopReason, defineServer, noreply, reply, stop } from '../../src/actors/index.js';
import { isTodoLiveError } from '../../src/errors.js';
import { Counter, flush, gate, harness, rejectsWith, track } from './fixtures.js';

describe('turns', () => {
  it('handles one message at a time, even while a handler awaits', async () => {
    const { system } = harness();
    let running = 0;
    let most = 0;
    const log: string[] = [];
    const held = gate();
    const Slow = defineServer<null, string, string>({
      name: 'slow',
      init: () => null,
      async handleCall(msg, state) {
        running++;
        most = Math.max(most, running);
        log.push(`start ${msg}`);
        if (msg === 'first') await held.promise;
        log.push(`end ${msg}`);
        running--;
        return reply(msg, state);
      },
    });
    const ref = system.ref(Slow, 'k');
    const first = ref.call('first');
    const second = ref.call('second');
    await flush();
    assert.deepEqual(log, ['start first']);
    held.open();
    assert.deepEqual(await Promise.all([first, second]), ['first', 'second']);
    assert.deepEqual(log, ['start first', 'end first', 'start second', 'end second']);
    assert.equal(most, 1);
  });

  it('handles the messages of one sender in the order they were sent', async () => {
    const { system } = harness();
    const Log = defineServer<number[], 'read', number[], number>({
      name: 'log',
      init: () => [],
      handleCast: (n, state) => noreply([...state, n]),
      handleCall: (_msg, state) => reply(state, state),
    });
    const ref = system.ref(Log, 'k');
    for (let i = 0; i < 50; i++) ref.cast(i);
    assert.deepEqual(await ref.call('read'), Array.from({ length: 50 }, (_, i) => i));
  });

  it('keeps the state each handler returns for the next', async () => {
    const { system } = harness();
    const ref = system.ref(Counter, 'k', { arg: 10 });
    ref.cast({ type: 'add', n: 5 });
    assert.equal(await ref.call({ type: 'add', n: 1 }), 16);
    assert.equal(await ref.call({ type: 'get' }), 16);
  });
});

describe('call', () => {
  it('times out on the clock, and a queued request whose caller gave up is never handled', async () => {
    const { system, clock, named } = harness();
    const held = gate();
    const handled: string[] = [];
    const Busy = defineServer<null, string, string>({
      name: 'busy',
      init: () => null,
      async handleCall(msg, state) {
        handled.push(msg);
        if (msg === 'hold') await held.promise;
        return reply(msg, state);
      },
    });
    const ref = system.ref(Busy, 'k');
    const hold = track(ref.call('hold', { timeoutMs: 10_000 }));
    const queued = rejectsWith(ref.call('queued', { timeoutMs: 100 }), 'ACTOR_CALL_TIMEOUT');
    await clock.advance(99);
    assert.deepEqual(handled, ['hold']);
    await clock.advance(1);
    const error = await queued;
    assert.match(error.message, /busy "k" within 100 ms/);
    assert.deepEqual(named('callTimeout'), [{ type: 'busy', key: 'k', timeoutMs: 100 }]);
    held.open();
    await system.settle();
    assert.equal(hold.value, 'hold');
    assert.deepEqual(handled, ['hold']);
  });

  it('uses the type default timeout, then the system default', async () => {
    const { system, clock } = harness({ callTimeoutMs: 300 });
    const Never = defineServer<null, string, never>({
      name: 'never',
      init: () => null,
      handleCall: (_m, state) => noreply(state),
    });
    const Quick = defineServer<null, string, never>({ ...Never, name: 'quick', callTimeoutMs: 50 });
    const a = track(system.ref(Never, 'k').call('x'));
    const b = track(system.ref(Quick, 'k').call('x'));
    await clock.advance(50);
    assert.equal(b.done, true);
    assert.equal(a.done, false);
    await clock.advance(250);
    assert.ok(isTodoLiveError(a.error, 'ACTOR_CALL_TIMEOUT'));
  });

  it('waits forever with an infinite timeout, and still settles when the server stops', async () => {
    const { system, clock } = harness();
    const Never = defineServer<null, string, never>({ name: 'never', init: () => null, handleCall: (_m, s) => noreply(s) });
    const ref = await system.startOrGet(Never, 'k');
    const call = track(ref.call('x', { timeoutMs: Number.POSITIVE_INFINITY }));
    await clock.advance(1e9);
    assert.equal(call.done, false);
    await system.stop(ref);
    assert.ok(isTodoLiveError(call.error, 'ACTOR_SERVER_DOWN'));
  });

  it('answers later with a deferred reply, exactly once', async () => {
    const { system, clock } = harness();
    let kept: From<string> | undefined;
    let secondAnswer: boolean | undefined;
    const Defer = defineServer<null, string, string, never, string>({
      name: 'defer',
      init: () => null,
      handleCall(_msg, state, ctx, from) {
        kept = from;
        ctx.sendAfter('answer', 500);
        return noreply(state);
      },
      handleInfo(_msg, state, ctx) {
        assert.equal(ctx.reply(kept!, 'later'), true);
        secondAnswer = ctx.reply(kept!, 'again');
        return noreply(state);
      },
    });
    const call = track(system.ref(Defer, 'k').call('x', { timeoutMs: 1000 }));
    await clock.advance(499);
    assert.equal(call.done, false);
    await clock.advance(1);
    assert.equal(call.value, 'later');
    assert.equal(call.settles, 1);
    assert.equal(secondAnswer, false);
  });

  it('refuses a late deferred reply to a caller that timed out', async () => {
    const { system, clock } = harness();
    let replied: boolean | undefined;
    const Late = defineServer<null, string, string, never, From<string>>({
      name: 'late',
      init: () => null,
      handleCall(_msg, state, ctx, from) {
        ctx.sendAfter(from, 200);
        return noreply(state);
      },
      handleInfo(from, state, ctx) {
        replied = ctx.reply(from, 'too late');
        return noreply(state);
      },
    });
    const call = rejectsWith(system.ref(Late, 'k').call('x', { timeoutMs: 100 }), 'ACTOR_CALL_TIMEOUT');
    await clock.advance(200);
    await call;
    assert.equal(replied, false);
  });

  it('rejects an unanswered deferred call when the server stops', async () => {
    const { system } = harness();
    const Never = defineServer<null, string, never>({ name: 'never', init: () => null, handleCall: (_m, s) => noreply(s) });
    const ref = await system.startOrGet(Never, 'k');
    const call = ref.call('x');
    await flush();
    assert.deepEqual(system.snapshot().map((s) => s.pendingReplies), [1]);
    void system.stop(ref);
    const error = await rejectsWith(call, 'ACTOR_SERVER_DOWN');
    assert.match(error.message, /stopped: normal/);
  });

  it('rejects the call that crashed the server and every call queued behind it, with the cause', async () => {
    const { system } = harness();
    const ref = system.ref(Counter, 'k');
    const crashing = ref.call({ type: 'boom' });
    const queued = ref.call({ type: 'get' });
    const first = await rejectsWith(crashing, 'ACTOR_SERVER_DOWN');
    assert.equal((first.cause as Error).message, 'boom');
    assert.match(first.message, /crash \(boom\)/);
    await rejectsWith(queued, 'ACTOR_SERVER_DOWN');
  });

  it('rejects calls to an instance that has stopped', async () => {
    const { system } = harness();
    const ref = await system.startOrGet(Counter, 'k');
    await system.stop(ref);
    assert.equal(ref.alive, false);
    await rejectsWith(ref.call({ type: 'get' }), 'ACTOR_SERVER_DOWN');
    assert.equal(ref.cast({ type: 'add', n: 1 }), false);
    assert.equal(ref.send('tick'), false);
  });

  it('refuses a call to a type without handleCall, and a cast or send it cannot handle', async () => {
    const { system } = harness();
    const Mute = defineServer<null>({ name: 'mute', init: () => null });
    const ref = await system.startOrGet(Mute, 'k');
    await rejectsWith((ref as unknown as { call(m: unknown): Promise<unknown> }).call('x'), 'ACTOR_BAD_SPEC');
    assert.throws(() => (ref as unknown as { cast(m: unknown): boolean }).cast('x'), /define handleCast/);
    assert.throws(() => (ref as unknown as { send(m: unknown): boolean }).send('x'), /define handleInfo/);
  });

  it('rejects a call with a non-positive timeout', async () => {
    const { system } = harness();
    const ref = await system.startOrGet(Counter, 'k');
    await rejectsWith(ref.call({ type: 'get' }, { timeoutMs: 0 }), 'ACTOR_BAD_SPEC');
    await rejectsWith(system.ref(Counter, 'k').call({ type: 'get' }, { timeoutMs: -1 }), 'ACTOR_BAD_SPEC');
  });
});

describe('mailbox bound', () => {
  it('rejects calls and refuses casts and sends beyond the bound instead of growing', async () => {
    const { system, named } = harness();
    const held = gate();
    const Small = defineServer<null, string, string, string, string>({
      name: 'small',
      mailboxLimit: 2,
      init: () => null,
      async handleCall(msg, state) {
        if (msg === 'hold') await held.promise;
        return reply(msg, state);
      },
      handleCast: (_m, s) => noreply(s),
      handleInfo: (_m, s) => noreply(s),
    });
    const ref = await system.startOrGet(Small, 'k');
    const hold = ref.call('hold');
    await flush(); // 'hold' is now in its turn, not in the mailbox
    const a = ref.call('a');
    assert.equal(ref.cast('b'), true);
    const full = await rejectsWith(ref.call('c'), 'ACTOR_MAILBOX_FULL');
    assert.match(full.message, /limit of 2 messages/);
    assert.equal(ref.cast('d'), false);
    assert.equal(ref.send('e'), false);
    assert.equal(named('mailboxFull').length, 3);
    held.open();
    assert.equal(await hold, 'hold');
    assert.equal(await a, 'a');
    assert.equal(await ref.call('after'), 'after');
  });
});

describe('callback results', () => {
  it('crashes on a result that is not reply, noreply or stop, and says what it got', async () => {
    const { system, named } = harness();
    const Sloppy = defineServer<number, string, number, string>({
      name: 'sloppy',
      init: () => 0,
      handleCall: (_m, state) => state as never,
      handleCast: (_m, state) => reply(1, state) as never,
    });
    const call = await rejectsWith(system.ref(Sloppy, 'a').call('x'), 'ACTOR_SERVER_DOWN');
    assert.ok(isTodoLiveError(call.cause, 'ACTOR_BAD_RETURN'));
    assert.match((call.cause as Error).message, /sloppy.handleCall to return reply\(value, state\).*got number 0/);
    system.ref(Sloppy, 'b').cast('x');
    await system.settle();
    const crashed = named('crashed').map((e) => [e.key, (e.error as Error).message]);
    assert.equal(crashed.length, 2);
    assert.match(crashed[1]![1]!, /handleCast to return noreply\(state\) or stop/);
  });

  it('stops after replying when handleCall returns a stop with a reply', async () => {
    const { system, named } = harness();
    const Once = defineServer<null, string, string>({
      name: 'once',
      init: () => null,
      handleCall: (msg, state) => stop({ kind: 'normal', detail: 'done' }, state, `bye ${msg}`),
    });
    const ref = await system.startOrGet(Once, 'k');
    const reasons: StopReason[] = [];
    system.monitor(ref, (r) => reasons.push(r as StopReason));
    assert.equal(await ref.call('x'), 'bye x');
    await system.settle();
    assert.deepEqual(reasons, [{ kind: 'normal', detail: 'done' }]);
    assert.deepEqual(named('stopped').map((e) => e.reason), [{ kind: 'normal', detail: 'done' }]);
    assert.equal(system.lookup(Once, 'k'), undefined);
  });

  it('rejects the call with SERVER_DOWN when a stop carries no reply', async () => {
    const { system } = harness();
    const Quit = defineServer<null, string, string>({ name: 'quit', init: () => null, handleCall: (_m, s) => stop('normal', s) });
    await rejectsWith(system.ref(Quit, 'k').call('x'), 'ACTOR_SERVER_DOWN');
  });
});

describe('init', () => {
  it('receives the key, a context and the start argument', async () => {
    const { system } = harness();
    const seen: unknown[] = [];
    const Echo = defineServer<string, 'get', string, never, never, { greeting: string }>({
      name: 'echo',
      init(key, ctx, arg) {
        seen.push(key, ctx.key, ctx.type, arg);
        return `${arg.greeting} ${key}`;
      },
      handleCall: (_m, s) => reply(s, s),
    });
    const ref = await system.startOrGet(Echo, 'ada', { arg: { greeting: 'hello' } });
    assert.equal(await ref.call('get'), 'hello ada');
    assert.deepEqual(seen, ['ada', 'ada', 'echo', { greeting: 'hello' }]);
  });

  it('rejects the starter and every queued caller with INIT_FAILED, and skips terminate', async () => {
    const { system, named } = harness();
    let terminated = false;
    const Broken = defineServer<null, string, string>({
      name: 'broken',
      init: async () => {
        throw new Error('no database');
      },
      handleCall: (m, s) => reply(m, s),
      terminate: () => {
        terminated = true;
      },
    });
    const ref = system.ref(Broken, 'k');
    const queued = ref.call('x');
    const started = system.startOrGet(Broken, 'k');
    const error = await rejectsWith(started, 'ACTOR_INIT_FAILED');
    assert.match(error.message, /broken.init\("k"\) to return a state, it threw: no database/);
    await rejectsWith(queued, 'ACTOR_INIT_FAILED');
    assert.equal(terminated, false);
    assert.equal(named('crashed').length, 1);
    assert.equal(named('restarting').length, 0, 'a failed first start is not retried by the supervisor');
  });
});

describe('terminate', () => {
  it('runs with the reason and the last state when a server stops', async () => {
    const { system } = harness();
    const calls: [StopReason, number][] = [];
    const Kept = defineServer<number, number, number>({
      name: 'kept',
      init: () => 0,
      handleCall: (n, s) => reply(n, s + n),
      terminate: (reason, state) => {
        calls.push([reason, state]);
      },
    });
    const ref = await system.startOrGet(Kept, 'k');
    await ref.call(7);
    await system.stop(ref, 'shutdown');
    assert.deepEqual(calls, [[{ kind: 'shutdown' }, 7]]);
  });

  it('is bounded in time and reported when it throws or overruns; the server still stops', async () => {
    const { system, clock, named } = harness({ terminateTimeoutMs: 1000 });
    const Hang = defineServer<null>({ name: 'hang', init: () => null, terminate: () => new Promise<void>(() => {}) });
    const Throw = defineServer<null>({
      name: 'throw',
      init: () => null,
      terminate: () => {
        throw new Error('cannot flush');
      },
    });
    await system.stop(await system.startOrGet(Throw, 'k'));
    const hang = await system.startOrGet(Hang, 'k');
    const stopped = track(system.stop(hang));
    await clock.advance(999);
    assert.equal(stopped.done, false);
    await clock.advance(1);
    assert.equal(stopped.done, true);
    const failures = named('terminateFailed').map((e) => [e.type, (e.error as Error).message]);
    assert.deepEqual(failures, [
      ['throw', 'cannot flush'],
      ['hang', 'terminate did not finish within 1000 ms'],
    ]);
  });
});

describe('timers', () => {
  const Ticker = defineServer<string[], 'read', string[], never, string>({
    name: 'ticker',
    init: () => [],
    handleCall: (_m, s) => reply(s, s),
    handleInfo: (msg, s) => noreply([...s, msg]),
  });

  it('delivers sendAfter once and sendInterval every period, as info, until cancelled', async () => {
    const { system, clock } = harness();
    const ref = await system.startOrGet(Ticker, 'k');
    const ctx = ref as unknown as import('../../src/actors/index.js').ServerContext<string>;
    ctx.sendAfter('once', 150);
    const every = ctx.sendInterval('tick', 100);
    await clock.advance(350);
    assert.deepEqual(await ref.call('read'), ['tick', 'once', 'tick', 'tick']);
    assert.equal(ctx.cancelTimer(every), true);
    assert.equal(ctx.cancelTimer(every), false);
    await clock.advance(1000);
    assert.deepEqual(await ref.call('read'), ['tick', 'once', 'tick', 'tick']);
    assert.equal(system.snapshot()[0]!.timers, 0);
  });

  it('clears every timer when the server stops, and a restarted server starts with none', async () => {
    const { system, clock } = harness();
    const Arming = defineServer<null, 'boom', never, never, string>({
      name: 'arming',
      init: (_k, ctx) => {
        ctx.sendInterval('tick', 1000);
        return null;
      },
      handleCall: () => {
        throw new Error('boom');
      },
      handleInfo: (_m, s) => noreply(s),
    });
    const ref = await system.startOrGet(Arming, 'k');
    assert.equal(system.snapshot()[0]!.timers, 1);
    await ref.call('boom').catch(() => {});
    await clock.advance(100); // the restart backoff
    const snap = system.snapshot();
    assert.equal(snap.length, 1);
    assert.equal(snap[0]!.timers, 1, 'only the timer the new init armed');
  });

  it('never queues a second tick of an interval while the first is unhandled', async () => {
    const { system, clock } = harness();
    const held = gate();
    let ticks = 0;
    const Slow = defineServer<null, never, never, never, 'tick'>({
      name: 'slow-ticks',
      init: (_k, ctx) => {
        ctx.sendInterval('tick', 10);
        return null;
      },
      async handleInfo(_m, s) {
        ticks++;
        if (ticks === 1) await held.promise;
        return noreply(s);
      },
    });
    await system.startOrGet(Slow, 'k');
    await clock.advance(100);
    assert.equal(ticks, 1);
    assert.equal(system.snapshot()[0]!.queueLength, 1);
    held.open();
    await system.settle();
    assert.equal(ticks, 2);
  });

  it('refuses a timer on a type without handleInfo, and non-positive intervals', async () => {
    const { system } = harness();
    const ctx = (await system.startOrGet(Counter, 'k')) as unknown as import('../../src/actors/index.js').ServerContext<string>;
    assert.throws(() => ctx.sendInterval('tick', 0), /sendInterval period/);
    const Plain = defineServer<null>({ name: 'plain', init: () => null });
    const plain = (await system.startOrGet(Plain, 'k')) as unknown as import('../../src/actors/index.js').ServerContext<string>;
    assert.throws(() => plain.sendAfter('x', 1), /define handleInfo/);
  });
});

describe('idle timeout', () => {
  const Idle = defineServer<number, 'get', number, 'poke', 'tick'>({
    name: 'idle',
    idleTimeoutMs: 1000,
    init: (_k, ctx) => {
      ctx.sendInterval('tick', 100);
      return 0;
    },
    handleCall: (_m, s) => reply(s, s),
    handleCast: (_m, s) => noreply(s),
    handleInfo: (_m, s) => noreply(s + 1),
  });

  it('stops a server after the timeout without calls or casts, even though its timer ticks', async () => {
    const { system, clock, named } = harness();
    await system.startOrGet(Idle, 'k');
    await clock.advance(999);
    assert.notEqual(system.lookup(Idle, 'k'), undefined);
    await clock.advance(1);
    assert.equal(system.lookup(Idle, 'k'), undefined);
    assert.deepEqual(named('stopped').map((e) => e.reason), [{ kind: 'idle' }]);
  });

  it('does not count info sent from outside as activity', async () => {
    const { system, clock } = harness();
    const ref = system.ref(Idle, 'k');
    await ref.call('get');
    for (let t = 0; t < 1000; t += 250) {
      assert.equal(ref.send('tick'), true);
      await clock.advance(250);
    }
    assert.equal(system.lookup(Idle, 'k'), undefined);
  });

  it('counts calls and casts as activity', async () => {
    const { system, clock } = harness();
    const ref = system.ref(Idle, 'k');
    await ref.call('get');
    await clock.advance(600);
    ref.cast('poke');
    await clock.advance(600);
    await ref.call('get');
    await clock.advance(900);
    assert.notEqual(system.lookup(Idle, 'k'), undefined);
    await clock.advance(100);
    assert.equal(system.lookup(Idle, 'k'), undefined);
  });

  it('is not undone by the supervisor, even for a permanent server', async () => {
    const { system, clock, named } = harness();
    const Permanent = defineServer<number, 'get', number, never, 'tick'>({ ...Idle, name: 'permanent-idle', restart: 'permanent' });
    await system.startOrGet(Permanent, 'k');
    await clock.advance(5000);
    assert.equal(named('restarting').length, 0);
    assert.deepEqual(system.snapshot(), []);
  });

  it('does not stop a server in the middle of a long call, and counts the call until it ends', async () => {
    const { system, clock } = harness();
    const Long = defineServer<null, 'work', string>({
      name: 'long',
      idleTimeoutMs: 100,
      init: () => null,
      async handleCall(_m, s, ctx) {
        await new Promise<void>((resolve) => {
          const wait = (ms: number) => ctx.now() >= 250 ? resolve() : setImmediate(wait, ms);
          wait(0);
        });
        return reply('done', s);
      },
    });
    const call = track(system.ref(Long, 'k').call('work', { timeoutMs: 1000 }));
    for (let t = 0; t < 250; t += 50) await clock.advance(50);
    await system.settle();
    assert.equal(call.value, 'done');
    await clock.advance(99);
    assert.notEqual(system.lookup(Long, 'k'), undefined, 'idle is measured from the end of the call');
    await clock.advance(1);
    assert.equal(system.lookup(Long, 'k'), undefined);
  });

  it('can be changed or turned off by the server', async () => {
    const { system, clock } = harness();
    const ref = await system.startOrGet(Idle, 'k');
    const ctx = ref as unknown as import('../../src/actors/index.js').ServerContext<'tick'>;
    ctx.setIdleTimeout(null);
    await clock.advance(10_000);
    assert.notEqual(system.lookup(Idle, 'k'), undefined);
    ctx.setIdleTimeout(50);
    await clock.advance(50);
    assert.equal(system.lookup(Idle, 'k'), undefined);
  });
});
