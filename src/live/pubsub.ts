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
  /**
   * Like {@link publish}, except to the subscriptions of `from` (Phoenix's `broadcast_from`):
   * for a publisher acting for a subscriber that already has what the message says, such as
   * the tab whose change it is, which gets the result in its answer.
   */
  publishFrom(from: PubSubListener, topic: string, message: unknown): Promise<void>;
  /** Number of subscriptions on `topic` (for tests and introspection). */
  subscriberCount(topic: string): number;
}

/**
 * One subscription: its own record, so one listener subscribed twice is two subscriptions.
 * Cancelling clears `listener`, which is also how a delivery already under way skips it.
 */
interface Subscription {
  readonly owner: LocalPubSub;
  readonly topic: string;
  listener: PubSubListener | undefined;
}

/**
 * The in-process implementation. A listener that throws is isolated: the others still
 * receive the message and the error goes to `onListenerError`.
 *
 * A topic with one subscriber (a user with one open tab, the usual case) holds that
 * subscription directly, not in a set of one: every open tab pays for its topic's entry.
 */
export class LocalPubSub implements PubSub {
  readonly #topics = new Map<string, Subscription | Set<Subscription>>();
  readonly #onListenerError: (err: unknown, topic: string) => void;

  constructor(options: { onListenerError?: (err: unknown, topic: string) => void } = {}) {
    this.#onListenerError = options.onListenerError ?? (() => {});
  }

  /**
   * The one function every {@link Unsubscribe} runs, bound to its subscription, so a
   * subscription costs a record and a bound function rather than closures and their contexts.
   */
  static #cancel(this: Subscription): void {
    if (this.listener === undefined) return;
    this.listener = undefined;
    const topics = this.owner.#topics;
    const current = topics.get(this.topic);
    if (current === this) {
      topics.delete(this.topic);
    } else if (current instanceof Set) {
      current.delete(this);
      if (current.size === 1) topics.set(this.topic, current.values().next().value!);
    }
  }

  subscribe(topic: string, listener: PubSubListener): Unsubscribe {
    const subscription: Subscription = { owner: this, topic, listener };
    const current = this.#topics.get(topic);
    if (current === undefined) this.#topics.set(topic, subscription);
    else if (current instanceof Set) current.add(subscription);
    else this.#topics.set(topic, new Set([current, subscription]));
    return LocalPubSub.#cancel.bind(subscription);
  }

  publish(topic: string, message: unknown): Promise<void> {
    return this.#deliver(topic, message, undefined);
  }

  publishFrom(from: PubSubListener, topic: string, message: unknown): Promise<void> {
    return this.#deliver(topic, message, from);
  }

  async #deliver(topic: string, message: unknown, except: PubSubListener | undefined): Promise<void> {
    const current = this.#topics.get(topic);
    // No one to tell (a user with one tab making a change): no delivery turn at all.
    if (current === undefined || (!(current instanceof Set) && current.listener === except)) return;
    // Snapshot: subscribers added while delivering do not see this message.
    const subscriptions = current instanceof Set ? [...current] : [current];
    await Promise.resolve();
    for (const subscription of subscriptions) {
      // Cancelled since the publish: not delivered.
      const listener = subscription.listener;
      if (listener === undefined || listener === except) continue;
      try {
        listener(message, topic);
      } catch (err) {
        this.#onListenerError(err, topic);
      }
    }
  }

  subscriberCount(topic: string): number {
    const current = this.#topics.get(topic);
    if (current === undefined) return 0;
    return current instanceof Set ? current.size : 1;
  }
}
