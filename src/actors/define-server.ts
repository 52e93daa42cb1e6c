import { ErrorCodes, TodoLiveError, describeValue } from '../errors.js';
import type { ServerSpec, ServerType } from './types.js';

const RESTART_TYPES = new Set(['permanent', 'transient', 'temporary']);

/**
 * Checks and freezes a server definition. Pure: nothing starts until a system is asked for a key.
 *
 * @throws TodoLiveError `ACTOR_BAD_SPEC` when the name, callbacks or limits are invalid.
 */
export function defineServer<S, Call = never, Reply = unknown, Cast = never, Info = never, Arg = undefined>(
  spec: ServerSpec<S, Call, Reply, Cast, Info, Arg>,
): ServerType<S, Call, Reply, Cast, Info, Arg> {
  const bad = (what: string, value: unknown): never => {
    throw new TodoLiveError(
      ErrorCodes.ACTOR_BAD_SPEC,
      `server definition ${JSON.stringify(spec?.name ?? '?')}: expected ${what}, got ${describeValue(value)}`,
    );
  };
  if (spec === null || typeof spec !== 'object') bad('an object', spec);
  if (typeof spec.name !== 'string' || spec.name.length === 0) bad('a non-empty name', spec.name);
  if (typeof spec.init !== 'function') bad('init to be a function', spec.init);
  for (const cb of ['handleCall', 'handleCast', 'handleInfo', 'terminate'] as const) {
    if (spec[cb] !== undefined && typeof spec[cb] !== 'function') bad(`${cb} to be a function`, spec[cb]);
  }
  if (spec.restart !== undefined && !RESTART_TYPES.has(spec.restart)) {
    bad('restart to be permanent, transient or temporary', spec.restart);
  }
  checkDuration(spec.idleTimeoutMs, 'idleTimeoutMs to be a positive number of ms', bad);
  checkDuration(spec.callTimeoutMs, 'callTimeoutMs to be a positive number of ms (or Infinity)', bad);
  checkDuration(spec.terminateTimeoutMs, 'terminateTimeoutMs to be a positive number of ms', bad);
  if (spec.mailboxLimit !== undefined && !(Number.isInteger(spec.mailboxLimit) && spec.mailboxLimit > 0)) {
    bad('mailboxLimit to be a positive integer', spec.mailboxLimit);
  }
  return Object.freeze({ ...spec });
}

/** Checks an optional duration: a positive number (Infinity allowed). */
export function checkDuration(value: unknown, what: string, bad: (what: string, value: unknown) => never): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || !(value > 0)) bad(what, value);
}
