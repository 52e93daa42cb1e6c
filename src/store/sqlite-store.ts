/**
 * The default store: one SQLite file through better-sqlite3, in WAL mode with
 * `synchronous=FULL` (power-loss durable), owned exclusively by this process.
 *
 * Group commit: writes submitted during one event-loop turn (or within a configured window
 * of a few milliseconds) are applied in one transaction and made durable by one fsync.
 * Each write runs inside its own savepoint, so one write that fails (version conflict,
 * unknown todo, limit) is rolled back alone and the others still commit. Every caller's
 * promise settles only after the shared COMMIT has returned.
 *
 * better-sqlite3 is synchronous: a flush holds the event loop for the duration of its
 * transaction and fsync. That is the price of durability without a worker thread; batching
 * keeps it to one fsync per turn however many users wrote.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { TodoLiveError } from '../errors.js';
import { Listeners } from './listeners.js';
import { LATEST_SCHEMA_VERSION, MIGRATIONS } from './migrations/index.js';
import { planMove } from './reorder.js';
import {
  closedError,
  fromSqliteError,
  fromSqliteOpenError,
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
  Todo,
  TodoList,
  TodoStore,
} from './types.js';
import { checkRequest, checkUserId, resolveLimits } from './validate.js';

export interface SqliteStoreOptions {
  /** The database file; it and its folder are created when missing. */
  readonly path: string;
  /**
   * `FULL` (default) fsyncs the WAL on every commit: an acknowledged write survives power
   * loss. `NORMAL` fsyncs only at checkpoints: an acknowledged write survives a crash of
   * this process but may be lost with the machine. Choose `NORMAL` only knowingly.
   */
  readonly synchronous?: 'FULL' | 'NORMAL';
  /** How long to wait for a lock held elsewhere before failing with STORE_LOCKED. Default 5,000 ms. */
  readonly busyTimeoutMs?: number;
  /**
   * How long a write may wait for others to share its commit. 0 (default) commits at the
   * end of the current event-loop turn; at most 2 ms is accepted.
   */
  readonly groupCommitWindowMs?: number;
  /**
   * Largest size the database file may grow to; a write that would pass it fails with
   * STORE_DISK_FULL, exactly as when the disk itself is full. Default: no limit but the disk.
   */
  readonly maxSizeBytes?: number;
  readonly limits?: Partial<StoreLimits>;
  /** The clock for created/updated/last-seen times and cleanup. Default `Date.now`. */
  readonly now?: () => number;
  /** Receives errors thrown by listeners. Default: ignored. */
  readonly onBackgroundError?: (err: unknown) => void;
}

const DEFAULT_OPERATION_RETENTION_MS = 7 * 24 * 60 * 60 * 1000;
const MAX_WINDOW_MS = 2;

interface TodoRow {
  id: number;
  title: string;
  completed: number;
  position: number;
  created_at: number;
  updated_at: number;
}

interface Job<T> {
  readonly run: () => T;
  readonly resolve: (value: T) => void;
  readonly reject: (err: unknown) => void;
  readonly action: string;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: TodoLiveError };

/**
 * Opens (creating and migrating as needed) a SQLite store. Fails with STORE_LOCKED when
 * another process already has the file open, STORE_CORRUPT when the file is not a database
 * or comes from a newer release.
 */
export function openSqliteStore(options: SqliteStoreOptions): SqliteTodoStore {
  return new SqliteStore(options);
}

/** The SQLite store, with what only it can report. */
export interface SqliteTodoStore extends TodoStore {
  readonly kind: 'sqlite';
  /** The settings in force, read back from SQLite itself. */
  settings(): { journalMode: string; synchronous: 'FULL' | 'NORMAL' | 'OFF' | 'EXTRA'; schemaVersion: number };
  /** Counters since open: transactions committed by group commit and jobs they carried. */
  stats(): { commits: number; writes: number };
}

const SYNCHRONOUS_NAMES = ['OFF', 'NORMAL', 'FULL', 'EXTRA'] as const;

