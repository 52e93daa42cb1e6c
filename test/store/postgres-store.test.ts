import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import pg from 'pg';
import { isTodoLiveError } from '../../src/errors.js';
import {
  LATEST_SCHEMA_VERSION,
  MIGRATIONS,
  openPostgresStore,
  openStore,
  type PostgresStoreOptions,
  type PostgresTodoStore,
  type StoreEvent,
} from '../../src/store/index.js';
import { postgresUnavailable, startPostgres, type TestPostgres } from '../support/postgres.js';
import { assertRenumberedPerUser, describeStoreContract, waitFor } from './store-contract.js';

const skip = postgresUnavailable();
if (skip !== undefined) console.log(`# skipping PostgreSQL store tests: ${skip}`);

let server: TestPostgres | undefined;
const cluster = () => {
  if (server === undefined) throw new Error('the test PostgreSQL did not start');
  return server;
};

describe('PostgreSQL store', { skip }, () => {
  before(async () => {
    server = await startPostgres();
  });
  after(async () => {
    await nextDatabase?.catch(() => {});
    await server?.stop();
  });

  // Creating a database takes a few hundred milliseconds: make the next one while a test runs.
  let nextDatabase: Promise<string> | undefined;
  const freshDatabase = () => {
    const url = nextDatabase ?? cluster().createDatabase();
    nextDatabase = url.then(() => cluster().createDatabase());
    nextDatabase.catch(() => {});
    return url;
  };

  /** A fresh database migrated by hand to `version` (an earlier release's schema), holding `seed`. */
  const databaseAtSchema = async (version: number, seed: string): Promise<string> => {
    const url = await freshDatabase();
    const raw = new pg.Client({ connectionString: url });
    await raw.connect();
    try {
      await raw.query('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)');
      for (const m of MIGRATIONS.slice(0, version)) {
        await raw.query(m.postgres);
        await raw.query('INSERT INTO schema_migrations VALUES ($1, $2, 0)', [m.version, m.name]);
      }
      await raw.query(seed);
    } finally {
      await raw.end();
    }
    return url;
  };

  describeStoreContract('PostgreSQL', {
    async fresh(options) {
      const url = await freshDatabase();
      return {
        store: await openPostgresStore({ url, poolSize: 4, ...options }),
        reopen: (again) => openPostgresStore({ url, poolSize: 4, ...again }),
      };
    },
  });

  describe('PostgreSQL specifics', () => {
    const opened: PostgresTodoStore[] = [];
    const open = async (options: PostgresStoreOptions) => {
      const s = await openPostgresStore(options);
      opened.push(s);
      return s;
    };
    afterEach(async () => {
      for (const s of opened.splice(0)) await s.close();
    });

    it('lets two nodes on one database see each other\'s commits and never overwrite each other', async () => {
      const url = await freshDatabase();
      const node1 = await open({ url });
      const node2 = await open({ url });
      const heard: StoreEvent[] = [];
      node2.subscribe((e) => heard.push(e));
      const a = await node1.apply({ userId: 'shared', opId: 'n1-1', expectedVersion: 0, mutation: { kind: 'add', title: 'from node 1' } });
      await waitFor(heard, (evs) => evs.some((e) => e.type === 'change' && e.userId === 'shared' && e.version === a.version));
      // node 2 still believes version 0: its write must not land on top of node 1's.
      await assert.rejects(
        node2.apply({ userId: 'shared', opId: 'n2-1', expectedVersion: 0, mutation: { kind: 'clear_completed' } }),
        (err: unknown) => isTodoLiveError(err, 'STORE_VERSION_CONFLICT'),
      );
      const list = await node2.load('shared');
      await node2.apply({ userId: 'shared', opId: 'n2-1', expectedVersion: list.version, mutation: { kind: 'toggle', id: list.todos[0]!.id } });
      assert.deepEqual((await node1.load('shared')).todos.map((t) => t.completed), [true]);
    });

    it('serialises racing writers of one user across nodes: each expected version wins at most once', async () => {
      const url = await freshDatabase();
      const nodes = [await open({ url, listen: false }), await open({ url, listen: false })];
      const outcomes = await Promise.allSettled(
        Array.from({ length: 20 }, (_, i) =>
          nodes[i % 2]!.apply({ userId: 'race', opId: `op-${i}`, expectedVersion: 0, mutation: { kind: 'add', title: `#${i}` } }),
        ),
      );
      assert.equal(outcomes.filter((o) => o.status === 'fulfilled').length, 1);
      assert.ok(outcomes.every((o) => o.status === 'fulfilled' || isTodoLiveError(o.reason, 'STORE_VERSION_CONFLICT')));
      assert.equal((await nodes[0]!.load('race')).todos.length, 1);
    });

    it('applies one operation id once when two nodes retry it at the same moment', async () => {
      const url = await freshDatabase();
      const nodes = [await open({ url, listen: false }), await open({ url, listen: false })];
      // Each node orders its own retries; only the database can dedupe the other node's.
      for (let round = 0; round < 10; round++) {
        const results = await Promise.all(
          Array.from({ length: 6 }, (_, i) =>
            nodes[i % 2]!.apply({ userId: 'retry', opId: `op-${round}`, expectedVersion: round, mutation: { kind: 'add', title: `#${round}` } }),
          ),
        );
        assert.equal(results.filter((r) => !r.duplicate).length, 1, `round ${round}`);
        assert.ok(results.every((r) => r.version === round + 1 && r.todoId === results[0]!.todoId), JSON.stringify(results));
      }
      assert.deepEqual((await nodes[1]!.load('retry')).todos.map((t) => t.title), Array.from({ length: 10 }, (_, i) => `#${i}`));
    });

    it('commits writes of many users submitted together in few transactions, a refused one rolling back alone', async () => {
      const url = await freshDatabase();
      const store = await open({ url, listen: false });
      const writes = Array.from({ length: 100 }, (_, i) => store.apply({ userId: `g-${i}`, opId: 'a', mutation: { kind: 'add', title: `t${i}` } }));
      const stale = store.apply({ userId: 'g-stale', opId: 'a', expectedVersion: 5, mutation: { kind: 'add', title: 'never' } });
      const missing = store.apply({ userId: 'g-missing', opId: 'a', mutation: { kind: 'delete', id: 424_242 } });
      const results = await Promise.all(writes);
      await assert.rejects(stale, (err: unknown) => isTodoLiveError(err, 'STORE_VERSION_CONFLICT'));
      await assert.rejects(missing, (err: unknown) => isTodoLiveError(err, 'STORE_NOT_FOUND'));
      assert.ok(results.every((r) => r.version === 1 && !r.duplicate));
      const { writes: applied, commits } = store.stats();
      assert.equal(applied, 100);
      assert.ok(commits <= 4, `expected 102 writes in a few commits, got ${commits}`);
      const raw = new pg.Client({ connectionString: url });
      await raw.connect();
      try {
        const users = await raw.query("SELECT count(*)::int AS n FROM users WHERE id LIKE 'g-%'");
        assert.equal(users.rows[0].n, 100, 'the refused writes left no user row behind');
        const ops = await raw.query("SELECT count(*)::int AS n FROM operations WHERE user_id IN ('g-stale', 'g-missing')");
        assert.equal(ops.rows[0].n, 0);
      } finally {
        await raw.end();
      }
    });

    it('fails only the write whose user another node holds locked past the lock timeout', async () => {
      const url = await freshDatabase();
      const store = await open({ url, listen: false, lockTimeoutMs: 200 });
      await store.touch('held');
      const other = new pg.Client({ connectionString: url });
      await other.connect();
      try {
        await other.query('BEGIN');
        await other.query("SELECT 1 FROM users WHERE id = 'held' FOR UPDATE");
        const outcomes = await Promise.allSettled(
          ['free-1', 'held', 'free-2'].map((userId) => store.apply({ userId, opId: 'x', mutation: { kind: 'add', title: userId } })),
        );
        assert.deepEqual(outcomes.map((o) => o.status), ['fulfilled', 'rejected', 'fulfilled']);
        assert.ok(isTodoLiveError((outcomes[1] as PromiseRejectedResult).reason, 'STORE_LOCKED'));
        await other.query('ROLLBACK');
      } finally {
        await other.end();
      }
      assert.equal(await store.version('held'), 0);
      assert.equal((await store.apply({ userId: 'held', opId: 'x', mutation: { kind: 'add', title: 'now' } })).duplicate, false);
    });

    it('upgrades a database written at schema 1 and keeps applying to its lists', async () => {
      const url = await databaseAtSchema(
        1,
        `INSERT INTO users (id, version, created_at, last_seen_at) VALUES ('old', 1, 0, 0);
         INSERT INTO todos (user_id, title, completed, position, created_at, updated_at) VALUES ('old', 'kept', false, 0, 0, 0);
         INSERT INTO operations (user_id, op_id, version, affected, todo_id, created_at) VALUES ('old', 'o1', 1, 1, NULL, 0);`,
      );
      const store = await open({ url, listen: false });
      const retried = await store.apply({ userId: 'old', opId: 'o1', mutation: { kind: 'add', title: 'kept' } });
      assert.equal(retried.duplicate, true, 'operation ids recorded before the upgrade still dedupe');
      const [kept] = (await store.load('old')).todos;
      const toggled = await store.apply({ userId: 'old', opId: 'o2', expectedVersion: 1, mutation: { kind: 'toggle', id: kept!.id } });
      assert.deepEqual({ version: toggled.version, affected: toggled.affected }, { version: 2, affected: 1 });
      assert.deepEqual((await store.load('old')).todos.map((t) => [t.title, t.completed]), [['kept', true]]);
    });

    it('upgrades a schema-2 database to ids numbered per user, keeping every list, its order and its operation ids', async () => {
      const url = await databaseAtSchema(
        2,
        `INSERT INTO users (id, version, created_at, last_seen_at) VALUES ('ann', 4, 0, 0), ('bo', 3, 0, 0);
         INSERT INTO todos (id, user_id, title, completed, position, created_at, updated_at) OVERRIDING SYSTEM VALUE VALUES
           (11, 'ann', 'a-first', false, 1, 0, 0), (12, 'bo', 'b-first', true, 0, 0, 0), (13, 'ann', 'a-second', true, 0, 0, 0),
           (15, 'bo', 'b-second', false, 1, 0, 0), (16, 'ann', 'a-third', false, 2, 0, 0);
         INSERT INTO operations (user_id, op_id, version, affected, todo_id, created_at) VALUES
           ('ann', 'add-a3', 4, 1, 16, 0), ('bo', 'add-gone', 2, 1, 14, 0), ('bo', 'toggle', 3, 1, NULL, 0);`,
      );
      const store = await open({ url, listen: false });
      await assertRenumberedPerUser(store);
    });

    it('listens again after losing its listener connection and signals a resync', async () => {
      const url = await freshDatabase();
      const errors: unknown[] = [];
      const listener = await open({ url, reconnectDelayMs: { min: 20, max: 200 }, onBackgroundError: (e) => errors.push(e) });
      const writer = await open({ url, listen: false });
      const events: StoreEvent[] = [];
      listener.subscribe((e) => events.push(e));
      const pid = listener.listenerPid;
      assert.ok(pid !== undefined && listener.listening);
      await cluster().adminQuery('SELECT pg_terminate_backend($1)', [pid]);
      await waitFor(events, (evs) => evs.some((e) => e.type === 'resync'), 10_000);
      assert.equal(listener.listening, true);
      assert.notEqual(listener.listenerPid, pid);
      assert.equal(listener.stats().resyncs, 1);
      assert.ok(errors.some((e) => isTodoLiveError(e, 'STORE_CONNECTION_LOST')), 'the loss is reported');
      await writer.apply({ userId: 'after', opId: '1', mutation: { kind: 'add', title: 'heard' } });
      await waitFor(events, (evs) => evs.some((e) => e.type === 'change' && e.userId === 'after' && e.version === 1));
    });

    it('keeps working after a pooled connection is killed', async () => {
      const url = await freshDatabase();
      const store = await open({ url, poolSize: 1, listen: false });
      await store.touch('u');
      // Only this database's backends: the admin database's may be busy creating the next test's database.
      const killed = await cluster().adminQuery('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1', [
        new URL(url).pathname.slice(1),
      ]);
      assert.ok(killed.rowCount! >= 1, 'the pooled connection was there to kill');
      await new Promise((r) => setTimeout(r, 50));
      let result: unknown;
      for (let i = 0; i < 3 && result === undefined; i++) {
        result = await store.apply({ userId: 'u', opId: `after-kill-${i}`, mutation: { kind: 'add', title: 'x' } }).catch((err) => {
          assert.ok(isTodoLiveError(err, 'STORE_CONNECTION_LOST'), String(err));
          return undefined;
        });
      }
      assert.ok(result !== undefined);
      assert.equal((await store.load('u')).todos.length, 1);
    });

    it('fails with STORE_CONNECTION_LOST when the server cannot be reached', async () => {
      await assert.rejects(
        openPostgresStore({ url: 'postgres://postgres@127.0.0.1:1/none', connectTimeoutMs: 500 }),
        (err: unknown) => isTodoLiveError(err, 'STORE_CONNECTION_LOST'),
      );
    });

    it('refuses a database written by a newer release', async () => {
      const url = await freshDatabase();
      await (await openPostgresStore({ url, listen: false })).close();
      const raw = new pg.Client({ connectionString: url });
      await raw.connect();
      await raw.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, 0)', [LATEST_SCHEMA_VERSION + 1, 'future']);
      await raw.end();
      await assert.rejects(openPostgresStore({ url }), (err: unknown) => isTodoLiveError(err, 'STORE_CORRUPT') && /newer release/.test(err.message));
    });

    it('migrates once when several nodes start together', async () => {
      const url = await freshDatabase();
      const stores = await Promise.all([1, 2, 3].map(() => openStore({ kind: 'postgres', url, listen: false })));
      for (const s of stores) await s.close();
      const raw = new pg.Client({ connectionString: url });
      await raw.connect();
      const { rows } = await raw.query('SELECT version FROM schema_migrations ORDER BY version');
      await raw.end();
      assert.deepEqual(rows.map((r) => r.version), MIGRATIONS.map((m) => m.version));
    });
  });
});
