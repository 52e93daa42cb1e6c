/**
 * One running server: its mailbox, its drain loop, its timers. This is the hot path, kept in
 * one file and read top to bottom: envelopes, then delivery, then the loop, then stopping.
 *
 * An instance is also the `ctx` its callbacks receive and the {@link InstanceRef} others
 * hold, so a server costs one object plus its state; timer maps, monitor lists and waiter
 * promises exist only once something needs them.
 */
import type { TodoLiveError } from '../errors.js';
import { addAwaiting, closesCycle, currentServer, removeAwaiting } from './call-chain.js';
import type { Clock, TimerHandle } from './clock.js';
import { type Deadlines, type Expiring, type Lane, unwatch } from './deadlines.js';
import type { EventBus } from './events.js';
import * as fail from './failures.js';
import { IDLE, NORMAL, crash } from './results.js';
import type {
  AnyServerType,
  CallOptions,
  DownReason,
  From,
  InstanceRef,
  ServerContext,
  StopReason,
  TimerId,
} from './types.js';

// ---- status and phases -----------------------------------------------------------------------

/** Waiting out a restart backoff: takes messages, runs `init` when the timer fires. */
export const BACKOFF = 0;
export const STARTING = 1;
export const RUNNING = 2;
export const STOPPING = 3;
export const STOPPED = 4;
export const STATUS_NAMES = ['backoff', 'starting', 'running', 'stopping', 'stopped'] as const;

/** System phases: taking work, draining (only servers may call servers), stopping everything, down. */
export const PHASE_RUNNING = 0;
export const PHASE_DRAINING = 1;
export const PHASE_STOPPING = 2;
export const PHASE_DOWN = 3;

const CALL = 0;
const CAST = 1;
const INFO = 2;

/** What an instance needs from the system that owns it. */
export interface Host {
  readonly clock: Clock;
  readonly deadlines: Deadlines;
  readonly events: EventBus;
  readonly phase: number;
  readonly callTimeoutMs: number;
  readonly mailboxLimit: number;
  readonly terminateTimeoutMs: number;
  /** Runs `inst.drain()` soon, inside the instance's call-chain context. */
  schedule(inst: Instance): void;
  /** The drain loop of `inst` has returned. */
  drained(inst: Instance): void;
  started(inst: Instance): void;
  /** The instance is gone: unregister it and let its supervisor decide what comes next. */
  stopped(inst: Instance, reason: StopReason, droppedCasts: number): void;
}

/** The supervisor an instance belongs to, as the instance sees it. */
export interface Owner {
  readonly name: string;
}

// ---- envelopes -------------------------------------------------------------------------------

/** A message in a mailbox, linked to the next one: the queue allocates nothing of its own. */
class Envelope {
  kind: number;
  msg: unknown;
  next: Envelope | undefined = undefined;
  /** For interval ticks: the timer that produced it, so ticks never pile up. */
  origin: TimerEntry | undefined;

  constructor(kind: number, msg: unknown, origin: TimerEntry | undefined) {
    this.kind = kind;
    this.msg = msg;
    this.origin = origin;
  }
}

/**
 * A call: the envelope is also the `from` a deferred reply answers, and settles exactly once
 * (reply, timeout, failure), whichever comes first; later attempts are no-ops.
 */
export class CallEnvelope extends Envelope implements From<unknown>, Expiring {
  readonly promise: Promise<unknown>;
  resolve!: (value: unknown) => void;
  reject!: (error: unknown) => void;
  settled = false;
  /** The instance handling (or about to handle) it. */
  target: Instance | undefined = undefined;
  /** The instance whose turn waits on this call, for cycle detection. */
  caller: Instance | undefined = undefined;
  /** Type and key, for the timeout error before a target is known. */
  readonly type: string;
  readonly key: string;
  readonly timeoutMs: number;
  /** Clock time the call was made: its deadline, and the server's last activity. */
  readonly openedAt: number;
  readonly events: EventBus;
  lane: Lane | undefined = undefined;
  lanePrev: Expiring | undefined = undefined;
  laneNext: Expiring | undefined = undefined;

  constructor(msg: unknown, type: string, key: string, timeoutMs: number, now: number, events: EventBus) {
    super(CALL, msg, undefined);
    this.type = type;
    this.key = key;
    this.timeoutMs = timeoutMs;
    this.openedAt = now;
    this.events = events;
    this.promise = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }

