// Keyed lists remembered by their inputs: each(items, key, render, context). The diff keeps the
// items, the render function and the context, renders only entries whose inputs changed, and
// sends exactly the frames the eager form (each(items, key, render)) sends.

import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { isTodoLiveError } from '../../src/errors.js';
import { DiffTracker } from '../../src/live/diff.js';
import type { Diff } from '../../src/live/protocol.js';
import { templateToHTML } from '../../src/live/render-html.js';
import { type Dynamic, each, html, KeyedList, MemoList, setDevMode, type Template } from '../../src/live/template.js';
import { ClientRendered, clientDiagnostics } from '../support/client-rendered.js';
import { assertWellFormed } from '../support/wire-invariants.js';

const wire = (x: unknown): unknown => JSON.parse(JSON.stringify(x));
const isTemplateError = (e: unknown) => isTodoLiveError(e, 'LIVE_TEMPLATE');

interface Todo {
  readonly id: number;
  readonly title: string;
  readonly completed: boolean;
}
interface Editing {
  readonly id: number;
  readonly text: string;
}

let renders = 0;

/** Module-level, as the contract asks: a pure function of the todo and the editing state. */
function item(t: Todo, editing: Editing | null): Template {
  renders++;
  const isEditing = editing !== null && editing.id === t.id;
  return html`<li id="todo-${t.id}" class="${t.completed ? 'completed' : ''}${isEditing ? ' editing' : ''}"><input type="checkbox"${t.completed ? ' checked' : ''} phx-value-id="${t.id}"><label>${t.title}</label>${
    isEditing ? html`<form><input class="edit" value="${editing.text}"></form>` : ''
  }</li>`;
}

const memoView = (todos: readonly Todo[], editing: Editing | null = null): Template =>
  html`<ul>${each(todos, (t) => t.id, item, editing)}</ul><p>${todos.filter((t) => !t.completed).length}</p>`;
const eagerView = (todos: readonly Todo[], editing: Editing | null = null): Template =>
  html`<ul>${each(todos, (t) => t.id, (t) => item(t, editing))}</ul><p>${todos.filter((t) => !t.completed).length}</p>`;

const todos = (n: number): Todo[] => Array.from({ length: n }, (_, i) => ({ id: i + 1, title: `Todo ${i + 1}`, completed: i % 3 === 0 }));
const toggled = (list: readonly Todo[], id: number): Todo[] => list.map((t) => (t.id === id ? { ...t, completed: !t.completed } : t));

/**
 * The memo form and the eager form side by side, each with its own tracker and client: every
 * frame is checked for shape, merged, compared with a fresh render, and the memo frame must equal
 * the eager one byte for byte.
 */
class Pair {
  readonly memo = new DiffTracker();
  readonly eager = new DiffTracker();
  readonly client: ClientRendered;

  constructor(list: readonly Todo[], editing: Editing | null = null) {
    const full = this.memo.mount(memoView(list, editing));
    assertWellFormed(wire(full), { full: true });
    assert.deepEqual(wire(full), wire(this.eager.mount(eagerView(list, editing))));
    this.client = new ClientRendered('phx-memo', full);
    assert.equal(this.client.toHTML(), templateToHTML(eagerView(list, editing)));
  }

  /** The memo diff, after checking it against the eager one; `renders` counts the memo side only. */
  update(list: readonly Todo[], editing: Editing | null = null): { diff: Diff | null; renders: number } {
    const expected = this.eager.diff(eagerView(list, editing));
    renders = 0;
    const diff = this.memo.diff(memoView(list, editing));
    const count = renders;
    assert.deepEqual(wire(diff), wire(expected), 'the memo form sends what the eager form sends');
    if (diff !== null) {
      assertWellFormed(wire(diff), { full: false });
      this.client.merge(diff);
    }
    assert.equal(this.client.toHTML(), templateToHTML(eagerView(list, editing)));
    return { diff, renders: count };
  }
}

afterEach(() => {
  assert.deepEqual(clientDiagnostics, [], 'the client reported no diagnostics');
  setDevMode(true);
});

