/**
 * Migration 3: todo ids numbered per user (1, 2, 3… in each list) instead of one sequence for
 * the whole database, and todos stored by user.
 *
 * Why: an id is written into every item of a page five times (the item's DOM id, the two
 * controls' targets, the title's id and the names that point at it), so at a million todos a
 * seven-digit global id cost about 2.5 KB per 100-todo page; a per-user id has one to three
 * digits. And a user's todos are read together, always: SQLite now keeps them side by side
 * (a WITHOUT ROWID table keyed by user and id), so a cold load reads two or three pages
 * instead of one per todo wherever the todos were added over time among other users'.
 *
 * Ids stay unique within a list and are never reused there: `users.last_todo_id` counts the
 * ids handed out (a tab that still shows a deleted todo can never act on a newer one by
 * mistake). Existing todos are renumbered 1…n per user in their old id order, and the
 * operation ids recorded for adds follow them (an add whose todo is gone keeps no id).
 */

import { replaceExactlyOnce } from './derive.js';

export const PER_USER_TODO_IDS_SQLITE = `
  ALTER TABLE users ADD COLUMN last_todo_id INTEGER NOT NULL DEFAULT 0 CHECK (last_todo_id >= 0);

  CREATE TABLE todo_renumbering (
    old_id INTEGER PRIMARY KEY,
    user_id TEXT NOT NULL,
    id INTEGER NOT NULL
  ) STRICT;
  INSERT INTO todo_renumbering (old_id, user_id, id)
    SELECT id, user_id, row_number() OVER (PARTITION BY user_id ORDER BY id) FROM todos;

  CREATE TABLE todos_by_user (
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    id INTEGER NOT NULL CHECK (id > 0),
    title TEXT NOT NULL CHECK (length(title) > 0),
    completed INTEGER NOT NULL DEFAULT 0 CHECK (completed IN (0, 1)),
    position INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, id)
  ) STRICT, WITHOUT ROWID;
  INSERT INTO todos_by_user (user_id, id, title, completed, position, created_at, updated_at)
    SELECT t.user_id, r.id, t.title, t.completed, t.position, t.created_at, t.updated_at
    FROM todos t JOIN todo_renumbering r ON r.old_id = t.id;

  UPDATE operations SET todo_id = (SELECT r.id FROM todo_renumbering r WHERE r.old_id = operations.todo_id)
    WHERE todo_id IS NOT NULL;
  UPDATE users SET last_todo_id = (SELECT max(r.id) FROM todo_renumbering r WHERE r.user_id = users.id)
    WHERE id IN (SELECT user_id FROM todo_renumbering);

  DROP TABLE todo_renumbering;
  DROP TABLE todos;
  ALTER TABLE todos_by_user RENAME TO todos;
  CREATE INDEX todos_completed_updated_at ON todos (updated_at) WHERE completed = 1;
`;

export const PER_USER_TODO_IDS_POSTGRES = `
  ALTER TABLE users ADD COLUMN last_todo_id BIGINT NOT NULL DEFAULT 0 CHECK (last_todo_id >= 0);

  ALTER TABLE todos ADD COLUMN user_todo_id BIGINT;
  UPDATE todos t SET user_todo_id = r.n
    FROM (SELECT id, row_number() OVER (PARTITION BY user_id ORDER BY id) AS n FROM todos) r
    WHERE r.id = t.id;

  UPDATE operations o SET todo_id = NULL
    WHERE o.todo_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM todos t WHERE t.id = o.todo_id);
  UPDATE operations o SET todo_id = t.user_todo_id FROM todos t WHERE t.id = o.todo_id;
  UPDATE users u SET last_todo_id = m.n
    FROM (SELECT user_id, max(user_todo_id) AS n FROM todos GROUP BY user_id) m
    WHERE m.user_id = u.id;

  ALTER TABLE todos DROP CONSTRAINT todos_pkey;
  ALTER TABLE todos DROP COLUMN id;
  ALTER TABLE todos RENAME COLUMN user_todo_id TO id;
  ALTER TABLE todos ALTER COLUMN id SET NOT NULL;
  ALTER TABLE todos ADD CONSTRAINT todos_id_positive CHECK (id > 0);
  ALTER TABLE todos ADD PRIMARY KEY (user_id, id);
`;

/**
 * `todo_live_apply` as migration 2 defined it, with its add taking the list's next id. Only
 * that branch changes, so the new text is derived from the old one (which is frozen history)
 * rather than written out twice; the batch function calls it by name and stays as it is.
 */
export function perUserTodoIdsApplyFunction(migration2: string): string {
  const apply = migration2.slice(0, migration2.indexOf('-- Several users'));
  const replaceOnce = (text: string, from: string, to: string) => replaceExactlyOnce(text, from, to, "migration 3 expected migration 2's function");
  const replaced = replaceOnce(apply, 'CREATE FUNCTION todo_live_apply(', 'CREATE OR REPLACE FUNCTION todo_live_apply(');
  return replaceOnce(
    replaced,
    `      INSERT INTO todos (user_id, title, completed, position, created_at, updated_at)
      VALUES (p_user_id, p_title, false, v_next, p_now, p_now)
      RETURNING id INTO applied_todo_id;`,
    `      UPDATE users SET last_todo_id = last_todo_id + 1 WHERE id = p_user_id
      RETURNING last_todo_id INTO applied_todo_id;
      INSERT INTO todos (user_id, id, title, completed, position, created_at, updated_at)
      VALUES (p_user_id, applied_todo_id, p_title, false, v_next, p_now, p_now);`,
  );
}
