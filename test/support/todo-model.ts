/**
 * A reference model of one user's list: the simplest thing that could be right, used as the
 * oracle for property tests and crash recovery checks.
 */
import type { Mutation } from '../../src/store/index.js';

export interface ModelTodo {
  id: number;
  title: string;
  completed: boolean;
}

export class TodoModel {
  todos: ModelTodo[] = [];
  version = 0;

  /** Applies `mutation` as the store should; returns false (and changes nothing) where the store must refuse. */
  apply(mutation: Mutation, newId: () => number, maxTodos = Number.POSITIVE_INFINITY): boolean {
    const find = (id: number) => this.todos.findIndex((t) => t.id === id);
    switch (mutation.kind) {
      case 'add':
        if (this.todos.length >= maxTodos) return false;
        this.todos.push({ id: newId(), title: mutation.title, completed: false });
        break;
      case 'toggle':
      case 'set_completed':
      case 'rename':
      case 'delete': {
        const i = find(mutation.id);
        if (i === -1) return false;
        const todo = this.todos[i]!;
        if (mutation.kind === 'toggle') todo.completed = !todo.completed;
        else if (mutation.kind === 'set_completed') todo.completed = mutation.completed;
        else if (mutation.kind === 'rename') todo.title = mutation.title;
        else this.todos.splice(i, 1);
        break;
      }
      case 'set_all_completed':
        for (const t of this.todos) t.completed = mutation.completed;
        break;
      case 'clear_completed':
        this.todos = this.todos.filter((t) => !t.completed);
        break;
      case 'move': {
        const i = find(mutation.id);
        if (i === -1 || mutation.toIndex >= this.todos.length) return false;
        const [todo] = this.todos.splice(i, 1);
        this.todos.splice(mutation.toIndex, 0, todo!);
        break;
      }
    }
    this.version++;
    return true;
  }
}
