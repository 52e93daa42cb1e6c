#!/usr/bin/env node
// Runs every *.test.ts below test/ (or below the folders and files given as arguments)
// through node:test with tsx. Node 20 does not expand globs given to --test, so we list files.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const args = process.argv.slice(2);
const passthrough = args.filter((a) => a.startsWith('--'));
const targets = args.filter((a) => !a.startsWith('--'));

function collect(path, out) {
  const st = statSync(path);
  if (st.isFile()) {
    if (path.endsWith('.test.ts')) out.push(path);
    return;
  }
  for (const name of readdirSync(path).sort()) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    collect(join(path, name), out);
  }
}

const files = [];
for (const t of targets.length > 0 ? targets : ['test']) collect(join(root, t), files);
if (files.length === 0) {
  console.error(`no test files found under ${targets.join(', ') || 'test'}`);
  process.exit(1);
}

const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-reporter=spec', ...passthrough, ...files.map((f) => relative(root, f))],
  { cwd: root, stdio: 'inherit', env: process.env },
);
process.exit(result.status ?? 1);
