/**
 * The subscriber set both adapters share: a throwing listener is reported, never allowed to
 * break a commit path or starve the other listeners.
 */
import type { StoreEvent, StoreListener } from './types.js';

export class Listeners {
  readonly #listeners = new Set<StoreListener>();
  readonly #onError: (err: unknown) => void;

  constructor(onError: (err: unknown) => void) {
    this.#onError = onError;
  }

  get size(): number {
    return this.#listeners.size;
  }

  add(listener: StoreListener): () => void {
    // Wrapped so that subscribing the same function twice yields two independent subscriptions.
    const entry: StoreListener = (event) => listener(event);
    this.#listeners.add(entry);
    return () => {
      this.#listeners.delete(entry);
    };
  }

  emit(event: StoreEvent): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener(event);
      } catch (err) {
        this.#onError(err);
      }
    }
  }

  clear(): void {
    this.#listeners.clear();
  }
}
