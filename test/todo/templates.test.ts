import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DiffTracker, templateToHTML } from '../../src/live/index.js';
import type { Todo } from '../../src/store/index.js';
import { renderTodoPage, type TodoPageModel } from '../../src/todo/templates.js';
import { readCounter, readTodos } from '../support/todo-tab.js';

const todo = (id: number, title: string, completed = false): Todo => ({ id, title, completed });

const base: TodoPageModel = {
  todos: [],
  filter: 'all',
  draft: '',
  draftError: null,
  addOp: 'addop-0000000001',
  bulkOp: 'bulkop-000000001',
  editing: null,
  notice: null,
  reloadTo: null,
};

const page = (m: Partial<TodoPageModel>) => templateToHTML(renderTodoPage({ ...base, ...m }));

describe('renderTodoPage', () => {
  it('hides main and footer when there are no todos, and labels the new-todo field', () => {
    const html = page({});
    assert.doesNotMatch(html, /class="main"|class="footer"|todo-list/);
    assert.match(html, /<label for="new-todo" class="visually-hidden">New todo<\/label>/);
    assert.match(html, /<input id="new-todo" class="new-todo" name="title"[^>]* autofocus value="">/);
    assert.match(html, /<input type="hidden" name="op" value="addop-0000000001">/);
  });

  it('counts active todos in <strong> with the right plural, in a polite live region', () => {
    assert.match(page({ todos: [todo(1, 'a')] }), /<span class="todo-count" aria-live="polite" aria-atomic="true"><strong>1<\/strong> item left<\/span>/);
    assert.equal(readCounter(page({ todos: [todo(1, 'a'), todo(2, 'b')] })), '2 items left');
    assert.equal(readCounter(page({ todos: [todo(1, 'a', true)] })), '0 items left');
  });

  it('shows Clear completed only when something is completed, and checks toggle-all only when all are', () => {
    const open = page({ todos: [todo(1, 'a'), todo(2, 'b', true)] });
    assert.match(open, /class="clear-completed"/);
    assert.match(open, /id="toggle-all"[^>]*phx-value-op="[^"]+">/);
    const none = page({ todos: [todo(1, 'a')] });
    assert.doesNotMatch(none, /clear-completed/);
    const all = page({ todos: [todo(1, 'a', true)] });
    assert.match(all, /id="toggle-all"[^>]*phx-value-op="[^"]+" checked>/);
  });

  it('filters the list and marks the selected link, keeping the counter over every todo', () => {
    const todos = [todo(1, 'open'), todo(2, 'done', true)];
    for (const [filter, titles] of [
      ['all', ['open', 'done']],
      ['active', ['open']],
      ['completed', ['done']],
    ] as const) {
      const html = page({ todos, filter });
      assert.deepEqual(
        readTodos(html).map((t) => t.title),
        titles,
      );
      assert.equal(readCounter(html), '1 item left');
      const selected = [...html.matchAll(/<a href="([^"]+)"[^>]*class="selected" aria-current="page">/g)].map((m) => m[1]);
      assert.deepEqual(selected, [{ all: '/', active: '/active', completed: '/completed' }[filter]]);
    }
    assert.match(page({ todos }), /<a href="\/active" data-phx-link="patch" data-phx-link-state="push"/);
  });

  it('escapes titles in text and in accessible names', () => {
    const html = page({ todos: [todo(1, '<script>alert("x")</script> & \'q\'')] });
    assert.doesNotMatch(html, /<script>/);
    assert.match(html, /&lt;script&gt;alert\(&quot;x&quot;\)&lt;\/script&gt; &amp; &#39;q&#39;<\/label>/);
    assert.match(html, /<span id="delete-label" hidden>Delete<\/span>/);
    assert.match(html, /<input class="toggle" type="checkbox" phx-click="toggle" phx-value-id="1" aria-labelledby="l1">/);
    assert.match(html, /<label id="l1">/);
    assert.match(html, /<button class="destroy" phx-click="destroy" value="1" aria-labelledby="delete-label l1"><\/button>/);
  });

  it('gives each item an id of its todo, and the list one edit hook for every title', () => {
    const html = page({ todos: [todo(7, 'a'), todo(8, 'b')] });
    assert.match(html, /<ul id="todo-list" class="todo-list" phx-hook="TodoEdit"><li id="t7"><div class="view">/);
    assert.equal([...html.matchAll(/phx-hook=/g)].length, 1);
    assert.deepEqual([...html.matchAll(/<li id="t(\d+)"/g)].map((m) => m[1]), ['7', '8']);
  });

  it('leaves the class out of an item that is neither completed nor being edited', () => {
    const html = page({ todos: [todo(1, 'a'), todo(2, 'b', true)], editing: { id: 1, op: 'editop-000000001', title: 'a', error: null } });
    assert.match(html, /<li id="t1" class="editing">/);
    assert.match(html, /<li id="t2" class="completed">/);
    assert.match(page({ todos: [todo(3, 'c')] }), /<li id="t3"><div class="view">/);
  });

  it('renders the edit form only in the edited item, with its own operation id and a focus request', () => {
    const html = page({
      todos: [todo(1, 'a'), todo(2, 'b', true)],
      editing: { id: 2, op: 'editop-000000001', title: 'b typed', error: null },
    });
    assert.deepEqual(
      readTodos(html).map((t) => [t.id, t.editing, t.completed]),
      [
        [1, false, false],
        [2, true, true],
      ],
    );
    assert.equal([...html.matchAll(/class="edit"/g)].length, 1);
    assert.match(html, /<form id="edit-form-2" phx-submit="save">\s*<input type="hidden" name="op" value="editop-000000001">/);
    assert.match(html, /<input id="edit-2" class="edit" name="title" value="b typed"[^>]*phx-blur="save" phx-value-id="2" phx-keydown="cancel" phx-key="Escape" phx-mounted="\[\[&quot;focus&quot;,\{\}\]\]">/);
  });

  it('shows messages inline, tied to their field', () => {
    const html = page({ draft: 'x', draftError: 'Too long', notice: 'Not saved' });
    assert.match(html, /aria-invalid="true" aria-describedby="new-todo-error">/);
    assert.match(html, /<p id="new-todo-error" class="todo-error" role="alert">Too long<\/p>/);
    assert.match(html, /<p class="todo-notice" role="alert">Not saved<\/p>/);
  });

  it('keeps an empty status region while the page is up to date, and offers a plain reload link after a deploy', () => {
    assert.match(page({}), /<div class="update-banner" role="status"><\/div>/);
    const html = page({ reloadTo: '/active?x="1"' });
    assert.match(
      html,
      /<div class="update-banner" role="status"><p>A new version of this page is available\. <a href="\/active\?x=&quot;1&quot;">Reload to update\.<\/a><\/p><\/div>/,
    );
    assert.doesNotMatch(html, /data-phx-link="[^"]*"[^>]*>Reload/);
  });

  it('uses no inline style or script, so a strict CSP holds', () => {
    const html = page({ todos: [todo(1, 'a')], editing: { id: 1, op: 'editop-000000001', title: 'a', error: 'e' }, notice: 'n', reloadTo: '/' });
    assert.doesNotMatch(html, /style=|<script|<style|\son[a-z]+=/i);
  });

  it('sends only the changed slots of one item when it is toggled in a long list', () => {
    const todos = Array.from({ length: 1000 }, (_, i) => todo(i + 1, `todo number ${i + 1}`));
    const tracker = new DiffTracker();
    tracker.mount(renderTodoPage({ ...base, todos }));
    const toggled = todos.map((t) => (t.id === 500 ? { ...t, completed: true } : t));
    const diff = tracker.diff(renderTodoPage({ ...base, todos: toggled }));
    const size = JSON.stringify(diff).length;
    assert.ok(size < 400, `a toggle in 1,000 todos costs ${size} bytes: ${JSON.stringify(diff)}`);
  });
});
