/**
 * The messages between the SQLite store (main thread) and its writer thread, and how a
 * `TodoLiveError` crosses between them: structured cloning keeps an error's message but not
 * its class, code or details, so errors travel as plain data and are rebuilt on arrival with
 * the same code, message and details.
 */
import { type ErrorCode, TodoLiveError } from '../errors.js';
import type { CleanupResult, MutationRequest, StoreLimits } from './types.js';

/** What the writer thread needs to open its connection; sent as `workerData`. */
export interface WriterConfig {
  readonly path: string;
  readonly synchronous: 'FULL' | 'NORMAL';
  readonly busyTimeoutMs: number;
  readonly maxSizeBytes: number | undefined;
  readonly limits: StoreLimits;
  /** A write records "last seen" only when the recorded one is at least this old. */
  readonly seenResolutionMs: number;
}

/**
 * One write of a batch. `now` is read from the store's clock on the main thread when the
 * write is submitted, since a clock function cannot be sent to another thread.
 */
export type WireJob =
  | { readonly kind: 'apply'; readonly request: MutationRequest; readonly now: number }
  | { readonly kind: 'touch'; readonly userId: string; readonly now: number };

export interface CleanupCutoffs {
  readonly todoCutoff: number;
  readonly userCutoff: number;
  readonly opCutoff: number;
}

/**
 * One transaction of a cleanup: the users after `after` in id order (`''` for the first
 * slice, which also deletes inactive users and old operation ids), at most `users` of them.
 */
export interface CleanupSlice {
  readonly cutoffs: CleanupCutoffs;
  readonly after: string;
  readonly users: number;
}

/** What a slice did; `next` is where the next slice starts, `null` after the last user. */
export interface CleanupSliceResult {
  readonly result: CleanupResult;
  readonly bumped: readonly { id: string; version: number }[];
  readonly next: string | null;
}

/** Main thread to writer: each request is answered by exactly one reply with the same id. */
export type WriterRequest =
  | { readonly type: 'batch'; readonly id: number; readonly jobs: readonly WireJob[] }
  | { readonly type: 'cleanup'; readonly id: number; readonly slice: CleanupSlice }
  | { readonly type: 'close'; readonly id: number };

export interface WireError {
  readonly code: ErrorCode;
  readonly message: string;
  readonly details: Record<string, unknown> | undefined;
  /** The driver's error, reduced to what is worth logging. */
  readonly cause: { readonly name: string; readonly message: string; readonly code: string | undefined } | undefined;
}

/** One job's result: the value for `apply` (a MutationResult), nothing for `touch`. */
export type WireOutcome = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: WireError };

/**
 * Writer to main thread. A failed `batch` rejects every job of it: nothing was committed.
 * `commit` numbers the writer's transactions: batches that waited for the thread together
 * were committed in one transaction and carry the same number.
 */
export type WriterReply =
  | { readonly type: 'batch'; readonly id: number; readonly ok: true; readonly outcomes: readonly WireOutcome[]; readonly commit: number }
  | ({ readonly type: 'cleanup'; readonly id: number; readonly ok: true } & CleanupSliceResult)
  | { readonly type: 'close'; readonly id: number; readonly ok: true }
  | { readonly type: 'batch' | 'cleanup' | 'close'; readonly id: number; readonly ok: false; readonly error: WireError };

/**
 * Sent once, before any reply, when the writer cannot open its connection; the thread then
 * exits and every write fails with this error.
 */
export interface WriterOpenFailed {
  readonly type: 'open-failed';
  readonly error: WireError;
}

export function toWireError(err: TodoLiveError): WireError {
  const cause: unknown = err.cause;
  let wireCause: WireError['cause'];
  if (cause instanceof Error) {
    const code: unknown = (cause as Error & { code?: unknown }).code;
    wireCause = { name: cause.name, message: cause.message, code: typeof code === 'string' ? code : undefined };
  }
  return { code: err.code, message: err.message, details: err.details, cause: wireCause };
}

export function fromWireError(wire: WireError): TodoLiveError {
  let cause: Error | undefined;
  if (wire.cause !== undefined) {
    cause = new Error(wire.cause.message);
    cause.name = wire.cause.name;
    if (wire.cause.code !== undefined) Object.assign(cause, { code: wire.cause.code });
  }
  return new TodoLiveError(wire.code, wire.message, {
    ...(cause === undefined ? {} : { cause }),
    ...(wire.details === undefined ? {} : { details: wire.details }),
  });
}

