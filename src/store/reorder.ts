/**
 * Where every todo ends up when one is moved: a pure plan both adapters execute.
 */

export interface PositionChange {
  readonly id: number;
  readonly position: number;
}

/**
 * Given a list's ids in display order, moves `id` to `toIndex` and renumbers the list
 * 0..n-1 (closing gaps left by deletions). Returns only the rows whose position changes,
 * or `undefined` when `id` is not in the list. `toIndex` must be below `ordered.length`.
 */
export function planMove(
  ordered: readonly { readonly id: number; readonly position: number }[],
  id: number,
  toIndex: number,
): PositionChange[] | undefined {
  const from = ordered.findIndex((t) => t.id === id);
  if (from === -1) return undefined;
  const ids = ordered.map((t) => t.id);
  ids.splice(from, 1);
  ids.splice(toIndex, 0, id);
  const before = new Map(ordered.map((t) => [t.id, t.position]));
  const changes: PositionChange[] = [];
  ids.forEach((tid, position) => {
    if (before.get(tid) !== position) changes.push({ id: tid, position });
  });
  return changes;
}
