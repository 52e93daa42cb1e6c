import assert from 'node:assert/strict';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { type ActorSystem, createManualClock, createSystem, type ManualClock } from '../../src/actors/index.js';
import { isTodoLiveError } from '../../src/errors.js';
import { LocalPubSub } from '../../src/live/index.js';
import { openSqliteStore, type TodoList, type TodoStore } from '../../src/store/index.js';
import { type CommandOutcome, type TodoFaults, TodoService, type TodosChanged, userTopic } from '../../src/todo/index.js';
import { makeTempDir } from '../support/temp-dir.js';

const DAY = 24 * 60 * 60 * 1000;
const IDLE_MS = 60_000;
const CLEANUP_MS = 10 * 60_000;

interface Harness {
  clock: ManualClock;
  system: ActorSystem;
  store: TodoStore;
  pubsub: LocalPubSub;
  service: TodoService;
  /** Wall-clock time the store stamps rows with; tests move it by hand. */
  wall: { now: number };
  dbPath: string;
  /** Calls of `store.load`, per user: every server start loads once. */
  loads: Map<string, number>;
  /** Events in order: `commit:<opId>` when the store resolved an apply. */
  log: string[];
}

let dir: ReturnType<typeof makeTempDir>;
let h: Harness;

function build(options: { faults?: TodoFaults; storeOverride?: (store: TodoStore) => TodoStore; dbName?: string } = {}): Harness {
  const clock = createManualClock(0);
  const system = createSystem({ clock, random: () => 0.5 });
  const wall = { now: Date.UTC(2026, 0, 1) };
  const dbPath = join(dir.path, options.dbName ?? 'todos.db');
  const raw = openSqliteStore({ path: dbPath, now: () => wall.now, limits: { maxTodosPerUser: 3 } });
  const loads = new Map<string, number>();
  const log: string[] = [];
  const recorded = wrapStore(raw, {
    load: (userId) => {
      loads.set(userId, (loads.get(userId) ?? 0) + 1);
      return raw.load(userId);
    },
    apply: async (request) => {
      const result = await raw.apply(request);
      log.push(`commit:${request.opId}`);
      return result;
    },
  });
  const store = options.storeOverride === undefined ? recorded : options.storeOverride(recorded);
  const pubsub = new LocalPubSub();
  const service = new TodoService({
    system,
    store,
    pubsub,
    userIdleMs: IDLE_MS,
    cleanupIntervalMs: CLEANUP_MS,
    completedRetentionMs: 30 * DAY,
    userRetentionMs: 365 * DAY,
    maxTitleLength: 500,
    maxTodosPerUser: 3,
    ...(options.faults === undefined ? {} : { faults: options.faults }),
  });
  return { clock, system, store: raw, pubsub, service, wall, dbPath, loads, log };
}

/** The store with some methods replaced; the rest delegate to it (its fields are private). */
function wrapStore(store: TodoStore, overrides: Partial<Pick<TodoStore, 'load' | 'apply'>>): TodoStore {
  return {
    kind: store.kind,
    limits: store.limits,
    load: overrides.load ?? ((u) => store.load(u)),
    version: (u) => store.version(u),
    apply: overrides.apply ?? ((r) => store.apply(r)),
    touch: (u) => store.touch(u),
    cleanup: (o) => store.cleanup(o),
    subscribe: (l) => store.subscribe(l),
    close: () => store.close(),
  };
}

async function teardown(x: Harness): Promise<void> {
  x.service.stop();
  await x.system.shutdown({ drainMs: 10 });
  await x.store.close().catch(() => {});
}

const add = (userId: string, title: string, opId = `op-${title.replace(/\W/g, '')}-${Math.random().toString(36).slice(2, 10)}`) =>
  h.service.command(userId, { opId, mutation: { kind: 'add', title } });

function expectOk(outcome: CommandOutcome): TodoList {
  assert.equal(outcome.ok, true, outcome.ok ? '' : outcome.message);
  return outcome.list;
}

function todoServers(system: ActorSystem): string[] {
  return system.snapshot().filter((s) => s.type === 'todo-user').map((s) => s.key);
}

beforeEach(async () => {
  dir = makeTempDir('todo-server');
  h = build();
  await h.service.start();
});

