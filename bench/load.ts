/**
 * The load benchmark: simulated browsers against a live TodoMVC server, next to raw
 * baselines measured in the same run.
 *
 *   npm run bench:load                                # builds and starts our app, all scenarios
 *   npm run bench:load -- --peer                      # also the LiveViewJS peer, side by side
 *   npm run bench:load -- --url http://127.0.0.1:4000 --scenario steady,wire
 *   npm run bench:load -- --scenario idle --users 2000
 *
 * Each simulated tab acts like the browser: GET the page (cookie, CSRF meta tag, container
 * id and tokens), open `/live/websocket?_csrf_token=…&vsn=2.0.0` with the app's Origin, join,
 * heartbeat every 30 s, and send the events the page's controls send. Scenarios:
 *
 *   idle    N users with 100 todos each: server RSS and heap per user, servers resident and
 *           after they stopped for idleness; users a 2 GiB node holds, from the slope
 *   steady  a fixed total event rate over users × tabs: round trip p50/p99/max, server CPU
 *           per event; swept over several rates for the plot, then the fixed rate again until
 *           every server has `--repeats` windows of it, taken in turn with the baselines (the
 *           figures are the medians of the windows); with `--draft-share F`, that share of
 *           the events are keystrokes in the new-todo field (which store nothing) instead of
 *           toggles, and the round trips of each kind are reported apart
 *   max     closed loop: durable events per second
 *   storm   every tab reconnects at once after a restart: activations per second, time to
 *           full service, cold activation one at a time; `--storm-repeats` storms per server,
 *           in turn with the raw baseline's (the figures are the median storm's)
 *   wire    bytes per add, toggle, edit, delete, toggle all; a toggle in lists of 100, 1,000
 *           and 10,000; the mount of 100 todos
 *
 * Baselines in the same run: a bare `ws` server (idle sockets; a JSON echo with the same
 * frame sizes; the same echo sent only after a SQLite commit of each frame, WAL and
 * synchronous=FULL, the frames of one event-loop turn sharing a commit) and single-commit
 * SQLite (WAL, synchronous=FULL, one INSERT per transaction).
 * Loopback only; bounded in time (`--time-limit`); the servers run as child processes and are
 * stopped on exit. Results: stdout, `bench/results/load.json`, `bench/results/load.md`, and
 * the plot `docs/load-latency.svg`.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { sqliteSingleCommit } from './load/baselines.js';
import { LiveTab, sourceAddresses } from './load/client.js';
import { type Dialect, detectDialect, type EventPayload, LIVEVIEWJS, TODO_LIVE } from './load/dialect.js';
import { ensureFileLimit, fileLimits } from './load/fd-limit.js';
import { type IdleResult, runIdle } from './load/idle.js';
import { type Cookies, fetchPage } from './load/page.js';
import { machineText, sampleMemory } from './load/proc.js';
import { RAW_DURABLE, RAW_DURABLE_THREAD, RAW_STORM, renderReport } from './load/report.js';
import { appSpec, buildApp, LOAD_SECRET, peerSpec, preparePeer, ROOT, rawSpec, ServerProcess } from './load/servers.js';
import { latencyPlot } from './load/svg.js';
import { medianStorm, type StormResult, runStorm } from './load/storm.js';
import { closedLoop, medianOfWindows, openLoop, quiesce, type Sender, type TrafficResult } from './load/traffic.js';
import { jarFor, newUserIds, openTab, pool, seedSqlite, seedThroughEvents, type UserTab } from './load/users.js';
import { measureEvent, type WireSample } from './load/wire.js';

const SCENARIOS = ['idle', 'steady', 'max', 'storm', 'wire'] as const;
type Scenario = (typeof SCENARIOS)[number];

const { values: args } = parseArgs({
  options: {
    url: { type: 'string' },
    pid: { type: 'string' },
    peer: { type: 'boolean', default: false },
    'peer-url': { type: 'string' },
    'peer-pid': { type: 'string' },
    scenario: { type: 'string', default: 'all' },
    users: { type: 'string', default: '10000' },
    steps: { type: 'string', default: '4' },
    'peer-users': { type: 'string', default: '1000' },
    todos: { type: 'string', default: '100' },
    'idle-ms': { type: 'string', default: '150000' },
    'steady-users': { type: 'string', default: '1000' },
    tabs: { type: 'string', default: '1' },
    rate: { type: 'string', default: '2000' },
    rates: { type: 'string', default: '250,500,1000,2000,3000,4000' },
    repeats: { type: 'string', default: '5' },
    'draft-share': { type: 'string', default: '0' },
    duration: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '1' },
    'max-users': { type: 'string', default: '1000' },
    'storm-users': { type: 'string', default: '5000' },
    cold: { type: 'string', default: '100' },
    // Under Node's default listen backlog of 511, so the storm measures the server, not SYN drops.
    'storm-concurrency': { type: 'string', default: '500' },
    'storm-repeats': { type: 'string', default: '3' },
    'wire-sizes': { type: 'string', default: '100,1000,10000' },
    sources: { type: 'string', default: '8' },
    concurrency: { type: 'string', default: '64' },
    'time-limit': { type: 'string', default: '2400' },
    'no-build': { type: 'boolean', default: false },
    synchronous: { type: 'string', default: 'FULL' },
    profile: { type: 'string' },
    'node-args': { type: 'string' },
    'keep-logs': { type: 'boolean', default: false },
    'heap-snapshots': { type: 'string' },
    out: { type: 'string', default: join(ROOT, 'bench/results/load.json') },
    md: { type: 'string', default: join(ROOT, 'bench/results/load.md') },
    svg: { type: 'string', default: join(ROOT, 'docs/load-latency.svg') },
    help: { type: 'boolean', default: false },
  },
});

await ensureFileLimit();

if (args.help) {
  process.stdout.write(`${(await import('node:fs')).readFileSync(new URL(import.meta.url), 'utf8').split('*/')[0]}*/\n`);
  process.exit(0);
}

