import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isTodoLiveError } from '../../src/errors.js';
import { checkRequest, checkTitle, resolveLimits } from '../../src/store/validate.js';

/** Any Unicode scalar value but NUL (fast-check's own 'binary' unit takes seconds to set up). */
const anyCodePoint = fc
  .oneof(fc.integer({ min: 1, max: 0x7f }), fc.integer({ min: 0x80, max: 0xffff }), fc.integer({ min: 0x1_0000, max: 0x10_ffff }))
  .filter((c) => c < 0xd800 || c > 0xdfff)
  .map((c) => String.fromCodePoint(c));

const refuses = (fn: () => unknown, pattern: RegExp) =>
  assert.throws(fn, (err: unknown) => isTodoLiveError(err, 'STORE_INVALID_INPUT') && pattern.test(err.message));

describe('checkTitle', () => {
  it('stores titles exactly: no trimming, no normalisation', () => {
    for (const t of ['  padded  ', 'e\u0301', 'tab\there', 'line\nbreak', '\u{1F468}\u200D\u{1F469}\u200D\u{1F467}']) {
      assert.equal(checkTitle(t, 500), t);
    }
  });

  it('refuses a 100 KB title without scanning all of it', () => {
    refuses(() => checkTitle('a'.repeat(100 * 1024), 500), /at most 500 characters, got 102400 UTF-16 units/);
  });

  it('accepts any well-formed text up to the limit, and refuses one code point more', () => {
    fc.assert(
      fc.property(fc.string({ unit: anyCodePoint, minLength: 1, maxLength: 20 }), (title) => {
        const n = [...title].length;
        assert.equal(checkTitle(title, n), title);
        refuses(() => checkTitle(title, n - 1 || 0.5), /at most/);
      }),
    );
  });
});

describe('checkRequest', () => {
  const limits = resolveLimits(undefined);

  it('keeps only known fields', () => {
    const request = { userId: 'u', opId: 'o', extra: 1, mutation: { kind: 'delete', id: 3, sneaky: true } };
    assert.deepEqual(checkRequest(request, limits), { userId: 'u', opId: 'o', mutation: { kind: 'delete', id: 3 } });
  });

  it('refuses ids, user ids and operation ids that are too long or malformed', () => {
    refuses(() => checkRequest({ userId: 'u'.repeat(201), opId: 'o', mutation: { kind: 'clear_completed' } }, limits), /userId/);
    refuses(() => checkRequest({ userId: 'u', opId: 'o'.repeat(201), mutation: { kind: 'clear_completed' } }, limits), /opId/);
    refuses(() => checkRequest({ userId: 'u', opId: '', mutation: { kind: 'clear_completed' } }, limits), /opId/);
    refuses(() => checkRequest({ userId: 'u', opId: 7, mutation: { kind: 'clear_completed' } }, limits), /opId/);
    assert.deepEqual(checkRequest({ userId: 'u', mutation: { kind: 'clear_completed' } }, limits), { userId: 'u', mutation: { kind: 'clear_completed' } }, 'an operation id is optional');
    refuses(() => checkRequest({ userId: 'u\u0000', opId: 'o', mutation: { kind: 'clear_completed' } }, limits), /userId/);
    refuses(() => checkRequest({ userId: 'u', opId: 'o', mutation: { kind: 'delete', id: 2 ** 53 } }, limits), /positive integer/);
    refuses(() => checkRequest(null, limits), /request: expected an object, got null/);
  });
});

describe('resolveLimits', () => {
  it('fills in defaults and refuses non-positive limits', () => {
    assert.deepEqual(resolveLimits({ maxTodosPerUser: 5 }), { maxTitleLength: 500, maxTodosPerUser: 5 });
    refuses(() => resolveLimits({ maxTitleLength: 0 }), /maxTitleLength: expected a positive integer, got number 0/);
  });
});
