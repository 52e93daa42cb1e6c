import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { isTodoLiveError } from '../../src/errors.js';
import { openStore } from '../../src/store/index.js';
import { makeTempDir } from '../support/temp-dir.js';

const dir = makeTempDir('open-store');
after(() => dir.remove());

describe('openStore', () => {
  it('opens the SQLite adapter for a sqlite configuration', async () => {
    const store = await openStore({ kind: 'sqlite', path: join(dir.path, 'todos.db'), synchronous: 'FULL' });
    try {
      assert.equal(store.kind, 'sqlite');
      await store.touch('u');
    } finally {
      await store.close();
    }
  });

  it('rejects with STORE_CONNECTION_LOST for a PostgreSQL server that is not there, without echoing the password', async () => {
    await assert.rejects(
      openStore({ kind: 'postgres', url: 'postgres://nobody:s3cret@127.0.0.1:1/none', connectTimeoutMs: 500 }),
      (err: unknown) =>
        isTodoLiveError(err, 'STORE_CONNECTION_LOST') &&
        err.message.startsWith('open PostgreSQL store at postgres://127.0.0.1:1/none: ') &&
        !err.message.includes('s3cret'),
    );
  });
});
