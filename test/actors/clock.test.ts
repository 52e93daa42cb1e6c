import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { createManualClock, realClock } from '../../src/actors/clock.js';

describe('createManualClock', () => {
  it('does not move unless advanced, and starts where it is told', () => {
    const clock = createManualClock(1000);
    assert.equal(clock.now(), 1000);
    clock.setTimer(10, () => assert.fail('fired without advance'), undefined);
    assert.equal(clock.now(), 1000);
    assert.equal(clock.pending(), 1);
  });

  it('fires due timers in time order, ties in the order they were set, with now at their due time', async () => {
    const clock = createManualClock();
    const seen: [string, number][] = [];
    const note = (name: string) => seen.push([name, clock.now()]);
    clock.setTimer(30, note, 'c');
    clock.setTimer(10, note, 'a1');
    clock.setTimer(10, note, 'a2');
    clock.setTimer(20, note, 'b');
    clock.setTimer(31, note, 'late');
    await clock.advance(30);
    assert.deepEqual(seen, [
      ['a1', 10],
      ['a2', 10],
      ['b', 20],
      ['c', 30],
    ]);
    assert.equal(clock.now(), 30);
    assert.equal(clock.pending(), 1);
  });

  it('fires a timer set by a firing timer within the same advance when it falls due', async () => {
    const clock = createManualClock();
    const seen: number[] = [];
    const again = () => {
      seen.push(clock.now());
      if (seen.length < 5) clock.setTimer(10, again, undefined);
    };
    clock.setTimer(10, again, undefined);
    await clock.advance(35);
    assert.deepEqual(seen, [10, 20, 30]);
    await clock.advance(100);
    assert.deepEqual(seen, [10, 20, 30, 40, 50]);
  });

  it('never fires a cleared timer', async () => {
    const clock = createManualClock();
    const handle = clock.setTimer(5, () => assert.fail('cleared timer fired'), undefined);
    clock.clearTimer(handle);
    assert.equal(clock.pending(), 0);
    await clock.advance(10);
  });

  it('lets promise chains started by a timer finish before the next timer fires', async () => {
    const clock = createManualClock();
    const seen: string[] = [];
    clock.setTimer(1, () => {
      void Promise.resolve()
        .then(() => Promise.resolve())
        .then(() => seen.push('chain of the first'));
    }, undefined);
    clock.setTimer(2, () => seen.push('second'), undefined);
    await clock.advance(2);
    assert.deepEqual(seen, ['chain of the first', 'second']);
  });

  it('waits for watchers to report idle between timers, but not forever', async () => {
    const clock = createManualClock(0, 20);
    let busyUntil = 0;
    let polled = 0;
    clock.watch!(() => {
      polled++;
      return polled < busyUntil;
    });
    busyUntil = 5;
    await clock.advance(1);
    assert.ok(polled >= 5);
    busyUntil = Number.POSITIVE_INFINITY;
    polled = 0;
    clock.setTimer(1, () => {}, undefined);
    await clock.advance(1);
    // Three waits (before time moves, after the timer, at the end), each giving up after 20 turns.
    assert.equal(polled, 60);
  });

  it('moves to the next timer with advanceToNext and says when there is none', async () => {
    const clock = createManualClock();
    let fired = 0;
    clock.setTimer(250, () => fired++, undefined);
    assert.equal(await clock.advanceToNext(), true);
    assert.equal(clock.now(), 250);
    assert.equal(fired, 1);
    assert.equal(await clock.advanceToNext(), false);
  });

  it('refuses a negative advance and a second advance running at once', async () => {
    const clock = createManualClock();
    await assert.rejects(clock.advance(-1), RangeError);
    const first = clock.advance(1);
    await assert.rejects(clock.advance(1), /while another advance/);
    await first;
  });

  it('fires any set of timers in (due, insertion) order', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 0, max: 50 }), { maxLength: 40 }), async (delays) => {
        const clock = createManualClock();
        const fired: number[] = [];
        for (const [i, d] of delays.entries()) clock.setTimer(d, (n: number) => fired.push(n), i);
        await clock.advance(50);
        const expected = delays.map((d, i) => [d, i] as const).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
        assert.deepEqual(fired, expected.map(([, i]) => i));
      }),
      { numRuns: 60 },
    );
  });
});

describe('realClock', () => {
  it('fires a timer with its argument and never fires a cleared one', async () => {
    const start = realClock.now();
    const value = await new Promise<string>((resolve) => {
      realClock.setTimer(5, resolve, 'fired', true);
    });
    assert.equal(value, 'fired');
    assert.ok(realClock.now() - start >= 4);
    let late = false;
    const handle = realClock.setTimer(1, () => {
      late = true;
    }, undefined);
    realClock.clearTimer(handle);
    await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(late, false);
  });
});
