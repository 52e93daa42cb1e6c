/**
 * One server per user: the single writer of that user's list on this node, and the cache
 * every live view of the user reads from.
 *
 * - `init` loads the committed list from the store (and records the user as seen, without
 *   waiting for that to commit), so a restart after a crash or an idle stop comes back with
 *   exactly what was acknowledged.
 * - A command's title is checked, the command committed through the store with the
 *   cached version as the expected one, applied to the cache, published to the user's views,
 *   and only then answered: an answer means "durable".
 * - A refused command (empty or too long title, full list, unknown todo) is answered with a
 *   reason and changes nothing. A store failure crashes the server; the supervisor restarts
 *   it, which reloads the committed state.
 * - Idle after `idleMs` without a command, the server stops; the next command starts it
 *   again through the lazy reference.
 */
import { defineServer, reply, type ServerContext, type ServerType } from '../actors/index.js';
import { ErrorCodes, isTodoLiveError } from '../errors.js';
import type { PubSub, PubSubListener } from '../live/index.js';
import type { Mutation, MutationResult, TodoList, TodoStore } from '../store/index.js';
import { applyCommitted } from './list-state.js';
import { checkTitle } from './rules.js';

/** The server type's name in the actor system (logs, snapshots). */
export const TODO_SERVER = 'todo-user';

/** The pub/sub topic every live view of `userId` subscribes to. */
export function userTopic(userId: string): string {
  return `todos:${userId}`;
}

/** What the server publishes on {@link userTopic} after every change. */
export interface TodosChanged {
  readonly type: 'todos';
  readonly list: TodoList;
}

/**
 * A change a view asks for: one store mutation and, when a client may send it again (a
 * form's submit), the form instance's operation id, so that a repeat is applied once.
 */
export interface TodoCommand {
  readonly opId?: string;
  readonly mutation: Mutation;
  /**
   * The view sending the command, as a pub/sub subscriber: the new list reaches it in the
   * answer, so the change's broadcast leaves it out (one wasted turn per change saved).
   */
  readonly from?: PubSubListener | null;
}

/** Why a command was refused; nothing was stored. */
export type RefusalReason = 'empty_title' | 'title_too_long' | 'list_full' | 'not_found' | 'invalid';

/** The answer to a command: the committed list either way. */
export type CommandOutcome =
  | { readonly ok: true; readonly list: TodoList; readonly duplicate: boolean }
  | { readonly ok: false; readonly list: TodoList; readonly reason: RefusalReason; readonly message: string };

export type TodoCall = { readonly type: 'load' } | { readonly type: 'command'; readonly command: TodoCommand };
export type TodoReply = TodoList | CommandOutcome;
/** Sent by the service when the store reports a commit this server did not make. */
export type TodoInfo = { readonly type: 'store-changed'; readonly version: number } | { readonly type: 'resync' };

interface TodoState {
  list: TodoList;
  /**
   * The user's topic, built once: a string built per publish is a new key for the pub/sub's
   * map, flattened and hashed on every lookup (1% of the main thread at 2,000 changes/s).
   */
  readonly topic: string;
}

/**
 * Hooks a test passes in to make the server fail on purpose; production code passes none.
 * A hook that throws crashes the server exactly as a bug would.
 */
export interface TodoFaults {
  /** Runs before a command is validated or stored. */
  beforeCommand?(userId: string, command: TodoCommand): void;
  /** Runs before the list is handed to a page (every mount asks for it). */
  beforeLoad?(userId: string): void;
}

export interface TodoServerOptions {
  readonly store: TodoStore;
  readonly pubsub: PubSub;
  /** Stop after this long without a command or load; 0 never stops. */
  readonly idleMs: number;
  readonly maxTitleLength: number;
  readonly maxTodosPerUser: number;
  readonly faults?: TodoFaults;
}

export type TodoServerType = ServerType<TodoState, TodoCall, TodoReply, never, TodoInfo, undefined>;

