/**
 * Migration 4: operation ids become optional. A mutation without one is applied and not
 * recorded: the app names only the operations a client may send again (a form's submit),
 * and recording the others cost two index pages per write and a row kept for a week
 * (decision 0007). SQLite needs no schema change (its writer decides in code); PostgreSQL's
 * `todo_live_apply` records the id only when there is one.
 */
import { replaceExactlyOnce } from './derive.js';

export const OPTIONAL_OPERATION_IDS_SQLITE = `
  -- Nothing to change: the writer records an operation id only when a write has one.
  SELECT 1;
`;

/** Migration 3's `todo_live_apply` (already a CREATE OR REPLACE) with the record guarded. */
export function optionalOperationIdsApplyFunction(migration3Apply: string): string {
  return replaceExactlyOnce(
    migration3Apply,
    `  INSERT INTO operations (user_id, op_id, version, affected, todo_id, created_at)
  VALUES (p_user_id, p_op_id, applied_version, applied_affected, applied_todo_id, p_now);`,
    `  IF p_op_id IS NOT NULL THEN
    INSERT INTO operations (user_id, op_id, version, affected, todo_id, created_at)
    VALUES (p_user_id, p_op_id, applied_version, applied_affected, applied_todo_id, p_now);
  END IF;`,
    "migration 4 expected migration 3's function",
  );
}
