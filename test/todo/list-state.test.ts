import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { isTodoLiveError } from '../../src/errors.js';
import { type Mutation, openSqliteStore, type TodoList } from '../../src/store/index.js';
import { applyCommitted } from '../../src/todo/list-state.js';
import { makeTempDir } from '../support/temp-dir.js';

const dir = makeTempDir('list-state');
after(() => dir.remove());

/** A mutation drawn against the current list (ids that exist, and some that do not). */
function mutationFor(list: TodoList): fc.Arbitrary<Mutation> {
  const ids = list.todos.map((t) => t.id);
  const id = ids.length === 0 ? fc.constant(999_999) : fc.oneof(fc.constantFrom(...ids), fc.constant(999_999));
  return fc.oneof(
    fc.string({ minLength: 1, maxLength: 8 }).map((title): Mutation => ({ kind: 'add', title: `t${title}` })),
    id.map((i): Mutation => ({ kind: 'toggle', id: i })),
    fc.tuple(id, fc.boolean()).map(([i, completed]): Mutation => ({ kind: 'set_completed', id: i, completed })),
    fc.boolean().map((completed): Mutation => ({ kind: 'set_all_completed', completed })),
    id.map((i): Mutation => ({ kind: 'rename', id: i, title: 'renamed' })),
    id.map((i): Mutation => ({ kind: 'delete', id: i })),
    fc.constant<Mutation>({ kind: 'clear_completed' }),
    fc.tuple(id, fc.nat({ max: Math.max(0, ids.length - 1) })).map(([i, toIndex]): Mutation => ({ kind: 'move', id: i, toIndex })),
  );
}

const shape = (list: TodoList) => ({ version: list.version, todos: list.todos.map((t) => [t.id, t.title, t.completed]) });

describe('applyCommitted', () => {
  it('advances the cached list exactly as the store does, for any sequence of mutations', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(fc.nat(), { minLength: 1, maxLength: 25 }), async (seeds) => {
        const store = openSqliteStore({ path: join(dir.path, `run-${run++}.db`) });
        try {
          let cached = await store.load('u');
          let op = 0;
          for (const seed of seeds) {
            const mutation = fc.sample(mutationFor(cached), { seed, numRuns: 1 })[0]!;
            let result: Awaited<ReturnType<typeof store.apply>>;
            try {
              result = await store.apply({ userId: 'u', opId: `op-${op++}`, expectedVersion: cached.version, mutation });
            } catch (err) {
              // Refused by the store (unknown id): nothing committed, nothing to apply.
              assert.ok(isTodoLiveError(err), String(err));
              continue;
            }
            cached = applyCommitted(cached, mutation, result);
            assert.deepEqual(shape(cached), shape(await store.load('u')), JSON.stringify(mutation));
          }
        } finally {
          await store.close();
        }
      }),
      { numRuns: 40 },
    );
  });

  it('keeps unchanged todos as the same objects, so every view can share them', () => {
    const list: TodoList = {
      userId: 'u',
      version: 3,
      todos: [{ id: 1, title: 'a', completed: true }],
    };
    const next = applyCommitted(list, { kind: 'set_completed', id: 1, completed: true }, { userId: 'u', opId: 'x', version: 4, duplicate: false, affected: 0 });
    assert.equal(next.todos[0], list.todos[0], 'an unchanged todo is the same object');
    assert.equal(next.version, 4);
  });

  it('copies the list once for a change of one todo and shares every other todo', () => {
    const todos = [1, 2, 3].map((id) => ({ id, title: `t${id}`, completed: false }));
    const list: TodoList = { userId: 'u', version: 1, todos };
    const result = { userId: 'u', version: 2, duplicate: false, affected: 1 };
    for (const mutation of [
      { kind: 'toggle', id: 2 },
      { kind: 'set_completed', id: 2, completed: true },
      { kind: 'rename', id: 2, title: 'renamed' },
    ] as const) {
      const next = applyCommitted(list, mutation, result);
      assert.notEqual(next.todos, todos, `${mutation.kind}: a new array, the old one untouched`);
      assert.deepEqual(todos[1], { id: 2, title: 't2', completed: false }, `${mutation.kind}: the old todo untouched`);
      assert.equal(next.todos[0], todos[0]);
      assert.equal(next.todos[2], todos[2]);
    }
  });

  it('keeps the same array when the change touches nothing (the todo is gone, or already so)', () => {
    const todos = [{ id: 1, title: 'a', completed: true }];
    const list: TodoList = { userId: 'u', version: 1, todos };
    const result = { userId: 'u', version: 2, duplicate: false, affected: 0 };
    assert.equal(applyCommitted(list, { kind: 'set_completed', id: 1, completed: true }, result).todos, todos);
    assert.equal(applyCommitted(list, { kind: 'toggle', id: 9 }, result).todos, todos);
    assert.equal(applyCommitted(list, { kind: 'rename', id: 9, title: 'x' }, result).todos, todos);
  });
});
