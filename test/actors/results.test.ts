import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IDLE, NORMAL, SHUTDOWN, crash, describeReason, isCleanStop, noreply, reply, stop } from '../../src/actors/results.js';

describe('result builders', () => {
  it('build the three shapes a handler may return', () => {
    assert.deepEqual(reply(1, 's'), { kind: 'reply', reply: 1, state: 's' });
    assert.deepEqual(noreply('s'), { kind: 'noreply', state: 's' });
    assert.deepEqual(stop('normal', 's'), { kind: 'stop', reason: NORMAL, state: 's', hasReply: false });
  });

  it('tells a stop that replies undefined from a stop that does not reply', () => {
    assert.equal(stop('shutdown', 's', undefined).hasReply, true);
    assert.equal(stop('shutdown', 's').hasReply, false);
    assert.equal(stop('shutdown', 's').reason, SHUTDOWN);
  });

  it('keeps named clean reasons and crash errors as given', () => {
    const named = stop({ kind: 'normal', detail: 'left' }, 0);
    assert.deepEqual(named.reason, { kind: 'normal', detail: 'left' });
    const error = new Error('x');
    assert.equal((stop(crash(error), 0).reason as { error: unknown }).error, error);
  });
});

describe('stop reasons', () => {
  it('count every reason but a crash as clean', () => {
    assert.ok(isCleanStop(NORMAL) && isCleanStop(IDLE) && isCleanStop(SHUTDOWN));
    assert.ok(!isCleanStop(crash(new Error('x'))));
  });

  it('describe themselves in one line', () => {
    assert.equal(describeReason(IDLE), 'idle');
    assert.equal(describeReason({ kind: 'normal', detail: 'closed' }), 'normal (closed)');
    assert.equal(describeReason(crash(new Error('disk gone'))), 'crash (disk gone)');
    assert.equal(describeReason(crash('plain')), 'crash (plain)');
    assert.equal(describeReason({ kind: 'noproc' }), 'noproc');
  });
});
