/**
 * The errors callers of the runtime see. Each message says what was expected and what
 * happened instead, and `details` carries the type, key and figures for logs.
 */
import { ErrorCodes, TodoLiveError, describeValue } from '../errors.js';
import { describeReason, errorMessage } from './results.js';
import type { StopReason } from './types.js';

function subject(type: string, key: string): string {
  return `${type} ${JSON.stringify(key)}`;
}

export function callTimeout(type: string, key: string, timeoutMs: number): TodoLiveError {
  return new TodoLiveError(
    ErrorCodes.ACTOR_CALL_TIMEOUT,
    `expected a reply from ${subject(type, key)} within ${timeoutMs} ms, got none`,
    { details: { type, key, timeoutMs } },
  );
}

export function serverDown(type: string, key: string, reason: StopReason): TodoLiveError {
  return new TodoLiveError(
    ErrorCodes.ACTOR_SERVER_DOWN,
    `expected ${subject(type, key)} to handle the message, but it stopped: ${describeReason(reason)}`,
    {
      details: { type, key, reason: reason.kind },
      cause: reason.kind === 'crash' ? reason.error : undefined,
    },
  );
}

export function mailboxFull(type: string, key: string, limit: number): TodoLiveError {
  return new TodoLiveError(
    ErrorCodes.ACTOR_MAILBOX_FULL,
    `expected room in the mailbox of ${subject(type, key)}, found it at its limit of ${limit} messages`,
    { details: { type, key, limit } },
  );
}

export function shuttingDown(type: string, key: string): TodoLiveError {
  return new TodoLiveError(
    ErrorCodes.ACTOR_SHUTTING_DOWN,
    `expected ${subject(type, key)} to take new work, but the system is shutting down`,
    { details: { type, key } },
  );
}

export function quarantined(type: string, key: string, untilMs: number, now: number): TodoLiveError {
  return new TodoLiveError(
    ErrorCodes.ACTOR_UNAVAILABLE,
    `expected ${subject(type, key)} to be available, but it crashed too often and is quarantined for another ${Math.max(0, Math.ceil(untilMs - now))} ms`,
    { details: { type, key, retryAfterMs: Math.max(0, untilMs - now) } },
  );
}

export function atCapacity(type: string, key: string, supervisor: string, maxChildren: number): TodoLiveError {
  return new TodoLiveError(
    ErrorCodes.ACTOR_UNAVAILABLE,
    `expected supervisor ${JSON.stringify(supervisor)} to start ${subject(type, key)}, but it already has its maximum of ${maxChildren} children`,
    { details: { type, key, supervisor, maxChildren } },
  );
}

export function callCycle(callerType: string, callerKey: string, type: string, key: string): TodoLiveError {
  const what =
    callerType === type && callerKey === key
      ? `${subject(type, key)} called itself`
      : `${subject(callerType, callerKey)} called ${subject(type, key)}, which is waiting on it`;
  return new TodoLiveError(ErrorCodes.ACTOR_CALL_CYCLE, `expected a call to another server, but ${what}: it would deadlock`, {
    details: { callerType, callerKey, type, key },
  });
}

export function badReturn(type: string, callback: string, expected: string, got: unknown): TodoLiveError {
  return new TodoLiveError(
    ErrorCodes.ACTOR_BAD_RETURN,
    `expected ${type}.${callback} to return ${expected}, got ${describeValue(got)}`,
    { details: { type, callback } },
  );
}

export function initFailed(type: string, key: string, error: unknown): TodoLiveError {
  return new TodoLiveError(
    ErrorCodes.ACTOR_INIT_FAILED,
    `expected ${type}.init(${JSON.stringify(key)}) to return a state, it threw: ${errorMessage(error)}`,
    { details: { type, key }, cause: error },
  );
}

export function missingHandler(type: string, handler: string): TodoLiveError {
  return new TodoLiveError(
    ErrorCodes.ACTOR_BAD_SPEC,
    `expected server type ${JSON.stringify(type)} to define ${handler}, it does not`,
    { details: { type, handler } },
  );
}

export function badOption(what: string, value: unknown): TodoLiveError {
  return new TodoLiveError(ErrorCodes.ACTOR_BAD_SPEC, `expected ${what}, got ${describeValue(value)}`);
}
