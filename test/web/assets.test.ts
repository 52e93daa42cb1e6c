import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { isTodoLiveError } from '../../src/errors.js';
import { defaultStaticDir, loadManifest } from '../../src/web/assets.js';
import { makeTempDir } from '../support/temp-dir.js';

const dir = makeTempDir('assets');
after(() => dir.remove());

function manifest(name: string, content: string): string {
  const folder = join(dir.path, name);
  mkdirSync(folder, { recursive: true });
  writeFileSync(join(folder, 'manifest.json'), content);
  return folder;
}

describe('loadManifest', () => {
  it('reads the digested names of the bundle and the stylesheet', () => {
    const folder = manifest('ok', JSON.stringify({ 'app.js': '/assets/app-0123456789ab.js', 'app.css': '/assets/app-ba9876543210.css' }));
    assert.deepEqual(loadManifest(folder), { js: '/assets/app-0123456789ab.js', css: '/assets/app-ba9876543210.css' });
  });

  it('says to run the build when the manifest is missing', () => {
    assert.throws(
      () => loadManifest(join(dir.path, 'missing')),
      (err) => isTodoLiveError(err, 'WEB_ASSETS_MISSING') && /run: npm run build/.test(err.message),
    );
  });

  it('refuses a manifest without both assets, or with URLs outside /assets/', () => {
    for (const [name, content] of [
      ['partial', JSON.stringify({ 'app.js': '/assets/app.js' })],
      ['outside', JSON.stringify({ 'app.js': 'https://cdn.example/app.js', 'app.css': '/assets/app.css' })],
      ['garbage', '{not json'],
    ] as const) {
      assert.throws(() => loadManifest(manifest(name, content)), (err) => isTodoLiveError(err, 'WEB_ASSETS_MISSING'), name);
    }
  });

  it("finds the project's dist/static from the sources", () => {
    assert.match(defaultStaticDir(), /\/dist\/static$/);
  });
});
