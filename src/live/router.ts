/**
 * Live routes: a path pattern and a view. The same table serves the first HTTP render,
 * joins (which route the page URL again and check it against the signed view token),
 * client patches and live redirects.
 */
import { ErrorCodes, TodoLiveError } from '../errors.js';
import { decodeParams, type Params } from './params.js';
import type { AnyLiveView } from './view.js';

export interface LiveRouteSpec {
  /** `/`, `/todos/:id`, …: `:name` segments become params. */
  path: string;
  view: AnyLiveView;
  /** Name recorded in the view token; defaults to the view's `name`, then to the path. */
  name?: string;
}

export interface LiveRoute {
  readonly path: string;
  readonly name: string;
  readonly view: AnyLiveView;
  readonly segments: readonly string[];
}

export interface RouteMatch {
  route: LiveRoute;
  /** Query params overlaid by path params. */
  params: Params;
}

function splitPath(path: string): string[] {
  return path.split('/').filter((s) => s.length > 0);
}

/** Matches URLs against live routes, first match wins. */
export class LiveRouter {
  readonly #routes: LiveRoute[] = [];

  constructor(specs: readonly LiveRouteSpec[] = []) {
    for (const spec of specs) this.add(spec);
  }

  add(spec: LiveRouteSpec): LiveRoute {
    if (!spec.path.startsWith('/')) {
      throw new TodoLiveError(ErrorCodes.LIVE_NO_ROUTE, `expected a route path starting with "/", got "${spec.path}"`);
    }
    const name = spec.name ?? spec.view.name ?? spec.path;
    if (this.#routes.some((r) => r.path === spec.path)) {
      throw new TodoLiveError(ErrorCodes.LIVE_NO_ROUTE, `expected one route per path, got "${spec.path}" twice`);
    }
    const route: LiveRoute = { path: spec.path, name, view: spec.view, segments: splitPath(spec.path) };
    this.#routes.push(route);
    return route;
  }

  get routes(): readonly LiveRoute[] {
    return this.#routes;
  }

  /** The route and params for `url`, or `null` when no live route matches its path. */
  match(url: URL): RouteMatch | null {
    let parts: string[];
    try {
      parts = splitPath(url.pathname).map((p) => decodeURIComponent(p));
    } catch {
      return null;
    }
    for (const route of this.#routes) {
      if (route.segments.length !== parts.length) continue;
      const pathParams: Record<string, string> = {};
      let ok = true;
      for (let i = 0; i < parts.length; i++) {
        const seg = route.segments[i]!;
        const part = parts[i]!;
        if (seg.startsWith(':')) pathParams[seg.slice(1)] = part;
        else if (seg !== part) {
          ok = false;
          break;
        }
      }
      if (!ok) continue;
      const params = decodeParams(url.search.slice(1));
      Object.assign(params, pathParams);
      return { route, params };
    }
    return null;
  }

  /** The route named `name`, if any (to check the view recorded in a token). */
  byName(name: string): LiveRoute | undefined {
    return this.#routes.find((r) => r.name === name);
  }
}
