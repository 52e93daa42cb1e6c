/**
 * The store for more than one node: PostgreSQL through a `pg` connection pool.
 *
 * Every write is one transaction that locks the user's row, checks the operation id and the
 * expected version, applies the change, bumps the version and queues `pg_notify` with
 * `<version>:<userId>`; PostgreSQL delivers the notification only if and when the
 * transaction commits. Two nodes holding the same user therefore never overwrite each
 * other: the second one sees the bumped version and gets STORE_VERSION_CONFLICT.
 *
 * PostgreSQL already shares fsyncs between concurrent commits, so there is no batching
 * here: concurrency comes from the pool. Keep `synchronous_commit = on` on the server.
 */
import pg from 'pg';
import { TodoLiveError } from '../errors.js';
import { Listeners } from './listeners.js';
import { LATEST_SCHEMA_VERSION, MIGRATIONS } from './migrations/index.js';
import { PostgresListener } from './postgres-listener.js';
import { planMove } from './reorder.js';
import {
  closedError,
  fromPostgresError,
  limitExceeded,
  moveOutOfRange,
  newerSchema,
  todoNotFound,
  versionConflict,
} from './store-errors.js';
import type {
  CleanupOptions,
  CleanupResult,
  MutationRequest,
  MutationResult,
  StoreLimits,
  StoreListener,
  TodoList,
  TodoStore,
} from './types.js';
import { checkRequest, checkUserId, resolveLimits } from './validate.js';

export interface PostgresStoreOptions {
  /** A `postgres://` connection URL. */
  readonly url: string;
  /** Most pooled connections for reads and writes (the listener has its own). Default 10. */
  readonly poolSize?: number;
  /** The `LISTEN`/`NOTIFY` channel; nodes sharing a database must agree on it. Default `todo_live_changes`. */
  readonly channel?: string;
  /** Subscribe to other nodes' commits. Default true; a one-off tool may turn it off. */
  readonly listen?: boolean;
  /** How long to wait for a row lock before failing with STORE_LOCKED. Default 5,000 ms. */
  readonly lockTimeoutMs?: number;
  /**
   * How long to wait for a connection, new or from the pool, before failing with
   * STORE_CONNECTION_LOST. Under overload this bounds how long a write may queue. Default 5,000 ms.
   */
  readonly connectTimeoutMs?: number;
  /** Bounds of the listener's reconnect backoff. Default 100 ms doubling up to 5,000 ms. */
  readonly reconnectDelayMs?: { readonly min: number; readonly max: number };
  readonly limits?: Partial<StoreLimits>;
  /** The clock for created/updated/last-seen times and cleanup. Default `Date.now`. */
  readonly now?: () => number;
  /** Receives background failures: listener errors, idle pool connections dropping. Default: ignored. */
  readonly onBackgroundError?: (err: unknown) => void;
}

/** The PostgreSQL store, with what only it can report. */
export interface PostgresTodoStore extends TodoStore {
  readonly kind: 'postgres';
  /** True while the notification listener is connected and listening. */
  readonly listening: boolean;
  /** Counters since open. */
  stats(): { writes: number; resyncs: number; notifications: number };
  /** The backend process id of the listener connection, for diagnostics; undefined while disconnected. */
  readonly listenerPid: number | undefined;
}

const DEFAULT_OPERATION_RETENTION_MS = 7 * 24 * 60 * 60 * 1000;
/** Serialises migrations of several nodes starting at once (an arbitrary, fixed key). */
const MIGRATION_LOCK_KEY = 7_340_512_001;

interface TodoRow {
  id: string;
  title: string;
  completed: boolean;
  position: number;
  created_at: string;
  updated_at: string;
}

/**
 * Connects, runs migrations and starts listening. Fails with STORE_CONNECTION_LOST when
 * the server cannot be reached, STORE_CORRUPT when the schema comes from a newer release.
 */
export async function openPostgresStore(options: PostgresStoreOptions): Promise<PostgresTodoStore> {
  const store = new PostgresStore(options);
  try {
    await store.start();
  } catch (err) {
    await store.close().catch(() => {});
    const cause = fromPostgresError(err, 'start');
    throw new TodoLiveError(cause.code, `open PostgreSQL store at ${redactUrl(options.url)}: ${cause.message}`, {
      cause,
      details: cause.details,
    });
  }
  return store;
}

/** The URL without user name or password, for messages and logs. */
function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '(an unparsable URL)';
  }
}

class PostgresStore implements PostgresTodoStore {
  readonly kind = 'postgres' as const;
  readonly limits: StoreLimits;
  readonly #pool: pg.Pool;
  readonly #now: () => number;
  readonly #channel: string;
  readonly #listeners: Listeners;
  readonly #listener: PostgresListener | undefined;
  readonly #inFlight = new Set<Promise<unknown>>();
  readonly #userTails = new Map<string, Promise<void>>();
  #closed = false;
  #writes = 0;

