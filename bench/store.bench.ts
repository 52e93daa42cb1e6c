/**
 * Store benchmarks, each next to a raw baseline measured in the same run:
 *  1. durable toggles per second with group commit, 1,000 users each awaiting its own
 *     toggles, synchronous=FULL; baseline: one raw INSERT per transaction, same settings;
 *     alongside, the event-loop delay while they run (what a commit costs every socket; no
 *     raw counterpart) and the latency of a `load` timed every 5 ms meanwhile;
 *  2. loading a 100-todo list (median, p99) among 100,000 rows; baseline: the raw query;
 *     WAL frames (pages) a toggle adds to the log; baseline: a raw one-row INSERT's;
 *     a cleanup over 10,000 users of 100 todos and the wait of a write made during it;
 *     baseline: one raw DELETE over the table;
 *  3. the same two on PostgreSQL (when installed), against raw `pg` queries.
 *
 * Run: node --expose-gc --import tsx bench/store.bench.ts [sqlite] [postgres]
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { loadavg, cpus } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { openDatabase, prepare, setPragma } from '../src/store/sqlite-handles.js';
import pg from 'pg';
import { openPostgresStore, openSqliteStore, type TodoStore } from '../src/store/index.js';
import { findPostgresBin, startPostgres } from '../test/support/postgres.js';
import { makeTempDir } from '../test/support/temp-dir.js';
import { gc, median, percentile } from './stats.js';

const USERS = 1000;
const PHASE_MS = Number(process.env.BENCH_PHASE_MS ?? 2500);
const REPEATS = 3;

const rows: string[][] = [];
const report = (what: string, value: string, baselineName: string, baseline: string, ratio: string) => {
  rows.push([what, value, baselineName, baseline, ratio]);
  console.log(`${what}: ${value} | ${baselineName}: ${baseline} | ratio ${ratio}`);
};

interface ToggleRun {
  /** Durable toggles per second. */
  rate: number;
  /** Event-loop delay while the toggles ran (ms): how long the main thread was unavailable. */
  loopP50: number;
  loopP99: number;
  loopMax: number;
  /** `store.load` of a toggling user, timed every 5 ms while the toggles ran (ms). */
  loads: number[];
}

/** Every user toggles its one todo, awaiting each toggle before the next, for PHASE_MS. */
async function concurrentToggles(store: TodoStore, users: number): Promise<ToggleRun> {
  const ids = new Map<string, number>();
  await Promise.all(
    Array.from({ length: users }, async (_, i) => {
      const userId = `bench-${i}`;
      const list = await store.load(userId);
      const id = list.todos[0]?.id ?? (await store.apply({ userId, opId: 'seed', mutation: { kind: 'add', title: 'toggle me' } })).todoId!;
      ids.set(userId, id);
    }),
  );
  gc();
  let done = 0;
  const loop = monitorEventLoopDelay({ resolution: 1 });
  const loads: number[] = [];
  const start = performance.now();
  const deadline = start + PHASE_MS;
  let op = 0;
  loop.enable();
  const reader = (async () => {
    for (let i = 0; performance.now() < deadline; i++) {
      await new Promise((r) => setTimeout(r, 5));
      const t = performance.now();
      await store.load(`bench-${(i * 7919) % users}`);
      loads.push(performance.now() - t);
    }
  })();
  await Promise.all(
    [...ids].map(async ([userId, id]) => {
      while (performance.now() < deadline) {
        await store.apply({ userId, opId: `t-${++op}`, mutation: { kind: 'toggle', id } });
        done++;
      }
    }),
  );
  const rate = done / ((performance.now() - start) / 1000);
  await reader;
  loop.disable();
  const ms = (ns: number) => ns / 1e6;
  return { rate, loopP50: ms(loop.percentile(50)), loopP99: ms(loop.percentile(99)), loopMax: ms(loop.max), loads };
}

/** Raw better-sqlite3: one INSERT per transaction (autocommit), the given synchronous setting. */
function rawSqliteInserts(path: string, synchronous: 'FULL' | 'NORMAL'): number {
  const db = openDatabase(path);
  setPragma(db, 'journal_mode = WAL');
  setPragma(db, `synchronous = ${synchronous}`);
  db.exec('CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, user_id TEXT, title TEXT, completed INT, position INT)');
  const insert = prepare(db, 'INSERT INTO t (user_id, title, completed, position) VALUES (?, ?, 0, ?)');
  gc();
  let n = 0;
  const start = performance.now();
  while (performance.now() - start < PHASE_MS) insert.run('u', 'title', n++);
  const rate = n / ((performance.now() - start) / 1000);
  db.close();
  return rate;
}

