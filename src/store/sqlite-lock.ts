/**
 * Keeps a database file to one process. The store needs two connections to its file (a
 * reader on the main thread, the writer in its thread), so it cannot take SQLite's exclusive
 * lock on the file itself; instead it holds an exclusive lock on a small companion file,
 * `<path>-lock`, for as long as the store is open. The lock is SQLite's own (a POSIX lock
 * on Unix): the operating system drops it when the process dies, however it dies, and
 * SQLite also refuses it to a second connection of the same process.
 */
import type Database from 'better-sqlite3';
import { TodoLiveError } from '../errors.js';
import { openDatabase, setPragma } from './sqlite-handles.js';
import { fromSqliteError, fromSqliteOpenError } from './store-errors.js';

export interface FileLock {
  release(): void;
}

/** Takes the lock of `dbPath` or throws STORE_LOCKED naming the database. */
export function lockDatabaseFile(dbPath: string, busyTimeoutMs: number): FileLock {
  const lockPath = `${dbPath}-lock`;
  let db: Database.Database;
  try {
    db = openDatabase(lockPath, { timeout: busyTimeoutMs });
  } catch (err) {
    throw fromSqliteOpenError(err, `open ${lockPath}`);
  }
  try {
    // In exclusive locking mode SQLite keeps the lock a write transaction took until the
    // connection closes; the transaction itself writes nothing, so it needs no journal file.
    setPragma(db, 'locking_mode = EXCLUSIVE');
    setPragma(db, 'journal_mode = MEMORY');
    db.exec('BEGIN EXCLUSIVE; COMMIT');
  } catch (err) {
    db.close();
    const mapped = fromSqliteError(err, `open ${dbPath}`);
    if (mapped.code === 'STORE_LOCKED') {
      throw new TodoLiveError(
        'STORE_LOCKED',
        `open ${dbPath}: expected to be the only process using this database, but another one holds it`,
        { cause: err, details: mapped.details },
      );
    }
    throw mapped;
  }
  return {
    release() {
      if (db.open) db.close();
    },
  };
}
