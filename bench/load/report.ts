/**
 * The load run as Markdown tables: every figure of our app next to the peer and the raw
 * baseline of the same run, with the ratio and the target it answers to.
 */
import type { CommitBaseline } from './baselines.js';
import type { IdleResult } from './idle.js';
import { type MachineShare, machineText } from './proc.js';
import { fmt, KB } from './stats.js';
import type { StormResult } from './storm.js';
import { medianOfWindows, type TrafficResult } from './traffic.js';
import type { WireSample } from './wire.js';

export interface LoadResults {
  date: string;
  node: string;
  nproc: number;
  loadavgStart: number[];
  loadavgEnd: number[];
  seconds: number;
  command: string;
  idle: Record<string, IdleResult>;
  sweep: Record<string, TrafficResult[]>;
  /** At the fixed rate: the medians of `steadyWindows` (see `medianOfWindows`). */
  steady: Record<string, TrafficResult>;
  /** Every window at the fixed rate, in the order taken (servers in turn). */
  steadyWindows?: Record<string, TrafficResult[]>;
  max: Record<string, TrafficResult>;
  /** The median storm of each server (see `medianStorm`). */
  storms: Record<string, StormResult>;
  /** Every storm, in the order taken (servers in turn with the raw baseline). */
  stormRuns?: Record<string, StormResult[]>;
  wire: Record<string, Record<string, WireSample | null>>;
  sqliteBaseline?: CommitBaseline;
  /** One fsync'd commit at a time, measured right after the fixed-rate runs (what a durable ack waits for). */
  steadyCommitBaseline?: CommitBaseline;
}

const OURS = 'todo-live';
const PEER = 'liveviewjs';
/** The storm baseline: a bare `ws` server restarted under as many tabs, answering joins with our mount's size. */
export const RAW_STORM = 'raw ws';
const RAW = 'raw ws echo';
/** The echo acknowledged after a SQLite commit (WAL, FULL): the floor for a durable round trip. */
export const RAW_DURABLE = 'raw durable echo';
/**
 * A window in which the hypervisor took at least this share of all cores for other guests says
 * more about the host than about the server: such windows are left out of the "quiet" medians.
 */
const QUIET_STEAL_PCT = 5;

/** The same echo with its commits on a worker thread: the floor for a server whose event loop never waits for the disk. */
export const RAW_DURABLE_THREAD = 'raw durable echo, thread';

const row = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
const table = (head: readonly string[], rows: readonly (readonly string[])[]) =>
  [row(head), row(head.map(() => '---')), ...rows.map(row)].join('\n');
/**
 * With several storms per server: each storm's rate and stolen time, and each of our storms
 * against the raw storm taken right after it (the two see the same host).
 */
function stormRounds(r: LoadResults): string[][] {
  const runs = r.stormRuns ?? {};
  const count = Math.max(0, ...Object.values(runs).map((x) => x.length));
  if (count < 2) return [];
  const each = (label: string) =>
    (runs[label] ?? []).map((x) => `${fmt(x.activationsPerSecond)} (steal ${fmt(x.machine.stealPct, 2)}%)`).join(', ') || 'n/a';
  const ours = runs[OURS] ?? [];
  const raw = runs[RAW_STORM] ?? [];
  const paired = ours.map((x, i) => (raw[i] === undefined ? Number.NaN : x.activationsPerSecond / raw[i].activationsPerSecond)).filter((x) => Number.isFinite(x));
  const sorted = [...paired].sort((a, b) => a - b);
  const mid = sorted.length === 0 ? Number.NaN : sorted.length % 2 === 1 ? (sorted[(sorted.length - 1) / 2] as number) : ((sorted[sorted.length / 2 - 1] as number) + (sorted[sorted.length / 2] as number)) / 2;
  return [
    [
      `activations per second, each of ${count} storms`,
      each(OURS),
      each(PEER),
      each(RAW_STORM),
      paired.length === 0 ? 'n/a' : `${paired.map((x) => fmt(x, 3)).join(', ')}; median ${fmt(mid, 3)}×`,
      '',
    ],
  ];
}

/** How the whole machine spent its time during a window or a storm, or n/a. */
const machineCell = (x: { machine?: MachineShare } | undefined) => (x?.machine === undefined ? 'n/a' : machineText(x.machine));
const ratio = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined || !(b > 0) ? 'n/a' : `${fmt(a / b, 3)}×`);
const kb = (b: number | undefined) => (b === undefined ? 'n/a' : `${fmt(b / KB, 3)} KB`);
const ms = (x: number | undefined, d = 3) => (x === undefined || !Number.isFinite(x) ? 'n/a' : `${fmt(x, d)} ms`);

