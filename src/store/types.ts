/**
 * The store's vocabulary: what a todo list is, the mutations a list accepts, and the one
 * interface every adapter (SQLite, PostgreSQL) implements.
 *
 * Times are milliseconds since the Unix epoch, taken from the store's clock. Todo ids are
 * assigned by the store and numbered per user (1, 2, 3… in each list): unique within the list,
 * never reused there, and the same for the life of the todo. An id names a todo only together
 * with its user.
 */

/**
 * One todo, as a list shows it. The store also keeps each todo's sort key and when it was
 * created and last changed (cleanup deletes completed todos by the latter), but lists leave
 * them out: the order is the list's, the times are never shown, and every field costs 8 bytes
 * per todo in every list a user's server and open tabs hold (the two times, as non-small
 * numbers, were a sixth of a list's memory).
 */
export interface Todo {
  readonly id: number;
  readonly title: string;
  readonly completed: boolean;
}

/** A user's whole list as of one committed version. */
export interface TodoList {
  readonly userId: string;
  /** Bumped by exactly one for every applied mutation; 0 for a user never written. */
  readonly version: number;
  /** In display order (the store sorts by its own position key, then id). */
  readonly todos: readonly Todo[];
}

/** A change to one user's list. Every kind is applied atomically and bumps the version. */
export type Mutation =
  /** Appends a todo at the end of the list. */
  | { readonly kind: 'add'; readonly title: string }
  /** Flips one todo's completed flag. */
  | { readonly kind: 'toggle'; readonly id: number }
  /** Sets one todo's completed flag to the given value (idempotent form of toggle). */
  | { readonly kind: 'set_completed'; readonly id: number; readonly completed: boolean }
  /** Sets every todo of the user to the given completed value. */
  | { readonly kind: 'set_all_completed'; readonly completed: boolean }
  /** Replaces one todo's title. */
  | { readonly kind: 'rename'; readonly id: number; readonly title: string }
  /** Removes one todo. */
  | { readonly kind: 'delete'; readonly id: number }
  /** Removes every completed todo of the user. */
  | { readonly kind: 'clear_completed' }
  /** Moves one todo so that it ends up at `toIndex` (0-based) in display order. */
  | { readonly kind: 'move'; readonly id: number; readonly toIndex: number };

export type MutationKind = Mutation['kind'];

/** One mutation as submitted by a caller. */
export interface MutationRequest {
  readonly userId: string;
  /**
   * The client's operation id, unique per user. A request whose `opId` was already applied
   * is not applied again: it succeeds with the first application's result and
   * `duplicate: true`, whatever its `expectedVersion`. Without one the mutation is applied
   * and not recorded: give one wherever the same request may be sent again.
   */
  readonly opId?: string;
  /**
   * The version the caller last saw. When given and the stored version differs, the
   * mutation is refused with STORE_VERSION_CONFLICT and nothing changes. Omit it only
   * where last-writer-wins is acceptable.
   */
  readonly expectedVersion?: number;
  readonly mutation: Mutation;
}

/** What an applied (or previously applied) mutation did. */
export interface MutationResult {
  readonly userId: string;
  /** The request's operation id, when it had one. */
  readonly opId?: string;
  /** The user's version right after this mutation was applied. */
  readonly version: number;
  /** True when this `opId` had already been applied; nothing was changed this time. */
  readonly duplicate: boolean;
  /** Rows changed (todos added, updated or deleted); 0 for a no-op such as clearing nothing. */
  readonly affected: number;
  /** The id the store assigned, for `add`. */
  readonly todoId?: number;
}

/** Something a subscriber hears about. */
export type StoreEvent =
  /** A user's list changed; `version` is the committed version after the change. */
  | { readonly type: 'change'; readonly userId: string; readonly version: number }
  /**
   * Changes may have been missed (the notification channel was lost and is back):
   * re-read the version of every user you care about.
   */
  | { readonly type: 'resync' };

export type StoreListener = (event: StoreEvent) => void;

/** How old data must be before the periodic cleanup removes it. */
export interface CleanupOptions {
  /** Completed todos not updated for this long are deleted (their users' versions bump). */
  readonly completedRetentionMs: number;
  /** Users not seen (touched or written) for this long are deleted with all their data. */
  readonly userRetentionMs: number;
  /**
   * Operation ids older than this are forgotten, so a retry arriving later than this is
   * applied again. Defaults to 7 days, far longer than any client retries.
   */
  readonly operationRetentionMs?: number;
}

export interface CleanupResult {
  readonly todosDeleted: number;
  readonly usersDeleted: number;
  readonly operationsDeleted: number;
}

/** Input limits the store enforces whatever the caller already checked. */
export interface StoreLimits {
  /** Longest title, in Unicode code points. Default 500. */
  readonly maxTitleLength: number;
  /** Most todos one user may hold. Default 1,000. */
  readonly maxTodosPerUser: number;
}

/**
 * Durable per-user todo lists.
 *
 * Writes of one user are applied in the order they are submitted; writes of different
 * users proceed independently. A returned promise resolves only once the change is durably
 * committed. Every failure is a `TodoLiveError` with a `STORE_*` code.
 */
export interface TodoStore {
  /** Which adapter this is, for logs and metrics. */
  readonly kind: 'sqlite' | 'postgres';
  /** The limits this store enforces. */
  readonly limits: StoreLimits;
  /** A user's committed list and version; an unknown user has version 0 and no todos. */
  load(userId: string): Promise<TodoList>;
  /** A user's committed version without reading the todos (0 for an unknown user). */
  version(userId: string): Promise<number>;
  /** Applies one mutation in its own transaction (see MutationRequest for the checks). */
  apply(request: MutationRequest): Promise<MutationResult>;
  /**
   * Records that the user was seen now, creating the user if needed. With a
   * `seenResolutionMs` a user already seen less than that long ago is left as it is: no write,
   * so an activation commits nothing (and a reconnect storm does not queue a commit per user).
   */
  touch(userId: string): Promise<void>;
  /**
   * Deletes old completed todos, inactive users and old operation ids; returns counts. Not one
   * transaction as a whole: each user's deletions and version move are (SQLite walks the users
   * in slices, decision 0008), and every user whose todos went is notified as after any change.
   */
  cleanup(options: CleanupOptions): Promise<CleanupResult>;
  /**
   * Calls `listener` after every committed change (from this process, and for PostgreSQL
   * from every node) and with `resync` when changes may have been missed. Returns the
   * function that unsubscribes.
   */
  subscribe(listener: StoreListener): () => void;
  /** Finishes pending writes, then releases the database. Later calls fail with STORE_CLOSED. */
  close(): Promise<void>;
}
