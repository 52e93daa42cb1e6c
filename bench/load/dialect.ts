/**
 * The two apps' event vocabularies. Ours (LiveView 1.2 client) names its controls in
 * `src/todo/templates.ts` and validates them in `src/todo/events.ts`; the LiveViewJS peer
 * (LiveView 0.18 client) in its `src/todoLiveView.ts`. A payload here is exactly what the
 * official client of each sends for that control.
 */
import { randomBytes } from 'node:crypto';

/** The `event` push payload: `{type, event, value, …}`. */
export type EventPayload = Record<string, unknown>;

export interface Todo {
  id: number;
  completed: boolean;
}

export interface Dialect {
  readonly name: 'todo-live' | 'liveviewjs';
  /** Whether a server rate-limits events per socket (ours: 20/s sustained, 40 burst). */
  readonly eventsPerSocketPerSecond: number;
  add(title: string, csrfToken: string): EventPayload;
  /** Click on a todo's checkbox: completes an active todo, reopens a completed one. */
  toggle(todo: Todo): EventPayload;
  toggleAll(allCompleted: boolean): EventPayload;
  destroy(id: number): EventPayload;
  /** Double-click on a title. */
  edit(id: number): EventPayload;
  /** Enter in the edit field. */
  save(id: number, title: string): EventPayload;
  /**
   * A keystroke in the new-todo field (`phx-change`): what the field holds now. Null where the
   * page does not report typing (the peer's form has no `phx-change`).
   */
  draft(title: string): EventPayload | null;
}

/** Operation ids are 96 random bits, url-safe, like the ones our server mints into forms. */
const op = (): string => randomBytes(12).toString('base64url');

export const TODO_LIVE: Dialect = {
  name: 'todo-live',
  eventsPerSocketPerSecond: 19,
  add: (title) => ({ type: 'form', event: 'add', value: new URLSearchParams({ op: op(), title }).toString(), meta: {} }),
  // A checkbox click carries `value: "on"` only when the box is checked after the click.
  toggle: (t) => ({ type: 'click', event: 'toggle', value: { id: String(t.id), ...(t.completed ? {} : { value: 'on' }) } }),
  toggleAll: (allCompleted) => ({ type: 'click', event: 'toggle-all', value: { op: op(), ...(allCompleted ? {} : { value: 'on' }) } }),
  destroy: (id) => ({ type: 'click', event: 'destroy', value: { value: String(id) } }),
  edit: (id) => ({ type: 'hook', event: 'edit', value: { id: String(id) } }),
  save: (_id, title) => ({ type: 'form', event: 'save', value: new URLSearchParams({ op: op(), title }).toString(), meta: {} }),
  // The client sends the form's fields and which one changed; the form's operation id is left
  // out, which the page accepts (it keeps the one it rendered).
  draft: (title) => ({ type: 'form', event: 'draft', value: new URLSearchParams({ _target: 'title', title }).toString(), meta: {} }),
};

export const LIVEVIEWJS: Dialect = {
  name: 'liveviewjs',
  eventsPerSocketPerSecond: Number.POSITIVE_INFINITY,
  add: (title, csrfToken) => ({ type: 'form', event: 'add', value: new URLSearchParams({ _csrf_token: csrfToken, title }).toString() }),
  toggle: (t) => ({ type: 'click', event: 'toggle', value: { id: String(t.id), value: 'on' } }),
  toggleAll: () => ({ type: 'click', event: 'toggle-all', value: { value: 'on' } }),
  destroy: (id) => ({ type: 'click', event: 'destroy', value: { id: String(id), value: '' } }),
  edit: (id) => ({ type: 'hook', event: 'edit', value: { id: String(id) } }),
  save: (id, title) => ({ type: 'hook', event: 'save', value: { id: String(id), title } }),
  draft: () => null,
};

/** Tells the apps apart by their new-todo form: ours reports drafts with `phx-change="draft"`. */
export function detectDialect(html: string): Dialect {
  return /<form id="new-todo-form" phx-change="draft"/.test(html) ? TODO_LIVE : LIVEVIEWJS;
}
