/**
 * Faults of the process and its disk, with the app running as a child process on a temp data
 * dir: a second process on the same database, a corrupt database file, a full disk, SIGTERM
 * under load and a restart in the middle of a reconnect storm. SIGKILL along the write path is
 * `nothing-lost.test.ts`; a crash in one user's handler is `test/integration/todo-sync.test.ts`
 * and `test/integration/live-lifecycle.test.ts`.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { openDatabase, prepare } from '../../src/store/sqlite-handles.js';
import { makeTempDir } from '../support/temp-dir.js';
import { TodoTab } from '../support/todo-tab.js';
import { AppProcess, fdCount } from './app-process.js';
import { checkHistory, sleep, Writer } from './writers.js';

const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

/** A fresh data dir and an app on it; both are cleaned up after the file's tests. */
function appOn(env: Record<string, string> = {}, dataDir?: string): AppProcess {
  const dir = dataDir === undefined ? makeTempDir('faults') : null;
  const app = new AppProcess({ dataDir: dataDir ?? dir!.path, env });
  cleanups.push(async () => {
    await app.stop();
    dir?.remove();
  });
  return app;
}

function storedTitles(dataDir: string, userId: string): string[] {
  const db = openDatabase(join(dataDir, 'todos.db'), { readonly: true });
  try {
    return prepare(db, 'SELECT title FROM todos WHERE user_id = ? ORDER BY position').pluck().all(userId) as string[];
  } finally {
    db.close();
  }
}

describe('the database file', () => {
  it('refuses a second app process on the same database at boot, and the first keeps serving', { timeout: 60_000 }, async () => {
    const app = appOn();
    await app.start();
    const tab = await TodoTab.open(app.url);
    await tab.add('before the intruder');
    const second = app.spawnChild({ PORT: '0' }, false);
    const status = await second.exitedPromise;
    assert.equal(status.code, 1);
    assert.match(app.output(), /expected to be the only process using this database, but another one holds it/);
    await tab.add('after the intruder');
    assert.deepEqual(tab.titles(), ['before the intruder', 'after the intruder']);
    await tab.close();
    assert.equal((await app.stop())?.code, 0);
    assert.deepEqual(storedTitles(app.dataDir, tab.client.jar.get('todo_live_session')!.split('.')[0]!), [
      'before the intruder',
      'after the intruder',
    ]);
  });

  it('refuses to start on a corrupt database file, saying so, and never serves', { timeout: 60_000 }, async () => {
    const dir = makeTempDir('corrupt');
    cleanups.push(() => dir.remove());
    writeFileSync(join(dir.path, 'todos.db'), Buffer.alloc(8192, 'not a database '));
    const app = appOn({}, dir.path);
    await assert.rejects(app.start(), /exited with 1 before serving/);
    assert.match(app.output(), /expected a valid SQLite database, but the file is corrupt or not a database/);
  });
});

describe('a start killed half-way', () => {
  it('leaves a database the next start opens, whenever SIGKILL lands during the first start', { timeout: 90_000 }, async () => {
    const app = appOn();
    // Spread the kills over a cold start (loading, opening and migrating the database, listening).
    for (const afterMs of [100, 300, 500, 700, 900, 1200]) {
      const child = app.spawnChild();
      await sleep(afterMs);
      child.kill('SIGKILL');
      await child.exitedPromise;
    }
    await app.start();
    const tab = await TodoTab.open(app.url);
    await tab.add('after six interrupted starts');
    await tab.close();
    assert.equal((await app.stop())?.code, 0);
    const db = openDatabase(join(app.dataDir, 'todos.db'), { readonly: true });
    try {
      const versions = prepare(db, 'SELECT version FROM schema_migrations ORDER BY version').pluck().all() as number[];
      assert.deepEqual(versions, [...new Set(versions)], 'each migration recorded once');
      assert.ok(versions.length >= 1);
      assert.equal(prepare(db, 'PRAGMA integrity_check').pluck().get(), 'ok');
    } finally {
      db.close();
    }
    assert.deepEqual(storedTitles(app.dataDir, tab.client.jar.get('todo_live_session')!.split('.')[0]!), ['after six interrupted starts']);
  });
});

