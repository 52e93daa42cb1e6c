/**
 * Deploy detection: the client sends the URLs of every element marked `phx-track-static` in
 * its join params (`_track_static`). When one of them is no longer among the assets this
 * server serves, the page runs code and styles from an older build and should be reloaded.
 * Same rule as Phoenix's `static_changed?/1`: only paths count (a CDN origin or a cache-busting
 * query does not make an asset different), and a client that tracks nothing never is stale.
 */

/** Base for parsing relative asset URLs; only the path of the result is ever read. */
const PATH_BASE = 'http://static.invalid';

/** The path of `url` (absolute or relative), percent-encoding normalised; null if unparsable. */
function pathOf(url: string): string | null {
  try {
    return new URL(url, PATH_BASE).pathname;
  } catch {
    return null;
  }
}

/** The asset URLs a server currently serves, ready to compare against what clients track. */
export class StaticAssets {
  readonly #paths: ReadonlySet<string>;

  /** @param urls the current asset URLs (e.g. the values of the build's manifest). */
  constructor(urls: Iterable<string>) {
    const paths = new Set<string>();
    for (const url of urls) {
      const path = pathOf(url);
      if (path !== null) paths.add(path);
    }
    this.#paths = paths;
  }

  /** Builds the set from a logical name → URL manifest. */
  static fromManifest(manifest: Readonly<Record<string, string>>): StaticAssets {
    return new StaticAssets(Object.values(manifest));
  }

  /** How many distinct asset paths are known. */
  get size(): number {
    return this.#paths.size;
  }

  /**
   * Whether a client tracking `tracked` (the join's `params._track_static`) runs assets this
   * server no longer serves. False when the client tracks nothing or sent something that is
   * not a list (older clients, hand-written ones), and when this server knows no assets at
   * all (nothing to compare with). Entries that are not strings are ignored; an entry that
   * is not a URL counts as changed, since it cannot be one of ours.
   */
  changed(tracked: unknown): boolean {
    if (!Array.isArray(tracked) || this.#paths.size === 0) return false;
    for (const entry of tracked) {
      if (typeof entry !== 'string') continue;
      const path = pathOf(entry);
      if (path === null || !this.#paths.has(path)) return true;
    }
    return false;
  }
}

/** The `_track_static` list of a `phx_join` payload, or undefined when there is none. */
export function trackedStatic(joinPayload: Readonly<Record<string, unknown>>): unknown {
  const { params } = joinPayload;
  if (typeof params !== 'object' || params === null || Array.isArray(params)) return undefined;
  return (params as Record<string, unknown>)._track_static;
}
