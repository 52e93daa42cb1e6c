// Conformance with the real client: for random sequences of state changes, the official
// phoenix_live_view 1.2.12 merge, fed our mount and then our diffs, must hold exactly the HTML of
// a fresh full render after every step, and every frame must be well formed.

import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import fc from 'fast-check';
import { DiffTracker } from '../../src/live/diff.js';
import { renderedToHTML } from '../../src/live/render-html.js';
import { attr, type Dynamic, each, html, setDevMode, type Template } from '../../src/live/template.js';
import { type Group, renderShowcase, type Row, type ShowcaseState } from '../fixtures/templates/showcase.js';
import { applyTodoChange, type Filter, renderTodos, stateWith, type TodoChange } from '../fixtures/templates/todo-list.js';
import { ClientRendered, clientDiagnostics } from '../support/client-rendered.js';
import { assertWellFormed } from '../support/wire-invariants.js';

const RUNS = Number(process.env.CONFORMANCE_RUNS ?? 250);

const wire = (x: unknown): unknown => JSON.parse(JSON.stringify(x));

/** Text that tries to break out of every context it can land in. */
const hostile = fc.oneof(
  { weight: 3, arbitrary: fc.string({ maxLength: 10 }) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      '<script>alert(1)</script>',
      '"><img src=x onerror=alert(1)>',
      "' onmouseover='alert(1)",
      '&amp; &lt;',
      '</li></ul></section>',
      '<!-- -->',
      '{{x}} #{x} %{x}',
      '\u2028\u0000',
      '😀 é',
      '',
    ),
  },
);

/** Runs one sequence of templates through a tracker and the real client, checking every step. */
function replay(templates: Template[]): void {
  const [first, ...rest] = templates;
  if (first === undefined) return;
  const tracker = new DiffTracker();
  const mount = tracker.mount(first);
  assertWellFormed(wire(mount), { full: true });
  const client = new ClientRendered('phx-conformance', mount);
  assert.equal(client.toHTML(), renderedToHTML(mount));
  for (const t of rest) {
    const diff = tracker.diff(t);
    if (diff !== null) {
      assertWellFormed(wire(diff), { full: false });
      client.merge(diff);
    }
    const fresh = new DiffTracker().mount(t);
    const expected = renderedToHTML(fresh);
    assert.equal(client.toHTML(), expected);
    assert.equal(new ClientRendered('phx-fresh', fresh).toHTML(), expected);
    // Nothing is left over: the same render again changes nothing.
    assert.equal(tracker.diff(t), null);
  }
  assert.deepEqual(clientDiagnostics, []);
}

const at = fc.nat(40);
const todoChange: fc.Arbitrary<TodoChange> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('add' as const), title: hostile, at }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('delete' as const), at }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('toggle' as const), at }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('rename' as const), at, title: hostile }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('move' as const), from: at, to: at }) },
  fc.constant({ kind: 'reverse' as const }),
  fc.constant({ kind: 'toggleAll' as const }),
  fc.constant({ kind: 'clearCompleted' as const }),
  fc.record({ kind: fc.constant('filter' as const), filter: fc.constantFrom<Filter>('all', 'active', 'completed') }),
  fc.record({ kind: fc.constant('edit' as const), at: fc.option(at) }),
  fc.record({ kind: fc.constant('draft' as const), text: hostile }),
  fc.constant({ kind: 'clear' as const }),
);

const groupId = fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f');
const group: fc.Arbitrary<Group> = fc.record({
  id: groupId,
  name: hostile,
  tags: fc.uniqueArray(fc.constantFrom('x', 'y', 'z', 'w', '<t>'), { maxLength: 4 }),
  note: fc.option(hostile),
  starred: fc.boolean(),
});
const row: fc.Arbitrary<Row> = fc.record({ key: fc.nat(7), big: fc.boolean(), label: hostile });

