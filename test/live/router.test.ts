import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isTodoLiveError } from '../../src/errors.js';
import { LiveRouter } from '../../src/live/router.js';
import { html } from '../../src/live/template.js';
import { defineView } from '../../src/live/view.js';

const view = defineView({ name: 'v', render: () => html`<p></p>` });
const other = defineView({ render: () => html`<p></p>` });

describe('LiveRouter', () => {
  const router = new LiveRouter([
    { path: '/', view },
    { path: '/items/:id', view: other, name: 'item' },
  ]);

  it('matches paths and merges query and path params', () => {
    const m = router.match(new URL('http://x/items/42?tab=a&id=ignored'));
    assert.equal(m?.route.name, 'item');
    assert.deepEqual(m?.params, { tab: 'a', id: '42' });
    assert.equal(router.match(new URL('http://x/?filter=active'))?.route.name, 'v');
  });

  it('returns null when nothing matches', () => {
    assert.equal(router.match(new URL('http://x/nope')), null);
    assert.equal(router.match(new URL('http://x/items/%E0%A4%A')), null);
  });

  it('names routes after the view, then the path', () => {
    assert.equal(new LiveRouter([{ path: '/p', view: other }]).routes[0]?.name, '/p');
    assert.equal(router.byName('item')?.path, '/items/:id');
  });

  it('refuses duplicate and relative paths', () => {
    assert.throws(() => new LiveRouter([{ path: '/', view }, { path: '/', view }]), (e) => isTodoLiveError(e, 'LIVE_NO_ROUTE'));
    assert.throws(() => new LiveRouter([{ path: 'x', view }]), (e) => isTodoLiveError(e, 'LIVE_NO_ROUTE'));
  });
});
