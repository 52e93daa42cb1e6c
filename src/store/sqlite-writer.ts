/**
 * The SQLite store's write side: the one connection that writes, and the group commit.
 * It runs in the writer thread (`sqlite-writer-thread.ts`), so that COMMIT and the fsync of
 * `synchronous=FULL` hold that thread, never the event loop that serves sockets.
 *
 * A batch is applied in one transaction with a savepoint per write (none for a write alone):
 * a write that fails (version conflict, unknown todo, limit) is rolled back alone and the
 * others still commit.
 * Outcomes are returned only after COMMIT has returned.
 */
import type Database from 'better-sqlite3';
import type { TodoLiveError } from '../errors.js';
import type { CleanupSlice, CleanupSliceResult, WireJob, WriterConfig } from './sqlite-protocol.js';
import { planMove } from './reorder.js';
import { mutationResult } from './results.js';
import { openDatabase, prepare, setPragma, useWal } from './sqlite-handles.js';
import { fromSqliteError, limitExceeded, moveOutOfRange, todoNotFound, versionConflict } from './store-errors.js';
import type { MutationRequest, MutationResult, StoreLimits } from './types.js';

export type Outcome = { ok: true; value: unknown } | { ok: false; error: TodoLiveError };

export class SqliteWriter {
  readonly #db: Database.Database;
  readonly #limits: StoreLimits;
  readonly #seenResolutionMs: number;
  readonly #s: ReturnType<typeof prepareWrites>;

  /** Opens the writer connection on a database the main thread has already created and migrated. */
  constructor(config: WriterConfig) {
    this.#limits = config.limits;
    this.#seenResolutionMs = config.seenResolutionMs;
    let db: Database.Database | undefined;
    try {
      db = openDatabase(config.path, { timeout: config.busyTimeoutMs, fileMustExist: true });
      useWal(db, config.synchronous, `open the writer connection to ${config.path}`);
      if (config.maxSizeBytes !== undefined) {
        const pageSize = prepare(db, 'PRAGMA page_size').pluck().get() as number;
        setPragma(db, `max_page_count = ${Math.max(1, Math.floor(config.maxSizeBytes / pageSize))}`);
      }
      this.#s = prepareWrites(db);
    } catch (err) {
      db?.close();
      throw fromSqliteError(err, `open the writer connection to ${config.path}`);
    }
    this.#db = db;
  }

  /**
   * Commits every job in one transaction, each in its own savepoint when there are several
   * (a write alone fails by rolling the transaction back). Throws (a TodoLiveError) when the
   * transaction as a whole failed: then nothing of it was committed.
   */
  runBatch(jobs: readonly WireJob[]): Outcome[] {
    const s = this.#s;
    // A write alone needs no savepoint: if it fails, the transaction holds nothing else to keep.
    const alone = jobs.length === 1;
    const outcomes: Outcome[] = [];
    try {
      s.begin.run();
      for (const job of jobs) {
        if (!alone) s.savepoint.run();
        try {
          const value = job.kind === 'apply' ? this.#applyOne(job.request, job.now) : this.#touch(job.userId, job.now);
          if (!alone) s.release.run();
          outcomes.push({ ok: true, value });
        } catch (err) {
          if (!this.#db.inTransaction) throw err; // SQLite rolled the whole transaction back (I/O, full disk)
          if (alone) {
            s.rollback.run();
          } else {
            s.rollbackTo.run();
            s.release.run();
          }
          outcomes.push({ ok: false, error: fromSqliteError(err, job.kind === 'apply' ? `apply ${job.request.mutation.kind}` : 'touch') });
        }
      }
      if (this.#db.inTransaction) s.commit.run();
    } catch (err) {
      if (this.#db.inTransaction) {
        try {
          s.rollback.run();
        } catch {
          // The original error says more than a failed rollback would.
        }
      }
      throw fromSqliteError(err, `commit of ${jobs.length} write(s)`);
    }
    return outcomes;
  }

  /**
   * One slice of a cleanup, in one transaction; returns the counts, the users whose version
   * moved and where the next slice starts.
   *
   * Completed todos have no index of their own: keeping one wrote a page more on every toggle
   * (migration 5). The cleanup walks the users instead, a slice at a time, each user's todos
   * by their key; the store sends the slices one after another, behind the writes that wait,
   * so a cleanup holds the writer for one slice at a time, never for the whole table.
   */
  cleanupSlice(slice: CleanupSlice): CleanupSliceResult {
    const s = this.#s;
    const { cutoffs } = slice;
    const bumped: { id: string; version: number }[] = [];
    try {
      return this.#db.transaction((): CleanupSliceResult => {
        let usersDeleted = 0;
        let operationsDeleted = 0;
        // Both found by their own index, so the first slice does them for the whole table.
        if (slice.after === '') {
          usersDeleted = s.deleteInactiveUsers.run(cutoffs.userCutoff).changes;
          operationsDeleted = s.deleteOldOperations.run(cutoffs.opCutoff).changes;
        }
        const users = s.usersAfter.all(slice.after, slice.users) as string[];
        let todosDeleted = 0;
        for (const userId of users) {
          const deleted = s.deleteOldCompletedOf.run(userId, cutoffs.todoCutoff).changes;
          if (deleted === 0) continue;
          todosDeleted += deleted;
          bumped.push(s.bumpVersion.get(userId) as { id: string; version: number });
        }
        const next = users.length < slice.users ? null : users[users.length - 1]!;
        return { result: { todosDeleted, usersDeleted, operationsDeleted }, bumped, next };
      }).immediate();
    } catch (err) {
      throw fromSqliteError(err, 'cleanup');
    }
  }

