import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, describe, it } from 'node:test';
import { openDatabase, prepare } from '../../src/store/sqlite-handles.js';
import { isTodoLiveError } from '../../src/errors.js';
import { LATEST_SCHEMA_VERSION, MIGRATIONS, openSqliteStore, type SqliteStoreOptions, type SqliteTodoStore } from '../../src/store/index.js';
import { makeTempDir } from '../support/temp-dir.js';
import { assertRenumberedPerUser, describeStoreContract } from './store-contract.js';

const dir = makeTempDir('sqlite-store');
after(() => dir.remove());
let files = 0;
const freshPath = () => join(dir.path, `db-${++files}.sqlite`);

/** A database file as an older release left it: the first `version` migrations applied. Returned open. */
function fileAtSchema(path: string, version: number) {
  const raw = openDatabase(path);
  raw.exec('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT');
  for (const m of MIGRATIONS.slice(0, version)) {
    raw.exec(m.sqlite);
    prepare(raw, 'INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, 0)').run(m.version, m.name);
  }
  return raw;
}

describeStoreContract('SQLite', {
  async fresh(options) {
    const path = freshPath();
    return {
      store: openSqliteStore({ path, ...options }),
      reopen: async (again) => openSqliteStore({ path, ...again }),
    };
  },
});

