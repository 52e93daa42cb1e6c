/**
 * The periodic cleanup: one server for the whole app that asks the store, every
 * `intervalMs`, to delete completed todos older than the retention and users not seen for
 * longer than theirs. The store notifies each affected user's commit, so open tabs of a user
 * whose completed todos were removed update like after any other change.
 *
 * The timer lives in memory: after a restart the next run comes one interval later, and a
 * run is idempotent, so nothing is lost by a missed tick.
 */
import { defineServer, noreply, type ServerType } from '../actors/index.js';
import type { CleanupResult, TodoStore } from '../store/index.js';

export const CLEANUP_SERVER = 'todo-cleanup';

export interface CleanupServerOptions {
  readonly store: TodoStore;
  readonly intervalMs: number;
  readonly completedRetentionMs: number;
  readonly userRetentionMs: number;
  /** Told about every run (for logs and tests). */
  readonly onRun?: (result: CleanupResult) => void;
}

type CleanupInfo = { readonly type: 'run' };
export type CleanupCall = { readonly type: 'run-now' };
export type CleanupServerType = ServerType<null, CleanupCall, CleanupResult, never, CleanupInfo, undefined>;

/** Defines the cleanup server type; start it once, under a permanent restart. */
export function defineCleanupServer(options: CleanupServerOptions): CleanupServerType {
  const run = async (): Promise<CleanupResult> => {
    const result = await options.store.cleanup({
      completedRetentionMs: options.completedRetentionMs,
      userRetentionMs: options.userRetentionMs,
    });
    options.onRun?.(result);
    return result;
  };
  return defineServer<null, CleanupCall, CleanupResult, never, CleanupInfo, undefined>({
    name: CLEANUP_SERVER,
    restart: 'permanent',
    init(_key, ctx) {
      ctx.sendInterval({ type: 'run' }, options.intervalMs);
      return null;
    },
    async handleCall(_msg, state) {
      return { kind: 'reply', reply: await run(), state };
    },
    async handleInfo(_msg, state) {
      await run();
      return noreply(state);
    },
  });
}
