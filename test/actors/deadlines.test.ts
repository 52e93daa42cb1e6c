import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createManualClock } from '../../src/actors/clock.js';
import { Deadlines, type Expiring, unwatch } from '../../src/actors/deadlines.js';

function item(name: string, deadline: number): Expiring & { name: string } {
  return { name, deadline, lane: undefined, lanePrev: undefined, laneNext: undefined };
}

const nameOf = (i: Expiring): string => (i as Expiring & { name: string }).name;

describe('Deadlines', () => {
  it('expires items when their deadline passes, lane by lane, in order', async () => {
    const clock = createManualClock();
    const expired: string[] = [];
    const deadlines = new Deadlines(clock, (i) => expired.push(`${nameOf(i)}@${clock.now()}`));
    deadlines.add(item('a', 100), 100);
    deadlines.add(item('short', 30), 30);
    await clock.advance(10);
    deadlines.add(item('b', 110), 100);
    await clock.advance(200);
    assert.deepEqual(expired, ['short@30', 'a@100', 'b@110']);
  });

  it('uses one timer per lane however many items it holds', () => {
    const clock = createManualClock();
    const deadlines = new Deadlines(clock, () => {});
    for (let i = 0; i < 100; i++) deadlines.add(item(`x${i}`, 5000), 5000);
    deadlines.add(item('y', 50), 50);
    assert.equal(clock.pending(), 2);
  });

  it('never expires an item that was unwatched, wherever it sat in its lane', async () => {
    const clock = createManualClock();
    const expired: string[] = [];
    const deadlines = new Deadlines(clock, (i) => expired.push(nameOf(i)));
    const items = ['a', 'b', 'c', 'd'].map((n) => item(n, 100));
    for (const i of items) deadlines.add(i, 100);
    unwatch(items[0]!);
    unwatch(items[2]!);
    unwatch(items[3]!);
    unwatch(items[3]!);
    await clock.advance(100);
    assert.deepEqual(expired, ['b']);
  });

  it('sleeps again until the new head is due when the head it was armed for is gone', async () => {
    const clock = createManualClock();
    const expired: string[] = [];
    const deadlines = new Deadlines(clock, (i) => expired.push(`${nameOf(i)}@${clock.now()}`));
    const first = item('first', 100);
    deadlines.add(first, 100);
    await clock.advance(60);
    deadlines.add(item('second', 160), 100);
    unwatch(first);
    await clock.advance(40);
    assert.deepEqual(expired, []);
    await clock.advance(60);
    assert.deepEqual(expired, ['second@160']);
  });

  it('releases the timers of empty lanes', () => {
    const clock = createManualClock();
    const deadlines = new Deadlines(clock, () => {});
    const a = item('a', 100);
    deadlines.add(a, 100);
    deadlines.add(item('b', 50), 50);
    unwatch(a);
    deadlines.release();
    assert.equal(clock.pending(), 1, 'only the lane that still holds an item keeps its timer');
  });
});