async function sqliteWrites(dir: string): Promise<void> {
  for (const synchronous of ['FULL', 'NORMAL'] as const) {
    const runs: ToggleRun[] = [];
    const raw: number[] = [];
    for (let r = 0; r < REPEATS; r++) {
      const store = openSqliteStore({ path: join(dir, `w-${synchronous}-${r}.sqlite`), synchronous });
      const run = await concurrentToggles(store, USERS);
      runs.push(run);
      const { commits, writes } = store.stats();
      await store.close();
      raw.push(rawSqliteInserts(join(dir, `raw-${synchronous}-${r}.sqlite`), synchronous));
      console.log(
        `  run ${r}: group ${run.rate.toFixed(0)}/s (${(writes / commits).toFixed(0)} writes per commit), raw ${raw.at(-1)!.toFixed(0)}/s; ` +
          `event-loop delay p50 ${run.loopP50.toFixed(2)} ms, p99 ${run.loopP99.toFixed(2)} ms, max ${run.loopMax.toFixed(1)} ms; ` +
          `load during toggles p50 ${(median(run.loads) * 1000).toFixed(0)} µs, p99 ${(percentile(run.loads, 0.99) * 1000).toFixed(0)} µs`,
      );
    }
    const rates = runs.map((r) => r.rate);
    report(
      `SQLite durable toggles/s, group commit, ${USERS} users, synchronous=${synchronous}`,
      median(rates).toFixed(0),
      'raw INSERT, 1 per transaction',
      median(raw).toFixed(0),
      `${(median(rates) / median(raw)).toFixed(1)}×`,
    );
    // Figures with no raw counterpart (the baseline column says so): what the commits cost the event loop.
    const none = '—';
    report(`SQLite event-loop delay during those toggles, p99 (median of runs), synchronous=${synchronous}`, `${median(runs.map((r) => r.loopP99)).toFixed(2)} ms`, none, none, none);
    report(`SQLite event-loop delay during those toggles, max (median of runs), synchronous=${synchronous}`, `${median(runs.map((r) => r.loopMax)).toFixed(1)} ms`, none, none, none);
    report(
      `SQLite load of a 1-todo list during those toggles, p50 / p99 (median of runs), synchronous=${synchronous}`,
      `${(median(runs.map((r) => median(r.loads))) * 1000).toFixed(0)} / ${(median(runs.map((r) => percentile(r.loads, 0.99))) * 1000).toFixed(0)} µs`,
      none,
      none,
      none,
    );
  }
}

/**
 * 100 todos for each user, added in rounds (one todo of every user per round), as lists grow
 * in real use: many users adding over time, not one user at a time. Where the file keeps rows
 * in insertion order, each user's todos end up spread over as many pages as the list is long.
 */
async function seedHundred(store: TodoStore, users: number): Promise<void> {
  for (let k = 0; k < 100; k++) {
    await Promise.all(
      Array.from({ length: users }, (_, i) =>
        store.apply({ userId: `load-${i}`, opId: `s${k}`, mutation: { kind: 'add', title: `todo number ${k} of load-${i}` } }),
      ),
    );
  }
}

/** Times `load` over the users for one phase; `before`, when given, runs untimed before each load. */
async function timeLoads(
  label: string,
  load: (userId: string) => Promise<unknown> | unknown,
  users: number,
  before?: () => Promise<unknown>,
): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < 200; i++) await load(`load-${i % users}`); // warm-up
  gc();
  const start = performance.now();
  let i = 0;
  while (performance.now() - start < PHASE_MS) {
    await before?.();
    const t = performance.now();
    await load(`load-${(i++ * 7919) % users}`);
    samples.push(performance.now() - t);
  }
  console.log(`  ${label}: ${samples.length} loads`);
  return samples;
}

/** A new SQLite file holding `users` users with 100 todos each, seeded as {@link seedHundred} does. */
async function seededHundredFile(path: string, users: number): Promise<string> {
  const seed = openSqliteStore({ path, synchronous: 'NORMAL' });
  await seedHundred(seed, users);
  await seed.close();
  return path;
}