export function renderReport(r: LoadResults): string {
  const out: string[] = [];
  out.push(`Run ${r.date} (${fmt(r.seconds, 3)} s), Node ${r.node}, nproc ${r.nproc}, load average ${r.loadavgStart.map((x) => x.toFixed(2)).join(' ')} at the start, ${r.loadavgEnd.map((x) => x.toFixed(2)).join(' ')} at the end.`);
  out.push(`Command: \`${r.command}\``);

  const o = r.idle.ours;
  const p = r.idle.peer;
  const w = r.idle.raw;
  const h = r.idle.oursHibernated;
  if (o !== undefined || p !== undefined || w !== undefined) {
    const heartbeatCpu = (x: IdleResult | undefined) => {
      const n = x?.steps[x.steps.length - 1]?.users;
      if (x?.heartbeatCpuCores == null || n === undefined) return 'n/a';
      return `${fmt(x.heartbeatCpuCores * 100)}% of a core; ${fmt((x.heartbeatCpuCores * 100 * 50_000) / n)}% at 50,000`;
    };
    const users = (x: IdleResult | undefined) => (x === undefined ? 'n/a' : fmt(x.steps[x.steps.length - 1]?.users ?? 0, 6));
    out.push(
      '\n**Memory per connected user** (100 todos each; memory sampled after forced GC at each step of users; per user: the slope of a line through the steps, so what a node grows by once, in its first step, is not counted per user; that growth has its own row)\n',
    );
    out.push(
      table(
        ['figure', OURS, PEER, 'raw `ws` socket', 'ours ÷ raw', 'target'],
        [
          ['users connected', users(o), users(p), users(w), '', ''],
          ['RSS per user, server resident (slope over the steps)', kb(o?.rssPerUser), kb(p?.rssPerUser), kb(w?.rssPerUser), ratio(o?.rssPerUser, w?.rssPerUser), '≤ 24 KB'],
          ['RSS per user, server resident, line through zero users as well', kb(o?.rssPerUserFromZero), kb(p?.rssPerUserFromZero), kb(w?.rssPerUserFromZero), ratio(o?.rssPerUserFromZero, w?.rssPerUserFromZero), ''],
          ['RSS per user, (last − base) ÷ users', kb(o?.rssPerUserLast), kb(p?.rssPerUserLast), kb(w?.rssPerUserLast), ratio(o?.rssPerUserLast, w?.rssPerUserLast), ''],
          ['heap per user, server resident', kb(o?.heapPerUser), kb(p?.heapPerUser), kb(w?.heapPerUser), ratio(o?.heapPerUser, w?.heapPerUser), ''],
          [
            'RSS per user after the idle stop (user server stopped, tab hibernated; (sample − base) ÷ users, and RSS keeps the resident peak)',
            kb(o?.afterIdle?.rssPerUser),
            'n/a (no idle stop)',
            kb(w?.rssPerUserLast),
            ratio(o?.afterIdle?.rssPerUser, w?.rssPerUserLast),
            '',
          ],
          ['heap per user after the idle stop and hibernation', kb(o?.afterIdle?.heapPerUser), 'n/a', kb(w?.heapPerUserLast), ratio(o?.afterIdle?.heapPerUser, w?.heapPerUserLast), ''],
          ['RSS per user, hibernated from the start (slope over the steps; users sleep 2 s after joining)', kb(h?.rssPerUser), 'n/a', kb(w?.rssPerUser), ratio(h?.rssPerUser, w?.rssPerUser), '≤ 10 KB'],
          ['RSS per user, hibernated from the start, line through zero users as well', kb(h?.rssPerUserFromZero), 'n/a', kb(w?.rssPerUserFromZero), ratio(h?.rssPerUserFromZero, w?.rssPerUserFromZero), ''],
          ['RSS per user, hibernated from the start, (last − base) ÷ users', kb(h?.rssPerUserLast), 'n/a', kb(w?.rssPerUserLast), ratio(h?.rssPerUserLast, w?.rssPerUserLast), ''],
          ['heap per user, hibernated from the start (slope over the steps)', kb(h?.heapPerUser), 'n/a', kb(w?.heapPerUser), ratio(h?.heapPerUser, w?.heapPerUser), ''],
          ['server CPU while users go idle (heartbeats, idle stops, hibernation)', o?.afterIdle === undefined || o.afterIdle === null ? 'n/a' : `${fmt(o.afterIdle.idleCpuCores * 100)}% of a core`, 'n/a', '', '', ''],
          [
            'server CPU with heartbeats only (one per tab every 30 s; raw: its 150 B echo), and extrapolated to 50,000 users',
            heartbeatCpu(o),
            'n/a',
            heartbeatCpu(w),
            ratio(o?.heartbeatCpuCores ?? undefined, w?.heartbeatCpuCores ?? undefined),
            '≤ 10% at 50,000',
          ],
          ['base RSS (no users)', kb(o?.base.rss), kb(p?.base.rss), kb(w?.base.rss), '', ''],
          [
            'one-off growth in the first step (the line\'s intercept − base RSS: page caches filling, V8 growing its young generation)',
            kb(o?.rssOneOff),
            kb(p?.rssOneOff),
            kb(w?.rssOneOff),
            '',
            '',
          ],
          ['the same, users hibernated from the start', kb(h?.rssOneOff), 'n/a', '', '', ''],
          ['users in 2 GiB RSS (extrapolated)', fmt(o?.usersIn2GiB ?? Number.NaN, 3), fmt(p?.usersIn2GiB ?? Number.NaN, 3), fmt(w?.usersIn2GiB ?? Number.NaN, 3), ratio(o?.usersIn2GiB, w?.usersIn2GiB), '≥ 50,000'],
          ['connects per second (GET + socket + join)', fmt(o?.connectPerSecond ?? Number.NaN), fmt(p?.connectPerSecond ?? Number.NaN), `${fmt(w?.connectPerSecond ?? Number.NaN)} (socket only)`, '', ''],
        ],
      ),
    );
  }

  const so = r.steady[OURS];
  const sp = r.steady[PEER];
  const se = r.steady[RAW];
  const sd = r.steady[RAW_DURABLE];
  const st = r.steady[RAW_DURABLE_THREAD];
  if (so !== undefined || se !== undefined) {
    const windows = (label: string) => r.steadyWindows?.[label] ?? [];
    const count = Math.max(...[OURS, PEER, RAW, RAW_DURABLE, RAW_DURABLE_THREAD].map((l) => windows(l).length), 1);
    const taken = count > 1 ? `; each figure the median of ${count} windows, the servers measured in turn` : '';
    out.push(`\n**Round trip at a fixed rate** (${fmt(so?.offered ?? se?.offered ?? Number.NaN)} events/s in total, toggles; event sent → reply received${taken})\n`);
    const us = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? 'n/a' : `${fmt(x)} µs`);
    /** One row: ours, the peer, then each baseline with ours ÷ it, then the target. */
    const line = (name: string, f: (t: TrafficResult | undefined) => string, g?: (t: TrafficResult | undefined) => number | undefined, target = '') => [
      name,
      f(so),
      f(sp),
      f(se),
      g === undefined ? '' : ratio(g(so), g(se)),
      f(sd),
      g === undefined ? '' : ratio(g(so), g(sd)),
      f(st),
      g === undefined ? '' : ratio(g(so), g(st)),
      target,
    ];
    const each = (label: string, f: (t: TrafficResult) => string) => (windows(label).length === 0 ? 'n/a' : windows(label).map(f).join(', '));
    const quietMedian = (label: string, f: (t: TrafficResult) => number) => {
      const quiet = windows(label).filter((t) => t.machine.stealPct < QUIET_STEAL_PCT);
      return quiet.length === 0 ? 'n/a' : `${fmt(f(medianOfWindows(quiet)), 3)} (${quiet.length} of ${windows(label).length})`;
    };
    /** A row of one cell per server, in the table's columns, without ratios or target. */
    const perServer = (name: string, cell: (label: string) => string) => [
      name,
      cell(OURS),
      cell(PEER),
      cell(RAW),
      '',
      cell(RAW_DURABLE),
      '',
      cell(RAW_DURABLE_THREAD),
      '',
      '',
    ];
    const perWindow = (name: string, f: (t: TrafficResult) => string) => perServer(name, (l) => each(l, f));
    const quietRow = (name: string, f: (t: TrafficResult) => number) => perServer(name, (l) => quietMedian(l, f));
    out.push(
      table(
        ['figure', OURS, PEER, 'raw `ws` echo', 'ours ÷ raw', 'raw durable echo (SQLite commit on the event loop, FULL)', 'ours ÷ it', 'raw durable echo, commit on a worker thread', 'ours ÷ it', 'target'],
        [
          line('achieved events/s', (t) => fmt(t?.achieved ?? Number.NaN)),
          line('p50', (t) => ms(t?.latencyMs.p50), (t) => t?.latencyMs.p50, '≤ 1 ms'),
          line('p99', (t) => ms(t?.latencyMs.p99), (t) => t?.latencyMs.p99, '≤ 1.5× raw'),
          ...Object.keys(so?.byKind ?? {}).map((kind) =>
            line(`p50 / p99 of the ${kind} events`, (t) => (t?.byKind?.[kind] === undefined ? '' : `${ms(t.byKind[kind].p50)} / ${ms(t.byKind[kind].p99)} (${fmt(t.byKind[kind].n, 6)})`)),
          ),
          line('max', (t) => ms(t?.latencyMs.max), (t) => t?.latencyMs.max),
          line('server CPU per event', (t) => us(t?.cpuUsPerEvent), (t) => t?.cpuUsPerEvent),
          line('failed or unanswered', (t) => fmt(t?.failed ?? Number.NaN), undefined, '0'),
          line(count > 1 ? 'machine during the windows (all cores, medians)' : 'machine during the window (all cores)', machineCell),
          ...(count > 1
            ? [
                perWindow('p50 of each window (ms)', (t) => fmt(t.latencyMs.p50, 3)),
                perWindow('p99 of each window (ms)', (t) => fmt(t.latencyMs.p99, 3)),
                perWindow('iowait / steal of each window (% of all cores)', (t) => `${t.machine.iowaitPct.toFixed(1)}/${t.machine.stealPct.toFixed(1)}`),
                quietRow(`p50 (ms), median of the windows with steal under ${QUIET_STEAL_PCT}% (how many)`, (t) => t.latencyMs.p50),
                quietRow(`p99 (ms), median of the windows with steal under ${QUIET_STEAL_PCT}% (how many)`, (t) => t.latencyMs.p99),
              ]
            : []),
        ],
      ),
    );
    const c = r.steadyCommitBaseline;
    if (c !== undefined) {
      out.push(
        `\nRaw SQLite commit right after (one INSERT per transaction, WAL, \`synchronous=FULL\`): p50 ${ms(c.commitUs.p50 / 1000, 3)}, p99 ${ms(c.commitUs.p99 / 1000, 3)}; a durable acknowledgement waits for one or two of these.`,
      );
    }
  }

  const labels = Object.keys(r.sweep);
  if (labels.length > 0) {
    const rates = r.sweep[labels[0] as string]?.map((x) => x.offered) ?? [];
    out.push('\n**Round trip against offered load** (p50 / p99, ms; the plot is `docs/load-latency.svg`)\n');
    out.push(
      table(
        ['events/s', ...labels],
        rates.map((rate, i) => [fmt(rate, 6), ...labels.map((l) => {
          const x = r.sweep[l]?.[i];
          return x === undefined ? 'n/a' : `${fmt(x.latencyMs.p50, 3)} / ${fmt(x.latencyMs.p99, 3)}${x.failed > 0 ? ` (${x.failed} failed)` : ''}`;
        })]),
      ),
    );
  }

  const mo = r.max[OURS];
  const mp = r.max[PEER];
  const b = r.sqliteBaseline;
  if (mo !== undefined || b !== undefined) {
    out.push('\n**Throughput, closed loop** (each socket keeps one event in flight, at most 19/s, under our 20/s limit)\n');
    out.push(
      table(
        ['figure', OURS, `${PEER} (in memory, not durable)`, 'raw SQLite commit (WAL, FULL)', 'ours ÷ raw', 'target'],
        [
          ['events (commits) per second', fmt(mo?.achieved ?? Number.NaN), fmt(mp?.achieved ?? Number.NaN), fmt(b?.commitsPerSecond ?? Number.NaN), ratio(mo?.achieved, b?.commitsPerSecond), '≥ 3,000 durable/s'],
          ['round trip p50 / p99', `${ms(mo?.latencyMs.p50)} / ${ms(mo?.latencyMs.p99)}`, `${ms(mp?.latencyMs.p50)} / ${ms(mp?.latencyMs.p99)}`, `${fmt((b?.commitUs.p50 ?? Number.NaN) / 1000)} / ${fmt((b?.commitUs.p99 ?? Number.NaN) / 1000)} ms`, '', ''],
          ['server CPU', `${fmt(mo?.cpuCores ?? Number.NaN)} cores`, `${fmt(mp?.cpuCores ?? Number.NaN)} cores`, '', '', ''],
          ['failed', fmt(mo?.failed ?? Number.NaN), fmt(mp?.failed ?? Number.NaN), '', '', '0'],
          ['machine during the window (all cores)', machineCell(mo), machineCell(mp), '', '', ''],
        ],
      ),
    );
  }

  const to = r.storms[OURS];
  const tp = r.storms[PEER];
  const tr = r.storms[RAW_STORM];
  if (to !== undefined || tp !== undefined) {
    out.push(`\n**Reconnect storm** (ours: restarted, every user cold; ${PEER}: sockets dropped, server kept)\n`);
    out.push(
      table(
        ['figure', OURS, PEER, 'raw `ws` (restarted; joins answered with our mount\'s size)', 'ours ÷ raw', 'target'],
        [
          ['cold join one at a time, p50 / p99', `${ms(to?.coldJoinMs.p50)} / ${ms(to?.coldJoinMs.p99)}`, `${ms(tp?.coldJoinMs.p50)} / ${ms(tp?.coldJoinMs.p99)}`, `${ms(tr?.coldJoinMs.p50)} / ${ms(tr?.coldJoinMs.p99)}`, ratio(to?.coldJoinMs.p50, tr?.coldJoinMs.p50), '≤ 2 ms / ≤ 10 ms'],
          ['tabs reconnecting at once', fmt(to?.users ?? Number.NaN, 6), fmt(tp?.users ?? Number.NaN, 6), fmt(tr?.users ?? Number.NaN, 6), '', ''],
          ['time to full service', ms(to?.fullServiceMs, 4), ms(tp?.fullServiceMs, 4), ms(tr?.fullServiceMs, 4), ratio(to?.fullServiceMs, tr?.fullServiceMs), ''],
          ['activations per second', fmt(to?.activationsPerSecond ?? Number.NaN), fmt(tp?.activationsPerSecond ?? Number.NaN), fmt(tr?.activationsPerSecond ?? Number.NaN), ratio(to?.activationsPerSecond, tr?.activationsPerSecond), '≥ 1,000'],
          ...stormRounds(r),
          ['join round trip in the storm, p50 / p99', `${ms(to?.joinMs.p50)} / ${ms(to?.joinMs.p99)}`, `${ms(tp?.joinMs.p50)} / ${ms(tp?.joinMs.p99)}`, `${ms(tr?.joinMs.p50)} / ${ms(tr?.joinMs.p99)}`, '', ''],
          ['retries / failed', `${to?.retries ?? 'n/a'} / ${to?.failed ?? 'n/a'}`, `${tp?.retries ?? 'n/a'} / ${tp?.failed ?? 'n/a'}`, `${tr?.retries ?? 'n/a'} / ${tr?.failed ?? 'n/a'}`, '', '0'],
          ['server CPU during the storm', `${fmt(to?.cpuCores ?? Number.NaN)} cores`, `${fmt(tp?.cpuCores ?? Number.NaN)} cores`, `${fmt(tr?.cpuCores ?? Number.NaN)} cores`, '', ''],
          ['machine during the storm (all cores)', machineCell(to), machineCell(tp), machineCell(tr), '', ''],
        ],
      ),
    );
  }

  const wo = r.wire[OURS];
  const wp = r.wire[PEER];
  if (wo !== undefined || wp !== undefined) {
    const names = [...new Set([...Object.keys(wo ?? {}), ...Object.keys(wp ?? {})])];
    const cell = (s: WireSample | null | undefined) =>
      s === undefined || s === null ? 'n/a' : s.error !== undefined ? `not measured: ${s.error}` : `${fmt(s.up, 6)} / ${fmt(s.down, 9)}`;
    out.push('\n**Bytes on the wire** (frame text, client → server / server → client, reply and any push that follows)\n');
    out.push(
      table(
        ['action', OURS, PEER, 'ours ÷ peer (down)', 'target'],
        names.map((n) => [
          n,
          cell(wo?.[n]),
          cell(wp?.[n]),
          wo?.[n]?.error === undefined && wp?.[n]?.error === undefined ? ratio(wo?.[n]?.down ?? undefined, wp?.[n]?.down ?? undefined) : 'n/a',
          n.startsWith('toggle in') ? '≤ 200 B down, ≤ 120 B up' : n.startsWith('mount (join reply), 100') ? '≤ 14 KB' : n.startsWith('dead render') ? '≤ 32 KB' : '',
        ]),
      ),
    );
  }
  return `${out.join('\n')}\n`;
}
