/**
 * A reconnect storm: every connected tab loses its socket at once (our app restarts, as in a
 * deploy; or the sockets drop) and reconnects straight away with the page it already has,
 * as the browser's client does. A few tabs first rejoin one at a time, which times a cold
 * activation on an otherwise quiet server; the rest rejoin all together.
 */
import type { LiveTab } from './client.js';
import { cpuSecondsOf, type MachineShare, machineShare, machineTimes, sleep } from './proc.js';
import { type Summary, summarize } from './stats.js';
import { pool } from './users.js';

export interface StormResult {
  /** Join round trips of tabs rejoining one at a time right after the disruption. */
  coldJoinMs: Summary;
  /** Tabs in the storm. */
  users: number;
  /** From the first reconnect to the last join reply. */
  fullServiceMs: number;
  activationsPerSecond: number;
  /** Socket open plus join, per tab, during the storm. */
  reconnectMs: Summary;
  joinMs: Summary;
  /** Reconnect attempts refused or failed (each retried after a short pause, as the browser does). */
  retries: number;
  failed: number;
  cpuCores: number;
  /** The whole machine during the storm: a storm on a host that steals time is a slower storm. */
  machine: MachineShare;
}

async function rejoin(tab: LiveTab, baseUrl: string): Promise<{ openMs: number; joinMs: number }> {
  const started = performance.now();
  await tab.open(baseUrl, tab.localAddress);
  const opened = performance.now();
  const reply = await tab.join();
  return { openMs: opened - started, joinMs: reply.ms };
}

/**
 * Disrupts (`disrupt` must leave every tab's socket closed and the server answering), then
 * rejoins `cold` tabs one by one and the rest at once, at most `concurrency` in flight.
 */
export async function runStorm(
  tabs: readonly LiveTab[],
  baseUrl: string,
  disrupt: () => Promise<void>,
  pid: () => number | null,
  options: { cold: number; concurrency: number },
): Promise<StormResult> {
  await disrupt();
  const deadline = performance.now() + 15_000;
  while (tabs.some((t) => t.isOpen) && performance.now() < deadline) await sleep(50);
  const cold = tabs.slice(0, options.cold);
  const coldJoins: number[] = [];
  for (const tab of cold) coldJoins.push((await rejoin(tab, baseUrl)).joinMs);
  const storm = tabs.slice(options.cold);
  const p = pid();
  const cpuStart = p === null ? Number.NaN : cpuSecondsOf(p);
  const machineStart = machineTimes();
  const reconnect: number[] = [];
  const joins: number[] = [];
  let retries = 0;
  let failed = 0;
  const t0 = performance.now();
  let lastDone = t0;
  await pool(storm, options.concurrency, async (tab) => {
    const started = performance.now();
    for (let attempt = 0; attempt < 6; attempt++) {
      try {
        const r = await rejoin(tab, baseUrl);
        joins.push(r.joinMs);
        lastDone = Math.max(lastDone, performance.now());
        reconnect.push(performance.now() - started);
        return;
      } catch {
        retries++;
        await tab.close();
        // The browser client's first reconnect delays: 10, 50, 100, 150, 200 ms…
        await sleep([10, 50, 100, 150, 200, 250][attempt] ?? 250);
      }
    }
    failed++;
  });
  const fullServiceMs = lastDone - t0;
  const cpu = p === null ? Number.NaN : cpuSecondsOf(p) - cpuStart;
  const machine = machineShare(machineStart, machineTimes());
  return {
    coldJoinMs: summarize(coldJoins),
    users: storm.length,
    fullServiceMs,
    activationsPerSecond: joins.length / (fullServiceMs / 1000),
    reconnectMs: summarize(reconnect),
    joinMs: summarize(joins),
    retries,
    failed,
    cpuCores: cpu / (fullServiceMs / 1000),
    machine,
  };
}

/**
 * The storm with the median activation rate (the lower middle one of an even count): a whole
 * storm, so that its other figures (join times, CPU, the machine) belong to the same run.
 */
export function medianStorm(runs: readonly StormResult[]): StormResult {
  if (runs.length === 0) throw new Error('medianStorm: no storms');
  const sorted = [...runs].sort((a, b) => a.activationsPerSecond - b.activationsPerSecond);
  return sorted[Math.floor((sorted.length - 1) / 2)] as StormResult;
}
