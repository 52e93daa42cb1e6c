import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { isTodoLiveError } from '../../src/errors.js';
import { DiffTracker } from '../../src/live/diff.js';
import type { Diff, Rendered } from '../../src/live/protocol.js';
import { renderedToHTML, templateToHTML } from '../../src/live/render-html.js';
import { type Dynamic, each, html, raw, setDevMode, Template } from '../../src/live/template.js';
import { ClientRendered, clientDiagnostics } from '../support/client-rendered.js';
import { assertWellFormed } from '../support/wire-invariants.js';
import { renderTodos, stateWith, todoItem } from '../fixtures/templates/todo-list.js';

/** What goes over the wire: plain JSON. */
const wire = (x: unknown): unknown => JSON.parse(JSON.stringify(x));

/**
 * A tracker and the real client side by side: every frame is checked for shape, merged by the
 * client, and the client's HTML compared with a fresh render of the same template.
 */
class Session {
  readonly tracker = new DiffTracker();
  client: ClientRendered;

  constructor(t: Template) {
    const full = this.tracker.mount(t);
    assertWellFormed(wire(full), { full: true });
    this.client = new ClientRendered('phx-test', full);
    assert.equal(this.client.toHTML(), templateToHTML(t));
  }

  update(t: Template): Diff | null {
    const d = this.tracker.diff(t);
    if (d !== null) {
      assertWellFormed(wire(d), { full: false });
      this.client.merge(d);
    }
    assert.equal(this.client.toHTML(), templateToHTML(t));
    return d;
  }
}

afterEach(() => {
  assert.deepEqual(clientDiagnostics, [], 'the client reported no diagnostics');
  setDevMode(true);
});

describe('DiffTracker.mount', () => {
  it('renders the full tree with statics and every dynamic as a string', () => {
    const t = new DiffTracker();
    const full = t.mount(html`<p class="${'a'}">${42}</p>`);
    assert.deepEqual(wire(full), { s: ['<p class="', '">', '</p>'], 0: 'a', 1: '42' });
  });

  it('sends the call site strings themselves as statics, not a copy', () => {
    const view = (x: string) => html`<b>${x}</b>`;
    const full = new DiffTracker().mount(view('x'));
    assert.equal(full.s, view('y').strings);
  });

  it('refuses anything but a template', () => {
    assert.throws(() => new DiffTracker().mount('<p>' as unknown as Template), (e: unknown) => isTodoLiveError(e, 'LIVE_TEMPLATE'));
  });

  it('renders an empty list as an empty string, as Phoenix does', () => {
    const full = new DiffTracker().mount(html`<ul>${each([], String, () => '')}</ul>`);
    assert.deepEqual(wire(full), { s: ['<ul>', '</ul>'], 0: '' });
  });

  it('sends every slot of nodes and list entries of any width, leaves and nested templates alike', () => {
    for (let width = 1; width <= 14; width++) {
      // One template per width, built from a strings array as a tag would be.
      const strings = Object.assign(
        Array.from({ length: width + 1 }, (_, i) => (i === 0 ? `<p data-w="${width}">` : i === width ? '</p>' : `|${i}|`)),
        { raw: [] as string[] },
      ) as unknown as TemplateStringsArray;
      const valuesOf = (seed: number): Dynamic[] =>
        Array.from({ length: width }, (_, i) =>
          i % 4 === 0 ? `v${seed}<${i}>` : i % 4 === 1 ? seed + i : i % 4 === 2 ? raw(`<i>${seed}</i>`) : html`<b>${seed * i}</b>`,
        );
      const node = (seed: number) => new Template(strings, valuesOf(seed));
      const page = (seeds: number[]) => html`<div>${node(0)}</div><ul>${each(seeds, String, (s: number) => node(s), null)}</ul>`;
      const session = new Session(page([1, 2, 3]));
      const full = wire(new DiffTracker().mount(page([1, 2, 3]))) as Record<string, unknown>;
      assert.equal(Object.keys(full[0] as object).filter((k) => /^\d+$/.test(k)).length, width, `width ${width}: every slot of the node`);
      session.update(page([3, 4, 1]));
      session.update(page([]));
      session.update(page([5]));
    }
  });
});

