import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import type { TodoFaults } from '../../src/todo/index.js';
import { type StartedApp, startApp } from '../support/start-app.js';
import { makeTempDir } from '../support/temp-dir.js';
import { TodoTab } from '../support/todo-tab.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function start(options: Parameters<typeof startApp>[0] = {}): Promise<StartedApp> {
  const app = await startApp(options);
  cleanups.push(async () => {
    if (!app.app.draining) await app.stop();
  });
  return app;
}

async function open(url: string, path = '/', jarFrom?: TodoTab): Promise<TodoTab> {
  const tab = jarFrom === undefined ? await TodoTab.open(url, path) : await jarFrom.sibling(path);
  cleanups.push(() => tab.close().catch(() => {}));
  return tab;
}

describe('tabs of one user', () => {
  it('every change in one tab shows up in the others, whatever their filter', async () => {
    const app = await start();
    cleanups.push(() => app.remove());
    const a = await open(app.url);
    const b = await open(app.url, '/', a);
    const c = await open(app.url, '/completed', a);
    await a.add('shared');
    await b.until((t) => t.titles().includes('shared'), 'tab b to see the new todo');
    await b.toggle('shared');
    await a.until((t) => t.todos()[0]?.completed === true, 'tab a to see the toggle');
    await c.until((t) => t.titles().includes('shared'), 'the completed filter to list it');
    await c.edit('shared');
    await c.saveWithEnter('renamed');
    await a.until((t) => t.titles()[0] === 'renamed', 'tab a to see the rename');
    await b.until((t) => t.titles()[0] === 'renamed', 'tab b to see the rename');
    await a.clearCompleted();
    await b.until((t) => t.titles().length === 0, 'tab b to see the clear');
    await c.until((t) => t.titles().length === 0, 'tab c to see the clear');
    assert.equal(b.counter(), null, 'main and footer are gone everywhere');
  });

  it('two users on the same server never see each other', async () => {
    const app = await start();
    cleanups.push(() => app.remove());
    const alice = await open(app.url);
    const bob = await open(app.url);
    await alice.add('alice only');
    await bob.add('bob only');
    await bob.toggleAll();
    await alice.add('alice again');
    assert.deepEqual(alice.titles(), ['alice only', 'alice again']);
    assert.deepEqual(bob.titles(), ['bob only']);
    assert.equal(alice.todos().some((t) => t.completed), false);
    const bobId = bob.idOf('bob only');
    const reply = await alice.client.click('destroy', { id: String(bobId) });
    assert.equal(reply.status, 'ok');
    const bobAgain = await open(app.url, '/', bob);
    assert.deepEqual(bobAgain.titles(), ['bob only'], "alice cannot delete bob's todo by id");
  });
});

describe('identity', () => {
  it("a page token of one user does not join on another user's socket", async () => {
    const app = await start();
    cleanups.push(() => app.remove());
    const alice = await open(app.url);
    await alice.add('private to alice');
    const { LiveClient } = await import('../support/live-client.js');
    const mallory = await LiveClient.open(app.url, '/');
    cleanups.push(() => mallory.close().catch(() => {}));
    const reply = await mallory.join({ session: alice.client.page.session, topic: `lv:${alice.client.page.viewId}` });
    assert.equal(reply.status, 'error');
    assert.ok(['stale', 'unauthorized'].includes(String(reply.response.reason)), JSON.stringify(reply.response));
    const own = await mallory.join({ topic: `lv:${mallory.page.viewId}`, session: mallory.page.session });
    assert.equal(own.status, 'ok');
    assert.doesNotMatch(mallory.html(), /private to alice/);
  });
});

