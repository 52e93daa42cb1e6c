/**
 * Driving events: an open loop at a fixed total rate (latency under a given offered load)
 * and a closed loop (the most a server completes). Both time each event from `send` to its
 * reply, and read the server's CPU time from /proc around the measured window.
 */
import type { Reply } from './client.js';
import { cpuSecondsOf, type MachineShare, type MachineTimes, machineShare, machineTimes, sleep } from './proc.js';
import { quantile, type Summary, summarize } from './stats.js';

/** Something that sends one event and resolves with its reply, and what kind of event it sent. */
export type Sender = () => Promise<Reply & { kind?: string }>;

export interface TrafficResult {
  /** Events per second asked for (open loop) or NaN (closed loop). */
  offered: number;
  /** Replies per second received in the measured window. */
  achieved: number;
  latencyMs: Summary;
  /** Events that got an error reply, no reply, or a closed socket. */
  failed: number;
  /** Server CPU seconds per replied event, in microseconds (NaN without a pid). */
  cpuUsPerEvent: number;
  /** Server CPU use over the window, in cores. */
  cpuCores: number;
  /** The whole machine over the window: how busy, how much waiting for the disk, how much stolen. */
  machine: MachineShare;
  /** Round trips by kind of event, when the senders said which (a mixed load). */
  byKind?: Record<string, Summary>;
}

const NO_SHARE: MachineShare = { busyPct: Number.NaN, iowaitPct: Number.NaN, stealPct: Number.NaN };

interface Window {
  latencies: number[];
  byKind: Map<string, number[]>;
  failed: number;
}

/** What a loop measured between `start` and `end`, with the server's CPU over it. */
async function measure(pid: number | null, warmupMs: number, durationMs: number, body: (inWindow: () => boolean, w: Window) => Promise<void>) {
  const w: Window = { latencies: [], byKind: new Map(), failed: 0 };
  const t0 = performance.now();
  const windowStart = t0 + warmupMs;
  const windowEnd = t0 + warmupMs + durationMs;
  let cpuStart = Number.NaN;
  let machineStart: MachineTimes | undefined;
  const cpuTimer = setTimeout(() => {
    if (pid !== null) cpuStart = cpuSecondsOf(pid);
    machineStart = machineTimes();
  }, warmupMs);
  const inWindow = () => {
    const now = performance.now();
    return now >= windowStart && now < windowEnd;
  };
  await body(inWindow, w);
  clearTimeout(cpuTimer);
  const cpuEnd = pid === null ? Number.NaN : cpuSecondsOf(pid);
  const machine = machineStart === undefined ? NO_SHARE : machineShare(machineStart, machineTimes());
  const seconds = Math.max(1e-9, (Math.min(performance.now(), windowEnd) - windowStart) / 1000);
  return { w, seconds, cpu: cpuEnd - cpuStart, machine };
}

/**
 * Sends `rate` events per second in total, spread round-robin over `senders`, for
 * `warmupMs + durationMs`; latencies of events sent in the last `durationMs` count. Waits up
 * to `drainMs` for late replies (a reply later than that counts as failed).
 */
export async function openLoop(senders: readonly Sender[], rate: number, warmupMs: number, durationMs: number, pid: number | null, drainMs = 10_000): Promise<TrafficResult> {
  const { w, seconds, cpu, machine } = await measure(pid, warmupMs, durationMs, async (inWindow, w) => {
    const t0 = performance.now();
    const end = t0 + warmupMs + durationMs;
    let sent = 0;
    let next = Math.floor(Math.random() * senders.length);
    const outstanding = new Set<Promise<void>>();
    let countedInFlight = 0;
    while (performance.now() < end) {
      const due = Math.floor(((performance.now() - t0) * rate) / 1000) - sent;
      for (let i = 0; i < due; i++) {
        const sender = senders[next] as Sender;
        next = (next + 1) % senders.length;
        sent++;
        const counted = inWindow();
        if (counted) countedInFlight++;
        const p = sender().then(
          (r) => {
            if (!counted) return;
            countedInFlight--;
            if (r.status !== 'ok') {
              w.failed++;
              return;
            }
            w.latencies.push(r.ms);
            if (r.kind !== undefined) {
              const own = w.byKind.get(r.kind);
              if (own === undefined) w.byKind.set(r.kind, [r.ms]);
              else own.push(r.ms);
            }
          },
          () => {
            if (!counted) return;
            countedInFlight--;
            w.failed++;
          },
        );
        outstanding.add(p);
        void p.finally(() => outstanding.delete(p));
      }
      await sleep(1);
    }
    await Promise.race([Promise.all(outstanding), sleep(drainMs)]);
    // Whatever is still unanswered after the drain counts as failed.
    w.failed += countedInFlight;
  });
  const replied = w.latencies.length;
  return {
    offered: rate,
    achieved: replied / seconds,
    latencyMs: summarize(w.latencies),
    failed: w.failed,
    cpuUsPerEvent: (cpu / Math.max(1, replied)) * 1e6,
    cpuCores: cpu / seconds,
    machine,
    ...(w.byKind.size === 0 ? {} : { byKind: Object.fromEntries([...w.byKind].map(([k, xs]) => [k, summarize(xs)])) }),
  };
}

