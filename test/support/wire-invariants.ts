/**
 * Structural checks on rendered trees and diffs, for the pitfalls the client punishes silently
 * or with a thrown render: numbers as dynamics (read as component ids), `k` without `kc`, moves
 * without `km` (or `km` without moves), statics indexes without a table, `r` at the top level,
 * and, in a full render, anything missing.
 */

import assert from 'node:assert/strict';

type Json = unknown;

export interface WireCheckOptions {
  /** A full render (join reply): every node carries statics and every slot, no moves. */
  full: boolean;
}

/** Throws an `AssertionError` naming the path of the first broken rule in `frame`. */
export function assertWellFormed(frame: Json, options: WireCheckOptions): void {
  assert.ok(isObject(frame), 'a frame is an object');
  assert.ok(!('r' in frame), 'a frame never carries "r" at the top level');
  assert.ok(!('c' in frame), 'this server never emits components');
  const table = frame.p;
  if (table !== undefined) {
    assert.ok(isObject(table), '"p" is an object');
    for (const [ix, statics] of Object.entries(table)) {
      assert.match(ix, /^\d+$/, `"p" keys are indexes, got ${ix}`);
      assertStatics(statics, `p.${ix}`);
    }
  }
  if (options.full) assert.ok(frame.s !== undefined, 'a full render has root statics');
  checkNode(frame, '$', table as Record<string, unknown> | undefined, options.full, true);
}

function checkNode(node: Record<string, unknown>, path: string, table: Record<string, unknown> | undefined, full: boolean, root: boolean): void {
  if ('k' in node) {
    checkComprehension(node, path, table, full);
    return;
  }
  const statics = resolveStatics(node.s, path, table);
  for (const [key, value] of Object.entries(node)) {
    if (key === 's' || (root && (key === 'p' || key === 't' || key === 'e'))) continue;
    assert.match(key, /^\d+$/, `${path}: unexpected key ${JSON.stringify(key)}`);
    if (statics !== undefined) assert.ok(Number(key) < statics.length - 1, `${path}.${key}: slot beyond the statics`);
    checkDynamic(value, `${path}.${key}`, table, full || node.s !== undefined);
  }
  if (statics !== undefined && (full || node.s !== undefined)) {
    for (let i = 0; i < statics.length - 1; i++) assert.ok(String(i) in node, `${path}: a node with statics lacks slot ${i}`);
  }
}

function checkComprehension(node: Record<string, unknown>, path: string, table: Record<string, unknown> | undefined, full: boolean): void {
  for (const key of Object.keys(node)) assert.ok(key === 's' || key === 'k', `${path}: unexpected comprehension key ${key}`);
  const statics = resolveStatics(node.s, path, table);
  const complete = full || node.s !== undefined;
  if (complete) assert.ok(statics !== undefined, `${path}: a new comprehension carries statics`);
  const k = node.k;
  assert.ok(isObject(k), `${path}.k is an object`);
  assert.ok(Number.isInteger(k.kc) && (k.kc as number) >= 0, `${path}.k.kc is a count, got ${JSON.stringify(k.kc)}`);
  const kc = k.kc as number;
  let moves = 0;
  for (const [pos, entry] of Object.entries(k)) {
    if (pos === 'kc' || pos === 'km') continue;
    assert.match(pos, /^\d+$/, `${path}.k: unexpected key ${pos}`);
    assert.ok(Number(pos) < kc, `${path}.k.${pos}: entry at or beyond kc ${kc}`);
    if (typeof entry === 'number' || Array.isArray(entry)) {
      moves++;
      assert.ok(!complete, `${path}.k.${pos}: a new comprehension cannot hold moves`);
      const from = typeof entry === 'number' ? entry : entry[0];
      assert.ok(Number.isInteger(from) && from >= 0, `${path}.k.${pos}: a move names an old position`);
      assert.notEqual(from, Number(pos), `${path}.k.${pos}: a move to its own position should be a plain diff`);
      if (Array.isArray(entry)) {
        assert.equal(entry.length, 2, `${path}.k.${pos}: a move with a diff is [old, diff]`);
        assert.ok(isObject(entry[1]) && Object.keys(entry[1]).length > 0, `${path}.k.${pos}: a move's diff is not empty`);
        checkEntry(entry[1] as Record<string, unknown>, `${path}.k.${pos}[1]`, statics, table, false);
      }
    } else {
      // An empty object is legitimate only for a new entry of a template without values.
      assert.ok(isObject(entry), `${path}.k.${pos}: an entry is an object, a number or [old, diff]`);
      if (statics !== undefined && statics.length > 1) assert.ok(Object.keys(entry).length > 0, `${path}.k.${pos}: an entry diff is not empty`);
      checkEntry(entry, `${path}.k.${pos}`, statics, table, complete);
    }
  }
  if (moves > 0) assert.equal(k.km, true, `${path}.k: moves need km: true`);
  else assert.ok(!('km' in k), `${path}.k: km without a move`);
  if (complete) {
    for (let i = 0; i < kc; i++) assert.ok(String(i) in k, `${path}.k: a new comprehension lacks entry ${i}`);
  }
}

function checkEntry(entry: Record<string, unknown>, path: string, statics: readonly string[] | undefined, table: Record<string, unknown> | undefined, complete: boolean): void {
  for (const [key, value] of Object.entries(entry)) {
    assert.match(key, /^\d+$/, `${path}: unexpected key ${key}`);
    if (statics !== undefined) assert.ok(Number(key) < statics.length - 1, `${path}.${key}: slot beyond the statics`);
    checkDynamic(value, `${path}.${key}`, table, complete);
  }
  if (complete && statics !== undefined) {
    for (let i = 0; i < statics.length - 1; i++) assert.ok(String(i) in entry, `${path}: a new entry lacks slot ${i}`);
  }
}

function checkDynamic(value: unknown, path: string, table: Record<string, unknown> | undefined, full: boolean): void {
  if (typeof value === 'string') return;
  assert.ok(isObject(value), `${path}: a dynamic is a string or a node, got ${JSON.stringify(value)}`);
  if (full) assert.ok(value.s !== undefined, `${path}: a node under a new node carries statics`);
  checkNode(value, path, table, full, false);
}

function resolveStatics(s: unknown, path: string, table: Record<string, unknown> | undefined): readonly string[] | undefined {
  if (s === undefined) return undefined;
  if (typeof s === 'number') {
    assert.ok(table !== undefined && Array.isArray(table[String(s)]), `${path}.s: index ${s} without a "p" entry`);
    return table[String(s)] as string[];
  }
  assertStatics(s, `${path}.s`);
  return s as string[];
}

function assertStatics(s: unknown, path: string): void {
  assert.ok(Array.isArray(s) && s.length >= 1 && s.every((x) => typeof x === 'string'), `${path}: statics are an array of strings`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
