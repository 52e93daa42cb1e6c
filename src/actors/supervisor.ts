/**
 * A dynamic, one-for-one supervisor: decides whether a stopped server starts again, when,
 * and when a key has crashed so often that it is quarantined instead. One key's crashes never
 * affect another key, and nothing here can take the process down.
 */
import { type BackoffOptions, DEFAULT_BACKOFF, backoffDelay } from './backoff.js';
import type { Clock, TimerHandle } from './clock.js';
import { checkDuration } from './define-server.js';
import type { EventBus } from './events.js';
import * as fail from './failures.js';
import type { Instance, Owner } from './instance.js';
import type { AnyServerType, StopReason } from './types.js';

export interface SupervisorOptions {
  /** Restarts allowed per key within `maxSeconds` before the key is quarantined. Default 3. */
  maxRestarts?: number;
  /** The restart-intensity window. Default 5. */
  maxSeconds?: number;
  /** Delay before each restart of a key, growing with the restarts in the window. */
  backoff?: Partial<BackoffOptions>;
  /** How long a quarantined key refuses work. Default 60,000 ms. */
  quarantineMs?: number;
  /** Most live children (running, starting or waiting out a backoff); beyond it starts fail. */
  maxChildren?: number;
}

/** What a supervisor needs from its system. */
export interface SupervisionHost {
  readonly clock: Clock;
  readonly events: EventBus;
  readonly random: () => number;
  /** True while the system takes new work (restarts are pointless during a shutdown). */
  accepting(): boolean;
  /** Registers a new instance for the key, starting after `delayMs` (at once when 0). */
  respawn(type: AnyServerType, key: string, owner: Supervisor, arg: unknown, restarts: number, lastError: unknown, delayMs: number): void;
  /** True when an instance of the key is registered. */
  has(type: AnyServerType, key: string): boolean;
}

/** Recent restarts of one key; exists only for keys that crashed within their window. */
export interface KeyHealth {
  readonly type: AnyServerType;
  readonly key: string;
  /** Clock times of the restarts (or crashes) counted in the current window. */
  times: number[];
  /** End of the quarantine; 0 when not quarantined. */
  until: number;
  timer: TimerHandle | undefined;
  owner: Supervisor;
  /** Kept during a quarantine so the key can start again with its original argument. */
  arg: unknown;
  restartAfter: boolean;
  lastError: unknown;
}

/**
 * Health records of every key that crashed recently, shared by the supervisors of a system so
 * a key keeps its record whichever supervisor starts it.
 */
export class HealthBook {
  readonly #byType = new Map<AnyServerType, Map<string, KeyHealth>>();

  get(type: AnyServerType, key: string): KeyHealth | undefined {
    return this.#byType.get(type)?.get(key);
  }

  getOrCreate(type: AnyServerType, key: string, owner: Supervisor): KeyHealth {
    let keys = this.#byType.get(type);
    if (keys === undefined) {
      keys = new Map();
      this.#byType.set(type, keys);
    }
    let health = keys.get(key);
    if (health === undefined) {
      health = { type, key, times: [], until: 0, timer: undefined, owner, arg: undefined, restartAfter: false, lastError: undefined };
      keys.set(key, health);
    }
    return health;
  }

  delete(health: KeyHealth, clock: Clock): void {
    if (health.timer !== undefined) clock.clearTimer(health.timer);
    health.timer = undefined;
    const keys = this.#byType.get(health.type);
    if (keys?.get(health.key) !== health) return;
    keys.delete(health.key);
    if (keys.size === 0) this.#byType.delete(health.type);
  }

  /** The end of the key's quarantine, or 0. */
  quarantinedUntil(type: AnyServerType, key: string, now: number): number {
    const health = this.get(type, key);
    return health !== undefined && health.until > now ? health.until : 0;
  }

  *all(): IterableIterator<KeyHealth> {
    for (const keys of this.#byType.values()) yield* keys.values();
  }

  /** Cancels every timer and forgets every record (at shutdown). */
  clear(clock: Clock): void {
    for (const health of [...this.all()]) this.delete(health, clock);
  }
}

export class Supervisor implements Owner {
  readonly name: string;
  readonly maxRestarts: number;
  readonly maxSeconds: number;
  readonly backoff: Readonly<BackoffOptions>;
  readonly quarantineMs: number;
  readonly maxChildren: number;
  /** Live children: running, starting, stopping or waiting out a backoff. */
  children = 0;
  readonly #host: SupervisionHost;
  readonly #book: HealthBook;

