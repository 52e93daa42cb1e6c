import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { backoffDelay } from '../../src/actors/backoff.js';

describe('backoffDelay', () => {
  const options = { minMs: 100, maxMs: 5000, jitter: 0 };

  it('doubles from minMs per attempt and stops at maxMs', () => {
    const delays = [1, 2, 3, 4, 5, 6, 7, 50, 10_000].map((n) => backoffDelay(n, options, Math.random));
    assert.deepEqual(delays, [100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000]);
  });

  it('spreads by ±jitter around the delay: random 0 gives the low end, near 1 the high end', () => {
    const jittery = { minMs: 1000, maxMs: 100_000, jitter: 0.2 };
    assert.equal(backoffDelay(1, jittery, () => 0), 800);
    assert.equal(backoffDelay(1, jittery, () => 0.5), 1000);
    assert.equal(backoffDelay(1, jittery, () => 0.999_999), 1200);
  });

  it('stays within [base·(1-jitter), min(maxMs, base·(1+jitter))] for any attempt and random', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2000 }),
        fc.integer({ min: 0, max: 10_000 }),
        fc.integer({ min: 0, max: 100_000 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 0.9999999, noNaN: true }),
        (attempt, minMs, extra, jitter, r) => {
          const maxMs = minMs + extra;
          const delay = backoffDelay(attempt, { minMs, maxMs, jitter }, () => r);
          const base = minMs === 0 ? 0 : Math.min(maxMs, minMs * 2 ** (attempt - 1));
          assert.ok(Number.isFinite(delay));
          assert.ok(delay >= Math.floor(base * (1 - jitter)) - 1, `${delay} below range for base ${base}`);
          assert.ok(delay <= maxMs, `${delay} above the cap ${maxMs}`);
        },
      ),
      { numRuns: 500 },
    );
  });
});
