/**
 * The behaviour every TodoStore adapter must show, run once per adapter.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import fc from 'fast-check';
import { isTodoLiveError } from '../../src/errors.js';
import type { Mutation, StoreEvent, StoreLimits, TodoStore } from '../../src/store/index.js';
import { TodoModel } from '../support/todo-model.js';

export interface OpenOptions {
  limits?: Partial<StoreLimits>;
  now?: () => number;
  seenResolutionMs?: number;
}

export interface StoreHarness {
  /** A store over a new, empty database, and a way to open that same database again after closing it. */
  fresh(options?: OpenOptions): Promise<{ store: TodoStore; reopen(options?: OpenOptions): Promise<TodoStore> }>;
}

/** Any Unicode scalar value but NUL (fast-check's own 'binary' unit takes seconds to set up). */
const anyCodePoint = fc
  .oneof(fc.integer({ min: 1, max: 0x7f }), fc.integer({ min: 0x80, max: 0xffff }), fc.integer({ min: 0x1_0000, max: 0x10_ffff }))
  .filter((c) => c < 0xd800 || c > 0xdfff)
  .map((c) => String.fromCodePoint(c));

let opSeq = 0;
const nextOp = () => `op-${++opSeq}`;

/** Resolves once `predicate` holds for the events seen so far, or rejects after `ms`. */
export function waitFor(events: StoreEvent[], predicate: (events: StoreEvent[]) => boolean, ms = 3000): Promise<void> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const check = () => {
      if (predicate(events)) resolve();
      else if (Date.now() - started > ms) reject(new Error(`timed out; events seen: ${JSON.stringify(events)}`));
      else setTimeout(check, 5);
    };
    check();
  });
}

