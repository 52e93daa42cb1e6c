/**
 * Migration 2 for PostgreSQL: `todo_live_apply`, the whole of one mutation as a server-side
 * function, and `todo_live_apply_batch`, which applies several users' mutations with it in
 * one statement. A group of writes is one parameterised statement and one round trip instead
 * of five per write (BEGIN, lock and dedupe, change, bump, COMMIT). Sent outside an explicit
 * transaction, the statement is its own transaction; a refusal raised by `todo_live_apply`
 * rolls back everything it did for that mutation, including the user upsert.
 *
 * Refusals are raised with SQLSTATEs of a class PostgreSQL does not use ("TL"), and the
 * numbers the caller's message needs travel in DETAIL:
 *
 * | SQLSTATE | meaning | DETAIL |
 * | --- | --- | --- |
 * | TL001 | the expected version is stale | the stored version |
 * | TL002 | the todo id is not in the user's list | (none) |
 * | TL003 | the list is at its todo limit | the limit |
 * | TL004 | a move's target index is past the end | the number of todos |
 * | TL005 | an unknown mutation kind | (none) |
 *
 * The batch returns them per mutation, and `src/store/store-errors.ts` maps them back to
 * the same typed errors the SQLite adapter raises. Once released this text is history:
 * change the functions in a new migration (`CREATE OR REPLACE FUNCTION`), never here.
 */
