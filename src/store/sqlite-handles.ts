/**
 * Every SQLite connection and statement the store creates, kept reachable for the life of the
 * thread that created it.
 *
 * Why: from Node 24.19, a `better-sqlite3` 12 handle (connection or statement) that the garbage
 * collector finalizes while no JavaScript context is entered (an idle-time or background GC)
 * aborts the whole process: its destructor removes an environment cleanup hook, and Node
 * asserts that an environment is current. Version 13 fixes it but needs Node 22, and we run on
 * 20 too. So no handle may ever become garbage. Closing a connection still frees what SQLite
 * holds (its statements are finalized with it); only the small JavaScript wrappers stay, a
 * bounded number per opened store.
 *
 * Hence the rules in this folder: open connections with {@link openDatabase}, prepare with
 * {@link prepare}, set pragmas with {@link setPragma} (`db.pragma()` prepares a throwaway
 * statement on every call), and never use `iterate()`. {@link useWal} holds the settings the
 * store's connections share.
 */
import Database from 'better-sqlite3';
import { TodoLiveError } from '../errors.js';

const handles: object[] = [];

/** Opens a connection that is never garbage collected (see the module comment). */
export function openDatabase(path: string, options?: Database.Options): Database.Database {
  const db = new Database(path, options);
  handles.push(db);
  return db;
}

/** Prepares a statement that is never garbage collected: prepare once, run many times. */
export function prepare(db: Database.Database, sql: string): Database.Statement {
  const statement = db.prepare(sql);
  handles.push(statement);
  return statement;
}

/** Runs `PRAGMA <assignment>` without a statement object, e.g. `setPragma(db, 'foreign_keys = ON')`. */
export function setPragma(db: Database.Database, assignment: string): void {
  db.exec(`PRAGMA ${assignment}`);
}

/**
 * The settings every connection to the todo database shares: WAL journal (readers never wait
 * for the writer), the given durability level, foreign keys on. Throws STORE_FAILED, naming
 * `action`, when the file cannot use WAL.
 */
export function useWal(db: Database.Database, synchronous: string, action: string): void {
  const mode = prepare(db, 'PRAGMA journal_mode = WAL').pluck().get();
  if (mode !== 'wal') throw new TodoLiveError('STORE_FAILED', `${action}: expected journal_mode wal, got ${String(mode)}`);
  setPragma(db, `synchronous = ${synchronous}`);
  setPragma(db, 'foreign_keys = ON');
}

/** How many handles are kept; for tests of this rule. */
export function retainedHandles(): number {
  return handles.length;
}