async function rejectsWith(promise: Promise<unknown>, code: string, pattern?: RegExp): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(isTodoLiveError(err), `expected a TodoLiveError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (pattern !== undefined) assert.match(err.message, pattern);
    return true;
  });
}

export function describeStoreContract(name: string, harness: StoreHarness): void {
  describe(`${name}: TodoStore contract`, () => {
    const opened: TodoStore[] = [];
    afterEach(async () => {
      for (const s of opened.splice(0)) await s.close();
    });
    async function open(options?: OpenOptions) {
      const h = await harness.fresh(options);
      opened.push(h.store);
      return {
        store: h.store,
        reopen: async (o?: OpenOptions) => {
          const s = await h.reopen(o);
          opened.push(s);
          return s;
        },
      };
    }
    const add = (store: TodoStore, userId: string, title: string, expectedVersion?: number) =>
      store.apply({ userId, opId: nextOp(), mutation: { kind: 'add', title }, ...(expectedVersion === undefined ? {} : { expectedVersion }) });
    const mutate = (store: TodoStore, userId: string, mutation: Mutation) => store.apply({ userId, opId: nextOp(), mutation });
    const titles = async (store: TodoStore, userId: string) => (await store.load(userId)).todos.map((t) => t.title);

    it('loads an unknown user as version 0 with no todos', async () => {
      const { store } = await open();
      assert.deepEqual(await store.load('nobody'), { userId: 'nobody', version: 0, todos: [] });
      assert.equal(await store.version('nobody'), 0);
    });

    it('appends added todos in order with store-assigned ids, times from its clock, one version each', async () => {
      let clock = 1_000;
      const { store } = await open({ now: () => clock });
      const a = await add(store, 'u1', 'first');
      clock = 2_000;
      const b = await add(store, 'u1', 'second');
      assert.equal(a.version, 1);
      assert.equal(b.version, 2);
      assert.equal(a.duplicate, false);
      assert.equal(a.affected, 1);
      assert.ok(a.todoId !== undefined && b.todoId !== undefined && a.todoId !== b.todoId);
      const list = await store.load('u1');
      assert.equal(list.version, 2);
      assert.deepEqual(
        list.todos.map(({ id, title, completed }) => ({ id, title, completed })),
        [
          { id: a.todoId, title: 'first', completed: false },
          { id: b.todoId, title: 'second', completed: false },
        ],
      );
    });

    it('numbers todos per user from 1 and never hands an id out twice in one list', async () => {
      const { store } = await open();
      const alice = [await add(store, 'alice', 'a1'), await add(store, 'alice', 'a2')].map((r) => r.todoId);
      const bob = [await add(store, 'bob', 'b1')].map((r) => r.todoId);
      assert.deepEqual(alice, [1, 2]);
      assert.deepEqual(bob, [1], 'each list has its own numbers');
      await mutate(store, 'alice', { kind: 'delete', id: 2 });
      assert.equal((await add(store, 'alice', 'a3')).todoId, 3, 'the newest id is not reused after its todo is deleted');
      await mutate(store, 'alice', { kind: 'toggle', id: 1 });
      assert.deepEqual((await store.load('alice')).todos, [
        { id: 1, title: 'a1', completed: true },
        { id: 3, title: 'a3', completed: false },
      ]);
      assert.deepEqual((await store.load('bob')).todos, [{ id: 1, title: 'b1', completed: false }], "one list's id names nothing in another");
    });

    it('toggles, sets completed, renames and deletes one todo, updating its time', async () => {
      let clock = 10;
      const { store } = await open({ now: () => clock });
      const { todoId: id } = await add(store, 'u', 'buy milk');
      clock = 20;
      assert.equal((await mutate(store, 'u', { kind: 'toggle', id: id! })).affected, 1);
      let todo = (await store.load('u')).todos[0]!;
      assert.equal(todo.completed, true);
      await mutate(store, 'u', { kind: 'toggle', id: id! });
      assert.equal((await store.load('u')).todos[0]!.completed, false);
      assert.equal((await mutate(store, 'u', { kind: 'set_completed', id: id!, completed: true })).affected, 1);
      const same = await mutate(store, 'u', { kind: 'set_completed', id: id!, completed: true });
      assert.equal(same.affected, 0, 'setting the value it already has changes no row');
      assert.equal(same.version, 5, 'but it is still an applied mutation');
      await mutate(store, 'u', { kind: 'rename', id: id!, title: 'buy oat milk' });
      todo = (await store.load('u')).todos[0]!;
      assert.equal(todo.title, 'buy oat milk');
      assert.equal(todo.completed, true);
      await mutate(store, 'u', { kind: 'delete', id: id! });
      assert.deepEqual(await store.load('u'), { userId: 'u', version: 7, todos: [] });
    });

    it('sets every todo completed or active and clears the completed ones', async () => {
      const { store } = await open();
      for (const t of ['a', 'b', 'c']) await add(store, 'u', t);
      const { todos } = await store.load('u');
      await mutate(store, 'u', { kind: 'toggle', id: todos[1]!.id });
      const all = await mutate(store, 'u', { kind: 'set_all_completed', completed: true });
      assert.equal(all.affected, 2, 'only rows that change count');
      assert.deepEqual((await store.load('u')).todos.map((t) => t.completed), [true, true, true]);
      await mutate(store, 'u', { kind: 'set_all_completed', completed: false });
      await mutate(store, 'u', { kind: 'toggle', id: todos[0]!.id });
      await mutate(store, 'u', { kind: 'toggle', id: todos[2]!.id });
      const cleared = await mutate(store, 'u', { kind: 'clear_completed' });
      assert.equal(cleared.affected, 2);
      assert.deepEqual(await titles(store, 'u'), ['b']);
      const none = await mutate(store, 'u', { kind: 'clear_completed' });
      assert.equal(none.affected, 0);
      assert.equal(none.version, cleared.version + 1);
    });

    it('moves a todo to any index and keeps the others in order', async () => {
      const { store } = await open();
      for (const t of ['a', 'b', 'c', 'd']) await add(store, 'u', t);
      const id = async (title: string) => (await store.load('u')).todos.find((t) => t.title === title)!.id;
      await mutate(store, 'u', { kind: 'move', id: await id('a'), toIndex: 3 });
      assert.deepEqual(await titles(store, 'u'), ['b', 'c', 'd', 'a']);
      await mutate(store, 'u', { kind: 'move', id: await id('d'), toIndex: 0 });
      assert.deepEqual(await titles(store, 'u'), ['d', 'b', 'c', 'a']);
      await mutate(store, 'u', { kind: 'delete', id: await id('b') });
      await mutate(store, 'u', { kind: 'move', id: await id('a'), toIndex: 1 });
      assert.deepEqual(await titles(store, 'u'), ['d', 'a', 'c']);
      await add(store, 'u', 'e');
      assert.deepEqual(await titles(store, 'u'), ['d', 'a', 'c', 'e'], 'a new todo goes last after moves');
      await rejectsWith(mutate(store, 'u', { kind: 'move', id: await id('a'), toIndex: 4 }), 'STORE_INVALID_INPUT', /toIndex below 4/);
    });

    it('refuses a write whose expected version is stale and changes nothing', async () => {
      const { store } = await open();
      await add(store, 'u', 'one', 0);
      await add(store, 'u', 'two', 1);
      await assert.rejects(add(store, 'u', 'three', 1), (err: unknown) => {
        assert.ok(isTodoLiveError(err, 'STORE_VERSION_CONFLICT'));
        assert.deepEqual(err.details, { userId: 'u', expected: 1, actual: 2 });
        assert.match(err.message, /expected version 1, but the stored version is 2/);
        return true;
      });
      assert.deepEqual(await titles(store, 'u'), ['one', 'two']);
      assert.equal(await store.version('u'), 2);
      await rejectsWith(add(store, 'new-user', 'x', 3), 'STORE_VERSION_CONFLICT');
      assert.equal((await store.load('new-user')).version, 0);
    });

    it('applies a retried operation id once and answers the retry with the first result', async () => {
      const { store } = await open();
      const first = await store.apply({ userId: 'u', opId: 'same', expectedVersion: 0, mutation: { kind: 'add', title: 'once' } });
      await add(store, 'u', 'later');
      const retry = await store.apply({ userId: 'u', opId: 'same', expectedVersion: 0, mutation: { kind: 'add', title: 'once' } });
      assert.deepEqual(retry, { ...first, duplicate: true });
      assert.deepEqual(await titles(store, 'u'), ['once', 'later']);
      assert.equal(await store.version('u'), 2);
      const otherUser = await store.apply({ userId: 'v', opId: 'same', mutation: { kind: 'add', title: 'theirs' } });
      assert.equal(otherUser.duplicate, false, 'operation ids are unique per user, not globally');
    });

    it('applies concurrent retries of one operation id once', async () => {
      const { store } = await open();
      const results = await Promise.all(
        Array.from({ length: 5 }, () => store.apply({ userId: 'u', opId: 'dup', mutation: { kind: 'add', title: 'x' } })),
      );
      assert.equal(results.filter((r) => !r.duplicate).length, 1);
      assert.ok(results.every((r) => r.version === 1 && r.todoId === results[0]!.todoId));
      assert.deepEqual(await titles(store, 'u'), ['x']);
    });

    it('does not record the operation id of a refused write, so a corrected retry applies', async () => {
      const { store } = await open();
      await add(store, 'u', 'a');
      await rejectsWith(store.apply({ userId: 'u', opId: 'k', expectedVersion: 0, mutation: { kind: 'add', title: 'b' } }), 'STORE_VERSION_CONFLICT');
      const ok = await store.apply({ userId: 'u', opId: 'k', expectedVersion: 1, mutation: { kind: 'add', title: 'b' } });
      assert.equal(ok.duplicate, false);
      assert.deepEqual(await titles(store, 'u'), ['a', 'b']);
    });

    it("refuses to touch a todo that is not in the user's list, including another user's", async () => {
      const { store } = await open();
      const { todoId } = await add(store, 'alice', 'private');
      for (const mutation of [
        { kind: 'toggle', id: todoId! },
        { kind: 'set_completed', id: todoId!, completed: true },
        { kind: 'rename', id: todoId!, title: 'hacked' },
        { kind: 'delete', id: todoId! },
        { kind: 'move', id: todoId!, toIndex: 0 },
      ] as const) {
        await rejectsWith(mutate(store, 'mallory', mutation), 'STORE_NOT_FOUND', new RegExp(`todo ${todoId}`));
      }
      await rejectsWith(mutate(store, 'alice', { kind: 'toggle', id: 987_654_321 }), 'STORE_NOT_FOUND');
      assert.deepEqual((await store.load('alice')).todos.map((t) => [t.title, t.completed]), [['private', false]]);
      assert.equal(await store.version('alice'), 1);
      assert.equal(await store.version('mallory'), 0);
    });

    it('refuses to add beyond the per-user todo limit', async () => {
      const { store } = await open({ limits: { maxTodosPerUser: 3 } });
      assert.equal(store.limits.maxTodosPerUser, 3);
      for (const t of ['a', 'b', 'c']) await add(store, 'u', t);
      await rejectsWith(add(store, 'u', 'd'), 'STORE_LIMIT_EXCEEDED', /fewer than 3 todos/);
      await add(store, 'other', 'fine');
      await mutate(store, 'u', { kind: 'delete', id: (await store.load('u')).todos[0]!.id });
      await add(store, 'u', 'd');
      assert.deepEqual(await titles(store, 'u'), ['b', 'c', 'd']);
    });

    it('defaults to 500-character titles and 1,000 todos per user', async () => {
      const { store } = await open();
      assert.deepEqual(store.limits, { maxTitleLength: 500, maxTodosPerUser: 1000 });
    });

    it('counts the title limit in code points, accepting exactly the limit', async () => {
      const { store } = await open({ limits: { maxTitleLength: 5 } });
      await add(store, 'u', '😀😀😀😀😀');
      await rejectsWith(add(store, 'u', 'abcdef'), 'STORE_INVALID_INPUT', /at most 5 characters, got 6/);
      await rejectsWith(add(store, 'u', '😀'.repeat(6)), 'STORE_INVALID_INPUT');
      await rejectsWith(
        mutate(store, 'u', { kind: 'rename', id: (await store.load('u')).todos[0]!.id, title: 'x'.repeat(6) }),
        'STORE_INVALID_INPUT',
      );
      assert.deepEqual(await titles(store, 'u'), ['😀😀😀😀😀']);
    });

    it('refuses NUL bytes, unpaired surrogates, empty and 100 KB titles with a clear error', async () => {
      const { store } = await open();
      await rejectsWith(add(store, 'u', 'a\u0000b'), 'STORE_INVALID_INPUT', /NUL/);
      await rejectsWith(add(store, 'u', 'broken \ud800 pair'), 'STORE_INVALID_INPUT', /unpaired surrogate/);
      await rejectsWith(add(store, 'u', ''), 'STORE_INVALID_INPUT', /empty/);
      await rejectsWith(add(store, 'u', 'x'.repeat(100 * 1024)), 'STORE_INVALID_INPUT', /at most 500 characters/);
      assert.equal(await store.version('u'), 0);
    });

    it('refuses malformed requests naming the field at fault', async () => {
      const { store } = await open();
      const bad: [unknown, RegExp][] = [
        [{ userId: '', opId: 'o', mutation: { kind: 'clear_completed' } }, /userId/],
        [{ userId: 'u', opId: '', mutation: { kind: 'clear_completed' } }, /opId/],
        [{ userId: 'u', opId: 'o', mutation: { kind: 'explode' } }, /mutation.kind: expected one of/],
        [{ userId: 'u', opId: 'o', mutation: { kind: 'toggle', id: '1' } }, /id: expected a positive integer/],
        [{ userId: 'u', opId: 'o', mutation: { kind: 'toggle', id: 1.5 } }, /id: expected a positive integer/],
        [{ userId: 'u', opId: 'o', mutation: { kind: 'set_all_completed', completed: 'yes' } }, /completed: expected a boolean/],
        [{ userId: 'u', opId: 'o', mutation: { kind: 'move', id: 1, toIndex: -1 } }, /toIndex/],
        [{ userId: 'u', opId: 'o', expectedVersion: -1, mutation: { kind: 'clear_completed' } }, /expectedVersion/],
        [{ userId: 'u', opId: 'o', mutation: { kind: 'add', title: 42 } }, /title: expected a string, got number 42/],
      ];
      for (const [request, pattern] of bad) {
        await rejectsWith(store.apply(request as never), 'STORE_INVALID_INPUT', pattern);
      }
      await assert.rejects(store.load(''), (err: unknown) => isTodoLiveError(err, 'STORE_INVALID_INPUT'));
    });

    it('stores SQL metacharacters and quotes as plain text', async () => {
      const { store } = await open();
      const nasty = ["'; DROP TABLE todos; --", '" OR 1=1 --', '\\', '%_', '$1', 'Robert\'); DELETE FROM users;--'];
      for (const t of nasty) await add(store, "o'brien; --", t);
      assert.deepEqual(await titles(store, "o'brien; --"), nasty);
    });

    it('round-trips any well-formed Unicode title exactly', async () => {
      const { store } = await open({ limits: { maxTitleLength: 200 } });
      let n = 0;
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(
            fc.string({ unit: anyCodePoint, minLength: 1, maxLength: 60 }),
            fc.string({ unit: 'grapheme', minLength: 1, maxLength: 60 }),
          ),
          async (raw) => {
            const title = raw.replaceAll('\u0000', '\u2400');
            const userId = `prop-${++n}`;
            await add(store, userId, title);
            const [stored] = (await store.load(userId)).todos;
            assert.equal(stored?.title, title);
          },
        ),
        { numRuns: 60 },
      );
    });

    it('matches a reference model over random sequences of mutations', async () => {
      const { store } = await open({ limits: { maxTodosPerUser: 6, maxTitleLength: 20 } });
      let run = 0;
      const command = fc.oneof(
        fc.record({ k: fc.constant('add' as const), title: fc.string({ minLength: 1, maxLength: 8 }).filter((s) => !s.includes('\u0000')) }),
        fc.record({ k: fc.constant('toggle' as const), at: fc.nat(10) }),
        fc.record({ k: fc.constant('delete' as const), at: fc.nat(10) }),
        fc.record({ k: fc.constant('set_completed' as const), at: fc.nat(10), completed: fc.boolean() }),
        fc.record({ k: fc.constant('set_all_completed' as const), completed: fc.boolean() }),
        fc.record({ k: fc.constant('rename' as const), at: fc.nat(10), title: fc.string({ minLength: 1, maxLength: 8 }).filter((s) => !s.includes('\u0000')) }),
        fc.record({ k: fc.constant('clear_completed' as const) }),
        fc.record({ k: fc.constant('move' as const), at: fc.nat(10), to: fc.nat(7) }),
      );
      await fc.assert(
        fc.asyncProperty(fc.array(command, { maxLength: 25 }), async (commands) => {
          const userId = `model-${++run}`;
          const model = new TodoModel();
          for (const c of commands) {
            // Indices past the end name an id that does not exist, exercising refusals.
            const idAt = (at: number) => model.todos[at]?.id ?? 900_000_000 + at;
            const mutation: Mutation =
              c.k === 'add' ? { kind: 'add', title: c.title }
              : c.k === 'toggle' || c.k === 'delete' ? { kind: c.k, id: idAt(c.at) }
              : c.k === 'set_completed' ? { kind: 'set_completed', id: idAt(c.at), completed: c.completed }
              : c.k === 'set_all_completed' ? { kind: 'set_all_completed', completed: c.completed }
              : c.k === 'rename' ? { kind: 'rename', id: idAt(c.at), title: c.title }
              : c.k === 'clear_completed' ? { kind: 'clear_completed' }
              : { kind: 'move', id: idAt(c.at), toIndex: c.to };
            let assigned: number | undefined;
            const accepted = model.apply(mutation, () => -1, 6);
            try {
              const r = await store.apply({ userId, opId: nextOp(), expectedVersion: model.version - (accepted ? 1 : 0), mutation });
              assigned = r.todoId;
              assert.ok(accepted, `store applied ${JSON.stringify(mutation)} which the model refuses`);
              assert.equal(r.version, model.version);
            } catch (err) {
              if (accepted) throw err;
              assert.ok(isTodoLiveError(err), String(err));
              assert.ok(['STORE_NOT_FOUND', 'STORE_LIMIT_EXCEEDED', 'STORE_INVALID_INPUT'].includes(err.code), err.message);
            }
            if (assigned !== undefined) model.todos[model.todos.length - 1]!.id = assigned;
          }
          const list = await store.load(userId);
          assert.equal(list.version, model.version);
          assert.deepEqual(
            list.todos.map(({ id, title, completed }) => ({ id, title, completed })),
            model.todos,
          );
        }),
        { numRuns: 25 },
      );
    });

    it('commits concurrent writes of many users, and one failing write does not fail the others', async () => {
      const { store } = await open();
      const writes = Array.from({ length: 50 }, (_, i) => add(store, `user-${i}`, `todo ${i}`));
      const failing = add(store, 'user-7', 'stale', 0);
      const toggleMissing = mutate(store, 'user-8', { kind: 'toggle', id: 123_456_789 });
      const results = await Promise.allSettled([...writes, failing, toggleMissing]);
      assert.equal(results.slice(0, 50).filter((r) => r.status === 'fulfilled').length, 50);
      assert.equal(results[50]!.status, 'rejected');
      assert.equal(results[51]!.status, 'rejected');
      for (let i = 0; i < 50; i++) {
        assert.deepEqual(await titles(store, `user-${i}`), [`todo ${i}`]);
        assert.equal(await store.version(`user-${i}`), 1);
      }
    });

    it("applies one user's writes in submission order", async () => {
      const { store } = await open();
      await Promise.all(Array.from({ length: 20 }, (_, i) => add(store, 'u', `#${i}`)));
      assert.deepEqual(await titles(store, 'u'), Array.from({ length: 20 }, (_, i) => `#${i}`));
    });

    it('tells subscribers the committed version of each change until they unsubscribe', async () => {
      const { store } = await open();
      const events: StoreEvent[] = [];
      const unsubscribe = store.subscribe((e) => events.push(e));
      store.subscribe(() => {
        throw new Error('a broken listener');
      });
      await add(store, 'u', 'a');
      await add(store, 'u', 'b');
      await add(store, 'v', 'c');
      const changes = (evs: StoreEvent[]) => evs.filter((e) => e.type === 'change');
      await waitFor(events, (evs) => changes(evs).some((e) => e.type === 'change' && e.userId === 'v'));
      await waitFor(events, (evs) => changes(evs).some((e) => e.type === 'change' && e.userId === 'u' && e.version === 2));
      const last = new Map(changes(events).map((e) => [(e as { userId: string }).userId, (e as { version: number }).version]));
      assert.deepEqual(Object.fromEntries(last), { u: 2, v: 1 });
      await store.apply({ userId: 'u', opId: 'dup-check', mutation: { kind: 'clear_completed' } });
      await waitFor(events, (evs) => changes(evs).some((e) => e.type === 'change' && e.version === 3));
      unsubscribe();
      const seen = events.length;
      await add(store, 'u', 'unheard');
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(events.length, seen);
    });

    it('counts the retention of a completed todo from its last change, not from its creation', async () => {
      let clock = 10;
      const { store } = await open({ now: () => clock });
      const { todoId: id } = await add(store, 'u', 'done late');
      clock = 20;
      await mutate(store, 'u', { kind: 'set_completed', id: id!, completed: true });
      clock = 35;
      // Cutoff 15: created before it, completed after it.
      assert.equal((await store.cleanup({ completedRetentionMs: 20, userRetentionMs: 1_000 })).todosDeleted, 0);
      assert.deepEqual(await titles(store, 'u'), ['done late']);
      // Cutoff 25: the last change is older.
      assert.equal((await store.cleanup({ completedRetentionMs: 10, userRetentionMs: 1_000 })).todosDeleted, 1);
      assert.deepEqual(await titles(store, 'u'), []);
    });

    it('touches users and cleans up old completed todos, inactive users and old operation ids', async () => {
      const day = 86_400_000;
      let clock = 100 * day;
      const { store } = await open({ now: () => clock });
      const events: StoreEvent[] = [];
      store.subscribe((e) => events.push(e));
      const { todoId: oldDone } = await add(store, 'active', 'old and done');
      await mutate(store, 'active', { kind: 'toggle', id: oldDone! });
      await add(store, 'active', 'old but open');
      await add(store, 'idle', 'forgotten');
      await store.apply({ userId: 'active', opId: 'remembered?', mutation: { kind: 'clear_completed' } });
      clock += 40 * day;
      const { todoId: freshDone } = await add(store, 'active', 'recently done');
      await mutate(store, 'active', { kind: 'toggle', id: freshDone! });
      await store.touch('active');
      await store.touch('only-seen');
      const before = await store.version('active');
      const result = await store.cleanup({ completedRetentionMs: 30 * day, userRetentionMs: 20 * day, operationRetentionMs: 10 * day });
      assert.equal(result.usersDeleted, 1, 'idle was last seen 40 days ago');
      assert.equal(result.todosDeleted, 0, 'the old completed todo was cleared already');
      assert.ok(result.operationsDeleted >= 3);
      assert.deepEqual(await titles(store, 'idle'), []);
      assert.equal(await store.version('idle'), 0);
      assert.deepEqual(await titles(store, 'active'), ['old but open', 'recently done']);
      assert.equal(await store.version('active'), before, 'nothing of active was deleted');

      clock += 31 * day;
      await store.touch('active');
      const second = await store.cleanup({ completedRetentionMs: 30 * day, userRetentionMs: 20 * day });
      assert.deepEqual(
        { todos: second.todosDeleted, users: second.usersDeleted },
        { todos: 1, users: 1 },
        'the completed todo is now 31 days old; only-seen was last seen 31 days ago',
      );
      assert.deepEqual(await titles(store, 'active'), ['old but open']);
      assert.equal(await store.version('active'), before + 1, 'deleting todos is a change: the version moves');
      await waitFor(events, (evs) => evs.some((e) => e.type === 'change' && e.userId === 'active' && e.version === before + 1));
      const again = await store.apply({ userId: 'active', opId: 'remembered?', mutation: { kind: 'clear_completed' } });
      assert.equal(again.duplicate, false, 'operation ids past their retention are forgotten');
    });

    it('keeps last seen to the configured resolution: a touch within it writes nothing', async () => {
      const day = 86_400_000;
      let clock = 100 * day;
      const { store } = await open({ now: () => clock, seenResolutionMs: 10 * day });
      await store.touch('steady');
      await store.touch('returning');
      clock += 5 * day;
      await store.touch('steady'); // within the resolution: last seen stays at day 100
      clock += 6 * day;
      await store.touch('returning'); // 11 days on: written, last seen day 111
      clock += 10 * day;
      const result = await store.cleanup({ completedRetentionMs: 30 * day, userRetentionMs: 20 * day });
      assert.equal(result.usersDeleted, 1, 'steady was last recorded 21 days ago, returning 10 days ago');
      await store.touch('steady');
      assert.equal(await store.version('steady'), 0);
      assert.equal((await store.cleanup({ completedRetentionMs: 30 * day, userRetentionMs: 20 * day })).usersDeleted, 0, 'a deleted user is created again by its next touch');
    });

    it('keeps last seen to the resolution when each touch follows a load, whatever was loaded in between', async () => {
      const day = 86_400_000;
      let clock = 100 * day;
      const { store } = await open({ now: () => clock, seenResolutionMs: 10 * day });
      await store.touch('a');
      await store.touch('b');
      clock += 5 * day;
      await store.load('a');
      await store.touch('a'); // day 105, within the resolution: a stays at day 100
      await store.load('b'); // read at day 105: b seen at day 100
      await store.load('c'); // unknown
      await store.touch('c'); // created, seen day 105
      clock += 6 * day;
      await store.touch('b'); // day 111: b was read seen at day 100 before c's load, so written now
      await store.load('a');
      await store.load('b');
      await store.touch('a'); // another user loaded since a's load: day 111, 11 days on, written
      clock += 10 * day; // day 121
      const cleanup = () => store.cleanup({ completedRetentionMs: 30 * day, userRetentionMs: 20 * day });
      assert.equal((await cleanup()).usersDeleted, 0, 'a and b last seen day 111, c day 105');
      clock += 5 * day; // day 126
      assert.equal((await cleanup()).usersDeleted, 1, 'c, seen 21 days ago, goes; a and b stay');
      assert.equal((await store.load('a')).version, 0);
    });

    it('creates a user a cleanup deleted again at its next touch, even right after a load', async () => {
      const day = 86_400_000;
      let clock = 100 * day;
      const { store } = await open({ now: () => clock, seenResolutionMs: 10 * day });
      await store.touch('x');
      clock += day;
      await store.load('x'); // day 101: x seen at day 100
      clock += 5 * day;
      const cleanup = () => store.cleanup({ completedRetentionMs: 30 * day, userRetentionMs: 5 * day });
      assert.equal((await cleanup()).usersDeleted, 1, 'x, last seen six days ago, goes');
      await store.touch('x'); // day 106: created again, seen now
      clock += 6 * day;
      assert.equal((await cleanup()).usersDeleted, 1, 'x existed again, seen six days before this cleanup');
    });

    it('applies a mutation without an operation id every time it is sent, and records no id for it', async () => {
      const day = 86_400_000;
      let clock = 100 * day;
      const { store } = await open({ now: () => clock });
      const added = await store.apply({ userId: 'u', opId: 'add-1', mutation: { kind: 'add', title: 'one' } });
      const set = { userId: 'u', mutation: { kind: 'set_completed', id: added.todoId!, completed: true } } as const;
      const first = await store.apply({ ...set, expectedVersion: 1 });
      const again = await store.apply(set);
      assert.deepEqual([first.version, first.duplicate, first.affected, 'opId' in first], [2, false, 1, false]);
      assert.deepEqual([again.version, again.duplicate, again.affected], [3, false, 0], 'applied again: nothing to recognise it by');
      await store.apply({ userId: 'u', mutation: { kind: 'delete', id: added.todoId! } });
      await rejectsWith(store.apply({ userId: 'u', mutation: { kind: 'delete', id: added.todoId! } }), 'STORE_NOT_FOUND');
      clock += 11 * day;
      const result = await store.cleanup({ completedRetentionMs: 30 * day, userRetentionMs: 365 * day, operationRetentionMs: 10 * day });
      assert.equal(result.operationsDeleted, 1, 'only the add had its id recorded');
    });

    it('records last seen on a write made past the resolution', async () => {
      const day = 86_400_000;
      let clock = 100 * day;
      const { store } = await open({ now: () => clock, seenResolutionMs: 10 * day });
      await add(store, 'writer', 'first');
      await add(store, 'idle', 'first');
      clock += 11 * day;
      await add(store, 'writer', 'later'); // last seen day 111
      clock += 10 * day;
      const result = await store.cleanup({ completedRetentionMs: 30 * day, userRetentionMs: 20 * day });
      assert.equal(result.usersDeleted, 1, 'idle was last seen 21 days ago, writer 10 days ago');
      assert.equal(await store.version('writer'), 2);
    });

    it('finishes pending writes on close, then refuses work with STORE_CLOSED', async () => {
      const { store, reopen } = await open();
      const pending = Array.from({ length: 10 }, (_, i) => add(store, 'u', `t${i}`));
      await store.close();
      const results = await Promise.allSettled(pending);
      assert.ok(results.every((r) => r.status === 'fulfilled'), JSON.stringify(results));
      await rejectsWith(add(store, 'u', 'late'), 'STORE_CLOSED');
      await rejectsWith(store.load('u'), 'STORE_CLOSED');
      await store.close();
      const again = await reopen();
      assert.equal((await again.load('u')).todos.length, 10);
      assert.equal(await again.version('u'), 10);
    });
  });
}