describe('each with a context', () => {
  it('renders nothing when the list is built, and keeps the caller\'s array', () => {
    renders = 0;
    const list = todos(3);
    const memo = each(list, (t) => t.id, item, null);
    assert.ok(memo instanceof MemoList);
    assert.equal(renders, 0);
    assert.equal(memo.items, list);
    assert.equal(memo.context, null);
    assert.equal(memo.render, item);
  });

  it('takes an explicit undefined context as the memo form', () => {
    const memo = each([1, 2], (x) => x, (x: number, c: undefined) => html`<b>${x}${c}</b>`, undefined);
    assert.ok(memo instanceof MemoList);
    assert.ok(each([1, 2], (x) => x, (x) => html`<b>${x}</b>`) instanceof KeyedList);
  });

  it('accepts any iterable, copying it into an array', () => {
    const memo = each(new Set([3, 1]), (x) => x, (x: number, sep: string) => html`<b>${x}${sep}</b>`, ';');
    assert.deepEqual(memo.items, [3, 1]);
    assert.equal(templateToHTML(html`${memo}`), '<b>3;</b><b>1;</b>');
  });

  it('refuses duplicate keys in development when the list is built', () => {
    assert.throws(() => each([1, 2, 1], (x) => x, (x: number) => html`<li>${x}</li>`, null), isTemplateError);
    setDevMode(false);
    assert.doesNotThrow(() => each([1, 2, 1], (x) => x, (x: number) => html`<li>${x}</li>`, null));
  });

  it('mounts the same frame as the eager form, rendering each entry once', () => {
    renders = 0;
    const full = new DiffTracker().mount(memoView(todos(5)));
    assert.equal(renders, 5);
    assert.deepEqual(wire(full), wire(new DiffTracker().mount(eagerView(todos(5)))));
  });
});

