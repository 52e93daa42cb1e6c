/**
 * TodoLive: the TodoMVC page as a live view. It holds only tab-local state (filter, the
 * new-todo draft, which todo is being edited, operation ids of its forms) and a reference to
 * the user's committed list; every change goes through the user's server, which stores it,
 * answers, and tells every tab of the user.
 *
 * The user is the signed session cookie's random id: a browser is an anonymous identity.
 */
import { ErrorCodes, isTodoLiveError } from '../errors.js';
import { defineView, type LiveView, type ViewSocket } from '../live/index.js';
import type { Mutation, TodoList } from '../store/index.js';
import { newOpId, parseTodoEvent, type TodoEvent, TodoEvents } from './events.js';
import { checkTitle, type Filter, filterFromPath } from './rules.js';
import { type EditingState, renderTodoPage } from './templates.js';
import { type CommandOutcome, type TodoCommand, type TodosChanged, userTopic } from './todo-server.js';

/** What the view needs from the per-user servers (see `TodoService`). */
export interface TodoBackend {
  /** The committed list, activating the user (their server, their "last seen"). */
  load(userId: string): Promise<TodoList>;
  /** The committed list without activating or recording anything. */
  peek(userId: string): Promise<TodoList>;
  command(userId: string, command: TodoCommand): Promise<CommandOutcome>;
}

export interface TodoLiveOptions {
  readonly backend: TodoBackend;
  readonly maxTitleLength: number;
  /** Receives failures the page turned into a notice (for logs). */
  readonly onFailure?: (err: unknown, userId: string) => void;
}

/** The assigns of one tab. */
export interface TodoAssigns {
  userId: string;
  list: TodoList;
  filter: Filter;
  draft: string;
  draftError: string | null;
  addOp: string;
  bulkOp: string;
  editing: EditingState | null;
  notice: string | null;
  /** The page loaded assets an older build served: offer a reload. */
  staticChanged: boolean;
  /** The current path and query, where the reload link points. */
  path: string;
}

/** The name routes and view tokens record; all three filter routes share it, so patches stay live. */
export const TODO_VIEW_NAME = 'todos';

/**
 * The list of a hibernating tab: nothing. The real one is loaded again before the tab's next
 * message; its version is below every stored one, so whatever arrives is newer.
 */
const HIBERNATED: TodoList = Object.freeze({ userId: '', version: -1, todos: Object.freeze([]) });

const NOT_SAVED = 'Your change could not be saved. Please try again.';
const READ_ONLY = 'Your list is shown as last saved, but changes cannot be saved right now. Please try again in a moment.';

