import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isTodoLiveError } from '../../src/errors.js';
import {
  CsrfTokens,
  DEFAULT_TOKEN_MAX_AGE_MS,
  deriveKeys,
  signToken,
  verifyToken,
  ViewTokens,
} from '../../src/live/tokens.js';

const SECRET = 'a'.repeat(64);
const keys = deriveKeys(SECRET);

function flipChar(token: string, at: number): string {
  const c = token[at] === 'A' ? 'B' : 'A';
  return token.slice(0, at) + c + token.slice(at + 1);
}

describe('deriveKeys', () => {
  it('derives a different key for every purpose', () => {
    const all = Object.values(keys).map((k) => k.toString('hex'));
    assert.equal(new Set(all).size, all.length);
  });

  it('derives the same keys from the same secret, so tokens survive a restart', () => {
    assert.deepEqual(deriveKeys(SECRET).csrf, keys.csrf);
    assert.notDeepEqual(deriveKeys('b'.repeat(64)).csrf, keys.csrf);
  });

  it('refuses a secret too short to be one', () => {
    assert.throws(() => deriveKeys('short'), (err) => isTodoLiveError(err, 'LIVE_BAD_TOKEN'));
  });
});

describe('signed tokens', () => {
  it('round-trips data signed with the same key', () => {
    const token = signToken(keys['live-session'], { a: 1 }, 1000);
    assert.deepEqual(verifyToken(keys['live-session'], token, 10_000, 2000), { ok: true, data: { a: 1 }, issuedAt: 1000 });
  });

  it('rejects a token signed for another purpose', () => {
    const token = signToken(keys['live-static'], { a: 1 });
    assert.deepEqual(verifyToken(keys['live-session'], token), { ok: false, reason: 'invalid' });
  });

  it('rejects a token with any byte changed', () => {
    const token = signToken(keys['live-session'], { lvId: 'phx-1', view: 'counter', sid: 'x' });
    fc.assert(
      fc.property(fc.nat({ max: token.length - 1 }), (at) => {
        if (token[at] === '.') return;
        const result = verifyToken(keys['live-session'], flipChar(token, at));
        assert.equal(result.ok, false);
      }),
      { numRuns: 200 },
    );
  });

  it('accepts only one spelling of a token: every other last character is refused', () => {
    // Base64url decoding ignores the spare bits of the last character, so a lenient check
    // would accept several spellings of one signature.
    const token = signToken(keys['live-session'], { lvId: 'phx-1' });
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    for (const c of alphabet) {
      const variant = token.slice(0, -1) + c;
      assert.equal(verifyToken(keys['live-session'], variant).ok, variant === token, `last character ${c}`);
    }
  });

  it('rejects an expired token and one from the future', () => {
    const token = signToken(keys['live-session'], {}, 0);
    assert.deepEqual(verifyToken(keys['live-session'], token, 1000, 1001), { ok: false, reason: 'expired' });
    assert.deepEqual(verifyToken(keys['live-session'], token, 1000, -120_000), { ok: false, reason: 'expired' });
    assert.equal(verifyToken(keys['live-session'], token, 1000, 999).ok, true);
  });

  it('rejects a correctly signed token of another version as outdated', () => {
    const body = Buffer.from(JSON.stringify({ v: 0, iat: Date.now(), d: {} })).toString('base64url');
    const sig = createHmac('sha256', keys['live-session']).update(body).digest('base64url');
    assert.deepEqual(verifyToken(keys['live-session'], `${body}.${sig}`), { ok: false, reason: 'outdated' });
  });

  it('never throws on hostile input', () => {
    fc.assert(
      fc.property(fc.anything(), (value) => {
        assert.equal(verifyToken(keys['live-session'], value).ok, false);
      }),
      { numRuns: 300 },
    );
  });

  it('defaults to a two-week maximum age', () => {
    assert.equal(DEFAULT_TOKEN_MAX_AGE_MS, 1_209_600_000);
  });
});

describe('ViewTokens', () => {
  const tokens = new ViewTokens(keys);
  const claims = { lvId: 'phx-abc', view: 'counter', sid: 'session-1', data: { locale: 'en' } };

  it('verifies the claims it signed', () => {
    const result = tokens.verifySession(tokens.signSession(claims));
    assert.ok(result.ok);
    assert.deepEqual(result.data, claims);
  });

  it('rejects a signed payload that lacks the claims', () => {
    const forged = signToken(keys['live-session'], { lvId: 1 });
    assert.deepEqual(tokens.verifySession(forged), { ok: false, reason: 'invalid' });
  });

  it('binds the static token to its container id', () => {
    const token = tokens.signStatic('phx-abc');
    assert.equal(tokens.verifyStatic(token, 'phx-abc'), true);
    assert.equal(tokens.verifyStatic(token, 'phx-other'), false);
    assert.equal(tokens.verifyStatic(null, 'phx-abc'), true);
    assert.equal(tokens.verifyStatic('garbage', 'phx-abc'), false);
  });

  it('expires view tokens after the configured age', () => {
    let now = 1_000_000;
    const short = new ViewTokens(keys, { maxAgeMs: 1000, now: () => now });
    const token = short.signSession(claims);
    now += 1001;
    assert.deepEqual(short.verifySession(token), { ok: false, reason: 'expired' });
  });
});

describe('CsrfTokens', () => {
  const csrf = new CsrfTokens(keys);

  it('accepts a token issued for the same session', () => {
    assert.equal(csrf.verify('s1', csrf.issue('s1')), true);
  });

  it('masks every token differently', () => {
    assert.notEqual(csrf.issue('s1'), csrf.issue('s1'));
  });

  it('rejects a token of another session, a missing one and garbage', () => {
    assert.equal(csrf.verify('s2', csrf.issue('s1')), false);
    assert.equal(csrf.verify('s1', undefined), false);
    assert.equal(csrf.verify('s1', ''), false);
    assert.equal(csrf.verify('s1', 'x'.repeat(86)), false);
    assert.equal(csrf.verify('s1', ['array']), false);
  });

  it('accepts only the canonical spelling of a token', () => {
    const token = csrf.issue('s1');
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    for (const c of alphabet) {
      const variant = token.slice(0, -1) + c;
      assert.equal(csrf.verify('s1', variant), variant === token, `last character ${c}`);
    }
    assert.equal(csrf.verify('s1', `${token}=`), false);
  });
});
