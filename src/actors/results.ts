/**
 * Builders for what callbacks return, mirroring OTP's `{reply, R, S}`, `{noreply, S}` and
 * `{stop, Reason, S}` tuples, plus the canonical stop reasons.
 */
import type { NoReplyResult, ReplyResult, StopReason, StopRequest, StopResult } from './types.js';

/** The clean reasons are shared constants: a stop allocates nothing unless it carries detail. */
export const NORMAL: StopReason = Object.freeze({ kind: 'normal' });
export const IDLE: StopReason = Object.freeze({ kind: 'idle' });
export const SHUTDOWN: StopReason = Object.freeze({ kind: 'shutdown' });

/** A crash reason carrying what was thrown. */
export function crash(error: unknown): StopReason {
  return { kind: 'crash', error };
}

/** Answers the call with `value` and keeps `state`. */
export function reply<S, R>(value: R, state: S): ReplyResult<S, R> {
  return { kind: 'reply', reply: value, state };
}

/** Keeps `state` without answering now (a call is then answered later with `ctx.reply`). */
export function noreply<S>(state: S): NoReplyResult<S> {
  return { kind: 'noreply', state };
}

/**
 * Stops the server after this turn. From `handleCall`, a third argument answers the call
 * first (even `undefined`, when given explicitly).
 */
export function stop<S>(reason: StopRequest, state: S): StopResult<S, never>;
export function stop<S, R>(reason: StopRequest, state: S, replyValue: R): StopResult<S, R>;
export function stop<S, R>(reason: StopRequest, state: S, ...rest: [R?]): StopResult<S, R> {
  const hasReply = rest.length > 0;
  return hasReply
    ? { kind: 'stop', reason: toStopReason(reason), state, hasReply, reply: rest[0] as R }
    : { kind: 'stop', reason: toStopReason(reason), state, hasReply };
}

/** Turns what a handler asked for into a {@link StopReason}. */
export function toStopReason(request: StopRequest): StopReason {
  if (request === 'normal') return NORMAL;
  if (request === 'shutdown') return SHUTDOWN;
  return request;
}

/** True for the reasons a `transient` server is not restarted after. */
export function isCleanStop(reason: StopReason): boolean {
  return reason.kind !== 'crash';
}

/** A one-line description of a reason, for messages and logs. */
export function describeReason(reason: StopReason | { kind: 'noproc' }): string {
  switch (reason.kind) {
    case 'crash':
      return `crash (${errorMessage(reason.error)})`;
    case 'normal':
    case 'shutdown':
      return reason.detail === undefined ? reason.kind : `${reason.kind} (${reason.detail})`;
    default:
      return reason.kind;
  }
}

export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  try {
    return String(error);
  } catch {
    return typeof error;
  }
}
