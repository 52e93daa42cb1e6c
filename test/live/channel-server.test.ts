import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { type ActorSystem, createManualClock, createSystem } from '../../src/actors/index.js';
import { liveViewServer, type ViewOwner, type ViewStartArg, ViewServers } from '../../src/live/channel-server.js';
import { LiveRouter } from '../../src/live/router.js';
import { fixtureRoutes, shelfStore } from '../fixtures/views/index.js';

const router = new LiveRouter(fixtureRoutes);
type Sent = [string | null, string | null, string, string, Record<string, unknown>];

let system: ActorSystem;
beforeEach(() => {
  system = createSystem();
});
afterEach(async () => {
  await system.shutdown({ drainMs: 100 });
});

function start(path: string, onDown: (crashed: boolean) => void = () => {}, options: { hibernateAfterMs?: number } = {}) {
  const url = new URL(`http://host${path}`);
  const match = router.match(url)!;
  const sent: Sent[] = [];
  const arg: ViewStartArg = {
    id: 'phx-x',
    topic: 'lv:phx-x',
    joinRef: '1',
    joinPushRef: '1',
    route: match.route,
    router,
    url: url.href,
    params: match.params,
    session: { id: 's', data: {} },
  };
  const owner: ViewOwner = {
    sendFrame: (text) => sent.push(JSON.parse(text) as Sent),
    viewDown: (_handle, crashed) => onDown(crashed),
  };
  const handle = new ViewServers(system, options).start(arg, owner);
  return { handle, sent };
}

const views = () => system.snapshot().filter((s) => s.type === liveViewServer.name).length;

describe('ViewServers', () => {
  it('answers the join and pushes from the view server, in order', async () => {
    const { handle, sent } = start('/counter');
    handle.push({ kind: 'event', ref: '2', payload: { type: 'click', event: 'inc', value: {} } });
    handle.push({ kind: 'event', ref: '3', payload: { type: 'click', event: 'inc', value: {} } });
    await handle.settled();
    assert.deepEqual(sent.map((f) => f[1]), ['1', '2', '3']);
    assert.equal(views(), 1);
  });

  it('reports a crash once, as a crash', async () => {
    const downs: boolean[] = [];
    const { handle, sent } = start('/crash', (c) => downs.push(c));
    handle.push({ kind: 'event', ref: '2', payload: { type: 'click', event: 'boom', value: {} } });
    await handle.settled();
    await system.settle();
    assert.deepEqual(downs, [true]);
    assert.deepEqual(sent.at(-1)?.[4], { status: 'ok', response: {} });
    assert.equal(views(), 0);
  });

  it('reports a leave and a stop as clean, and runs the view terminate', async () => {
    const downs: boolean[] = [];
    const a = start('/counter', (c) => downs.push(c));
    a.handle.push({ kind: 'leave', ref: '2' });
    const b = start('/counter', (c) => downs.push(c));
    await b.handle.settled();
    b.handle.stop('closed');
    await a.handle.settled();
    for (let i = 0; i < 50 && downs.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(downs, [false, false]);
    assert.equal(views(), 0);
  });

  it('answers the join with join crashed when the runtime refuses to start the view', async () => {
    await system.shutdown({ drainMs: 10 });
    const downs: boolean[] = [];
    const { handle, sent } = start('/counter', (c) => downs.push(c));
    await handle.settled();
    assert.deepEqual(sent, [['1', '1', 'lv:phx-x', 'phx_reply', { status: 'error', response: { reason: 'join crashed' } }]]);
    assert.deepEqual(downs, [false]);
  });

  it('hibernates a view after the idle time without a message, not before, and wakes it on the next one', async () => {
    await system.shutdown({ drainMs: 10 });
    const clock = createManualClock(0);
    system = createSystem({ clock });
    shelfStore.reset();
    shelfStore.books.set('s', [{ id: '1', title: 'Dune' }]);
    const { handle, sent } = start('/shelf', () => {}, { hibernateAfterMs: 1_000 });
    await handle.settled();
    const note = (ref: string, text: string) => handle.push({ kind: 'event', ref, payload: { type: 'click', event: 'note', value: { text } } });

    // Activity keeps it awake: a message every 600 ms, for 3 s.
    for (let i = 0; i < 5; i++) {
      await clock.advance(600);
      note(String(i + 2), `n${i}`);
      await handle.settled();
    }
    assert.equal(shelfStore.hibernations, 0);
    await clock.advance(999);
    assert.equal(shelfStore.hibernations, 0);
    await clock.advance(1);
    assert.equal(shelfStore.hibernations, 1, 'hibernated once the full idle time passed');
    await clock.advance(10_000);
    assert.equal(shelfStore.hibernations, 1, 'and no timer keeps firing while it sleeps');
    assert.equal(clock.pending(), 0);

    const loads = shelfStore.loads;
    note('9', 'awake');
    await handle.settled();
    assert.equal(shelfStore.loads, loads + 1);
    const reply = sent.at(-1)![4] as { response: { diff: { s?: unknown } } };
    assert.ok(Array.isArray(reply.response.diff.s));
    await clock.advance(1_000);
    assert.equal(shelfStore.hibernations, 2, 'sleeps again after the next idle period');
  });
});
