/**
 * The schema's history, as plain data so it ships inside the compiled output (no files to
 * copy next to `dist/`). Each migration has one script per dialect; they describe the same
 * tables. Migrations are append-only: never edit one that has shipped, add the next.
 *
 * Times are integer milliseconds since the epoch in both dialects, so both adapters share
 * the store's injectable clock (cleanup tests move time without sleeping).
 */

import { POSTGRES_APPLY_FUNCTION } from './postgres-apply-function.js';
import { OPTIONAL_OPERATION_IDS_SQLITE, optionalOperationIdsApplyFunction } from './optional-operation-ids.js';
import { PER_USER_TODO_IDS_POSTGRES, PER_USER_TODO_IDS_SQLITE, perUserTodoIdsApplyFunction } from './per-user-todo-ids.js';

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sqlite: string;
  readonly postgres: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'users, todos and operation ids',
    sqlite: `
      CREATE TABLE users (
        id TEXT PRIMARY KEY,
        version INTEGER NOT NULL DEFAULT 0 CHECK (version >= 0),
        created_at INTEGER NOT NULL,
        last_seen_at INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX users_last_seen_at ON users (last_seen_at);

      CREATE TABLE todos (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        title TEXT NOT NULL CHECK (length(title) > 0),
        completed INTEGER NOT NULL DEFAULT 0 CHECK (completed IN (0, 1)),
        position INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX todos_user_position ON todos (user_id, position);
      CREATE INDEX todos_completed_updated_at ON todos (updated_at) WHERE completed = 1;

      CREATE TABLE operations (
        user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        op_id TEXT NOT NULL,
        version INTEGER NOT NULL,
        affected INTEGER NOT NULL,
        todo_id INTEGER,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (user_id, op_id)
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX operations_created_at ON operations (created_at);
    `,
    postgres: `
      CREATE TABLE users (
        id TEXT PRIMARY KEY,
        version BIGINT NOT NULL DEFAULT 0 CHECK (version >= 0),
        created_at BIGINT NOT NULL,
        last_seen_at BIGINT NOT NULL
      );
      CREATE INDEX users_last_seen_at ON users (last_seen_at);

      CREATE TABLE todos (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        title TEXT NOT NULL CHECK (length(title) > 0),
        completed BOOLEAN NOT NULL DEFAULT false,
        position INTEGER NOT NULL,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL
      );
      CREATE INDEX todos_user_position ON todos (user_id, position);
      CREATE INDEX todos_completed_updated_at ON todos (updated_at) WHERE completed;

      CREATE TABLE operations (
        user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        op_id TEXT NOT NULL,
        version BIGINT NOT NULL,
        affected INTEGER NOT NULL,
        todo_id BIGINT,
        created_at BIGINT NOT NULL,
        PRIMARY KEY (user_id, op_id)
      );
      CREATE INDEX operations_created_at ON operations (created_at);
    `,
  },
  {
    version: 2,
    name: 'one-statement, grouped writes on PostgreSQL',
    // SQLite runs in-process: a write costs no round trip, so there is nothing to move into
    // the database. The version still advances so both dialects share one schema number.
    sqlite: '-- nothing to change for SQLite',
    postgres: POSTGRES_APPLY_FUNCTION,
  },
  {
    version: 3,
    name: 'todo ids numbered per user, todos stored by user',
    sqlite: PER_USER_TODO_IDS_SQLITE,
    postgres: PER_USER_TODO_IDS_POSTGRES + perUserTodoIdsApplyFunction(POSTGRES_APPLY_FUNCTION),
  },
  {
    version: 4,
    name: 'operation ids optional',
    sqlite: OPTIONAL_OPERATION_IDS_SQLITE,
    postgres: optionalOperationIdsApplyFunction(perUserTodoIdsApplyFunction(POSTGRES_APPLY_FUNCTION)),
  },
  {
    version: 5,
    name: 'no index of completed todos on SQLite',
    // The index only served the hourly cleanup, and every toggle paid for it: one more page
    // written to the log per commit. The cleanup now walks each user's todos by their key, a
    // slice of users per transaction (sqlite-writer.ts). PostgreSQL's cleanup is one
    // statement over the index, and its writes cost a round trip more than a page: it keeps it.
    sqlite: 'DROP INDEX todos_completed_updated_at;',
    postgres: '-- nothing to change for PostgreSQL',
  },
];

/** The newest schema version this build knows. */
export const LATEST_SCHEMA_VERSION = MIGRATIONS.reduce((max, m) => Math.max(max, m.version), 0);
