import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LiveClient } from '../support/live-client.js';
import { useSharedApp } from '../support/shared-app.js';
import { readCounter, readTodos, type TodoTab } from '../support/todo-tab.js';

const server = useSharedApp({ env: { MAX_TODOS_PER_USER: '5' } });
const open = (path?: string): Promise<TodoTab> => server.open(path);

describe('adding todos', () => {
  it('adds a trimmed title, clears the field and hands out a fresh operation id', async () => {
    const tab = await open();
    const op = tab.addOp();
    await tab.add('   Buy milk  ');
    assert.deepEqual(tab.titles(), ['Buy milk']);
    assert.equal(tab.draft(), '');
    assert.notEqual(tab.addOp(), op);
  });

  it('ignores an empty or blank title and stores nothing', async () => {
    const tab = await open();
    await tab.add('    ');
    await tab.add('');
    assert.deepEqual(tab.titles(), []);
    assert.equal(tab.draft(), '');
    assert.doesNotMatch(tab.html(), /class="main"|class="footer"/);
  });

  it('keeps a half-typed title in the field across re-renders', async () => {
    const tab = await open();
    await tab.add('first');
    await tab.type('half typ');
    await tab.toggle('first');
    assert.equal(tab.draft(), 'half typ');
  });

  it('shows HTML in a title as text and keeps Unicode and emoji exactly', async () => {
    const tab = await open();
    const hostile = '<img src=x onerror="alert(1)"> & <b>bold</b>';
    const unicode = 'Ünïcödé 日本語 עברית 🧑‍🚀👍🏽 e\u0301';
    await tab.add(hostile);
    await tab.add(unicode);
    assert.doesNotMatch(tab.html(), /<img|<b>/);
    assert.deepEqual(tab.titles(), [hostile, unicode.normalize('NFC')]);
    const reloaded = await open();
    assert.deepEqual(reloaded.titles(), [], 'another browser is another user');
    const sameUser = await tab.sibling();
    server.track(sameUser);
    assert.deepEqual(sameUser.titles(), [hostile, unicode.normalize('NFC')]);
  });

  it('refuses a title over 500 characters with an inline message, keeping what was typed', async () => {
    const tab = await open();
    const long = `${'é'.repeat(500)}!`;
    await tab.type(long);
    assert.match(tab.html(), /role="alert">A todo can be at most 500 characters long; this one has 501\.</);
    await tab.client.submit('add', { op: tab.addOp(), title: long });
    assert.deepEqual(tab.titles(), []);
    assert.equal(tab.draft(), long);
    assert.match(tab.html(), /aria-invalid="true"/);
    await tab.add('é'.repeat(500));
    assert.equal(tab.todos().length, 1);
    assert.doesNotMatch(tab.html(), /todo-error/);
  });

  it('refuses a todo beyond the per-user maximum with a message, keeping the draft', async () => {
    const tab = await open();
    for (let i = 1; i <= 5; i++) await tab.add(`todo ${i}`);
    await tab.add('one too many');
    assert.equal(tab.todos().length, 5);
    assert.equal(tab.draft(), 'one too many');
    assert.match(tab.html(), /already holds 5 todos, the most it can/);
  });

  it('applies a retried submit with the same operation id once', async () => {
    const tab = await open();
    await tab.type('only once');
    const op = tab.addOp();
    await tab.client.submit('add', { op, title: 'only once' });
    await tab.client.submit('add', { op, title: 'only once' });
    assert.deepEqual(tab.titles(), ['only once']);
  });

  it('keeps the operation id of a recovered form, so submitting it after a reconnect adds nothing twice', async () => {
    const tab = await open();
    await tab.type('survives');
    const op = tab.addOp();
    await tab.client.submit('add', { op, title: 'survives' });
    // The reply was lost: the browser reconnects and recovers the form as it was.
    const again = await tab.sibling();
    server.track(again);
    await again.client.change('draft', { op, title: 'survives' }, 'title');
    assert.equal(again.draft(), 'survives');
    await again.client.submit('add', { op: again.addOp(), title: 'survives' });
    assert.deepEqual(again.titles(), ['survives']);
  });
});

