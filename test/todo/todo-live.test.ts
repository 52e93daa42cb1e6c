import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type ActorSystem, createSystem } from '../../src/actors/index.js';
import { LocalPubSub } from '../../src/live/index.js';
import { ViewSocketImpl } from '../../src/live/view-socket.js';
import { openSqliteStore, type TodoStore } from '../../src/store/index.js';
import { createTodoLive, TODO_SERVER, type TodoAssigns, TodoService } from '../../src/todo/index.js';
import { makeTempDir } from '../support/temp-dir.js';

const DAY = 24 * 60 * 60 * 1000;
let dir: ReturnType<typeof makeTempDir>;
let system: ActorSystem;
let store: TodoStore;
let service: TodoService;
let pubsub: LocalPubSub;
const view = () => createTodoLive({ backend: service, maxTitleLength: 500 });

before(() => {
  dir = makeTempDir('todo-live');
  system = createSystem();
  store = openSqliteStore({ path: join(dir.path, 'todos.db') });
  pubsub = new LocalPubSub();
  service = new TodoService({
    system,
    store,
    pubsub,
    userIdleMs: 60_000,
    cleanupIntervalMs: 60 * 60_000,
    completedRetentionMs: 30 * DAY,
    userRetentionMs: 365 * DAY,
    maxTitleLength: 500,
    maxTodosPerUser: 100,
    maxResidentUsers: 1,
  });
});

after(async () => {
  await system.shutdown({ drainMs: 500 });
  await store.close();
  dir.remove();
});

async function mount(userId: string, connected: boolean): Promise<ViewSocketImpl<TodoAssigns>> {
  const socket = new ViewSocketImpl<TodoAssigns>({ id: 'phx-test', connected, pubsub, deliver: () => {} });
  await view().mount!({}, { id: userId, data: {} }, socket);
  return socket;
}

const residents = () => system.snapshot().filter((s) => s.type === TODO_SERVER).map((s) => s.key);

describe('TodoLive mount', () => {
  it('renders the first, disconnected page from the committed list without activating the user', async () => {
    await store.apply({ userId: 'reader', opId: 'op-1', mutation: { kind: 'add', title: 'saved' } });
    const socket = await mount('reader', false);
    assert.deepEqual(socket.assigns.list.todos.map((t) => t.title), ['saved']);
    assert.equal(socket.assigns.notice, null);
    assert.deepEqual(residents(), []);
  });

  it("activates the user's server once the page connects", async () => {
    const socket = await mount('active', true);
    assert.equal(socket.assigns.notice, null);
    assert.deepEqual(residents(), ['active']);
  });

  it('shows the saved list with a notice when no more users can be activated, and a change then says it was not saved', async () => {
    await store.apply({ userId: 'late', opId: 'op-1', mutation: { kind: 'add', title: 'still shown' } });
    const socket = await mount('late', true);
    assert.deepEqual(socket.assigns.list.todos.map((t) => t.title), ['still shown']);
    assert.match(socket.assigns.notice ?? '', /changes cannot be saved right now/);
    assert.deepEqual(residents(), ['active']);
    await view().handleEvent!('add', { op: socket.assigns.addOp, title: 'refused' }, socket);
    assert.match(socket.assigns.notice ?? '', /could not be saved/);
    assert.equal(socket.assigns.draft, 'refused', 'the typed title stays');
    assert.deepEqual((await store.load('late')).todos.map((t) => t.title), ['still shown']);
  });
});
