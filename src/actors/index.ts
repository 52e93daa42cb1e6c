/**
 * An OTP-style actor runtime: GenServer-like servers with strictly sequential turns, a
 * registry with atomic start-or-get and lazy (virtual) refs, a one-for-one dynamic supervisor
 * with backoff and quarantine, monitors, server-owned timers, idle stops, graceful shutdown,
 * introspection, and an injectable clock. Knows nothing about the app that uses it.
 */
export { type BackoffOptions, DEFAULT_BACKOFF, backoffDelay } from './backoff.js';
export { type Clock, type ManualClock, type TimerHandle, createManualClock, realClock } from './clock.js';
export { defineServer } from './define-server.js';
export type { ActorEventListener, ActorEventName, ActorEvents } from './events.js';
export { IDLE, NORMAL, SHUTDOWN, crash, describeReason, isCleanStop, noreply, reply, stop } from './results.js';
export type { Supervisor, SupervisorOptions } from './supervisor.js';
export {
  type ActorSystem,
  createSystem,
  type ServerInfo,
  type ServerStatus,
  type ShutdownOptions,
  type StartOptions,
  type SystemOptions,
  type SystemPhase,
} from './system.js';
export type {
  AnyServerType,
  CallOptions,
  CallResult,
  DownReason,
  From,
  InstanceRef,
  LazyRef,
  MessageResult,
  NoReplyResult,
  ReplyResult,
  RestartType,
  ServerContext,
  ServerRef,
  ServerSpec,
  ServerType,
  StopReason,
  StopRequest,
  StopResult,
  TimerId,
} from './types.js';