async function sqliteLoads(dir: string): Promise<void> {
  const users = 1000;
  const path = await seededHundredFile(join(dir, 'loads.sqlite'), users);
  const store = openSqliteStore({ path });
  const viaStore = await timeLoads('store.load', (u) => store.load(u), users);
  // The same loads, each after a commit by the writer connection (a touch that writes):
  // what an activation paid while every activation wrote "last seen".
  let touched = 0;
  const afterCommit = await timeLoads('store.load after a commit', (u) => store.load(u), users, () => store.touch(`toucher-${touched++}`));
  await store.close();
  const db = openDatabase(path, { readonly: true });
  const raw = prepare(
    db,
    'SELECT id, title, completed, position, created_at, updated_at FROM todos WHERE user_id = ? ORDER BY position, id',
  );
  const rawVersion = prepare(db, 'SELECT version FROM users WHERE id = ?');
  const viaRaw = await timeLoads('raw query', (u) => {
    rawVersion.get(u);
    return raw.all(u);
  }, users);
  db.close();
  reportLatency('SQLite load of 100 todos (100,000 rows)', viaStore, viaRaw);
  report(
    'SQLite load of 100 todos, each after a commit by the writer, p50',
    `${(median(afterCommit) * 1000).toFixed(0)} µs`,
    'the same loads without commits',
    `${(median(viaStore) * 1000).toFixed(0)} µs`,
    `${(median(afterCommit) / median(viaStore)).toFixed(2)}×`,
  );
}

/**
 * WAL frames (pages) a write adds to the log: what its commit writes and fsyncs. Counted from
 * the log's size after a checkpoint emptied it, over 100 toggles of users with 100 todos.
 */
async function sqliteFrames(dir: string): Promise<void> {
  const users = 1000;
  const path = await seededHundredFile(join(dir, 'frames.sqlite'), users);
  const FRAME = 4096 + 24;
  const walFrames = () => {
    try {
      return statSync(`${path}-wal`).size / FRAME;
    } catch {
      return 0;
    }
  };
  let phase = 0;
  const framesPerWrite = async (seenResolutionMs: number, opIds: boolean, perCommit: number): Promise<number> => {
    phase++;
    const store = openSqliteStore({ path, seenResolutionMs });
    await store.load('load-0');
    const side = openDatabase(path);
    setPragma(side, 'wal_checkpoint(TRUNCATE)');
    let n = 0;
    for (let round = 0; round < 100 / perCommit; round++) {
      await Promise.all(
        Array.from({ length: perCommit }, () => {
          const k = n++;
          const userId = `load-${(k * 7919) % users}`;
          // Every phase toggles the same 100 todos: each write changes its todo.
          const mutation = { kind: 'set_completed', id: 1 + (k % 100), completed: phase % 2 === 1 } as const;
          return store.apply(opIds ? { userId, opId: `frames-${seenResolutionMs}-${perCommit}-${k}`, mutation } : { userId, mutation });
        }),
      );
    }
    const frames = walFrames() / n;
    side.close();
    await store.close();
    return frames;
  };
  const rawPath = join(dir, 'frames-raw.sqlite');
  const raw = openDatabase(rawPath);
  setPragma(raw, 'journal_mode = WAL');
  raw.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, user_id TEXT, title TEXT, position INTEGER)');
  raw.exec('CREATE INDEX t_user_position ON t (user_id, position)');
  const insert = prepare(raw, 'INSERT INTO t (user_id, title, position) VALUES (?, ?, ?)');
  for (let i = 0; i < 10_000; i++) insert.run(`u${i % 1000}`, 'title', i);
  setPragma(raw, 'wal_checkpoint(TRUNCATE)');
  for (let i = 0; i < 100; i++) insert.run(`u${(i * 7919) % 1000}`, 'title', i);
  const rawFrames = statSync(`${rawPath}-wal`).size / FRAME / 100;
  raw.close();
  const DAY = 86_400_000;
  const f = (x: number) => x.toFixed(2);
  const rawName = 'raw INSERT, 1 per transaction';
  const alone = await framesPerWrite(DAY, false, 1);
  report('SQLite WAL frames per toggle committed alone (no operation id, last seen to a day: the app)', f(alone), rawName, f(rawFrames), `${f(alone / rawFrames)}×`);
  const withOp = await framesPerWrite(DAY, true, 1);
  report('SQLite WAL frames per toggle committed alone, with an operation id recorded', f(withOp), rawName, f(rawFrames), `${f(withOp / rawFrames)}×`);
  const every = await framesPerWrite(0, true, 1);
  report('SQLite WAL frames per toggle committed alone, operation id and last seen written by every write', f(every), rawName, f(rawFrames), `${f(every / rawFrames)}×`);
  const ten = await framesPerWrite(DAY, false, 10);
  report('SQLite WAL frames per toggle, 10 users\' toggles per commit (the app)', f(ten), rawName, f(rawFrames), `${f(ten / rawFrames)}×`);
}

