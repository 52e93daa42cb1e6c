/**
 * The default store: one SQLite file through better-sqlite3, in WAL mode with
 * `synchronous=FULL` (power-loss durable), used by this process alone (see `sqlite-lock.ts`).
 *
 * Writes go to a writer thread that owns the only connection that writes
 * (`sqlite-writer.ts`), so that COMMIT and its fsync never hold the event loop: while the
 * disk syncs, sockets are still served. Reads run on the main thread, on a connection of
 * their own: in WAL mode a reader never waits for the writer, whereas a read sent to the
 * writer thread would queue behind whole batches and their fsyncs (under sustained writes
 * that made a load take milliseconds instead of about a tenth of one, in bench/store.bench.ts).
 *
 * Group commit: writes submitted together go to the writer as one batch, applied in one
 * transaction and made durable by one fsync. An idle writer gets them as soon as the current
 * microtasks have run; while a batch is being committed, every write of the turn (or of a
 * configured window of a few milliseconds) gathers into the next one. Each write runs inside
 * its own savepoint, so one write that fails (version conflict, unknown todo, limit) is rolled
 * back alone and the others still commit. Every caller's promise settles only after the
 * writer reports that the shared COMMIT returned.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';
import { TodoLiveError } from '../errors.js';
import { Listeners } from './listeners.js';
import { LATEST_SCHEMA_VERSION, MIGRATIONS } from './migrations/index.js';
import { type FileLock, lockDatabaseFile } from './sqlite-lock.js';
import { type CleanupCutoffs, type CleanupSlice, type CleanupSliceResult, fromWireError, type WireJob, type WireOutcome } from './sqlite-protocol.js';
import { openDatabase, prepare, setPragma, useWal } from './sqlite-handles.js';
import { WriterClient } from './sqlite-writer-client.js';
import { closedError, fromSqliteError, fromSqliteOpenError, newerSchema } from './store-errors.js';
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
import { checkRequest, checkSeenResolution, checkUserId, resolveLimits } from './validate.js';

export interface SqliteStoreOptions {
  /**
   * The database file; it and its folder are created when missing. The file `<path>-lock`
   * next to it is locked while the store is open, to keep a second process out.
   */
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
   * How long a write may wait for others to share its commit. 0 (default): at once when the
   * writer is idle, else at the end of the current event-loop turn; at most 2 ms is accepted.
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
  /**
   * How precisely "last seen" is kept: `touch` writes nothing for a user already seen less than
   * this long ago, and a write leaves it as it is (so its index is not rewritten on every
   * change). Last seen only decides when an abandoned user is deleted (after the user
   * retention, a year by default), so it needs no more than a small fraction of that. Default 0:
   * every touch writes.
   */
  readonly seenResolutionMs?: number;
  /** Receives errors thrown by listeners. Default: ignored. */
  readonly onBackgroundError?: (err: unknown) => void;
  /**
   * How many users one transaction of a cleanup walks through; writes that arrive during a
   * cleanup wait for one such slice at most. Default {@link DEFAULT_CLEANUP_SLICE_USERS}.
   */
  readonly cleanupSliceUsers?: number;
}

const DEFAULT_OPERATION_RETENTION_MS = 7 * 24 * 60 * 60 * 1000;
/**
 * Default of {@link SqliteStoreOptions.cleanupSliceUsers}. A slice of 256 users of 100 todos
 * took 2.6–2.9 ms (p50) when none was old enough, 13.5 ms when half of every list was deleted
 * (`npm run bench:store`, docs/performance.md).
 */
const DEFAULT_CLEANUP_SLICE_USERS = 256;
const MAX_WINDOW_MS = 2;

/** A todo as the list's JSON gives it: id, title, completed (0 or 1). */
type TodoRow = [id: number, title: string, completed: number];

interface Job {
  readonly wire: WireJob;
  readonly resolve: (value: unknown) => void;
  readonly reject: (err: unknown) => void;
}

/** What waits to be sent to the writer thread, in order: sealed batches and slices of cleanups. */
type Outgoing =
  | { readonly kind: 'batch'; readonly jobs: Job[] }
  | {
      readonly kind: 'cleanup';
      readonly slice: CleanupSlice;
      readonly resolve: (value: CleanupSliceResult) => void;
      readonly reject: (err: unknown) => void;
    };

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

/**
 * The writer thread of an open SQLite store, for tests that make it fail (terminate it and
 * check that every write then fails with STORE_CONNECTION_LOST); undefined for another store.
 */
export function writerThreadOf(store: TodoStore): Worker | undefined {
  return store instanceof SqliteStore ? store.writerThread : undefined;
}

const SYNCHRONOUS_NAMES = ['OFF', 'NORMAL', 'FULL', 'EXTRA'] as const;

