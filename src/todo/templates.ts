/**
 * The TodoMVC markup, as plain functions from a page model to templates. The markup is the
 * standard one `todomvc-app-css` styles, plus what a live page needs: bindings, operation ids
 * on every mutating control, accessible names, and inline messages. Nothing here reads state
 * or does I/O; `todo-live.ts` builds the model.
 */
import { attr, each, html, type Template } from '../live/index.js';
import type { Todo } from '../store/index.js';
import { FILTER_PATHS, type Filter, itemsLeftNoun, matchesFilter } from './rules.js';

/** The tab-local editing state: which todo, and the form instance's operation id. */
export interface EditingState {
  readonly id: number;
  readonly op: string;
  /** What the field shows: the stored title, or what the user typed when it was refused. */
  readonly title: string;
  readonly error: string | null;
}

/** Everything the page shows. */
export interface TodoPageModel {
  readonly todos: readonly Todo[];
  readonly filter: Filter;
  /** The new-todo field's text (kept across re-renders and reconnects through `phx-change`). */
  readonly draft: string;
  readonly draftError: string | null;
  /** Operation id of the new-todo form instance. */
  readonly addOp: string;
  /** Operation id of the list-wide controls (toggle all, clear completed). */
  readonly bulkOp: string;
  readonly editing: EditingState | null;
  /** A message about the last action that did not go through (shown until the next action). */
  readonly notice: string | null;
  /**
   * Where to reload when a deploy changed the page's scripts or styles (the current path and
   * query), or null when the page is up to date.
   */
  readonly reloadTo: string | null;
}

/** The inner HTML of the live container. */
export function renderTodoPage(m: TodoPageModel): Template {
  let active = 0;
  for (const t of m.todos) if (!t.completed) active++;
  const completed = m.todos.length - active;
  return html`<section class="todoapp">
<header class="header">
<h1>todos</h1>
${newTodoForm(m)}
</header>
${m.notice === null ? '' : html`<p class="todo-notice" role="alert">${m.notice}</p>`}
${m.todos.length === 0 ? '' : mainSection(m, active)}
${m.todos.length === 0 ? '' : footer(m, active, completed)}
</section>
<footer class="info">
<p>Double-click to edit a todo</p>
<p>Live over a socket: every tab of this browser shows the same list</p>
</footer>
<div class="update-banner" role="status">${m.reloadTo === null ? '' : updateNotice(m.reloadTo)}</div>`;
}

/**
 * After a deploy the page still runs the old code. A plain link reloads it: the client only
 * intercepts links marked `data-phx-link`, and a strict CSP allows no inline script. The
 * status region is always in the page (empty and hidden) so screen readers announce the
 * text when it arrives, which they may not do for a region inserted along with its text.
 */
function updateNotice(to: string): Template {
  return html`<p>A new version of this page is available. <a href="${to}">Reload to update.</a></p>`;
}

function newTodoForm(m: TodoPageModel): Template {
  const invalid = m.draftError !== null;
  return html`<form id="new-todo-form" phx-change="draft" phx-submit="add">
<input type="hidden" name="op" value="${m.addOp}">
<label for="new-todo" class="visually-hidden">New todo</label>
<input id="new-todo" class="new-todo" name="title" placeholder="What needs to be done?" autocomplete="off" autofocus value="${m.draft}"${attr('aria-invalid', invalid ? 'true' : null)}${attr('aria-describedby', invalid ? 'new-todo-error' : null)}>
${invalid ? html`<p id="new-todo-error" class="todo-error" role="alert">${m.draftError}</p>` : ''}
</form>`;
}

function mainSection(m: TodoPageModel, active: number): Template {
  const visible = m.filter === 'all' ? m.todos : m.todos.filter((t) => matchesFilter(t.completed, m.filter));
  return html`<main class="main">
<div class="toggle-all-container">
<input id="toggle-all" class="toggle-all" type="checkbox" phx-click="toggle-all" phx-value-op="${m.bulkOp}"${attr('checked', active === 0)}>
<label for="toggle-all">Mark all as complete</label>
<span id="delete-label" hidden>Delete</span>
</div>
<ul id="todo-list" class="todo-list" phx-hook="TodoEdit">${each(visible, (t) => t.id, item, m.editing)}</ul>
</main>`;
}

function item(t: Todo, editing: EditingState | null): Template {
  const isEditing = editing !== null && editing.id === t.id;
  const cls = t.completed ? (isEditing ? 'completed editing' : 'completed') : isEditing ? 'editing' : null;
  // This markup is repeated for every item of the page, so it is as short as it can be: no
  // whitespace between tags, no empty class, one-letter id prefixes (`t` the item, `l` its
  // title). The li's id keeps each item's DOM identity when the list is patched; the title's
  // id gives the toggle and the destroy button their accessible names.
  return html`<li id="t${t.id}"${attr('class', cls)}><div class="view"><input class="toggle" type="checkbox" phx-click="toggle" phx-value-id="${t.id}" aria-labelledby="l${t.id}"${attr('checked', t.completed)}><label id="l${t.id}">${t.title}</label><button class="destroy" phx-click="destroy" value="${t.id}" aria-labelledby="delete-label l${t.id}"></button></div>${isEditing && editing !== null ? editForm(t, editing) : ''}</li>`;
}

function editForm(t: Todo, e: EditingState): Template {
  const invalid = e.error !== null;
  return html`<form id="edit-form-${t.id}" phx-submit="save">
<input type="hidden" name="op" value="${e.op}">
<input id="edit-${t.id}" class="edit" name="title" value="${e.title}" autocomplete="off" aria-label="Edit ${t.title}" phx-blur="save" phx-value-id="${t.id}" phx-keydown="cancel" phx-key="Escape" phx-mounted="[[&quot;focus&quot;,{}]]"${attr('aria-invalid', invalid ? 'true' : null)}${attr('aria-describedby', invalid ? `edit-error-${t.id}` : null)}>
${invalid ? html`<p id="edit-error-${t.id}" class="todo-error" role="alert">${e.error}</p>` : ''}
</form>`;
}

function footer(m: TodoPageModel, active: number, completed: number): Template {
  return html`<footer class="footer">
<span class="todo-count" aria-live="polite" aria-atomic="true"><strong>${active}</strong> ${itemsLeftNoun(active)} left</span>
<ul class="filters">
<li>${filterLink('all', 'All', m.filter)}</li>
<li>${filterLink('active', 'Active', m.filter)}</li>
<li>${filterLink('completed', 'Completed', m.filter)}</li>
</ul>
${completed === 0 ? '' : html`<button class="clear-completed" phx-click="clear-completed" phx-value-op="${m.bulkOp}">Clear completed</button>`}
</footer>`;
}

function filterLink(filter: Filter, text: string, current: Filter): Template {
  const selected = filter === current;
  return html`<a href="${FILTER_PATHS[filter]}" data-phx-link="patch" data-phx-link-state="push" class="${selected ? 'selected' : ''}"${attr('aria-current', selected ? 'page' : null)}>${text}</a>`;
}
