/**
 * Which instance holds each key of each type. At most one instance per key is registered at
 * any time, from the moment it is created (before `init`) until it has fully stopped (after
 * `terminate`), so a second one can never start alongside. Node runs this on one thread, so
 * each check-and-set below is atomic without locks.
 */
import * as fail from './failures.js';
import type { Instance } from './instance.js';
import type { AnyServerType } from './types.js';

export class Registry {
  readonly #byType = new Map<AnyServerType, Map<string, Instance>>();
  readonly #typeByName = new Map<string, AnyServerType>();

  /** The instance registered for the key, whatever its status. */
  get(type: AnyServerType, key: string): Instance | undefined {
    return this.#byType.get(type)?.get(key);
  }

  /** Registers `inst`; the caller has checked that the key is free. */
  add(inst: Instance): void {
    this.keysOf(inst.spec).set(inst.key, inst);
  }

  /** Removes `inst` if it is still the one registered for its key. */
  remove(inst: Instance): void {
    const keys = this.#byType.get(inst.spec);
    if (keys?.get(inst.key) === inst) keys.delete(inst.key);
  }

  /**
   * The key map of a type, created on first use. Two different types may not share a name:
   * logs, events and snapshots would not tell them apart.
   */
  keysOf(type: AnyServerType): Map<string, Instance> {
    let keys = this.#byType.get(type);
    if (keys !== undefined) return keys;
    const named = this.#typeByName.get(type.name);
    if (named !== undefined && named !== type) {
      throw fail.badOption(`one server type per name, but ${JSON.stringify(type.name)} is already used by another definition`, type.name);
    }
    keys = new Map();
    this.#byType.set(type, keys);
    this.#typeByName.set(type.name, type);
    return keys;
  }

  *all(): IterableIterator<Instance> {
    for (const keys of this.#byType.values()) yield* keys.values();
  }

  count(): number {
    let n = 0;
    for (const keys of this.#byType.values()) n += keys.size;
    return n;
  }
}