  constructor(options: PostgresStoreOptions) {
    this.limits = resolveLimits(options.limits);
    this.#now = options.now ?? Date.now;
    this.#channel = options.channel ?? 'todo_live_changes';
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(this.#channel)) {
      throw new TodoLiveError('STORE_INVALID_INPUT', `channel: expected a lower-case SQL identifier, got ${JSON.stringify(this.#channel)}`);
    }
    const onError = options.onBackgroundError ?? (() => {});
    this.#listeners = new Listeners(onError);
    const lockTimeout = options.lockTimeoutMs ?? 5000;
    const connectTimeout = options.connectTimeoutMs ?? 5000;
    this.#pool = new pg.Pool({
      connectionString: options.url,
      max: options.poolSize ?? 10,
      connectionTimeoutMillis: connectTimeout,
      lock_timeout: lockTimeout,
      idle_in_transaction_session_timeout: 60_000,
    });
    // An idle pooled connection that dies emits here; without a handler it would crash the process.
    this.#pool.on('error', (err) => onError(fromPostgresError(err, 'idle pooled connection')));
    if (options.listen !== false) {
      this.#listener = new PostgresListener({
        url: options.url,
        channel: this.#channel,
        connectTimeoutMs: connectTimeout,
        reconnectDelayMs: options.reconnectDelayMs ?? { min: 100, max: 5000 },
        onEvent: (event) => this.#listeners.emit(event),
        onError: (err) => onError(fromPostgresError(err, 'listener')),
      });
    }
  }

  get listening(): boolean {
    return this.#listener?.listening ?? false;
  }

  get listenerPid(): number | undefined {
    return this.#listener?.pid;
  }

  async start(): Promise<void> {
    await this.#migrate();
    await this.#listener?.start();
  }

  stats(): { writes: number; resyncs: number; notifications: number } {
    return { writes: this.#writes, resyncs: this.#listener?.resyncs ?? 0, notifications: this.#listener?.notifications ?? 0 };
  }

  load(userId: string): Promise<TodoList> {
    return this.#track('load', async () => {
      checkUserId(userId);
      // One statement, one snapshot: the version and the rows always agree.
      const { rows } = await this.#pool.query<TodoRow & { version: string | null }>({
        name: 'todo_live_load',
        text: `SELECT u.version, t.id, t.title, t.completed, t.position, t.created_at, t.updated_at
               FROM (SELECT $1::text AS id) k
               LEFT JOIN users u ON u.id = k.id
               LEFT JOIN todos t ON t.user_id = k.id
               ORDER BY t.position, t.id`,
        values: [userId],
      });
      const version = Number(rows[0]?.version ?? 0);
      const todos = rows
        .filter((r) => r.id !== null)
        .map((r) => ({
          id: Number(r.id),
          title: r.title,
          completed: r.completed,
          position: r.position,
          createdAt: Number(r.created_at),
          updatedAt: Number(r.updated_at),
        }));
      return { userId, version, todos };
    });
  }

  version(userId: string): Promise<number> {
    return this.#track('version', async () => {
      checkUserId(userId);
      const { rows } = await this.#pool.query<{ version: string }>({
        name: 'todo_live_version',
        text: 'SELECT version FROM users WHERE id = $1',
        values: [userId],
      });
      return Number(rows[0]?.version ?? 0);
    });
  }

  apply(request: MutationRequest): Promise<MutationResult> {
    return this.#track('apply', async () => {
      const checked = checkRequest(request, this.limits);
      const result = await this.#inUserOrder(checked.userId, () =>
        this.#transaction(`apply ${checked.mutation.kind}`, (client) => this.#applyOne(client, checked)),
      );
      this.#writes++;
      return result;
    });
  }

  /**
   * Runs one user's writes from this process one after another, in submission order. The
   * row lock alone would serialise them too, but in whatever order they reach the server,
   * and each waiting write would hold a pooled connection.
   */
  #inUserOrder<T>(userId: string, work: () => Promise<T>): Promise<T> {
    const previous = this.#userTails.get(userId) ?? Promise.resolve();
    const result = previous.then(work, work);
    const tail = result.then(
      () => {},
      () => {},
    );
    this.#userTails.set(userId, tail);
    void tail.then(() => {
      if (this.#userTails.get(userId) === tail) this.#userTails.delete(userId);
    });
    return result;
  }

  touch(userId: string): Promise<void> {
    return this.#track('touch', async () => {
      checkUserId(userId);
      const now = this.#now();
      await this.#pool.query({
        name: 'todo_live_touch',
        text: `INSERT INTO users (id, version, created_at, last_seen_at) VALUES ($1, 0, $2, $2)
               ON CONFLICT (id) DO UPDATE SET last_seen_at = greatest(users.last_seen_at, excluded.last_seen_at)`,
        values: [userId, now],
      });
    });
  }

  cleanup(options: CleanupOptions): Promise<CleanupResult> {
    return this.#track('cleanup', () => {
      const now = this.#now();
      const opCutoff = now - (options.operationRetentionMs ?? DEFAULT_OPERATION_RETENTION_MS);
      return this.#transaction('cleanup', async (client) => {
        const users = await client.query('DELETE FROM users WHERE last_seen_at < $1', [now - options.userRetentionMs]);
        const bumped = await client.query<{ n: string; payload: string }>(
          `WITH d AS (DELETE FROM todos WHERE completed AND updated_at < $1 RETURNING user_id),
                c AS (SELECT user_id, count(*) AS n FROM d GROUP BY user_id),
                u AS (UPDATE users SET version = users.version + 1 FROM c WHERE users.id = c.user_id
                      RETURNING users.id, users.version, c.n)
           SELECT n, version || ':' || id AS payload FROM u`,
          [now - options.completedRetentionMs],
        );
        if (bumped.rows.length > 0) {
          await client.query('SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p', [
            this.#channel,
            bumped.rows.map((r) => r.payload),
          ]);
        }
        const ops = await client.query('DELETE FROM operations WHERE created_at < $1', [opCutoff]);
        return {
          usersDeleted: users.rowCount ?? 0,
          todosDeleted: bumped.rows.reduce((sum, r) => sum + Number(r.n), 0),
          operationsDeleted: ops.rowCount ?? 0,
        };
      });
    });
  }

  subscribe(listener: StoreListener): () => void {
    if (this.#closed) throw closedError('subscribe');
    return this.#listeners.add(listener);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.allSettled([...this.#inFlight]);
    this.#listeners.clear();
    await this.#listener?.stop();
    await this.#pool.end();
  }

  /** Runs `work` unless closed, and remembers it so close() can wait for it. */
  #track<T>(action: string, work: () => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(closedError(action));
    const promise = (async () => {
      try {
        return await work();
      } catch (err) {
        throw fromPostgresError(err, action);
      }
    })();
    this.#inFlight.add(promise);
    const forget = () => this.#inFlight.delete(promise);
    promise.then(forget, forget);
    return promise;
  }

  async #transaction<T>(action: string, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.#pool.connect();
    } catch (err) {
      throw fromPostgresError(err, `${action}: connect`);
    }
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      try {
        await client.query('ROLLBACK');
      } catch (rollbackErr) {
        // The connection is unusable; tell the pool to discard it.
        broken = rollbackErr instanceof Error ? rollbackErr : new Error(String(rollbackErr));
      }
      throw fromPostgresError(err, action);
    } finally {
      client.release(broken);
    }
  }

  async #applyOne(client: pg.PoolClient, request: MutationRequest): Promise<MutationResult> {
    const { userId, opId, mutation } = request;
    const now = this.#now();
    // The upsert takes the user's row lock: everything below is serialised per user across
    // nodes. The same statement looks the operation id up, saving a round trip.
    const locked = await client.query<{ version: string; op_version: string | null; affected: number | null; todo_id: string | null }>({
      name: 'todo_live_lock_user',
      text: `WITH u AS (
               INSERT INTO users (id, version, created_at, last_seen_at) VALUES ($1, 0, $2, $2)
               ON CONFLICT (id) DO UPDATE SET last_seen_at = greatest(users.last_seen_at, excluded.last_seen_at)
               RETURNING version)
             SELECT u.version, o.version AS op_version, o.affected, o.todo_id
             FROM u LEFT JOIN operations o ON o.user_id = $1 AND o.op_id = $3`,
      values: [userId, now, opId],
    });
    const user = locked.rows[0]!;
    if (user.op_version !== null) {
      return {
        userId,
        opId,
        version: Number(user.op_version),
        duplicate: true,
        affected: user.affected ?? 0,
        ...(user.todo_id === null ? {} : { todoId: Number(user.todo_id) }),
      };
    }
    const current = Number(user.version);
    if (request.expectedVersion !== undefined && request.expectedVersion !== current) {
      throw versionConflict(userId, request.expectedVersion, current);
    }
    let affected = 0;
    let todoId: number | undefined;
    const q = (name: string, text: string, values: unknown[]) => client.query({ name: `todo_live_${name}`, text, values });
    switch (mutation.kind) {
      case 'add': {
        const counted = await q(
          'count',
          'SELECT count(*) AS n, coalesce(max(position), -1) + 1 AS next FROM todos WHERE user_id = $1',
          [userId],
        );
        const { n, next } = counted.rows[0] as { n: string; next: number };
        if (Number(n) >= this.limits.maxTodosPerUser) throw limitExceeded(userId, this.limits.maxTodosPerUser);
        const inserted = await q(
          'insert',
          `INSERT INTO todos (user_id, title, completed, position, created_at, updated_at)
           VALUES ($1, $2, false, $3, $4, $4) RETURNING id`,
          [userId, mutation.title, next, now],
        );
        todoId = Number((inserted.rows[0] as { id: string }).id);
        affected = 1;
        break;
      }
      case 'toggle':
        affected =
          (await q('toggle', 'UPDATE todos SET completed = NOT completed, updated_at = $1 WHERE id = $2 AND user_id = $3', [
            now,
            mutation.id,
            userId,
          ])).rowCount ?? 0;
        if (affected === 0) throw todoNotFound(userId, mutation.id);
        break;
      case 'set_completed': {
        const found = await q('completed_of', 'SELECT completed FROM todos WHERE id = $1 AND user_id = $2', [mutation.id, userId]);
        const row = found.rows[0] as { completed: boolean } | undefined;
        if (row === undefined) throw todoNotFound(userId, mutation.id);
        if (row.completed !== mutation.completed) {
          affected =
            (await q('set_completed', 'UPDATE todos SET completed = $1, updated_at = $2 WHERE id = $3 AND user_id = $4', [
              mutation.completed,
              now,
              mutation.id,
              userId,
            ])).rowCount ?? 0;
        }
        break;
      }
      case 'set_all_completed':
        affected =
          (await q(
            'set_all_completed',
            'UPDATE todos SET completed = $1, updated_at = $2 WHERE user_id = $3 AND completed <> $1',
            [mutation.completed, now, userId],
          )).rowCount ?? 0;
        break;
      case 'rename':
        affected =
          (await q('rename', 'UPDATE todos SET title = $1, updated_at = $2 WHERE id = $3 AND user_id = $4', [
            mutation.title,
            now,
            mutation.id,
            userId,
          ])).rowCount ?? 0;
        if (affected === 0) throw todoNotFound(userId, mutation.id);
        break;
      case 'delete':
        affected = (await q('delete', 'DELETE FROM todos WHERE id = $1 AND user_id = $2', [mutation.id, userId])).rowCount ?? 0;
        if (affected === 0) throw todoNotFound(userId, mutation.id);
        break;
      case 'clear_completed':
        affected = (await q('clear_completed', 'DELETE FROM todos WHERE user_id = $1 AND completed', [userId])).rowCount ?? 0;
        break;
      case 'move': {
        const listed = await q('positions', 'SELECT id, position FROM todos WHERE user_id = $1 ORDER BY position, id', [userId]);
        const ordered = (listed.rows as { id: string; position: number }[]).map((r) => ({ id: Number(r.id), position: r.position }));
        const plan = planMove(ordered, mutation.id, Math.min(mutation.toIndex, ordered.length));
        if (plan === undefined) throw todoNotFound(userId, mutation.id);
        if (mutation.toIndex >= ordered.length) throw moveOutOfRange(userId, mutation.toIndex, ordered.length);
        if (plan.length > 0) {
          await q(
            'set_positions',
            `UPDATE todos SET position = c.position
             FROM unnest($1::bigint[], $2::int[]) AS c(id, position)
             WHERE todos.id = c.id AND todos.user_id = $3`,
            [plan.map((c) => c.id), plan.map((c) => c.position), userId],
          );
        }
        affected = plan.length;
        break;
      }
    }
    // Bump, record the operation id and queue the notification in one statement.
    const bumped = await q(
      'bump_record_notify',
      `WITH b AS (UPDATE users SET version = version + 1 WHERE id = $1 RETURNING version),
            o AS (INSERT INTO operations (user_id, op_id, version, affected, todo_id, created_at)
                  SELECT $1, $2, b.version, $3, $4, $5 FROM b RETURNING version)
       SELECT version, pg_notify($6, version || ':' || $1) FROM o`,
      [userId, opId, affected, todoId ?? null, now, this.#channel],
    );
    const version = Number((bumped.rows[0] as { version: string }).version);
    return { userId, opId, version, duplicate: false, affected, ...(todoId === undefined ? {} : { todoId }) };
  }

  /** Brings the schema up to date; several nodes starting together take turns. */
  async #migrate(): Promise<void> {
    await this.#transaction('migrate', async (client) => {
      await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
      await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
        version INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        applied_at BIGINT NOT NULL
      )`);
      const { rows } = await client.query<{ v: number | null }>('SELECT max(version) AS v FROM schema_migrations');
      const current = rows[0]?.v ?? 0;
      if (current > LATEST_SCHEMA_VERSION) throw newerSchema(current, LATEST_SCHEMA_VERSION);
      for (const m of MIGRATIONS) {
        if (m.version <= current) continue;
        await client.query(m.postgres);
        await client.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [
          m.version,
          m.name,
          Date.now(),
        ]);
      }
    });
  }
}
