import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { addressGroup } from '../../src/live/socket-server.js';

/** The eight groups of an IPv6 address, written out in full. */
const groups = fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 8, maxLength: 8 });
const full = (g: number[]) => g.map((n) => n.toString(16)).join(':');
/** The same address with its longest run of zero groups (at least two) written `::`. */
function compressed(g: number[]): string {
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j;
  }
  if (best < 0) return full(g);
  const hex = g.map((n) => n.toString(16));
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

describe('addressGroup', () => {
  it('keeps an IPv4 address as it is, also when it arrives IPv4-mapped', () => {
    assert.equal(addressGroup('203.0.113.7'), '203.0.113.7');
    assert.equal(addressGroup('::ffff:203.0.113.7'), '203.0.113.7');
    assert.equal(addressGroup('::FFFF:127.0.0.1'), '127.0.0.1');
  });

  it('counts an IPv6 address as its /64, whatever its spelling or zone', () => {
    assert.equal(addressGroup('2001:db8:0:1::1'), '2001:db8:0:1::/64');
    assert.equal(addressGroup('2001:0DB8:0000:0001:ffff:1:2:3'), '2001:db8:0:1::/64');
    assert.equal(addressGroup('fe80::1%eth0'), 'fe80:0:0:0::/64');
    assert.equal(addressGroup('::1'), '0:0:0:0::/64');
    assert.equal(addressGroup('::'), '0:0:0:0::/64');
    assert.equal(addressGroup('64:ff9b::192.0.2.1'), '64:ff9b:0:0::/64');
    assert.notEqual(addressGroup('2001:db8:0:1::1'), addressGroup('2001:db8:0:2::1'));
  });

  it('gives no group to what is not an IP address', () => {
    for (const bad of [undefined, '', 'localhost', '1.2.3', '2001:db8::1::2', '::ffff:999.0.0.1']) {
      assert.equal(addressGroup(bad), null, String(bad));
    }
  });

  it('puts two IPv6 addresses in one group exactly when their first 64 bits agree', () => {
    fc.assert(
      fc.property(groups, groups, fc.boolean(), (a, b, sharePrefix) => {
        const other = sharePrefix ? [...a.slice(0, 4), ...b.slice(4)] : b;
        // IPv4-mapped addresses count as IPv4 by design; keep them out of this property.
        fc.pre(!(a.slice(0, 5).every((n) => n === 0) && a[5] === 0xffff));
        fc.pre(!(other.slice(0, 5).every((n) => n === 0) && other[5] === 0xffff));
        const same = a.slice(0, 4).every((n, i) => n === other[i]);
        assert.equal(addressGroup(full(a)), addressGroup(compressed(a)));
        assert.equal(addressGroup(compressed(a)) === addressGroup(compressed(other)), same);
      }),
      { numRuns: 300, seed: 20261124 },
    );
  });
});