describe('completing and removing', () => {
  it('toggles a todo and the counter follows, with <strong> and the right plural', async () => {
    const tab = await open();
    await tab.add('a');
    assert.match(tab.html(), /<span class="todo-count"[^>]*><strong>1<\/strong> item left<\/span>/);
    await tab.add('b');
    assert.equal(tab.counter(), '2 items left');
    await tab.toggle('a');
    assert.deepEqual(
      tab.todos().map((t) => t.completed),
      [true, false],
    );
    assert.equal(tab.counter(), '1 item left');
    await tab.toggle('b');
    assert.equal(tab.counter(), '0 items left');
    await tab.toggle('a');
    assert.deepEqual(
      tab.todos().map((t) => t.completed),
      [false, true],
    );
  });

  it('a repeated click with the same target state does not flip the todo back', async () => {
    const tab = await open();
    await tab.add('a');
    const id = tab.idOf('a');
    await tab.client.click('toggle', { id: String(id), value: 'on' });
    await tab.client.click('toggle', { id: String(id), value: 'on' });
    assert.equal(tab.todos()[0]?.completed, true);
  });

  it('toggle all completes everything, then reopens everything, and its checkbox follows the items', async () => {
    const tab = await open();
    await tab.add('a');
    await tab.add('b');
    assert.doesNotMatch(tab.html(), /id="toggle-all"[^>]*checked/);
    await tab.toggleAll();
    assert.ok(tab.todos().every((t) => t.completed));
    assert.match(tab.html(), /id="toggle-all"[^>]* checked/);
    await tab.toggle('a');
    assert.doesNotMatch(tab.html(), /id="toggle-all"[^>]* checked/, 'one open todo unchecks it');
    await tab.toggle('a');
    await tab.toggleAll();
    assert.ok(tab.todos().every((t) => !t.completed));
  });

  it('destroys a todo, and hides main and footer when the last one goes', async () => {
    const tab = await open();
    await tab.add('a');
    await tab.add('b');
    await tab.destroy('a');
    assert.deepEqual(tab.titles(), ['b']);
    await tab.destroy('b');
    assert.deepEqual(tab.titles(), []);
    assert.doesNotMatch(tab.html(), /class="main"/);
    assert.doesNotMatch(tab.html(), /class="footer"/);
    assert.equal(tab.counter(), null);
  });

  it('shows Clear completed only when something is completed, and it removes exactly those', async () => {
    const tab = await open();
    await tab.add('keep');
    await tab.add('done');
    assert.doesNotMatch(tab.html(), /clear-completed/);
    await tab.toggle('done');
    assert.match(tab.html(), /Clear completed/);
    await tab.clearCompleted();
    assert.deepEqual(tab.titles(), ['keep']);
    assert.doesNotMatch(tab.html(), /clear-completed/);
    assert.doesNotMatch(tab.html(), /id="toggle-all"[^>]* checked/);
  });
});

