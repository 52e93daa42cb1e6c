/**
 * The browser bundle's digested file names, read from `dist/static/manifest.json` (written by
 * `scripts/build-assets.mjs`). The layout links exactly these URLs with `phx-track-static`, so
 * a deploy that changes a digest is visible to open tabs.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { ErrorCodes, TodoLiveError } from '../errors.js';

export interface AssetManifest {
  /** URL path of the bundled client, e.g. `/assets/app-0359701c68dd.js`. */
  js: string;
  /** URL path of the stylesheet (todomvc-app-css plus our additions). */
  css: string;
}

const manifestSchema = z.object({
  'app.js': z.string().regex(/^\/assets\/[\w.-]+\.js$/),
  'app.css': z.string().regex(/^\/assets\/[\w.-]+\.css$/),
});

/**
 * The folder holding `manifest.json` and `assets/`. Sources run from `src/web/`, the build
 * from `dist/src/web/`; both find the project's `dist/static/` by walking up to `package.json`.
 */
export function defaultStaticDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'package.json'))) return join(dir, 'dist', 'static');
    dir = resolve(dir, '..');
  }
  throw new TodoLiveError(ErrorCodes.WEB_ASSETS_MISSING, 'expected a package.json above src/web, found none');
}

/** Reads and checks the manifest; a missing or malformed one says how to build it. */
export function loadManifest(staticDir: string = defaultStaticDir()): AssetManifest {
  const file = join(staticDir, 'manifest.json');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    throw new TodoLiveError(
      ErrorCodes.WEB_ASSETS_MISSING,
      `expected the asset manifest at ${file}, found none (run: npm run build)`,
      { cause },
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new TodoLiveError(ErrorCodes.WEB_ASSETS_MISSING, `expected JSON in ${file}, got unparsable text`, { cause });
  }
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success) {
    throw new TodoLiveError(
      ErrorCodes.WEB_ASSETS_MISSING,
      `expected ${file} to name app.js and app.css under /assets/, got ${parsed.error.issues.map((i) => i.path.join('.')).join(', ')} invalid`,
    );
  }
  return { js: parsed.data['app.js'], css: parsed.data['app.css'] };
}
