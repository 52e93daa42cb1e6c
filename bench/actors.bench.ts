/**
 * Actor runtime benchmarks, each next to a raw baseline measured in the same run:
 *  1. call round-trip (median, p99), through an instance ref and through a lazy ref; baseline:
 *     a bare promise resolved from a microtask and awaited (the least any async reply costs);
 *  2. activations per second: `startOrGet` of new keys whose `init` loads 100 records from an
 *     in-memory map; baseline: the same load into a plain object, no server around it;
 *  3. heap per idle live server holding 100 todo-sized records (with and without an idle
 *     timeout armed); baseline: a plain object holding the same records.
 *
 * Run: node --expose-gc --import tsx bench/actors.bench.ts
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { createSystem, defineServer, reply } from '../src/actors/index.js';
import { median, percentile } from './stats.js';

const SLICES = Number(process.env.BENCH_SLICES ?? 5);
const CALLS_PER_SLICE = Number(process.env.BENCH_CALLS ?? 20_000);
const ACTIVATIONS = Number(process.env.BENCH_ACTIVATIONS ?? 10_000);
const SERVERS = Number(process.env.BENCH_SERVERS ?? 10_000);
const RECORDS = 100;

const gc = (): void => {
  const collect = (globalThis as { gc?: () => void }).gc;
  if (collect === undefined) throw new Error('run with --expose-gc');
  collect();
  collect();
};
const ns = () => process.hrtime.bigint();
const fmt = (n: number, digits = 2) => n.toLocaleString('en-US', { maximumFractionDigits: digits });

interface Todo {
  id: number;
  title: string;
  completed: boolean;
  position: number;
}

/** A stored row: the title kept as bytes, as a database page holds it. */
interface Row {
  id: number;
  title: Buffer;
  completed: boolean;
  position: number;
}

/** One user's rows: 100 records with distinct ~30-character titles. */
function makeRows(user: number): Row[] {
  const rows: Row[] = new Array(RECORDS);
  for (let i = 0; i < RECORDS; i++) {
    const title = `Buy oat milk #${i} for user ${user} now`.slice(0, 30);
    rows[i] = { id: user * RECORDS + i, title: Buffer.from(title), completed: i % 3 === 0, position: i };
  }
  return rows;
}

/**
 * What a store's load does in memory: a fresh object and a freshly decoded title per row,
 * so holders never share strings with the table (or with each other).
 */
function load(table: Map<string, Row[]>, key: string): Todo[] {
  const rows = table.get(key);
  if (rows === undefined) return [];
  const out: Todo[] = new Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    out[i] = { id: r.id, title: r.title.toString('utf8'), completed: r.completed, position: r.position };
  }
  return out;
}

// ---- 1. call round-trip -------------------------------------------------------------------------

async function callRoundTrip() {
  const system = createSystem();
  const Echo = defineServer<number, number, number>({
    name: 'echo',
    init: () => 0,
    handleCall: (n, state) => reply(n, state),
  });
  const instance = await system.startOrGet(Echo, 'k');
  const lazy = system.ref(Echo, 'k');
  const bare = (n: number) => new Promise<number>((resolve) => queueMicrotask(() => resolve(n)));

  const measure = async (run: (i: number) => Promise<number>) => {
    const samples: number[] = new Array(CALLS_PER_SLICE);
    for (let i = 0; i < CALLS_PER_SLICE; i++) {
      const t0 = ns();
      await run(i);
      samples[i] = Number(ns() - t0);
    }
    return samples;
  };
  const rows: Record<string, { medians: number[]; p99s: number[] }> = {
    'bare promise (baseline)': { medians: [], p99s: [] },
    'call via instance ref': { medians: [], p99s: [] },
    'call via lazy ref': { medians: [], p99s: [] },
  };
  const runners: Record<string, (i: number) => Promise<number>> = {
    'bare promise (baseline)': bare,
    'call via instance ref': (i) => instance.call(i),
    'call via lazy ref': (i) => lazy.call(i),
  };
  // Warm-up, then interleaved slices so drift hits every row alike.
  for (const run of Object.values(runners)) await measure(run);
  for (let s = 0; s < SLICES; s++) {
    for (const [name, run] of Object.entries(runners)) {
      const samples = await measure(run);
      rows[name]!.medians.push(median(samples));
      rows[name]!.p99s.push(percentile(samples, 0.99));
    }
  }
  await system.shutdown({ drainMs: 100 });
  const base = rows['bare promise (baseline)']!;
  const baseMedian = median(base.medians);
  const baseP99 = median(base.p99s);
  return Object.entries(rows).map(([name, r]) => ({
    name,
    medianNs: median(r.medians),
    p99Ns: median(r.p99s),
    medianRatio: median(r.medians) / baseMedian,
    p99Ratio: median(r.p99s) / baseP99,
  }));
}

// ---- 2. activations per second -----------------------------------------------------------------