/** Mounts a tmpfs of `bytes` at a fresh folder; null when this machine does not allow it. */
function smallDisk(bytes: number): { path: string; remove(): void } | null {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return null;
  const dir = makeTempDir('small-disk');
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${bytes}`, 'tmpfs', dir.path]);
  if (mounted.status !== 0) {
    dir.remove();
    return null;
  }
  return {
    path: dir.path,
    remove() {
      spawnSync('umount', ['-l', dir.path]);
      dir.remove();
    },
  };
}

const disk = smallDisk(4 * 1024 * 1024);
if (disk !== null) cleanups.push(() => disk.remove());

describe('a full disk', { skip: disk === null ? 'needs root to mount a small tmpfs' : false }, () => {
  it('acknowledges nothing it could not store, tells the user, and stores the retried change once space is back', { timeout: 60_000 }, async () => {
    const mount = disk!;
    const data = join(mount.path, 'data');
    mkdirSync(data);
    const app = appOn({}, data);
    await app.start();
    const other = await TodoTab.open(app.url);
    await other.add('other user');
    const tab = await TodoTab.open(app.url);
    await tab.add('fits');

    // Fill what is left of the disk, then write until a commit cannot grow the log.
    const filler = join(mount.path, 'filler');
    const free = statfsSync(mount.path).bavail * statfsSync(mount.path).bsize;
    writeFileSync(filler, Buffer.alloc(Math.max(0, free - 8 * 1024)));
    let refusedTitle: string | null = null;
    let refusedOp: string | null = null;
    for (let i = 0; i < 200 && refusedTitle === null; i++) {
      const title = `${i} ${'z'.repeat(400)}`;
      const op = tab.addOp();
      const reply = await tab.client.submit('add', { op, title });
      assert.equal(reply.status, 'ok', 'every event is answered');
      if (!tab.titles().includes(title)) {
        refusedTitle = title;
        refusedOp = op;
      }
      await sleep(60);
    }
    assert.ok(refusedTitle !== null && refusedOp !== null, 'the disk filled up');
    assert.match(tab.html(), /Your change could not be saved/);
    assert.equal(tab.draft(), refusedTitle, 'what was typed stays in the field');
    const ready = await fetch(`${app.url}/readyz`);
    assert.ok(ready.status === 200 || ready.status === 503);
    // Other users still read their lists.
    const otherAgain = await other.sibling();
    assert.deepEqual(otherAgain.titles(), ['other user']);
    await otherAgain.close();

    rmSync(filler);
    const reply = await tab.client.submit('add', { op: refusedOp, title: refusedTitle });
    assert.equal(reply.status, 'ok');
    assert.ok(tab.titles().includes(refusedTitle), 'the retry is stored once space is back');
    assert.doesNotMatch(tab.html(), /could not be saved/);
    const shown = tab.titles();
    await tab.close();
    await other.close();
    assert.equal((await app.stop())?.code, 0);
    const stored = storedTitles(data, tab.client.jar.get('todo_live_session')!.split('.')[0]!);
    assert.deepEqual(stored, shown, 'the file holds exactly what the page showed as saved');
    assert.equal(stored.filter((t) => t === refusedTitle).length, 1);
  });
});

describe('SIGTERM under load', () => {
  it('closes 224 sockets with 1001, answers or drops in-flight changes but never acks and loses, and exits 0', { timeout: 90_000 }, async () => {
    // Every socket comes from 127.0.0.1: lift the per-address cap as a proxy-less test must.
    const app = appOn({ SHUTDOWN_TIMEOUT_MS: '5000', MAX_SOCKETS_PER_ADDRESS: '500' });
    await app.start();
    const writers = Array.from({ length: 12 }, () => new Writer(app.url, { tabs: 2, pauseMs: 40, reconnectBudgetMs: 1000 }));
    // Open pages that only listen: the drain must close them too.
    const listeners = Array.from({ length: 50 }, () => new Writer(app.url, { tabs: 4 }));
    cleanups.push(() => Promise.all([...writers, ...listeners].map((w) => w.close())).then(() => {}));
    await Promise.all([...writers, ...listeners].map((w) => w.connect()));
    const closes: Promise<{ code: number }>[] = [...writers, ...listeners].flatMap((w) => w.tabs.map((t) => t.closed));
    assert.equal(closes.length, 224);
    const running = Promise.all(writers.map((w) => w.run().catch(() => {})));
    await sleep(1500);
    const signalled = Date.now();
    const exit = app.kill('SIGTERM');
    // The signal is handled on the app's next turn: poll until readiness moves off 200.
    let ready = 200;
    while (ready === 200 && Date.now() - signalled < 2000) {
      ready = await fetch(`${app.url}/readyz`).then(
        (r) => r.status,
        () => 0,
      );
    }
    assert.equal(ready, 503, 'readiness answers 503 while draining, before the port closes');
    const codes = (await Promise.all(closes)).map((c) => c.code);
    assert.deepEqual([...new Set(codes)], [1001], 'every socket was closed with 1001');
    const status = await exit;
    assert.equal(status.code, 0, app.output().slice(-2000));
    assert.ok(Date.now() - signalled < 5000, 'within SHUTDOWN_TIMEOUT_MS');
    for (const w of writers) w.stop();
    await running;

    for (const w of writers) {
      const report = checkHistory(w, storedTitles(app.dataDir, w.userId));
      assert.deepEqual(report.problems, [], `${w.name}: ${report.problems.join('; ')}`);
      assert.ok(report.acked > 0, `${w.name} made progress`);
    }
  });
});

describe('restart during a reconnect storm', () => {
  it('lets 40 browsers reconnect through two kills and a restart, each seeing its own todos', { timeout: 90_000 }, async () => {
    const app = appOn();
    await app.start();
    const writers = Array.from({ length: 40 }, () => new Writer(app.url, { tabs: 1, pauseMs: 250, reconnectBudgetMs: 30_000 }));
    cleanups.push(() => Promise.all(writers.map((w) => w.close())).then(() => {}));
    await Promise.all(writers.map((w) => w.connect()));
    const running = Promise.all(writers.map((w) => w.run()));
    await sleep(1000);
    await app.kill('SIGKILL');
    await app.start();
    // The storm is under way: kill again while the clients are reconnecting.
    await sleep(150);
    await app.kill('SIGKILL');
    await sleep(200);
    await app.start();
    await sleep(3000);
    for (const w of writers) w.stop();
    await running;
    const reconnected = writers.filter((w) => w.reconnects >= 1).length;
    assert.equal(reconnected, 40, 'every browser reconnected');
    assert.ok(
      writers.every((w) => w.tabs[0]!.socket.readyState === w.tabs[0]!.socket.OPEN),
      'every browser is connected at the end',
    );
    const fds = fdCount(app.pid);
    await Promise.all(writers.map((w) => w.close()));
    await sleep(500);
    const fdsAfter = fdCount(app.pid);
    assert.ok(fdsAfter <= fds - 30 || fds < 0, `file descriptors are released when the clients leave (${fds} → ${fdsAfter})`);
    assert.equal((await app.stop())?.code, 0);
    for (const w of writers) {
      const report = checkHistory(w, storedTitles(app.dataDir, w.userId));
      assert.deepEqual(report.problems, [], `${w.name}: ${report.problems.join('; ')}`);
    }
  });
});
