import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { TokenBucket } from '../../src/live/rate-limit.js';

describe('TokenBucket', () => {
  it('allows a burst, then refuses until it refills', () => {
    let now = 0;
    const bucket = new TokenBucket({ burst: 3, perSecond: 2, now: () => now });
    assert.deepEqual([bucket.take(), bucket.take(), bucket.take(), bucket.take()], [true, true, true, false]);
    now += 499;
    assert.equal(bucket.take(), false);
    now += 1;
    assert.equal(bucket.take(), true);
    assert.equal(bucket.take(), false);
  });

  it('never holds more than its burst, however long it idles', () => {
    let now = 0;
    const bucket = new TokenBucket({ burst: 2, perSecond: 10, now: () => now });
    now += 60_000;
    assert.deepEqual([bucket.take(), bucket.take(), bucket.take()], [true, true, false]);
  });

  it('admits at most burst + rate × time events over any schedule', () => {
    fc.assert(
      fc.property(fc.array(fc.nat({ max: 300 }), { minLength: 1, maxLength: 300 }), (gaps) => {
        let now = 0;
        const bucket = new TokenBucket({ burst: 5, perSecond: 10, now: () => now });
        let admitted = 0;
        for (const gap of gaps) {
          now += gap;
          if (bucket.take()) admitted++;
        }
        assert.ok(admitted <= 5 + (now / 1000) * 10 + 1e-9);
      }),
      { numRuns: 300 },
    );
  });

  it('is full once it has refilled to its burst, and not before', () => {
    let now = 0;
    const bucket = new TokenBucket({ burst: 2, perSecond: 4, now: () => now });
    assert.equal(bucket.full, true);
    bucket.take();
    assert.equal(bucket.full, false);
    now += 249;
    assert.equal(bucket.full, false);
    now += 1;
    assert.equal(bucket.full, true);
  });

  it('admits, whenever it is full, exactly what a new bucket would', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat({ max: 700 }), fc.boolean()), { minLength: 1, maxLength: 200 }), (steps) => {
        let now = 0;
        const clock = () => now;
        const kept = new TokenBucket({ burst: 3, perSecond: 5, now: clock });
        let replaced = new TokenBucket({ burst: 3, perSecond: 5, now: clock });
        for (const [gap, replaceIfFull] of steps) {
          now += gap;
          if (replaceIfFull && replaced.full) replaced = new TokenBucket({ burst: 3, perSecond: 5, now: clock });
          assert.equal(replaced.take(), kept.take());
        }
      }),
      { numRuns: 300 },
    );
  });

  it('refuses nonsensical limits', () => {
    assert.throws(() => new TokenBucket({ burst: 0, perSecond: 1 }), RangeError);
    assert.throws(() => new TokenBucket({ burst: 1, perSecond: 0 }), RangeError);
  });
});
