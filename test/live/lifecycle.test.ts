import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isTodoLiveError } from '../../src/errors.js';
import { followNavigation, MAX_PATCHES_PER_TURN, mountView, relativeUrl, resolveSameOrigin } from '../../src/live/lifecycle.js';
import { LiveRouter } from '../../src/live/router.js';
import { ViewSocketImpl } from '../../src/live/view-socket.js';
import { fixtureRoutes, loopingView, navigationView } from '../fixtures/views/index.js';

const router = new LiveRouter(fixtureRoutes);
const session = { id: 's', data: {} };
const base = new URL('http://host/nav?page=1');

describe('mountView', () => {
  it('runs mount then handleParams with the URL params', async () => {
    const socket = new ViewSocketImpl({ id: 'v', connected: true });
    const outcome = await mountView(navigationView, socket, router, 'navigation', base, { page: '3' }, session);
    assert.deepEqual(outcome, { url: base, patched: null, leaving: null });
    assert.equal((socket.assigns as { page: string }).page, '3');
  });

  it('follows a patch asked for in mount after handleParams ran once', async () => {
    const socket = new ViewSocketImpl({ id: 'v', connected: true });
    const outcome = await mountView(navigationView, socket, router, 'navigation', base, { start: 'patch' }, session);
    assert.deepEqual(outcome.patched, { to: '/nav?page=7', kind: 'push' });
    assert.equal((socket.assigns as { params: number }).params, 2);
  });

  it('stops a view that patches forever', async () => {
    const socket = new ViewSocketImpl({ id: 'v', connected: true });
    await assert.rejects(
      mountView(loopingView, socket, router, 'looping', new URL('http://host/loop'), {}, session),
      (err) => isTodoLiveError(err, 'LIVE_BAD_CALLBACK') && err.message.includes(String(MAX_PATCHES_PER_TURN)),
    );
  });
});

describe('followNavigation', () => {
  const socket = new ViewSocketImpl({ id: 'v', connected: true });

  it('turns a patch to another route into a navigate, and a foreign one into a redirect', async () => {
    const toCounter = await followNavigation(navigationView, socket, router, 'navigation', base, { kind: 'patch', to: '/counter', replace: false });
    assert.deepEqual(toCounter.leaving, { kind: 'navigate', to: '/counter', replace: false });
    const foreign = await followNavigation(navigationView, socket, router, 'navigation', base, { kind: 'navigate', to: 'https://evil.example/', replace: false });
    assert.deepEqual(foreign.leaving, { kind: 'redirect', to: 'https://evil.example/' });
    const unknown = await followNavigation(navigationView, socket, router, 'navigation', base, { kind: 'navigate', to: '/not-live', replace: false });
    assert.deepEqual(unknown.leaving, { kind: 'redirect', to: '/not-live' });
  });

  it('resolves only same-origin targets', () => {
    assert.equal(resolveSameOrigin('//evil.example/x', base), null);
    assert.equal(resolveSameOrigin('?page=2', base)?.toString(), 'http://host/nav?page=2');
    assert.equal(relativeUrl(new URL('http://host/a?b=1#c')), '/a?b=1#c');
  });
});