const showcase = (rows: fc.Arbitrary<Row[]>): fc.Arbitrary<ShowcaseState> =>
  fc.record({
    page: fc.constantFrom('board' as const, 'board' as const, 'board' as const, 'empty' as const),
    banner: fc.constantFrom('none' as const, 'info' as const, 'warning' as const),
    message: hostile,
    count: fc.integer({ min: -5, max: 5 }),
    groups: fc.uniqueArray(group, { selector: (g) => g.id, maxLength: 5 }),
    rows,
    extras: fc.array(fc.oneof(hostile, fc.integer(), fc.boolean(), fc.constant(null)), { maxLength: 5 }),
    trusted: fc.constantFrom('', '<hr>', '<b>bold</b>'),
  });

// --- keyed lists remembered by their inputs -------------------------------------------------------------------
// A list view whose states share item objects, arrays and contexts with earlier states (as an
// immutable model does), so that the memo diff meets every mix of reused and replaced inputs.

interface MemoItem {
  readonly id: number;
  readonly label: string;
  readonly flag: boolean;
  readonly big: boolean;
  readonly tags: readonly string[];
}
interface MemoContext {
  readonly highlight: number | null;
  readonly showTags: boolean;
  readonly editing: number | null;
}
type Renderer = 'plain' | 'alt' | 'mixed';
interface MemoState {
  readonly items: readonly MemoItem[];
  readonly ctx: MemoContext;
  readonly renderer: Renderer;
  readonly form: 'memo' | 'eager';
  readonly nextId: number;
}

const memoTag = (t: string, ctx: MemoContext): Template => html`<b class="${ctx.highlight === null ? '' : 'lit'}">${t}</b>`;
const plainItem = (it: MemoItem, ctx: MemoContext): Template =>
  html`<li id="m-${it.id}" class="${ctx.highlight === it.id ? 'hl' : ''}"${attr('data-flag', it.flag)}>${it.label}${
    ctx.showTags ? html`<span>${each(it.tags, (t) => t, memoTag, ctx)}</span>` : ''
  }${ctx.editing === it.id ? html`<form><input value="${it.label}">${it.flag ? html`<p>${it.label}</p>` : ''}</form>` : ''}</li>`;
const altItem = (it: MemoItem, ctx: MemoContext): Template => html`<tr id="m-${it.id}"><td>${it.label}</td><td>${ctx.editing === it.id ? 'editing' : ''}</td></tr>`;
const mixedItem = (it: MemoItem, ctx: MemoContext): Dynamic => (it.big ? html`<h3>${it.label}</h3>` : plainItem(it, ctx));
const renderers: Record<Renderer, (it: MemoItem, ctx: MemoContext) => Dynamic> = { plain: plainItem, alt: altItem, mixed: mixedItem };

/** The view in either form; the eager form is what the memo form must match frame for frame. */
function renderMemoState(s: MemoState, form = s.form): Template {
  const render = renderers[s.renderer];
  const list = form === 'memo' ? each(s.items, (it) => it.id, render, s.ctx) : each(s.items, (it) => it.id, (it) => render(it, s.ctx));
  return html`<section>${list}</section><p>${s.items.length}</p>`;
}

type MemoChange =
  | { kind: 'add'; at: number; label: string; flag: boolean; big: boolean; tags: string[]; id: number | null }
  | { kind: 'delete'; at: number }
  | { kind: 'move'; from: number; to: number }
  | { kind: 'change'; at: number; label: string | null; flag: boolean | null; big: boolean | null; tags: string[] | null }
  | { kind: 'clone'; at: number }
  | { kind: 'reverse' }
  | { kind: 'copyArray' }
  | { kind: 'same' }
  | { kind: 'context'; highlight: number | null; showTags: boolean | null; editing: number | null }
  | { kind: 'cloneContext' }
  | { kind: 'renderer'; renderer: Renderer }
  | { kind: 'form' }
  | { kind: 'back'; steps: number }
  | { kind: 'clear' };

