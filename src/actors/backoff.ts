/** Exponential backoff with jitter, for restarts. */

export interface BackoffOptions {
  /** Delay before the first restart. */
  minMs: number;
  /** Cap on any delay. */
  maxMs: number;
  /** Spread as a fraction of the delay: 0.2 means ±20%. */
  jitter: number;
}

export const DEFAULT_BACKOFF: Readonly<BackoffOptions> = Object.freeze({ minMs: 100, maxMs: 30_000, jitter: 0.2 });

/**
 * The delay before restart number `attempt` (1-based): `minMs · 2^(attempt-1)` capped at
 * `maxMs`, then spread by ±`jitter` using `random()` in [0, 1), and kept within [0, maxMs]
 * so a jittered delay never exceeds the cap.
 */
export function backoffDelay(attempt: number, options: BackoffOptions, random: () => number): number {
  // Capped so 2^exponent stays finite (0 · Infinity would be NaN); the cap on the delay wins long before.
  const exponent = Math.min(64, Math.max(0, attempt - 1));
  const base = Math.min(options.maxMs, options.minMs * 2 ** exponent);
  const spread = base * options.jitter * (2 * random() - 1);
  return Math.min(options.maxMs, Math.max(0, Math.round(base + spread)));
}