describe('DiffTracker.diff', () => {
  it('returns null when nothing changed', () => {
    const view = (n: number) => html`<p>${n}</p><p>${html`<i>${'x'}</i>`}</p>${each([1, 2], String, (i) => html`<b>${i}</b>`)}`;
    const s = new Session(view(1));
    assert.equal(s.update(view(1)), null);
  });

  it('sends only the slots that changed', () => {
    const view = (a: string, b: string) => html`<p title="${a}">${b}</p>`;
    const s = new Session(view('x', 'y'));
    assert.deepEqual(wire(s.update(view('x', 'z'))), { 1: 'z' });
    assert.deepEqual(wire(s.update(view('<', 'z'))), { 0: '&lt;' });
  });

  it('treats values that render alike as unchanged', () => {
    const view = (v: Dynamic) => html`<p>${v}</p>`;
    const s = new Session(view(1));
    assert.equal(s.update(view('1')), null);
    assert.deepEqual(wire(s.update(view(null))), { 0: '' });
    assert.equal(s.update(view(undefined)), null);
    assert.equal(s.update(view(false)), null);
    assert.equal(s.update(view(raw(''))), null);
    assert.deepEqual(wire(s.update(view(raw('<hr>')))), { 0: '<hr>' });
    assert.equal(s.update(view(raw('<hr>'))), null);
  });

  it('treats an empty list and empty text as the same HTML, in both directions', () => {
    const view = (v: Dynamic) => html`<ul>${v}</ul>`;
    const s = new Session(view(''));
    assert.equal(s.update(view(each([], String, () => ''))), null);
    assert.equal(s.update(view([])), null);
    assert.equal(s.update(view(null)), null);
  });

  it('omits an unchanged nested node and sends a changed one without statics', () => {
    const inner = (x: string) => html`<i>${x}</i>`;
    const view = (a: string, b: string) => html`<div>${inner(a)}${inner(b)}</div>`;
    const s = new Session(view('a', 'b'));
    assert.deepEqual(wire(s.update(view('a', 'c'))), { 1: { 0: 'c' } });
  });

  it('sends the full node with statics when the template at a slot changes', () => {
    const view = (on: boolean) => html`<div>${on ? html`<b>${'on'}</b>` : html`<i>${'off'}</i>`}</div>`;
    const s = new Session(view(true));
    assert.deepEqual(wire(s.update(view(false))), { 0: { s: ['<i>', '</i>'], 0: 'off' } });
    assert.deepEqual(wire(s.update(view(true))), { 0: { s: ['<b>', '</b>'], 0: 'on' } });
  });

  it('hides, shows and updates a conditional block (spec 4.8 f)', () => {
    const footer = (n: number) => html`<footer>${n}</footer>`;
    const view = (n: number | null) => html`<main></main>${n === null ? '' : footer(n)}`;
    const s = new Session(view(1));
    assert.deepEqual(wire(s.update(view(null))), { 0: '' });
    assert.deepEqual(wire(s.update(view(2))), { 0: { s: ['<footer>', '</footer>'], 0: '2' } });
    assert.deepEqual(wire(s.update(view(3))), { 0: { 0: '3' } });
  });

  it('replaces the whole tree when the root template changes', () => {
    const a = (x: string) => html`<p>${x}</p>`;
    const b = (x: string) => html`<div>${x}</div>`;
    const s = new Session(a('1'));
    assert.deepEqual(wire(s.update(b('1'))), { s: ['<div>', '</div>'], 0: '1' });
    assert.equal(s.update(b('1')), null);
  });

  it('throws before mount and after reset, and recovers with mount', () => {
    const t = new DiffTracker();
    const isState = (e: unknown) => isTodoLiveError(e, 'LIVE_DIFF_STATE');
    assert.throws(() => t.diff(html`<p></p>`), isState);
    t.mount(html`<p></p>`);
    assert.ok(t.mounted);
    t.reset();
    assert.ok(!t.mounted);
    assert.throws(() => t.diff(html`<p></p>`), isState);
  });

  it('forgets the client state when a diff fails halfway, so a half-updated mirror is never used', () => {
    const view = (a: string, b: unknown) => html`<p>${a}</p><p>${b as Dynamic}</p>`;
    const t = new DiffTracker();
    t.mount(view('a', 'b'));
    assert.throws(() => t.diff(view('changed', { bad: true })), (e: unknown) => isTodoLiveError(e, 'LIVE_TEMPLATE'));
    assert.ok(!t.mounted);
    assert.throws(() => t.diff(view('changed', 'b')), (e: unknown) => isTodoLiveError(e, 'LIVE_DIFF_STATE'));
    assert.deepEqual(wire(t.mount(view('changed', 'b'))), wire({ s: ['<p>', '</p><p>', '</p>'], 0: 'changed', 1: 'b' }));
  });
});

