/**
 * What a measured server costs, read from outside: resident memory and CPU time from
 * `/proc/<pid>/status` and `/proc/<pid>/stat`, and (through `stats-preload.mjs`) the V8 heap
 * after two forced collections.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';

/** Clock ticks per second of `/proc/<pid>/stat` times; 100 on every Linux this runs on. */
const CLOCK_TICKS = 100;

/** Resident set size in bytes (VmRSS). */
export function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  if (m === null) throw new Error(`expected a VmRSS line in /proc/${pid}/status, found none`);
  return Number(m[1]) * 1024;
}

/** User plus system CPU time of the process so far, in seconds. */
export function cpuSecondsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name may hold spaces and parentheses: fields are counted after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return (utime + stime) / CLOCK_TICKS;
}

/** CPU time of the whole machine so far, all cores, in clock ticks (first line of `/proc/stat`). */
export interface MachineTimes {
  busy: number;
  iowait: number;
  steal: number;
  total: number;
}

export function machineTimes(): MachineTimes {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
  // cpu user nice system idle iowait irq softirq steal guest guest_nice (guest is inside user)
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = line.trim().split(/\s+/).slice(1).map(Number);
  const busy = user + nice + system + irq + softirq;
  return { busy, iowait, steal, total: busy + idle + iowait + steal };
}

/**
 * How the machine spent its CPU time between two readings, in percent of all its cores: what
 * else was running (busy includes the measured servers and the generator), waiting for the
 * disk, and taken by the hypervisor. A run with much iowait or steal is a noisy run.
 */
export interface MachineShare {
  busyPct: number;
  iowaitPct: number;
  stealPct: number;
}

export function machineShare(from: MachineTimes, to: MachineTimes): MachineShare {
  const total = Math.max(1, to.total - from.total);
  return {
    busyPct: (100 * (to.busy - from.busy)) / total,
    iowaitPct: (100 * (to.iowait - from.iowait)) / total,
    stealPct: (100 * (to.steal - from.steal)) / total,
  };
}

/** `busy 45%, iowait 3%, steal 0%` (of all cores). */
export function machineText(m: MachineShare): string {
  return `busy ${m.busyPct.toFixed(0)}%, iowait ${m.iowaitPct.toFixed(1)}%, steal ${m.stealPct.toFixed(1)}%`;
}

/** Memory of a server after two forced collections. */
export interface MemorySample {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
  /** How long the two collections took, in ms. */
  gcMs: number;
}

/**
 * Asks a server started with the stats preload to collect garbage and report its heap, then
 * reads its RSS from /proc. Waits at most `timeoutMs` for the report.
 */
export async function sampleMemory(pid: number, statsFile: string, timeoutMs = 20_000): Promise<MemorySample> {
  rmSync(statsFile, { force: true });
  process.kill(pid, 'SIGUSR2');
  const deadline = performance.now() + timeoutMs;
  while (!existsSync(statsFile)) {
    if (performance.now() > deadline) throw new Error(`expected a memory report from pid ${pid} within ${timeoutMs} ms, got none`);
    await sleep(20);
  }
  const m = JSON.parse(readFileSync(statsFile, 'utf8')) as Omit<MemorySample, 'rss'> & { gcAvailable: boolean };
  if (!m.gcAvailable) throw new Error(`expected pid ${pid} to run with --expose-gc, it does not`);
  // Let the collector's freed pages settle before reading RSS.
  await sleep(200);
  return { rss: rssOf(pid), heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers, gcMs: m.gcMs };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