const num = (name: keyof typeof args): number => {
  const v = Number(args[name]);
  if (!Number.isFinite(v) || v < 0) throw new Error(`--${name}: expected a non-negative number, got ${String(args[name])}`);
  return v;
};
const list = (s: string | undefined): number[] => (s ?? '').split(',').filter((x) => x !== '').map(Number);

const scenarios = new Set<Scenario>(
  args.scenario === 'all' ? SCENARIOS : (args.scenario ?? '').split(',').map((s) => {
    if (!(SCENARIOS as readonly string[]).includes(s)) throw new Error(`--scenario: expected one of ${SCENARIOS.join(', ')} or all, got ${s}`);
    return s as Scenario;
  }),
);
const TODOS = num('todos');
const SOURCES = sourceAddresses(num('sources'));
const CONCURRENCY = num('concurrency');
const WARMUP_MS = num('warmup') * 1000;
const DURATION_MS = num('duration') * 1000;
const startedAt = new Date();
/** With --profile <dir>, our app writes a V8 CPU profile there each time it stops. */
const APP_NODE_ARGS = [
  ...(args.profile === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${args.profile}`]),
  // e.g. `--node-args="--trace-gc --trace-gc-nvp"`; with --keep-logs the output stays in the work dir.
  ...(args['node-args'] ?? '').split(' ').filter((a) => a !== ''),
];
/** With --heap-snapshots <dir>, our app writes a heap snapshot there at every memory sample. */
const APP_ENV: Record<string, string> = {
  SQLITE_SYNCHRONOUS: args.synchronous === 'NORMAL' ? 'NORMAL' : 'FULL',
  ...(args['heap-snapshots'] === undefined ? {} : { LOAD_HEAP_SNAPSHOT_DIR: args['heap-snapshots'] }),
};
const log = (line: string) => process.stdout.write(`${line}\n`);

for (const url of [args.url, args['peer-url']]) {
  if (url !== undefined && !/^127\.\d+\.\d+\.\d+$/.test(new URL(url).hostname)) {
    throw new Error(`expected a loopback URL (127.0.0.0/8), got ${url}`);
  }
}

// Everything started here is stopped on the way out, whatever happens.
const servers: ServerProcess[] = [];
const workDir = mkdtempSync(join(tmpdir(), 'todo-live-load-'));
let succeeded = false;
const cleanup = async () => {
  await Promise.allSettled(servers.map((s) => s.stop(5_000)));
  // After a failure the servers' logs are kept for a look.
  if (succeeded && !args['keep-logs']) rmSync(workDir, { recursive: true, force: true });
  else log(`server logs kept in ${workDir}`);
};
const watchdog = setTimeout(() => {
  log(`time limit of ${args['time-limit']} s reached: stopping, with the results so far`);
  void cleanup().finally(() => {
    writeResults();
    process.exit(2);
  });
}, num('time-limit') * 1000);
watchdog.unref();
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    void cleanup().finally(() => process.exit(130));
  });
}

/** A measured server: where it is, how to talk to it, its pid for /proc when known. */
interface Target {
  label: string;
  url: string;
  dialect: Dialect;
  server: ServerProcess | null;
  pid: number | null;
  /** True when we started it and may seed its database directly. */
  owned: boolean;
}

const pidOf = (t: Target): number | null => (t.server !== null ? t.server.pid : t.pid);
let sourceIndex = 0;
const nextSource = () => SOURCES[sourceIndex++ % SOURCES.length];

/** A user's browser: a cookie jar, plus the id we seeded (our app, when we started it). */
interface SimUser {
  jar: Cookies;
}

async function connectUser(t: Target, u: SimUser): Promise<UserTab> {
  return openTab(t.url, '/', u.jar, nextSource());
}

// ---------------------------------------------------------------------------------------------

const results: Record<string, unknown> = {
  date: startedAt.toISOString(),
  node: process.version,
  nproc: cpus().length,
  loadavgStart: loadavg(),
  fileLimit: fileLimits(),
  command: `npm run bench:load -- ${process.argv.slice(2).join(' ')}`.trim(),
  options: args,
};
const idleResults: Record<string, IdleResult> = {};
const sweep: Record<string, TrafficResult[]> = {};
const steady: Record<string, TrafficResult> = {};
/** Every window at the fixed rate (`--rate`), in the order taken; `steady` holds their medians. */
const steadyWindows: Record<string, TrafficResult[]> = {};
const max: Record<string, TrafficResult> = {};
const storms: Record<string, StormResult> = {};
const stormRuns: Record<string, StormResult[]> = {};
const wire: Record<string, Record<string, WireSample | null>> = {};

async function main(): Promise<void> {
  const usersWanted = num('users');
  const steadyUsers = num('steady-users');
  const maxUsers = num('max-users');
  const stormUsers = num('storm-users');
  const wireSizes = list(args['wire-sizes']);
  const needTraffic = scenarios.has('steady') || scenarios.has('max') || scenarios.has('storm') || scenarios.has('wire');

  // --- our app: started here (seeded straight into SQLite) or reached at --url -------------
  let ours: Target;
  let ourUsers: SimUser[] = [];
  let wireUsers: Map<number, SimUser> = new Map();
  let dataDir = '';
  const trafficUserCount = Math.max(steadyUsers, maxUsers, stormUsers);
  if (args.url === undefined) {
    if (!args['no-build']) log('building the app (npm run build)…');
    buildApp(args['no-build']);
    dataDir = join(workDir, 'data');
    const count = Math.max(scenarios.has('idle') ? usersWanted : 0, needTraffic ? trafficUserCount : 0);
    const ids = newUserIds(count);
    const wireIds = new Map(wireSizes.map((n) => [n, newUserIds(1)[0] as string]));
    const actionsId = newUserIds(1)[0] as string;
    const started = performance.now();
    await seedSqlite(join(dataDir, 'todos.db'), [
      ...ids.map((id) => ({ id, todos: TODOS })),
      ...[...wireIds].map(([n, id]) => ({ id, todos: n })),
      { id: actionsId, todos: TODOS },
    ], join(ROOT, 'dist/src/store/index.js'));
    log(`seeded ${count} users × ${TODOS} todos and ${wireIds.size + 1} wire users in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    ourUsers = ids.map((id) => ({ jar: jarFor(id, LOAD_SECRET) }));
    wireUsers = new Map([...wireIds].map(([n, id]) => [n, { jar: jarFor(id, LOAD_SECRET) }]));
    wireUsers.set(-1, { jar: jarFor(actionsId, LOAD_SECRET) });
    ours = { label: 'todo-live', url: '', dialect: TODO_LIVE, server: null, pid: null, owned: true };
  } else {
    const page = await fetchPage(args.url, new Map());
    ours = { label: 'app at --url', url: args.url, dialect: detectDialect(page.html), server: null, pid: args.pid === undefined ? null : Number(args.pid), owned: false };
    ours.label = ours.dialect.name;
  }

  // --- the peer ---------------------------------------------------------------------------
  let peer: Target | null = null;
  if (args.peer || args['peer-url'] !== undefined) {
    if (args['peer-url'] !== undefined) {
      peer = { label: 'liveviewjs', url: args['peer-url'], dialect: LIVEVIEWJS, server: null, pid: args['peer-pid'] === undefined ? null : Number(args['peer-pid']), owned: false };
    } else {
      log('preparing the LiveViewJS peer (copy, npm install, build)…');
      const peerDir = preparePeer();
      const server = new ServerProcess(await peerSpec(workDir, peerDir));
      servers.push(server);
      await server.start();
      peer = { label: 'liveviewjs', url: server.url, dialect: LIVEVIEWJS, server, pid: null, owned: true };
    }
  }

  // --- memory: raw sockets, ours, the peer ------------------------------------------------
  if (scenarios.has('idle')) {
    const stepsOf = (n: number) => {
      const k = Math.max(1, num('steps'));
      return Array.from({ length: k }, (_, i) => Math.round((n * (i + 1)) / k));
    };
    log(`\n== idle: raw ws sockets (${usersWanted}) ==`);
    const raw = new ServerProcess(await rawSpec(workDir, 150));
    servers.push(raw);
    await raw.start();
    idleResults.raw = await runIdle(raw, stepsOf(usersWanted), (i) => rawTab(raw.url, i), { concurrency: CONCURRENCY, idleWaitMs: null, heartbeats: true, log });
    await raw.stop();

    if (ours.owned) {
      // Our app with users' servers stopping and their tabs hibernating after `idleMs`.
      const startIdleApp = async (label: string, idleMs: number): Promise<ServerProcess> => {
        log(`\n== idle: ${label} (${usersWanted} users × ${TODOS} todos, USER_IDLE_MS=VIEW_HIBERNATE_MS=${idleMs}) ==`);
        const env = { ...APP_ENV, USER_IDLE_MS: String(idleMs), VIEW_HIBERNATE_MS: String(idleMs) };
        const server = new ServerProcess(await appSpec(workDir, dataDir, env, APP_NODE_ARGS));
        servers.push(server);
        await server.start();
        ours.url = server.url;
        ours.server = server;
        return server;
      };
      // Users' servers stop and their tabs hibernate after the same idle time: the first sample
      // has both resident, the one after the wait neither.
      const idleMs = num('idle-ms');
      const server = await startIdleApp('todo-live', idleMs);
      const users = ourUsers.slice(0, usersWanted);
      const started = performance.now();
      idleResults.ours = await runIdle(server, stepsOf(users.length), async (i) => (await connectUser(ours, users[i] as SimUser)).tab, {
        concurrency: CONCURRENCY,
        idleWaitMs: idleMs + 5_000,
        heartbeats: true,
        idleMs,
        log,
      });
      log(`  idle run took ${((performance.now() - started) / 1000).toFixed(0)} s`);
      await server.stop();
      ours.server = null;

      // What a hibernated user costs, measured as such: users that hibernate 2 s after
      // joining, sampled once every step has gone to sleep. (The sample after the idle wait
      // above cannot show it: the heap the users freed stays mapped, so RSS keeps the peak.)
      const sleepMs = 2_000;
      const sleepy = await startIdleApp('todo-live, hibernated', sleepMs);
      idleResults.oursHibernated = await runIdle(sleepy, stepsOf(users.length), async (i) => (await connectUser(ours, users[i] as SimUser)).tab, {
        concurrency: CONCURRENCY,
        idleWaitMs: null,
        settleMs: sleepMs * 2 + 1_000,
        log,
      });
      await sleepy.stop();
      ours.server = null;
    } else if (ours.pid !== null) {
      log('\n== idle: the app at --url cannot be seeded directly; its users get todos through events ==');
    }

    if (peer !== null && peer.server !== null) {
      const n = num('peer-users');
      log(`\n== idle: liveviewjs (${n} users × ${TODOS} todos, given through add events) ==`);
      const p = peer;
      const server = p.server as ServerProcess;
      // The peer keeps todos in memory: its users cost from before they were given any.
      const base = await sampleMemory(server.pid, server.statsFile);
      const users = await seedUsersThroughEvents(p, n, TODOS);
      idleResults.peer = await runIdle(server, stepsOf(users.length), async (i) => (await connectUser(p, users[i] as SimUser)).tab, {
        concurrency: CONCURRENCY,
        idleWaitMs: null,
        log,
        base,
      });
      peerUsers = users;
    }
  }

  if (!needTraffic) return;

  // --- traffic: ours (restartable on a fixed port), the raw echo, the peer -----------------
  if (ours.owned) {
    const server = new ServerProcess(await appSpec(workDir, dataDir, { ...APP_ENV, MAX_TODOS_PER_USER: String(Math.max(1000, ...wireSizes)) }, APP_NODE_ARGS));
    servers.push(server);
    await server.start();
    ours.server = server;
    ours.url = server.url;
  } else {
    ourUsers = await seedUsersThroughEvents(ours, trafficUserCount, TODOS);
  }
  const targets: Target[] = [ours, ...(peer === null ? [] : [peer])];

  if (scenarios.has('wire')) {
    for (const t of targets) {
      log(`\n== wire: ${t.label} ==`);
      wire[t.label] = await runWire(t, t === ours && ours.owned ? wireUsers : null, wireSizes);
    }
  }

  const tabsPerUser = Math.max(1, num('tabs'));
  const trafficTabs = new Map<Target, UserTab[]>();
  const tabsFor = async (t: Target, users: number): Promise<UserTab[]> => {
    const have = trafficTabs.get(t) ?? [];
    if (have.length >= users * tabsPerUser) return have;
    // The peer's users get their todos through events, which is slow: it uses at most --peer-users.
    const pool_ = t === ours ? ourUsers : t === peer ? await peerUsersFor(t, Math.min(users, num('peer-users'))) : [];
    const wanted = pool_.slice(0, users).flatMap((u) => Array.from({ length: tabsPerUser }, () => u));
    const opened = await pool(wanted.slice(have.length), CONCURRENCY, (u) => connectUser(t, u));
    const all = [...have, ...opened];
    trafficTabs.set(t, all);
    return all;
  };

  if (scenarios.has('steady')) {
    const rates = [...new Set([...list(args.rates), num('rate')])].sort((a, b) => a - b);
    log(`\n== steady: ${steadyUsers} users × ${tabsPerUser} tab(s), rates ${rates.join(', ')} events/s, ${DURATION_MS / 1000} s each ==`);
    const raw = new ServerProcess(await rawSpec(workDir, 150));
    servers.push(raw);
    await raw.start();
    const senders = new Map<string, Sender[]>();
    const draftShare = num('draft-share');
    if (draftShare > 1) throw new Error(`--draft-share: expected a share from 0 to 1, got ${draftShare}`);
    for (const t of targets) senders.set(t.label, mixedSenders(t, (await tabsFor(t, steadyUsers)).slice(0, steadyUsers * tabsPerUser), draftShare));
    // The echo's frames are as large as a toggle of ours and its reply.
    const sizes = await toggleSizes(ours, trafficTabs.get(ours) ?? []);
    await raw.stop();
    const echo = new ServerProcess(await rawSpec(workDir, sizes.down));
    servers.push(echo);
    await echo.start();
    const rawTabsOf = (server: ServerProcess) => pool(Array.from({ length: steadyUsers * tabsPerUser }, (_, i) => i), CONCURRENCY, (i) => rawTab(server.url, i));
    const echoTabs = await rawTabsOf(echo);
    senders.set('raw ws echo', echoSenders(echoTabs, sizes.up));
    // The same echo, acknowledged only after a SQLite commit (WAL, FULL) of each frame.
    const durable = new ServerProcess(await rawSpec(workDir, sizes.down, join(mkdtempSync(join(workDir, 'sqlite-')), 'durable-echo.db')));
    servers.push(durable);
    await durable.start();
    const durableTabs = await rawTabsOf(durable);
    senders.set(RAW_DURABLE, echoSenders(durableTabs, sizes.up));
    // And with its commits on a worker thread, scheduled as our store schedules them.
    const threaded = new ServerProcess(await rawSpec(workDir, sizes.down, join(mkdtempSync(join(workDir, 'sqlite-')), 'durable-echo.db'), true));
    servers.push(threaded);
    await threaded.start();
    const threadedTabs = await rawTabsOf(threaded);
    senders.set(RAW_DURABLE_THREAD, echoSenders(threadedTabs, sizes.up));
    const baselinePids = new Map([['raw ws echo', echo.pid], [RAW_DURABLE, durable.pid], [RAW_DURABLE_THREAD, threaded.pid]]);
    log(`  echo frames: ${sizes.up} B up, ${sizes.down} B down (a toggle of ours)`);
    const saturated = new Set<string>();
    const pidOfLabel = (label: string) => baselinePids.get(label) ?? pidOf(targets.find((t) => t.label === label) as Target);
    const logWindow = (label: string, r: TrafficResult, note = '') =>
      log(`  ${label.padEnd(12)} ${String(r.offered).padStart(5)}/s → ${r.achieved.toFixed(0)}/s, p50 ${r.latencyMs.p50.toFixed(3)} ms, p99 ${r.latencyMs.p99.toFixed(2)} ms, max ${r.latencyMs.max.toFixed(1)} ms, failed ${r.failed}, ${r.cpuUsPerEvent.toFixed(0)} µs CPU/event, machine ${machineText(r.machine)}${note}`);
    for (const rate of rates) {
      for (const [label, s] of senders) {
        if (saturated.has(label)) continue;
        const pid = pidOfLabel(label);
        const r = await openLoop(s, rate, WARMUP_MS, DURATION_MS, pid);
        // Past the knee a server's backlog would spill into the next run: let it drain, and
        // offer it no more load once it fell behind.
        const waited = await quiesce(pid);
        if (r.failed > 0.01 * rate * (DURATION_MS / 1000) || r.latencyMs.p50 > 1000) {
          saturated.add(label);
          log(`  ${label}: saturated at ${rate}/s (drained in ${(waited / 1000).toFixed(1)} s); higher rates skipped`);
        }
        const series = sweep[label] ?? [];
        series.push(r);
        sweep[label] = series;
        if (rate === num('rate')) steadyWindows[label] = [r];
        logWindow(label, r);
      }
    }
    // The fixed rate again, every server in turn, until each has `--repeats` windows of it.
    const fixed = num('rate');
    for (let round = 2; round <= num('repeats'); round++) {
      for (const [label, s] of senders) {
        const windows = steadyWindows[label];
        if (windows === undefined || saturated.has(label)) continue;
        const pid = pidOfLabel(label);
        const r = await openLoop(s, fixed, WARMUP_MS, DURATION_MS, pid);
        await quiesce(pid);
        windows.push(r);
        logWindow(label, r, ` (window ${round} of ${num('repeats')})`);
      }
    }
    for (const [label, windows] of Object.entries(steadyWindows)) steady[label] = medianOfWindows(windows);
    if (num('repeats') > 1) {
      for (const [label, r] of Object.entries(steady)) log(`  ${label.padEnd(12)} median of ${steadyWindows[label]?.length} windows at ${fixed}/s: p50 ${r.latencyMs.p50.toFixed(3)} ms, p99 ${r.latencyMs.p99.toFixed(2)} ms`);
    }
    await pool([...echoTabs, ...durableTabs, ...threadedTabs], 500, (t) => t.close());
    await echo.stop();
    await durable.stop();
    await threaded.stop();
    // The fsync a durable acknowledgement waits for moves from hour to hour on a shared disk:
    // measured here so the fixed-rate figures can be read against it.
    const b = sqliteSingleCommit(mkdtempSync(join(workDir, 'sqlite-')), 2);
    results.steadyCommitBaseline = b;
    log(`  raw SQLite commit right after: p50 ${b.commitUs.p50.toFixed(0)} µs, p99 ${b.commitUs.p99.toFixed(0)} µs`);
  }

  if (scenarios.has('max')) {
    log(`\n== max: closed loop over ${maxUsers} users ==`);
    for (const t of targets) {
      await quiesce(pidOf(t));
      const s = toggleSenders(t, (await tabsFor(t, maxUsers)).slice(0, maxUsers));
      const r = await closedLoop(s, t.dialect.eventsPerSocketPerSecond, WARMUP_MS, DURATION_MS * 2, pidOf(t));
      await quiesce(pidOf(t));
      max[t.label] = r;
      log(`  ${t.label.padEnd(12)} ${r.achieved.toFixed(0)} events/s, p50 ${r.latencyMs.p50.toFixed(2)} ms, p99 ${r.latencyMs.p99.toFixed(1)} ms, failed ${r.failed}, ${r.cpuCores.toFixed(2)} cores; machine ${machineText(r.machine)}`);
    }
    const dir = mkdtempSync(join(workDir, 'sqlite-'));
    const b = sqliteSingleCommit(dir, 4);
    results.sqliteBaseline = b;
    log(`  raw SQLite, one INSERT per transaction, WAL + synchronous=FULL: ${b.commitsPerSecond.toFixed(0)} commits/s (p50 ${b.commitUs.p50.toFixed(0)} µs, p99 ${b.commitUs.p99.toFixed(0)} µs)`);
  }

  if (scenarios.has('storm')) {
    const rounds = num('storm-repeats');
    const stormOptions = (n: number) => ({ cold: Math.min(num('cold'), Math.floor(n / 10)), concurrency: num('storm-concurrency') });
    const prepared: { label: string; tabs: LiveTab[]; url: string; restart: boolean; disrupt: () => Promise<void>; pid: () => number | null }[] = [];
    for (const t of targets) {
      const tabs = (await tabsFor(t, stormUsers)).slice(0, stormUsers).map((u) => u.tab);
      const restart = t.server !== null && t === ours;
      const server = t.server;
      prepared.push({
        label: t.label,
        tabs,
        url: t.url,
        restart,
        disrupt: async () => {
          if (restart && server !== null) {
            await server.stop();
            await server.start();
          } else {
            await pool(tabs, 500, (tab) => tab.close());
          }
        },
        pid: () => pidOf(t),
      });
    }
    // What the machine does at all: a bare `ws` server restarted under as many tabs, each
    // rejoin answered with a frame as large as our mount of 100 todos.
    const mountBytes = wire[ours.label]?.['mount (join reply), 100 todos']?.down ?? 16_186;
    const raw = new ServerProcess(await rawSpec(workDir, mountBytes));
    servers.push(raw);
    await raw.start();
    const rawTabs = await pool(Array.from({ length: stormUsers }, (_, i) => i), CONCURRENCY, (i) => rawTab(raw.url, i));
    prepared.push({
      label: RAW_STORM,
      tabs: rawTabs,
      url: raw.url,
      restart: true,
      disrupt: async () => {
        await raw.stop();
        await raw.start();
      },
      pid: () => raw.pid,
    });
    // Storms come and go with the host's stolen time: every server storms `--storm-repeats`
    // times, in turn with the raw baseline, and the figures are the median storm's.
    for (let round = 1; round <= rounds; round++) {
      for (const p of prepared) {
        const what = p.label === RAW_STORM ? `each join answered with ${mountBytes} B` : p.restart ? 'server restarted, users cold' : 'sockets dropped, server kept';
        log(`\n== storm ${round} of ${rounds}: ${p.label}, ${p.tabs.length} tabs (${what}) ==`);
        for (const x of prepared) await quiesce(x.pid());
        const r = await runStorm(p.tabs, p.url, p.disrupt, p.pid, stormOptions(p.tabs.length));
        (stormRuns[p.label] ??= []).push(r);
        log(`  cold join one at a time: p50 ${r.coldJoinMs.p50.toFixed(2)} ms, p99 ${r.coldJoinMs.p99.toFixed(2)} ms (${r.coldJoinMs.n})`);
        log(`  storm: ${r.users} tabs back in ${(r.fullServiceMs / 1000).toFixed(2)} s → ${r.activationsPerSecond.toFixed(0)} activations/s, ${r.cpuCores.toFixed(2)} cores; join p50 ${r.joinMs.p50.toFixed(1)} ms, p99 ${r.joinMs.p99.toFixed(1)} ms; retries ${r.retries}, failed ${r.failed}; machine ${machineText(r.machine)}`);
      }
    }
    for (const [label, runs] of Object.entries(stormRuns)) {
      storms[label] = medianStorm(runs);
      if (runs.length > 1) log(`  ${label.padEnd(12)} median of ${runs.length} storms: ${storms[label]?.activationsPerSecond.toFixed(0)} activations/s`);
    }
    await pool(rawTabs, 500, (tab) => tab.close());
    await raw.stop();
  }
  for (const tabs of trafficTabs.values()) await pool(tabs, 500, (u) => u.tab.close());
}