describe('values among a tag\'s attributes', () => {
  it('checks a changed value against the bare-name rule and forgets the client state on a violation', () => {
    const view = (v: Dynamic) => html`<input type="checkbox"${v}>`;
    const s = new Session(view(''));
    assert.deepEqual(wire(s.update(view(' checked'))), { 0: ' checked' });
    assert.throws(() => s.tracker.diff(view(' onclick=alert(1)')), (e: unknown) => isTodoLiveError(e, 'LIVE_TEMPLATE'));
    assert.ok(!s.tracker.mounted);
  });

  it('checks entries of a keyed list, new and changed', () => {
    const view = (xs: string[]) => html`<ul>${each(xs, (x) => x, (x) => html`<li${x}></li>`)}</ul>`;
    assert.throws(() => new DiffTracker().mount(view([' a', 'b=1'])), (e: unknown) => isTodoLiveError(e, 'LIVE_TEMPLATE'));
    const t = new DiffTracker();
    t.mount(view([' a']));
    assert.throws(() => t.diff(view([' a', 'b=1'])), (e: unknown) => isTodoLiveError(e, 'LIVE_TEMPLATE'));
  });
});

// The worked example of the protocol notes, §4.8, reproduced byte for byte.
describe('the TodoMVC worked example', () => {
  interface Item {
    id: number;
    title: string;
    completed: boolean;
  }
  const view = (todos: Item[]) =>
    html`<h1>todos</h1><span id="count"><strong>${String(todos.filter((t) => !t.completed).length)}</strong> items left</span><ul id="todo-list">${each(
      todos,
      (t) => t.id,
      (t) =>
        html`<li id="todo-${t.id}" class="${t.completed ? 'completed' : ''}"><input class="toggle" type="checkbox" phx-click="toggle" phx-value-id="${t.id}"${t.completed ? ' checked' : ''}><label>${t.title}</label></li>`,
    )}</ul>`;
  const three: Item[] = [
    { id: 1, title: 'Buy milk', completed: false },
    { id: 2, title: 'Walk the dog', completed: false },
    { id: 3, title: 'Fix bike', completed: true },
  ];
  const itemStatics = [
    '<li id="todo-',
    '" class="',
    '"><input class="toggle" type="checkbox" phx-click="toggle" phx-value-id="',
    '"',
    '><label>',
    '</label></li>',
  ];

  it('(a) mounts three items, one completed', () => {
    const full = new DiffTracker().mount(view(three));
    assert.deepEqual(wire(full), {
      s: ['<h1>todos</h1><span id="count"><strong>', '</strong> items left</span><ul id="todo-list">', '</ul>'],
      0: '2',
      1: {
        s: itemStatics,
        k: {
          0: { 0: '1', 1: '', 2: '1', 3: '', 4: 'Buy milk' },
          1: { 0: '2', 1: '', 2: '2', 3: '', 4: 'Walk the dog' },
          2: { 0: '3', 1: 'completed', 2: '3', 3: ' checked', 4: 'Fix bike' },
          kc: 3,
        },
      },
    });
  });

  it('(b) toggles todo 2: two slots of one entry, and kc', () => {
    const s = new Session(view(three));
    const toggled = three.map((t) => (t.id === 2 ? { ...t, completed: true } : t));
    assert.deepEqual(wire(s.update(view(toggled))), { 0: '1', 1: { k: { 1: { 1: 'completed', 3: ' checked' }, kc: 3 } } });
  });

  it('(c) adds todo 4 at the end with complete dynamics; (d) removes todo 1 with moves', () => {
    const s = new Session(view(three));
    const b = three.map((t) => (t.id === 2 ? { ...t, completed: true } : t));
    s.update(view(b));
    const c = [...b, { id: 4, title: 'Call mom', completed: false }];
    assert.deepEqual(wire(s.update(view(c))), {
      0: '2',
      1: { k: { 3: { 0: '4', 1: '', 2: '4', 3: '', 4: 'Call mom' }, kc: 4 } },
    });
    assert.deepEqual(wire(s.update(view(c.slice(1)))), { 0: '1', 1: { k: { 0: 1, 1: 2, 2: 3, kc: 3, km: true } } });
  });

  it('removes the last item with kc alone', () => {
    const s = new Session(view(three));
    assert.deepEqual(wire(s.update(view(three.slice(0, 2)))), { 1: { k: { kc: 2 } } });
  });

  it('(e) inserts at the front: one new entry and three moves', () => {
    const s = new Session(view(three));
    const d = s.update(view([{ id: 9, title: 'First!', completed: false }, ...three]));
    assert.deepEqual(wire(d), {
      0: '3',
      1: { k: { 0: { 0: '9', 1: '', 2: '9', 3: '', 4: 'First!' }, 1: 0, 2: 1, 3: 2, kc: 4, km: true } },
    });
  });
});