/**
 * The lists of a schema-2 database after migration 3, as both adapters' upgrade tests seed it:
 * users ann (todos 11, 13, 16; positions 1, 0, 2) and bo (12, 15), global ids as they were
 * handed out among both; operation ids `add-a3` (todo 16), `add-gone` (todo 14, since deleted)
 * and `toggle` (no todo).
 */
export async function assertRenumberedPerUser(store: TodoStore): Promise<void> {
  assert.deepEqual(await store.load('ann'), {
    userId: 'ann',
    version: 4,
    todos: [
      { id: 2, title: 'a-second', completed: true },
      { id: 1, title: 'a-first', completed: false },
      { id: 3, title: 'a-third', completed: false },
    ],
  });
  assert.deepEqual((await store.load('bo')).todos, [
    { id: 1, title: 'b-first', completed: true },
    { id: 2, title: 'b-second', completed: false },
  ]);
  const retried = await store.apply({ userId: 'ann', opId: 'add-a3', mutation: { kind: 'add', title: 'a-third' } });
  assert.deepEqual([retried.duplicate, retried.todoId], [true, 3], 'a retried add names its todo by the new id');
  const gone = await store.apply({ userId: 'bo', opId: 'add-gone', mutation: { kind: 'add', title: 'x' } });
  assert.deepEqual([gone.duplicate, gone.todoId], [true, undefined], 'an add whose todo was deleted keeps no id');
  assert.equal((await store.apply({ userId: 'ann', opId: 'next', mutation: { kind: 'add', title: 'a-fourth' } })).todoId, 4);
  await store.apply({ userId: 'bo', opId: 'move', mutation: { kind: 'move', id: 2, toIndex: 0 } });
  assert.deepEqual((await store.load('bo')).todos.map((t) => t.id), [2, 1]);
}
