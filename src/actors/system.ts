/**
 * The actor system: owns the registry, the supervisors, the clock and the event bus, and is
 * the entry point for starting, addressing, monitoring, stopping and inspecting servers.
 */
import { currentServer } from './call-chain.js';
import { type Clock, type TimerHandle, realClock } from './clock.js';
import { Deadlines } from './deadlines.js';
import { checkDuration } from './define-server.js';
import { type ActorEventListener, type ActorEventName, EventBus } from './events.js';
import * as fail from './failures.js';
import {
  BACKOFF,
  type Host,
  Instance,
  PHASE_DOWN,
  PHASE_DRAINING,
  PHASE_RUNNING,
  PHASE_STOPPING,
  RUNNING,
  STARTING,
  STATUS_NAMES,
  expireCall,
} from './instance.js';
import { type Activator, LazyRef } from './lazy-ref.js';
import { Registry } from './registry.js';
import { SHUTDOWN, errorMessage, toStopReason } from './results.js';
import { HealthBook, type SupervisionHost, Supervisor, type SupervisorOptions } from './supervisor.js';
import type {
  AnyServerType,
  DownReason,
  InstanceRef,
  LazyRef as LazyRefApi,
  ServerType,
  StopReason,
} from './types.js';

export interface SystemOptions {
  /** Default: real time. Tests pass `createManualClock()`. */
  clock?: Clock;
  /** Source of jitter for restart backoff, in [0, 1). Default `Math.random`. */
  random?: () => number;
  /** Default timeout of calls. Default 5,000 ms. */
  callTimeoutMs?: number;
  /** Default bound on each mailbox. Default 1,000 messages. */
  mailboxLimit?: number;
  /** Default time `terminate` may take. Default 5,000 ms. */
  terminateTimeoutMs?: number;
  /** Options of the root supervisor, used when a start names none. */
  supervisor?: SupervisorOptions;
}

export interface StartOptions<Arg> {
  /** Passed to `init`; a supervisor restart passes it again. Ignored when the key is already live. */
  arg?: Arg;
  /** Default: the root supervisor. */
  supervisor?: Supervisor;
}

type StartArgs<Arg> = undefined extends Arg ? [options?: StartOptions<Arg>] : [options: StartOptions<Arg> & { arg: Arg }];

export type ServerStatus = (typeof STATUS_NAMES)[number] | 'quarantined';

/** One line of {@link ActorSystem.snapshot}. */
export interface ServerInfo {
  type: string;
  key: string;
  /** Instance id; 0 for a quarantined key (no instance). */
  id: number;
  status: ServerStatus;
  supervisor: string;
  queueLength: number;
  /** Calls kept with `noreply` and not answered yet. */
  pendingReplies: number;
  /** Since `init` finished; 0 before. */
  uptimeMs: number;
  /** Since the last call or cast. */
  idleMs: number;
  /** Restarts that led to this instance. */
  restarts: number;
  timers: number;
  lastError?: string;
  /** For a quarantined key: when it takes work again (clock time). */
  untilMs?: number;
}

export interface ShutdownOptions {
  /** How long queued work may keep running before every server is told to stop. Default 5,000 ms. */
  drainMs?: number;
}

export type SystemPhase = 'running' | 'draining' | 'stopping' | 'down';
const PHASE_NAMES: SystemPhase[] = ['running', 'draining', 'stopping', 'down'];

type MonitorTarget = InstanceRef<never, unknown, never, never> | LazyRefApi<never, unknown, never, never>;

type Reason = 'normal' | 'shutdown' | StopReason;
type Listener = (reason: DownReason) => void;

/**
 * An actor system: the registry of servers by type and key, their supervisors, the clock and
 * the lifecycle events. Everything the rest of an app needs from the runtime goes through it.
 */
export interface ActorSystem {
  readonly clock: Clock;
  /** `running`, then `draining` and `stopping` during a shutdown, then `down`. */
  readonly status: SystemPhase;
  /** The supervisor of every start that names no other. */
  readonly root: Supervisor;

  /**
   * A named one-for-one dynamic supervisor, created on first use; later calls with the same
   * name return it (their options are ignored).
   */
  supervisor(name: string, options?: SupervisorOptions): Supervisor;