describe('keyed lists', () => {
  const row = (x: { k: string; v: string }) => html`<li id="${x.k}">${x.v}</li>`;
  const view = (xs: Array<{ k: string; v: string }>) => html`<ul>${each(xs, (x) => x.k, row)}</ul>`;
  const items = (spec: string) => spec.split(' ').filter(Boolean).map((p) => ({ k: p[0] as string, v: p }));

  it('moves entries with km and sends [old, diff] for a moved entry that changed', () => {
    const s = new Session(view(items('a b c d')));
    assert.deepEqual(wire(s.update(view(items('d c b a')))), { 0: { k: { 0: 3, 1: 2, 2: 1, 3: 0, kc: 4, km: true } } });
    assert.deepEqual(wire(s.update(view(items('a2 c b d')))), { 0: { k: { 0: [3, { 1: 'a2' }], 3: 0, kc: 4, km: true } } });
  });

  it('inserts in the middle with complete dynamics and moves only what shifted', () => {
    const s = new Session(view(items('a b c')));
    assert.deepEqual(wire(s.update(view(items('a x b c')))), {
      0: { k: { 1: { 0: 'x', 1: 'x' }, 2: 1, 3: 2, kc: 4, km: true } },
    });
  });

  it('goes from empty to full statics, back to empty keeping them, and refills without them', () => {
    const s = new Session(view([]));
    assert.deepEqual(wire(s.update(view(items('a')))), { 0: { s: ['<li id="', '">', '</li>'], k: { 0: { 0: 'a', 1: 'a' }, kc: 1 } } });
    assert.deepEqual(wire(s.update(view([]))), { 0: { k: { kc: 0 } } });
    assert.equal(s.update(view([])), null);
    assert.deepEqual(wire(s.update(view(items('b')))), { 0: { k: { 0: { 0: 'b', 1: 'b' }, kc: 1 } } });
  });

  it('sends the comprehension again when its entries stop sharing one template', () => {
    const big = (x: string) => html`<b>${x}</b>`;
    const small = (x: string) => html`<i>${x}</i>`;
    const v = (xs: string[]) => html`${each(xs, (x) => x, (x) => (x === x.toUpperCase() ? big(x) : small(x)))}`;
    const s = new Session(v(['a', 'b']));
    const d = wire(s.update(v(['a', 'B']))) as { 0: { s: string[]; k: Record<string, unknown> } };
    assert.deepEqual(d[0].s, ['', '']);
    assert.deepEqual(d[0].k, { 0: { 0: { s: ['<i>', '</i>'], 0: 'a' } }, 1: { 0: { s: ['<b>', '</b>'], 0: 'B' } }, kc: 2 });
    // Once mixed, a change of one entry's template touches that entry only.
    assert.deepEqual(wire(s.update(v(['A', 'B']))), { 0: { k: { 0: { 0: { s: ['<b>', '</b>'], 0: 'A' } }, kc: 2 } } });
  });

  it('diffs plain arrays by position, without moves', () => {
    const v = (xs: Dynamic[]) => html`<p>${xs}</p>`;
    const s = new Session(v(['a', 'b']));
    assert.deepEqual(wire(s.update(v(['x', 'a', 'b']))), { 0: { k: { 0: { 0: 'x' }, 1: { 0: 'a' }, 2: { 0: 'b' }, kc: 3 } } });
  });

  it('diffs keyed lists nested in entries', () => {
    const v = (groups: Array<[string, string[]]>) =>
      html`${each(groups, (g) => g[0], (g) => html`<h2>${g[0]}</h2>${each(g[1], (t) => t, (t) => html`<em>${t}</em>`)}`)}`;
    const s = new Session(v([['g', ['x', 'y']]]));
    assert.deepEqual(wire(s.update(v([['g', ['y', 'x', 'z']]]))), {
      0: { k: { 0: { 1: { k: { 0: 1, 1: 0, 2: { 0: 'z' }, kc: 3, km: true } } }, kc: 1 } },
    });
  });

  it('stays correct when keys repeat with the development checks off', () => {
    setDevMode(false);
    const s = new Session(view(items('a b')));
    s.update(view(items('a b a2')));
    s.update(view(items('b1 a3 a4 b2')));
    s.update(view(items('a')));
  });

  it('handles entries of a template without values', () => {
    const v = (xs: number[]) => html`<ul>${each(xs, (x) => x, () => html`<li></li>`)}</ul>`;
    const s = new Session(v([1, 2]));
    assert.deepEqual(wire(s.update(v([2, 1, 3]))), { 0: { k: { 0: 1, 1: 0, 2: {}, kc: 3, km: true } } });
    assert.deepEqual(wire(s.update(v([3]))), { 0: { k: { 0: 2, kc: 1, km: true } } });
    assert.equal(s.update(v([3])), null);
    assert.deepEqual(wire(s.update(v([]))), { 0: { k: { kc: 0 } } });
  });

  it('keeps the entries of a list whose order and keys did not change', () => {
    const v = (n: number) => html`<ul>${each([1, 2, 3], (x) => x, (x) => html`<li>${x === 2 ? n : x}</li>`)}</ul>`;
    const s = new Session(v(0));
    assert.deepEqual(wire(s.update(v(5))), { 0: { k: { 1: { 0: '5' }, kc: 3 } } });
  });
});