/** One change; positions wrap, `back` returns to an earlier state (its very arrays and objects). */
function applyMemoChange(history: readonly MemoState[], c: MemoChange): MemoState {
  const s = history[history.length - 1] as MemoState;
  const n = s.items.length;
  const pick = (at: number) => (n === 0 ? -1 : at % n);
  const ids = (at: number | null) => (at === null || n === 0 ? null : (s.items[at % n] as MemoItem).id);
  switch (c.kind) {
    case 'add': {
      const items = [...s.items];
      items.splice(c.at % (n + 1), 0, { id: c.id ?? s.nextId, label: c.label, flag: c.flag, big: c.big, tags: c.tags });
      return { ...s, items, nextId: s.nextId + 1 };
    }
    case 'delete': {
      const i = pick(c.at);
      return i < 0 ? s : { ...s, items: s.items.filter((_, j) => j !== i) };
    }
    case 'move': {
      const from = pick(c.from);
      if (from < 0) return s;
      const items = [...s.items];
      const [it] = items.splice(from, 1);
      items.splice(c.to % n, 0, it as MemoItem);
      return { ...s, items };
    }
    case 'change': {
      const i = pick(c.at);
      return {
        ...s,
        items: s.items.map((it, j) =>
          j === i ? { ...it, label: c.label ?? it.label, flag: c.flag ?? it.flag, big: c.big ?? it.big, tags: c.tags ?? it.tags } : it,
        ),
      };
    }
    case 'clone': {
      const i = pick(c.at);
      return { ...s, items: s.items.map((it, j) => (j === i ? { ...it } : it)) };
    }
    case 'reverse':
      return { ...s, items: [...s.items].reverse() };
    case 'copyArray':
      return { ...s, items: [...s.items] };
    case 'same':
      return { ...s };
    case 'context':
      return {
        ...s,
        ctx: { highlight: ids(c.highlight), showTags: c.showTags ?? s.ctx.showTags, editing: ids(c.editing) },
      };
    case 'cloneContext':
      return { ...s, ctx: { ...s.ctx } };
    case 'renderer':
      return { ...s, renderer: c.renderer };
    case 'form':
      return { ...s, form: s.form === 'memo' ? 'eager' : 'memo' };
    case 'back': {
      const earlier = history[Math.max(0, history.length - 1 - c.steps)] as MemoState;
      // Ids stay unique: an earlier state's items come back, new ones continue the count.
      return { ...earlier, nextId: s.nextId };
    }
    case 'clear':
      return { ...s, items: [] };
  }
}

const tags = fc.uniqueArray(fc.constantFrom('x', 'y', 'z', 'w', '<t>'), { maxLength: 4 });
/** Changes; `repeatIds` lets an added item take the id of another (development checks off only). */
const memoChange = (withForms: boolean, repeatIds = false): fc.Arbitrary<MemoChange> =>
  fc.oneof(
    {
      weight: 3,
      arbitrary: fc.record({
        kind: fc.constant('add' as const),
        at,
        label: hostile,
        flag: fc.boolean(),
        big: fc.boolean(),
        tags,
        id: repeatIds ? fc.option(fc.integer({ min: 1, max: 4 })) : fc.constant(null),
      }),
    },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('delete' as const), at }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('move' as const), from: at, to: at }) },
    {
      weight: 4,
      arbitrary: fc.record({
        kind: fc.constant('change' as const),
        at,
        label: fc.option(hostile),
        flag: fc.option(fc.boolean()),
        big: fc.option(fc.boolean()),
        tags: fc.option(tags),
      }),
    },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('clone' as const), at }) },
    fc.constant({ kind: 'reverse' as const }),
    fc.constant({ kind: 'copyArray' as const }),
    fc.constant({ kind: 'same' as const }),
    {
      weight: 3,
      arbitrary: fc.record({ kind: fc.constant('context' as const), highlight: fc.option(at), showTags: fc.option(fc.boolean()), editing: fc.option(at) }),
    },
    fc.constant({ kind: 'cloneContext' as const }),
    fc.record({ kind: fc.constant('renderer' as const), renderer: fc.constantFrom<Renderer>('plain', 'plain', 'alt', 'mixed') }),
    ...(withForms ? [fc.constant({ kind: 'form' as const })] : []),
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('back' as const), steps: fc.nat(6) }) },
    fc.constant({ kind: 'clear' as const }),
  );