class SqliteStore implements SqliteTodoStore {
  readonly kind = 'sqlite' as const;
  readonly limits: StoreLimits;
  /** The main thread's connection: migrations at open, then reads only. */
  readonly #db: Database.Database;
  readonly #lock: FileLock;
  readonly #writer: WriterClient;
  readonly #now: () => number;
  readonly #windowMs: number;
  readonly #seenResolutionMs: number;
  readonly #cleanupSliceUsers: number;
  readonly #listeners: Listeners;
  /** Writes accepted since the last batch was sealed: they go together as the next batch. */
  #open: Job[] = [];
  readonly #outbox: Outgoing[] = [];
  /**
   * Batches and cleanups with the writer thread. They are sent as soon as they are sealed,
   * not one at a time: the thread answers them in order (so every user's writes stay in
   * order) and commits every batch waiting for it in one transaction, so a batch sealed
   * during a commit starts the moment that commit ends, without a round trip to this thread.
   */
  #inFlight = 0;
  #scheduled = false;
  #idleWaiters: (() => void)[] = [];
  #closed = false;
  #closing: Promise<void> | undefined;
  #commits = 0;
  #writes = 0;
  readonly #s: ReturnType<typeof prepareReads>;
  readonly #readList: (userId: string) => TodoList;
  /**
   * The last-seen time the latest load read with the list, for the touch an activation makes
   * right after its load: that touch then needs no read of its own. Taken by the first touch of
   * the same user; any other touch reads, and a cleanup forgets it. It is never newer than the
   * row, so at worst a touch writes when it could have skipped.
   */
  #seenByLoad: { userId: string; seen: number | null } | null = null;

