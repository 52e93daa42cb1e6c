/**
 * The frame and event fuzzer in its CI size (2,000 cases, fixed seed); `npm run fuzz -- --runs
 * 100000` is the long run. What it checks is described in `fuzz-harness.ts`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type StartedApp, startApp } from '../support/start-app.js';
import { runFuzz } from './fuzz-harness.js';

let server: StartedApp;

before(async () => {
  server = await startApp();
});

after(async () => {
  await server.stop();
  server.remove();
});

describe('fuzzing frames and event payloads against the real app', () => {
  it('answers or closes on 2,000 random frames and events, with no crash and a bystander untouched', { timeout: 50_000 }, async () => {
    const runs = Number(process.env.FUZZ_RUNS ?? 2000);
    const stats = await runFuzz(server, { runs, seed: Number(process.env.FUZZ_SEED ?? 1124), checkEvery: 200 });
    assert.deepEqual(stats.failures, []);
    assert.equal(stats.cases, runs);
    assert.equal(stats.silent, 0);
    assert.equal(stats.uncaught, 0);
    assert.ok(stats.replies > runs / 2, `most cases reached a handler and were answered: ${stats.replies}`);
    assert.ok(stats.bystanderChecks >= runs / 200);
    // Close codes are the protocol's: bad data, binary, policy, too big.
    for (const code of Object.keys(stats.closes)) assert.ok(['1003', '1007', '1008', '1009'].includes(code), `close code ${code}`);
  });
});