/** Defines the per-user server type over one store and pub/sub. */
export function defineTodoServer(options: TodoServerOptions): TodoServerType {
  const { store, pubsub, faults } = options;

  /** Tells the user's views about the list now in `state` (all of them, or all but `from`). */
  const publish = (state: TodoState, from?: PubSubListener | null): void => {
    const message: TodosChanged = { type: 'todos', list: state.list };
    if (from === undefined || from === null) void pubsub.publish(state.topic, message);
    else void pubsub.publishFrom(from, state.topic, message);
  };

  const refuse = (list: TodoList, reason: RefusalReason, message: string): CommandOutcome => ({ ok: false, list, reason, message });

  /**
   * Checks a title before anything is stored (the same title always gets the same answer).
   * Whether the todo exists and whether the list has room is the store's to say: it first
   * recognises a retried operation id, so a retry of an add that filled the list, or of a
   * delete, is answered as the success it was.
   */
  const normalise = (list: TodoList, m: Mutation): Mutation | CommandOutcome => {
    if (m.kind !== 'add' && m.kind !== 'rename') return m;
    const check = checkTitle(m.title, options.maxTitleLength);
    if (check.ok) return { ...m, title: check.title };
    return check.reason === 'too_long'
      ? refuse(list, 'title_too_long', `A todo can be at most ${options.maxTitleLength} characters long; this one has ${check.length ?? 'more'}.`)
      : refuse(list, 'empty_title', 'A todo needs a title.');
  };

  const commit = async (userId: string, state: TodoState, command: TodoCommand): Promise<CommandOutcome> => {
    // One retry after a version conflict: someone else (the cleanup, another node) wrote
    // since the cache was loaded; reload, validate again against the fresh list, retry.
    for (let attempt = 0; ; attempt++) {
      const checked = normalise(state.list, command.mutation);
      if ('ok' in checked) return checked;
      let result: MutationResult;
      try {
        result = await store.apply({ userId, opId: command.opId, expectedVersion: state.list.version, mutation: checked });
      } catch (err) {
        if (isTodoLiveError(err, ErrorCodes.STORE_VERSION_CONFLICT) && attempt === 0) {
          state.list = await store.load(userId);
          publish(state);
          continue;
        }
        if (isTodoLiveError(err, ErrorCodes.STORE_LIMIT_EXCEEDED)) {
          return refuse(state.list, 'list_full', `Your list already holds ${options.maxTodosPerUser} todos, the most it can. Clear some to add more.`);
        }
        if (isTodoLiveError(err, ErrorCodes.STORE_NOT_FOUND)) {
          return refuse(state.list, 'not_found', 'That todo no longer exists.');
        }
        // The store's own input checks (defence in depth) refuse; that is an answer, not a crash.
        if (isTodoLiveError(err, ErrorCodes.STORE_INVALID_INPUT)) {
          return refuse(state.list, 'invalid', 'That change was not accepted.');
        }
        throw err;
      }
      if (result.duplicate) {
        // Applied before (a retried submit). The cache already holds it unless it was applied
        // by another node; the version tells.
        if (result.version > state.list.version) {
          state.list = await store.load(userId);
          publish(state);
        }
        return { ok: true, list: state.list, duplicate: true };
      }
      state.list = applyCommitted(state.list, checked, result);
      publish(state, command.from);
      return { ok: true, list: state.list, duplicate: false };
    }
  };

  return defineServer<TodoState, TodoCall, TodoReply, never, TodoInfo, undefined>({
    name: TODO_SERVER,
    // 0 turns the idle stop off: servers then live until shutdown.
    ...(options.idleMs > 0 ? { idleTimeoutMs: options.idleMs } : {}),
    restart: 'transient',
    async init(userId: string) {
      // "Last seen" only decides when an abandoned user is cleaned up, a year on: it is not
      // worth a durable commit (an fsync) on the path of every activation, so it rides along
      // with the next group commit and a failure is forgotten (the next activation retries).
      // After the load: a store may answer the touch with what its load read.
      const list = await store.load(userId);
      store.touch(userId).catch(() => {});
      return { list, topic: userTopic(userId) };
    },
    async handleCall(msg, state, ctx: ServerContext<TodoInfo>) {
      if (msg.type === 'load') {
        faults?.beforeLoad?.(ctx.key);
        return reply(state.list, state);
      }
      faults?.beforeCommand?.(ctx.key, msg.command);
      const outcome = await commit(ctx.key, state, msg.command);
      return reply(outcome, state);
    },
    async handleInfo(msg, state, ctx) {
      // A commit this server did not make (cleanup, another node): reload if it is newer.
      if (msg.type === 'resync' || msg.version > state.list.version) {
        const list = await store.load(ctx.key);
        if (list.version !== state.list.version) {
          state.list = list;
          publish(state);
        }
      }
      return { kind: 'noreply', state };
    },
  });
}
