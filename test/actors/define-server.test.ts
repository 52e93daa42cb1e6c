import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defineServer } from '../../src/actors/define-server.js';
import type { ServerSpec } from '../../src/actors/types.js';
import { isTodoLiveError } from '../../src/errors.js';

const base = { name: 'ok', init: () => 0 };

function rejects(spec: unknown, pattern: RegExp): void {
  assert.throws(
    () => defineServer(spec as ServerSpec<unknown>),
    (error: unknown) => isTodoLiveError(error, 'ACTOR_BAD_SPEC') && pattern.test((error as Error).message),
  );
}

describe('defineServer', () => {
  it('returns a frozen copy: later edits of the literal change nothing', () => {
    const spec = { ...base, idleTimeoutMs: 10 };
    const type = defineServer(spec);
    spec.idleTimeoutMs = 99;
    assert.equal(type.idleTimeoutMs, 10);
    assert.ok(Object.isFrozen(type));
  });

  it('refuses a definition without a name or without init, saying what arrived', () => {
    rejects({ init: () => 0 }, /non-empty name, got undefined/);
    rejects({ name: '', init: () => 0 }, /non-empty name/);
    rejects({ name: 'x' }, /init to be a function, got undefined/);
    rejects(null, /an object/);
  });

  it('refuses callbacks that are not functions', () => {
    rejects({ ...base, handleCall: 'nope' }, /handleCall to be a function, got string "nope"/);
  });

  it('refuses an unknown restart type and non-positive limits', () => {
    rejects({ ...base, restart: 'always' }, /permanent, transient or temporary/);
    rejects({ ...base, idleTimeoutMs: 0 }, /idleTimeoutMs/);
    rejects({ ...base, callTimeoutMs: -5 }, /callTimeoutMs/);
    rejects({ ...base, mailboxLimit: 1.5 }, /mailboxLimit to be a positive integer/);
    rejects({ ...base, terminateTimeoutMs: Number.NaN }, /terminateTimeoutMs/);
  });

  it('accepts an infinite call timeout', () => {
    assert.equal(defineServer({ ...base, callTimeoutMs: Number.POSITIVE_INFINITY }).callTimeoutMs, Number.POSITIVE_INFINITY);
  });
});