// --- helpers that need the run's state ------------------------------------------------------

let peerUsers: SimUser[] = [];

async function peerUsersFor(t: Target, n: number): Promise<SimUser[]> {
  if (peerUsers.length < n) peerUsers = [...peerUsers, ...(await seedUsersThroughEvents(t, n - peerUsers.length, TODOS))];
  return peerUsers;
}

/** New browsers on `t`, each given `todos` todos through add events (bounded in time). */
async function seedUsersThroughEvents(t: Target, n: number, todos: number): Promise<SimUser[]> {
  const started = performance.now();
  const deadline = started + 240_000;
  const users: SimUser[] = Array.from({ length: n }, () => ({ jar: new Map() }));
  const sockets = t.dialect.eventsPerSocketPerSecond === Number.POSITIVE_INFINITY ? 1 : 5;
  const done = await pool(users, CONCURRENCY, (u) => seedThroughEvents(t.url, u.jar, t.dialect, todos, sockets, deadline, nextSource()));
  const ready = users.filter((_, i) => done[i] === true);
  log(`  gave ${ready.length} of ${n} users ${todos} todos each through add events in ${((performance.now() - started) / 1000).toFixed(1)} s${ready.length < n ? ' (time bound reached)' : ''}`);
  return ready;
}

/** A tab on the raw server: a socket only, no page and no join. */
async function rawTab(url: string, i: number): Promise<LiveTab> {
  const tab = new LiveTab({ url, csrfToken: '', viewId: `echo-${i}`, session: '', static: null, html: '', todos: [] }, new Map());
  await tab.open(url, nextSource());
  return tab;
}

