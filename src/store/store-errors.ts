/**
 * Turns driver errors (better-sqlite3's SQLITE_* codes, PostgreSQL SQLSTATEs, Node socket
 * errors) into `TodoLiveError`s with STORE_* codes, and builds the store's own errors.
 */
import { type ErrorCode, isTodoLiveError, TodoLiveError } from '../errors.js';
import type { MutationRequest } from './types.js';

function driverCode(err: unknown): string {
  if (typeof err === 'object' && err !== null && 'code' in err) {
    const code = (err as { code: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return '';
}

function driverMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function wrap(code: ErrorCode, what: string, err: unknown, action: string): TodoLiveError {
  const driver = driverCode(err);
  return new TodoLiveError(code, `${action}: ${what} (${driver || 'no code'}: ${driverMessage(err)})`, {
    cause: err,
    details: { driverCode: driver },
  });
}

/** Classifies an error from opening a SQLite file: one that SQLite did not classify came from the file system. */
export function fromSqliteOpenError(err: unknown, action: string): TodoLiveError {
  if (isTodoLiveError(err)) return err;
  if (!driverCode(err).startsWith('SQLITE_')) {
    return wrap('STORE_CONNECTION_LOST', 'expected to open the database file, but the file system refused', err, action);
  }
  return fromSqliteError(err, action);
}

/** Classifies an error thrown by better-sqlite3 during `action` (e.g. "apply add"). */
export function fromSqliteError(err: unknown, action: string): TodoLiveError {
  if (isTodoLiveError(err)) return err;
  const code = driverCode(err);
  if (code === 'SQLITE_BUSY' || code.startsWith('SQLITE_BUSY_') || code === 'SQLITE_LOCKED' || code.startsWith('SQLITE_LOCKED_')) {
    return wrap('STORE_LOCKED', 'expected the database to be free, but another connection holds its lock', err, action);
  }
  if (code === 'SQLITE_FULL' || (code.startsWith('SQLITE_IOERR') && /disk|space/i.test(driverMessage(err)))) {
    return wrap('STORE_DISK_FULL', 'expected room to write, but the disk or database is full', err, action);
  }
  if (code.startsWith('SQLITE_CONSTRAINT')) {
    return wrap('STORE_CONSTRAINT', 'a database constraint refused the change', err, action);
  }
  if (code === 'SQLITE_CORRUPT' || code.startsWith('SQLITE_CORRUPT_') || code === 'SQLITE_NOTADB') {
    return wrap('STORE_CORRUPT', 'expected a valid SQLite database, but the file is corrupt or not a database', err, action);
  }
  if (code === 'SQLITE_CANTOPEN' || code.startsWith('SQLITE_CANTOPEN_') || code === 'SQLITE_READONLY' || code.startsWith('SQLITE_READONLY_')) {
    return wrap('STORE_CONNECTION_LOST', 'expected a writable database file, but it could not be opened for writing', err, action);
  }
  return wrap('STORE_FAILED', 'the database reported an unexpected error', err, action);
}

const CONNECTION_ERRNOS = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH']);

/** Classifies an error thrown by `pg` during `action`. */
export function fromPostgresError(err: unknown, action: string): TodoLiveError {
  if (isTodoLiveError(err)) return err;
  const code = driverCode(err);
  const message = driverMessage(err);
  if (
    code.startsWith('08') || // connection exception
    code === '57P01' || // admin_shutdown
    code === '57P02' || // crash_shutdown
    code === '57P03' || // cannot_connect_now
    CONNECTION_ERRNOS.has(code) ||
    /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|not queryable/i.test(message)
  ) {
    return wrap('STORE_CONNECTION_LOST', 'expected a live PostgreSQL connection, but it was lost or refused', err, action);
  }
  if (code === '53100') return wrap('STORE_DISK_FULL', 'expected room to write, but the server disk is full', err, action);
  if (code.startsWith('23')) return wrap('STORE_CONSTRAINT', 'a database constraint refused the change', err, action);
  if (code === '55P03' || code === '40P01' || code === '40001' || code === '57014') {
    return wrap('STORE_LOCKED', 'expected to take a lock in time, but another transaction held it', err, action);
  }
  if (code === 'XX001' || code === 'XX002') {
    return wrap('STORE_CORRUPT', 'the server reports corrupt data', err, action);
  }
  return wrap('STORE_FAILED', 'the database reported an unexpected error', err, action);
}

/**
 * Turns a refusal raised by the PostgreSQL `todo_live_apply` function (SQLSTATEs TL001 to
 * TL005, see `migrations/postgres-apply-function.ts`) into the error the SQLite adapter
 * raises for the same request; undefined for any other error.
 */
export function fromPostgresApplyRefusal(err: unknown, request: MutationRequest): TodoLiveError | undefined {
  const { userId, mutation } = request;
  const detail = typeof err === 'object' && err !== null && 'detail' in err ? Number((err as { detail: unknown }).detail) : Number.NaN;
  switch (driverCode(err)) {
    case 'TL001':
      return versionConflict(userId, request.expectedVersion ?? Number.NaN, detail);
    case 'TL002':
      return todoNotFound(userId, 'id' in mutation ? mutation.id : Number.NaN);
    case 'TL003':
      return limitExceeded(userId, detail);
    case 'TL004':
      return moveOutOfRange(userId, mutation.kind === 'move' ? mutation.toIndex : Number.NaN, detail);
    case 'TL005':
      return new TodoLiveError('STORE_INVALID_INPUT', `mutation.kind: expected a kind the database knows, got ${JSON.stringify(mutation.kind)}`, {
        cause: err,
      });
    default:
      return undefined;
  }
}

export function closedError(action: string): TodoLiveError {
  return new TodoLiveError('STORE_CLOSED', `${action}: expected an open store, but it was closed`);
}

export function versionConflict(userId: string, expected: number, actual: number): TodoLiveError {
  return new TodoLiveError(
    'STORE_VERSION_CONFLICT',
    `user ${JSON.stringify(userId)}: expected version ${expected}, but the stored version is ${actual}`,
    { details: { userId, expected, actual } },
  );
}

export function todoNotFound(userId: string, id: number): TodoLiveError {
  return new TodoLiveError('STORE_NOT_FOUND', `user ${JSON.stringify(userId)}: expected todo ${id} in the list, but there is none`, {
    details: { userId, id },
  });
}

export function limitExceeded(userId: string, max: number): TodoLiveError {
  return new TodoLiveError('STORE_LIMIT_EXCEEDED', `user ${JSON.stringify(userId)}: expected fewer than ${max} todos before adding, but the list is full`, {
    details: { userId, max },
  });
}

export function moveOutOfRange(userId: string, toIndex: number, count: number): TodoLiveError {
  return new TodoLiveError(
    'STORE_INVALID_INPUT',
    `user ${JSON.stringify(userId)}: expected toIndex below ${count} (the number of todos), got ${toIndex}`,
    { details: { userId, toIndex, count } },
  );
}

export function newerSchema(found: number, known: number): TodoLiveError {
  return new TodoLiveError(
    'STORE_CORRUPT',
    `expected a database schema at version ${known} or older, but it is at version ${found}: it was written by a newer release`,
    { details: { found, known } },
  );
}
