/**
 * The TodoMVC app: one server per user, the live view and its templates, the layout, and the
 * rules and event validation they share.
 */
export { CLEANUP_SERVER, type CleanupServerOptions, defineCleanupServer } from './cleanup-server.js';
export { newOpId, parseTodoEvent, type TodoEvent, TodoEvents } from './events.js';
export { DEFAULT_TITLE, todoLayout } from './layout.js';
export { applyCommitted } from './list-state.js';
export {
  checkTitle,
  DEFAULT_MAX_TITLE_LENGTH,
  DEFAULT_MAX_TODOS_PER_USER,
  FILTER_PATHS,
  type Filter,
  filterFromPath,
  itemsLeftNoun,
  matchesFilter,
} from './rules.js';
export { type EditingState, renderTodoPage, type TodoPageModel } from './templates.js';
export { createTodoLive, TODO_VIEW_NAME, type TodoAssigns, type TodoBackend, type TodoLiveOptions } from './todo-live.js';
export {
  type CommandOutcome,
  defineTodoServer,
  type RefusalReason,
  TODO_SERVER,
  type TodoCommand,
  type TodoFaults,
  type TodoServerOptions,
  type TodosChanged,
  userTopic,
} from './todo-server.js';
export { TodoService, type TodoServiceOptions } from './todo-service.js';