describe('SQLite store', () => {
  const opened: SqliteTodoStore[] = [];
  const open = (options: SqliteStoreOptions) => {
    const s = openSqliteStore(options);
    opened.push(s);
    return s;
  };
  afterEach(async () => {
    for (const s of opened.splice(0)) await s.close();
  });

  it('runs in WAL mode with synchronous=FULL unless NORMAL is asked for', () => {
    const full = open({ path: freshPath() });
    assert.deepEqual(full.settings(), { journalMode: 'wal', synchronous: 'FULL', schemaVersion: LATEST_SCHEMA_VERSION });
    const normal = open({ path: freshPath(), synchronous: 'NORMAL' });
    assert.equal(normal.settings().synchronous, 'NORMAL');
    assert.throws(() => open({ path: freshPath(), synchronous: 'OFF' as never }), (err: unknown) => isTodoLiveError(err, 'STORE_INVALID_INPUT'));
  });

  it('shares one commit between the writes of many users made in the same turn', async () => {
    const store = open({ path: freshPath() });
    const before = store.stats();
    await Promise.all(Array.from({ length: 100 }, (_, i) => store.apply({ userId: `u${i}`, opId: 'a', mutation: { kind: 'add', title: 'x' } })));
    const afterBatch = store.stats();
    assert.equal(afterBatch.commits - before.commits, 1);
    assert.equal(afterBatch.writes - before.writes, 100);
  });

  it('waits up to the configured window to group writes from different turns, and not at all without one', async () => {
    // A slow turn on a loaded machine may outlast 2 ms, so a few attempts are allowed.
    const grouped = async () => {
      for (let attempt = 0; attempt < 5; attempt++) {
        const store = open({ path: freshPath(), groupCommitWindowMs: 2 });
        const first = store.apply({ userId: 'a', opId: '1', mutation: { kind: 'add', title: 'x' } });
        await new Promise((r) => setImmediate(r));
        const second = store.apply({ userId: 'b', opId: '1', mutation: { kind: 'add', title: 'y' } });
        await Promise.all([first, second]);
        if (store.stats().commits === 1) return true;
      }
      return false;
    };
    assert.equal(await grouped(), true);
    // Without a window a write is not held back: it commits with no later write.
    const store = open({ path: freshPath() });
    await store.apply({ userId: 'a', opId: '1', mutation: { kind: 'add', title: 'x' } });
    assert.deepEqual(store.stats(), { commits: 1, writes: 1 });
    assert.throws(() => open({ path: freshPath(), groupCommitWindowMs: 50 }), /groupCommitWindowMs: expected 0 to 2, got 50/);
  });

  it('sends a write to an idle writer in its own turn, not after the turn', async () => {
    const path = freshPath();
    const store = open({ path });
    await store.apply({ userId: 'warm', mutation: { kind: 'add', title: 'up' } });
    const reader = openDatabase(path, { readonly: true });
    const count = reader.prepare("SELECT count(*) FROM todos WHERE user_id = 'a'").pluck();
    const write = store.apply({ userId: 'a', mutation: { kind: 'add', title: 'x' } });
    // Let the microtasks of this turn run, then keep the turn going: the write must be with
    // the writer already, which commits it while this thread never yields.
    await Promise.resolve();
    const deadline = performance.now() + 5000;
    while (count.get() !== 1 && performance.now() < deadline);
    assert.equal(count.get(), 1, 'committed before the turn that made it ended');
    reader.close();
    await write;
  });

  it('moves last seen on a write only past the seen resolution', async () => {
    const day = 86_400_000;
    let clock = 100 * day;
    const path = freshPath();
    const store = open({ path, now: () => clock, seenResolutionMs: 10 * day });
    const lastSeen = () => {
      const db = openDatabase(path, { readonly: true });
      try {
        return (prepare(db, "SELECT last_seen_at FROM users WHERE id = 'u'").pluck().get() as number) / day;
      } finally {
        db.close();
      }
    };
    await store.apply({ userId: 'u', opId: 'first', mutation: { kind: 'add', title: 'x' } });
    assert.equal(lastSeen(), 100, 'a new user is seen at its first write');
    clock += 5 * day;
    await store.apply({ userId: 'u', opId: 'second', mutation: { kind: 'add', title: 'y' } });
    assert.equal(lastSeen(), 100, 'within the resolution the row keeps its last seen');
    clock += 6 * day;
    await store.apply({ userId: 'u', opId: 'third', mutation: { kind: 'add', title: 'z' } });
    assert.equal(lastSeen(), 111);
    assert.equal(await store.version('u'), 3);
  });

  it('resolves a write only once it is committed to the file', async () => {
    const path = freshPath();
    const store = open({ path });
    const write = store.apply({ userId: 'u', opId: '1', mutation: { kind: 'add', title: 'durable' } });
    let settled = false;
    void write.then(() => {
      settled = true;
    });
    await Promise.resolve();
    assert.equal(settled, false, 'nothing is acknowledged before the group commit');
    await write;
    await store.close();
    const raw = openDatabase(path, { readonly: true });
    try {
      assert.deepEqual(prepare(raw, 'SELECT title FROM todos').all(), [{ title: 'durable' }]);
    } finally {
      raw.close();
    }
  });

  it('refuses a second opener of the same file while the first has it, and allows it after close', async () => {
    const path = freshPath();
    const first = open({ path });
    await first.apply({ userId: 'u', opId: '1', mutation: { kind: 'add', title: 'kept' } });
    assert.throws(
      () => openSqliteStore({ path, busyTimeoutMs: 50 }),
      (err: unknown) => isTodoLiveError(err, 'STORE_LOCKED') && /only process using this database/.test(err.message),
    );
    await first.close();
    const second = open({ path });
    assert.equal((await second.load('u')).todos[0]?.title, 'kept');
  });

  it('refuses a second process on the same file, and lets it in once the first is gone', async () => {
    const path = freshPath();
    const storeUrl = new URL('../../src/store/index.ts', import.meta.url).href;
    const tryOpen = () =>
      spawnSync(
        process.execPath,
        [
          '--import',
          'tsx',
          '--input-type=module',
          '-e',
          `import { openSqliteStore } from ${JSON.stringify(storeUrl)};
           try { const s = openSqliteStore({ path: ${JSON.stringify(path)}, busyTimeoutMs: 50 }); await s.close(); console.log('OPENED'); }
           catch (e) { console.log(e.code ?? e.message); }`,
        ],
        { encoding: 'utf8', timeout: 30_000 },
      ).stdout.trim();
    const first = open({ path });
    await first.touch('u');
    assert.equal(tryOpen(), 'STORE_LOCKED');
    await first.close();
    assert.equal(tryOpen(), 'OPENED');
  });

  it('migrates once and keeps data across reopenings', async () => {
    const path = freshPath();
    const a = openSqliteStore({ path });
    await a.apply({ userId: 'u', opId: '1', mutation: { kind: 'add', title: 'x' } });
    await a.close();
    const b = open({ path });
    assert.equal(b.settings().schemaVersion, LATEST_SCHEMA_VERSION);
    assert.equal(await b.version('u'), 1);
  });

  it('upgrades a schema-2 file to ids numbered per user, keeping every list, its order and its operation ids', async () => {
    const path = freshPath();
    const raw = fileAtSchema(path, 2);
    raw.exec(`INSERT INTO users (id, version, created_at, last_seen_at) VALUES ('ann', 4, 0, 0), ('bo', 3, 0, 0);
      INSERT INTO todos (id, user_id, title, completed, position, created_at, updated_at) VALUES
        (11, 'ann', 'a-first', 0, 1, 0, 0), (12, 'bo', 'b-first', 1, 0, 0, 0), (13, 'ann', 'a-second', 1, 0, 0, 0),
        (15, 'bo', 'b-second', 0, 1, 0, 0), (16, 'ann', 'a-third', 0, 2, 0, 0);
      INSERT INTO operations (user_id, op_id, version, affected, todo_id, created_at) VALUES
        ('ann', 'add-a3', 4, 1, 16, 0), ('bo', 'add-gone', 2, 1, 14, 0), ('bo', 'toggle', 3, 1, NULL, 0);`);
    raw.close();

    const store = open({ path });
    assert.equal(store.settings().schemaVersion, LATEST_SCHEMA_VERSION);
    await assertRenumberedPerUser(store);
  });

  it('drops the index of completed todos when it upgrades a schema-4 file, and still cleans up old completed todos', async () => {
    const path = freshPath();
    const raw = fileAtSchema(path, 4);
    raw.exec(`INSERT INTO users (id, version, created_at, last_seen_at, last_todo_id) VALUES ('ann', 3, 0, 500, 2);
      INSERT INTO todos (user_id, id, title, completed, position, created_at, updated_at) VALUES
        ('ann', 1, 'done long ago', 1, 0, 0, 10), ('ann', 2, 'open', 0, 1, 0, 10);`);
    const indexesOfTodos = (db: typeof raw) => prepare(db, "SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'todos'").pluck().all();
    assert.deepEqual(indexesOfTodos(raw), ['todos_completed_updated_at']);
    raw.close();

    const store = open({ path, now: () => 1_000 });
    assert.equal(store.settings().schemaVersion, LATEST_SCHEMA_VERSION);
    const check = openDatabase(path, { readonly: true });
    try {
      assert.deepEqual(indexesOfTodos(check), []);
    } finally {
      check.close();
    }
    assert.deepEqual(await store.cleanup({ completedRetentionMs: 100, userRetentionMs: 100_000 }), { todosDeleted: 1, usersDeleted: 0, operationsDeleted: 0 });
    assert.deepEqual((await store.load('ann')).todos.map((t) => t.title), ['open']);
    assert.equal(await store.version('ann'), 4);
  });

  describe('cleanup in slices of users', () => {
    /** Users u00…u{n-1}, each with one old completed todo when `i % 3 !== 0`, and one open todo. */
    const seed = async (store: SqliteTodoStore, users: number) => {
      for (let i = 0; i < users; i++) {
        const userId = `u${String(i).padStart(2, '0')}`;
        await store.apply({ userId, mutation: { kind: 'add', title: 'open' } });
        if (i % 3 === 0) continue;
        const { todoId } = await store.apply({ userId, mutation: { kind: 'add', title: 'done' } });
        await store.apply({ userId, mutation: { kind: 'set_completed', id: todoId!, completed: true } });
      }
    };

    it('deletes the old completed todos of every user whatever the slice size, and moves only their versions', async () => {
      for (const cleanupSliceUsers of [1, 4, 10, 1_000]) {
        let clock = 1_000;
        const store = open({ path: freshPath(), now: () => clock, cleanupSliceUsers });
        await seed(store, 10);
        clock += 10_000;
        const changed: string[] = [];
        store.subscribe((e) => {
          if (e.type === 'change') changed.push(`${e.userId}@${e.version}`);
        });
        const result = await store.cleanup({ completedRetentionMs: 5_000, userRetentionMs: 1_000_000 });
        assert.deepEqual(result, { todosDeleted: 6, usersDeleted: 0, operationsDeleted: 0 }, `slices of ${cleanupSliceUsers}`);
        assert.deepEqual(changed, ['u01@4', 'u02@4', 'u04@4', 'u05@4', 'u07@4', 'u08@4'], `slices of ${cleanupSliceUsers}`);
        for (let i = 0; i < 10; i++) {
          const list = await store.load(`u${String(i).padStart(2, '0')}`);
          assert.deepEqual(list.todos.map((t) => t.title), ['open']);
          assert.equal(list.version, i % 3 === 0 ? 1 : 4);
        }
        assert.equal((await store.cleanup({ completedRetentionMs: 5_000, userRetentionMs: 1_000_000 })).todosDeleted, 0, 'a second run finds nothing');
      }
    });

    it('lets a write made during a cleanup commit before the cleanup has walked every user', async () => {
      let clock = 1_000;
      const store = open({ path: freshPath(), now: () => clock, cleanupSliceUsers: 1 });
      await seed(store, 12);
      clock += 10_000;
      const order: string[] = [];
      const cleanup = store.cleanup({ completedRetentionMs: 5_000, userRetentionMs: 1_000_000 }).then((r) => {
        order.push('cleanup');
        return r;
      });
      const write = store.apply({ userId: 'u11', mutation: { kind: 'add', title: 'meanwhile' } }).then((r) => {
        order.push('write');
        return r;
      });
      const [result, written] = await Promise.all([cleanup, write]);
      assert.deepEqual(order, ['write', 'cleanup'], 'the write waited for one slice, not for twelve');
      assert.equal(result.todosDeleted, 8);
      assert.equal(written.version, 4, 'u11 had three writes before it');
      assert.deepEqual((await store.load('u11')).todos.map((t) => t.title), ['open', 'meanwhile'], 'u11 lost its old done todo after the write');
      assert.equal(await store.version('u11'), 5);
    });

    it('stops a cleanup between slices when the store closes, and the next run finishes it', async () => {
      const path = freshPath();
      let clock = 1_000;
      const store = openSqliteStore({ path, now: () => clock, cleanupSliceUsers: 1 });
      await seed(store, 12);
      clock += 10_000;
      const cleanup = store.cleanup({ completedRetentionMs: 5_000, userRetentionMs: 1_000_000 });
      await store.close();
      const first = await cleanup;
      assert.ok(first.todosDeleted < 8, `closed before the last slice: ${first.todosDeleted} deleted`);
      const again = open({ path, now: () => clock });
      const second = await again.cleanup({ completedRetentionMs: 5_000, userRetentionMs: 1_000_000 });
      assert.equal(first.todosDeleted + second.todosDeleted, 8);
      for (let i = 0; i < 12; i++) assert.deepEqual((await again.load(`u${String(i).padStart(2, '0')}`)).todos.map((t) => t.title), ['open']);
    });
  });

  it('refuses a cleanup slice size that is not a whole number of users', () => {
    for (const cleanupSliceUsers of [0, -1, 1.5, Number.NaN]) {
      assert.throws(
        () => openSqliteStore({ path: freshPath(), cleanupSliceUsers }),
        (err: unknown) => isTodoLiveError(err, 'STORE_INVALID_INPUT') && /cleanupSliceUsers/.test(err.message),
      );
    }
  });

  it('refuses a database written by a newer release', async () => {
    const path = freshPath();
    await openSqliteStore({ path }).close();
    const raw = openDatabase(path);
    prepare(raw, 'INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(LATEST_SCHEMA_VERSION + 1, 'future', 0);
    raw.close();
    assert.throws(
      () => openSqliteStore({ path }),
      (err: unknown) => isTodoLiveError(err, 'STORE_CORRUPT') && /newer release/.test(err.message),
    );
  });

  it('refuses a file that is not a SQLite database', () => {
    const path = freshPath();
    writeFileSync(path, 'this is not a database, just some text that is long enough to hold a header'.repeat(100));
    assert.throws(
      () => openSqliteStore({ path }),
      (err: unknown) => isTodoLiveError(err, 'STORE_CORRUPT') && /not a database/.test(err.message),
    );
  });

  it('creates the folder of a new database file', async () => {
    const path = join(dir.path, 'missing', 'folder', 'db.sqlite');
    const store = open({ path });
    await store.touch('u');
    assert.equal(existsSync(path), true);
  });

  it('reports a path it cannot create as a database it cannot open', () => {
    const blocker = freshPath();
    writeFileSync(blocker, '');
    assert.throws(
      () => openSqliteStore({ path: join(blocker, 'db.sqlite') }),
      (err: unknown) => isTodoLiveError(err, 'STORE_CONNECTION_LOST') && err.message.includes(blocker),
    );
  });
});

describe('SQLite store when the disk is full', () => {
  it('fails the writes that do not fit with STORE_DISK_FULL and keeps everything acknowledged', async () => {
    const store = openSqliteStore({ path: freshPath(), maxSizeBytes: 96 * 1024 });
    try {
      const acked: string[] = [];
      let full: unknown;
      for (let i = 0; i < 400 && full === undefined; i++) {
        // Several users per turn, so that a full disk hits a shared commit.
        const batch = await Promise.allSettled(
          [0, 1, 2].map((u) => store.apply({ userId: `u${u}`, opId: `${i}`, mutation: { kind: 'add', title: `${i} ${'x'.repeat(400)}` } })),
        );
        batch.forEach((r, u) => {
          if (r.status === 'fulfilled') acked.push(`u${u}:${i}`);
          else full = r.reason;
        });
      }
      assert.ok(isTodoLiveError(full, 'STORE_DISK_FULL'), String(full));
      assert.match((full as Error).message, /disk or database is full/);
      const stored: string[] = [];
      for (const u of [0, 1, 2]) {
        for (const t of (await store.load(`u${u}`)).todos) stored.push(`u${u}:${t.title.split(' ')[0]}`);
      }
      assert.deepEqual(stored.sort(), [...acked].sort());
      // Deleting makes room again: the store is still usable.
      const first = (await store.load('u0')).todos[0]!;
      await store.apply({ userId: 'u0', opId: 'free', mutation: { kind: 'delete', id: first.id } });
      await store.apply({ userId: 'u0', opId: 'fits', mutation: { kind: 'add', title: 'small' } });
    } finally {
      await store.close();
    }
  });
});