class SqliteStore implements SqliteTodoStore {
  readonly kind = 'sqlite' as const;
  readonly limits: StoreLimits;
  readonly #db: Database.Database;
  readonly #now: () => number;
  readonly #windowMs: number;
  readonly #listeners: Listeners;
  #queue: Job<unknown>[] = [];
  #scheduled = false;
  #closed = false;
  #commits = 0;
  #writes = 0;
  readonly #s: ReturnType<typeof prepare>;

  constructor(options: SqliteStoreOptions) {
    this.limits = resolveLimits(options.limits);
    this.#now = options.now ?? Date.now;
    const windowMs = options.groupCommitWindowMs ?? 0;
    if (!(windowMs >= 0 && windowMs <= MAX_WINDOW_MS)) {
      throw new TodoLiveError('STORE_INVALID_INPUT', `groupCommitWindowMs: expected 0 to ${MAX_WINDOW_MS}, got ${windowMs}`);
    }
    this.#windowMs = windowMs;
    this.#listeners = new Listeners(options.onBackgroundError ?? (() => {}));
    const synchronous = options.synchronous ?? 'FULL';
    if (synchronous !== 'FULL' && synchronous !== 'NORMAL') {
      throw new TodoLiveError('STORE_INVALID_INPUT', `synchronous: expected FULL or NORMAL, got ${String(synchronous)}`);
    }
    let db: Database.Database;
    try {
      if (options.path !== ':memory:' && options.path !== '') mkdirSync(dirname(options.path), { recursive: true });
      db = new Database(options.path, { timeout: options.busyTimeoutMs ?? 5000 });
    } catch (err) {
      throw fromSqliteOpenError(err, `open ${options.path}`);
    }
    try {
      // Exclusive locking before WAL: SQLite then keeps the WAL index in private memory
      // and holds the file lock for the life of the connection, so a second process (or
      // connection) opening the same file is refused instead of interleaving writes. The
      // operating system drops the lock when this process dies, however it dies.
      db.pragma('locking_mode = EXCLUSIVE');
      const mode = db.pragma('journal_mode = WAL', { simple: true });
      if (mode !== 'wal' && options.path !== ':memory:') {
        throw new TodoLiveError('STORE_FAILED', `open ${options.path}: expected journal_mode wal, got ${String(mode)}`);
      }
      db.pragma(`synchronous = ${synchronous}`);
      db.pragma('foreign_keys = ON');
      migrate(db);
      if (options.maxSizeBytes !== undefined) {
        const pageSize = db.pragma('page_size', { simple: true }) as number;
        db.pragma(`max_page_count = ${Math.max(1, Math.floor(options.maxSizeBytes / pageSize))}`);
      }
    } catch (err) {
      db.close();
      const mapped = fromSqliteError(err, `open ${options.path}`);
      if (mapped.code === 'STORE_LOCKED') {
        throw new TodoLiveError(
          'STORE_LOCKED',
          `open ${options.path}: expected to be the only process using this database, but another one holds it`,
          { cause: err, details: mapped.details },
        );
      }
      throw mapped;
    }
    this.#db = db;
    this.#s = prepare(db);
  }