/** Builds the view over a backend. */
export function createTodoLive(options: TodoLiveOptions): LiveView<TodoAssigns, TodosChanged> {
  const { backend } = options;

  const tooLongMessage = (length: number | undefined): string =>
    `A todo can be at most ${options.maxTitleLength} characters long; this one has ${length ?? 'more'}.`;

  /** Sends a command; a failure of the server or the store becomes a notice, never a crash. */
  const run = async (socket: ViewSocket<TodoAssigns>, mutation: Mutation, opId?: string): Promise<CommandOutcome | null> => {
    const { userId } = socket.assigns;
    try {
      const outcome = await backend.command(userId, { opId, mutation, from: socket.subscriber });
      accept(socket, outcome.list);
      return outcome;
    } catch (err) {
      if (!isTodoLiveError(err)) throw err;
      options.onFailure?.(err, userId);
      socket.assign({ notice: NOT_SAVED });
      try {
        accept(socket, await backend.peek(userId));
      } catch (reloadErr) {
        options.onFailure?.(reloadErr, userId);
      }
      return null;
    }
  };

  /**
   * The list a connected tab starts from, activating the user. When their server cannot start
   * (too many resident users, or crashing over and over), the saved list and a notice saying
   * why changes fail; each change tries again.
   */
  const activate = async (userId: string): Promise<{ list: TodoList; notice: string | null }> => {
    try {
      return { list: await backend.load(userId), notice: null };
    } catch (err) {
      if (!isTodoLiveError(err, ErrorCodes.ACTOR_UNAVAILABLE)) throw err;
      options.onFailure?.(err, userId);
      return { list: await backend.peek(userId), notice: READ_ONLY };
    }
  };

  /** Takes a list if it is newer than the one shown; drops an edit of a todo that is gone. */
  const accept = (socket: ViewSocket<TodoAssigns>, list: TodoList): void => {
    const current = socket.assigns.list;
    // The tab that made a change gets its list twice: in the answer and in the broadcast.
    if (list === current) return;
    if (current !== undefined && list.version < current.version && list.userId === current.userId) return;
    const { editing } = socket.assigns;
    const stillThere = editing === null || editing === undefined || list.todos.some((t) => t.id === editing.id);
    socket.assign(stillThere ? { list } : { list, editing: null });
  };

  const handle = async (e: TodoEvent, socket: ViewSocket<TodoAssigns>): Promise<void> => {
    const a = socket.assigns;
    switch (e.name) {
      case TodoEvents.DRAFT: {
        const check = checkTitle(e.value.title, options.maxTitleLength);
        socket.assign({
          draft: e.value.title,
          draftError: !check.ok && check.reason === 'too_long' ? tooLongMessage(check.length) : null,
          // A recovered form (after a reconnect) keeps the operation id it was rendered with,
          // so submitting it again cannot add the todo twice.
          ...(e.value.op === undefined ? {} : { addOp: e.value.op }),
        });
        return;
      }
      case TodoEvents.ADD: {
        const check = checkTitle(e.value.title, options.maxTitleLength);
        if (!check.ok) {
          if (check.reason === 'too_long') socket.assign({ draft: e.value.title, draftError: tooLongMessage(check.length) });
          else socket.assign({ draft: '', draftError: null, addOp: newOpId() });
          return;
        }
        const outcome = await run(socket, { kind: 'add', title: check.title }, e.value.op);
        if (outcome === null) socket.assign({ draft: e.value.title });
        else if (outcome.ok) socket.assign({ draft: '', draftError: null, addOp: newOpId() });
        else socket.assign({ draft: e.value.title, draftError: outcome.message });
        return;
      }
      case TodoEvents.TOGGLE:
        // Sets a target state: a repeat changes nothing, so there is no id to record.
        await run(socket, { kind: 'set_completed', id: Number(e.value.id), completed: e.value.completed });
        return;
      case TodoEvents.TOGGLE_ALL:
        socket.assign({ bulkOp: newOpId() });
        await run(socket, { kind: 'set_all_completed', completed: e.value.completed }, e.value.op);
        return;
      case TodoEvents.CLEAR_COMPLETED:
        socket.assign({ bulkOp: newOpId() });
        await run(socket, { kind: 'clear_completed' }, e.value.op);
        return;
      case TodoEvents.DESTROY:
        // A repeat finds the todo gone and says so.
        await run(socket, { kind: 'delete', id: Number(e.value.id) });
        return;
      case TodoEvents.EDIT: {
        const id = Number(e.value.id);
        const todo = a.list.todos.find((t) => t.id === id);
        if (todo === undefined) return;
        socket.assign({ editing: { id, op: newOpId(), title: todo.title, error: null } });
        return;
      }
      case TodoEvents.CANCEL:
        socket.assign({ editing: null });
        return;
      case TodoEvents.SAVE: {
        const editing = a.editing;
        // Enter saves and closes the field; the blur that may follow, or a blur after Escape,
        // finds no edit in progress (or another one) and does nothing.
        if (editing === null || (e.value.id !== undefined && Number(e.value.id) !== editing.id)) return;
        const todo = a.list.todos.find((t) => t.id === editing.id);
        if (todo === undefined) {
          socket.assign({ editing: null });
          return;
        }
        const check = checkTitle(e.value.title, options.maxTitleLength);
        if (!check.ok && check.reason === 'too_long') {
          socket.assign({ editing: { ...editing, title: e.value.title, error: tooLongMessage(check.length) } });
          return;
        }
        if (!check.ok) {
          const outcome = await run(socket, { kind: 'delete', id: editing.id }, editing.op);
          if (outcome !== null) socket.assign({ editing: null });
          return;
        }
        if (check.title === todo.title) {
          socket.assign({ editing: null });
          return;
        }
        const outcome = await run(socket, { kind: 'rename', id: editing.id, title: check.title }, editing.op);
        if (outcome === null || outcome.ok) socket.assign({ editing: outcome === null ? { ...editing, title: e.value.title } : null });
        else socket.assign({ editing: { ...editing, title: e.value.title, error: outcome.message } });
        return;
      }
    }
  };

  return defineView<TodoAssigns, TodosChanged>({
    name: TODO_VIEW_NAME,
    async mount(_params, session, socket) {
      const userId = session.id;
      let list: TodoList;
      let notice: string | null = null;
      if (socket.connected) {
        socket.subscribe(userTopic(userId));
        ({ list, notice } = await activate(userId));
      } else {
        // The first render may be a visitor who never connects: read, start and write nothing.
        list = await backend.peek(userId);
      }
      socket.assign({
        userId,
        list,
        filter: 'all',
        draft: '',
        draftError: null,
        addOp: newOpId(),
        bulkOp: newOpId(),
        editing: null,
        notice,
        staticChanged: socket.staticChanged,
        path: '/',
      });
    },
    handleParams(_params, uri, socket) {
      // The reload link keeps the filter; a fragment would make it a same-page jump instead.
      socket.assign({ filter: filterFromPath(uri.pathname), path: `${uri.pathname}${uri.search}` });
    },
    async handleEvent(event, value, socket) {
      // A malformed event throws TODO_BAD_EVENT: the channel acknowledges and logs it, and the
      // page stays as it is.
      const parsed = parseTodoEvent(event, value);
      if (socket.assigns.notice !== null) socket.assign({ notice: null });
      await handle(parsed, socket);
    },
    hibernate(socket) {
      // The list is the user's data, kept by their server (while it runs) and the store; the
      // tab-local state (filter, draft, edit in progress, operation ids) is small and stays.
      socket.assign({ list: HIBERNATED });
    },
    async wake(socket) {
      const { list, notice } = await activate(socket.assigns.userId);
      accept(socket, list);
      if (notice !== null) socket.assign({ notice });
    },
    handleInfo(message, socket) {
      if (message?.type === 'todos') accept(socket, message.list);
    },
    render(assigns) {
      return renderTodoPage({
        todos: assigns.list.todos,
        filter: assigns.filter,
        draft: assigns.draft,
        draftError: assigns.draftError,
        addOp: assigns.addOp,
        bulkOp: assigns.bulkOp,
        editing: assigns.editing,
        notice: assigns.notice,
        reloadTo: assigns.staticChanged ? assigns.path : null,
      });
    },
  });
}