  close(): void {
    try {
      this.#db.close();
    } catch (err) {
      throw fromSqliteError(err, 'close');
    }
  }

  #touch(userId: string, now: number): undefined {
    this.#s.upsertUser.get(userId, now, now);
    return undefined;
  }

  /** Runs inside a savepoint or alone in its transaction: any throw undoes everything this mutation did. */
  #applyOne(request: MutationRequest, now: number): MutationResult {
    const { userId, opId, mutation } = request;
    const s = this.#s;
    const previous = opId === undefined ? undefined : (s.findOp.get(userId, opId) as { version: number; affected: number; todo_id: number | null } | undefined);
    if (previous !== undefined) {
      return mutationResult(userId, opId, previous.version, true, previous.affected, previous.todo_id ?? undefined);
    }
    // The version moves first (one statement reads and bumps it); a conflict or a failed
    // mutation below undoes it with the rest of the write.
    let bumped = s.bumpAndSeen.get(userId) as { version: number; last_seen_at: number } | undefined;
    if (bumped === undefined) {
      s.insertUser.run(userId, now, now);
      bumped = s.bumpAndSeen.get(userId) as { version: number; last_seen_at: number };
    } else if (now - bumped.last_seen_at >= this.#seenResolutionMs) {
      // Last seen is moved only past the resolution: moving it rewrites two pages of its index.
      s.setLastSeen.run(now, userId);
    }
    const version = bumped.version;
    const current = version - 1;
    if (request.expectedVersion !== undefined && request.expectedVersion !== current) {
      throw versionConflict(userId, request.expectedVersion, current);
    }
    let affected = 0;
    let todoId: number | undefined;
    switch (mutation.kind) {
      case 'add': {
        const { n, next } = s.countAndNext.get(userId) as { n: number; next: number };
        if (n >= this.#limits.maxTodosPerUser) throw limitExceeded(userId, this.#limits.maxTodosPerUser);
        todoId = s.nextTodoId.get(userId) as number;
        s.insertTodo.run(userId, todoId, mutation.title, next, now, now);
        affected = 1;
        break;
      }
      case 'toggle':
        affected = s.toggle.run(now, mutation.id, userId).changes;
        if (affected === 0) throw todoNotFound(userId, mutation.id);
        break;
      case 'set_completed': {
        affected = s.setCompleted.run(Number(mutation.completed), now, mutation.id, userId, Number(mutation.completed)).changes;
        // Nothing changed: already so, or no such todo (told apart only then).
        if (affected === 0 && s.completedOf.get(mutation.id, userId) === undefined) throw todoNotFound(userId, mutation.id);
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
        for (const change of plan) s.setPosition.run(change.position, userId, change.id);
        affected = plan.length;
        break;
      }
    }
    if (opId !== undefined) s.insertOp.run(userId, opId, version, affected, todoId ?? null, now);
    return mutationResult(userId, opId, version, false, affected, todoId);
  }
}