describe('shared statics', () => {
  it('puts statics used more than once in a frame into the root "p" table, once', () => {
    const tag = (x: string) => html`<em>${x}</em>`;
    const full = wire(new DiffTracker().mount(html`<p>${tag('a')}${tag('b')}${html`<hr>`}</p>`)) as Rendered;
    assert.deepEqual(full, { s: ['<p>', '', '', '</p>'], 0: { s: 0, 0: 'a' }, 1: { s: 0, 0: 'b' }, 2: { s: ['<hr>'] }, p: { 0: ['<em>', '</em>'] } });
    assert.equal(renderedToHTML(full), '<p><em>a</em><em>b</em><hr></p>');
  });

  it('shares the statics of two comprehensions of the same template, and the client resolves them', () => {
    const li = (x: string) => html`<li>${x}</li>`;
    const view = (a: string[], b: string[]) => html`<ul>${each(a, (x) => x, li)}</ul><ol>${each(b, (x) => x, li)}</ol>`;
    const s = new Session(view(['a'], []));
    const d = wire(s.update(view(['a'], ['b', 'c']))) as Record<string, unknown>;
    assert.deepEqual(d, { 1: { s: ['<li>', '</li>'], k: { 0: { 0: 'b' }, 1: { 0: 'c' }, kc: 2 } } });
    const full = wire(new DiffTracker().mount(view(['a'], ['b']))) as Record<string, { s: unknown }> & { p: unknown };
    assert.equal(full[0]?.s, 0);
    assert.equal(full[1]?.s, 0);
    assert.deepEqual(full.p, { 0: ['<li>', '</li>'] });
    assert.equal(new ClientRendered('phx-p', full as unknown as Rendered).toHTML(), '<ul><li>a</li></ul><ol><li>b</li></ol>');
  });

  it('shares the statics of nodes nested in many entries', () => {
    const row = (n: number) => html`<tr><td>${n}</td>${n % 2 === 0 ? html`<td class="even">${'even'}</td>` : ''}</tr>`;
    const view = (ns: number[]) => html`<table>${each(ns, (n) => n, row)}</table>`;
    const full = wire(new DiffTracker().mount(view([1, 2, 3, 4, 6]))) as Rendered & { p?: Record<string, string[]> };
    assert.deepEqual(full.p, { 0: ['<td class="even">', '</td>'] });
    assert.equal(JSON.stringify(full).split('class=\\"even\\"').length, 2, 'the nested statics travel once');
    const s = new Session(view([1]));
    assert.deepEqual(wire(s.update(view([1, 2, 4]))), {
      0: { k: { 1: { 0: '2', 1: { s: 0, 0: 'even' } }, 2: { 0: '4', 1: { s: 0, 0: 'even' } }, kc: 3 } },
      p: { 0: ['<td class="even">', '</td>'] },
    });
  });
});

