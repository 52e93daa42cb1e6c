/**
 * "Nothing lost", proven the Jepsen way on loopback (design §2.4, §2.6): several browsers,
 * two tabs each, add todos with their own operation ids while the app process is killed with
 * SIGKILL and restarted, again and again. Kills land before a commit, between commit and
 * ack, and after the ack; the clients reconnect and resubmit what was in flight with the same
 * operation id. Afterwards the history is checked against the database file itself.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { openDatabase, prepare } from '../../src/store/sqlite-handles.js';
import { makeTempDir } from '../support/temp-dir.js';
import { AppProcess } from './app-process.js';
import { checkHistory, type HistoryReport, sleep, sumReports, Writer } from './writers.js';

const dir = makeTempDir('nothing-lost');
const app = new AppProcess({ dataDir: dir.path });
const writers: Writer[] = [];
/** Kills in one run; CI keeps it short, a longer run sets RELIABILITY_KILLS. */
const kills = Number(process.env.RELIABILITY_KILLS ?? 6);

after(async () => {
  await Promise.all(writers.map((w) => w.close()));
  await app.stop();
  dir.remove();
});

/** Reads one user's titles and operation ids straight from the SQLite file (app stopped). */
function readDatabase(userIds: readonly string[]): Map<string, { titles: string[]; ops: string[] }> {
  const db = openDatabase(join(dir.path, 'todos.db'), { readonly: true });
  try {
    const out = new Map<string, { titles: string[]; ops: string[] }>();
    for (const id of userIds) {
      const titles = prepare(db, 'SELECT title FROM todos WHERE user_id = ? ORDER BY position').pluck().all(id) as string[];
      const ops = prepare(db, 'SELECT op_id FROM operations WHERE user_id = ?').pluck().all(id) as string[];
      out.set(id, { titles, ops });
    }
    return out;
  } finally {
    db.close();
  }
}

describe('nothing lost under SIGKILL', () => {
  it('keeps every acknowledged add exactly once across repeated kills and restarts, and tabs converge', { timeout: 60_000 + kills * 10_000 }, async () => {
    await app.start();
    for (let i = 0; i < 4; i++) writers.push(new Writer(app.url, { tabs: 2, pauseMs: 40 }));
    await Promise.all(writers.map((w) => w.connect()));
    const running = Promise.all(writers.map((w) => w.run()));

    let rng = 20261124;
    const random = () => {
      rng = (rng * 1103515245 + 12345) % 2 ** 31;
      return rng / 2 ** 31;
    };
    for (let k = 0; k < kills; k++) {
      await sleep(300 + random() * 900);
      const status = await app.kill('SIGKILL');
      assert.equal(status.signal, 'SIGKILL');
      await sleep(random() * 300);
      await app.start();
    }
    await sleep(1500);
    for (const w of writers) w.stop();
    await running;

    // Tabs of one browser converge on the same list.
    for (const w of writers) {
      const deadline = Date.now() + 5000;
      while (JSON.stringify(w.shown(0)) !== JSON.stringify(w.shown(1)) && Date.now() < deadline) await sleep(50);
      assert.deepEqual(w.shown(0), w.shown(1), `${w.name}: both tabs show the same list`);
    }
    const shownAtEnd = new Map(writers.map((w) => [w.userId, w.shown(0)]));
    await Promise.all(writers.map((w) => w.close()));
    assert.equal((await app.stop())?.code, 0, 'the last app stops cleanly');

    const stored = readDatabase(writers.map((w) => w.userId));
    const reports: HistoryReport[] = [];
    for (const w of writers) {
      const { titles, ops } = stored.get(w.userId)!;
      const report = checkHistory(w, titles);
      reports.push(report);
      assert.deepEqual(report.problems, [], `${w.name}: ${report.problems.join('; ')}`);
      assert.deepEqual(shownAtEnd.get(w.userId), titles, `${w.name}: the page showed what the file holds`);
      const sentOps = new Set([...w.history.values()].filter((o) => o.attempts > 0).map((o) => o.opId));
      for (const op of ops) assert.ok(sentOps.has(op), `${w.name}: operation ${op} in the file was never sent`);
      for (const o of w.history.values()) if (o.acked) assert.ok(ops.includes(o.opId), `${w.name}: acknowledged ${o.opId} has its operation row`);
    }
    const total = sumReports(reports);
    assert.ok(total.acked >= 100, `enough writes to mean something: ${JSON.stringify(total)}`);
    assert.equal(app.starts, kills + 1);
    if (process.env.RELIABILITY_REPORT === '1') process.stdout.write(`nothing-lost ${JSON.stringify({ kills, ...total })}\n`);
  });
});
