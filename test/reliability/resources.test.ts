/**
 * Resource bounds on the real app: a reader that stops reading is cut off instead of growing
 * the server's memory, and one user's ten tabs firing at once queue in bounded mailboxes
 * without losing or doubling a single acknowledged change. The per-socket rate limit and the
 * per-browser socket cap are in `frames.test.ts` and `handshake.test.ts`; the mailbox bound
 * itself is unit-tested in `test/actors/instance.test.ts`.
 */
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { openDatabase, prepare } from '../../src/store/sqlite-handles.js';
import { LiveClient } from '../support/live-client.js';
import { useSharedApp } from '../support/shared-app.js';
import { TodoTab } from '../support/todo-tab.js';

const server = useSharedApp();

describe('slow readers', () => {
  it('cuts off a socket that stops reading once its send buffer passes the bound, and the bystander stays fast', { timeout: 60_000 }, async () => {
    const bystander = await TodoTab.open(server.url);
    server.track(bystander);
    await bystander.add('bystander');

    // A user with a large list makes every join reply large (about 0.7 MB here).
    const jar = TodoTab.newBrowser();
    await LiveClient.fetchPage(server.url, '/', jar);
    const userId = jar.get('todo_live_session')!.split('.')[0]!;
    await Promise.all(
      Array.from({ length: 1000 }, (_, i) =>
        server.app.store.apply({ userId, opId: `big-${i}`, mutation: { kind: 'add', title: `${i} ${'w'.repeat(290)}` } }),
      ),
    );
    const slow = await LiveClient.open(server.url, '/', { jar });
    assert.equal((await slow.join()).status, 'ok');
    const sockets = server.app.live.sockets;
    const before = sockets.size;

    // Stop reading: the kernel buffers fill, then `ws` queues in user space.
    (slow.socket as unknown as { _socket: Socket })._socket.pause();
    let sent = 0;
    const deadline = Date.now() + 30_000;
    while (sockets.size >= before && Date.now() < deadline) {
      // Each rejoin makes the server render and send the whole list again.
      if (slow.socket.readyState === slow.socket.OPEN) {
        slow.sendFrame([String(1000 + sent), String(1000 + sent), slow.topic, 'phx_join', joinPayload(slow)]);
        sent++;
      }
      await new Promise((r) => setTimeout(r, sent < 40 ? 5 : 50));
    }
    assert.ok(sockets.size < before, `the slow socket was closed by the server after ${sent} rejoins`);
    assert.ok(sent < 200, `it was cut off within a bounded amount of output (${sent} replies of ~0.7 MB)`);
    const t = Date.now();
    await bystander.toggle('bystander');
    assert.ok(Date.now() - t < 2000, 'the bystander was answered promptly');
    slow.socket.terminate();
  });
});

describe('anonymous page loads', () => {
  it(
    'serves a flood of cookie-less page loads without a user server or a stored user per request',
    { timeout: 30_000 },
    async () => {
      const servers = () => server.app.system.snapshot().filter((x) => x.type === 'todo-user').length;
      const before = servers();
      for (let i = 0; i < 10; i++) {
        await Promise.all(Array.from({ length: 50 }, () => fetch(`${server.url}/`).then((r) => r.text())));
      }
      const started = servers() - before;
      assert.ok(started <= 10, `500 page loads without a cookie started ${started} user servers`);
      // A visitor who never comes back (no socket, no change) is not worth a stored user.
      const probe = await fetch(`${server.url}/`);
      await probe.text();
      const id = /todo_live_session=([^.;]+)/.exec(probe.headers.getSetCookie().join(';'))?.[1];
      assert.ok(id !== undefined);
      const version = await server.app.store.version(id);
      assert.equal(version, 0);
      const seen = userRowExists(id);
      assert.equal(seen, false, 'a bare page load stored a user row');
    },
  );
});

/** Whether the store holds a row for `userId` (in a copy of the running app's SQLite file). */
function userRowExists(userId: string): boolean {
  // The app holds an exclusive lock; a copy of the file and its log is read instead.
  const dir = mkdtempSync(join(tmpdir(), 'todo-live-peek-'));
  try {
    const source = join(server.dataDir, 'todos.db');
    copyFileSync(source, join(dir, 'todos.db'));
    if (existsSync(`${source}-wal`)) copyFileSync(`${source}-wal`, join(dir, 'todos.db-wal'));
    const db = openDatabase(join(dir, 'todos.db'));
    try {
      return prepare(db, 'SELECT 1 FROM users WHERE id = ?').get(userId) !== undefined;
    } finally {
      db.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('large lists', () => {
  it(
    'lets a user at both limits (1,000 todos of 500 characters) join',
    { timeout: 30_000 },
    async () => {
      const jar = TodoTab.newBrowser();
      await LiveClient.fetchPage(server.url, '/', jar);
      const userId = jar.get('todo_live_session')!.split('.')[0]!;
      await Promise.all(
        Array.from({ length: 1000 }, (_, i) =>
          server.app.store.apply({ userId, opId: `max-${i}`, mutation: { kind: 'add', title: `${String(i).padStart(4, '0')} ${'m'.repeat(495)}` } }),
        ),
      );
      const client = await LiveClient.open(server.url, '/', { jar });
      try {
        const reply = await client.join().catch((err: unknown) => ({ status: String(err) }));
        assert.equal(reply.status, 'ok');
      } finally {
        client.socket.terminate();
      }
    },
  );
});

/** The payload of a browser rejoin of the page the client holds. */
function joinPayload(client: LiveClient): Record<string, unknown> {
  return {
    url: client.url,
    params: { _csrf_token: client.page.csrfToken, _mounts: 1, _mount_attempts: 0 },
    session: client.page.session,
    static: client.page.static,
    sticky: false,
  };
}

describe('one user firing from every tab at once', () => {
  it('answers every add from ten tabs bursting together, storing each acknowledged one exactly once', { timeout: 60_000 }, async () => {
    const first = await TodoTab.open(server.url);
    server.track(first);
    const all = [first];
    for (let i = 1; i < 10; i++) {
      const t = await first.sibling();
      server.track(t);
      all.push(t);
    }
    const acked = new Set<string>();
    const refused = new Set<string>();
    await Promise.all(
      all.flatMap((tab, t) =>
        Array.from({ length: 38 }, async (_, i) => {
          const title = `t${t}-${i}`;
          const reply = await tab.client.submit('add', { op: `burst-${t}-${i}-op`, title });
          if (reply.status === 'ok') acked.add(title);
          else refused.add(title);
        }),
      ),
    );
    assert.equal(acked.size + refused.size, 380, 'every push was answered');
    const userId = first.client.jar.get('todo_live_session')!.split('.')[0]!;
    const stored = (await server.app.store.load(userId)).todos.map((t) => t.title);
    assert.equal(new Set(stored).size, stored.length, 'no todo twice');
    for (const title of acked) assert.ok(stored.includes(title), `acknowledged ${title} is stored`);
    for (const title of refused) assert.ok(!stored.includes(title), `refused ${title} is not stored`);
    assert.ok(acked.size >= 300, `most of the burst went through: ${acked.size} of 380`);
    // Every tab converges on the same list.
    for (const tab of all) {
      await tab.until((x) => x.todos().length === stored.length, 'the tab shows every stored todo');
      assert.deepEqual(tab.titles(), stored);
    }
  });
});