/**
 * The cleanup walks users in slices (no index of completed todos): how long a run takes over
 * 10,000 users of 100 todos, and how long a write made during it waits, against one raw
 * DELETE over the whole table (what a cleanup in one transaction would hold the writer for).
 */
async function sqliteCleanup(dir: string): Promise<void> {
  const users = 10_000;
  const path = join(dir, 'cleanup.sqlite');
  await openSqliteStore({ path }).close();
  const raw = openDatabase(path);
  setPragma(raw, 'journal_mode = WAL');
  const insertUser = prepare(raw, 'INSERT INTO users (id, version, created_at, last_seen_at, last_todo_id) VALUES (?, 1, 0, 1000000, 100)');
  const insertTodo = prepare(raw, 'INSERT INTO todos (user_id, id, title, completed, position, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 0, ?)');
  // Completed todos alternate; the odd ones changed at 100, the even ones at 300.
  raw.transaction(() => {
    for (let u = 0; u < users; u++) {
      const userId = `cleanup-${String(u).padStart(5, '0')}`;
      insertUser.run(userId);
      for (let i = 1; i <= 100; i++) insertTodo.run(userId, i, `todo number ${i}`, i % 2, i, i % 4 === 1 ? 100 : 300);
    }
  })();
  raw.close();
  const f = (ms: number) => `${ms.toFixed(1)} ms`;
  /** A fresh copy of the seeded file, so that each measurement starts from the same rows. */
  const copyOfSeed = (name: string): string => {
    const copy = join(dir, name);
    const db = openDatabase(path);
    db.exec(`VACUUM INTO '${copy}'`);
    db.close();
    return copy;
  };
  for (const [what, cutoff] of [['none old enough', 50], ['a quarter of every list old enough', 200]] as const) {
    // The raw baseline: the same deletions as one statement, one transaction.
    const rawDb = openDatabase(copyOfSeed(`cleanup-${cutoff}-raw.sqlite`));
    setPragma(rawDb, 'journal_mode = WAL');
    setPragma(rawDb, 'synchronous = FULL');
    const rawStart = performance.now();
    rawDb.transaction(() => prepare(rawDb, 'DELETE FROM todos WHERE completed = 1 AND updated_at < ?').run(cutoff))();
    const rawMs = performance.now() - rawStart;
    rawDb.close();
    const store = openSqliteStore({ path: copyOfSeed(`cleanup-${cutoff}-store.sqlite`), now: () => 1000 });
    // The writer thread starts with the store: not part of what a cleanup costs.
    await store.apply({ userId: 'writer', mutation: { kind: 'add', title: 'before' } });
    const waits: number[] = [];
    let running = true;
    const start = performance.now();
    const cleanup = store.cleanup({ completedRetentionMs: 1000 - cutoff, userRetentionMs: 1_000_000 }).finally(() => (running = false));
    // One user writing back to back while the cleanup runs: each write's wait.
    const writer = (async () => {
      for (let k = 0; running; k++) {
        const t = performance.now();
        await store.apply({ userId: 'writer', mutation: { kind: 'add', title: `during ${k}` } });
        waits.push(performance.now() - t);
      }
    })();
    const result = await cleanup;
    const totalMs = performance.now() - start;
    await writer;
    await store.close();
    console.log(`  cleanup, ${what}: ${result.todosDeleted} deleted in ${f(totalMs)}; ${waits.length} writes meanwhile, p50 ${f(median(waits))}, max ${f(Math.max(...waits))}; raw DELETE ${f(rawMs)}`);
    report(`SQLite cleanup of ${users.toLocaleString('en-US')} users × 100 todos, ${what}: the whole run`, f(totalMs), 'raw DELETE over the table, one transaction', f(rawMs), `${(totalMs / rawMs).toFixed(2)}×`);
    report(`SQLite cleanup, ${what}: longest wait of a write made during it`, f(Math.max(...waits)), 'raw DELETE over the table, one transaction', f(rawMs), `${(Math.max(...waits) / rawMs).toFixed(2)}×`);
  }
}

