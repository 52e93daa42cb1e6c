/**
 * The one home of every error this project raises on purpose.
 *
 * Each error carries a stable `code` (what code matches on), a message that says what was
 * expected and what arrived (what a person reads), and optionally `details` (structured
 * data for logs) and a `cause`. Codes are grouped by the layer that raises them; a layer
 * adds its codes to the catalogue below and creates errors with `new TodoLiveError(code, …)`
 * or one of the small factories next to its codes.
 *
 * This module is a leaf: it imports nothing from src/, so every layer may import it.
 */

export const ErrorCodes = {
  // --- actors: the OTP-style runtime -------------------------------------------------------
  /** A call got no reply before its deadline. */
  ACTOR_CALL_TIMEOUT: 'ACTOR_CALL_TIMEOUT',
  /** The server stopped or crashed while the call was queued or in progress. */
  ACTOR_SERVER_DOWN: 'ACTOR_SERVER_DOWN',
  /** No server is registered for the key and none could be started. */
  ACTOR_NO_SERVER: 'ACTOR_NO_SERVER',
  /** The server's mailbox is at its bound; the message was rejected, not queued. */
  ACTOR_MAILBOX_FULL: 'ACTOR_MAILBOX_FULL',
  /** The system is shutting down and takes no new work. */
  ACTOR_SHUTTING_DOWN: 'ACTOR_SHUTTING_DOWN',
  /** The key is quarantined after crashing too often, or its supervisor is at capacity. */
  ACTOR_UNAVAILABLE: 'ACTOR_UNAVAILABLE',
  /** A server called itself, directly or through a cycle of calls: it would deadlock. */
  ACTOR_CALL_CYCLE: 'ACTOR_CALL_CYCLE',
  /** A callback returned something that is not a valid result. */
  ACTOR_BAD_RETURN: 'ACTOR_BAD_RETURN',
  /** `init` threw or rejected. */
  ACTOR_INIT_FAILED: 'ACTOR_INIT_FAILED',
  /** A server definition or runtime option is invalid (no init, negative timeout, duplicate type name...). */
  ACTOR_BAD_SPEC: 'ACTOR_BAD_SPEC',

  // --- store: persistence ------------------------------------------------------------------
  /** The database is locked by another writer and stayed locked past the busy timeout. */
  STORE_LOCKED: 'STORE_LOCKED',
  /** The disk (or the database's size limit) is full. */
  STORE_DISK_FULL: 'STORE_DISK_FULL',
  /** A constraint was violated (unique, foreign key, check). */
  STORE_CONSTRAINT: 'STORE_CONSTRAINT',
  /** The connection to the database was lost or could not be made. */
  STORE_CONNECTION_LOST: 'STORE_CONNECTION_LOST',
  /** The user's version moved since it was read: another writer got there first. */
  STORE_VERSION_CONFLICT: 'STORE_VERSION_CONFLICT',
  /** A mutation's input is invalid (title too long, bad id, unknown kind...). */
  STORE_INVALID_INPUT: 'STORE_INVALID_INPUT',
  /** A per-user limit (such as the number of todos) would be exceeded. */
  STORE_LIMIT_EXCEEDED: 'STORE_LIMIT_EXCEEDED',
  /** A mutation names a todo id that is not in this user's list (deleted, or never theirs). */
  STORE_NOT_FOUND: 'STORE_NOT_FOUND',
  /** The database file is corrupt, unreadable, or from a newer schema. */
  STORE_CORRUPT: 'STORE_CORRUPT',
  /** The store was closed; no more work is accepted. */
  STORE_CLOSED: 'STORE_CLOSED',
  /** Any other database failure, with the driver's error as cause. */
  STORE_FAILED: 'STORE_FAILED',

  // --- live: the LiveView protocol server --------------------------------------------------
  /** A frame is not valid serializer-2.0.0 JSON of the expected shape. */
  LIVE_BAD_FRAME: 'LIVE_BAD_FRAME',
  /** A frame is larger than the configured maximum. */
  LIVE_FRAME_TOO_LARGE: 'LIVE_FRAME_TOO_LARGE',
  /** A message names a topic that was never joined on this socket. */
  LIVE_UNKNOWN_TOPIC: 'LIVE_UNKNOWN_TOPIC',
  /** A session or static token is forged, tampered with, from another version or expired. */
  LIVE_BAD_TOKEN: 'LIVE_BAD_TOKEN',
  /** The CSRF token is missing or does not match the session. */
  LIVE_BAD_CSRF: 'LIVE_BAD_CSRF',
  /** The Origin header is not in the allow-list. */
  LIVE_BAD_ORIGIN: 'LIVE_BAD_ORIGIN',
  /** A client exceeded a rate or count limit. */
  LIVE_RATE_LIMITED: 'LIVE_RATE_LIMITED',
  /** A template or view broke an invariant (statics/dynamics count, duplicate key...). */
  LIVE_TEMPLATE: 'LIVE_TEMPLATE',
  /** A view callback returned something that is not a valid result. */
  LIVE_BAD_CALLBACK: 'LIVE_BAD_CALLBACK',
  /** No live route matches the requested path. */
  LIVE_NO_ROUTE: 'LIVE_NO_ROUTE',
  /** A diff was asked of a tracker that holds no client state (never mounted, or a diff failed). */
  LIVE_DIFF_STATE: 'LIVE_DIFF_STATE',

  // --- todo: the app -----------------------------------------------------------------------
  /** A todo title is empty, too long, or not text. */
  TODO_INVALID_TITLE: 'TODO_INVALID_TITLE',
  /** The user already has the maximum number of todos. */
  TODO_LIMIT: 'TODO_LIMIT',
  /** An event's payload is missing fields or has fields of the wrong type. */
  TODO_BAD_EVENT: 'TODO_BAD_EVENT',

  // --- web: configuration and HTTP ---------------------------------------------------------
  /** An environment variable is missing or invalid. */
  CONFIG_INVALID: 'CONFIG_INVALID',
  /** The browser bundle's manifest is missing or does not name the expected assets. */
  WEB_ASSETS_MISSING: 'WEB_ASSETS_MISSING',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

export interface TodoLiveErrorOptions {
  cause?: unknown;
  /** Structured facts for logs and tests; never secrets or tokens. */
  details?: Record<string, unknown>;
}

export class TodoLiveError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: TodoLiveErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TodoLiveError';
    this.code = code;
    this.details = options.details;
  }
}

/** True when `err` is one of ours, optionally with the given code. */
export function isTodoLiveError(err: unknown, code?: ErrorCode): err is TodoLiveError {
  return err instanceof TodoLiveError && (code === undefined || err.code === code);
}

/** Describes a value for an error message: its type and a short, safe excerpt. */
export function describeValue(value: unknown, max = 60): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'string') {
    const shown = value.length > max ? `${value.slice(0, max)}… (${value.length} chars)` : value;
    return `string ${JSON.stringify(shown)}`;
  }
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') {
    return `${typeof value} ${String(value)}`;
  }
  if (Array.isArray(value)) return `array of length ${value.length}`;
  if (typeof value === 'function') return 'function';
  if (typeof value === 'object') {
    const keys = Object.keys(value as object);
    const shown = keys.slice(0, 5).join(', ');
    return `object with keys {${shown}${keys.length > 5 ? ', …' : ''}}`;
  }
  return typeof value;
}