  get deadline(): number {
    return this.openedAt + this.timeoutMs;
  }

  /** Starts the deadline, once the call is queued (or waits to be): a refused call needs none. */
  watch(deadlines: Deadlines): void {
    if (this.lane === undefined && !this.settled && this.timeoutMs !== Number.POSITIVE_INFINITY) {
      deadlines.add(this, this.timeoutMs);
    }
  }
}

/** Expires a call whose deadline passed (called by {@link Deadlines}). */
export function expireCall(item: Expiring): void {
  const env = item as CallEnvelope;
  if (env.settled) return;
  rejectCall(env, fail.callTimeout(env.type, env.key, env.timeoutMs));
  if (env.events.has('callTimeout')) {
    env.events.emit('callTimeout', { type: env.type, key: env.key, timeoutMs: env.timeoutMs });
  }
}

function finish(env: CallEnvelope): void {
  env.settled = true;
  unwatch(env);
  const target = env.target;
  if (target !== undefined) {
    target.deferred?.delete(env);
    if (env.caller !== undefined) removeAwaiting(env.caller, target);
  }
  env.caller = undefined;
  env.msg = undefined;
}

/** Settles a call with a value; false when it had already settled. */
export function resolveCall(env: CallEnvelope, value: unknown): boolean {
  if (env.settled) return false;
  finish(env);
  env.resolve(value);
  return true;
}

/** Settles a call with an error; false when it had already settled. */
export function rejectCall(env: CallEnvelope, error: unknown): boolean {
  if (env.settled) return false;
  finish(env);
  env.reject(error);
  return true;
}

// ---- timers ----------------------------------------------------------------------------------

interface TimerEntry {
  readonly owner: Instance;
  readonly id: number;
  readonly msg: unknown;
  /** 0 for a one-shot timer. */
  readonly every: number;
  handle: TimerHandle | undefined;
  /** An interval tick is in the mailbox and not yet handled. */
  queued: boolean;
}

// Ids are unique per process rather than per instance: one counter instead of one per server.
let nextTimerId = 1;

function onServerTimer(entry: TimerEntry): void {
  const inst = entry.owner;
  entry.handle = undefined;
  if (inst.status !== RUNNING && inst.status !== STARTING) return;
  if (entry.every === 0) {
    // As in cancelTimer: a server with no timer left holds no map (one per idle view adds up).
    inst.timers?.delete(entry.id);
    if (inst.timers?.size === 0) inst.timers = undefined;
  } else entry.handle = inst.host.clock.setTimer(entry.every, onServerTimer, entry);
  if (inst.host.phase !== PHASE_RUNNING || inst.stopReason !== undefined) return;
  if (entry.queued) return;
  if (entry.every !== 0) entry.queued = true;
  // A server's own timers are not refused by its mailbox bound: they are bounded by the
  // number of timers, and an interval never has more than one tick queued.
  inst.enqueue(new Envelope(INFO, entry.msg, entry));
}

function onLifeTimer(inst: Instance): void {
  inst.lifeTimer = undefined;
  if (inst.status === BACKOFF) {
    if (inst.stopReason !== undefined) return;
    inst.status = STARTING;
    inst.kick();
    return;
  }
  if (inst.status !== RUNNING || inst.stopReason !== undefined || inst.idleMs === undefined) return;
  const idleFor = inst.host.clock.now() - inst.lastActivity;
  // A turn still running is not idleness; a call or cast turn marks activity when it ends.
  if (idleFor >= inst.idleMs && !inst.inTurn) inst.requestStop(IDLE);
  else if (idleFor >= inst.idleMs) inst.lifeTimer = inst.host.clock.setTimer(inst.idleMs, onLifeTimer, inst);
  else inst.lifeTimer = inst.host.clock.setTimer(inst.idleMs - idleFor, onLifeTimer, inst);
}

// ---- waiters ---------------------------------------------------------------------------------

interface Waiter<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

function waiter<T>(): Waiter<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

