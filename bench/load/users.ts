/**
 * Simulated users: each is a browser (a cookie jar) with one or more tabs. A user is either
 * seeded straight into our app's SQLite file before the app starts (a signed session cookie
 * for a known id, and its todos inserted in bulk), or given todos through the app's own
 * "add" events, which works against any URL.
 */
import { randomUUID } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { openDatabase, prepare, setPragma } from '../../src/store/sqlite-handles.js';
import { SessionCookie } from '../../src/live/session.js';
import { deriveKeys } from '../../src/live/tokens.js';
import { LiveTab } from './client.js';
import type { Dialect } from './dialect.js';
import { type Cookies, fetchPage } from './page.js';
import { sleep } from './proc.js';

/** Runs `fn` over `items` with at most `concurrency` at once; resolves with results in order. */
export async function pool<T, R>(items: readonly T[], concurrency: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= items.length) return;
      out[i] = await fn(items[i] as T, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return out;
}

/** A cookie jar holding a signed session cookie for `userId`, as our app would have issued it. */
export function jarFor(userId: string, secretKeyBase: string): Cookies {
  const cookie = new SessionCookie(deriveKeys(secretKeyBase));
  return new Map([[cookie.name, encodeURIComponent(cookie.sign(userId))]]);
}

const WORDS = ['Buy milk', 'Call the plumber', 'Write the quarterly report', 'Water the plants', 'Book train tickets', 'Fix the bike light'];

/** A realistic title: 8 to 30 characters. */
export function titleFor(i: number): string {
  return `${WORDS[i % WORDS.length]} #${i + 1}`;
}

/**
 * Inserts users with `todos` todos each into our app's SQLite file, creating the schema first
 * with the migrations of the store module the app under test runs (`storeModule`, e.g. the
 * build's `dist/src/store/index.js`), so both agree on the schema version. The app must not be
 * running on this file.
 */
export async function seedSqlite(path: string, users: readonly { id: string; todos: number }[], storeModule: string): Promise<void> {
  const store = (await import(pathToFileURL(storeModule).href)) as typeof import('../../src/store/index.js');
  await store.openSqliteStore({ path, synchronous: 'NORMAL' }).close();
  const db = openDatabase(path);
  setPragma(db, 'journal_mode = WAL');
  setPragma(db, 'synchronous = OFF');
  const now = Date.now();
  const addUser = prepare(db, 'INSERT INTO users (id, version, last_todo_id, created_at, last_seen_at) VALUES (?, ?, ?, ?, ?)');
  const addTodo = prepare(db, 'INSERT INTO todos (user_id, id, title, completed, position, created_at, updated_at) VALUES (?, ?, ?, 0, ?, ?, ?)');
  db.transaction(() => {
    for (const u of users) {
      addUser.run(u.id, u.todos, u.todos, now, now);
      for (let i = 0; i < u.todos; i++) addTodo.run(u.id, i + 1, titleFor(i), i, now, now);
    }
  })();
  setPragma(db, 'wal_checkpoint(TRUNCATE)');
  db.close();
}

/** Fresh user ids for seeding. */
export function newUserIds(n: number): string[] {
  return Array.from({ length: n }, () => randomUUID());
}

/** One simulated browser tab, with what the generator tracks of its todos. */
export interface UserTab {
  tab: LiveTab;
  /** The todos as the page showed them, with their completed state kept current by the generator. */
  todos: { id: number; completed: boolean }[];
  localAddress: string | undefined;
}

/** GETs `path` in `jar`, opens the socket from `localAddress` and joins. */
export async function openTab(baseUrl: string, path: string, jar: Cookies, localAddress: string | undefined): Promise<UserTab> {
  const page = await fetchPage(new URL(path, baseUrl).toString(), jar, localAddress);
  // Thousands of tabs are held at once: keep the tokens, not the 40 KB page.
  page.html = '';
  const tab = new LiveTab(page, jar);
  await tab.open(baseUrl, localAddress);
  await tab.join();
  return { tab, todos: page.todos.map((t) => ({ ...t })), localAddress };
}

/**
 * Gives a user `count` todos through "add" events on `sockets` tabs of the user at once,
 * paced under the app's per-socket event limit. Gives up (returning false) past `deadline`.
 */
export async function seedThroughEvents(
  baseUrl: string,
  jar: Cookies,
  dialect: Dialect,
  count: number,
  sockets: number,
  deadline: number,
  localAddress?: string,
): Promise<boolean> {
  const tabs = await Promise.all(Array.from({ length: sockets }, () => openTab(baseUrl, '/', jar, localAddress)));
  const spacing = Number.isFinite(dialect.eventsPerSocketPerSecond) ? 1000 / dialect.eventsPerSocketPerSecond : 0;
  let next = tabs[0]?.todos.length ?? 0;
  let ok = true;
  await Promise.all(
    tabs.map(async (u) => {
      while (next < count && ok) {
        if (performance.now() > deadline) {
          ok = false;
          return;
        }
        const i = next++;
        const started = performance.now();
        const reply = await u.tab.push(dialect.add(titleFor(i), u.tab.page.csrfToken));
        if (reply.status !== 'ok') throw new Error(`expected add #${i} to be accepted, got ${reply.status}`);
        const wait = spacing - (performance.now() - started);
        if (wait > 0) await sleep(wait);
      }
    }),
  );
  await Promise.all(tabs.map((u) => u.tab.close()));
  return ok;
}
