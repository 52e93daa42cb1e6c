import assert from 'node:assert/strict';
import { unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, describe, it } from 'node:test';
import { isTodoLiveError } from '../../src/errors.js';
import { openSqliteStore, type SqliteStoreOptions, type SqliteTodoStore } from '../../src/store/index.js';
import { openDatabase } from '../../src/store/sqlite-handles.js';
import { writerThreadOf } from '../../src/store/sqlite-store.js';
import { makeTempDir } from '../support/temp-dir.js';

const dir = makeTempDir('sqlite-writer-thread');
after(() => dir.remove());
let files = 0;
const freshPath = () => join(dir.path, `db-${++files}.sqlite`);

const add = (store: SqliteTodoStore, userId: string, title: string) =>
  store.apply({ userId, opId: `${userId}-${title}`, mutation: { kind: 'add', title } });

const isLost = (err: unknown) => isTodoLiveError(err, 'STORE_CONNECTION_LOST') && /SQLite writer thread/.test(err.message);

describe('SQLite store writer thread', () => {
  const opened: SqliteTodoStore[] = [];
  const open = (options: Partial<SqliteStoreOptions> = {}) => {
    const s = openSqliteStore({ path: freshPath(), ...options });
    opened.push(s);
    return s;
  };
  afterEach(async () => {
    for (const s of opened.splice(0)) await s.close();
  });

  it('keeps the event loop turning while a batch is committed', async () => {
    const store = open();
    await add(store, 'warm', 'up');
    // 2,000 writes in one turn: one batch that takes the writer many milliseconds.
    let committed = false;
    const batch = Promise.all(Array.from({ length: 2000 }, (_, i) => add(store, `u${i}`, 'x'))).then(() => {
      committed = true;
    });
    let turns = 0;
    while (!committed) {
      await new Promise((r) => setImmediate(r));
      turns++;
    }
    await batch;
    assert.equal(store.stats().commits, 2, 'the 2,000 writes shared one commit');
    // With the commit on the main thread the batch settles in the turn that runs it.
    assert.ok(turns >= 3, `expected the event loop to turn during the commit, it turned ${turns} time(s)`);
  });

  it('commits together, in the order they were sent, the batches that reach it while it is committing', async () => {
    const path = freshPath();
    const store = open({ path });
    await add(store, 'warm', 'up');
    // Another connection holds the write lock, so the writer's next commit waits for it.
    const blocker = openDatabase(path);
    blocker.exec('BEGIN IMMEDIATE');
    const first = add(store, 'a', 'first');
    await new Promise((r) => setTimeout(r, 20));
    // Ten batches, one per turn, sent while the writer waits: they queue behind it.
    const later: Promise<unknown>[] = [];
    for (let i = 0; i < 10; i++) {
      later.push(add(store, 'b', `x${i}`));
      await new Promise((r) => setImmediate(r));
    }
    blocker.exec('COMMIT');
    blocker.close();
    // They were sent already: the writer commits them while this thread is still busy here.
    const reader = openDatabase(path, { readonly: true });
    const count = reader.prepare("SELECT count(*) FROM todos WHERE user_id = 'b'").pluck();
    const deadline = performance.now() + 5000;
    while (count.get() !== 10 && performance.now() < deadline);
    assert.equal(count.get(), 10, 'the ten writes committed without this thread sending anything more');
    reader.close();
    await Promise.all([first, ...later]);
    assert.deepEqual(store.stats(), { commits: 3, writes: 12 }, 'the warm-up, the first write alone, then the ten in one commit');
    const list = await store.load('b');
    assert.deepEqual(list.todos.map((t) => t.title), Array.from({ length: 10 }, (_, i) => `x${i}`));
    assert.equal(list.version, 10);
  });

  it('lets a read that follows an acknowledged write see it, while other writes are being committed', async () => {
    const store = open();
    await Promise.all(
      Array.from({ length: 100 }, async (_, u) => {
        for (let i = 0; i < 5; i++) {
          const { version } = await add(store, `user-${u}`, `t${i}`);
          const list = await store.load(`user-${u}`);
          assert.equal(list.version, version);
          assert.equal(list.todos.at(-1)?.title, `t${i}`);
          assert.equal(await store.version(`user-${u}`), version);
        }
      }),
    );
  });

  it('fails pending and later writes with STORE_CONNECTION_LOST when the thread dies, and still reads and closes', async () => {
    const store = open();
    const pending = Array.from({ length: 50 }, (_, i) => add(store, `p${i}`, 'never written'));
    await new Promise((r) => setImmediate(r)); // the batch is posted; the thread is still starting
    await writerThreadOf(store)!.terminate();
    for (const r of await Promise.allSettled(pending)) {
      assert.equal(r.status, 'rejected');
      assert.ok(isLost(r.reason), String(r.reason));
    }
    await assert.rejects(add(store, 'u', 'after'), isLost);
    await assert.rejects(store.touch('u'), isLost);
    await assert.rejects(store.cleanup({ completedRetentionMs: 1, userRetentionMs: 1 }), isLost);
    assert.deepEqual(await store.load('p0'), { userId: 'p0', version: 0, todos: [] });
    await store.close();
    await assert.rejects(add(store, 'u', 'closed'), (err: unknown) => isTodoLiveError(err, 'STORE_CLOSED'));
  });

  it('settles a batch that was being committed when the thread died, and refuses the writes after it', async () => {
    const store = open();
    await add(store, 'u', 'before');
    const inFlight = Array.from({ length: 500 }, (_, i) => add(store, `f${i}`, 'maybe written'));
    await new Promise((r) => setImmediate(r));
    await writerThreadOf(store)!.terminate();
    // Committed or not, each one settles; a failure is the typed one (a retry with the same opId is safe).
    for (const r of await Promise.allSettled(inFlight)) {
      if (r.status === 'rejected') assert.ok(isLost(r.reason), String(r.reason));
    }
    await assert.rejects(add(store, 'u', 'after'), isLost);
    assert.deepEqual((await store.load('u')).todos.map((t) => t.title), ['before']);
  });

  it('fails writes with a typed error when the thread cannot open the database', async () => {
    const path = freshPath();
    const store = open({ path });
    // The main thread holds the file open; the writer thread, still starting, finds no file.
    unlinkSync(path);
    await assert.rejects(add(store, 'u', 'nowhere'), (err: unknown) => {
      assert.ok(isTodoLiveError(err, 'STORE_CONNECTION_LOST'), String(err));
      assert.match(err.message, /writer connection/);
      return true;
    });
    await assert.rejects(add(store, 'u', 'still nowhere'), (err: unknown) => isTodoLiveError(err, 'STORE_CONNECTION_LOST'));
  });

  it('ends the thread on close, after the writes queued before it', async () => {
    const path = freshPath();
    const store = openSqliteStore({ path });
    const thread = writerThreadOf(store)!;
    const exited = new Promise<number>((resolve) => thread.once('exit', resolve));
    const writes = Array.from({ length: 20 }, (_, i) => add(store, 'u', `t${i}`));
    await store.close();
    await exited;
    assert.equal((await Promise.allSettled(writes)).filter((r) => r.status === 'fulfilled').length, 20);
    const again = open({ path });
    assert.equal(await again.version('u'), 20);
  });
});
