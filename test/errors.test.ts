import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeValue, ErrorCodes, isTodoLiveError, TodoLiveError } from '../src/errors.js';

describe('TodoLiveError', () => {
  it('carries its code, message, details and cause', () => {
    const cause = new Error('disk I/O error');
    const err = new TodoLiveError(ErrorCodes.STORE_FAILED, 'expected a commit, got an I/O error', {
      cause,
      details: { userId: 'u1' },
    });
    assert.equal(err.code, 'STORE_FAILED');
    assert.equal(err.cause, cause);
    assert.deepEqual(err.details, { userId: 'u1' });
    assert.ok(isTodoLiveError(err, 'STORE_FAILED'));
    assert.ok(!isTodoLiveError(err, 'STORE_LOCKED'));
    assert.ok(!isTodoLiveError(new Error('plain')));
  });

  it('names every code after itself, so codes survive serialisation unchanged', () => {
    for (const [key, value] of Object.entries(ErrorCodes)) assert.equal(key, value);
  });
});

describe('describeValue', () => {
  it('says what arrived without dumping it whole', () => {
    assert.equal(describeValue(null), 'null');
    assert.equal(describeValue(3), 'number 3');
    assert.equal(describeValue([1, 2]), 'array of length 2');
    assert.match(describeValue('x'.repeat(100)), /… \(100 chars\)/);
    assert.equal(describeValue({ a: 1, b: 2 }), 'object with keys {a, b}');
  });
});