interface Monitor {
  listener: ((reason: DownReason) => void) | undefined;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

const CALL_RESULT = 'reply(value, state), noreply(state) or stop(reason, state)';
const MESSAGE_RESULT = 'noreply(state) or stop(reason, state)';
const STOP_KINDS = new Set(['normal', 'idle', 'shutdown', 'crash']);

// ---- the instance ----------------------------------------------------------------------------

export class Instance implements ServerContext<unknown>, InstanceRef<unknown, unknown, unknown, unknown> {
  readonly host: Host;
  readonly spec: AnyServerType;
  readonly key: string;
  readonly id: number;
  readonly owner: Owner;
  /** What `init` receives; kept so a restart can pass it again. */
  arg: unknown;
  state: unknown = undefined;
  status: number;
  /** `init` returned: `terminate` is owed. */
  initialized = false;
  restarts: number;
  lastError: unknown;
  startedAt = 0;
  lastActivity = 0;
  idleMs: number | undefined;
  /** The backoff timer while in BACKOFF, the idle timer while RUNNING. */
  lifeTimer: TimerHandle | undefined = undefined;

  head: Envelope | undefined = undefined;
  tail: Envelope | undefined = undefined;
  queued = 0;
  /** The drain loop is scheduled or running. */
  active = false;
  /** A callback of this instance is running (possibly suspended on an await). */
  inTurn = false;
  /** The call being handled, so a kill mid-turn can still answer it. */
  current: CallEnvelope | undefined = undefined;
  /** Set once: the instance stops after the current turn. */
  stopReason: StopReason | undefined = undefined;
  /** Set when the stop was asked for from outside (not restarted by the supervisor). */
  stopRequested = false;

  awaiting: Instance[] | undefined = undefined;
  timers: Map<number, TimerEntry> | undefined = undefined;
  deferred: Set<CallEnvelope> | undefined = undefined;
  monitors: Monitor[] | undefined = undefined;
  readyWaiter: Waiter<Instance> | undefined = undefined;
  stopWaiter: Waiter<void> | undefined = undefined;

  constructor(
    host: Host,
    spec: AnyServerType,
    key: string,
    id: number,
    owner: Owner,
    arg: unknown,
    status: number,
    restarts: number,
    lastError: unknown,
  ) {
    this.host = host;
    this.spec = spec;
    this.key = key;
    this.id = id;
    this.owner = owner;
    this.arg = arg;
    this.status = status;
    this.restarts = restarts;
    this.lastError = lastError;
    this.idleMs = spec.idleTimeoutMs;
  }

  // ---- identity (ServerRef, ServerContext) ---------------------------------------------------

  get type(): string {
    return this.spec.name;
  }

  get alive(): boolean {
    return this.status < STOPPING && this.stopReason === undefined;
  }

  get self(): InstanceRef<unknown, unknown, unknown, unknown> {
    return this;
  }

  now(): number {
    return this.host.clock.now();
  }

  // ---- sending -------------------------------------------------------------------------------

  call(msg: unknown, options?: CallOptions): Promise<unknown> {
    let env: CallEnvelope;
    try {
      env = this.openCall(msg, options?.timeoutMs);
    } catch (error) {
      return Promise.reject(error);
    }
    this.deliverCall(env);
    return env.promise;
  }

  /** Creates a call envelope; its deadline starts counting once it is queued. */
  openCall(msg: unknown, timeoutMs: number | undefined): CallEnvelope {
    const host = this.host;
    const ms = timeoutMs ?? this.spec.callTimeoutMs ?? host.callTimeoutMs;
    if (!(ms > 0)) throw fail.badOption('call timeoutMs to be a positive number of ms (or Infinity)', ms);
    return new CallEnvelope(msg, this.spec.name, this.key, ms, host.clock.now(), host.events);
  }

  /** Queues a call, or settles it at once with the reason it cannot be queued. */
  deliverCall(env: CallEnvelope): void {
    if (env.settled) return;
    const caller = currentServer.getStore() as Instance | undefined;
    const inTurnCaller = caller?.inTurn && caller.status < STOPPED ? caller : undefined;
    const refusal = this.refusal(inTurnCaller);
    if (refusal !== undefined) {
      rejectCall(env, refusal);
      return;
    }
    if (this.spec.handleCall === undefined) {
      rejectCall(env, fail.missingHandler(this.spec.name, 'handleCall'));
      return;
    }
    if (inTurnCaller !== undefined) {
      if (closesCycle(inTurnCaller, this)) {
        rejectCall(env, fail.callCycle(inTurnCaller.spec.name, inTurnCaller.key, this.spec.name, this.key));
        return;
      }
      addAwaiting(inTurnCaller, this);
      env.caller = inTurnCaller;
    }
    if (!this.hasRoom()) {
      if (env.caller !== undefined) removeAwaiting(env.caller, this);
      env.caller = undefined;
      rejectCall(env, fail.mailboxFull(this.spec.name, this.key, this.limit()));
      return;
    }
    env.target = this;
    env.watch(this.host.deadlines);
    this.lastActivity = env.openedAt;
    this.enqueue(env);
  }

