import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type DownReason, type StopReason, createSystem, defineServer, noreply, reply } from '../../src/actors/index.js';
import { Counter, gate, harness, rejectsWith, track } from './fixtures.js';

describe('createSystem', () => {
  it('refuses invalid options', () => {
    assert.throws(() => createSystem({ mailboxLimit: 0 }), /mailboxLimit/);
    assert.throws(() => createSystem({ callTimeoutMs: -1 }), /callTimeoutMs/);
  });

  it('works on real time by default', async () => {
    const system = createSystem();
    const Sleepy = defineServer<null, 'ping', string, never, 'wake'>({
      name: 'sleepy',
      init: () => null,
      handleCall: (_m, s, ctx) => {
        ctx.sendAfter('wake', 5);
        return reply('pong', s);
      },
      handleInfo: (_m, s) => noreply(s),
    });
    assert.equal(await system.ref(Sleepy, 'k').call('ping', { timeoutMs: 1000 }), 'pong');
    await system.shutdown({ drainMs: 100 });
    assert.equal(system.status, 'down');
  });
});

describe('monitor', () => {
  it('fires exactly once with the reason when the instance stops, and not after unsubscribing', async () => {
    const { system, clock } = harness();
    const Idle = defineServer<number, { type: 'get' } | { type: 'boom' }, number>({
      name: 'idle',
      idleTimeoutMs: 100,
      init: () => 0,
      handleCall(msg, s) {
        if (msg.type === 'boom') throw new Error('boom');
        return reply(s, s);
      },
    });
    const reasons: [string, DownReason][] = [];
    const watch = async (key: string) => {
      const ref = await system.startOrGet(Idle, key);
      system.monitor(ref, (r) => reasons.push([key, r]));
      return ref;
    };
    await watch('idle');
    const crashing = await watch('crash');
    const normal = await watch('normal');
    const cancelled = await system.startOrGet(Idle, 'cancelled');
    const unsubscribe = system.monitor(cancelled, () => assert.fail('unsubscribed monitor fired'));
    unsubscribe();
    await system.stop(normal);
    await rejectsWith(crashing.call({ type: 'boom' }), 'ACTOR_SERVER_DOWN');
    await clock.advance(100);
    await system.settle();
    assert.deepEqual(
      reasons.map(([key, r]) => [key, r.kind]),
      [
        ['normal', 'normal'],
        ['crash', 'crash'],
        ['idle', 'idle'],
      ],
    );
    assert.equal(((reasons[1]![1] as StopReason & { error: Error }).error as Error).message, 'boom');
  });

  it('watches the live instance of a lazy ref or a type and key, and reports shutdown', async () => {
    const { system } = harness();
    const ref = system.ref(Counter, 'k');
    await ref.call({ type: 'get' });
    const reasons: string[] = [];
    system.monitor(ref, (r) => reasons.push(`ref ${r.kind}`));
    system.monitor(Counter, 'k', (r) => reasons.push(`key ${r.kind}`));
    await system.shutdown({ drainMs: 10 });
    assert.deepEqual(reasons, ['ref shutdown', 'key shutdown']);
  });

  it('reports noproc at once when nothing is running, unless cancelled first', async () => {
    const { system } = harness();
    const reasons: string[] = [];
    system.monitor(Counter, 'absent', (r) => reasons.push(r.kind));
    system.monitor(system.ref(Counter, 'absent'), (r) => reasons.push(`lazy ${r.kind}`));
    const cancel = system.monitor(Counter, 'absent', () => assert.fail('cancelled'));
    cancel();
    assert.deepEqual(reasons, [], 'never synchronously');
    await Promise.resolve();
    assert.deepEqual(reasons, ['noproc', 'lazy noproc']);
  });

  it('keeps going when a listener throws, and reports the error', async () => {
    const { system, named } = harness();
    const ref = await system.startOrGet(Counter, 'k');
    const heard: string[] = [];
    system.monitor(ref, () => {
      throw new Error('listener broke');
    });
    system.monitor(ref, (r) => heard.push(r.kind));
    await system.stop(ref);
    assert.deepEqual(heard, ['normal']);
    assert.equal((named('listenerError')[0]!.error as Error).message, 'listener broke');
  });

  it('fires a monitor on an instance that already stopped with its reason', async () => {
    const { system } = harness();
    const ref = await system.startOrGet(Counter, 'k');
    await system.stop(ref, 'shutdown');
    const reason = await new Promise<DownReason>((resolve) => system.monitor(ref, resolve));
    assert.equal(reason.kind, 'shutdown');
  });
});

