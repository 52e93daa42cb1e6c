// Conformance with the real client: for random sequences of state changes, the official
// phoenix_live_view 1.2.12 merge, fed our mount and then our diffs, must hold exactly the HTML of
// a fresh full render after every step, and every frame must be well formed.

import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import fc from 'fast-check';
import { DiffTracker } from '../../src/live/diff.js';
import { renderedToHTML } from '../../src/live/render-html.js';
import { setDevMode, type Template } from '../../src/live/template.js';
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

  it('stays correct with repeated keys when the development checks are off', () => {
    setDevMode(false);
    const states = fc.array(showcase(fc.array(row, { maxLength: 6 })), { minLength: 1, maxLength: 8 });
    fc.assert(
      fc.property(states, (sequence) => replay(sequence.map(renderShowcase))),
      { numRuns: Math.ceil(RUNS / 2) },
    );
  });
});