  cast(msg: unknown): boolean {
    if (this.spec.handleCast === undefined) throw fail.missingHandler(this.spec.name, 'handleCast');
    if (!this.accepts() || !this.hasRoom()) return false;
    this.lastActivity = this.host.clock.now();
    this.enqueue(new Envelope(CAST, msg, undefined));
    return true;
  }

  send(msg: unknown): boolean {
    if (this.spec.handleInfo === undefined) throw fail.missingHandler(this.spec.name, 'handleInfo');
    if (!this.accepts() || !this.hasRoom()) return false;
    this.enqueue(new Envelope(INFO, msg, undefined));
    return true;
  }

  /** Why a message from `caller` (a server in a turn, or outside code) is refused, if it is. */
  refusal(caller: Instance | undefined): TodoLiveError | undefined {
    if (!this.alive) return fail.serverDown(this.spec.name, this.key, this.stopReason ?? NORMAL);
    const phase = this.host.phase;
    // While draining, servers may still call each other so queued work can finish.
    if (phase !== PHASE_RUNNING && (phase !== PHASE_DRAINING || caller === undefined)) {
      return fail.shuttingDown(this.spec.name, this.key);
    }
    return undefined;
  }

  accepts(): boolean {
    if (!this.alive) return false;
    const phase = this.host.phase;
    if (phase === PHASE_RUNNING) return true;
    if (phase !== PHASE_DRAINING) return false;
    const caller = currentServer.getStore() as Instance | undefined;
    return caller?.inTurn === true;
  }

  limit(): number {
    return this.spec.mailboxLimit ?? this.host.mailboxLimit;
  }

  hasRoom(): boolean {
    if (this.queued < this.limit()) return true;
    if (this.host.events.has('mailboxFull')) {
      this.host.events.emit('mailboxFull', { type: this.spec.name, key: this.key, limit: this.limit() });
    }
    return false;
  }

  enqueue(env: Envelope): void {
    if (this.tail === undefined) this.head = env;
    else this.tail.next = env;
    this.tail = env;
    this.queued++;
    if (this.status !== BACKOFF) this.kick();
  }

  kick(): void {
    if (this.active) return;
    this.active = true;
    this.host.schedule(this);
  }

  // ---- the drain loop ------------------------------------------------------------------------

  /**
   * Runs `init` if due, then one turn per message until the mailbox is empty or a stop is due.
   * Handlers that return plain values never hit an `await`, so a burst of synchronous turns
   * runs in one go. Never rejects: every callback's failure becomes a crash of this instance.
   */
  async drain(): Promise<void> {
    try {
      if (this.status === STARTING && this.stopReason === undefined) {
        const ok = this.runInit();
        if (ok === false || (ok !== true && !(await ok))) return;
      }
      for (;;) {
        if (this.status === STOPPED) return;
        if (this.stopReason !== undefined) {
          await this.finishStop();
          return;
        }
        const env = this.head;
        if (env === undefined) return;
        this.head = env.next;
        if (this.head === undefined) this.tail = undefined;
        env.next = undefined;
        this.queued--;
        if (env.kind === CALL) {
          if ((env as CallEnvelope).settled) continue; // its caller gave up while it waited
        } else if (env.origin !== undefined) {
          env.origin.queued = false;
        }
        const pending = this.turn(env);
        // Awaiting only real promises keeps a burst of synchronous turns in one microtask.
        if (pending !== undefined) await pending;
      }
    } catch (error) {
      // Only a defect of the runtime itself can land here; stop this instance, never the process.
      this.lastError = error;
      this.kill(crash(error));
    } finally {
      this.active = false;
      this.host.drained(this);
    }
  }

  private turn(env: Envelope): Promise<void> | undefined {
    const spec = this.spec;
    let result: unknown;
    this.inTurn = true;
    if (env.kind === CALL) this.current = env as CallEnvelope;
    try {
      if (env.kind === CALL) result = spec.handleCall!(env.msg, this.state, this, env as CallEnvelope);
      else if (env.kind === CAST) result = spec.handleCast!(env.msg, this.state, this);
      else result = spec.handleInfo!(env.msg, this.state, this);
    } catch (error) {
      this.endTurn();
      this.crashOn(env, error);
      return undefined;
    }
    if (isThenable(result)) return this.finishAsyncTurn(env, result);
    this.endTurn();
    this.apply(env, result);
    return undefined;
  }

