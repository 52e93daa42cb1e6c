import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { postgresUnavailable, startPostgres, type TestPostgres } from '../support/postgres.js';
import { type StartedApp, startApp } from '../support/start-app.js';
import { TodoTab } from '../support/todo-tab.js';

const skip = postgresUnavailable();

describe('two app nodes on one PostgreSQL database', { skip, timeout: 90_000 }, () => {
  let pg: TestPostgres;
  let nodeA: StartedApp;
  let nodeB: StartedApp;
  const tabs: TodoTab[] = [];

  before(async () => {
    pg = await startPostgres();
    const url = await pg.createDatabase();
    nodeA = await startApp({ env: { DATABASE_URL: url } });
    nodeB = await startApp({ env: { DATABASE_URL: url } });
  });

  after(async () => {
    await Promise.all(tabs.map((t) => t.close().catch(() => {})));
    await nodeA?.stop();
    await nodeB?.stop();
    nodeA?.remove();
    nodeB?.remove();
    await pg?.stop();
  });

  it("a user's tabs on different nodes see each other's changes, and concurrent writes all land", async () => {
    const onA = await TodoTab.open(nodeA.url);
    tabs.push(onA);
    // Same browser (same signed cookie, same secret) on the other node.
    const onB = await TodoTab.open(nodeB.url, '/', { jar: onA.client.jar });
    tabs.push(onB);

    await onA.add('written on A');
    await onB.until((t) => t.titles().includes('written on A'), 'node B to hear about the commit on A');
    await onB.toggle('written on A');
    await onA.until((t) => t.todos()[0]?.completed === true, 'node A to hear about the toggle on B');

    // Both nodes hold a server for the user; each writes against its cached version, so one
    // of them conflicts, reloads and retries. Nothing is lost either way.
    await Promise.all([onA.add('A again'), onB.add('B again')]);
    const expected = ['written on A', 'A again', 'B again'].sort();
    await onA.until((t) => [...t.titles()].sort().join() === expected.join(), 'node A to converge');
    await onB.until((t) => [...t.titles()].sort().join() === expected.join(), 'node B to converge');
    assert.deepEqual(onA.titles(), onB.titles(), 'both show the same order');
  });
});