describe('sizes', () => {
  // The list part of a toggle must not grow with the list: only the entry and kc travel.
  const toggleDiff = (n: number) => {
    const state = stateWith(n);
    const t = new DiffTracker();
    t.mount(renderTodos(state));
    const at = 41;
    const next = { ...state, todos: state.todos.map((x, i) => (i === at ? { ...x, completed: !x.completed } : x)) };
    return t.diff(renderTodos(next)) as Diff;
  };

  it('sends a toggle in a 1,000-item list in at most 200 bytes of JSON', () => {
    const bytes = Buffer.byteLength(JSON.stringify(toggleDiff(1000)));
    assert.ok(bytes <= 200, `toggle diff is ${bytes} bytes`);
  });

  it('sends the same toggle diff for 100, 1,000 and 10,000 items, bar the digits of the counts', () => {
    const diffs = [100, 1000, 10000].map((n) => JSON.stringify(toggleDiff(n)));
    // kc and the items-left counter are the only numbers that depend on the list's length.
    const counts = (json: string) => (json.match(/"kc":\d+|"0":"\d+"/g) ?? []).join('').length;
    const shapes = diffs.map((json) => json.replace(/"kc":\d+/g, '"kc":N').replace(/"0":"\d+"/g, '"0":"N"'));
    assert.equal(shapes[0], shapes[1]);
    assert.equal(shapes[1], shapes[2]);
    const sizes = diffs.map((json) => json.length - counts(json));
    assert.equal(sizes[0], sizes[2]);
    assert.equal(sizes[1], sizes[2]);
  });

  it('mounts 100 TodoMVC items in at most 14 KB of JSON', () => {
    const bytes = Buffer.byteLength(JSON.stringify(new DiffTracker().mount(renderTodos(stateWith(100)))));
    assert.ok(bytes <= 14 * 1024, `mount is ${bytes} bytes`);
  });

  it('sends a title edit as the changed slots only', () => {
    const state = stateWith(10);
    const s = new Session(renderTodos(state));
    const edited = { ...state, todos: state.todos.map((x) => (x.id === 3 ? { ...x, title: 'new <title>' } : x)) };
    // Slot 6 of the item is the label; slot 1 of the main section is the list.
    assert.equal(todoItem(edited.todos[2] as never, false).values[6], 'new <title>');
    assert.deepEqual(wire(s.update(renderTodos(edited))), { 1: { 1: { k: { 2: { 6: 'new &lt;title&gt;' }, kc: 10 } } } });
  });
});
