import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { checkTitle, filterFromPath, itemsLeftNoun, matchesFilter } from '../../src/todo/rules.js';

describe('checkTitle', () => {
  it('trims the title and refuses one that is empty after trimming', () => {
    assert.deepEqual(checkTitle('  buy milk  '), { ok: true, title: 'buy milk' });
    assert.deepEqual(checkTitle('   \t '), { ok: false, reason: 'empty' });
  });

  it('normalises to NFC so a title typed two ways is the same title', () => {
    const decomposed = 'cafe\u0301';
    const check = checkTitle(decomposed);
    assert.ok(check.ok);
    assert.equal(check.title, 'caf\u00e9');
  });

  it('turns line breaks and NUL bytes into spaces: a title is one line of text', () => {
    assert.deepEqual(checkTitle('a\nb\u0000c'), { ok: true, title: 'a b c' });
  });

  it('replaces an unpaired surrogate with U+FFFD and keeps paired ones (emoji) intact', () => {
    assert.deepEqual(checkTitle('a\ud800b 😀'), { ok: true, title: 'a\ufffdb 😀' });
    assert.deepEqual(checkTitle('\udc00x'), { ok: true, title: '\ufffdx' });
  });

  it('counts code points, so 500 emoji fit the 500 limit and 501 do not', () => {
    assert.ok(checkTitle('😀'.repeat(500)).ok);
    assert.deepEqual(checkTitle('😀'.repeat(501)), { ok: false, reason: 'too_long', length: 501 });
  });

  it('refuses a 100 KB paste without normalising all of it', () => {
    const check = checkTitle('x'.repeat(100_000));
    assert.equal(check.ok, false);
    assert.equal(!check.ok && check.reason, 'too_long');
  });

  it('refuses anything that is not a string', () => {
    for (const v of [undefined, null, 1, {}, ['a']]) assert.deepEqual(checkTitle(v), { ok: false, reason: 'not_text' });
  });

  it('accepts exactly the strings whose trimmed form is 1 to 500 code points', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 600 }), (s) => {
        const check = checkTitle(s);
        if (check.ok) {
          assert.equal(check.title, check.title.trim());
          assert.ok(check.title.length > 0 && [...check.title].length <= 500);
          assert.equal(checkTitle(check.title).ok, true, 'a checked title checks again unchanged');
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('filters', () => {
  it('reads the filter from the path, ignoring query and trailing slash', () => {
    assert.equal(filterFromPath('/'), 'all');
    assert.equal(filterFromPath('/active'), 'active');
    assert.equal(filterFromPath('/completed/?x=1'), 'completed');
    assert.equal(filterFromPath('/elsewhere'), 'all');
  });

  it('shows active todos under active and completed under completed', () => {
    assert.ok(matchesFilter(false, 'active') && !matchesFilter(true, 'active'));
    assert.ok(matchesFilter(true, 'completed') && !matchesFilter(false, 'completed'));
    assert.ok(matchesFilter(true, 'all') && matchesFilter(false, 'all'));
  });
});

describe('itemsLeftNoun', () => {
  it('reads 0 items, 1 item, 2 items in English', () => {
    assert.equal(itemsLeftNoun(0), 'items');
    assert.equal(itemsLeftNoun(1), 'item');
    assert.equal(itemsLeftNoun(2), 'items');
  });

  it("agrees with the locale's plural rules for every whole count", () => {
    const english = new Intl.PluralRules('en');
    fc.assert(
      fc.property(fc.nat(), (n) => itemsLeftNoun(n) === (english.select(n) === 'one' ? 'item' : 'items')),
      { numRuns: 2000 },
    );
  });
});
