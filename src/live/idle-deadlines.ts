/**
 * Idle deadlines for many keys that share one timeout (the sockets of one server): one
 * ordered map and one timer for the earliest deadline, instead of a Node timer per key. A
 * `Timeout` with its numbers and argument list is about 230 bytes per open socket; an entry
 * here is a few dozen.
 *
 * Every key has the same timeout, so a deadline set now is the latest of all: re-inserting
 * the key puts it at the end of the map, which keeps the map in deadline order without
 * sorting. The timer is armed for the first deadline; when it fires it expires every key
 * that is due, in order, and re-arms for the next one.
 */

/** The default clock: one function for every instance. */
const performanceNow = (): number => performance.now();

export class IdleDeadlines<K> {
  /** Key → deadline (ms on {@link #now}'s clock), in deadline order. */
  readonly #deadlines = new Map<K, number>();
  readonly #timeoutMs: number;
  readonly #onIdle: (key: K) => void;
  readonly #now: () => number;
  #timer: NodeJS.Timeout | null = null;

  /**
   * `onIdle` is called once for a key that was not touched for `timeoutMs`; the key is
   * forgotten first. The timer does not keep the process alive.
   */
  constructor(timeoutMs: number, onIdle: (key: K) => void, now: () => number = performanceNow) {
    this.#timeoutMs = timeoutMs;
    this.#onIdle = onIdle;
    this.#now = now;
  }

  /** Starts, or starts again, the idle time of `key`. */
  touch(key: K): void {
    const deadlines = this.#deadlines;
    deadlines.delete(key);
    // Whole milliseconds, so a deadline is a small integer rather than a boxed double.
    deadlines.set(key, Math.ceil(this.#now()) + this.#timeoutMs);
    if (this.#timer === null) this.#arm(this.#timeoutMs);
  }

  /** Forgets `key`: it will not be reported idle. */
  delete(key: K): void {
    const deadlines = this.#deadlines;
    if (!deadlines.delete(key) || deadlines.size > 0 || this.#timer === null) return;
    clearTimeout(this.#timer);
    this.#timer = null;
  }

  /** Keys being watched. */
  get size(): number {
    return this.#deadlines.size;
  }

  #arm(delayMs: number): void {
    // Never early: a timer due within the millisecond fires at the next one.
    this.#timer = setTimeout(IdleDeadlines.#expire, Math.max(1, Math.ceil(delayMs)), this);
    this.#timer.unref();
  }

  static #expire<K>(self: IdleDeadlines<K>): void {
    self.#timer = null;
    const now = self.#now();
    try {
      for (const [key, deadline] of self.#deadlines) {
        if (deadline > now) break;
        self.#deadlines.delete(key);
        self.#onIdle(key);
      }
    } finally {
      // Also after a throwing `onIdle`: the keys still waiting must expire in their turn.
      const next = self.#deadlines.values().next();
      if (next.done !== true && self.#timer === null) self.#arm(next.value - self.#now());
    }
  }
}
