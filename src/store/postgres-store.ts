/**
 * The store for more than one node: PostgreSQL through a `pg` connection pool.
 *
 * Writes are applied by the server-side function `todo_live_apply` (migration 2): it locks
 * the user's row, checks the operation id and the expected version, applies the change,
 * bumps the version and queues `pg_notify` with `<version>:<userId>`; PostgreSQL delivers
 * the notification only if and when the transaction commits. Two nodes holding the same
 * user therefore never overwrite each other: the second one sees the bumped version and
 * gets STORE_VERSION_CONFLICT.
 *
 * Group commit: writes of different users submitted in the same event-loop turn, or while
 * earlier batches are on their way, travel together as one statement (`todo_live_apply_batch`)
 * that is one transaction, each write in its own subtransaction so a refusal rolls back
 * alone. One round trip and one commit serve the whole batch. This matters more here than
 * it seems: commits that NOTIFY take turns (PostgreSQL holds a cluster-wide lock from
 * queuing the notifications until the commit record is flushed), so one write per commit
 * would cost one fsync each, in series. Keep `synchronous_commit = on` on the server.
 */
import pg from 'pg';
import { TodoLiveError } from '../errors.js';
import { Listeners } from './listeners.js';
import { LATEST_SCHEMA_VERSION, MIGRATIONS } from './migrations/index.js';
import { PostgresListener } from './postgres-listener.js';
import { closedError, fromPostgresApplyRefusal, fromPostgresError, newerSchema } from './store-errors.js';
import { mutationResult } from './results.js';
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
import { checkRequest, checkSeenResolution, checkUserId, resolveLimits } from './validate.js';

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
  /**
   * How precisely "last seen" is kept: `touch` writes nothing for a user already seen less than
   * this long ago. Last seen only decides when an abandoned user is deleted (after the user
   * retention, a year by default), so it needs no more than a small fraction of that. Default 0:
   * every touch writes.
   */
  readonly seenResolutionMs?: number;
  /** Receives background failures: listener errors, idle pool connections dropping. Default: ignored. */
  readonly onBackgroundError?: (err: unknown) => void;
}

/** The PostgreSQL store, with what only it can report. */
export interface PostgresTodoStore extends TodoStore {
  readonly kind: 'postgres';
  /** True while the notification listener is connected and listening. */
  readonly listening: boolean;
  /** Counters since open: `writes` applied, in `commits` batches. */
  stats(): { writes: number; commits: number; resyncs: number; notifications: number };
  /** The backend process id of the listener connection, for diagnostics; undefined while disconnected. */
  readonly listenerPid: number | undefined;
}

const DEFAULT_OPERATION_RETENTION_MS = 7 * 24 * 60 * 60 * 1000;
/** Serialises migrations of several nodes starting at once (an arbitrary, fixed key). */
const MIGRATION_LOCK_KEY = 7_340_512_001;

/**
 * Most writes in one batch. Each runs in its own subtransaction, and past 64 of those a
 * transaction overflows PostgreSQL's per-backend subtransaction cache, which slows the
 * snapshots of every other backend.
 */
const MAX_BATCH = 64;
/**
 * Batches on their way at once. Commits that notify take turns anyway, so a second batch
 * only overlaps its statement with the first one's commit; more would just make each
 * batch smaller and hold more pooled connections.
 */
const MAX_BATCHES_IN_FLIGHT = 2;

const APPLY_BATCH_STATEMENT = `SELECT item, applied_version, applied_affected, applied_todo_id, was_duplicate,
         refusal, refusal_message, refusal_detail
  FROM todo_live_apply_batch($1::jsonb, $2::bigint, $3::integer, $4::text)`;

/** One row of `todo_live_apply_batch`: a result, or a refusal (`refusal` is its SQLSTATE). */
interface BatchRow {
  item: string;
  applied_version: string | null;
  applied_affected: number | null;
  applied_todo_id: string | null;
  was_duplicate: boolean | null;
  refusal: string | null;
  refusal_message: string | null;
  refusal_detail: string | null;
}

/** A write waiting for its batch to commit. */
interface PendingWrite {
  readonly request: MutationRequest;
  readonly resolve: (result: MutationResult) => void;
  readonly reject: (err: TodoLiveError) => void;
}

/** One request as an element of `todo_live_apply_batch`'s JSON array; `n` finds its row again. */
function batchElement(request: MutationRequest, n: number): Record<string, unknown> {
  const m = request.mutation;
  return {
    n,
    user_id: request.userId,
    op_id: request.opId ?? null,
    expected_version: request.expectedVersion ?? null,
    kind: m.kind,
    todo_id: 'id' in m ? m.id : null,
    title: 'title' in m ? m.title : null,
    completed: 'completed' in m ? m.completed : null,
    to_index: m.kind === 'move' ? m.toIndex : null,
  };
}