describe('shutdown', () => {
  it('refuses new work at once, drains queued work, then terminates every server', async () => {
    const { system } = harness();
    const held = gate();
    const terminated: string[] = [];
    const Worker = defineServer<number, 'slow' | 'get', number>({
      name: 'worker',
      init: () => 0,
      async handleCall(msg, s) {
        if (msg === 'slow') await held.promise;
        return reply(s + 1, s + 1);
      },
      terminate: (reason, state, ctx) => {
        terminated.push(`${ctx.key}:${reason.kind}:${state}`);
      },
    });
    const a = system.ref(Worker, 'a');
    const b = system.ref(Worker, 'b');
    await b.call('get');
    const slow = a.call('slow');
    const queued = a.call('get');
    await new Promise((resolve) => setImmediate(resolve));
    const done = system.shutdown({ drainMs: 5000 });
    assert.equal(system.status, 'draining');
    await rejectsWith(a.call('get'), 'ACTOR_SHUTTING_DOWN');
    await rejectsWith(system.startOrGet(Worker, 'c'), 'ACTOR_SHUTTING_DOWN');
    held.open();
    assert.equal(await slow, 1);
    assert.equal(await queued, 2);
    await done;
    assert.deepEqual(terminated.sort(), ['a:shutdown:2', 'b:shutdown:1']);
    assert.equal(system.status, 'down');
    assert.deepEqual(system.snapshot(), []);
    assert.equal(system.shutdown(), done, 'idempotent');
  });

  it('rejects what is still queued when the drain deadline passes', async () => {
    const { system, clock } = harness({ terminateTimeoutMs: 1000 });
    const never = gate();
    const Stuck = defineServer<null, string, string>({
      name: 'stuck',
      init: () => null,
      async handleCall(msg, s) {
        if (msg === 'hang') await never.promise;
        return reply(msg, s);
      },
    });
    const ref = system.ref(Stuck, 'k');
    const hang = track(ref.call('hang', { timeoutMs: Number.POSITIVE_INFINITY }));
    const behind = track(ref.call('behind', { timeoutMs: Number.POSITIVE_INFINITY }));
    await new Promise((resolve) => setImmediate(resolve));
    const done = track(system.shutdown({ drainMs: 500 }));
    await clock.advance(500);
    assert.equal(done.done, false, 'waits for the turn under way, within its bound');
    await clock.advance(2000);
    assert.equal(done.done, true);
    assert.equal((hang.error as { code?: string }).code, 'ACTOR_SHUTTING_DOWN');
    assert.equal((behind.error as { code?: string }).code, 'ACTOR_SHUTTING_DOWN');
  });

  it('lets servers call each other while draining', async () => {
    const { system } = harness();
    const held = gate();
    const Front = defineServer<null, 'go', number>({
      name: 'front',
      init: () => null,
      async handleCall(_m, s) {
        await held.promise;
        return reply(await system.ref(Counter, 'back').call({ type: 'add', n: 1 }), s);
      },
    });
    await system.ref(Counter, 'back').call({ type: 'get' });
    const answer = system.ref(Front, 'f').call('go');
    await new Promise((resolve) => setImmediate(resolve));
    const done = system.shutdown();
    held.open();
    assert.equal(await answer, 1);
    await done;
  });

  it('does not restart servers that crash while draining, and drops pending restarts', async () => {
    const { system, named } = harness();
    const ref = system.ref(Counter, 'k');
    await rejectsWith(ref.call({ type: 'boom' }), 'ACTOR_SERVER_DOWN');
    assert.deepEqual(system.snapshot().map((s) => s.status), ['backoff']);
    await system.shutdown({ drainMs: 10 });
    assert.deepEqual(system.snapshot(), []);
    assert.equal(named('started').length, 1);
  });
});

describe('snapshot', () => {
  it('lists every live server with its status, queue, uptime, idle time, restarts, timers and last error', async () => {
    const { system, clock } = harness();
    const held = gate();
    const Busy = defineServer<null, string, string, never, string>({
      name: 'busy',
      init: (_k, ctx) => {
        ctx.sendInterval('tick', 10_000);
        return null;
      },
      async handleCall(msg, s) {
        await held.promise;
        return reply(msg, s);
      },
      handleInfo: (_m, s) => noreply(s),
    });
    const ref = await system.startOrGet(Busy, 'k');
    await clock.advance(1000);
    const first = ref.call('a');
    const second = ref.call('b');
    await clock.advance(500);
    assert.deepEqual(system.snapshot(), [
      {
        type: 'busy',
        key: 'k',
        id: 1,
        status: 'running',
        supervisor: 'root',
        queueLength: 1,
        pendingReplies: 0,
        uptimeMs: 1500,
        idleMs: 500,
        restarts: 0,
        timers: 1,
      },
    ]);
    held.open();
    await Promise.all([first, second]);
  });
});

describe('events', () => {
  it('reports starts, crashes with dropped casts, restarts and stops in order', async () => {
    const { system, clock, events } = harness();
    const held = gate();
    const Crashy = defineServer<null, 'boom', never, 'noop'>({
      name: 'crashy',
      init: () => null,
      async handleCall() {
        await held.promise;
        throw new Error('boom');
      },
      handleCast: (_m, s) => noreply(s),
    });
    const ref = system.ref(Crashy, 'k');
    const call = ref.call('boom');
    ref.cast('noop');
    ref.cast('noop');
    held.open();
    await rejectsWith(call, 'ACTOR_SERVER_DOWN');
    await clock.advance(100);
    assert.deepEqual(
      events.map(([name, e]) => {
        const { type, key, ...rest } = e as Record<string, unknown>;
        void type;
        void key;
        if ('error' in rest) rest.error = (rest.error as Error).message;
        if ('reason' in rest) rest.reason = (rest.reason as StopReason).kind;
        return [name, rest];
      }),
      [
        ['started', { id: 1, restarts: 0 }],
        ['crashed', { id: 1, error: 'boom', droppedCasts: 2 }],
        ['stopped', { id: 1, reason: 'crash', uptimeMs: 0 }],
        ['restarting', { delayMs: 100, attempt: 1 }],
        ['started', { id: 2, restarts: 1 }],
      ],
    );
  });

  it('unsubscribes', async () => {
    const { system } = harness();
    let heard = 0;
    const off = system.on('started', () => heard++);
    await system.startOrGet(Counter, 'a');
    off();
    await system.startOrGet(Counter, 'b');
    assert.equal(heard, 1);
  });
});

describe('settle', () => {
  it('resolves once every mailbox is empty and no handler runs', async () => {
    const { system } = harness();
    const ref = system.ref(Counter, 'k');
    for (let i = 0; i < 100; i++) ref.cast({ type: 'add', n: 1 });
    await system.settle();
    assert.deepEqual(system.snapshot().map((s) => s.queueLength), [0]);
    assert.equal(await ref.call({ type: 'get' }), 100);
  });
});
