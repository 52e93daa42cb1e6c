#!/usr/bin/env node
// Builds the browser side: bundles assets/app.ts (the official phoenix + phoenix_live_view
// client and our few hooks) and copies the TodoMVC stylesheet, into dist/static/assets/.
// File names carry a content digest so `phx-track-static` can tell a deploy happened;
// dist/static/manifest.json maps logical names to digested ones for the server.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { build } from 'esbuild';

const root = new URL('..', import.meta.url).pathname;
const out = join(root, 'dist/static/assets');
const require = createRequire(import.meta.url);

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

const digest = (buf) => createHash('sha256').update(buf).digest('hex').slice(0, 12);
const manifest = {};

const bundle = await build({
  entryPoints: [join(root, 'assets/app.ts')],
  bundle: true,
  minify: true,
  format: 'esm',
  target: 'es2020',
  write: false,
  legalComments: 'none',
  logLevel: 'warning',
});
const js = Buffer.from(bundle.outputFiles[0].contents);
const jsName = `app-${digest(js)}.js`;
writeFileSync(join(out, jsName), js);
manifest['app.js'] = `/assets/${jsName}`;

const cssSources = [require.resolve('todomvc-app-css/index.css'), join(root, 'assets/app.css')];
const css = Buffer.concat(cssSources.map((p) => readFileSync(p)));
const cssName = `app-${digest(css)}.css`;
writeFileSync(join(out, cssName), css);
manifest['app.css'] = `/assets/${cssName}`;

writeFileSync(join(root, 'dist/static/manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
console.log(`assets: ${manifest['app.js']} (${js.length} B), ${manifest['app.css']} (${css.length} B)`);
