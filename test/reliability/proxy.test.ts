/**
 * The app behind a real nginx (design §2.5 #31, #32): nginx reloaded and restarted under
 * writing clients, and nginx's `proxy_read_timeout` closing a WebSocket the app sent nothing
 * on. Two nginx masters of our own (never the system service) proxy to one app: `front` with
 * nginx's defaults and a 3 s `worker_shutdown_timeout`, `short` with a 2 s
 * `proxy_read_timeout` so an idle socket is cut quickly. Every history is checked against the
 * SQLite file itself.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openDatabase, prepare } from '../../src/store/sqlite-handles.js';
import { browserSkipReason, launchBrowser, waitForAcks, waitForConnected } from '../support/browser.js';
import { freePort } from '../support/free-port.js';
import { LiveClient } from '../support/live-client.js';
import { nginxUnavailable, TestNginx } from '../support/nginx.js';
import { type StartedApp, startApp } from '../support/start-app.js';
import { makeTempDir } from '../support/temp-dir.js';
import { readTodos } from '../support/todo-tab.js';
import { checkHistory, sleep, sumReports, Writer } from './writers.js';

const skip = nginxUnavailable();
const WORKER_SHUTDOWN_S = 3;
const READ_TIMEOUT_S = 2;

/** Polls `condition` every 20 ms until it holds; fails with `what` after `timeoutMs`. */
async function until(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

/** `promise`, or a failure naming `what` after `ms`. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Resolves with `value` after `ms`, for races against a promise that must not settle. */
function resolveAfter(ms: number, value: string): Promise<string> {
  return new Promise((resolve) => setTimeout(() => resolve(value), ms).unref());
}

const ackedOf = (w: Writer) => [...w.history.values()].filter((o) => o.acked).length;

describe('behind a real nginx', { skip, timeout: 60_000 }, () => {
  const data = makeTempDir('proxy');
  let app: StartedApp;
  let appPort = 0;
  let front: TestNginx;
  let short: TestNginx;
  const writers: Writer[] = [];
  const clients: LiveClient[] = [];

  const startTheApp = async () => {
    app = await startApp({
      dataDir: data.path,
      port: appPort,
      env: {
        // What an operator sets behind a proxy: the address people use, and the proxy's headers honoured.
        PUBLIC_URL: front.url,
        ALLOWED_ORIGINS: `${front.url},${short.url}`,
        TRUST_PROXY: 'true',
      },
    });
  };

  before(async () => {
    appPort = await freePort();
    front = new TestNginx({ upstreamPort: appPort, workerShutdownTimeoutS: WORKER_SHUTDOWN_S });
    short = new TestNginx({ upstreamPort: appPort, proxyReadTimeoutS: READ_TIMEOUT_S });
    await front.start();
    await short.start();
    await startTheApp();
  });

  after(async () => {
    await Promise.all([...writers.map((w) => w.close()), ...clients.map((c) => c.close().catch(() => {}))]);
    await Promise.all([front?.close(), short?.close()]);
    await app?.stop();
    data.remove();
  });

  /**
   * Each user's titles as the SQLite file holds them: the app stops (releasing its exclusive
   * lock), the file is read, and the app starts again on the same file and port.
   */
  async function storedTitles(userIds: readonly string[]): Promise<Map<string, string[]>> {
    await app.stop();
    const db = openDatabase(join(data.path, 'todos.db'), { readonly: true });
    try {
      const titles = prepare(db, 'SELECT title FROM todos WHERE user_id = ? ORDER BY position').pluck();
      return new Map(userIds.map((id) => [id, titles.all(id) as string[]]));
    } finally {
      db.close();
      await startTheApp();
    }
  }

  async function checkWriters(group: readonly Writer[]) {
    const stored = await storedTitles(group.map((w) => w.userId));
    const reports = group.map((w) => {
      const report = checkHistory(w, stored.get(w.userId) ?? []);
      assert.deepEqual(report.problems, [], `${w.name}: ${report.problems.join('; ')}`);
      return report;
    });
    return sumReports(reports);
  }

  it('keeps clients writing across nginx -s reload: open sockets stay on the old worker until worker_shutdown_timeout, then reconnect to the new one', async () => {
    const group = Array.from({ length: 6 }, () => new Writer(front.url, { pauseMs: 60, reconnectBudgetMs: 15_000 }));
    writers.push(...group);
    await Promise.all(group.map((w) => w.connect()));
    const sockets = group.map((w) => w.tabs[0]!.socket);
    const closes = group.map((w) => w.tabs[0]!.closed.then((c) => ({ ...c, at: Date.now() })));
    const running = Promise.all(group.map((w) => w.run()));
    await sleep(800);

    const reloadAt = Date.now();
    const { retired, started } = await front.reload();
    const ackedAtReload = group.map(ackedOf);
    await sleep(1000);
    // Old connections are still served by the retired worker, on the same sockets.
    group.forEach((w, i) => {
      assert.equal(w.tabs[0]!.socket, sockets[i], `${w.name} kept its socket through the reload`);
      assert.equal(sockets[i]!.readyState, sockets[i]!.OPEN);
      assert.ok(ackedOf(w) > ackedAtReload[i]!, `${w.name} was acknowledged after the reload on its old socket`);
    });
    assert.deepEqual(front.workers().filter((p) => retired.includes(p)), retired, 'the retired worker still runs while it holds WebSockets');

    // At worker_shutdown_timeout the old worker drops them without a close frame (1006).
    const closed = await within(Promise.all(closes), (WORKER_SHUTDOWN_S + 3) * 1000, 'the old sockets to close');
    const closedAfterS = closed.map((c) => (c.at - reloadAt) / 1000);
    for (const c of closed) assert.equal(c.code, 1006);
    for (const s of closedAfterS) assert.ok(s >= WORKER_SHUTDOWN_S - 0.3 && s <= WORKER_SHUTDOWN_S + 2, `closed ${s.toFixed(2)} s after the reload`);
    await until(() => front.workers().every((p) => started.includes(p)), 3000, 'the retired worker to exit');

    // Every client reconnects through the new worker and goes on writing.
    const ackedAtClose = group.map(ackedOf);
    await until(() => group.every((w, i) => w.reconnects >= 1 && ackedOf(w) > ackedAtClose[i]!), 5000, 'every client writing again');
    for (const w of group) w.stop();
    await within(running, 5000, 'the writers to stop');
    const reconnects = group.map((w) => w.reconnects);
    await Promise.all(group.map((w) => w.close()));

    const total = await checkWriters(group);
    assert.ok(total.acked >= 60, `enough writes to mean something: ${JSON.stringify(total)}`);
    assert.deepEqual(reconnects, group.map(() => 1), 'one reconnect each, at the old worker shutdown');
    if (process.env.RELIABILITY_REPORT === '1') {
      process.stdout.write(`proxy-reload ${JSON.stringify({ ...total, closedAfterS: closedAfterS.map((s) => +s.toFixed(2)) })}\n`);
    }
  });

  it('lets 20 writing clients reconnect with backoff after an nginx stop and start on the same port, nothing acknowledged lost', async () => {
    const group = Array.from({ length: 20 }, () => new Writer(front.url, { pauseMs: 60, reconnectBudgetMs: 15_000 }));
    writers.push(...group);
    await Promise.all(group.map((w) => w.connect()));
    const running = Promise.all(group.map((w) => w.run()));
    await sleep(1000);
    const ackedBeforeStop = group.map(ackedOf);
    assert.ok(ackedBeforeStop.every((n) => n > 0), 'every client wrote before the stop');

    await front.stop('fast');
    const downMs = 1000;
    await sleep(downMs);
    const failedWhileDown = group.map((w) => w.failedConnects);
    const startAt = Date.now();
    await front.start();
    const upAt = Date.now();
    await until(() => group.every((w, i) => w.reconnects >= 1 && ackedOf(w) > ackedBeforeStop[i]!), 10_000, 'every client writing again');
    const backMs = Date.now() - upAt;
    await sleep(500);
    for (const w of group) w.stop();
    await within(running, 5000, 'the writers to stop');
    await Promise.all(group.map((w) => w.close()));

    // Refused while nginx was away, but with backoff (20 ms doubling to 500 ms), not a hot loop.
    for (const n of failedWhileDown) assert.ok(n >= 1 && n <= 15, `${n} refused attempts in ${downMs} ms`);
    assert.ok(backMs < 5000, `every client was back ${backMs} ms after nginx listened again`);
    const total = await checkWriters(group);
    assert.ok(total.acked >= 200, `enough writes to mean something: ${JSON.stringify(total)}`);
    assert.equal(front.starts, 2);
    if (process.env.RELIABILITY_REPORT === '1') {
      const failed = failedWhileDown.toSorted((a, b) => a - b);
      process.stdout.write(
        `proxy-restart ${JSON.stringify({ ...total, startMs: upAt - startAt, backMs, failedWhileDown: [failed[0], failed.at(-1)] })}\n`,
      );
    }
  });

  it(`keeps a socket that sends heartbeats open past several ${READ_TIMEOUT_S} s proxy_read_timeouts, and cuts a silent one after about the timeout; it rejoins with nothing lost`, async () => {
    const beating = await LiveClient.open(short.url, '/');
    clients.push(beating);
    assert.equal((await beating.join()).status, 'ok');
    let beatingClosed: number | null = null;
    void beating.closed.then(() => (beatingClosed = Date.now()));
    // Heartbeats every 0.7 s from the join on, for 3.5 timeouts: the official client's 30 s
    // against nginx's 60 s default, scaled down.
    const beatStart = Date.now();
    const heartbeats = (async () => {
      let answered = 0;
      while (Date.now() < beatStart + READ_TIMEOUT_S * 3500) {
        await sleep(700);
        if (beatingClosed !== null) throw new Error(`the heartbeating socket was closed ${(beatingClosed - beatStart) / 1000} s after its join`);
        if ((await beating.heartbeat()).status === 'ok') answered++;
      }
      return answered;
    })();
    // Awaited below; this only keeps a failure before then from being an unhandled rejection.
    heartbeats.catch(() => {});

    const silent = await LiveClient.open(short.url, '/');
    clients.push(silent);
    assert.equal((await silent.join()).status, 'ok');
    const silentClosed = silent.closed.then((c) => ({ ...c, at: Date.now() }));
    // nginx moves a running timer only when it would shift by more than 300 ms
    // (NGX_TIMER_LAZY_DELAY): wait that long after the join so the add re-arms the timeout.
    await sleep(400);
    const addSentAt = Date.now();
    assert.equal((await silent.submit('add', { op: 'idle-op-1', title: 'before the idle cut' })).status, 'ok');
    const lastByteAt = Date.now();
    assert.deepEqual(readTodos(silent.html()).map((t) => t.title), ['before the idle cut']);

    const [answered, cut] = await Promise.all([heartbeats, Promise.race([silentClosed, resolveAfter(READ_TIMEOUT_S * 4000, 'still open')])]);
    assert.ok(answered >= 9, `${answered} heartbeats answered`);
    assert.equal(beatingClosed, null, 'the heartbeating socket is still open');
    assert.equal((await beating.submit('add', { op: 'beat-op-1', title: 'after heartbeats' })).status, 'ok');

    assert.notEqual(cut, 'still open', 'nginx closed the silent socket');
    const { code, at } = cut as { code: number; at: number };
    const cutAfterS = (at - lastByteAt) / 1000;
    assert.equal(code, 1006, 'closed without a close frame');
    // The timeout runs from the add's request at the latest (its reply may re-arm it).
    const cutAfterSendS = (at - addSentAt) / 1000;
    assert.ok(cutAfterSendS >= READ_TIMEOUT_S - 0.1, `closed ${cutAfterSendS.toFixed(2)} s after the last request`);
    assert.ok(cutAfterS <= READ_TIMEOUT_S + 1.5, `closed ${cutAfterS.toFixed(2)} s after the last byte`);

    // The client's usual recovery: a new socket, a rejoin showing the saved list, and a write.
    assert.equal((await silent.reconnect()).status, 'ok');
    assert.deepEqual(readTodos(silent.html()).map((t) => t.title), ['before the idle cut']);
    assert.equal((await silent.submit('add', { op: 'idle-op-2', title: 'after the rejoin' })).status, 'ok');
    assert.deepEqual(readTodos(silent.html()).map((t) => t.title), ['before the idle cut', 'after the rejoin']);

    const silentUser = silent.jar.get('todo_live_session')!.split('.')[0]!;
    const beatingUser = beating.jar.get('todo_live_session')!.split('.')[0]!;
    await Promise.all([beating.close(), silent.close()]);
    const stored = await storedTitles([silentUser, beatingUser]);
    assert.deepEqual(stored.get(silentUser), ['before the idle cut', 'after the rejoin']);
    assert.deepEqual(stored.get(beatingUser), ['after heartbeats']);
    if (process.env.RELIABILITY_REPORT === '1') process.stdout.write(`proxy-idle ${JSON.stringify({ answered, cutAfterS, cutAfterSendS })}\n`);
  });

  const noBrowser = browserSkipReason();
  it('shows the reconnect banner in Chromium while nginx is stopped, and comes back live after it starts', { skip: noBrowser, timeout: 30_000 }, async () => {
    const browser = await launchBrowser();
    try {
      const page = await browser.newPage();
      await page.goto(front.url);
      await waitForConnected(page);
      await page.fill('.new-todo', 'through the proxy');
      await page.press('.new-todo', 'Enter');
      await page.waitForSelector('.todo-list li');
      await waitForAcks(page);

      // The socket's own failed reconnects are expected while nginx is down.
      page.guard.tolerate(/^WebSocket connection to '[^']*' failed: .*net::ERR_(CONNECTION_REFUSED|SOCKET_NOT_CONNECTED|CONNECTION_RESET)$/);
      await front.stop('fast');
      await page.waitForSelector('#client-error', { state: 'visible', timeout: 10_000 });
      await front.start();
      const upAt = Date.now();
      await page.waitForSelector('[data-phx-main].phx-connected', { timeout: 10_000 });
      await page.waitForSelector('#client-error', { state: 'hidden' });
      const backMs = Date.now() - upAt;
      assert.deepEqual(await page.locator('.todo-list li label').allTextContents(), ['through the proxy']);
      await page.fill('.new-todo', 'after the restart');
      await page.press('.new-todo', 'Enter');
      await page.waitForFunction(() => document.querySelectorAll('.todo-list li').length === 2);
      await waitForAcks(page);
      assert.deepEqual(await page.locator('.todo-list li label').allTextContents(), ['through the proxy', 'after the restart']);
      page.guard.assertClean();
      if (process.env.RELIABILITY_REPORT === '1') process.stdout.write(`proxy-browser ${JSON.stringify({ backMs })}\n`);
    } finally {
      await browser.close();
    }
  });
});