  async load(userId: string): Promise<TodoList> {
    this.#assertOpen('load');
    checkUserId(userId);
    try {
      const version = (this.#s.userVersion.get(userId) as { version: number } | undefined)?.version ?? 0;
      const rows = this.#s.todos.all(userId) as TodoRow[];
      return { userId, version, todos: rows.map(toTodo) };
    } catch (err) {
      throw fromSqliteError(err, `load user ${JSON.stringify(userId)}`);
    }
  }

  async version(userId: string): Promise<number> {
    this.#assertOpen('version');
    checkUserId(userId);
    try {
      return (this.#s.userVersion.get(userId) as { version: number } | undefined)?.version ?? 0;
    } catch (err) {
      throw fromSqliteError(err, `read version of user ${JSON.stringify(userId)}`);
    }
  }

  apply(request: MutationRequest): Promise<MutationResult> {
    try {
      this.#assertOpen('apply');
      const checked = checkRequest(request, this.limits);
      return this.#enqueue(() => this.#applyOne(checked), `apply ${checked.mutation.kind}`);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  touch(userId: string): Promise<void> {
    try {
      this.#assertOpen('touch');
      checkUserId(userId);
      return this.#enqueue(() => {
        const now = this.#now();
        this.#s.upsertUser.get(userId, now, now);
      }, 'touch');
    } catch (err) {
      return Promise.reject(err);
    }
  }

  async cleanup(options: CleanupOptions): Promise<CleanupResult> {
    this.#assertOpen('cleanup');
    const now = this.#now();
    const todoCutoff = now - options.completedRetentionMs;
    const userCutoff = now - options.userRetentionMs;
    const opCutoff = now - (options.operationRetentionMs ?? DEFAULT_OPERATION_RETENTION_MS);
    // Pending writes go first so that cleanup sees (and is ordered after) everything acknowledged.
    this.#flush();
    const bumped: { id: string; version: number }[] = [];
    let result: CleanupResult;
    try {
      result = this.#db.transaction((): CleanupResult => {
        const usersDeleted = this.#s.deleteInactiveUsers.run(userCutoff).changes;
        const affectedUsers = this.#s.usersWithOldCompleted.all(todoCutoff) as { user_id: string }[];
        const todosDeleted = this.#s.deleteOldCompleted.run(todoCutoff).changes;
        for (const { user_id } of affectedUsers) {
          bumped.push(this.#s.bumpVersion.get(user_id) as { id: string; version: number });
        }
        const operationsDeleted = this.#s.deleteOldOperations.run(opCutoff).changes;
        return { todosDeleted, usersDeleted, operationsDeleted };
      }).immediate();
    } catch (err) {
      throw fromSqliteError(err, 'cleanup');
    }
    for (const { id, version } of bumped) this.#listeners.emit({ type: 'change', userId: id, version });
    return result;
  }