  private async finishAsyncTurn(env: Envelope, pending: PromiseLike<unknown>): Promise<void> {
    let result: unknown;
    try {
      result = await pending;
    } catch (error) {
      this.endTurn();
      if (this.status !== STOPPED) this.crashOn(env, error);
      return;
    }
    this.endTurn();
    if (this.status === STOPPED) return;
    // A long call or cast counts as activity until it ends, not just when it arrived.
    if (env.kind !== INFO) this.lastActivity = this.host.clock.now();
    this.apply(env, result);
  }

  private endTurn(): void {
    this.inTurn = false;
    this.current = undefined;
    // Whatever the turn still waits on, it no longer blocks this server.
    this.awaiting = undefined;
  }

  private apply(env: Envelope, result: unknown): void {
    const kind = (result as { kind?: unknown } | null)?.kind;
    const isCall = env.kind === CALL;
    if (kind === 'noreply') {
      this.state = (result as { state: unknown }).state;
      if (isCall) this.keepPending(env as CallEnvelope);
      return;
    }
    if (kind === 'reply' && isCall) {
      this.state = (result as { state: unknown }).state;
      resolveCall(env as CallEnvelope, (result as { reply: unknown }).reply);
      return;
    }
    if (kind === 'stop') {
      const r = result as { state: unknown; reason?: { kind?: unknown }; hasReply?: unknown; reply?: unknown };
      if (r.reason !== undefined && STOP_KINDS.has(r.reason.kind as string)) {
        this.state = r.state;
        if (isCall) {
          if (r.hasReply === true) resolveCall(env as CallEnvelope, r.reply);
          else this.keepPending(env as CallEnvelope);
        }
        this.requestStop(r.reason as StopReason);
        return;
      }
    }
    const callback = isCall ? 'handleCall' : env.kind === CAST ? 'handleCast' : 'handleInfo';
    this.crashOn(env, fail.badReturn(this.spec.name, callback, isCall ? CALL_RESULT : MESSAGE_RESULT, result));
  }

  /** Keeps an unanswered call until a deferred reply or the stop answers it. */
  private keepPending(env: CallEnvelope): void {
    if (env.settled) return;
    if (this.deferred === undefined) this.deferred = new Set();
    this.deferred.add(env);
  }

  private crashOn(env: Envelope, error: unknown): void {
    // The call that crashed the server is answered like every other pending one, when it stops.
    if (env.kind === CALL) this.keepPending(env as CallEnvelope);
    this.lastError = error;
    this.requestStop(crash(error));
  }

  /**
   * Runs `init`; false when it failed (the instance is then stopped). Synchronous when `init`
   * is, so activating a server whose state is at hand costs no extra turn.
   */
  private runInit(): boolean | Promise<boolean> {
    let state: unknown;
    this.inTurn = true;
    try {
      state = this.spec.init(this.key, this, this.arg);
    } catch (error) {
      return this.initFailed(error);
    }
    if (isThenable(state)) return this.awaitInit(state);
    return this.initDone(state);
  }

  private async awaitInit(pending: PromiseLike<unknown>): Promise<boolean> {
    let state: unknown;
    try {
      state = await pending;
    } catch (error) {
      return this.initFailed(error);
    }
    return this.initDone(state);
  }

  private async initFailed(error: unknown): Promise<boolean> {
    this.endTurn();
    if (this.status === STOPPED) return false;
    const failure = fail.initFailed(this.spec.name, this.key, error);
    this.lastError = failure;
    this.stopReason = crash(failure);
    await this.finishStop();
    return false;
  }

  private initDone(state: unknown): boolean {
    this.endTurn();
    if (this.status === STOPPED) return false;
    this.state = state;
    this.initialized = true;
    // A stop asked for during init is carried out by the loop, with terminate.
    if (this.stopReason !== undefined) return true;
    this.status = RUNNING;
    const now = this.host.clock.now();
    this.startedAt = now;
    this.lastActivity = now;
    if (this.idleMs !== undefined) this.lifeTimer = this.host.clock.setTimer(this.idleMs, onLifeTimer, this);
    this.host.started(this);
    if (this.readyWaiter !== undefined) {
      this.readyWaiter.resolve(this);
      this.readyWaiter = undefined;
    }
    return true;
  }

