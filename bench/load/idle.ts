/**
 * Memory per connected user: users are connected in steps (each step's memory sampled after
 * forced collections), the per-user cost is the slope of a straight line through the steps'
 * samples, and the users a 2 GB node holds follow from that line. Optionally the memory is
 * sampled again once every user's server has stopped for idleness (the sockets stay open).
 */
import { HEARTBEAT_MS, type LiveTab } from './client.js';
import { cpuSecondsOf, type MemorySample, sampleMemory, sleep } from './proc.js';
import type { ServerProcess } from './servers.js';
import { linearFit } from './stats.js';
import { pool } from './users.js';

export interface MemoryStep {
  users: number;
  sample: MemorySample;
}

export interface IdleResult {
  base: MemorySample;
  steps: MemoryStep[];
  /**
   * Bytes per user: the slope of the fit over the steps (RSS and heap). The sample before any
   * user is left out when there are two steps or more: the first step also pays what a node
   * grows by once (page caches filling up to their bound, V8 growing its young generation),
   * which later users do not pay again.
   */
  rssPerUser: number;
  heapPerUser: number;
  /** The slope of a fit through the sample before any user as well: one-off growth counted as per user. */
  rssPerUserFromZero: number;
  /** What the node grew by once: the intercept of the fit over the steps, less the base RSS. */
  rssOneOff: number;
  /** (last step − base) / users. */
  rssPerUserLast: number;
  heapPerUserLast: number;
  connectPerSecond: number;
  /** False when connecting took longer than the idle timeout, so early users' servers may have stopped already. */
  residentComplete: boolean;
  /** After every user's server stopped for idleness, sockets still open. */
  afterIdle: {
    sample: MemorySample;
    rssPerUser: number;
    heapPerUser: number;
    idleCpuCores: number;
    waitedMs: number;
  } | null;
  /**
   * CPU (cores) over one heartbeat period when heartbeats are all that is left: after the idle
   * wait when there is one (every server stopped, every tab hibernated), else after the last step.
   * Null unless asked for.
   */
  heartbeatCpuCores: number | null;
  /** After every socket closed: what is left of the users (should be close to base). */
  afterClose: MemorySample;
  /** Users a node would hold in 2 GiB of RSS on the fitted line (its one-off growth included). */
  usersIn2GiB: number;
}

/**
 * Connects `connect(i)` for i in 0..total in the steps given (cumulative user counts), with
 * `concurrency` connections in flight.
 */