  constructor(options: SqliteStoreOptions) {
    this.limits = resolveLimits(options.limits);
    this.#now = options.now ?? Date.now;
    const windowMs = options.groupCommitWindowMs ?? 0;
    if (!(windowMs >= 0 && windowMs <= MAX_WINDOW_MS)) {
      throw new TodoLiveError('STORE_INVALID_INPUT', `groupCommitWindowMs: expected 0 to ${MAX_WINDOW_MS}, got ${windowMs}`);
    }
    this.#windowMs = windowMs;
    this.#seenResolutionMs = checkSeenResolution(options.seenResolutionMs);
    const sliceUsers = options.cleanupSliceUsers ?? DEFAULT_CLEANUP_SLICE_USERS;
    if (!(Number.isSafeInteger(sliceUsers) && sliceUsers >= 1)) {
      throw new TodoLiveError('STORE_INVALID_INPUT', `cleanupSliceUsers: expected a whole number of at least 1, got ${String(sliceUsers)}`);
    }
    this.#cleanupSliceUsers = sliceUsers;
    this.#listeners = new Listeners(options.onBackgroundError ?? (() => {}));
    const synchronous = options.synchronous ?? 'FULL';
    if (synchronous !== 'FULL' && synchronous !== 'NORMAL') {
      throw new TodoLiveError('STORE_INVALID_INPUT', `synchronous: expected FULL or NORMAL, got ${String(synchronous)}`);
    }
    if (options.path === ':memory:' || options.path === '') {
      // The writer thread opens the file by name: an in-memory database would be another one there.
      throw new TodoLiveError('STORE_INVALID_INPUT', `path: expected a database file, got ${JSON.stringify(options.path)}`);
    }
    const busyTimeoutMs = options.busyTimeoutMs ?? 5000;
    try {
      mkdirSync(dirname(options.path), { recursive: true });
    } catch (err) {
      throw fromSqliteOpenError(err, `open ${options.path}`);
    }
    // The lock comes first: nothing touches a database another process is using.
    const lock = lockDatabaseFile(options.path, busyTimeoutMs);
    let db: Database.Database | undefined;
    try {
      db = openDatabase(options.path, { timeout: busyTimeoutMs });
    } catch (err) {
      lock.release();
      throw fromSqliteOpenError(err, `open ${options.path}`);
    }
    try {
      // The same level as the writer's: it governs the migrations this connection commits.
      useWal(db, synchronous, `open ${options.path}`);
      migrate(db);
      // From here on every write goes through the writer thread.
      setPragma(db, 'query_only = ON');
      this.#s = prepareReads(db);
    } catch (err) {
      db.close();
      lock.release();
      throw fromSqliteError(err, `open ${options.path}`);
    }
    this.#db = db;
    this.#lock = lock;
    // One statement, so that the version and the todos are of the same commit even while the
    // writer thread commits.
    this.#readList = (userId: string): TodoList => {
      const [version, seen, json] = this.#s.list.get(userId) as [number | null, number | null, string];
      this.#seenByLoad = { userId, seen };
      const rows = JSON.parse(json) as TodoRow[];
      const todos: Todo[] = new Array(rows.length);
      for (let i = 0; i < rows.length; i++) todos[i] = toTodo(rows[i] as TodoRow);
      return { userId, version: version ?? 0, todos };
    };
    this.#writer = new WriterClient({
      path: options.path,
      synchronous,
      busyTimeoutMs,
      maxSizeBytes: options.maxSizeBytes,
      limits: this.limits,
      seenResolutionMs: this.#seenResolutionMs,
    });
  }

  get writerThread(): Worker {
    return this.#writer.worker;
  }

  async load(userId: string): Promise<TodoList> {
    this.#assertOpen('load');
    checkUserId(userId);
    try {
      return this.#readList(userId);
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
      return this.#enqueue({ kind: 'apply', request: checked, now: this.#now() }) as Promise<MutationResult>;
    } catch (err) {
      return Promise.reject(err);
    }
  }

  touch(userId: string): Promise<void> {
    try {
      this.#assertOpen('touch');
      checkUserId(userId);
      const now = this.#now();
      if (this.#seenResolutionMs > 0) {
        // A read on this thread's connection costs microseconds; a write is a commit (and with
        // it every reader's page cache, which a commit by another connection invalidates).
        const memo = this.#seenByLoad;
        let seen: number | null | undefined;
        if (memo !== null && memo.userId === userId) {
          seen = memo.seen;
          this.#seenByLoad = null;
        } else {
          seen = this.#s.lastSeen.get(userId) as number | undefined;
        }
        if (seen !== undefined && seen !== null && now - seen < this.#seenResolutionMs) return Promise.resolve();
      }
      return this.#enqueue({ kind: 'touch', userId, now }) as Promise<void>;
    } catch (err) {
      return Promise.reject(err);
    }
  }

  async cleanup(options: CleanupOptions): Promise<CleanupResult> {
    this.#assertOpen('cleanup');
    // A cleanup may delete the user a remembered load saw: its next touch must read, and create it again.
    this.#seenByLoad = null;
    const now = this.#now();
    const cutoffs: CleanupCutoffs = {
      todoCutoff: now - options.completedRetentionMs,
      userCutoff: now - options.userRetentionMs,
      opCutoff: now - (options.operationRetentionMs ?? DEFAULT_OPERATION_RETENTION_MS),
    };
    const total = { todosDeleted: 0, usersDeleted: 0, operationsDeleted: 0 };
    let after: string | null = '';
    // One slice of users per transaction, each sent behind the writes already waiting, so that
    // no write waits for more than a slice. A close between slices ends the cleanup there:
    // what the slices deleted is committed, the rest waits for the next run.
    while (after !== null && !this.#closed) {
      const slice: CleanupSlice = { cutoffs, after, users: this.#cleanupSliceUsers };
      const { result, bumped, next } = await new Promise<CleanupSliceResult>((resolve, reject) => {
        // Pending writes go first so that cleanup sees (and is ordered after) everything acknowledged.
        this.#seal();
        this.#outbox.push({ kind: 'cleanup', slice, resolve, reject });
        this.#schedule(0);
      });
      total.todosDeleted += result.todosDeleted;
      total.usersDeleted += result.usersDeleted;
      total.operationsDeleted += result.operationsDeleted;
      for (const { id, version } of bumped) this.#listeners.emit({ type: 'change', userId: id, version });
      after = next;
    }
    return total;
  }

  settings(): { journalMode: string; synchronous: 'FULL' | 'NORMAL' | 'OFF' | 'EXTRA'; schemaVersion: number } {
    this.#assertOpen('settings');
    const s = this.#s;
    return {
      journalMode: String(s.journalMode.get()),
      synchronous: SYNCHRONOUS_NAMES[s.synchronous.get() as number] ?? 'FULL',
      schemaVersion: s.schemaVersion.get() as number,
    };
  }

  stats(): { commits: number; writes: number } {
    return { commits: this.#commits, writes: this.#writes };
  }

  subscribe(listener: StoreListener): () => void {
    this.#assertOpen('subscribe');
    return this.#listeners.add(listener);
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#closed = true;
    this.#seal();
    this.#schedule(0);
    await new Promise<void>((resolve) => this.#whenIdle(resolve));
    this.#listeners.clear();
    try {
      // The reader goes first, so that the writer's connection is the last one and its close
      // (which checkpoints the log into the database file) runs in its thread.
      this.#db.close();
      await this.#writer.close();
    } catch (err) {
      throw fromSqliteError(err, 'close');
    } finally {
      this.#lock.release();
    }
  }

  #assertOpen(action: string): void {
    if (this.#closed) throw closedError(action);
  }

  #enqueue(wire: WireJob): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.#open.push({ wire, resolve, reject });
      this.#schedule(this.#windowMs);
    });
  }

  /** Closes the batch being collected: later writes go into the next one. */
  #seal(): void {
    if (this.#open.length === 0) return;
    this.#outbox.push({ kind: 'batch', jobs: this.#open });
    this.#open = [];
  }

  /**
   * Sends what is sealed after `delayMs`. With 0: to an idle writer as soon as the current
   * microtasks have run (writes made together still share a batch, and the first write after a
   * pause does not wait for the rest of the turn: other sockets' frames, other replies); to a
   * busy one at the end of this event-loop turn, so that every write of the turn shares the
   * next commit, which could not start earlier anyway.
   */
  #schedule(delayMs: number): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    if (delayMs > 0) setTimeout(() => this.#pump(), delayMs);
    else if (this.#inFlight === 0) queueMicrotask(() => this.#pump());
    else setImmediate(() => this.#pump());
  }

  #pump(): void {
    this.#scheduled = false;
    this.#seal();
    for (const next of this.#outbox.splice(0)) {
      this.#inFlight++;
      if (next.kind === 'batch') {
        void this.#sendBatch(next.jobs);
        continue;
      }
      this.#writer.cleanupSlice(next.slice).then(
        (result) => this.#answered(() => next.resolve(result)),
        (err: unknown) => this.#answered(() => next.reject(err)),
      );
    }
    this.#checkIdle();
  }

  /**
   * The writer answered a request: it counts as free before anyone hears of the answer, so a
   * write made in reaction (the next command of a user) goes to it at once.
   */
  #answered(tell: () => void): void {
    this.#inFlight--;
    try {
      tell();
    } finally {
      this.#checkIdle();
    }
  }

  async #sendBatch(jobs: Job[]): Promise<void> {
    let outcomes: readonly WireOutcome[];
    let commit: number;
    try {
      ({ outcomes, commit } = await this.#writer.batch(jobs.map((job) => job.wire)));
    } catch (err) {
      this.#answered(() => {
        for (const job of jobs) job.reject(err);
      });
      return;
    }
    this.#answered(() => this.#settle(jobs, outcomes, commit));
  }

  /** Hands each job its outcome and tells subscribers which users' versions moved. */
  #settle(jobs: Job[], outcomes: readonly WireOutcome[], commit: number): void {
    // Batches that waited for the thread together share one commit, counted once.
    this.#commits = Math.max(this.#commits, commit);
    this.#writes += jobs.length;
    const versions = new Map<string, number>();
    jobs.forEach((job, i) => {
      const outcome = outcomes[i]!;
      if (!outcome.ok) {
        job.reject(fromWireError(outcome.error));
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

  #isIdle(): boolean {
    return this.#inFlight === 0 && !this.#scheduled && this.#outbox.length === 0 && this.#open.length === 0;
  }

  #whenIdle(resolve: () => void): void {
    if (this.#isIdle()) resolve();
    else this.#idleWaiters.push(resolve);
  }

  #checkIdle(): void {
    if (this.#idleWaiters.length > 0 && this.#isIdle()) for (const waiter of this.#idleWaiters.splice(0)) waiter();
  }
}

function toTodo(row: TodoRow): Todo {
  return { id: row[0], title: row[1], completed: row[2] === 1 };
}

function prepareReads(db: Database.Database) {
  return {
    userVersion: prepare(db, 'SELECT version FROM users WHERE id = ?'),
    lastSeen: prepare(db, 'SELECT last_seen_at FROM users WHERE id = ?').pluck(),
    // The list comes back as one JSON text that SQLite builds, parsed in one call: better-sqlite3
    // spends about 0.7 µs per row making its values, JSON.parse a fraction of that (a 100-todo
    // load went from 102 to 75 µs; the load is a sixth of a cold activation's CPU).
    // With the user's last-seen time, which the activation's touch then need not read again.
    list: prepare(
      db,
      `SELECT u.version, u.last_seen_at,
              (SELECT json_group_array(json_array(id, title, completed) ORDER BY position, id) FROM todos WHERE user_id = k.id)
       FROM (SELECT ? AS id) AS k LEFT JOIN users AS u ON u.id = k.id`,
    ).raw(true),
    journalMode: prepare(db, 'PRAGMA journal_mode').pluck(),
    synchronous: prepare(db, 'PRAGMA synchronous').pluck(),
    schemaVersion: prepare(db, 'SELECT max(version) FROM schema_migrations').pluck(),
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
    const current = (prepare(db, 'SELECT max(version) FROM schema_migrations').pluck().get() as number | null) ?? 0;
    if (current > LATEST_SCHEMA_VERSION) throw newerSchema(current, LATEST_SCHEMA_VERSION);
    const record = prepare(db, 'INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
    for (const m of MIGRATIONS) {
      if (m.version <= current) continue;
      db.exec(m.sqlite);
      record.run(m.version, m.name, Date.now());
    }
  }).immediate();
}
