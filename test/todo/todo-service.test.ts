import assert from 'node:assert/strict';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { type ActorSystem, createSystem } from '../../src/actors/index.js';
import { ErrorCodes, isTodoLiveError } from '../../src/errors.js';
import { LocalPubSub } from '../../src/live/index.js';
import { openSqliteStore, type TodoStore } from '../../src/store/index.js';
import { TODO_SERVER, type TodoFaults, TodoService, type TodoServiceOptions } from '../../src/todo/index.js';
import { makeTempDir } from '../support/temp-dir.js';

const DAY = 24 * 60 * 60 * 1000;

interface Harness {
  system: ActorSystem;
  store: TodoStore;
  service: TodoService;
  /** Store calls per method name, in order. */
  calls: string[];
}

let dir: ReturnType<typeof makeTempDir>;
let harnesses: Harness[];

beforeEach(() => {
  dir = makeTempDir('todo-service');
  harnesses = [];
});

afterEach(async () => {
  for (const h of harnesses) {
    await h.system.shutdown({ drainMs: 500 });
    await h.store.close();
  }
  dir.remove();
});

function build(options: Partial<Pick<TodoServiceOptions, 'maxResidentUsers'>> & { faults?: TodoFaults } = {}): Harness {
  const system = createSystem();
  const raw = openSqliteStore({ path: join(dir.path, `todos-${harnesses.length}.db`) });
  const calls: string[] = [];
  // Records which store methods run; everything else is the real store.
  const store = new Proxy(raw, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls.push(String(prop));
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  const service = new TodoService({
    system,
    store,
    pubsub: new LocalPubSub(),
    userIdleMs: 60_000,
    cleanupIntervalMs: 60 * 60_000,
    completedRetentionMs: 30 * DAY,
    userRetentionMs: 365 * DAY,
    maxTitleLength: 500,
    maxTodosPerUser: 100,
    ...options,
  });
  const h = { system, store: raw, service, calls };
  harnesses.push(h);
  return h;
}

const userServers = (system: ActorSystem) => system.snapshot().filter((s) => s.type === TODO_SERVER).length;

describe('TodoService.peek', () => {
  it('reads the committed list without starting a server or writing anything', async () => {
    const h = build();
    await h.store.apply({ userId: 'u1', opId: 'op-1', mutation: { kind: 'add', title: 'stored' } });
    h.calls.length = 0;
    const list = await h.service.peek('u1');
    assert.deepEqual(list.todos.map((t) => t.title), ['stored']);
    const unknown = await h.service.peek('never-seen');
    assert.equal(unknown.version, 0);
    assert.deepEqual(unknown.todos, []);
    assert.equal(userServers(h.system), 0);
    assert.deepEqual(h.calls, ['load', 'load'], 'only reads reached the store');
  });

  it("answers from the resident server's cache once the user is active", async () => {
    const h = build();
    await h.service.command('u1', { opId: 'op-1', mutation: { kind: 'add', title: 'cached' } });
    assert.equal(userServers(h.system), 1);
    h.calls.length = 0;
    const list = await h.service.peek('u1');
    assert.deepEqual(list.todos.map((t) => t.title), ['cached']);
    assert.deepEqual(h.calls, [], 'the store was not asked');
  });

  it('runs the load fault hook, as a page load through the server would', async () => {
    const h = build({
      faults: {
        beforeLoad() {
          throw new Error('injected');
        },
      },
    });
    await assert.rejects(h.service.peek('u1'), /injected/);
  });
});

describe('TodoService resident users', () => {
  it('starts a server and records the user on load, and refuses one beyond maxResidentUsers with ACTOR_UNAVAILABLE', async () => {
    const h = build({ maxResidentUsers: 2 });
    await h.service.load('a');
    await h.service.load('b');
    assert.ok(h.calls.includes('touch'), 'activating a user records it as seen');
    await assert.rejects(h.service.load('c'), (err) => isTodoLiveError(err, ErrorCodes.ACTOR_UNAVAILABLE));
    await assert.rejects(
      h.service.command('c', { opId: 'op-c', mutation: { kind: 'add', title: 'no room' } }),
      (err) => isTodoLiveError(err, ErrorCodes.ACTOR_UNAVAILABLE),
    );
    assert.equal(userServers(h.system), 2);
    assert.equal((await h.store.version('c')), 0, 'nothing stored for the refused user');
    assert.deepEqual((await h.service.peek('c')).todos, [], 'a refused user can still be read');
    // Once a resident user leaves, another may come in.
    const b = h.system.lookup(h.service.todoServer, 'b');
    assert.ok(b !== undefined);
    await h.system.stop(b);
    assert.deepEqual((await h.service.command('c', { opId: 'op-c', mutation: { kind: 'add', title: 'room now' } })).ok, true);
  });
});
