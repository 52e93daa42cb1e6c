/**
 * A bounded soak of the real app (a child process on a temp data dir): scripted browsers add,
 * toggle and delete todos at a steady rate while others come and go, and user servers idle
 * out and start again. Every sample records the app's RSS, V8 heap (after two collections),
 * open file descriptors and live timers; at the end the clients leave and the app must return
 * to its idle footprint.
 *
 *   npm run soak -- --minutes 20 [--users 20] [--sample-seconds 15]
 *
 * Fails (exit 1) when, between the first sample under load and the last one, or between the
 * idle sample before the load and the one after it, memory or handles grew beyond the bounds
 * printed at the start.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { AppProcess, fdCount, rssBytes } from '../test/reliability/app-process.js';
import { sleep, Writer } from '../test/reliability/writers.js';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '2' },
    users: { type: 'string', default: '20' },
    'sample-seconds': { type: 'string', default: '15' },
    'max-heap-growth-mib': { type: 'string', default: '16' },
    'max-rss-growth-mib': { type: 'string', default: '48' },
    'max-fd-growth': { type: 'string', default: '8' },
    'max-timer-growth': { type: 'string', default: '8' },
  },
});
const minutes = Number(values.minutes);
const users = Number(values.users);
const sampleMs = Number(values['sample-seconds']) * 1000;
const MiB = 1024 * 1024;
const bounds = {
  heap: Number(values['max-heap-growth-mib']) * MiB,
  rss: Number(values['max-rss-growth-mib']) * MiB,
  fds: Number(values['max-fd-growth']),
  timers: Number(values['max-timer-growth']),
};
if (!(minutes > 0) || !(users > 0) || !(sampleMs >= 1000)) {
  process.stderr.write('expected --minutes > 0, --users > 0 and --sample-seconds >= 1\n');
  process.exit(2);
}

interface Sample {
  at: number;
  phase: 'idle-before' | 'load' | 'idle-after';
  clients: number;
  rss: number;
  heapUsed: number;
  /** Memory of C++ objects bound to JS (Buffers, SQLite handles): outside the heap, inside RSS. */
  external: number;
  fds: number;
  timers: number;
  sockets: number;
  ops: number;
}

const root = new URL('..', import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), 'todo-live-soak-'));
const statsFile = join(work, 'stats.json');
const app = new AppProcess({
  dataDir: join(work, 'data'),
  nodeArgs: ['--expose-gc', '--import', join(root, 'test/reliability/soak-preload.mjs')],
  // Short idle time: user servers stop and start again many times during the soak.
  env: { SOAK_STATS_FILE: statsFile, USER_IDLE_MS: '3000', LOG_LEVEL: 'error' },
});

async function sample(phase: Sample['phase'], clients: number, ops: number): Promise<Sample> {
  rmSync(statsFile, { force: true });
  process.kill(app.pid, 'SIGUSR2');
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    try {
      const report = JSON.parse(readFileSync(statsFile, 'utf8')) as { heapUsed: number; external: number; resources: Record<string, number>; gc: boolean };
      if (!report.gc) throw new Error('the app runs without --expose-gc');
      return {
        at: Date.now(),
        phase,
        clients,
        rss: rssBytes(app.pid),
        heapUsed: report.heapUsed,
        external: report.external,
        fds: fdCount(app.pid),
        timers: report.resources.Timeout ?? 0,
        sockets: report.resources.TCPSocketWrap ?? 0,
        ops,
      };
    } catch (err) {
      if (err instanceof Error && err.message.includes('expose-gc')) throw err;
      await sleep(50);
    }
  }
  throw new Error('the app did not report its heap within 20 s');
}

const started = Date.now();
const samples: Sample[] = [];
const writers = new Set<Writer>();
let connects = 0;
let disconnects = 0;
const failures: string[] = [];

let retiredOps = 0;
const opsSoFar = () => retiredOps + [...writers].reduce((n, w) => n + w.okReplies, 0);

async function addWriter(): Promise<void> {
  const w = new Writer(app.url, { tabs: 1 + Math.floor(Math.random() * 2), pauseMs: 150, churn: true, reconnectBudgetMs: 10_000 });
  await w.connect();
  connects += w.tabs.length;
  writers.add(w);
  w.run().catch((err: unknown) => failures.push(`${w.name}: ${String(err)}`));
}

async function removeWriter(): Promise<void> {
  const w = [...writers][Math.floor(Math.random() * writers.size)];
  if (w === undefined) return;
  writers.delete(w);
  disconnects += w.tabs.length;
  await w.close();
  retiredOps += w.okReplies;
}