export async function runIdle(
  server: ServerProcess,
  steps: readonly number[],
  connect: (i: number) => Promise<LiveTab>,
  options: {
    concurrency: number;
    idleWaitMs: number | null;
    /** Measure CPU over one heartbeat period once the users are idle. */
    heartbeats?: boolean;
    idleMs?: number;
    log: (line: string) => void;
    base?: MemorySample;
    /** How long to wait after each step before sampling (default 1 s). */
    settleMs?: number;
  },
): Promise<IdleResult> {
  const { log } = options;
  // A server that keeps its users' data in memory is measured from before the data existed.
  const base = options.base ?? (await sampleMemory(server.pid, server.statsFile));
  const tabs: LiveTab[] = [];
  const out: MemoryStep[] = [];
  let connectMs = 0;
  const firstConnectAt = performance.now();
  let lastConnectAt = performance.now();
  for (const target of steps) {
    const from = tabs.length;
    const started = performance.now();
    const batch = await pool(
      Array.from({ length: target - from }, (_, k) => from + k),
      options.concurrency,
      (i) => connect(i),
    );
    connectMs += performance.now() - started;
    lastConnectAt = performance.now();
    tabs.push(...batch);
    await sleep(options.settleMs ?? 1000);
    const sample = await sampleMemory(server.pid, server.statsFile);
    out.push({ users: tabs.length, sample });
    log(`  ${tabs.length} users: rss ${(sample.rss / 2 ** 20).toFixed(1)} MiB, heap ${(sample.heapUsed / 2 ** 20).toFixed(1)} MiB`);
  }
  const residentComplete = options.idleMs === undefined || performance.now() - firstConnectAt < options.idleMs;
  if (!residentComplete) log('  warning: connecting took longer than the idle timeout; early users\' servers may have stopped before the sample');
  const last = out[out.length - 1];
  if (last === undefined) throw new Error('expected at least one step of users, got none');
  const rssPoints = out.map((s) => ({ x: s.users, y: s.sample.rss }));
  const heapPoints = out.map((s) => ({ x: s.users, y: s.sample.heapUsed }));
  const zeroRss = { x: 0, y: base.rss };
  // The sample before any user is on the line only when one step leaves nothing else to fit.
  const line = (points: { x: number; y: number }[], zero: { x: number; y: number }) => linearFit(out.length >= 2 ? points : [zero, ...points]);
  const rssFit = line(rssPoints, zeroRss);
  const heapFit = line(heapPoints, { x: 0, y: base.heapUsed });
  const fromZeroRss = linearFit([zeroRss, ...rssPoints]);
  let afterIdle: IdleResult['afterIdle'] = null;
  if (options.idleWaitMs !== null) {
    const wait = Math.max(0, lastConnectAt + options.idleWaitMs - performance.now());
    log(`  waiting ${(wait / 1000).toFixed(0)} s for the users' servers to stop for idleness`);
    // While waiting, the server only answers heartbeats (one per tab every 30 s) and stops servers.
    const cpuBefore = cpuSecondsOf(server.pid);
    const waitStarted = performance.now();
    await sleep(wait);
    const waitedMs = performance.now() - waitStarted;
    const idleCpuCores = (cpuSecondsOf(server.pid) - cpuBefore) / (waitedMs / 1000);
    const sample = await sampleMemory(server.pid, server.statsFile);
    afterIdle = { sample, rssPerUser: (sample.rss - base.rss) / last.users, heapPerUser: (sample.heapUsed - base.heapUsed) / last.users, idleCpuCores, waitedMs };
    log(`  CPU while idle (heartbeats, idle stops, hibernation): ${(idleCpuCores * 100).toFixed(1)}% of a core`);
    log(`  after idle stop and hibernation: rss ${(sample.rss / 2 ** 20).toFixed(1)} MiB, heap ${(sample.heapUsed / 2 ** 20).toFixed(1)} MiB`);
  }
  let heartbeatCpuCores: number | null = null;
  if (options.heartbeats === true) {
    // One heartbeat period (each tab sends one) with nothing else to do: what an idle node
    // costs for as long as its users stay connected.
    const started = performance.now();
    const cpuBefore = cpuSecondsOf(server.pid);
    await sleep(HEARTBEAT_MS + 1000);
    heartbeatCpuCores = (cpuSecondsOf(server.pid) - cpuBefore) / ((performance.now() - started) / 1000);
    log(`  CPU with heartbeats only: ${(heartbeatCpuCores * 100).toFixed(2)}% of a core for ${last.users} users`);
  }
  const stillOpen = tabs.filter((t) => t.isOpen).length;
  if (stillOpen < tabs.length) log(`  warning: ${tabs.length - stillOpen} of ${tabs.length} sockets closed during the idle run`);
  await pool(tabs, 500, (t) => t.close());
  await sleep(1000);
  const afterClose = await sampleMemory(server.pid, server.statsFile);
  return {
    base,
    steps: out,
    rssPerUser: rssFit.slope,
    heapPerUser: heapFit.slope,
    rssPerUserFromZero: fromZeroRss.slope,
    rssOneOff: rssFit.intercept - base.rss,
    rssPerUserLast: (last.sample.rss - base.rss) / last.users,
    heapPerUserLast: (last.sample.heapUsed - base.heapUsed) / last.users,
    connectPerSecond: last.users / (connectMs / 1000),
    residentComplete,
    afterIdle,
    heartbeatCpuCores,
    afterClose,
    usersIn2GiB: (2 * 2 ** 30 - rssFit.intercept) / rssFit.slope,
  };
}
