/**
 * The long fuzz run: random frames and TodoMVC event payloads against the real app on a temp
 * data dir (see test/reliability/fuzz-harness.ts for what is sent and what is checked).
 *
 *   npm run fuzz -- --runs 100000 [--seed 1]
 *
 * Exits 1 with the findings when any property failed.
 */
import { parseArgs } from 'node:util';
import { startApp } from '../test/support/start-app.js';
import { runFuzz } from '../test/reliability/fuzz-harness.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '100000' },
    seed: { type: 'string', default: String(Date.now() % 1_000_000) },
  },
});
const runs = Number(values.runs);
const seed = Number(values.seed);
if (!Number.isInteger(runs) || runs <= 0 || !Number.isInteger(seed)) {
  process.stderr.write(`expected --runs and --seed to be integers, got ${values.runs} and ${values.seed}\n`);
  process.exit(2);
}

const started = Date.now();
const server = await startApp();
process.stdout.write(`fuzzing ${runs} cases with seed ${seed} against ${server.url}\n`);
let stats: Awaited<ReturnType<typeof runFuzz>>;
try {
  stats = await runFuzz(server, {
    runs,
    seed,
    checkEvery: 1000,
    onProgress: (s) => {
      if (s.cases % 10_000 === 0) process.stdout.write(`  ${s.cases} cases, ${s.replies} replies, ${s.sockets} sockets, ${s.failures.length} findings\n`);
    },
  });
} finally {
  await server.stop();
  server.remove();
}
const seconds = ((Date.now() - started) / 1000).toFixed(1);
process.stdout.write(`${JSON.stringify({ ...stats, failures: stats.failures.length, seed, seconds: Number(seconds) })}\n`);
if (stats.failures.length > 0 || stats.silent > 0 || stats.uncaught > 0) {
  process.stderr.write(`findings:\n${stats.failures.map((f) => `  ${f}`).join('\n')}\n`);
  process.exit(1);
}
process.exit(0);