  // ---- stopping ------------------------------------------------------------------------------

  /** Stops after the current turn (at once when idle). The first reason wins. */
  requestStop(reason: StopReason): void {
    if (this.status === STOPPED || this.stopReason !== undefined) return;
    this.stopReason = reason;
    if (this.status !== STARTING) this.status = STOPPING;
    this.kick();
  }

  /** Waits for the instance to be gone. */
  whenStopped(): Promise<void> {
    if (this.status === STOPPED) return Promise.resolve();
    this.stopWaiter ??= waiter<void>();
    return this.stopWaiter.promise;
  }

  /** Waits for `init` to finish; rejects if the instance stops first. */
  whenReady(): Promise<Instance> {
    if (this.status === RUNNING && this.stopReason === undefined) return Promise.resolve(this);
    if (!this.alive) return Promise.reject(this.failureFor(this.stopReason ?? NORMAL));
    this.readyWaiter ??= waiter<Instance>();
    return this.readyWaiter.promise;
  }

  private async finishStop(): Promise<void> {
    const reason = this.stopReason!;
    this.status = STOPPING;
    const dropped = this.abandonWork(reason);
    if (this.initialized && this.spec.terminate !== undefined) await this.runTerminate(reason);
    this.markStopped(reason, dropped);
  }

  /**
   * Ends the instance now, without waiting for a turn or `terminate`: used when a shutdown
   * deadline passes. A turn still suspended finds the instance stopped and its result is dropped.
   */
  kill(reason: StopReason): void {
    if (this.status === STOPPED) return;
    this.stopReason ??= reason;
    const dropped = this.abandonWork(this.stopReason);
    this.markStopped(this.stopReason, dropped);
  }

  /** Clears timers, rejects every pending call and returns how many casts and infos were dropped. */
  private abandonWork(reason: StopReason): number {
    const clock = this.host.clock;
    if (this.lifeTimer !== undefined) {
      clock.clearTimer(this.lifeTimer);
      this.lifeTimer = undefined;
    }
    if (this.timers !== undefined) {
      for (const entry of this.timers.values()) if (entry.handle !== undefined) clock.clearTimer(entry.handle);
      this.timers = undefined;
    }
    // Most stops leave nobody waiting: build the error (and its stack) only for someone to read.
    const waiting =
      this.head !== undefined || this.current !== undefined || this.deferred !== undefined || this.readyWaiter !== undefined;
    const failure = waiting ? this.failureFor(reason) : undefined;
    let dropped = 0;
    let env = this.head;
    this.head = this.tail = undefined;
    this.queued = 0;
    while (env !== undefined) {
      const next = env.next;
      env.next = undefined;
      if (env.kind === CALL) rejectCall(env as CallEnvelope, failure);
      else dropped++;
      env = next;
    }
    if (this.current !== undefined) {
      rejectCall(this.current, failure);
      this.current = undefined;
    }
    const deferred = this.deferred;
    this.deferred = undefined;
    if (deferred !== undefined) for (const call of deferred) rejectCall(call, failure);
    if (this.readyWaiter !== undefined) {
      this.readyWaiter.reject(failure);
      this.readyWaiter = undefined;
    }
    return dropped;
  }

  private failureFor(reason: StopReason): unknown {
    if (reason.kind === 'shutdown' && this.host.phase !== PHASE_RUNNING) {
      return fail.shuttingDown(this.spec.name, this.key);
    }
    // Callers of a server whose init failed learn why, not just that it is down.
    if (reason.kind === 'crash' && !this.initialized) return reason.error;
    return fail.serverDown(this.spec.name, this.key, reason);
  }

  private async runTerminate(reason: StopReason): Promise<void> {
    const clock = this.host.clock;
    const ms = this.spec.terminateTimeoutMs ?? this.host.terminateTimeoutMs;
    let timer: TimerHandle | undefined;
    this.inTurn = true;
    try {
      const done = this.spec.terminate!(reason, this.state, this);
      if (isThenable(done)) {
        await new Promise<void>((resolve, reject) => {
          timer = clock.setTimer(
            ms,
            () => reject(new Error(`terminate did not finish within ${ms} ms`)),
            undefined,
          );
          done.then(() => resolve(), reject);
        });
      }
    } catch (error) {
      if (this.host.events.has('terminateFailed')) {
        this.host.events.emit('terminateFailed', { type: this.spec.name, key: this.key, id: this.id, error });
      }
    } finally {
      if (timer !== undefined) clock.clearTimer(timer);
      this.endTurn();
    }
  }

