import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { openDatabase, prepare, retainedHandles, setPragma } from '../../src/store/sqlite-handles.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Creates a connection and a statement, closes the connection, and returns weak references to both. */
function closedHandles(): [WeakRef<object>, WeakRef<object>] {
  const db = openDatabase(':memory:');
  setPragma(db, 'foreign_keys = ON');
  const statement = prepare(db, 'SELECT 1');
  assert.equal(statement.pluck().get(), 1);
  db.close();
  return [new WeakRef(db), new WeakRef(statement)];
}

describe('SQLite handles', () => {
  it('are never garbage collected, even after their connection closed', async () => {
    const before = retainedHandles();
    const [db, statement] = closedHandles();
    assert.equal(retainedHandles(), before + 2);
    for (let i = 0; i < 3; i++) {
      gc();
      await new Promise((resolve) => setImmediate(resolve));
    }
    assert.notEqual(db.deref(), undefined, 'the connection is still reachable');
    assert.notEqual(statement.deref(), undefined, 'the statement is still reachable');
  });

  it('set pragmas without a statement of their own', () => {
    const db = openDatabase(':memory:');
    const before = retainedHandles();
    setPragma(db, 'user_version = 7');
    assert.equal(retainedHandles(), before);
    assert.equal(prepare(db, 'PRAGMA user_version').pluck().get(), 7);
    db.close();
  });

  it('are the only way the store folder opens connections, prepares statements or reads pragmas', () => {
    const dir = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '../../src/store');
    const offenders: string[] = [];
    for (const name of readdirSync(dir)) {
      if (!name.endsWith('.ts') || name === 'sqlite-handles.ts') continue;
      const code = readFileSync(join(dir, name), 'utf8');
      for (const [pattern, what] of [
        [/new Database\(/, 'new Database('],
        [/\.prepare\(/, '.prepare('],
        [/\.pragma\(/, '.pragma('],
        [/\.iterate\(/, '.iterate('],
      ] as const) {
        if (pattern.test(code)) offenders.push(`${name}: ${what}`);
      }
    }
    assert.deepEqual(offenders, [], 'use openDatabase, prepare and setPragma from sqlite-handles.ts');
  });
});