function reportLatency(what: string, store: number[], raw: number[]): void {
  const f = (ms: number) => `${(ms * 1000).toFixed(0)} µs`;
  report(`${what}, p50`, f(median(store)), 'raw prepared query', f(median(raw)), `${(median(store) / median(raw)).toFixed(2)}×`);
  report(`${what}, p99`, f(percentile(store, 0.99)), 'raw prepared query', f(percentile(raw, 0.99)), `${(percentile(store, 0.99) / percentile(raw, 0.99)).toFixed(2)}×`);
}

async function postgres(): Promise<void> {
  if (findPostgresBin() === undefined) {
    console.log('PostgreSQL not installed (scripts/setup.sh installs it): skipping the PostgreSQL rows');
    return;
  }
  const server = await startPostgres({ durable: true });
  try {
    const url = await server.createDatabase();
    const store = await openPostgresStore({ url, poolSize: 10, listen: false, connectTimeoutMs: 60_000 });
    const group: number[] = [];
    const raw: number[] = [];
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query('CREATE TABLE t (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, user_id TEXT, title TEXT, completed BOOLEAN, position INT)');
    for (let r = 0; r < REPEATS; r++) {
      group.push((await concurrentToggles(store, USERS)).rate);
      gc();
      let n = 0;
      const start = performance.now();
      while (performance.now() - start < PHASE_MS) {
        await client.query({ name: 'raw_insert', text: 'INSERT INTO t (user_id, title, completed, position) VALUES ($1, $2, false, $3)', values: ['u', 'title', n++] });
      }
      raw.push(n / ((performance.now() - start) / 1000));
      console.log(`  run ${r}: store ${group.at(-1)!.toFixed(0)}/s, raw ${raw.at(-1)!.toFixed(0)}/s`);
    }
    report(
      `PostgreSQL durable toggles/s, pool of 10, ${USERS} users, synchronous_commit=on`,
      median(group).toFixed(0),
      'raw INSERT, 1 per transaction, 1 connection',
      median(raw).toFixed(0),
      `${(median(group) / median(raw)).toFixed(1)}×`,
    );
    const users = 200;
    // Seeded in bulk: the write path was measured above, and 20,000 single writes would take a minute here.
    await client.query(
      `INSERT INTO users (id, version, last_todo_id, created_at, last_seen_at) SELECT 'load-' || u, 100, 100, 0, 0 FROM generate_series(0, $1 - 1) u`,
      [users],
    );
    await client.query(
      `INSERT INTO todos (user_id, id, title, completed, position, created_at, updated_at)
       SELECT 'load-' || u, k + 1, 'todo number ' || k || ' of load-' || u, k % 3 = 0, k, 0, 0
       FROM generate_series(0, 99) k, generate_series(0, $1 - 1) u ORDER BY random()`,
      [users],
    );
    await client.query('ANALYZE');
    const viaStore = await timeLoads('store.load', (u) => store.load(u), users);
    const viaRaw = await timeLoads('raw query', (u) =>
      client.query({
        name: 'raw_load',
        text: `SELECT u.version, t.id, t.title, t.completed, t.position, t.created_at, t.updated_at
               FROM users u LEFT JOIN todos t ON t.user_id = u.id WHERE u.id = $1 ORDER BY t.position, t.id`,
        values: [u],
      }), users);
    reportLatency(`PostgreSQL load of 100 todos (${users * 100} rows)`, viaStore, viaRaw);
    await client.end();
    await store.close();
  } finally {
    await server.stop();
  }
}

const dir = makeTempDir('bench-store');
try {
  console.log(`date ${new Date().toISOString()}, nproc ${cpus().length}, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}, node ${process.version}`);
  // Arguments pick parts: `sqlite`, `sqlite-loads`, `sqlite-frames` or `sqlite-cleanup` (one of its figures alone), `postgres` (default all).
  const parts = process.argv.slice(2);
  const want = (part: string) => parts.length === 0 || parts.includes(part);
  if (want('sqlite')) await sqliteWrites(dir.path);
  if (want('sqlite') || want('sqlite-loads')) await sqliteLoads(dir.path);
  if (want('sqlite') || want('sqlite-frames')) await sqliteFrames(dir.path);
  if (want('sqlite') || want('sqlite-cleanup')) await sqliteCleanup(dir.path);
  if (want('postgres')) await postgres();
  console.log('\n| measurement | value | baseline | baseline value | ratio |\n| --- | --- | --- | --- | --- |');
  for (const r of rows) console.log(`| ${r.join(' | ')} |`);
  console.log(`load average after: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
} finally {
  dir.remove();
}
