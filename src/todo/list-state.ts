/**
 * The in-memory copy of a user's list, advanced by the same mutations the store commits.
 * The per-user server applies a mutation here only after the store acknowledged it, so the
 * copy is always a committed state; lists are immutable (every view of the user may hold the
 * same array without copying it).
 */
import type { Mutation, MutationResult, Todo, TodoList } from '../store/index.js';

/** The list after `mutation` committed with `result`. */
export function applyCommitted(list: TodoList, mutation: Mutation, result: MutationResult): TodoList {
  const todos = nextTodos(list.todos, mutation, result);
  return { userId: list.userId, version: result.version, todos };
}

function nextTodos(todos: readonly Todo[], m: Mutation, result: MutationResult): readonly Todo[] {
  switch (m.kind) {
    case 'add': {
      const id = result.todoId;
      if (id === undefined) return todos;
      const todo: Todo = { id, title: m.title, completed: false };
      return [...todos, todo];
    }
    case 'toggle':
      return todos.map((t) => (t.id === m.id ? { ...t, completed: !t.completed } : t));
    case 'set_completed':
      return todos.map((t) => (t.id === m.id && t.completed !== m.completed ? { ...t, completed: m.completed } : t));
    case 'set_all_completed':
      return todos.map((t) => (t.completed !== m.completed ? { ...t, completed: m.completed } : t));
    case 'rename':
      return todos.map((t) => (t.id === m.id ? { ...t, title: m.title } : t));
    case 'delete':
      return todos.filter((t) => t.id !== m.id);
    case 'clear_completed':
      return todos.filter((t) => !t.completed);
    case 'move': {
      const from = todos.findIndex((t) => t.id === m.id);
      const moved = todos[from];
      if (moved === undefined) return todos;
      const rest = todos.filter((t) => t.id !== m.id);
      rest.splice(Math.min(m.toIndex, rest.length), 0, moved);
      return rest;
    }
  }
}
