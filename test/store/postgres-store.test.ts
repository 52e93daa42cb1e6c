import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import pg from 'pg';
import { isTodoLiveError } from '../../src/errors.js';
import {
  LATEST_SCHEMA_VERSION,
  openPostgresStore,
  openStore,
  type PostgresStoreOptions,
  type PostgresTodoStore,
  type StoreEvent,
} from '../../src/store/index.js';
import { postgresUnavailable, startPostgres, type TestPostgres } from '../support/postgres.js';
import { describeStoreContract, waitFor } from './store-contract.js';

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
      await cluster().adminQuery(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()",
      );
      const raw = new pg.Client({ connectionString: url });
      await raw.connect();
      await raw.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()");
      await raw.end();
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
      assert.deepEqual(rows.map((r) => r.version), [LATEST_SCHEMA_VERSION]);
    });
  });
});