afterEach(async () => {
  await teardown(h);
  dir.remove();
});

describe('TodoServer', () => {
  it('answers a command only after the store committed it, and the todo survives a reopen', async () => {
    let replied = false;
    const pending = add('alice', 'Buy milk', 'op-buy-milk-1').then((o) => {
      h.log.push('reply');
      replied = true;
      return o;
    });
    const list = expectOk(await pending);
    assert.ok(replied);
    assert.deepEqual(h.log, ['commit:op-buy-milk-1', 'reply']);
    assert.equal(list.version, 1);
    assert.deepEqual(
      list.todos.map((t) => t.title),
      ['Buy milk'],
    );
    await teardown(h);
    const reopened = openSqliteStore({ path: h.dbPath });
    try {
      const stored = await reopened.load('alice');
      assert.deepEqual(
        stored.todos.map((t) => [t.id, t.title, t.completed]),
        [[list.todos[0]!.id, 'Buy milk', false]],
      );
    } finally {
      await reopened.close();
    }
    h = build({ dbName: 'other.db' });
    await h.service.start();
  });

  it('never answers while the store has not committed', async () => {
    await teardown(h);
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    h = build({
      dbName: 'gated.db',
      storeOverride: (store) =>
        wrapStore(store, {
          apply: async (r) => {
            await gate;
            return store.apply(r);
          },
        }),
    });
    await h.service.start();
    let settled = false;
    const pending = add('alice', 'Slow').finally(() => {
      settled = true;
    });
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    assert.equal(settled, false);
    release();
    expectOk(await pending);
  });

  it('publishes the committed list to every view of the user after each change', async () => {
    const heard: TodosChanged[] = [];
    const otherUser: unknown[] = [];
    h.pubsub.subscribe(userTopic('alice'), (m) => heard.push(m as TodosChanged));
    h.pubsub.subscribe(userTopic('bob'), (m) => otherUser.push(m));
    const first = expectOk(await add('alice', 'One'));
    const id = first.todos[0]!.id;
    expectOk(await h.service.command('alice', { opId: 'op-toggle-1', mutation: { kind: 'set_completed', id, completed: true } }));
    await h.system.settle();
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(
      heard.map((m) => [m.type, m.list.version, m.list.todos.map((t) => t.completed)]),
      [
        ['todos', 1, [false]],
        ['todos', 2, [true]],
      ],
    );
    assert.deepEqual(otherUser, []);
  });

  it("leaves the sending view out of its own change's broadcast; the user's other views hear it", async () => {
    const sender: unknown[] = [];
    const sibling: TodosChanged[] = [];
    const senderSink = (m: unknown) => sender.push(m);
    h.pubsub.subscribe(userTopic('alice'), senderSink);
    h.pubsub.subscribe(userTopic('alice'), (m) => sibling.push(m as TodosChanged));
    const answer = expectOk(await h.service.command('alice', { opId: 'op-from-1', mutation: { kind: 'add', title: 'Mine' }, from: senderSink }));
    await h.system.settle();
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(answer.todos.map((t) => t.title), ['Mine'], 'the sender has the list in its answer');
    assert.deepEqual(sender, []);
    assert.deepEqual(
      sibling.map((m) => m.list.todos.map((t) => t.title)),
      [['Mine']],
    );
  });

  it('refuses empty and too-long titles, unknown ids and a full list, storing nothing', async () => {
    const empty = await add('alice', '   ');
    assert.equal(empty.ok, false);
    assert.equal(!empty.ok && empty.reason, 'empty_title');
    const long = await add('alice', 'x'.repeat(501));
    assert.equal(!long.ok && long.reason, 'title_too_long');
    assert.match(!long.ok ? long.message : '', /at most 500 characters.*501/);
    const missing = await h.service.command('alice', { opId: 'op-missing-1', mutation: { kind: 'delete', id: 999 } });
    assert.equal(!missing.ok && missing.reason, 'not_found');
    for (const t of ['a', 'b', 'c']) expectOk(await add('alice', t));
    const full = await add('alice', 'd');
    assert.equal(!full.ok && full.reason, 'list_full');
    const stored = await h.store.load('alice');
    assert.equal(stored.version, 3);
    assert.deepEqual(
      stored.todos.map((t) => t.title),
      ['a', 'b', 'c'],
    );
  });

  it("answers a change the store's own checks refuse, without crashing", async () => {
    const list = expectOk(await add('alice', 'a'));
    const refused = await h.service.command('alice', { opId: 'op-move-far-1', mutation: { kind: 'move', id: list.todos[0]!.id, toIndex: 5 } });
    assert.equal(!refused.ok && refused.reason, 'invalid');
    assert.deepEqual(todoServers(h.system), ['alice']);
    assert.equal(h.loads.get('alice'), 1, 'the same instance, never restarted');
  });

  it('stores titles trimmed and normalised, with emoji and markup kept as text', async () => {
    const list = expectOk(await add('alice', '  cafe\u0301 <b>&</b> 🧑‍🚀\n '));
    assert.equal(list.todos[0]!.title, 'caf\u00e9 <b>&</b> 🧑‍🚀');
    assert.equal((await h.store.load('alice')).todos[0]!.title, 'caf\u00e9 <b>&</b> 🧑‍🚀');
  });

  it('answers a retried add that filled the list as the success it was', async () => {
    for (const t of ['a', 'b']) expectOk(await add('alice', t));
    expectOk(await add('alice', 'c', 'op-last-slot-1'));
    const retry = await add('alice', 'c', 'op-last-slot-1');
    assert.equal(retry.ok && retry.duplicate, true);
    assert.equal(expectOk(retry).todos.length, 3);
  });

  it('applies a retried command with the same operation id once', async () => {
    const first = expectOk(await add('alice', 'Once', 'op-retry-0001'));
    const again = await add('alice', 'Once', 'op-retry-0001');
    assert.equal(again.ok && again.duplicate, true);
    assert.equal(expectOk(again).todos.length, 1);
    assert.equal((await h.store.load('alice')).version, first.version);
  });

  it('stops after the idle period and reloads the same list on the next command', async () => {
    expectOk(await add('alice', 'Keep me'));
    assert.deepEqual(todoServers(h.system), ['alice']);
    assert.equal(h.loads.get('alice'), 1);
    await h.clock.advance(IDLE_MS - 1);
    assert.deepEqual(todoServers(h.system), ['alice'], 'still running just before the idle period ends');
    await h.clock.advance(2);
    assert.deepEqual(todoServers(h.system), [], 'stopped once idle');
    const list = await h.service.load('alice');
    assert.deepEqual(
      list.todos.map((t) => t.title),
      ['Keep me'],
    );
    assert.equal(h.loads.get('alice'), 2, 'started again, loading from the store');
  });

  it('is kept alive by commands, not by the cleanup timer', async () => {
    expectOk(await add('alice', 'a'));
    await h.clock.advance(IDLE_MS / 2);
    expectOk(await add('alice', 'b'));
    await h.clock.advance(IDLE_MS / 2 + 1);
    assert.deepEqual(todoServers(h.system), ['alice'], 'the second command restarted the idle period');
    await h.clock.advance(IDLE_MS);
    assert.deepEqual(todoServers(h.system), []);
  });

  it('runs the cleanup on its timer and updates the views of affected users', async () => {
    const list = expectOk(await add('alice', 'Done long ago'));
    expectOk(await add('alice', 'Still to do'));
    const doneId = list.todos[0]!.id;
    expectOk(await h.service.command('alice', { opId: 'op-complete-1', mutation: { kind: 'set_completed', id: doneId, completed: true } }));
    const heard: TodosChanged[] = [];
    h.pubsub.subscribe(userTopic('alice'), (m) => heard.push(m as TodosChanged));

    h.wall.now += 31 * DAY;
    await h.clock.advance(CLEANUP_MS - 1);
    assert.equal((await h.store.load('alice')).todos.length, 2, 'nothing removed before the interval');
    await h.clock.advance(1);
    await h.system.settle();
    const stored = await h.store.load('alice');
    assert.deepEqual(
      stored.todos.map((t) => t.title),
      ['Still to do'],
    );
    for (let i = 0; i < 50 && heard.length === 0; i++) await new Promise((r) => setImmediate(r));
    assert.deepEqual(
      heard.at(-1)?.list.todos.map((t) => t.title),
      ['Still to do'],
      'the running server reloaded and told the views',
    );
    const viaServer = await h.service.load('alice');
    assert.equal(viaServer.version, stored.version);
  });

  it('tells the views about a commit made elsewhere while the user is active', async () => {
    expectOk(await add('alice', 'mine'));
    const heard: TodosChanged[] = [];
    h.pubsub.subscribe(userTopic('alice'), (m) => heard.push(m as TodosChanged));
    await h.store.apply({ userId: 'alice', opId: 'op-other-node-1', mutation: { kind: 'add', title: 'from another node' } });
    for (let i = 0; i < 50 && heard.length === 0; i++) await new Promise((r) => setImmediate(r));
    assert.deepEqual(
      heard.at(-1)?.list.todos.map((t) => t.title),
      ['mine', 'from another node'],
    );
    assert.equal(h.loads.get('alice'), 2, 'the running server reloaded once');
  });

  it('runs the cleanup on demand and reports what it removed', async () => {
    const list = expectOk(await add('alice', 'old and done'));
    expectOk(await h.service.command('alice', { opId: 'op-complete-3', mutation: { kind: 'set_completed', id: list.todos[0]!.id, completed: true } }));
    h.wall.now += 31 * DAY;
    const result = await h.service.runCleanup();
    assert.equal(result.todosDeleted, 1);
    assert.equal(result.usersDeleted, 0);
  });

  it('keeps completed todos younger than the retention', async () => {
    const list = expectOk(await add('alice', 'Done recently'));
    expectOk(await h.service.command('alice', { opId: 'op-complete-2', mutation: { kind: 'set_completed', id: list.todos[0]!.id, completed: true } }));
    h.wall.now += 29 * DAY;
    await h.clock.advance(CLEANUP_MS);
    await h.system.settle();
    assert.equal((await h.store.load('alice')).todos.length, 1);
  });

  it('restarts a crashed server with the committed state, and other users never notice', async () => {
    await teardown(h);
    const faults: TodoFaults = {
      beforeCommand(userId, command) {
        if (userId === 'alice' && command.mutation.kind === 'add' && command.mutation.title === 'boom') throw new Error('injected fault');
      },
    };
    h = build({ faults, dbName: 'crash.db' });
    await h.service.start();
    expectOk(await add('alice', 'before'));
    expectOk(await add('bob', 'bob 1'));
    const crashed = await add('alice', 'boom').then(
      () => null,
      (err: unknown) => err,
    );
    assert.ok(isTodoLiveError(crashed, 'ACTOR_SERVER_DOWN'), `expected ACTOR_SERVER_DOWN, got ${String(crashed)}`);
    expectOk(await add('bob', 'bob 2'));
    await h.clock.advance(1000);
    const after = await h.service.load('alice');
    assert.deepEqual(
      after.todos.map((t) => t.title),
      ['before'],
    );
    assert.ok((h.loads.get('alice') ?? 0) >= 2, 'the new instance loaded from the store');
    expectOk(await add('alice', 'after'));
    assert.deepEqual(
      (await h.service.load('bob')).todos.map((t) => t.title),
      ['bob 1', 'bob 2'],
    );
  });

  it('reloads and retries once when another writer moved the version', async () => {
    expectOk(await add('alice', 'mine'));
    await h.store.apply({ userId: 'alice', opId: 'op-elsewhere-1', mutation: { kind: 'add', title: 'from elsewhere' } });
    const list = expectOk(await add('alice', 'mine again'));
    assert.deepEqual(
      list.todos.map((t) => t.title),
      ['mine', 'from elsewhere', 'mine again'],
    );
  });

  it('validates again against the reloaded list after a conflict', async () => {
    const list = expectOk(await add('alice', 'shared'));
    const id = list.todos[0]!.id;
    await h.store.apply({ userId: 'alice', opId: 'op-elsewhere-2', mutation: { kind: 'delete', id } });
    const rename = await h.service.command('alice', { opId: 'op-rename-1', mutation: { kind: 'rename', id, title: 'renamed' } });
    assert.equal(!rename.ok && rename.reason, 'not_found');
    assert.deepEqual(rename.list.todos, []);
  });
});
