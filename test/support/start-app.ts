/**
 * Starts the real app (the composition root of `src/web/app.ts`) for tests: a temp data dir
 * with its own SQLite file, 127.0.0.1 on a free port, silent logs. `stop()` shuts it down
 * gracefully and keeps the data, so a test can start a new app on the same file and port
 * (a restart); `remove()` deletes the data dir.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Clock } from '../../src/actors/index.js';
import type { TodoFaults } from '../../src/todo/index.js';
import { createTodoApp, type TodoApp } from '../../src/web/app.js';
import { loadConfig } from '../../src/web/config.js';
import { makeTempDir } from './temp-dir.js';
import { freePort } from './free-port.js';

export { freePort };

const root = new URL('../..', import.meta.url).pathname;
const MANIFEST = join(root, 'dist/static/manifest.json');

export const TEST_SECRET = 'test-secret-key-base-'.padEnd(64, 'k');

export interface StartAppOptions {
  /** Reuse a data dir (a restart); default: a fresh temp dir. */
  dataDir?: string;
  /** Listen on this port (a restart where open tabs expect it); default: a free one. */
  port?: number;
  /** Extra environment variables, as an operator would set them. */
  env?: Record<string, string>;
  faults?: TodoFaults;
  clock?: Clock;
  now?: () => number;
}

export interface StartedApp {
  url: string;
  port: number;
  dataDir: string;
  app: TodoApp;
  /** Graceful shutdown; the data dir stays. */
  stop(): Promise<void>;
  /** Deletes the data dir (call after the last app on it stopped). */
  remove(): void;
}

/** Builds the browser bundle once if it is missing (the layout links it). */
export function ensureAssets(): void {
  if (existsSync(MANIFEST)) return;
  const result = spawnSync(process.execPath, [join(root, 'scripts/build-assets.mjs')], { cwd: root, stdio: 'pipe' });
  if (result.status !== 0) throw new Error(`building assets failed: ${String(result.stderr)}`);
}

/** Starts the app; see {@link StartAppOptions}. */
export async function startApp(options: StartAppOptions = {}): Promise<StartedApp> {
  ensureAssets();
  const temp = options.dataDir === undefined ? makeTempDir('app') : null;
  const dataDir = options.dataDir ?? temp!.path;
  const port = options.port ?? (await freePort());
  const config = loadConfig({
    NODE_ENV: 'test',
    HOST: '127.0.0.1',
    PORT: String(port),
    DATA_DIR: dataDir,
    SECRET_KEY_BASE: TEST_SECRET,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    SHUTDOWN_TIMEOUT_MS: '5000',
    ...options.env,
  });
  const app = await createTodoApp({
    config,
    drain: { batchSize: 1000, intervalMs: 0 },
    ...(options.faults === undefined ? {} : { faults: options.faults }),
    ...(options.clock === undefined ? {} : { clock: options.clock }),
    ...(options.now === undefined ? {} : { now: options.now }),
  });
  await app.listen();
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    dataDir,
    app,
    async stop() {
      await app.shutdown();
    },
    remove() {
      // A data dir passed in by the caller is the caller's to delete.
      temp?.remove();
    },
  };
}
