import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SessionCookie } from '../../src/live/session.js';
import { deriveKeys } from '../../src/live/tokens.js';

const keys = deriveKeys('s'.repeat(64));

describe('SessionCookie', () => {
  const cookie = new SessionCookie(keys);

  it('reads back the id it signed from a Cookie header', () => {
    const id = cookie.newId();
    const header = cookie.setCookieHeader(id);
    const pair = header.split(';')[0]!;
    assert.equal(cookie.readHeader(`other=1; ${pair}; more=2`), id);
  });

  it('issues HttpOnly, SameSite=Lax cookies, Secure with the __Host- prefix when asked', () => {
    assert.match(cookie.setCookieHeader(cookie.newId()), /; Path=\/; Max-Age=\d+; HttpOnly; SameSite=Lax$/);
    const secure = new SessionCookie(keys, { secure: true });
    assert.equal(secure.name, '__Host-todo_live_session');
    assert.match(secure.setCookieHeader(secure.newId()), /; Secure$/);
  });

  it('rejects a tampered signature, a foreign id and a cookie signed with another secret', () => {
    const id = cookie.newId();
    const value = cookie.sign(id);
    assert.equal(cookie.unsign(`${value.slice(0, -2)}xx`), null);
    assert.equal(cookie.unsign(`${cookie.newId()}.${value.split('.')[1]}`), null);
    assert.equal(new SessionCookie(deriveKeys('t'.repeat(64))).unsign(value), null);
    assert.equal(cookie.unsign('not-a-uuid.abc'), null);
    assert.equal(cookie.readHeader(undefined), null);
    assert.equal(cookie.readHeader(`${cookie.name}=%E0%A4%A`), null);
  });

  it('uses fresh random ids', () => {
    assert.notEqual(cookie.newId(), cookie.newId());
  });
});