  /**
   * The running instance of `key`, started (with `options.arg`) if absent. Atomic: concurrent
   * calls for one key run one `init` and, while it runs, get the very same promise. A stopping
   * instance is never returned: the call waits for it to be gone and starts a fresh one.
   *
   * Rejects with `ACTOR_INIT_FAILED`, `ACTOR_UNAVAILABLE` (quarantined key, supervisor at
   * capacity), `ACTOR_SHUTTING_DOWN` or `ACTOR_SERVER_DOWN` (stopped before it was ready).
   */
  startOrGet<S, C, R, K, I, A>(
    type: ServerType<S, C, R, K, I, A>,
    key: string,
    ...options: StartArgs<A>
  ): Promise<InstanceRef<C, R, K, I>>;

  /**
   * A lazy reference to `key`: each message activates the key if needed (with `options.arg`)
   * and goes to whichever instance is live. Finding the instance and queueing the message are
   * one synchronous step, so the instance cannot stop in between; a message that finds it
   * already stopping waits for it to be gone and resolves the key again. What request
   * handlers should hold.
   */
  ref<S, C, R, K, I, A>(type: ServerType<S, C, R, K, I, A>, key: string, ...options: StartArgs<A>): LazyRefApi<C, R, K, I>;

  /** The running instance of `key`, if any. Never a starting or stopping one. */
  lookup<S, C, R, K, I, A>(type: ServerType<S, C, R, K, I, A>, key: string): InstanceRef<C, R, K, I> | undefined;

  /**
   * Stops an instance (or the key's current instance) after its current turn, with `terminate`.
   * A stop asked for here is never undone by the supervisor. Resolves once it is gone.
   */
  stop(target: MonitorTarget, reason?: Reason): Promise<void>;
  stop(type: AnyServerType, key: string, reason?: Reason): Promise<void>;

  /**
   * Calls `listener` exactly once when the watched instance stops, with the reason. Watching a
   * lazy ref or a type and key watches the instance live at that moment; when there is none,
   * the listener hears `noproc` right away (on a microtask). Returns a function that cancels.
   */
  monitor(target: MonitorTarget, listener: Listener): () => void;
  monitor(type: AnyServerType, key: string, listener: Listener): () => void;

  /** Subscribes to a lifecycle event; returns a function that unsubscribes. */
  on<E extends ActorEventName>(event: E, listener: ActorEventListener<E>): () => void;

  /** Every registered instance and every quarantined key, as plain data. */
  snapshot(): ServerInfo[];

  /**
   * Resolves once every mailbox is empty and no callback is running (servers waiting out a
   * backoff or for a timer count as quiet). Waits as long as it takes.
   */
  settle(): Promise<void>;

  /**
   * Stops the system: refuses new work at once (`ACTOR_SHUTTING_DOWN`; servers may still call
   * each other while draining), lets queued work run for up to `drainMs`, then stops every
   * server with reason `shutdown`, running `terminate` (each bounded by its terminate timeout)
   * and rejecting whatever is left. A server stuck past that bound is dropped without waiting.
   * Idempotent: later calls return the same promise.
   */
  shutdown(options?: ShutdownOptions): Promise<void>;
}

/**
 * Creates an actor system.
 *
 * @throws TodoLiveError `ACTOR_BAD_SPEC` when an option is invalid.
 */
export function createSystem(options: SystemOptions = {}): ActorSystem {
  return new Runtime(options);
}

/** The system, plus the services its instances, supervisors and lazy refs call back into. */
class Runtime implements ActorSystem, Host, SupervisionHost, Activator {
  readonly clock: Clock;
  readonly events = new EventBus();
  readonly deadlines: Deadlines;
  readonly random: () => number;
  readonly callTimeoutMs: number;
  readonly mailboxLimit: number;
  readonly terminateTimeoutMs: number;
  readonly root: Supervisor;
  phase = PHASE_RUNNING;

  readonly #registry = new Registry();
  readonly #health = new HealthBook();
  readonly #supervisors = new Map<string, Supervisor>();
  #nextId = 1;
  #activeCount = 0;
  #ready: Instance[] = [];
  #flushQueued = false;
  #quietWaiters: (() => void)[] = [];
  #shutdown: Promise<void> | undefined;
  readonly #unwatch: (() => void) | undefined;