describe('idle servers', () => {
  it("stops an idle user's server and brings it back on the next action, with nothing lost", async () => {
    const app = await start({ env: { USER_IDLE_MS: '150' } });
    cleanups.push(() => app.remove());
    const tab = await open(app.url);
    await tab.add('before the nap');
    const user = tab.client.jar.get('todo_live_session')!.split('.')[0];
    const running = () => app.app.system.snapshot().some((s) => s.type === 'todo-user' && s.key === user);
    assert.equal(running(), true);
    const deadline = Date.now() + 3000;
    while (running() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
    assert.equal(running(), false, 'stopped after USER_IDLE_MS without a change');
    await tab.add('after the nap');
    assert.equal(running(), true);
    assert.deepEqual(tab.titles(), ['before the nap', 'after the nap']);
  });
});

describe('failures', () => {
  it("a crash in one user's server is contained: the tab shows a notice, keeps working, and other users never notice", async () => {
    let armed = true;
    const faults: TodoFaults = {
      beforeCommand(_userId, command) {
        if (armed && command.mutation.kind === 'add' && command.mutation.title === 'poison') {
          armed = false;
          throw new Error('injected fault');
        }
      },
    };
    const app = await start({ faults });
    cleanups.push(() => app.remove());
    const victim = await open(app.url);
    const sibling = await open(app.url, '/', victim);
    const bystander = await open(app.url);
    await victim.add('before');
    await bystander.add('unaffected');
    const reply = await victim.add('poison');
    assert.equal(reply.status, 'ok', 'the event is still acknowledged');
    assert.match(victim.html(), /class="todo-notice" role="alert">Your change could not be saved/);
    assert.deepEqual(victim.titles(), ['before']);
    assert.equal(victim.draft(), 'poison', 'what the user typed is kept for another try');
    await victim.add('after');
    assert.deepEqual(victim.titles(), ['before', 'after']);
    assert.doesNotMatch(victim.html(), /todo-notice/, 'the notice clears on the next action');
    await sibling.until((t) => t.titles().join() === 'before,after', 'the sibling tab to follow');
    await bystander.add('still fine');
    assert.deepEqual(bystander.titles(), ['unaffected', 'still fine']);
    const userOf = (tab: TodoTab) => tab.client.jar.get('todo_live_session')!.split('.')[0];
    const servers = app.app.system.snapshot().filter((s) => s.type === 'todo-user');
    const bystanderServer = servers.find((s) => s.key === userOf(bystander));
    assert.ok(bystanderServer, "the bystander's server is running");
    assert.equal(bystanderServer.restarts, 0, "the bystander's server never restarted");
    assert.equal(bystanderServer.lastError, undefined);
  });

  it('after a restart on the same file every todo is there and open tabs can rejoin', async () => {
    const data = makeTempDir('restart');
    cleanups.push(() => data.remove());
    const first = await start({ dataDir: data.path });
    const tab = await open(first.url);
    await tab.add('durable one');
    await tab.add('durable two');
    await tab.toggle('durable two');
    const closed = tab.client.closed;
    await first.stop();
    const { code } = await closed;
    assert.equal(code, 1001, 'sockets close with 1001 so clients reconnect instead of reloading');

    const second = await start({ dataDir: data.path, port: first.port });
    const again = await open(second.url, '/', tab);
    assert.deepEqual(
      again.todos().map((t) => [t.title, t.completed]),
      [
        ['durable one', false],
        ['durable two', true],
      ],
    );
    // The old page's tokens still join: the secret and the session cookie survive the restart.
    const { LiveClient } = await import('../support/live-client.js');
    const socket = await LiveClient.openSocket(second.url, tab.client.page, tab.client.jar);
    socket.close();
  });

  it('on shutdown readiness turns 503 at once, in-flight work commits, and the process side closes cleanly', async () => {
    const app = await start();
    cleanups.push(() => app.remove());
    const tab = await open(app.url);
    await tab.type('last words');
    const ready = await fetch(`${app.url}/readyz`);
    assert.equal(ready.status, 200);
    const inFlight = tab.client.submit('add', { op: tab.addOp(), title: 'last words' });
    const stopping = app.app.shutdown();
    assert.equal(app.app.draining, true);
    const reply = await inFlight.catch((err: unknown) => err);
    const clean = await stopping;
    assert.equal(clean, true);
    const reopened = await start({ dataDir: app.dataDir });
    const check = await open(reopened.url);
    assert.equal(check.titles().length, 0, 'another browser');
    const stored = await reopened.app.store.load(tab.client.jar.get('todo_live_session')!.split('.')[0]!);
    if (!(reply instanceof Error)) {
      assert.equal((reply as { status: string }).status, 'ok');
      assert.deepEqual(
        stored.todos.map((t) => t.title),
        ['last words'],
        'an acknowledged add is stored',
      );
    } else {
      assert.ok(stored.todos.length <= 1);
    }
  });

  it('readiness reports 503 while draining', async () => {
    const app = await start();
    cleanups.push(() => app.remove());
    const tab = await open(app.url);
    const stopping = app.app.shutdown();
    const during = await fetch(`${app.url}/readyz`).then(
      (r) => r.status,
      () => 'closed',
    );
    assert.ok(during === 503 || during === 'closed', `expected 503 (or already closed), got ${during}`);
    await stopping;
    assert.equal((await tab.client.closed).code, 1001);
  });
});

describe('tabs left idle', () => {
  /** Whether the last frame the tab received carried the whole page (statics at the root). */
  const lastWasWholePage = (tab: TodoTab): boolean => {
    const frame = tab.client.frames.at(-1);
    const payload = frame?.[4] as { response?: { diff?: { s?: unknown } }; s?: unknown } | undefined;
    return Array.isArray(payload?.response?.diff?.s ?? payload?.s);
  };

  it('drop their copy of the list when idle and come back with the current list, edit and draft intact', async () => {
    const app = await start({ env: { VIEW_HIBERNATE_MS: '150', USER_IDLE_MS: '200' } });
    cleanups.push(() => app.remove());
    const a = await open(app.url);
    const b = await open(app.url, '/', a);
    await a.add('first');
    await a.add('second');
    await a.edit('first');
    await a.type('half typed');
    await new Promise((r) => setTimeout(r, 600));

    // Another tab's change wakes the idle one, which reloads the list and sends it whole.
    await b.add('third');
    await a.until((t) => t.titles().includes('third'), 'the idle tab to see the new todo');
    assert.ok(lastWasWholePage(a), 'the woken tab got the whole page');
    assert.deepEqual(a.titles(), ['first', 'second', 'third']);
    assert.match(a.html(), /<input id="edit-\d+" class="edit" name="title" value="first"/, 'the edit in progress is still open');
    assert.equal(a.draft(), 'half typed', 'the new-todo draft too');

    // Idle again, then an event of its own: acknowledged with the whole page.
    await new Promise((r) => setTimeout(r, 600));
    await a.toggle('second');
    assert.ok(lastWasWholePage(a));
    assert.equal(a.todos().find((t) => t.title === 'second')?.completed, true);
    await a.toggle('third');
    assert.equal(lastWasWholePage(a), false, 'awake again: small diffs');
    await b.until((t) => t.todos().filter((x) => x.completed).length === 2, 'the other tab to see both toggles');
  });
});

