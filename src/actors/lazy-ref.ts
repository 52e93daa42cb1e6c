/**
 * A reference to a key rather than to an instance, in the spirit of Orleans' virtual actors:
 * the key is always addressable, and the first message activates it. This is what request
 * handlers should hold, since the instance behind a key comes and goes (idle stops, restarts).
 *
 * A message is resolved to an instance and queued in one synchronous step, so the instance
 * cannot stop in between. When the instance found is already stopping, the message waits for
 * it to be gone, then resolves the key again (once more if that one is stopping too), still
 * resolving and queueing in one step; messages from one sender keep their order throughout.
 */
import type { Clock } from './clock.js';
import type { Deadlines } from './deadlines.js';
import type { EventBus } from './events.js';
import * as fail from './failures.js';
import { CallEnvelope, type Instance, type Owner, rejectCall } from './instance.js';
import type { AnyServerType, CallOptions, LazyRef as LazyRefApi } from './types.js';

/** What a lazy ref needs from its system. */
export interface Activator {
  readonly clock: Clock;
  readonly deadlines: Deadlines;
  readonly events: EventBus;
  readonly callTimeoutMs: number;
  /**
   * The key's registered instance, activated if absent. It may be stopping (then not `alive`):
   * a stopping instance is never handed a message. Throws when the key cannot be activated.
   */
  resolve(type: AnyServerType, key: string, owner: Owner, arg: unknown): Instance;
}

/** How many stopping instances a cast waits out before it is reported as dropped. */
const MAX_WAITS = 2;

export class LazyRef implements LazyRefApi<unknown, unknown, unknown, unknown> {
  readonly lazy = true as const;
  readonly spec: AnyServerType;
  readonly key: string;
  readonly #system: Activator;
  readonly #owner: Owner;
  readonly #arg: unknown;

  constructor(system: Activator, spec: AnyServerType, key: string, owner: Owner, arg: unknown) {
    this.#system = system;
    this.spec = spec;
    this.key = key;
    this.#owner = owner;
    this.#arg = arg;
  }

  get type(): string {
    return this.spec.name;
  }

  call(msg: unknown, options?: CallOptions): Promise<unknown> {
    let inst: Instance;
    try {
      inst = this.#resolve();
    } catch (error) {
      return Promise.reject(error);
    }
    if (inst.alive) return inst.call(msg, options);
    // The key's instance is stopping: the caller's deadline starts now, not once it is gone.
    const system = this.#system;
    const ms = options?.timeoutMs ?? this.spec.callTimeoutMs ?? system.callTimeoutMs;
    if (!(ms > 0)) return Promise.reject(fail.badOption('call timeoutMs to be a positive number of ms (or Infinity)', ms));
    const env = new CallEnvelope(msg, this.spec.name, this.key, ms, system.clock.now(), system.events);
    env.watch(system.deadlines);
    this.#callAfterStop(env, inst, MAX_WAITS);
    return env.promise;
  }

  #callAfterStop(env: CallEnvelope, stopping: Instance, waits: number): void {
    void stopping.whenStopped().then(() => {
      if (env.settled) return;
      let inst: Instance;
      try {
        inst = this.#resolve();
      } catch (error) {
        rejectCall(env, error);
        return;
      }
      if (inst.alive || waits <= 1) inst.deliverCall(env);
      else this.#callAfterStop(env, inst, waits - 1);
    });
  }

  cast(msg: unknown): boolean {
    return this.#post(msg, true);
  }

  send(msg: unknown): boolean {
    return this.#post(msg, false);
  }

  /**
   * Casts and sends return at once. When the key's instance is still stopping, the message is
   * accepted and delivered once the next one is up; if that fails it is reported as
   * `messageDropped`, never thrown.
   */
  #post(msg: unknown, isCast: boolean): boolean {
    const handler = isCast ? 'handleCast' : 'handleInfo';
    if (this.spec[handler] === undefined) throw fail.missingHandler(this.spec.name, handler);
    let inst: Instance;
    try {
      inst = this.#resolve();
    } catch {
      return false;
    }
    if (inst.alive) return isCast ? inst.cast(msg) : inst.send(msg);
    this.#postAfterStop(msg, isCast, inst, MAX_WAITS);
    return true;
  }

  #postAfterStop(msg: unknown, isCast: boolean, stopping: Instance, waits: number): void {
    void stopping.whenStopped().then(() => {
      let inst: Instance;
      try {
        inst = this.#resolve();
      } catch (error) {
        this.#dropped(error);
        return;
      }
      if (!inst.alive && waits > 1) {
        this.#postAfterStop(msg, isCast, inst, waits - 1);
        return;
      }
      if (!(isCast ? inst.cast(msg) : inst.send(msg))) this.#dropped(inst.refusal(undefined) ?? fail.mailboxFull(this.spec.name, this.key, inst.limit()));
    });
  }

  #resolve(): Instance {
    return this.#system.resolve(this.spec, this.key, this.#owner, this.#arg);
  }

  #dropped(error: unknown): void {
    const events = this.#system.events;
    if (events.has('messageDropped')) events.emit('messageDropped', { type: this.spec.name, key: this.key, error });
  }
}