describe('editing', () => {
  it('double-click opens the editor with the title; Enter saves it trimmed', async () => {
    const tab = await open();
    await tab.add('old title');
    await tab.edit('old title');
    assert.equal(tab.todos()[0]?.editing, true);
    assert.equal(tab.editValue(), 'old title');
    assert.match(tab.html(), /class="edit"[^>]*phx-mounted="\[\[&quot;focus&quot;,\{\}\]\]"/, 'the field asks to be focused');
    await tab.saveWithEnter('  new title ');
    assert.deepEqual(tab.titles(), ['new title']);
    assert.equal(tab.editValue(), null);
  });

  it('blur saves; a blur right after Enter or Escape changes nothing', async () => {
    const tab = await open();
    await tab.add('one');
    const id = tab.idOf('one');
    await tab.edit('one');
    await tab.saveWithBlur(id, 'two');
    assert.deepEqual(tab.titles(), ['two']);
    await tab.edit('two');
    await tab.saveWithEnter('three');
    await tab.saveWithBlur(id, 'stale text');
    assert.deepEqual(tab.titles(), ['three']);
    await tab.edit('three');
    await tab.escape(id);
    await tab.saveWithBlur(id, 'after escape');
    assert.deepEqual(tab.titles(), ['three']);
  });

  it('Escape cancels the edit and keeps the title', async () => {
    const tab = await open();
    await tab.add('stay');
    await tab.edit('stay');
    await tab.escape(tab.idOf('stay'));
    assert.equal(tab.editValue(), null);
    assert.deepEqual(tab.titles(), ['stay']);
  });

  it('saving an empty title deletes the todo', async () => {
    const tab = await open();
    await tab.add('doomed');
    await tab.add('kept');
    await tab.edit('doomed');
    await tab.saveWithEnter('   ');
    assert.deepEqual(tab.titles(), ['kept']);
  });

  it('a title over the limit keeps the editor open with the typed text and a message', async () => {
    const tab = await open();
    await tab.add('short');
    await tab.edit('short');
    await tab.saveWithEnter('x'.repeat(501));
    assert.equal(tab.editValue(), 'x'.repeat(501));
    assert.match(tab.html(), /edit-error-\d+" class="todo-error" role="alert">A todo can be at most 500/);
    assert.deepEqual(tab.titles(), ['short']);
  });

  it('editing belongs to the tab: another tab of the user does not see the editor', async () => {
    const tab = await open();
    await tab.add('mine');
    const other = await tab.sibling();
    server.track(other);
    await tab.edit('mine');
    assert.equal(tab.todos()[0]?.editing, true);
    assert.equal(other.todos()[0]?.editing, false);
  });
});

describe('filters', () => {
  it('renders the first HTTP response already filtered', async () => {
    const tab = await open();
    await tab.add('open');
    await tab.add('done');
    await tab.toggle('done');
    for (const [path, titles] of [
      ['/', ['open', 'done']],
      ['/active', ['open']],
      ['/completed', ['done']],
    ] as const) {
      const page = await LiveClient.fetchPage(server.url, path, tab.client.jar);
      assert.equal(page.status, 200);
      assert.deepEqual(
        readTodos(page.containerHTML).map((t) => t.title),
        titles,
        path,
      );
      assert.match(page.containerHTML, new RegExp(`<a href="${path}"[^>]*class="selected" aria-current="page"`));
      assert.equal(readCounter(page.containerHTML), '1 item left');
    }
  });

  it('switches by live patch, and the list follows changes made under a filter', async () => {
    const tab = await open();
    await tab.add('open');
    await tab.add('done');
    await tab.toggle('done');
    const reply = await tab.patch('/active');
    assert.equal(reply.status, 'ok');
    assert.deepEqual(tab.titles(), ['open']);
    await tab.toggle('open');
    assert.deepEqual(tab.titles(), [], 'a completed todo leaves the active view');
    assert.equal(tab.counter(), '0 items left');
    await tab.patch('/completed');
    assert.deepEqual(tab.titles(), ['open', 'done']);
    await tab.patch('/');
    assert.deepEqual(tab.titles(), ['open', 'done']);
  });
});

describe('bad input', () => {
  it('answers events for unknown todo ids harmlessly', async () => {
    const tab = await open();
    await tab.add('real');
    for (const [event, value] of [
      ['toggle', { id: '99999', value: 'on' }],
      ['destroy', { id: '99999' }],
      ['edit', { id: '99999' }],
      ['toggle', { id: '-1', value: 'on' }],
      ['destroy', { id: '1e309' }],
      ['destroy', { id: "1; DROP TABLE todos; --" }],
    ] as const) {
      const reply = await tab.client.click(event, value);
      assert.equal(reply.status, 'ok', `${event} ${JSON.stringify(value)} is acknowledged`);
    }
    assert.deepEqual(tab.titles(), ['real']);
  });

  it('answers events with missing, extra or mistyped fields harmlessly', async () => {
    const tab = await open();
    await tab.add('real');
    const id = String(tab.idOf('real'));
    const cases: [string, Record<string, unknown>][] = [
      ['toggle', {}],
      ['toggle', { id, value: 'maybe' }],
      ['toggle', { id, value: ['on'] }],
      ['toggle', { id: { nested: '1' }, value: 'on' }],
      ['add', { title: 'no op id' }],
      ['toggle-all', { value: 'on' }],
      ['clear-completed', {}],
      ['no-such-event', { id }],
      ['__proto__', { id }],
    ];
    for (const [event, value] of cases) {
      const reply = await tab.client.click(event, value);
      assert.equal(reply.status, 'ok', `${event} ${JSON.stringify(value)} is acknowledged`);
    }
    assert.deepEqual(tab.todos(), [{ id: Number(id), title: 'real', completed: false, editing: false }]);
    await tab.client.click('toggle', { id, completed: 'false', extra: 'ignored', value: 'on' });
    assert.equal(tab.todos()[0]?.completed, true, 'extra fields are dropped, the event still works');
  });
});