const memoStart = (n: number): MemoState => ({
  items: Array.from({ length: n }, (_, i) => ({ id: i + 1, label: `item ${i + 1}`, flag: i % 2 === 0, big: i % 4 === 3, tags: i % 3 === 0 ? ['x', 'y'] : [] })),
  ctx: { highlight: null, showTags: n % 2 === 0, editing: null },
  renderer: 'plain',
  form: 'memo',
  nextId: n + 1,
});

function memoHistory(n: number, changes: readonly MemoChange[]): MemoState[] {
  const history = [memoStart(n)];
  for (const change of changes) history.push(applyMemoChange(history, change));
  return history;
}

describe('conformance with the phoenix_live_view 1.2.12 client', () => {
  afterEach(() => setDevMode(true));

  it('keeps the client identical to a fresh render through random TodoMVC changes', () => {
    fc.assert(
      fc.property(fc.nat(6), fc.array(todoChange, { maxLength: 25 }), (n, changes) => {
        let state = stateWith(n);
        const templates = [renderTodos(state)];
        for (const change of changes) {
          state = applyTodoChange(state, change);
          templates.push(renderTodos(state));
        }
        replay(templates);
      }),
      { numRuns: RUNS },
    );
  });

  it('keeps the client identical to a fresh render through random states of nested lists, conditionals and root changes', () => {
    const states = fc.array(showcase(fc.uniqueArray(row, { selector: (r) => r.key, maxLength: 6 })), { minLength: 1, maxLength: 10 });
    fc.assert(
      fc.property(states, (sequence) => replay(sequence.map(renderShowcase))),
      { numRuns: RUNS },
    );
  });

  it('keeps the client identical to a fresh render through random changes of memo lists: reused items, contexts, moves, forms', () => {
    fc.assert(
      fc.property(fc.nat(8), fc.array(memoChange(true), { maxLength: 25 }), (n, changes) => {
        replay(memoHistory(n, changes).map((s) => renderMemoState(s)));
      }),
      { numRuns: RUNS },
    );
  });

  it('sends, for memo lists, exactly the frames of the eager form', () => {
    fc.assert(
      fc.property(fc.nat(8), fc.array(memoChange(false), { maxLength: 25 }), (n, changes) => {
        const [first, ...rest] = memoHistory(n, changes);
        const memo = new DiffTracker();
        const eager = new DiffTracker();
        assert.deepEqual(wire(memo.mount(renderMemoState(first as MemoState, 'memo'))), wire(eager.mount(renderMemoState(first as MemoState, 'eager'))));
        for (const s of rest) assert.deepEqual(wire(memo.diff(renderMemoState(s, 'memo'))), wire(eager.diff(renderMemoState(s, 'eager'))));
      }),
      { numRuns: RUNS },
    );
  });

  it('stays correct with repeated keys when the development checks are off', () => {
    setDevMode(false);
    const states = fc.array(showcase(fc.array(row, { maxLength: 6 })), { minLength: 1, maxLength: 8 });
    fc.assert(
      fc.property(states, (sequence) => replay(sequence.map(renderShowcase))),
      { numRuns: Math.ceil(RUNS / 2) },
    );
  });

  it('stays correct with repeated keys in memo lists when the development checks are off, frame for frame with the eager form', () => {
    setDevMode(false);
    fc.assert(
      fc.property(fc.nat(6), fc.array(memoChange(false, true), { maxLength: 20 }), (n, changes) => {
        const history = memoHistory(n, changes);
        replay(history.map((s) => renderMemoState(s)));
        const [first, ...rest] = history;
        const memo = new DiffTracker();
        const eager = new DiffTracker();
        memo.mount(renderMemoState(first as MemoState, 'memo'));
        eager.mount(renderMemoState(first as MemoState, 'eager'));
        for (const s of rest) assert.deepEqual(wire(memo.diff(renderMemoState(s, 'memo'))), wire(eager.diff(renderMemoState(s, 'eager'))));
      }),
      { numRuns: Math.ceil(RUNS / 2) },
    );
  });
});