describe('DiffTracker with memo lists', () => {
  it('does not render unchanged entries: the same array costs no render, a new array with the same todos neither', () => {
    const list = todos(100);
    const p = new Pair(list);
    assert.deepEqual(p.update(list), { diff: null, renders: 0 });
    assert.deepEqual(p.update([...list]), { diff: null, renders: 0 });
  });

  it('renders a changed entry twice (what the client holds, what it gets) and sends only its changed slots', () => {
    const list = todos(100);
    const p = new Pair(list);
    const { diff, renders: count } = p.update(toggled(list, 42));
    assert.equal(count, 2);
    // Todo 42 (position 41) was active: class and checkbox change; the counter drops by one.
    assert.deepEqual(wire(diff), { 0: { k: { 41: { 1: 'completed', 3: ' checked' }, kc: 100 } }, 1: '65' });
  });

  it('sends nothing for a replaced todo that renders the same', () => {
    const list = todos(10);
    const p = new Pair(list);
    const same = list.map((t) => (t.id === 3 ? { ...t } : t));
    assert.deepEqual(p.update(same), { diff: null, renders: 2 });
  });

  it('re-renders every entry when the context changes, and sends only the entries whose HTML changed', () => {
    const list = todos(20);
    const p = new Pair(list);
    const { diff, renders: count } = p.update(list, { id: 5, text: 'Todo 5' });
    assert.equal(count, 40);
    const k = (wire(diff) as { 0: { k: Record<string, unknown> } })[0].k;
    assert.deepEqual(Object.keys(k).sort(), ['4', 'kc']);
    // A new context object with the same content renders everything again and sends nothing.
    assert.deepEqual(p.update(list, { id: 5, text: 'Todo 5' }), { diff: null, renders: 40 });
  });

  it('re-renders every entry when the render function changes', () => {
    const other = (t: Todo, e: Editing | null): Template => item(t, e);
    const view = (r: typeof item) => html`<ul>${each(todos(4), (x) => x.id, r, null)}</ul>`;
    const t = new DiffTracker();
    t.mount(view(item));
    renders = 0;
    assert.equal(t.diff(view(other)), null);
    assert.equal(renders, 8);
  });

  it('diffs the nested edit form of an entry as the eager form does: open, type, close', () => {
    const list = todos(6);
    const p = new Pair(list);
    p.update(list, { id: 2, text: 'Todo 2' });
    const { diff } = p.update(list, { id: 2, text: 'Todo <2>' });
    assert.deepEqual(wire(diff), { 0: { k: { 1: { 6: { 0: 'Todo &lt;2&gt;' } }, kc: 6 } } });
    p.update(toggled(list, 2), { id: 2, text: 'Todo <2>' });
    p.update(list, null);
  });

  it('moves, inserts and deletes entries with the frames of the eager form, rendering only new entries', () => {
    const list = todos(8);
    const p = new Pair(list);
    assert.equal(p.update([...list].reverse()).renders, 0);
    const inserted = [{ id: 99, title: 'new', completed: false }, ...list.slice(0, 4), { id: 98, title: 'mid', completed: true }, ...list.slice(4)];
    assert.equal(p.update(inserted).renders, 2);
    assert.equal(p.update(inserted.filter((t) => t.id % 2 === 0)).renders, 0);
    // Todo 6 moves and changes (two renders); todo 1 was deleted above, so it is new (one).
    const moved = toggled([list[5], list[0], list[3]] as Todo[], 6);
    assert.equal(p.update(moved).renders, 3);
    p.update([]);
    assert.equal(p.update(list.slice(0, 2)).renders, 2);
  });

  it('sends the list anew when the entries\' template changes, and keeps a mixed list correct', () => {
    const plain = (t: Todo): Template => html`<li>${t.title}</li>`;
    const bold = (t: Todo): Template => html`<li><b>${t.title}</b></li>`;
    const mixed = (t: Todo): Dynamic => (t.completed ? bold(t) : plain(t));
    const memo = (list: readonly Todo[], r: (t: Todo, c: null) => Dynamic) => html`<ul>${each(list, (t) => t.id, r, null)}</ul>`;
    const eager = (list: readonly Todo[], r: (t: Todo) => Dynamic) => html`<ul>${each(list, (t) => t.id, (t) => r(t))}</ul>`;
    const list = todos(4);
    const m = new DiffTracker();
    const e = new DiffTracker();
    const client = new ClientRendered('phx-mixed', m.mount(memo(list, plain)));
    e.mount(eager(list, plain));
    const steps: Array<[readonly Todo[], (t: Todo) => Dynamic]> = [
      [list, bold],
      [toggled(list, 2), bold],
      [list, mixed],
      [toggled(list, 3), mixed],
      [list.slice(1), plain],
      [[], plain],
      [list, bold],
    ];
    for (const [l, r] of steps) {
      const d = m.diff(memo(l, r));
      assert.deepEqual(wire(d), wire(e.diff(eager(l, r))));
      if (d !== null) client.merge(d);
      assert.equal(client.toHTML(), templateToHTML(eager(l, r)));
    }
  });

  it('mirrors a list whose entries hold lists slot by slot, and the memo lists inside it by their inputs', () => {
    interface Group {
      readonly id: string;
      readonly tags: readonly string[];
    }
    let inner = 0;
    const tag = (t: string, upper: boolean): Template => {
      inner++;
      return html`<em>${upper ? t.toUpperCase() : t}</em>`;
    };
    const group = (g: Group, upper: boolean): Template => html`<h2>${g.id}</h2>${each(g.tags, (t) => t, tag, upper)}`;
    const view = (gs: readonly Group[], upper = false) => html`<div>${each(gs, (g) => g.id, group, upper)}</div>`;
    const a: Group = { id: 'a', tags: ['x', 'y'] };
    const b: Group = { id: 'b', tags: ['z'] };
    const t = new DiffTracker();
    const client = new ClientRendered('phx-nested', t.mount(view([a, b])));
    let rendered = 0;
    const step = (gs: readonly Group[], upper?: boolean): Diff | null => {
      inner = 0;
      const d = t.diff(view(gs, upper));
      rendered = inner;
      if (d !== null) client.merge(d);
      assert.equal(client.toHTML(), templateToHTML(view(gs, upper)));
      return d;
    };
    const d = step([{ ...a, tags: ['y', 'x', 'w'] }, b]);
    assert.deepEqual(wire(d), { 0: { k: { 0: { 1: { k: { 0: 1, 1: 0, 2: { 0: 'w' }, kc: 3, km: true } } }, kc: 2 } } });
    // The inner lists keep their own inputs: only the new tag is rendered.
    assert.equal(rendered, 1);
    step([b, { ...a, tags: ['y'] }], true);
    step([b], false);
  });

  it('sends what the eager form sends when entries hold lists whose client state depends on history', () => {
    // An emptied list keeps its statics and a mixed list stays mixed on the client: a render of
    // an entry's previous inputs cannot tell, so such entries are mirrored slot by slot.
    interface Row {
      readonly id: number;
      readonly cells: readonly string[];
    }
    const cell = (c: string): Template => (c === c.toUpperCase() ? html`<th>${c}</th>` : html`<td>${c}</td>`);
    const row = (r: Row, sep: string): Template => html`<tr>${each(r.cells, (c) => c, cell)}${sep}</tr>`;
    const memo = (rows: readonly Row[]) => html`<table>${each(rows, (r) => r.id, row, '|')}</table>`;
    const eager = (rows: readonly Row[]) => html`<table>${each(rows, (r) => r.id, (r) => row(r, '|'))}</table>`;
    const m = new DiffTracker();
    const e = new DiffTracker();
    const first: Row[] = [{ id: 1, cells: ['a'] }, { id: 2, cells: [] }];
    const client = new ClientRendered('phx-history', m.mount(memo(first)));
    e.mount(eager(first));
    const steps: Row[][] = [
      [{ id: 1, cells: ['A', 'b'] }, { id: 2, cells: ['c'] }],
      [{ id: 1, cells: ['a', 'b'] }, { id: 2, cells: [] }],
      [{ id: 1, cells: ['a', 'b', 'd'] }, { id: 2, cells: ['c'] }],
    ];
    for (const rows of steps) {
      const d = m.diff(memo(rows));
      assert.deepEqual(wire(d), wire(e.diff(eager(rows))));
      if (d !== null) client.merge(d);
      assert.equal(client.toHTML(), templateToHTML(eager(rows)));
    }
  });

  it('switches between the eager and the memo form in one slot', () => {
    const list = todos(5);
    const t = new DiffTracker();
    const client = new ClientRendered('phx-forms', t.mount(eagerView(list)));
    const steps: Template[] = [memoView(toggled(list, 1)), eagerView(list), memoView([]), eagerView(list.slice(2)), memoView(list), html`<ul>${''}</ul><p>${5}</p>`, memoView(list)];
    for (const v of steps) {
      const d = t.diff(v);
      if (d !== null) client.merge(d);
      assert.equal(client.toHTML(), templateToHTML(v));
    }
  });

  it('refuses, in development, an items array changed after it was rendered', () => {
    const list = todos(3);
    const t = new DiffTracker();
    t.mount(memoView(list));
    list.push({ id: 4, title: 'pushed', completed: false });
    assert.throws(() => t.diff(memoView(list)), isTemplateError);
    assert.ok(!t.mounted);
  });

  it('forgets the client state when a render throws during the diff', () => {
    const boom = (t: Todo, fail: boolean): Template => {
      if (fail && t.id === 2) throw new Error('render failed');
      return html`<li>${t.title}</li>`;
    };
    const view = (list: readonly Todo[], fail: boolean) => html`<ul>${each(list, (t) => t.id, boom, fail)}</ul>`;
    const t = new DiffTracker();
    t.mount(view(todos(3), false));
    assert.throws(() => t.diff(view(todos(3), true)), /render failed/);
    assert.ok(!t.mounted);
  });

  it('keeps the toggle of a 10,000-item list to two renders and the same frame as 100 items', () => {
    const frame = (n: number) => {
      const list = todos(n);
      const t = new DiffTracker();
      t.mount(memoView(list));
      renders = 0;
      const d = JSON.stringify(t.diff(memoView(toggled(list, 42))));
      assert.equal(renders, 2);
      return d.replace(/"kc":\d+/, '"kc":N').replace(/"1":"\d+"/, '"1":"N"');
    };
    assert.equal(frame(10_000), frame(100));
  });
});
