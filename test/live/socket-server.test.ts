import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { liveViewServer } from '../../src/live/channel-server.js';
import { addressGroup } from '../../src/live/socket-server.js';
import { startFixtureServer } from '../support/fixture-server.js';
import { CookieJar, LiveClient } from '../support/live-client.js';

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

describe('LiveSocketServer with several views on one socket', () => {
  it('routes each topic to its own view, and a leave or a crash ends only that one', async () => {
    const server = await startFixtureServer({ withAssets: false });
    const jar = new CookieJar();
    const client = await LiveClient.open(server.baseUrl, '/counter', { jar });
    try {
      const joinAnother = async (path: string) => {
        const page = await LiveClient.fetchPage(server.baseUrl, path, jar);
        const reply = await client.join({ topic: `lv:${page.viewId}`, session: page.session, static: page.static, url: path });
        assert.equal(reply.status, 'ok');
        return { topic: client.topic, joinRef: client.joinRef };
      };
      const inc = { type: 'click', event: 'inc', value: {} };
      assert.equal((await client.join()).status, 'ok');
      const first = { topic: client.topic, joinRef: client.joinRef };
      const crashing = await joinAnother('/crash');
      const last = await joinAnother('/counter');
      const views = () => server.system.snapshot().filter((s) => s.type === liveViewServer.name).length;
      assert.equal(views(), 3);

      const error = client.waitFor((f) => f[3] === 'phx_error' && f[2] === crashing.topic);
      const boom = await client.push(crashing.topic, 'event', { type: 'click', event: 'boom', value: {} }, crashing.joinRef);
      assert.equal(boom.status, 'ok');
      assert.equal((await error)[0], crashing.joinRef);
      const unmatched = { status: 'error', response: { reason: 'unmatched topic' } };
      assert.deepEqual(await client.push(crashing.topic, 'event', inc, crashing.joinRef), unmatched);

      assert.equal((await client.push(last.topic, 'phx_leave', {}, last.joinRef)).status, 'ok');
      assert.deepEqual(await client.push(last.topic, 'event', inc, last.joinRef), unmatched);

      const reply = await client.push(first.topic, 'event', inc, first.joinRef);
      assert.equal(reply.status, 'ok');
      assert.ok(reply.response.diff !== undefined);
      await server.system.settle();
      assert.equal(views(), 1);
      await client.close();
      await server.system.settle();
      assert.equal(views(), 0);
    } finally {
      await client.close();
      await server.close();
    }
  });
});