/** Each tab clicks a random todo's checkbox, keeping its own idea of the todo's state. */
function toggleSenders(t: Target, tabs: readonly UserTab[]): Sender[] {
  return tabs.map((u) => () => {
    const todo = u.todos[Math.floor(Math.random() * u.todos.length)];
    if (todo === undefined) throw new Error('expected the user to have todos, found none');
    const payload = t.dialect.toggle(todo);
    todo.completed = !todo.completed;
    return u.tab.push(payload);
  });
}

/** What the generator types into the new-todo field, a character per keystroke. */
const TYPED = 'Water the plants on the balcony';

/**
 * Toggles, and with probability `draftShare` a keystroke in the new-todo field instead (where
 * the page reports typing), each reply tagged with its kind when the load is mixed.
 */
function mixedSenders(t: Target, tabs: readonly UserTab[], draftShare: number): Sender[] {
  const toggles = toggleSenders(t, tabs);
  if (draftShare <= 0 || t.dialect.draft('') === null) return toggles;
  return tabs.map((u, i) => {
    let typed = 0;
    const toggle = toggles[i] as Sender;
    return () => {
      if (Math.random() >= draftShare) return toggle().then((r) => ({ ...r, kind: 'toggle' }));
      typed = (typed % TYPED.length) + 1;
      return u.tab.push(t.dialect.draft(TYPED.slice(0, typed)) as EventPayload).then((r) => ({ ...r, kind: 'draft' }));
    };
  });
}