  constructor(options: SystemOptions) {
    const bad = (what: string, value: unknown): never => {
      throw fail.badOption(what, value);
    };
    this.clock = options.clock ?? realClock;
    this.deadlines = new Deadlines(this.clock, expireCall);
    this.random = options.random ?? Math.random;
    this.callTimeoutMs = options.callTimeoutMs ?? 5000;
    this.mailboxLimit = options.mailboxLimit ?? 1000;
    this.terminateTimeoutMs = options.terminateTimeoutMs ?? 5000;
    checkDuration(this.callTimeoutMs, 'callTimeoutMs to be a positive number of ms', bad);
    checkDuration(this.terminateTimeoutMs, 'terminateTimeoutMs to be a positive number of ms', bad);
    if (!(Number.isInteger(this.mailboxLimit) && this.mailboxLimit > 0)) bad('mailboxLimit to be a positive integer', this.mailboxLimit);
    this.root = this.supervisor('root', options.supervisor);
    this.#unwatch = this.clock.watch?.(() => this.#activeCount > 0);
  }

  get status(): SystemPhase {
    return PHASE_NAMES[this.phase]!;
  }

  // ---- supervisors ---------------------------------------------------------------------------

  supervisor(name: string, options: SupervisorOptions = {}): Supervisor {
    const existing = this.#supervisors.get(name);
    if (existing !== undefined) return existing;
    const sup = new Supervisor(name, options, this, this.#health);
    this.#supervisors.set(name, sup);
    return sup;
  }

  // ---- starting and addressing ---------------------------------------------------------------

  startOrGet<S, C, R, K, I, A>(
    type: ServerType<S, C, R, K, I, A>,
    key: string,
    ...[options]: StartArgs<A>
  ): Promise<InstanceRef<C, R, K, I>> {
    return this.#startWhenFree(type, key, options?.supervisor ?? this.root, options?.arg) as unknown as Promise<InstanceRef<C, R, K, I>>;
  }

  /** Starts or finds the key; when its instance is stopping, waits for it to be gone first. */
  #startWhenFree(type: AnyServerType, key: string, owner: Supervisor, arg: unknown): Promise<Instance> {
    let inst: Instance;
    try {
      inst = this.resolve(type, key, owner, arg);
    } catch (error) {
      return Promise.reject(error);
    }
    if (inst.alive) return inst.whenReady();
    return inst.whenStopped().then(() => this.#startWhenFree(type, key, owner, arg));
  }

  ref<S, C, R, K, I, A>(type: ServerType<S, C, R, K, I, A>, key: string, ...[options]: StartArgs<A>): LazyRefApi<C, R, K, I> {
    this.#registry.keysOf(type);
    const lazy = new LazyRef(this, type, key, options?.supervisor ?? this.root, options?.arg);
    return lazy as unknown as LazyRefApi<C, R, K, I>;
  }

  lookup<S, C, R, K, I, A>(type: ServerType<S, C, R, K, I, A>, key: string): InstanceRef<C, R, K, I> | undefined {
    const inst = this.#registry.get(type, key);
    return inst !== undefined && inst.status === RUNNING && inst.alive
      ? (inst as unknown as InstanceRef<C, R, K, I>)
      : undefined;
  }

  /** @internal See {@link Activator.resolve}. */
  resolve(type: AnyServerType, key: string, owner: Supervisor, arg: unknown): Instance {
    if (typeof key !== 'string') throw fail.badOption(`a string key for ${type.name}`, key);
    const keys = this.#registry.keysOf(type);
    const current = keys.get(key);
    if (current !== undefined) {
      if (current.alive) return current;
      if (this.phase !== PHASE_RUNNING) throw fail.shuttingDown(type.name, key);
      return current;
    }
    if (this.phase !== PHASE_RUNNING) throw fail.shuttingDown(type.name, key);
    const now = this.clock.now();
    const until = this.#health.quarantinedUntil(type, key, now);
    if (until !== 0) throw fail.quarantined(type.name, key, until, now);
    owner.checkCapacity(type, key);
    const health = this.#health.get(type, key);
    const inst = new Instance(this, type, key, this.#nextId++, owner, arg, STARTING, 0, health?.lastError);
    keys.set(key, inst);
    owner.children++;
    inst.kick();
    return inst;
  }

  /** @internal See {@link SupervisionHost.respawn}. */
  respawn(
    type: AnyServerType,
    key: string,
    owner: Supervisor,
    arg: unknown,
    restarts: number,
    lastError: unknown,
    delayMs: number,
  ): void {
    const status = delayMs > 0 ? BACKOFF : STARTING;
    const inst = new Instance(this, type, key, this.#nextId++, owner, arg, status, restarts, lastError);
    this.#registry.add(inst);
    owner.children++;
    if (delayMs > 0) inst.armBackoff(delayMs);
    else inst.kick();
  }

  /** @internal */
  has(type: AnyServerType, key: string): boolean {
    return this.#registry.get(type, key) !== undefined;
  }

  /** @internal */
  accepting(): boolean {
    return this.phase === PHASE_RUNNING;
  }

  // ---- stopping and monitoring ---------------------------------------------------------------

  stop(target: MonitorTarget, reason?: Reason): Promise<void>;
  stop(type: AnyServerType, key: string, reason?: Reason): Promise<void>;
  stop(
    target: MonitorTarget | AnyServerType,
    keyOrReason?: string | 'normal' | 'shutdown' | StopReason,
    maybeReason?: 'normal' | 'shutdown' | StopReason,
  ): Promise<void> {
    const byKey = !isRef(target);
    const inst = this.#instanceOf(target, byKey ? (keyOrReason as string) : undefined);
    if (inst === undefined) return Promise.resolve();
    const request = (byKey ? maybeReason : (keyOrReason as 'normal' | 'shutdown' | StopReason | undefined)) ?? 'normal';
    if (inst.stopReason === undefined) inst.stopRequested = true;
    inst.requestStop(toStopReason(request));
    return inst.whenStopped();
  }

  monitor(target: MonitorTarget, listener: Listener): () => void;
  monitor(type: AnyServerType, key: string, listener: Listener): () => void;
  monitor(
    target: MonitorTarget | AnyServerType,
    keyOrListener: string | ((reason: DownReason) => void),
    maybeListener?: (reason: DownReason) => void,
  ): () => void {
    const byKey = typeof keyOrListener === 'string';
    const listener = (byKey ? maybeListener : keyOrListener) as (reason: DownReason) => void;
    if (typeof listener !== 'function') throw fail.badOption('a monitor listener function', listener);
    const inst = this.#instanceOf(target, byKey ? keyOrListener : undefined);
    if (inst !== undefined) return inst.monitor(listener);
    let cancelled = false;
    queueMicrotask(() => {
      if (cancelled) return;
      try {
        listener({ kind: 'noproc' });
      } catch (error) {
        this.events.reportListenerError(error);
      }
    });
    return () => {
      cancelled = true;
    };
  }

  #instanceOf(target: MonitorTarget | AnyServerType, key: string | undefined): Instance | undefined {
    if (target instanceof Instance) return target;
    if (target instanceof LazyRef) return this.#registry.get(target.spec, target.key);
    if (key !== undefined && !isRef(target)) return this.#registry.get(target as AnyServerType, key);
    throw fail.badOption('an instance ref, a lazy ref, or a server type and key', target);
  }

  // ---- events and introspection --------------------------------------------------------------

  on<E extends ActorEventName>(event: E, listener: ActorEventListener<E>): () => void {
    return this.events.on(event, listener);
  }

  snapshot(): ServerInfo[] {
    const now = this.clock.now();
    const out: ServerInfo[] = [];
    for (const inst of this.#registry.all()) {
      const running = inst.status === RUNNING || (inst.initialized && inst.startedAt > 0);
      const info: ServerInfo = {
        type: inst.spec.name,
        key: inst.key,
        id: inst.id,
        status: STATUS_NAMES[inst.status] ?? 'stopped',
        supervisor: inst.owner.name,
        queueLength: inst.queued,
        pendingReplies: inst.deferred?.size ?? 0,
        uptimeMs: running ? now - inst.startedAt : 0,
        idleMs: running ? now - inst.lastActivity : 0,
        restarts: inst.restarts,
        timers: inst.timerCount(),
      };
      if (inst.lastError !== undefined) info.lastError = errorMessage(inst.lastError);
      out.push(info);
    }
    for (const health of this.#health.all()) {
      if (health.until <= now) continue;
      const info: ServerInfo = {
        type: health.type.name,
        key: health.key,
        id: 0,
        status: 'quarantined',
        supervisor: health.owner.name,
        queueLength: 0,
        pendingReplies: 0,
        uptimeMs: 0,
        idleMs: 0,
        restarts: health.times.length,
        timers: 0,
        untilMs: health.until,
      };
      if (health.lastError !== undefined) info.lastError = errorMessage(health.lastError);
      out.push(info);
    }
    return out;
  }

  async settle(): Promise<void> {
    for (;;) {
      if (this.#activeCount > 0) {
        await new Promise<void>((resolve) => this.#quietWaiters.push(resolve));
        continue;
      }
      // Give promise chains that end in a new message one macrotask turn to get there.
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (this.#activeCount === 0) return;
    }
  }

  // ---- shutdown ------------------------------------------------------------------------------

  shutdown(options: ShutdownOptions = {}): Promise<void> {
    this.#shutdown ??= this.#runShutdown(options.drainMs ?? 5000);
    return this.#shutdown;
  }

  async #runShutdown(drainMs: number): Promise<void> {
    this.phase = PHASE_DRAINING;
    this.#health.clear(this.clock);
    for (const inst of [...this.#registry.all()]) {
      // Waiting out a backoff, it has no state to drain into; its queued calls learn why now.
      if (inst.status === BACKOFF) this.#stopForShutdown(inst);
    }
    await this.#within(drainMs, this.settle());
    this.phase = PHASE_STOPPING;
    const all = [...this.#registry.all()];
    const gone = Promise.all(all.map((inst) => this.#stopForShutdown(inst)));
    // terminate is bounded per server; the extra bound covers a turn that never returns.
    const finished = await this.#within(this.terminateTimeoutMs * 2, gone);
    if (!finished) for (const inst of all) inst.kill(SHUTDOWN);
    this.phase = PHASE_DOWN;
    this.deadlines.release();
    this.#unwatch?.();
  }

  #stopForShutdown(inst: Instance): Promise<void> {
    if (inst.stopReason === undefined) inst.stopRequested = true;
    inst.requestStop(SHUTDOWN);
    return inst.whenStopped();
  }

  /** Waits for `work` for at most `ms` of clock time; true when it finished in time. */
  async #within(ms: number, work: Promise<unknown>): Promise<boolean> {
    let timer: TimerHandle | undefined;
    const timeout = new Promise<boolean>((resolve) => {
      timer = this.clock.setTimer(ms, resolve, false, true);
    });
    try {
      return await Promise.race([work.then(() => true), timeout]);
    } finally {
      if (timer !== undefined) this.clock.clearTimer(timer);
    }
  }

  // ---- Host: called by instances -------------------------------------------------------------

  /** @internal */
  schedule(inst: Instance): void {
    this.#activeCount++;
    this.#ready.push(inst);
    if (this.#flushQueued) return;
    this.#flushQueued = true;
    queueMicrotask(this.#flush);
  }

  // One microtask runs every instance that got work since the last one.
  readonly #flush = (): void => {
    const ready = this.#ready;
    this.#ready = [];
    this.#flushQueued = false;
    for (const inst of ready) currentServer.run(inst, runDrain, inst);
  };

  /** @internal */
  drained(_inst: Instance): void {
    this.#activeCount--;
    if (this.#activeCount !== 0 || this.#quietWaiters.length === 0) return;
    const waiters = this.#quietWaiters;
    this.#quietWaiters = [];
    for (const wake of waiters) wake();
  }

  /** @internal */
  started(inst: Instance): void {
    if (this.events.has('started')) {
      this.events.emit('started', { type: inst.spec.name, key: inst.key, id: inst.id, restarts: inst.restarts });
    }
  }

  /** @internal */
  stopped(inst: Instance, reason: StopReason, droppedCasts: number): void {
    this.#registry.remove(inst);
    const owner = inst.owner as Supervisor;
    owner.children--;
    const events = this.events;
    if (reason.kind === 'crash' && events.has('crashed')) {
      events.emit('crashed', { type: inst.spec.name, key: inst.key, id: inst.id, error: reason.error, droppedCasts });
    }
    if (events.has('stopped')) {
      const uptimeMs = inst.startedAt > 0 ? this.clock.now() - inst.startedAt : 0;
      events.emit('stopped', { type: inst.spec.name, key: inst.key, id: inst.id, reason, uptimeMs });
    }
    if (!inst.stopRequested) owner.childExited(inst, reason);
  }
}

function runDrain(inst: Instance): void {
  // drain() never rejects; the promise is dropped on purpose.
  void inst.drain();
}

function isRef(value: unknown): boolean {
  return value instanceof Instance || value instanceof LazyRef;
}