try {
  await app.start();
  process.stdout.write(
    `soak: ${minutes} min, ${users} browsers, sample every ${sampleMs / 1000} s, pid ${app.pid}; bounds: heap +${bounds.heap / MiB} MiB, rss +${bounds.rss / MiB} MiB, fds +${bounds.fds}, timers +${bounds.timers}\n`,
  );
  // Warm the app up (JIT, pools, the first users), then let it go idle for the baseline.
  for (let i = 0; i < Math.min(5, users); i++) await addWriter();
  await sleep(5000);
  while (writers.size > 0) await removeWriter();
  await sleep(4000);
  samples.push(await sample('idle-before', 0, opsSoFar()));

  for (let i = 0; i < users; i++) await addWriter();
  const loadEnds = Date.now() + minutes * 60_000;
  let nextSample = Date.now() + sampleMs;
  while (Date.now() < loadEnds) {
    // Browsers come and go: about one in ten changes every two seconds.
    await sleep(2000);
    const churn = Math.max(1, Math.round(users / 10));
    for (let i = 0; i < churn; i++) await removeWriter();
    for (let i = 0; i < churn; i++) await addWriter();
    if (Date.now() >= nextSample) {
      const s = await sample('load', writers.size, opsSoFar());
      samples.push(s);
      process.stdout.write(
        `  ${((s.at - started) / 1000).toFixed(0).padStart(5)} s  ops ${String(s.ops).padStart(7)}  rss ${(s.rss / MiB).toFixed(1)} MiB  heap ${(s.heapUsed / MiB).toFixed(1)} MiB  external ${(s.external / MiB).toFixed(1)} MiB  fds ${s.fds}  timers ${s.timers}  sockets ${s.sockets}\n`,
      );
      nextSample += sampleMs;
    }
  }
  while (writers.size > 0) await removeWriter();
  // Let the user servers idle out (USER_IDLE_MS) and sockets finish closing.
  await sleep(6000);
  samples.push(await sample('idle-after', 0, opsSoFar()));
} catch (err) {
  failures.push(`soak aborted: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
} finally {
  for (const w of writers) await w.close();
  const status = await app.stop();
  if (status !== null && status.code !== 0) failures.push(`the app exited with ${status.code ?? status.signal} on SIGTERM`);
  rmSync(work, { recursive: true, force: true });
}

const idleBefore = samples.find((s) => s.phase === 'idle-before');
const idleAfter = samples.find((s) => s.phase === 'idle-after');
const load = samples.filter((s) => s.phase === 'load');
const firstLoad = load[0];
const lastLoad = load.at(-1);
const check = (what: string, from: number, to: number, bound: number, unit: (n: number) => string) => {
  if (to - from > bound) failures.push(`${what} grew from ${unit(from)} to ${unit(to)}, more than the bound of ${unit(bound)}`);
};
const mb = (n: number) => `${(n / MiB).toFixed(1)} MiB`;
const count = (n: number) => String(n);
if (idleBefore !== undefined && idleAfter !== undefined) {
  check('idle heap', idleBefore.heapUsed, idleAfter.heapUsed, bounds.heap, mb);
  check('idle RSS', idleBefore.rss, idleAfter.rss, bounds.rss, mb);
  check('idle file descriptors', idleBefore.fds, idleAfter.fds, bounds.fds, count);
  check('idle timers', idleBefore.timers, idleAfter.timers, bounds.timers, count);
}
if (firstLoad !== undefined && lastLoad !== undefined && lastLoad !== firstLoad) {
  check('heap under load', firstLoad.heapUsed, lastLoad.heapUsed, bounds.heap, mb);
  check('RSS under load', firstLoad.rss, lastLoad.rss, bounds.rss, mb);
}
const summary = {
  minutes,
  browsers: users,
  acknowledgedOps: opsSoFar(),
  opsPerSecond: lastLoad !== undefined && firstLoad !== undefined && lastLoad !== firstLoad ? Math.round((lastLoad.ops - firstLoad.ops) / ((lastLoad.at - firstLoad.at) / 1000)) : null,
  connects,
  disconnects,
  samples: samples.length,
  idleBefore,
  firstLoad,
  lastLoad,
  idleAfter,
  maxRss: Math.max(...samples.map((s) => s.rss)),
  maxHeap: Math.max(...samples.map((s) => s.heapUsed)),
  maxFds: Math.max(...samples.map((s) => s.fds)),
  failures,
};
process.stdout.write(`${JSON.stringify(summary)}\n`);
if (failures.length > 0) {
  process.stderr.write(`soak failed:\n${failures.map((f) => `  ${f}`).join('\n')}\n`);
  process.exit(1);
}
process.exit(0);
