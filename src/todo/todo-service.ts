/**
 * The todo app's back end on one node: the per-user servers under their supervisor, the
 * cleanup server, and the bridge from store notifications to running servers (a commit made
 * elsewhere, by the cleanup or another node, reaches the user's open tabs).
 */
import type { ActorSystem, Supervisor, SupervisorOptions } from '../actors/index.js';
import { isTodoLiveError } from '../errors.js';
import type { PubSub } from '../live/index.js';
import type { CleanupResult, TodoList, TodoStore } from '../store/index.js';
import { CLEANUP_SERVER, type CleanupServerType, defineCleanupServer } from './cleanup-server.js';
import type { TodoBackend } from './todo-live.js';
import {
  type CommandOutcome,
  defineTodoServer,
  type TodoCommand,
  type TodoFaults,
  type TodoServerType,
  type TodosChanged,
  userTopic,
} from './todo-server.js';

export interface TodoServiceOptions {
  readonly system: ActorSystem;
  readonly store: TodoStore;
  readonly pubsub: PubSub;
  /** A user's server stops after this long without a command (`USER_IDLE_MS`). */
  readonly userIdleMs: number;
  /** How often the cleanup runs (`CLEANUP_INTERVAL_MS`). */
  readonly cleanupIntervalMs: number;
  readonly completedRetentionMs: number;
  readonly userRetentionMs: number;
  readonly maxTitleLength: number;
  readonly maxTodosPerUser: number;
  /** How long a view waits for a user's server. Default 5,000 ms. */
  readonly callTimeoutMs?: number;
  /** Restart policy of the user servers. Default: 3 restarts in 5 s, then 10 s of quarantine. */
  readonly supervisor?: SupervisorOptions;
  /**
   * Most user servers resident at once (`MAX_RESIDENT_USERS`); activating one more is refused
   * with `ACTOR_UNAVAILABLE` until others idle out. Default {@link DEFAULT_MAX_RESIDENT_USERS}.
   */
  readonly maxResidentUsers?: number;
  /** Test-only fault injection; see {@link TodoFaults}. */
  readonly faults?: TodoFaults;
  readonly onCleanup?: (result: CleanupResult) => void;
}

/** Default of {@link TodoServiceOptions.maxResidentUsers}: far above normal use, a bound on a flood. */
export const DEFAULT_MAX_RESIDENT_USERS = 100_000;

const DEFAULT_SUPERVISOR: SupervisorOptions = {
  maxRestarts: 3,
  maxSeconds: 5,
  quarantineMs: 10_000,
  backoff: { minMs: 10, maxMs: 1000 },
};

/** Starts, addresses and stops the app's servers. */
export class TodoService implements TodoBackend {
  readonly todoServer: TodoServerType;
  readonly cleanupServer: CleanupServerType;
  readonly supervisor: Supervisor;
  readonly #o: TodoServiceOptions;
  #unsubscribe: (() => void) | null = null;

  constructor(options: TodoServiceOptions) {
    this.#o = options;
    this.todoServer = defineTodoServer({
      store: options.store,
      pubsub: options.pubsub,
      idleMs: options.userIdleMs,
      maxTitleLength: options.maxTitleLength,
      maxTodosPerUser: options.maxTodosPerUser,
      ...(options.faults === undefined ? {} : { faults: options.faults }),
    });
    this.cleanupServer = defineCleanupServer({
      store: options.store,
      intervalMs: options.cleanupIntervalMs,
      completedRetentionMs: options.completedRetentionMs,
      userRetentionMs: options.userRetentionMs,
      ...(options.onCleanup === undefined ? {} : { onRun: options.onCleanup }),
    });
    this.supervisor = options.system.supervisor('todo-users', {
      ...DEFAULT_SUPERVISOR,
      maxChildren: options.maxResidentUsers ?? DEFAULT_MAX_RESIDENT_USERS,
      ...options.supervisor,
    });
  }

  /** Starts the cleanup server and listens to the store's commits. */
  async start(): Promise<void> {
    const { system, store } = this.#o;
    await system.startOrGet(this.cleanupServer, CLEANUP_SERVER);
    this.#unsubscribe = store.subscribe((event) => {
      if (event.type === 'change') {
        const running = system.lookup(this.todoServer, event.userId);
        if (running !== undefined) {
          running.send({ type: 'store-changed', version: event.version });
        } else if (this.#o.pubsub.subscriberCount(userTopic(event.userId)) > 0) {
          // Tabs are open but their server idled out: start it so they hear about the change.
          this.load(event.userId).then(
            (list) => this.#o.pubsub.publish(userTopic(event.userId), { type: 'todos', list } satisfies TodosChanged),
            () => {},
          );
        }
      } else {
        for (const info of system.snapshot()) {
          if (info.type === this.todoServer.name) system.lookup(this.todoServer, info.key)?.send({ type: 'resync' });
        }
      }
    });
  }

  /** Stops listening to the store (the servers stop with the actor system). */
  stop(): void {
    this.#unsubscribe?.();
    this.#unsubscribe = null;
  }

  /** The user's committed list, starting the user's server if needed (which records the user as seen). */
  async load(userId: string): Promise<TodoList> {
    return (await this.#ref(userId).call({ type: 'load' }, this.#callOptions())) as TodoList;
  }

  /**
   * The user's committed list without starting the user's server and without writing: from
   * the server's cache when it is resident, else straight from the store. For readers that
   * may never come back (a first page load, a crawler), so a flood of them costs neither
   * servers nor stored users.
   */
  async peek(userId: string): Promise<TodoList> {
    const running = this.#o.system.lookup(this.todoServer, userId);
    if (running !== undefined) {
      try {
        return (await running.call({ type: 'load' }, this.#callOptions())) as TodoList;
      } catch (err) {
        // Busy, stopping or just crashed: the store holds every commit the cache does.
        if (!isTodoLiveError(err) || !err.code.startsWith('ACTOR_')) throw err;
        return this.#o.store.load(userId);
      }
    }
    this.#o.faults?.beforeLoad?.(userId);
    return this.#o.store.load(userId);
  }

  /** Applies a command through the user's server; resolves once it is durable (or refused). */
  async command(userId: string, command: TodoCommand): Promise<CommandOutcome> {
    return (await this.#ref(userId).call({ type: 'command', command }, this.#callOptions())) as CommandOutcome;
  }

  /** Runs the cleanup now (tests, operators) and returns what it removed. */
  runCleanup(): Promise<CleanupResult> {
    return this.#o.system.ref(this.cleanupServer, CLEANUP_SERVER).call({ type: 'run-now' });
  }

  #ref(userId: string) {
    return this.#o.system.ref(this.todoServer, userId, { supervisor: this.supervisor });
  }

  #callOptions() {
    return this.#o.callTimeoutMs === undefined ? undefined : { timeoutMs: this.#o.callTimeoutMs };
  }
}