function echoSenders(tabs: readonly LiveTab[], upBytes: number): Sender[] {
  return tabs.map((tab) => {
    const head = tab.frameOf({ type: 'click', event: 'toggle', value: { pad: '' } }).length;
    const payload = { type: 'click', event: 'toggle', value: { pad: 'x'.repeat(Math.max(0, upBytes - head)) } };
    return () => tab.push(payload);
  });
}

/** Frame sizes of a toggle of ours (median of a few), for the echo to mirror. */
async function toggleSizes(t: Target, tabs: readonly UserTab[]): Promise<{ up: number; down: number }> {
  const samples: WireSample[] = [];
  for (const u of tabs.slice(0, 7)) {
    // The second toggle is the typical one: the first may also show "Clear completed".
    for (const todo of u.todos.slice(0, 2)) {
      const sample = await measureEvent(u.tab, t.dialect.toggle(todo));
      todo.completed = !todo.completed;
      if (todo === u.todos[1]) samples.push(sample);
    }
  }
  samples.sort((a, b) => a.down - b.down);
  const mid = samples[Math.floor(samples.length / 2)];
  return mid === undefined ? { up: 130, down: 180 } : { up: mid.up, down: mid.down };
}

async function runWire(t: Target, seeded: Map<number, SimUser> | null, sizes: readonly number[]): Promise<Record<string, WireSample | null>> {
  const out: Record<string, WireSample | null> = {};
  // Lists given through events grow one add at a time; the peer re-sends the whole list on
  // every add, so its 10,000-item list may not fit in the bound (it is then reported as such).
  const deadline = performance.now() + 60_000;
  const userWith = async (n: number): Promise<SimUser | null> => {
    const s = seeded?.get(n);
    if (s !== undefined) return s;
    const u: SimUser = { jar: new Map() };
    const sockets = t.dialect.eventsPerSocketPerSecond === Number.POSITIVE_INFINITY ? 1 : 8;
    return (await seedThroughEvents(t.url, u.jar, t.dialect, n, sockets, deadline)) ? u : null;
  };
  const actions = await userWith(seeded === null ? TODOS : -1);
  if (actions === null) throw new Error(`expected to give a user ${TODOS} todos on ${t.label}, ran out of time`);
  const page = await fetchPage(new URL('/', t.url).toString(), actions.jar);
  const tab = new LiveTab(page, actions.jar);
  await tab.open(t.url);
  const mount = await tab.join(true);
  out['mount (join reply), 100 todos'] = { up: tab.bytesOut, down: mount.bytes, frames: 1, status: mount.status };
  out['dead render HTML, 100 todos'] = { up: 0, down: Buffer.byteLength(page.html), frames: 0, status: 'ok' };
  const todos = page.todos.map((x) => ({ ...x }));
  const median = async (name: string, make: () => Parameters<typeof measureEvent>[1], repeat = 5) => {
    const samples: WireSample[] = [];
    for (let i = 0; i < repeat; i++) samples.push(await measureEvent(tab, make()));
    samples.sort((a, b) => a.down - b.down);
    out[name] = samples[Math.floor(samples.length / 2)] ?? null;
    log(`  ${name}: ${out[name]?.up} B up, ${out[name]?.down} B down in ${out[name]?.frames} frame(s)`);
  };
  let k = 0;
  await median('toggle (100 todos)', () => {
    const todo = todos[k++ % todos.length] as { id: number; completed: boolean };
    const p = t.dialect.toggle(todo);
    todo.completed = !todo.completed;
    return p;
  });
  await median('add', () => t.dialect.add(`Added by the load test #${k++}`, page.csrfToken));
  const target = todos[10] as { id: number };
  out['edit: open the field'] = await measureEvent(tab, t.dialect.edit(target.id));
  out['edit: save a new title'] = await measureEvent(tab, t.dialect.save(target.id, 'Renamed by the load test'));
  log(`  edit: open ${out['edit: open the field']?.down} B, save ${out['edit: save a new title']?.down} B down`);
  let all = todos.every((x) => x.completed);
  await median('toggle all', () => {
    const p = t.dialect.toggleAll(all);
    all = !all;
    return p;
  }, 4);
  await median('delete (middle of 100)', () => t.dialect.destroy((todos.splice(40, 1)[0] as { id: number }).id), 3);
  await tab.close();

  for (const n of sizes) {
    const name = `toggle in ${n.toLocaleString('en-US')} todos`;
    const u = await userWith(n);
    if (u === null) {
      out[name] = { up: 0, down: 0, frames: 0, status: 'not measured', error: `could not give a user ${n} todos in time` };
      log(`  ${name}: not measured (could not give a user ${n} todos in time)`);
      continue;
    }
    const p = await fetchPage(new URL('/', t.url).toString(), u.jar);
    const tt = new LiveTab(p, u.jar);
    try {
      await tt.open(t.url);
      const m = await tt.join();
      if (n !== TODOS) out[`mount (join reply), ${n.toLocaleString('en-US')} todos`] = { up: tt.bytesOut, down: m.bytes, frames: 1, status: m.status };
      const list_ = p.todos.map((x) => ({ ...x }));
      const samples: WireSample[] = [];
      for (let i = 0; i < 5; i++) {
        const todo = list_[Math.floor((list_.length * (i + 1)) / 6)] as { id: number; completed: boolean };
        samples.push(await measureEvent(tt, t.dialect.toggle(todo)));
        todo.completed = !todo.completed;
      }
      samples.sort((a, b) => a.down - b.down);
      out[name] = samples[2] ?? null;
      log(`  ${name}: ${samples[2]?.up} B up, ${samples[2]?.down} B down; mount ${m.bytes} B`);
    } catch (err) {
      // Recorded, not fatal: a list the server cannot serve is a finding of the run.
      const error = `${err instanceof Error ? err.message : String(err)} (dead render ${Buffer.byteLength(p.html).toLocaleString('en-US')} B, ${p.todos.length} todos shown)`;
      out[name] = { up: 0, down: 0, frames: 0, status: 'failed', error };
      log(`  ${name}: failed: ${error}`);
    } finally {
      await tt.close();
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

/** Writes the JSON, the Markdown tables and the plot, and prints the tables. */
function writeResults(): void {
  Object.assign(results, { loadavgEnd: loadavg(), seconds: (Date.now() - startedAt.getTime()) / 1000, idle: idleResults, sweep, steady, steadyWindows, max, storms, stormRuns, wire });
  mkdirSync(dirname(args.out as string), { recursive: true });
  writeFileSync(args.out as string, `${JSON.stringify(results, null, 2)}\n`);
  const md = renderReport(results as never);
  writeFileSync(args.md as string, md);
  log(`\n${md}`);
  if (Object.keys(sweep).length > 0) {
    const colors: Record<string, string> = { 'todo-live': '#1f6fd1', liveviewjs: '#e07b00', 'raw ws echo': '#777', [RAW_DURABLE]: '#2a2', [RAW_DURABLE_THREAD]: '#8a2be2' };
    const svg = latencyPlot(
      `Round trip vs offered load (${num('steady-users')} users, ${cpus().length} cores, load ${loadavg()[0]?.toFixed(1)})`,
      Object.entries(sweep).map(([label, rs]) => ({ label, color: colors[label] ?? '#2a2', points: rs.map((r) => ({ x: r.offered, p50: r.latencyMs.p50, p99: r.latencyMs.p99 })) })),
    );
    mkdirSync(dirname(args.svg as string), { recursive: true });
    writeFileSync(args.svg as string, svg);
    log(`plot: ${args.svg}`);
  }
  log(`results: ${args.out}, ${args.md}`);
}

try {
  await main();
  succeeded = true;
} finally {
  await cleanup();
  clearTimeout(watchdog);
}
writeResults();
process.exit(0);