  settings(): { journalMode: string; synchronous: 'FULL' | 'NORMAL' | 'OFF' | 'EXTRA'; schemaVersion: number } {
    this.#assertOpen('settings');
    const level = this.#db.pragma('synchronous', { simple: true }) as number;
    const row = this.#db.prepare('SELECT max(version) AS v FROM schema_migrations').get() as { v: number };
    return {
      journalMode: String(this.#db.pragma('journal_mode', { simple: true })),
      synchronous: SYNCHRONOUS_NAMES[level] ?? 'FULL',
      schemaVersion: row.v,
    };
  }

  stats(): { commits: number; writes: number } {
    return { commits: this.#commits, writes: this.#writes };
  }

  subscribe(listener: StoreListener): () => void {
    this.#assertOpen('subscribe');
    return this.#listeners.add(listener);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#flush();
    this.#closed = true;
    this.#listeners.clear();
    try {
      this.#db.close();
    } catch (err) {
      throw fromSqliteError(err, 'close');
    }
  }

  #assertOpen(action: string): void {
    if (this.#closed) throw closedError(action);
  }

  #enqueue<T>(run: () => T, action: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ run, resolve, reject, action } as Job<unknown>);
      if (this.#scheduled) return;
      this.#scheduled = true;
      if (this.#windowMs === 0) setImmediate(() => this.#flush());
      else setTimeout(() => this.#flush(), this.#windowMs);
    });
  }

  /** Commits every queued job in one transaction, each in its own savepoint. */
  #flush(): void {
    this.#scheduled = false;
    const batch = this.#queue;
    if (batch.length === 0) return;
    this.#queue = [];
    const outcomes: Outcome[] = [];
    const s = this.#s;
    try {
      s.begin.run();
      for (const job of batch) {
        s.savepoint.run();
        try {
          const value = job.run();
          s.release.run();
          outcomes.push({ ok: true, value });
        } catch (err) {
          if (!this.#db.inTransaction) throw err; // SQLite rolled the whole transaction back (I/O, full disk)
          s.rollbackTo.run();
          s.release.run();
          outcomes.push({ ok: false, error: fromSqliteError(err, job.action) });
        }
      }
      s.commit.run();
      this.#commits++;
      this.#writes += batch.length;
    } catch (err) {
      if (this.#db.inTransaction) {
        try {
          s.rollback.run();
        } catch {
          // The original error says more than a failed rollback would.
        }
      }
      const error = fromSqliteError(err, `commit of ${batch.length} write(s)`);
      for (const job of batch) job.reject(error);
      return;
    }
    const versions = new Map<string, number>();
    batch.forEach((job, i) => {
      const outcome = outcomes[i]!;
      if (!outcome.ok) {
        job.reject(outcome.error);
        return;
      }
      job.resolve(outcome.value);
      const result = outcome.value as Partial<MutationResult> | undefined;
      if (result?.userId !== undefined && result.duplicate === false && result.version !== undefined) {
        versions.set(result.userId, result.version);
      }
    });
    for (const [userId, version] of versions) this.#listeners.emit({ type: 'change', userId, version });
  }

  /** Runs inside a savepoint: any throw undoes everything this mutation did. */
  #applyOne(request: MutationRequest): MutationResult {
    const { userId, opId, mutation } = request;
    const s = this.#s;
    const previous = s.findOp.get(userId, opId) as { version: number; affected: number; todo_id: number | null } | undefined;
    if (previous !== undefined) {
      return {
        userId,
        opId,
        version: previous.version,
        duplicate: true,
        affected: previous.affected,
        ...(previous.todo_id === null ? {} : { todoId: previous.todo_id }),
      };
    }
    const now = this.#now();
    const current = (s.upsertUser.get(userId, now, now) as { version: number }).version;
    if (request.expectedVersion !== undefined && request.expectedVersion !== current) {
      throw versionConflict(userId, request.expectedVersion, current);
    }
    let affected = 0;
    let todoId: number | undefined;
    switch (mutation.kind) {
      case 'add': {
        const { n, next } = s.countAndNext.get(userId) as { n: number; next: number };
        if (n >= this.limits.maxTodosPerUser) throw limitExceeded(userId, this.limits.maxTodosPerUser);
        todoId = (s.insertTodo.get(userId, mutation.title, next, now, now) as { id: number }).id;
        affected = 1;
        break;
      }
      case 'toggle':
        affected = s.toggle.run(now, mutation.id, userId).changes;
        if (affected === 0) throw todoNotFound(userId, mutation.id);
        break;
      case 'set_completed': {
        const row = s.completedOf.get(mutation.id, userId) as { completed: number } | undefined;
        if (row === undefined) throw todoNotFound(userId, mutation.id);
        if (row.completed !== Number(mutation.completed)) {
          affected = s.setCompleted.run(Number(mutation.completed), now, mutation.id, userId).changes;
        }
        break;
      }
      case 'set_all_completed':
        affected = s.setAllCompleted.run(Number(mutation.completed), now, userId, Number(mutation.completed)).changes;
        break;
      case 'rename':
        affected = s.rename.run(mutation.title, now, mutation.id, userId).changes;
        if (affected === 0) throw todoNotFound(userId, mutation.id);
        break;
      case 'delete':
        affected = s.deleteTodo.run(mutation.id, userId).changes;
        if (affected === 0) throw todoNotFound(userId, mutation.id);
        break;
      case 'clear_completed':
        affected = s.clearCompleted.run(userId).changes;
        break;
      case 'move': {
        const ordered = s.positions.all(userId) as { id: number; position: number }[];
        const plan = planMove(ordered, mutation.id, Math.min(mutation.toIndex, ordered.length));
        if (plan === undefined) throw todoNotFound(userId, mutation.id);
        if (mutation.toIndex >= ordered.length) throw moveOutOfRange(userId, mutation.toIndex, ordered.length);
        for (const change of plan) s.setPosition.run(change.position, change.id);
        affected = plan.length;
        break;
      }
    }
    const version = (s.bumpVersion.get(userId) as { version: number }).version;
    s.insertOp.run(userId, opId, version, affected, todoId ?? null, now);
    return { userId, opId, version, duplicate: false, affected, ...(todoId === undefined ? {} : { todoId }) };
  }
}

function toTodo(row: TodoRow): Todo {
  return {
    id: row.id,
    title: row.title,
    completed: row.completed === 1,
    position: row.position,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function prepare(db: Database.Database) {
  const p = (sql: string) => db.prepare(sql);
  return {
    begin: p('BEGIN IMMEDIATE'),
    commit: p('COMMIT'),
    rollback: p('ROLLBACK'),
    savepoint: p('SAVEPOINT write'),
    release: p('RELEASE write'),
    rollbackTo: p('ROLLBACK TO write'),
    userVersion: p('SELECT version FROM users WHERE id = ?'),
    todos: p(
      'SELECT id, title, completed, position, created_at, updated_at FROM todos WHERE user_id = ? ORDER BY position, id',
    ),
    findOp: p('SELECT version, affected, todo_id FROM operations WHERE user_id = ? AND op_id = ?'),
    upsertUser: p(
      `INSERT INTO users (id, version, created_at, last_seen_at) VALUES (?, 0, ?, ?)
       ON CONFLICT (id) DO UPDATE SET last_seen_at = max(last_seen_at, excluded.last_seen_at) RETURNING version`,
    ),
    bumpVersion: p('UPDATE users SET version = version + 1 WHERE id = ? RETURNING id, version'),
    insertOp: p(
      'INSERT INTO operations (user_id, op_id, version, affected, todo_id, created_at) VALUES (?, ?, ?, ?, ?, ?)',
    ),
    countAndNext: p('SELECT count(*) AS n, coalesce(max(position), -1) + 1 AS next FROM todos WHERE user_id = ?'),
    insertTodo: p(
      'INSERT INTO todos (user_id, title, completed, position, created_at, updated_at) VALUES (?, ?, 0, ?, ?, ?) RETURNING id',
    ),
    toggle: p('UPDATE todos SET completed = 1 - completed, updated_at = ? WHERE id = ? AND user_id = ?'),
    completedOf: p('SELECT completed FROM todos WHERE id = ? AND user_id = ?'),
    setCompleted: p('UPDATE todos SET completed = ?, updated_at = ? WHERE id = ? AND user_id = ?'),
    setAllCompleted: p('UPDATE todos SET completed = ?, updated_at = ? WHERE user_id = ? AND completed <> ?'),
    rename: p('UPDATE todos SET title = ?, updated_at = ? WHERE id = ? AND user_id = ?'),
    deleteTodo: p('DELETE FROM todos WHERE id = ? AND user_id = ?'),
    clearCompleted: p('DELETE FROM todos WHERE user_id = ? AND completed = 1'),
    positions: p('SELECT id, position FROM todos WHERE user_id = ? ORDER BY position, id'),
    setPosition: p('UPDATE todos SET position = ? WHERE id = ?'),
    deleteInactiveUsers: p('DELETE FROM users WHERE last_seen_at < ?'),
    usersWithOldCompleted: p('SELECT DISTINCT user_id FROM todos WHERE completed = 1 AND updated_at < ?'),
    deleteOldCompleted: p('DELETE FROM todos WHERE completed = 1 AND updated_at < ?'),
    deleteOldOperations: p('DELETE FROM operations WHERE created_at < ?'),
  };
}

/** Brings the schema up to date in one transaction; refuses a schema from a newer release. */
function migrate(db: Database.Database): void {
  db.transaction(() => {
    db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version INTEGER PRIMARY KEY,
      name TEXT NOT NULL,
      applied_at INTEGER NOT NULL
    ) STRICT`);
    const row = db.prepare('SELECT max(version) AS v FROM schema_migrations').get() as { v: number | null };
    const current = row.v ?? 0;
    if (current > LATEST_SCHEMA_VERSION) throw newerSchema(current, LATEST_SCHEMA_VERSION);
    const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
    for (const m of MIGRATIONS) {
      if (m.version <= current) continue;
      db.exec(m.sqlite);
      record.run(m.version, m.name, Date.now());
    }
  }).immediate();
}
