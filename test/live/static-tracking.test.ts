import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { StaticAssets, trackedStatic } from '../../src/live/static-tracking.js';
import { ViewSocketImpl } from '../../src/live/view-socket.js';

const manifest = { 'app.css': '/assets/app-3F2A9C.css', 'app.js': '/assets/app-77B1E0.js' };
const current = StaticAssets.fromManifest(manifest);

describe('StaticAssets.changed', () => {
  it('is false when the client tracks exactly the assets served, as absolute URLs of any origin', () => {
    assert.equal(current.changed(['http://localhost:4000/assets/app-3F2A9C.css', 'http://localhost:4000/assets/app-77B1E0.js']), false);
    assert.equal(current.changed(['https://cdn.example.com/assets/app-77B1E0.js']), false);
    assert.equal(current.changed(['/assets/app-3F2A9C.css']), false);
  });

  it('is true when one tracked asset is from another build', () => {
    assert.equal(current.changed(['http://localhost:4000/assets/app-3F2A9C.css', 'http://localhost:4000/assets/app-OLD000.js']), true);
    assert.equal(current.changed(['http://localhost:4000/assets/app-OLD000.css']), true);
  });

  it('ignores a query string or fragment but not a different path', () => {
    assert.equal(current.changed(['http://localhost:4000/assets/app-77B1E0.js?vsn=d#x']), false);
    assert.equal(current.changed(['http://localhost:4000/static/app-77B1E0.js']), true);
    assert.equal(current.changed(['http://localhost:4000/assets/app-77b1e0.js']), true);
  });

  it('compares percent-encoded and plain spellings of a path as equal', () => {
    const assets = new StaticAssets(['/assets/ä pp.js']);
    assert.equal(assets.changed(['http://h/assets/%C3%A4%20pp.js']), false);
    assert.equal(assets.changed(['http://h/assets/%C3%A4pp.js']), true);
  });

  it('is false when the client tracks nothing or sent no list', () => {
    for (const tracked of [undefined, null, [], 'http://h/assets/app-OLD000.js', 42, { 0: '/x' }]) {
      assert.equal(current.changed(tracked), false, `for ${JSON.stringify(tracked)}`);
    }
  });

  it('skips entries that are not strings', () => {
    assert.equal(current.changed([1, null, { url: '/x' }, '/assets/app-77B1E0.js']), false);
    assert.equal(current.changed([1, '/assets/gone.js']), true);
  });

  it('is false when the server knows no assets, whatever the client tracks', () => {
    const none = StaticAssets.fromManifest({});
    assert.equal(none.size, 0);
    assert.equal(none.changed(['http://h/assets/app-OLD000.js']), false);
  });

  it('counts each distinct asset path once', () => {
    assert.equal(new StaticAssets(['/a.js', 'http://h/a.js', '/a.js?x', '/b.css']).size, 2);
  });

  it('is unchanged exactly when every tracked path is served (property)', () => {
    const segment = fc.stringMatching(/^[a-z0-9-]{1,8}$/);
    const path = fc.array(segment, { minLength: 1, maxLength: 3 }).map((s) => `/${s.join('/')}.js`);
    fc.assert(
      fc.property(fc.uniqueArray(path, { minLength: 1, maxLength: 6 }), fc.array(path, { maxLength: 6 }), fc.constantFrom('', 'http://localhost:4000', 'https://cdn.example'), (served, tracked, origin) => {
        const assets = new StaticAssets(served);
        const expected = tracked.some((p) => !served.includes(p));
        assert.equal(assets.changed(tracked.map((p) => `${origin}${p}`)), expected);
      }),
      { numRuns: 300 },
    );
  });
});

describe('trackedStatic', () => {
  it('reads params._track_static of a join payload', () => {
    assert.deepEqual(trackedStatic({ params: { _csrf_token: 't', _track_static: ['http://h/a.js'] } }), ['http://h/a.js']);
  });

  it('is undefined when the payload has no params object or no list', () => {
    assert.equal(trackedStatic({}), undefined);
    assert.equal(trackedStatic({ params: null }), undefined);
    assert.equal(trackedStatic({ params: ['x'] }), undefined);
    assert.equal(trackedStatic({ params: { _mounts: 0 } }), undefined);
  });
});

describe('ViewSocket.staticChanged', () => {
  it('is false on the first HTTP render even if asked otherwise, and by default', () => {
    assert.equal(new ViewSocketImpl({ id: 'd', connected: false, staticChanged: true }).staticChanged, false);
    assert.equal(new ViewSocketImpl({ id: 'l', connected: true }).staticChanged, false);
  });

  it('is true for a connected view whose client runs stale assets', () => {
    assert.equal(new ViewSocketImpl({ id: 'l', connected: true, staticChanged: true }).staticChanged, true);
  });
});