  constructor(name: string, options: SupervisorOptions, host: SupervisionHost, book: HealthBook) {
    const bad = (what: string, value: unknown): never => {
      throw fail.badOption(`supervisor ${JSON.stringify(name)}: ${what}`, value);
    };
    const { maxRestarts = 3, maxSeconds = 5, quarantineMs = 60_000, maxChildren = Number.POSITIVE_INFINITY } = options;
    if (!(Number.isInteger(maxRestarts) && maxRestarts >= 0)) bad('maxRestarts to be an integer >= 0', maxRestarts);
    checkDuration(maxSeconds, 'maxSeconds to be a positive number', bad);
    checkDuration(quarantineMs, 'quarantineMs to be a positive number of ms', bad);
    if (!(maxChildren > 0)) bad('maxChildren to be a positive number', maxChildren);
    const backoff = { ...DEFAULT_BACKOFF, ...options.backoff };
    if (!(backoff.minMs >= 0)) bad('backoff.minMs to be >= 0', backoff.minMs);
    if (!(backoff.maxMs >= backoff.minMs)) bad('backoff.maxMs to be >= backoff.minMs', backoff.maxMs);
    if (!(backoff.jitter >= 0 && backoff.jitter <= 1)) bad('backoff.jitter to be within [0, 1]', backoff.jitter);
    this.name = name;
    this.maxRestarts = maxRestarts;
    this.maxSeconds = maxSeconds;
    this.backoff = Object.freeze(backoff);
    this.quarantineMs = quarantineMs;
    this.maxChildren = maxChildren;
    this.#host = host;
    this.#book = book;
  }

  /** Throws `ACTOR_UNAVAILABLE` when another child would exceed `maxChildren`. */
  checkCapacity(type: AnyServerType, key: string): void {
    if (this.children >= this.maxChildren) throw fail.atCapacity(type.name, key, this.name, this.maxChildren);
  }

  /**
   * Applies the restart policy to an instance that just stopped on its own (not one stopped on
   * purpose, nor during a shutdown): idle stops and clean stops of non-permanent servers end
   * there; crashes are counted per key, and one too many within the window quarantines it.
   */
  childExited(inst: Instance, reason: StopReason): void {
    if (reason.kind === 'idle' || !this.#host.accepting()) return;
    const restart = inst.spec.restart ?? 'transient';
    const crashed = reason.kind === 'crash';
    if (!crashed && restart !== 'permanent') return;
    const host = this.#host;
    const now = host.clock.now();
    const windowMs = this.maxSeconds * 1000;
    const health = this.#book.getOrCreate(inst.spec, inst.key, this);
    health.owner = this;
    health.lastError = inst.lastError;
    const times = health.times;
    while (times.length > 0 && times[0]! <= now - windowMs) times.shift();
    times.push(now);
    // A first activation whose init failed is not retried by us: its caller already has the
    // error, and the next message through a lazy ref tries again. It still counts.
    const firstStartFailed = crashed && !inst.initialized && inst.restarts === 0;
    const restartAfter = restart !== 'temporary' && !firstStartFailed;
    if (times.length > this.maxRestarts) {
      this.#quarantine(health, inst, restartAfter);
      return;
    }
    this.#expireLater(health, windowMs);
    if (!restartAfter) return;
    const delayMs = backoffDelay(times.length, this.backoff, host.random);
    if (host.events.has('restarting')) {
      host.events.emit('restarting', { type: inst.spec.name, key: inst.key, delayMs, attempt: inst.restarts + 1 });
    }
    host.respawn(inst.spec, inst.key, this, inst.arg, inst.restarts + 1, inst.lastError, delayMs);
  }

  #expireLater(health: KeyHealth, windowMs: number): void {
    const clock = this.#host.clock;
    if (health.timer !== undefined) clock.clearTimer(health.timer);
    health.timer = clock.setTimer(windowMs, onHealthExpired, { health, book: this.#book, clock });
  }

  #quarantine(health: KeyHealth, inst: Instance, restartAfter: boolean): void {
    const host = this.#host;
    const clock = host.clock;
    health.until = clock.now() + this.quarantineMs;
    health.arg = inst.arg;
    health.restartAfter = restartAfter;
    if (health.timer !== undefined) clock.clearTimer(health.timer);
    health.timer = clock.setTimer(this.quarantineMs, onQuarantineEnd, { health, book: this.#book, host });
    if (host.events.has('quarantined')) {
      host.events.emit('quarantined', {
        type: inst.spec.name,
        key: inst.key,
        crashes: health.times.length,
        untilMs: health.until,
      });
    }
  }
}

function onHealthExpired(ctx: { health: KeyHealth; book: HealthBook; clock: Clock }): void {
  ctx.health.timer = undefined;
  if (ctx.health.until === 0) ctx.book.delete(ctx.health, ctx.clock);
}

function onQuarantineEnd(ctx: { health: KeyHealth; book: HealthBook; host: SupervisionHost }): void {
  const { health, book, host } = ctx;
  health.timer = undefined;
  book.delete(health, host.clock);
  if (host.events.has('released')) host.events.emit('released', { type: health.type.name, key: health.key });
  // Like a very long backoff: a server that would have been restarted starts again, afresh.
  if (health.restartAfter && host.accepting() && !host.has(health.type, health.key)) {
    host.respawn(health.type, health.key, health.owner, health.arg, 0, health.lastError, 0);
  }
}
