/**
 * The steps every view goes through on mount and on patch, shared by the first HTTP
 * render and the live channel: mount, then handleParams, then follow push-patches (bounded,
 * since a view that patches on every handleParams would otherwise loop forever).
 */
import { ErrorCodes, TodoLiveError } from '../errors.js';
import type { Params } from './params.js';
import type { LiveRouter } from './router.js';
import type { Navigation, ViewSocketImpl } from './view-socket.js';
import type { AnyLiveView, LiveSession } from './view.js';

/** Phoenix's cap on consecutive patches within one turn. */
export const MAX_PATCHES_PER_TURN = 20;

/** Where a turn left the view: still here (maybe at a new URL), or leaving. */
export interface TurnOutcome {
  /** The view's URL after any push-patches. */
  url: URL;
  /** The last patch followed, to tell the client (`live_patch`), or null. */
  patched: { to: string; kind: 'push' | 'replace' } | null;
  /** A navigation away from this view (`navigate` or `redirect`), or null. */
  leaving: Exclude<Navigation, { kind: 'patch' }> | null;
}

/** The path, query and fragment of `url`, as sent in `live_patch` and `live_redirect`. */
export function relativeUrl(url: URL): string {
  return `${url.pathname}${url.search}${url.hash}`;
}

/**
 * Resolves `to` against `base`; only same-origin targets can be live navigations, anything
 * else comes back `null` (and becomes a full redirect).
 */
export function resolveSameOrigin(to: string, base: URL): URL | null {
  let target: URL;
  try {
    target = new URL(to, base);
  } catch {
    return null;
  }
  return target.origin === base.origin ? target : null;
}

/**
 * Follows the navigation a callback asked for. A patch to the same route runs handleParams
 * again (up to {@link MAX_PATCHES_PER_TURN}); a patch to another route becomes a navigate.
 */
export async function followNavigation(
  view: AnyLiveView,
  socket: ViewSocketImpl,
  router: LiveRouter,
  routeName: string,
  start: URL,
  navigation: Navigation | null,
): Promise<TurnOutcome> {
  let url = start;
  let patched: TurnOutcome['patched'] = null;
  let nav = navigation;
  for (let patches = 0; nav !== null; patches++) {
    if (nav.kind === 'redirect') return { url, patched, leaving: nav };
    const target = resolveSameOrigin(nav.to, url);
    const match = target === null ? null : router.match(target);
    if (target === null || match === null) {
      return { url, patched, leaving: { kind: 'redirect', to: nav.to } };
    }
    if (nav.kind === 'navigate' || match.route.name !== routeName) {
      return { url, patched, leaving: { kind: 'navigate', to: relativeUrl(target), replace: nav.replace } };
    }
    if (patches >= MAX_PATCHES_PER_TURN) {
      throw new TodoLiveError(
        ErrorCodes.LIVE_BAD_CALLBACK,
        `expected at most ${MAX_PATCHES_PER_TURN} push-patches in one turn, got more (last to "${nav.to}"): does handleParams patch unconditionally?`,
      );
    }
    url = target;
    patched = { to: relativeUrl(target), kind: nav.replace ? 'replace' : 'push' };
    await view.handleParams?.(match.params, url, socket);
    nav = socket.takeNavigation();
  }
  return { url, patched, leaving: null };
}

/** Runs mount and handleParams for `url`, then follows navigation. */
export async function mountView(
  view: AnyLiveView,
  socket: ViewSocketImpl,
  router: LiveRouter,
  routeName: string,
  url: URL,
  params: Params,
  session: LiveSession,
): Promise<TurnOutcome> {
  await view.mount?.(params, session, socket);
  let nav = socket.takeNavigation();
  if (nav === null || nav.kind === 'patch') {
    // handleParams runs with the mount URL first, even if mount asked for a patch.
    const pending = nav;
    await view.handleParams?.(params, url, socket);
    nav = socket.takeNavigation() ?? pending;
  }
  return followNavigation(view, socket, router, routeName, url, nav);
}
