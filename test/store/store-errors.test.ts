import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TodoLiveError } from '../../src/errors.js';
import { fromPostgresError, fromSqliteError, fromSqliteOpenError } from '../../src/store/store-errors.js';

const driverError = (code: string, message = 'driver says no') => Object.assign(new Error(message), { code });

describe('fromSqliteError', () => {
  for (const [code, expected] of [
    ['SQLITE_BUSY', 'STORE_LOCKED'],
    ['SQLITE_BUSY_SNAPSHOT', 'STORE_LOCKED'],
    ['SQLITE_LOCKED', 'STORE_LOCKED'],
    ['SQLITE_FULL', 'STORE_DISK_FULL'],
    ['SQLITE_CONSTRAINT_UNIQUE', 'STORE_CONSTRAINT'],
    ['SQLITE_CONSTRAINT_FOREIGNKEY', 'STORE_CONSTRAINT'],
    ['SQLITE_CORRUPT', 'STORE_CORRUPT'],
    ['SQLITE_NOTADB', 'STORE_CORRUPT'],
    ['SQLITE_CANTOPEN', 'STORE_CONNECTION_LOST'],
    ['SQLITE_READONLY', 'STORE_CONNECTION_LOST'],
    ['SQLITE_IOERR_FSYNC', 'STORE_FAILED'],
  ] as const) {
    it(`classifies ${code} as ${expected}, keeping the driver error as cause`, () => {
      const original = driverError(code);
      const err = fromSqliteError(original, 'apply add');
      assert.equal(err.code, expected);
      assert.equal(err.cause, original);
      assert.equal(err.details?.driverCode, code);
      assert.match(err.message, new RegExp(`^apply add: .*${code}: driver says no`));
    });
  }

  it('classifies an I/O error about disk space as a full disk', () => {
    assert.equal(fromSqliteError(driverError('SQLITE_IOERR_WRITE', 'No space left on device'), 'x').code, 'STORE_DISK_FULL');
  });

  it('passes our own errors through unchanged', () => {
    const ours = new TodoLiveError('STORE_VERSION_CONFLICT', 'stale');
    assert.equal(fromSqliteError(ours, 'x'), ours);
  });

  it('treats an unclassified error as a plain failure, but at open as a file it cannot open', () => {
    const fsError = new TypeError('Cannot open database because the directory does not exist');
    assert.equal(fromSqliteError(fsError, 'apply').code, 'STORE_FAILED');
    assert.equal(fromSqliteOpenError(fsError, 'open').code, 'STORE_CONNECTION_LOST');
    assert.equal(fromSqliteOpenError(driverError('SQLITE_NOTADB'), 'open').code, 'STORE_CORRUPT');
  });
});

describe('fromPostgresError', () => {
  for (const [code, expected] of [
    ['08006', 'STORE_CONNECTION_LOST'],
    ['57P01', 'STORE_CONNECTION_LOST'],
    ['ECONNREFUSED', 'STORE_CONNECTION_LOST'],
    ['53100', 'STORE_DISK_FULL'],
    ['23505', 'STORE_CONSTRAINT'],
    ['55P03', 'STORE_LOCKED'],
    ['40P01', 'STORE_LOCKED'],
    ['XX001', 'STORE_CORRUPT'],
    ['42P01', 'STORE_FAILED'],
  ] as const) {
    it(`classifies ${code} as ${expected}`, () => {
      assert.equal(fromPostgresError(driverError(code), 'load').code, expected);
    });
  }

  it('classifies pg client messages about a dead connection as a lost connection', () => {
    assert.equal(fromPostgresError(new Error('Connection terminated unexpectedly'), 'apply').code, 'STORE_CONNECTION_LOST');
    assert.equal(fromPostgresError(new Error('timeout exceeded when trying to connect'), 'apply').code, 'STORE_CONNECTION_LOST');
  });
});