function prepareWrites(db: Database.Database) {
  const p = (sql: string) => prepare(db, sql);
  return {
    begin: p('BEGIN IMMEDIATE'),
    commit: p('COMMIT'),
    rollback: p('ROLLBACK'),
    savepoint: p('SAVEPOINT write'),
    release: p('RELEASE write'),
    rollbackTo: p('ROLLBACK TO write'),
    findOp: p('SELECT version, affected, todo_id FROM operations WHERE user_id = ? AND op_id = ?'),
    upsertUser: p(
      `INSERT INTO users (id, version, created_at, last_seen_at) VALUES (?, 0, ?, ?)
       ON CONFLICT (id) DO UPDATE SET last_seen_at = max(last_seen_at, excluded.last_seen_at) RETURNING version`,
    ),
    insertUser: p('INSERT INTO users (id, version, created_at, last_seen_at) VALUES (?, 0, ?, ?)'),
    setLastSeen: p('UPDATE users SET last_seen_at = ? WHERE id = ?'),
    bumpVersion: p('UPDATE users SET version = version + 1 WHERE id = ? RETURNING id, version'),
    bumpAndSeen: p('UPDATE users SET version = version + 1 WHERE id = ? RETURNING version, last_seen_at'),
    insertOp: p(
      'INSERT INTO operations (user_id, op_id, version, affected, todo_id, created_at) VALUES (?, ?, ?, ?, ?, ?)',
    ),
    countAndNext: p('SELECT count(*) AS n, coalesce(max(position), -1) + 1 AS next FROM todos WHERE user_id = ?'),
    // Ids are numbered per user and never reused within the list (migration 3).
    nextTodoId: p('UPDATE users SET last_todo_id = last_todo_id + 1 WHERE id = ? RETURNING last_todo_id').pluck(),
    insertTodo: p(
      'INSERT INTO todos (user_id, id, title, completed, position, created_at, updated_at) VALUES (?, ?, ?, 0, ?, ?, ?)',
    ),
    toggle: p('UPDATE todos SET completed = 1 - completed, updated_at = ? WHERE id = ? AND user_id = ?'),
    completedOf: p('SELECT completed FROM todos WHERE id = ? AND user_id = ?'),
    setCompleted: p('UPDATE todos SET completed = ?, updated_at = ? WHERE id = ? AND user_id = ? AND completed <> ?'),
    setAllCompleted: p('UPDATE todos SET completed = ?, updated_at = ? WHERE user_id = ? AND completed <> ?'),
    rename: p('UPDATE todos SET title = ?, updated_at = ? WHERE id = ? AND user_id = ?'),
    deleteTodo: p('DELETE FROM todos WHERE id = ? AND user_id = ?'),
    clearCompleted: p('DELETE FROM todos WHERE user_id = ? AND completed = 1'),
    positions: p('SELECT id, position FROM todos WHERE user_id = ? ORDER BY position, id'),
    setPosition: p('UPDATE todos SET position = ? WHERE user_id = ? AND id = ?'),
    deleteInactiveUsers: p('DELETE FROM users WHERE last_seen_at < ?'),
    // User ids are never empty, so '' starts at the first one.
    usersAfter: p('SELECT id FROM users WHERE id > ? ORDER BY id LIMIT ?').pluck(),
    deleteOldCompletedOf: p('DELETE FROM todos WHERE user_id = ? AND completed = 1 AND updated_at < ?'),
    deleteOldOperations: p('DELETE FROM operations WHERE created_at < ?'),
  };
}