/**
 * Every sender keeps one event in flight (sending the next when the reply arrives), at most
 * `perSenderRate` per second each, for `warmupMs + durationMs`.
 */
export async function closedLoop(senders: readonly Sender[], perSenderRate: number, warmupMs: number, durationMs: number, pid: number | null): Promise<TrafficResult> {
  const spacing = Number.isFinite(perSenderRate) ? 1000 / perSenderRate : 0;
  const { w, seconds, cpu, machine } = await measure(pid, warmupMs, durationMs, async (inWindow, w) => {
    const end = performance.now() + warmupMs + durationMs;
    await Promise.all(
      senders.map(async (send, i) => {
        // Spread the first sends so the senders do not march in lockstep.
        await sleep((i % 50) * (spacing / 50));
        while (performance.now() < end) {
          const started = performance.now();
          try {
            const r = await send();
            if (inWindow()) {
              if (r.status === 'ok') w.latencies.push(r.ms);
              else w.failed++;
            }
          } catch {
            if (inWindow()) w.failed++;
            return;
          }
          const wait = spacing - (performance.now() - started);
          if (wait > 0) await sleep(wait);
        }
      }),
    );
  });
  return {
    offered: Number.NaN,
    achieved: w.latencies.length / seconds,
    latencyMs: summarize(w.latencies),
    failed: w.failed,
    cpuUsPerEvent: (cpu / Math.max(1, w.latencies.length)) * 1e6,
    cpuCores: cpu / seconds,
    machine,
  };
}

/**
 * Several windows of the same offered load as one figure: the median of each window's figure
 * (the largest of their maxima; failures summed). On a shared machine one window can land in a
 * slow spell of the host or the disk; the median of windows taken in turn with the baselines is
 * the figure that says what the server does, and the windows themselves say how much it moved.
 */
export function medianOfWindows(windows: readonly TrafficResult[]): TrafficResult {
  const mid = (f: (t: TrafficResult) => number) => quantile(windows.map(f), 0.5);
  const kinds = new Set(windows.flatMap((t) => Object.keys(t.byKind ?? {})));
  const kindMedian = (k: string) => medianOfSummaries(windows.flatMap((t) => (t.byKind?.[k] === undefined ? [] : [t.byKind[k]])));
  return {
    offered: mid((t) => t.offered),
    achieved: mid((t) => t.achieved),
    latencyMs: medianOfSummaries(windows.map((t) => t.latencyMs)),
    failed: windows.reduce((n, t) => n + t.failed, 0),
    cpuUsPerEvent: mid((t) => t.cpuUsPerEvent),
    cpuCores: mid((t) => t.cpuCores),
    machine: { busyPct: mid((t) => t.machine.busyPct), iowaitPct: mid((t) => t.machine.iowaitPct), stealPct: mid((t) => t.machine.stealPct) },
    ...(kinds.size === 0 ? {} : { byKind: Object.fromEntries([...kinds].map((k) => [k, kindMedian(k)])) }),
  };
}

/** Summaries of several windows as one: samples counted, median p50 and p99, the largest maximum. */
function medianOfSummaries(summaries: readonly Summary[]): Summary {
  return {
    n: summaries.reduce((n, s) => n + s.n, 0),
    p50: quantile(summaries.map((s) => s.p50), 0.5),
    p99: quantile(summaries.map((s) => s.p99), 0.5),
    max: summarize(summaries.map((s) => s.max)).max,
  };
}

/**
 * Waits until the server is quiet again (under 5% of a core over half a second), so that the
 * backlog of an overloaded run does not land on the next measurement. Gives up after `maxMs`
 * and says how long it waited.
 */
export async function quiesce(pid: number | null, maxMs = 60_000): Promise<number> {
  const started = performance.now();
  if (pid === null) {
    await sleep(2_000);
    return performance.now() - started;
  }
  while (performance.now() - started < maxMs) {
    const before = cpuSecondsOf(pid);
    await sleep(500);
    if (cpuSecondsOf(pid) - before < 0.025) break;
  }
  return performance.now() - started;
}
