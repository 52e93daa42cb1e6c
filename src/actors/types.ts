/**
 * The vocabulary of the runtime: what a server definition looks like, what its callbacks
 * return, why a server stops, and the handles other code holds to talk to one.
 */

/** When a supervisor restarts a server that stopped: always, only after a crash, or never. */
export type RestartType = 'permanent' | 'transient' | 'temporary';

/**
 * Why a server stopped. `normal` and `shutdown` are clean (a server asked for it, or was told
 * to stop); `idle` is the idle timeout; `crash` carries whatever a callback threw.
 * `detail` names a clean stop for logs (`closed`, `left`...).
 */
export type StopReason =
  | { readonly kind: 'normal'; readonly detail?: string }
  | { readonly kind: 'idle' }
  | { readonly kind: 'shutdown'; readonly detail?: string }
  | { readonly kind: 'crash'; readonly error: unknown };

/** What a monitor reports: a stop reason, or `noproc` when nothing was running to watch. */
export type DownReason = StopReason | { readonly kind: 'noproc' };

/** What a handler may give as a stop reason: a clean name, or a full {@link StopReason}. */
export type StopRequest = 'normal' | 'shutdown' | StopReason;

declare const replyType: unique symbol;

/**
 * Identifies one pending call, for a deferred reply: a `handleCall` that returns `noreply`
 * keeps it and answers later with `ctx.reply(from, value)`.
 */
export interface From<Reply> {
  /** Clock time after which the caller no longer waits (`Infinity` when it waits forever). */
  readonly deadline: number;
  readonly [replyType]?: Reply;
}

export interface ReplyResult<S, R> {
  readonly kind: 'reply';
  readonly reply: R;
  readonly state: S;
}

export interface NoReplyResult<S> {
  readonly kind: 'noreply';
  readonly state: S;
}

export interface StopResult<S, R> {
  readonly kind: 'stop';
  readonly reason: StopReason;
  readonly state: S;
  /** True when `reply` answers the call being handled (a stop from `handleCall` may reply first). */
  readonly hasReply: boolean;
  readonly reply?: R;
}

/** What `handleCall` returns. */
export type CallResult<S, R> = ReplyResult<S, R> | NoReplyResult<S> | StopResult<S, R>;
/** What `handleCast` and `handleInfo` return. */
export type MessageResult<S> = NoReplyResult<S> | StopResult<S, never>;

type MaybePromise<T> = T | Promise<T>;

/** Timer identifier returned by `sendAfter`/`sendInterval`. */
export type TimerId = number;

/**
 * What a callback gets as `ctx`: the server's own identity and the services it may use.
 * Valid for the life of one instance; after it stops, timers and replies are no-ops.
 */
export interface ServerContext<Info = never> {
  readonly type: string;
  readonly key: string;
  /** This instance, to give to other servers or to monitor. */
  readonly self: InstanceRef<unknown, unknown, unknown, Info>;
  /** Clock time now. */
  now(): number;
  /** Answers a call kept with `noreply`. False when it was already answered or its caller gave up. */
  reply<R>(from: From<R>, value: R): boolean;
  /** Delivers `msg` to `handleInfo` once after `ms`. */
  sendAfter(msg: Info, ms: number): TimerId;
  /** Delivers `msg` to `handleInfo` every `ms`; a tick is skipped while the previous one is still queued. */
  sendInterval(msg: Info, ms: number): TimerId;
  /** Cancels a timer; false when it had already fired (one-shot) or was unknown. */
  cancelTimer(id: TimerId): boolean;
  /** Changes (or with `null`, turns off) the idle timeout of this instance. */
  setIdleTimeout(ms: number | null): void;
}

/**
 * A server definition: pure data and callbacks, no side effects. Create it with `defineServer`.
 *
 * Turns are strictly sequential: the next message is handled only after the previous
 * callback's promise settles, so state never sees two handlers interleave across an `await`.
 */
export interface ServerSpec<S, Call = never, Reply = unknown, Cast = never, Info = never, Arg = undefined> {
  /** The type name, unique within a system; used in logs, events and snapshots. */
  readonly name: string;
  /**
   * Builds the state of one instance (usually by loading it). `arg` is what the starter passed;
   * a supervisor restart passes the same value again.
   */
  init(key: string, ctx: ServerContext<Info>, arg: Arg): MaybePromise<S>;
  handleCall?(msg: Call, state: S, ctx: ServerContext<Info>, from: From<Reply>): MaybePromise<CallResult<S, Reply>>;
  handleCast?(msg: Cast, state: S, ctx: ServerContext<Info>): MaybePromise<MessageResult<S>>;
  handleInfo?(msg: Info, state: S, ctx: ServerContext<Info>): MaybePromise<MessageResult<S>>;
  /** Best effort, bounded by `terminateTimeoutMs`; not called when `init` failed. */
  terminate?(reason: StopReason, state: S, ctx: ServerContext<Info>): MaybePromise<void>;
  /** Stop with reason `idle` after this long without a call or cast. Timer ticks and info do not count. */
  readonly idleTimeoutMs?: number;
  /** Default `transient`. An idle stop is never restarted, whatever the type. */
  readonly restart?: RestartType;
  /** Bound on queued calls, casts and sends; beyond it they are rejected. Default: the system's. */
  readonly mailboxLimit?: number;
  /** Default timeout of calls to this type. Default: the system's. */
  readonly callTimeoutMs?: number;
  /** How long `terminate` may take. Default: the system's. */
  readonly terminateTimeoutMs?: number;
}

/** A server type: a {@link ServerSpec} that `defineServer` has checked and frozen. */
export type ServerType<S = unknown, Call = never, Reply = unknown, Cast = never, Info = never, Arg = undefined> = Readonly<
  ServerSpec<S, Call, Reply, Cast, Info, Arg>
>;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a type with any state and messages, for APIs that accept every type
export type AnyServerType = ServerType<any, any, any, any, any, any>;

export interface CallOptions {
  /** Milliseconds to wait for the reply; `Infinity` waits forever. Default: the type's, then the system's. */
  timeoutMs?: number;
}

/** A handle for sending to a server. */
export interface ServerRef<Call = never, Reply = unknown, Cast = never, Info = never> {
  readonly type: string;
  readonly key: string;
  /**
   * Sends a request and waits for the reply. Settles exactly once: the reply, or a
   * `TodoLiveError` with code `ACTOR_CALL_TIMEOUT`, `ACTOR_SERVER_DOWN`, `ACTOR_MAILBOX_FULL`,
   * `ACTOR_SHUTTING_DOWN`, `ACTOR_UNAVAILABLE`, `ACTOR_CALL_CYCLE` or `ACTOR_INIT_FAILED`.
   */
  call(msg: Call, options?: CallOptions): Promise<Reply>;
  /** Sends without waiting; counts as activity. False when the message was refused. */
  cast(msg: Cast): boolean;
  /** Sends an info message; does not count as activity. False when the message was refused. */
  send(msg: Info): boolean;
}

/** A handle on one instance (like a pid): once it stops, messages to it are refused. */
export interface InstanceRef<Call = never, Reply = unknown, Cast = never, Info = never>
  extends ServerRef<Call, Reply, Cast, Info> {
  /** Unique within the system; a restart gets a new id. */
  readonly id: number;
  /** True until the instance starts stopping. */
  readonly alive: boolean;
}

/** A handle on a key rather than an instance: each message activates the key if needed. */
export interface LazyRef<Call = never, Reply = unknown, Cast = never, Info = never>
  extends ServerRef<Call, Reply, Cast, Info> {
  readonly lazy: true;
}
