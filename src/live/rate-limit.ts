/**
 * A token bucket: `burst` events at once, refilled at `perSecond`. One per socket, so a
 * flooding client slows only itself. Time comes from an injected clock so tests are exact.
 */
export interface RateLimitOptions {
  /** Events allowed at once (bucket size). */
  burst: number;
  /** Sustained events per second (refill rate). */
  perSecond: number;
  /** Milliseconds since any fixed origin; `performance.now` by default. */
  now?: () => number;
}

/** The default clock, one function for every bucket rather than a closure each. */
const performanceNow = (): number => performance.now();

/** Throws a RangeError unless `options` describe a bucket that can admit anything. */
export function checkRateLimit(options: Pick<RateLimitOptions, 'burst' | 'perSecond'>): void {
  if (!(options.burst >= 1) || !(options.perSecond > 0)) {
    throw new RangeError(`expected burst >= 1 and perSecond > 0, got burst ${options.burst} and perSecond ${options.perSecond}`);
  }
}

export class TokenBucket {
  readonly #burst: number;
  readonly #perMs: number;
  readonly #now: () => number;
  #tokens: number;
  #last: number;

  constructor(options: RateLimitOptions) {
    checkRateLimit(options);
    this.#burst = options.burst;
    this.#perMs = options.perSecond / 1000;
    this.#now = options.now ?? performanceNow;
    this.#tokens = options.burst;
    this.#last = this.#now();
  }

  /** Takes one token; `false` when the bucket is empty (the event must be refused). */
  take(): boolean {
    const now = this.#now();
    const elapsed = Math.max(0, now - this.#last);
    this.#last = now;
    this.#tokens = Math.min(this.#burst, this.#tokens + elapsed * this.#perMs);
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  /**
   * Whether the bucket has refilled to its burst: then it admits exactly what a new bucket
   * would, so its owner may drop it and make a new one when it next needs one.
   */
  get full(): boolean {
    return this.#tokens + Math.max(0, this.#now() - this.#last) * this.#perMs >= this.#burst;
  }

  /** Tokens currently available (fractional). */
  get available(): number {
    return this.#tokens;
  }
}
