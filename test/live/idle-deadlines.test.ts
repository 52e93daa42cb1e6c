import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { IdleDeadlines } from '../../src/live/idle-deadlines.js';

describe('IdleDeadlines', () => {
  it('reports a key idle once, after its timeout and not before, and forgets it', async () => {
    const idle: string[] = [];
    const deadlines = new IdleDeadlines<string>(100, (key) => idle.push(key));
    deadlines.touch('a');
    await sleep(20);
    assert.deepEqual(idle, []);
    await sleep(130);
    assert.deepEqual(idle, ['a']);
    assert.equal(deadlines.size, 0);
    await sleep(120);
    assert.deepEqual(idle, ['a']);
  });

  it('restarts the wait on a touch, so keys go idle in the order of their last touch', async () => {
    const idle: string[] = [];
    const deadlines = new IdleDeadlines<string>(120, (key) => idle.push(key));
    deadlines.touch('a');
    deadlines.touch('b');
    await sleep(80);
    deadlines.touch('a');
    // b is due at 120 ms, a (touched again) at 200 ms.
    await sleep(70);
    assert.deepEqual(idle, ['b']);
    assert.equal(deadlines.size, 1);
    await sleep(150);
    assert.deepEqual(idle, ['b', 'a']);
  });

  it('keeps a key that is touched more often than its timeout', async () => {
    const idle: string[] = [];
    const deadlines = new IdleDeadlines<string>(100, (key) => idle.push(key));
    deadlines.touch('busy');
    deadlines.touch('quiet');
    for (let i = 0; i < 8; i++) {
      await sleep(25);
      deadlines.touch('busy');
    }
    assert.deepEqual(idle, ['quiet']);
    deadlines.delete('busy');
  });

  it('never reports a deleted key, and expires the others in their turn', async () => {
    const idle: string[] = [];
    const deadlines = new IdleDeadlines<string>(30, (key) => idle.push(key));
    deadlines.touch('gone');
    deadlines.touch('stays');
    deadlines.delete('gone');
    deadlines.delete('never touched');
    await sleep(70);
    assert.deepEqual(idle, ['stays']);
    assert.equal(deadlines.size, 0);
  });

  it('expires every key that is due in one go, and a key touched again starts over', async () => {
    const idle: string[] = [];
    const deadlines = new IdleDeadlines<string>(30, (key) => idle.push(key));
    for (const key of ['a', 'b', 'c']) deadlines.touch(key);
    await sleep(60);
    assert.deepEqual(idle, ['a', 'b', 'c']);
    deadlines.touch('b');
    await sleep(60);
    assert.deepEqual(idle, ['a', 'b', 'c', 'b']);
  });
});