async function activations() {
  const table = new Map<string, Row[]>();
  for (let u = 0; u < ACTIVATIONS; u++) table.set(`u${u}`, makeRows(u));
  const User = defineServer<{ todos: Todo[] }, 'count', number>({
    name: 'user',
    init: (key) => ({ todos: load(table, key) }),
    handleCall: (_m, state) => reply(state.todos.length, state),
  });
  const BATCH = 500;
  const slices = { runtime: [] as number[], raw: [] as number[] };
  for (let s = 0; s < SLICES; s++) {
    // raw: the same load into a plain object per key
    gc();
    let t0 = ns();
    const holders = new Map<string, { todos: Todo[] }>();
    for (let u = 0; u < ACTIVATIONS; u++) holders.set(`u${u}`, { todos: load(table, `u${u}`) });
    slices.raw.push(ACTIVATIONS / (Number(ns() - t0) / 1e9));
    holders.clear();

    const system = createSystem();
    gc();
    t0 = ns();
    for (let start = 0; start < ACTIVATIONS; start += BATCH) {
      const batch: Promise<unknown>[] = [];
      for (let u = start; u < Math.min(ACTIVATIONS, start + BATCH); u++) batch.push(system.startOrGet(User, `u${u}`));
      await Promise.all(batch);
    }
    slices.runtime.push(ACTIVATIONS / (Number(ns() - t0) / 1e9));
    await system.shutdown({ drainMs: 100 });
  }
  return { runtimePerSec: median(slices.runtime), rawPerSec: median(slices.raw) };
}

// ---- 3. memory per idle server -----------------------------------------------------------------

async function memory() {
  const tables = new Map<string, Row[]>();
  const results: { name: string; bytesPerUnit: number }[] = [];
  const measureHeap = async (build: () => Promise<unknown> | unknown): Promise<[number, unknown]> => {
    gc();
    const before = process.memoryUsage().heapUsed;
    const kept = await build();
    gc();
    const after = process.memoryUsage().heapUsed;
    return [(after - before) / SERVERS, kept];
  };
  // The records live in the "database" first; each holder copies them, as a load would.
  for (let u = 0; u < SERVERS; u++) tables.set(`u${u}`, makeRows(u));

  const [plain, plainKept] = await measureHeap(() => {
    const holders = new Map<string, { key: string; todos: Todo[] }>();
    for (let u = 0; u < SERVERS; u++) holders.set(`u${u}`, { key: `u${u}`, todos: load(tables, `u${u}`) });
    return holders;
  });
  results.push({ name: 'plain object + 100 records (baseline)', bytesPerUnit: plain });
  (plainKept as Map<string, unknown>).clear();

  for (const idleTimeoutMs of [undefined, 600_000]) {
    const User = defineServer<{ todos: Todo[] }, 'count', number>({
      name: 'user',
      ...(idleTimeoutMs === undefined ? {} : { idleTimeoutMs }),
      init: (key) => ({ todos: load(tables, key) }),
      handleCall: (_m, state) => reply(state.todos.length, state),
    });
    const system = createSystem();
    const [perServer] = await measureHeap(async () => {
      const BATCH = 1000;
      for (let start = 0; start < SERVERS; start += BATCH) {
        const batch: Promise<unknown>[] = [];
        for (let u = start; u < Math.min(SERVERS, start + BATCH); u++) batch.push(system.startOrGet(User, `u${u}`));
        await Promise.all(batch);
      }
      return system;
    });
    if (system.snapshot().length !== SERVERS) throw new Error('not every server is live');
    results.push({
      name: `idle server + 100 records${idleTimeoutMs === undefined ? '' : ', idle timer armed'}`,
      bytesPerUnit: perServer,
    });
    await system.shutdown({ drainMs: 100 });
  }
  return results.map((r) => ({ ...r, ratio: r.bytesPerUnit / plain, overhead: r.bytesPerUnit - plain }));
}

// ---- report ------------------------------------------------------------------------------------

const started = Date.now();
const rt = await callRoundTrip();
const act = await activations();
const mem = await memory();

console.log(`actors bench — ${new Date().toISOString()} — node ${process.version}, ${cpus().length} cpus, load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
console.log(`\n1. call round-trip (${SLICES} slices × ${CALLS_PER_SLICE} sequential calls; median of slice medians and p99s)`);
console.log('| path | median | p99 | median ratio | p99 ratio |\n| --- | --- | --- | --- | --- |');
for (const r of rt) {
  console.log(`| ${r.name} | ${fmt(r.medianNs / 1000)} µs | ${fmt(r.p99Ns / 1000)} µs | ${fmt(r.medianRatio)}× | ${fmt(r.p99Ratio)}× |`);
}
console.log(`\n2. activations (${ACTIVATIONS} new keys per slice, init loads ${RECORDS} records; median of ${SLICES} slices)`);
console.log('| path | per second | ratio |\n| --- | --- | --- |');
console.log(`| load into a plain object (baseline) | ${fmt(act.rawPerSec, 0)} | 1.00× |`);
console.log(`| startOrGet (batches of 500) | ${fmt(act.runtimePerSec, 0)} | ${fmt(act.runtimePerSec / act.rawPerSec)}× |`);
console.log(`\n3. heap per idle live holder of ${RECORDS} todo records (${SERVERS} holders, heapUsed delta after gc)`);
console.log('| holder | bytes each | ratio | overhead |\n| --- | --- | --- | --- |');
for (const m of mem) console.log(`| ${m.name} | ${fmt(m.bytesPerUnit, 0)} | ${fmt(m.ratio)}× | ${fmt(m.overhead, 0)} B |`);
console.log(`\n(${((Date.now() - started) / 1000).toFixed(1)} s)`);

mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
writeFileSync(
  new URL('./results/actors.json', import.meta.url),
  `${JSON.stringify({ date: new Date().toISOString(), node: process.version, cpus: cpus().length, load: loadavg(), callRoundTrip: rt, activations: act, memory: mem }, null, 2)}\n`,
);