export const POSTGRES_APPLY_FUNCTION = `
CREATE FUNCTION todo_live_apply(
  p_user_id text,
  p_op_id text,
  p_expected_version bigint,
  p_kind text,
  p_todo_id bigint,
  p_title text,
  p_completed boolean,
  p_to_index integer,
  p_now bigint,
  p_max_todos integer,
  p_channel text,
  OUT applied_version bigint,
  OUT applied_affected integer,
  OUT applied_todo_id bigint,
  OUT was_duplicate boolean)
LANGUAGE plpgsql VOLATILE AS $fn$
DECLARE
  v_current bigint;
  v_op record;
  v_count integer;
  v_next integer;
  v_present boolean;
BEGIN
  -- The upsert takes the user's row lock, serialising this user's writes across nodes. Each
  -- statement after it takes a fresh snapshot (READ COMMITTED, volatile function), so it
  -- sees whatever the previous lock holder committed, operation ids included.
  INSERT INTO users AS u (id, version, created_at, last_seen_at)
  VALUES (p_user_id, 0, p_now, p_now)
  ON CONFLICT (id) DO UPDATE SET last_seen_at = greatest(u.last_seen_at, excluded.last_seen_at)
  RETURNING u.version INTO v_current;

  -- A known operation id answers with its first result, whatever the expected version.
  SELECT o.version, o.affected, o.todo_id INTO v_op
  FROM operations o WHERE o.user_id = p_user_id AND o.op_id = p_op_id;
  IF FOUND THEN
    applied_version := v_op.version;
    applied_affected := v_op.affected;
    applied_todo_id := v_op.todo_id;
    was_duplicate := true;
    RETURN;
  END IF;

  IF p_expected_version IS NOT NULL AND p_expected_version <> v_current THEN
    RAISE EXCEPTION 'expected version %, stored version %', p_expected_version, v_current
      USING ERRCODE = 'TL001', DETAIL = v_current::text;
  END IF;

  applied_affected := 0;
  CASE p_kind
    WHEN 'add' THEN
      SELECT count(*), coalesce(max(t.position), -1) + 1 INTO v_count, v_next
      FROM todos t WHERE t.user_id = p_user_id;
      IF v_count >= p_max_todos THEN
        RAISE EXCEPTION 'the list holds % todos', v_count USING ERRCODE = 'TL003', DETAIL = p_max_todos::text;
      END IF;
      INSERT INTO todos (user_id, title, completed, position, created_at, updated_at)
      VALUES (p_user_id, p_title, false, v_next, p_now, p_now)
      RETURNING id INTO applied_todo_id;
      applied_affected := 1;

    WHEN 'toggle' THEN
      UPDATE todos SET completed = NOT completed, updated_at = p_now
      WHERE id = p_todo_id AND user_id = p_user_id;
      GET DIAGNOSTICS applied_affected = ROW_COUNT;
      IF applied_affected = 0 THEN
        RAISE EXCEPTION 'todo % not found', p_todo_id USING ERRCODE = 'TL002';
      END IF;

    WHEN 'set_completed' THEN
      -- Setting the value a todo already has is an applied mutation that changes no row.
      UPDATE todos SET completed = p_completed, updated_at = p_now
      WHERE id = p_todo_id AND user_id = p_user_id AND completed <> p_completed;
      GET DIAGNOSTICS applied_affected = ROW_COUNT;
      IF applied_affected = 0 AND NOT EXISTS (SELECT 1 FROM todos WHERE id = p_todo_id AND user_id = p_user_id) THEN
        RAISE EXCEPTION 'todo % not found', p_todo_id USING ERRCODE = 'TL002';
      END IF;

    WHEN 'set_all_completed' THEN
      UPDATE todos SET completed = p_completed, updated_at = p_now
      WHERE user_id = p_user_id AND completed <> p_completed;
      GET DIAGNOSTICS applied_affected = ROW_COUNT;

    WHEN 'rename' THEN
      UPDATE todos SET title = p_title, updated_at = p_now
      WHERE id = p_todo_id AND user_id = p_user_id;
      GET DIAGNOSTICS applied_affected = ROW_COUNT;
      IF applied_affected = 0 THEN
        RAISE EXCEPTION 'todo % not found', p_todo_id USING ERRCODE = 'TL002';
      END IF;

    WHEN 'delete' THEN
      DELETE FROM todos WHERE id = p_todo_id AND user_id = p_user_id;
      GET DIAGNOSTICS applied_affected = ROW_COUNT;
      IF applied_affected = 0 THEN
        RAISE EXCEPTION 'todo % not found', p_todo_id USING ERRCODE = 'TL002';
      END IF;

    WHEN 'clear_completed' THEN
      DELETE FROM todos WHERE user_id = p_user_id AND completed;
      GET DIAGNOSTICS applied_affected = ROW_COUNT;

    WHEN 'move' THEN
      -- A missing todo is reported before an index past the end, as in the SQLite adapter.
      SELECT count(*), coalesce(bool_or(t.id = p_todo_id), false) INTO v_count, v_present
      FROM todos t WHERE t.user_id = p_user_id;
      IF NOT v_present THEN
        RAISE EXCEPTION 'todo % not found', p_todo_id USING ERRCODE = 'TL002';
      END IF;
      IF p_to_index >= v_count THEN
        RAISE EXCEPTION 'index % past % todos', p_to_index, v_count USING ERRCODE = 'TL004', DETAIL = v_count::text;
      END IF;
      -- Renumbers the list 0..n-1 with the moved todo at p_to_index (closing gaps left by
      -- deletions) and writes only the rows whose position changes.
      WITH others AS (
        SELECT t.id, (row_number() OVER (ORDER BY t.position, t.id) - 1)::integer AS rank
        FROM todos t WHERE t.user_id = p_user_id AND t.id <> p_todo_id
      ), target AS (
        SELECT o.id, CASE WHEN o.rank >= p_to_index THEN o.rank + 1 ELSE o.rank END AS position FROM others o
        UNION ALL
        SELECT p_todo_id, p_to_index
      )
      UPDATE todos SET position = target.position FROM target
      WHERE todos.id = target.id AND todos.user_id = p_user_id AND todos.position <> target.position;
      GET DIAGNOSTICS applied_affected = ROW_COUNT;

    ELSE
      RAISE EXCEPTION 'unknown mutation kind %', p_kind USING ERRCODE = 'TL005';
  END CASE;

  UPDATE users SET version = version + 1 WHERE id = p_user_id RETURNING version INTO applied_version;
  INSERT INTO operations (user_id, op_id, version, affected, todo_id, created_at)
  VALUES (p_user_id, p_op_id, applied_version, applied_affected, applied_todo_id, p_now);
  -- Queued with the transaction: delivered to listeners only if and when it commits.
  PERFORM pg_notify(p_channel, applied_version || ':' || p_user_id);
  was_duplicate := false;
END
$fn$;

-- Several users' mutations in one transaction: one round trip, one commit and one fsync for
-- the lot. NOTIFY makes commits take turns (PostgreSQL holds a cluster-wide lock from
-- queuing the notifications until the commit is flushed), so without grouping every write
-- would wait for every other write's fsync. Each mutation runs in its own subtransaction: a
-- refusal or failure rolls back that mutation alone and is returned as its SQLSTATE,
-- message and detail, next to the caller's item number n. Users are locked in id order, so
-- two batches never deadlock.
CREATE FUNCTION todo_live_apply_batch(p_requests jsonb, p_now bigint, p_max_todos integer, p_channel text)
RETURNS TABLE (
  item bigint,
  applied_version bigint,
  applied_affected integer,
  applied_todo_id bigint,
  was_duplicate boolean,
  refusal text,
  refusal_message text,
  refusal_detail text)
LANGUAGE plpgsql VOLATILE AS $fn$
DECLARE
  r record;
BEGIN
  FOR r IN
    SELECT x.* FROM jsonb_to_recordset(p_requests) AS x(
      n bigint, user_id text, op_id text, expected_version bigint, kind text,
      todo_id bigint, title text, completed boolean, to_index integer)
    ORDER BY x.user_id, x.n
  LOOP
    item := r.n;
    refusal := NULL;
    refusal_message := NULL;
    refusal_detail := NULL;
    BEGIN
      SELECT a.applied_version, a.applied_affected, a.applied_todo_id, a.was_duplicate
      INTO applied_version, applied_affected, applied_todo_id, was_duplicate
      FROM todo_live_apply(r.user_id, r.op_id, r.expected_version, r.kind, r.todo_id, r.title,
                           r.completed, r.to_index, p_now, p_max_todos, p_channel) a;
    EXCEPTION WHEN OTHERS THEN
      GET STACKED DIAGNOSTICS refusal = RETURNED_SQLSTATE, refusal_message = MESSAGE_TEXT,
                              refusal_detail = PG_EXCEPTION_DETAIL;
      applied_version := NULL;
      applied_affected := NULL;
      applied_todo_id := NULL;
      was_duplicate := NULL;
    END;
    RETURN NEXT;
  END LOOP;
END
$fn$;
`;
