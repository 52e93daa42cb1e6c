/**
 * The durable-write baseline: what this disk and SQLite do at all with one fsync'd commit
 * per write (better-sqlite3, WAL, `synchronous=FULL`, one INSERT per transaction), on a
 * fresh file in a temp folder, for a bounded time.
 */
import { join } from 'node:path';
import { openDatabase, prepare, setPragma } from '../../src/store/sqlite-handles.js';
import { type Summary, summarize } from './stats.js';

export interface CommitBaseline {
  commitsPerSecond: number;
  commitUs: Summary;
}

export function sqliteSingleCommit(dir: string, seconds: number): CommitBaseline {
  const db = openDatabase(join(dir, 'baseline.db'));
  setPragma(db, 'journal_mode = WAL');
  setPragma(db, 'synchronous = FULL');
  db.exec('CREATE TABLE todos (id INTEGER PRIMARY KEY, user_id TEXT NOT NULL, title TEXT NOT NULL, completed INTEGER NOT NULL, position INTEGER NOT NULL)');
  db.exec('CREATE INDEX todos_user_position ON todos (user_id, position)');
  const insert = prepare(db, 'INSERT INTO todos (user_id, title, completed, position) VALUES (?, ?, 0, ?)');
  const times: number[] = [];
  const started = performance.now();
  const end = started + seconds * 1000;
  let i = 0;
  // Autocommit: every INSERT is its own transaction and its own fsync.
  while (performance.now() < end) {
    const t = performance.now();
    insert.run(`user-${i % 1000}`, `Buy milk #${i}`, i);
    times.push((performance.now() - t) * 1000);
    i++;
  }
  const elapsed = (performance.now() - started) / 1000;
  db.close();
  return { commitsPerSecond: i / elapsed, commitUs: summarize(times) };
}
