/**
 * Publish/subscribe between views (and anything else in the process). The interface is
 * small on purpose so that a PostgreSQL `LISTEN/NOTIFY` implementation can stand in for
 * the local one when the app runs on several nodes: messages must then be JSON-safe.
 */

/** Called once per message published on a subscribed topic. */
export type PubSubListener = (message: unknown, topic: string) => void;

/** Removes one subscription; calling it twice is harmless. */
export type Unsubscribe = () => void;

export interface PubSub {
  /** Starts delivering messages published on `topic` to `listener`. */
  subscribe(topic: string, listener: PubSubListener): Unsubscribe;
  /**
   * Delivers `message` to every current subscriber of `topic`, asynchronously (never
   * inside the publisher's call stack) and in publish order per topic.
   */
  publish(topic: string, message: unknown): Promise<void>;
  /** Number of subscriptions on `topic` (for tests and introspection). */
  subscriberCount(topic: string): number;
}

/**
 * The in-process implementation. A listener that throws is isolated: the others still
 * receive the message and the error goes to `onListenerError`.
 */
export class LocalPubSub implements PubSub {
  readonly #topics = new Map<string, Set<PubSubListener>>();
  readonly #onListenerError: (err: unknown, topic: string) => void;

  constructor(options: { onListenerError?: (err: unknown, topic: string) => void } = {}) {
    this.#onListenerError = options.onListenerError ?? (() => {});
  }

  subscribe(topic: string, listener: PubSubListener): Unsubscribe {
    let set = this.#topics.get(topic);
    if (set === undefined) {
      set = new Set();
      this.#topics.set(topic, set);
    }
    // Wrapping makes each subscription distinct even when one listener subscribes twice.
    const entry: PubSubListener = (message, t) => listener(message, t);
    set.add(entry);
    return () => {
      const current = this.#topics.get(topic);
      if (current === undefined) return;
      current.delete(entry);
      if (current.size === 0) this.#topics.delete(topic);
    };
  }

  async publish(topic: string, message: unknown): Promise<void> {
    const set = this.#topics.get(topic);
    if (set === undefined) return;
    // Snapshot: subscribers added while delivering do not see this message.
    const listeners = [...set];
    await Promise.resolve();
    for (const listener of listeners) {
      if (!set.has(listener)) continue;
      try {
        listener(message, topic);
      } catch (err) {
        this.#onListenerError(err, topic);
      }
    }
  }

  subscriberCount(topic: string): number {
    return this.#topics.get(topic)?.size ?? 0;
  }
}
