import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { isTodoLiveError } from '../../src/errors.js';
import { loadConfig } from '../../src/web/config.js';

const dir = mkdtempSync(join(tmpdir(), 'todo-live-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const longSecret = 'x'.repeat(64);

describe('loadConfig', () => {
  it('defaults to SQLite under ./data on port 4000 with a generated development secret', () => {
    const config = loadConfig({}, { cwd: dir });
    assert.equal(config.port, 4000);
    assert.deepEqual(config.store, { kind: 'sqlite', path: join(dir, 'data/todos.db'), synchronous: 'FULL' });
    assert.ok(Buffer.byteLength(config.secretKeyBase) >= 64);
    assert.ok(config.allowedOrigins.includes('http://localhost:4000'));
    assert.ok(config.allowedOrigins.includes('http://127.0.0.1:4000'));
  });

  it('keeps the generated development secret across restarts', () => {
    const first = loadConfig({}, { cwd: dir }).secretKeyBase;
    const second = loadConfig({}, { cwd: dir }).secretKeyBase;
    assert.equal(first, second);
    assert.equal(readFileSync(join(dir, 'data/secret_key_base'), 'utf8').trim(), first);
  });

  it('refuses to start in production without a secret, naming the variable', () => {
    const prodDir = mkdtempSync(join(tmpdir(), 'todo-live-config-prod-'));
    try {
      assert.throws(
        () => loadConfig({ NODE_ENV: 'production' }, { cwd: prodDir }),
        (err) => isTodoLiveError(err, 'CONFIG_INVALID') && /SECRET_KEY_BASE: required in production/.test(err.message),
      );
      assert.equal(existsSync(join(prodDir, 'data/secret_key_base')), false);
    } finally {
      rmSync(prodDir, { recursive: true, force: true });
    }
  });

  it('refuses a secret shorter than 64 bytes and says how long it was', () => {
    assert.throws(
      () => loadConfig({ SECRET_KEY_BASE: 'short' }, { cwd: dir }),
      (err) => isTodoLiveError(err, 'CONFIG_INVALID') && /at least 64 bytes, got 5/.test(err.message),
    );
  });

  it('lists every invalid variable in one message', () => {
    assert.throws(
      () => loadConfig({ PORT: 'eighty', LOG_LEVEL: 'loud', MAX_TITLE_LENGTH: '10' }, { cwd: dir }),
      (err) => isTodoLiveError(err) && /PORT/.test(err.message) && /LOG_LEVEL/.test(err.message) && /MAX_TITLE_LENGTH/.test(err.message),
    );
  });

  it('selects PostgreSQL by the URL scheme and rejects unknown schemes', () => {
    const pg = loadConfig({ DATABASE_URL: 'postgres://u:p@127.0.0.1:5432/todos', SECRET_KEY_BASE: longSecret }, { cwd: dir });
    assert.deepEqual(pg.store, { kind: 'postgres', url: 'postgres://u:p@127.0.0.1:5432/todos' });
    assert.throws(
      () => loadConfig({ DATABASE_URL: 'mysql://x', SECRET_KEY_BASE: longSecret }, { cwd: dir }),
      /expected sqlite:<path> or postgres/,
    );
  });

  it('takes an explicit origin allow-list and validates its entries', () => {
    const config = loadConfig({ ALLOWED_ORIGINS: 'https://todo.example, http://localhost:4000', SECRET_KEY_BASE: longSecret }, { cwd: dir });
    assert.deepEqual(config.allowedOrigins, ['https://todo.example', 'http://localhost:4000']);
    assert.throws(
      () => loadConfig({ ALLOWED_ORIGINS: 'todo.example', SECRET_KEY_BASE: longSecret }, { cwd: dir }),
      /expected scheme:\/\/host\[:port\]/,
    );
  });

  it('bounds resident users and sockets per address, 100,000 and 50 unless told, refusing anything below 1', () => {
    const defaults = loadConfig({ SECRET_KEY_BASE: longSecret }, { cwd: dir });
    assert.equal(defaults.maxResidentUsers, 100_000);
    assert.equal(defaults.maxSocketsPerAddress, 50);
    const set = loadConfig({ SECRET_KEY_BASE: longSecret, MAX_RESIDENT_USERS: '2500', MAX_SOCKETS_PER_ADDRESS: '400' }, { cwd: dir });
    assert.equal(set.maxResidentUsers, 2500);
    assert.equal(set.maxSocketsPerAddress, 400);
    assert.throws(
      () => loadConfig({ SECRET_KEY_BASE: longSecret, MAX_RESIDENT_USERS: '0', MAX_SOCKETS_PER_ADDRESS: 'many' }, { cwd: dir }),
      (err) => isTodoLiveError(err, 'CONFIG_INVALID') && /MAX_RESIDENT_USERS/.test(err.message) && /MAX_SOCKETS_PER_ADDRESS/.test(err.message),
    );
  });
});