  private markStopped(reason: StopReason, dropped: number): void {
    if (this.status === STOPPED) return;
    this.status = STOPPED;
    this.state = undefined;
    this.awaiting = undefined;
    this.host.stopped(this, reason, dropped);
    this.arg = undefined;
    const monitors = this.monitors;
    this.monitors = undefined;
    if (monitors !== undefined) for (const m of monitors) fireMonitor(m, reason, this.host.events);
    if (this.stopWaiter !== undefined) {
      this.stopWaiter.resolve();
      this.stopWaiter = undefined;
    }
  }

  // ---- monitors ------------------------------------------------------------------------------

  /** Calls `listener` once when this instance stops; the returned function cancels. */
  monitor(listener: (reason: DownReason) => void): () => void {
    const record: Monitor = { listener };
    if (this.status === STOPPED) {
      const reason = this.stopReason ?? NORMAL;
      queueMicrotask(() => fireMonitor(record, reason, this.host.events));
    } else {
      if (this.monitors === undefined) this.monitors = [record];
      else this.monitors.push(record);
    }
    return () => {
      record.listener = undefined;
      const list = this.monitors;
      const at = list === undefined ? -1 : list.indexOf(record);
      if (at >= 0) list!.splice(at, 1);
    };
  }

  // ---- ServerContext -------------------------------------------------------------------------

  reply<R>(from: From<R>, value: R): boolean {
    return resolveCall(from as unknown as CallEnvelope, value);
  }

  sendAfter(msg: unknown, ms: number): TimerId {
    if (!(ms >= 0)) throw fail.badOption('sendAfter delay to be >= 0 ms', ms);
    return this.addTimer(msg, ms, 0);
  }

  sendInterval(msg: unknown, ms: number): TimerId {
    if (!(ms > 0 && ms < Number.POSITIVE_INFINITY)) throw fail.badOption('sendInterval period to be a positive number of ms', ms);
    return this.addTimer(msg, ms, ms);
  }

  private addTimer(msg: unknown, ms: number, every: number): TimerId {
    if (this.spec.handleInfo === undefined) throw fail.missingHandler(this.spec.name, 'handleInfo');
    const id = nextTimerId++;
    // A stopping instance hands out ids that are never armed, so callers need no special case.
    if (this.status >= STOPPING || this.stopReason !== undefined) return id;
    const entry: TimerEntry = { owner: this, id, msg, every, handle: undefined, queued: false };
    if (this.timers === undefined) this.timers = new Map();
    this.timers.set(id, entry);
    entry.handle = this.host.clock.setTimer(ms, onServerTimer, entry);
    return id;
  }

  cancelTimer(id: TimerId): boolean {
    const entry = this.timers?.get(id);
    if (entry === undefined) return false;
    this.timers!.delete(id);
    if (this.timers!.size === 0) this.timers = undefined;
    if (entry.handle !== undefined) this.host.clock.clearTimer(entry.handle);
    entry.handle = undefined;
    return true;
  }

  setIdleTimeout(ms: number | null): void {
    if (ms !== null && !(ms > 0)) throw fail.badOption('idle timeout to be a positive number of ms or null', ms);
    this.idleMs = ms ?? undefined;
    if (this.status !== RUNNING) return;
    if (this.lifeTimer !== undefined) this.host.clock.clearTimer(this.lifeTimer);
    this.lifeTimer = undefined;
    if (ms !== null) this.lifeTimer = this.host.clock.setTimer(ms, onLifeTimer, this);
  }

  /** Arms the restart timer of an instance created in BACKOFF. */
  armBackoff(delayMs: number): void {
    this.lifeTimer = this.host.clock.setTimer(delayMs, onLifeTimer, this);
  }

  /** Number of timers armed by this instance. */
  timerCount(): number {
    return this.timers?.size ?? 0;
  }
}

function fireMonitor(record: Monitor, reason: DownReason, events: EventBus): void {
  const listener = record.listener;
  if (listener === undefined) return;
  record.listener = undefined;
  try {
    listener(reason);
  } catch (error) {
    events.reportListenerError(error);
  }
}