/** What a batch row means for its request: the result, or the error to reject it with. */
function outcomeOf(request: MutationRequest, row: BatchRow | undefined): MutationResult | TodoLiveError {
  const action = `apply ${request.mutation.kind}`;
  if (row === undefined) return new TodoLiveError('STORE_FAILED', `${action}: expected a result row from todo_live_apply_batch, got none`);
  if (row.refusal !== null) {
    // Rebuilt in the shape the driver throws, so the usual mappings classify it.
    const err = Object.assign(new Error(row.refusal_message ?? 'refused'), { code: row.refusal, detail: row.refusal_detail });
    return fromPostgresApplyRefusal(err, request) ?? fromPostgresError(err, action);
  }
  return mutationResult(
    request.userId,
    request.opId,
    Number(row.applied_version),
    row.was_duplicate === true,
    row.applied_affected ?? 0,
    row.applied_todo_id === null ? undefined : Number(row.applied_todo_id),
  );
}

interface TodoRow {
  id: string;
  title: string;
  completed: boolean;
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
  readonly #seenResolutionMs: number;
  readonly #channel: string;
  readonly #listeners: Listeners;
  readonly #listener: PostgresListener | undefined;
  readonly #inFlight = new Set<Promise<unknown>>();
  readonly #userTails = new Map<string, Promise<void>>();
  readonly #queue: PendingWrite[] = [];
  #batchesInFlight = 0;
  #flushScheduled = false;
  #commits = 0;
  #closed = false;
  #writes = 0;

  constructor(options: PostgresStoreOptions) {
    this.limits = resolveLimits(options.limits);
    this.#now = options.now ?? Date.now;
    this.#seenResolutionMs = checkSeenResolution(options.seenResolutionMs);
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

  stats(): { writes: number; commits: number; resyncs: number; notifications: number } {
    return { writes: this.#writes, commits: this.#commits, resyncs: this.#listener?.resyncs ?? 0, notifications: this.#listener?.notifications ?? 0 };
  }

  load(userId: string): Promise<TodoList> {
    return this.#track('load', async () => {
      checkUserId(userId);
      // One statement, one snapshot: the version and the rows always agree.
      const { rows } = await this.#pool.query<TodoRow & { version: string | null }>({
        name: 'todo_live_load',
        text: `SELECT u.version, t.id, t.title, t.completed
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
      const result = await this.#inUserOrder(checked.userId, () => this.#enqueue(checked));
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
      // A user seen recently enough is only read: no row is locked or written, so the
      // transaction commits without a WAL flush.
      await this.#pool.query({
        name: 'todo_live_touch',
        text: `INSERT INTO users (id, version, created_at, last_seen_at)
               SELECT $1::text, 0, $2::bigint, $2::bigint
               WHERE NOT EXISTS (SELECT 1 FROM users WHERE id = $1::text AND last_seen_at > $2::bigint - $3::bigint)
               ON CONFLICT (id) DO UPDATE SET last_seen_at = greatest(users.last_seen_at, excluded.last_seen_at)`,
        values: [userId, now, this.#seenResolutionMs],
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

  /** Queues a write for the next batch; settles once that batch has committed (or failed). */
  #enqueue(request: MutationRequest): Promise<MutationResult> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ request, resolve, reject });
      this.#scheduleFlush();
    });
  }

  /**
   * Starts a batch at the end of this event-loop turn, so writes submitted together share
   * it, unless enough batches are on their way: then writes queue up until one returns and
   * the next batch takes them all (up to MAX_BATCH). That is the group commit.
   */
  #scheduleFlush(): void {
    if (this.#flushScheduled || this.#queue.length === 0 || this.#batchesInFlight >= MAX_BATCHES_IN_FLIGHT) return;
    this.#flushScheduled = true;
    setImmediate(() => {
      this.#flushScheduled = false;
      void this.#flush();
    });
  }

  /** Sends one batch and settles its writes; never rejects. */
  async #flush(): Promise<void> {
    const batch = this.#queue.splice(0, MAX_BATCH);
    if (batch.length === 0) return;
    this.#batchesInFlight++;
    this.#scheduleFlush();
    try {
      const rows = await this.#applyBatch(batch.map((w) => w.request));
      this.#commits++;
      batch.forEach((w, n) => {
        const outcome = outcomeOf(w.request, rows.get(n));
        if (outcome instanceof TodoLiveError) w.reject(outcome);
        else w.resolve(outcome);
      });
    } catch (err) {
      // The statement failed as a whole (connection lost, lock timeout...): nothing committed.
      for (const w of batch) w.reject(fromPostgresError(err, `apply ${w.request.mutation.kind}`));
    } finally {
      this.#batchesInFlight--;
      this.#scheduleFlush();
    }
  }

  /**
   * One statement, one round trip, one transaction for the whole batch: for each write,
   * `todo_live_apply` (migration 2) locks the user's row, looks the operation id up, checks
   * the expected version and the limits, applies the change, bumps the version, records the
   * operation id and queues the notification. Sent outside BEGIN, the statement resolves
   * only once committed. Returns the rows by item number.
   */
  async #applyBatch(requests: readonly MutationRequest[]): Promise<Map<number, BatchRow>> {
    const { rows } = await this.#pool.query<BatchRow>({
      name: 'todo_live_apply_batch',
      text: APPLY_BATCH_STATEMENT,
      values: [JSON.stringify(requests.map(batchElement)), this.#now(), this.limits.maxTodosPerUser, this.#channel],
    });
    return new Map(rows.map((row) => [Number(row.item), row]));
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
