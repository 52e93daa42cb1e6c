import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { describe, it } from 'node:test';

// The layers and what each may import (besides itself and src/errors.ts). Imports point one
// way: web → todo → live → actors; todo and web may import store; actors and store import
// no other layer. Nothing imports web.
const allowed: Record<string, readonly string[]> = {
  actors: [],
  store: [],
  live: ['actors'],
  todo: ['live', 'actors', 'store'],
  web: ['todo', 'live', 'actors', 'store'],
};

const src = resolve(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '../src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

function layerOf(file: string): string | undefined {
  const rel = relative(src, file);
  return rel.includes(sep) ? rel.split(sep)[0] : undefined;
}

function relativeImports(source: string): string[] {
  const specifiers: string[] = [];
  const pattern = /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+['"](\.{1,2}\/[^'"]+)['"]|import\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g;
  for (const match of source.matchAll(pattern)) specifiers.push((match[1] ?? match[2]) as string);
  return specifiers;
}

describe('layering', () => {
  const files = sourceFiles(src);

  it('finds the five layers', () => {
    const layers = new Set(files.map(layerOf).filter((l) => l !== undefined));
    for (const layer of Object.keys(allowed)) assert.ok(layers.has(layer), `src/${layer} is missing`);
  });

  it('keeps every import pointing down the layers', () => {
    const violations: string[] = [];
    for (const file of files) {
      const from = layerOf(file);
      for (const spec of relativeImports(readFileSync(file, 'utf8'))) {
        const target = resolve(file, '..', spec);
        const to = layerOf(target);
        const rel = relative(src, target);
        if (from === undefined) {
          if (to !== undefined) violations.push(`${relative(src, file)} (a leaf) imports ${rel}`);
          continue;
        }
        if (to === undefined || to === from) continue;
        if (!allowed[from]?.includes(to)) violations.push(`src/${relative(src, file)} (${from}) imports src/${rel} (${to})`);
      }
    }
    assert.deepEqual(violations, []);
  });
});
