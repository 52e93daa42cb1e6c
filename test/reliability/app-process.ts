/**
 * The real app as a child process (`node --import tsx src/web/main.ts`), the way an operator
 * runs it, for faults that need a process to die: SIGKILL, SIGTERM, a second process on the
 * same file. One `AppProcess` owns a data dir and a port; `start()` after a kill is a restart
 * on the same file and port, so open clients reconnect to where they were.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { ensureAssets, freePort, TEST_SECRET } from '../support/start-app.js';

const root = new URL('../..', import.meta.url).pathname;

/** Every child any `AppProcess` started and not yet seen exit, for a last-resort cleanup. */
const live = new Set<ChildProcess>();
const killAll = () => {
  for (const child of live) child.kill('SIGKILL');
};
process.once('exit', killAll);
// A test run stopped with Ctrl-C or SIGTERM must not leave apps behind: kill them, then let
// the signal do what it would have done.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    killAll();
    process.kill(process.pid, signal);
  });
}

export interface AppProcessOptions {
  dataDir: string;
  /** Default: a free port chosen once and kept across restarts. */
  port?: number;
  /** Extra environment variables. */
  env?: Record<string, string>;
  /** How long `start()` waits for `/healthz`. Default 30 s (tsx compiles on a cold start). */
  startTimeoutMs?: number;
  /** Extra arguments for node, before the tsx loader (e.g. `--expose-gc`). */
  nodeArgs?: string[];
}

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export class AppProcess {
  readonly dataDir: string;
  port = 0;
  child: ChildProcess | null = null;
  /** Resolves when the current child exits. */
  exited: Promise<ExitStatus> = Promise.resolve({ code: null, signal: null });
  /** How many times a child was started. */
  starts = 0;
  readonly #options: AppProcessOptions;
  #output = '';

  constructor(options: AppProcessOptions) {
    this.#options = options;
    this.dataDir = options.dataDir;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get pid(): number {
    const pid = this.child?.pid;
    if (pid === undefined) throw new Error('the app process is not running');
    return pid;
  }

  /** Everything the children wrote to stdout and stderr, oldest first. */
  output(): string {
    return this.#output;
  }

  /** Starts a child and resolves once `/healthz` answers; rejects if it exits first. */
  async start(): Promise<void> {
    ensureAssets();
    if (this.port === 0) this.port = this.#options.port ?? (await freePort());
    const child = this.spawnChild();
    this.child = child;
    this.starts++;
    const deadline = Date.now() + (this.#options.startTimeoutMs ?? 30_000);
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`the app exited with ${child.exitCode ?? child.signalCode} before serving:\n${this.#output.slice(-3000)}`);
      }
      const ok = await fetch(`${this.url}/healthz`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) return;
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`the app did not come up within the start timeout:\n${this.#output.slice(-3000)}`);
      }
      await sleep(50);
    }
  }

  /**
   * Spawns a child on this data dir and port without waiting for it. A second process on the
   * same files (`primary: false`) does not replace the current child.
   */
  spawnChild(extraEnv: Record<string, string> = {}, primary = true): ChildProcess & { exitedPromise: Promise<ExitStatus> } {
    const child = spawn(process.execPath, [...(this.#options.nodeArgs ?? []), '--import', 'tsx', 'src/web/main.ts'], {
      cwd: root,
      env: {
        ...process.env,
        NODE_ENV: 'test',
        HOST: '127.0.0.1',
        PORT: String(this.port),
        DATA_DIR: this.dataDir,
        SECRET_KEY_BASE: TEST_SECRET,
        LOG_LEVEL: 'warn',
        SHUTDOWN_TIMEOUT_MS: '5000',
        ...this.#options.env,
        ...extraEnv,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    live.add(child);
    const append = (d: Buffer) => {
      this.#output += d.toString();
      // Keep the tail only: a long run must not grow the test's memory.
      if (this.#output.length > 200_000) this.#output = this.#output.slice(-100_000);
    };
    child.stdout?.on('data', append);
    child.stderr?.on('data', append);
    const exited = new Promise<ExitStatus>((resolve) =>
      child.once('exit', (code, signal) => {
        live.delete(child);
        resolve({ code, signal });
      }),
    );
    if (primary) this.exited = exited;
    return Object.assign(child, { exitedPromise: exited });
  }

  /** Sends `signal` to the current child and waits for it to exit. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<ExitStatus> {
    const child = this.child;
    if (child === null || child.exitCode !== null || child.signalCode !== null) return this.exited;
    child.kill(signal);
    const status = await this.exited;
    this.child = null;
    return status;
  }

  /** Stops a running child: SIGTERM, then SIGKILL if it is still there after `graceMs`. */
  async stop(graceMs = 8000): Promise<ExitStatus | null> {
    const child = this.child;
    if (child === null || child.exitCode !== null || child.signalCode !== null) return null;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
      this.child = null;
    }
  }
}

/** Open file descriptors of a process (Linux), or -1 where `/proc` is not there. */
export function fdCount(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return -1;
  }
}

/** Resident set size of a process in bytes (Linux), or -1. */
export function rssBytes(pid: number): number {
  try {
    const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb === undefined ? -1 : Number(kb) * 1024;
  } catch {
    return -1;
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

