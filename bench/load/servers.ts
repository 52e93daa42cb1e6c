/**
 * The servers a load run measures, each a child process on a loopback port: our app (built
 * with `npm run build`, run as `node dist/src/web/main.js`), the LiveViewJS peer (copied to a
 * temp folder and `npm install`ed there), and the raw `ws` server of the baselines. Every
 * one runs with `--expose-gc` and the stats preload, under the highest file-descriptor limit
 * the shell allows.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { cpSync, createWriteStream, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../test/support/free-port.js';
import { sleep } from './proc.js';

export { freePort };

export const ROOT = new URL('../..', import.meta.url).pathname;
const PRELOAD = new URL('./stats-preload.mjs', import.meta.url).pathname;

/** How to start one server. */
export interface ServerSpec {
  /** For logs and tables. */
  name: string;
  /** Node script and its arguments, relative to `cwd`. */
  args: string[];
  /** Extra flags for node itself (e.g. `--cpu-prof`). */
  nodeArgs?: string[];
  cwd: string;
  env: Record<string, string>;
  port: number;
  /** GET this path until it answers 200; null waits for the TCP port only. */
  readyPath: string | null;
  /** Where the child's stdout and stderr go. */
  logFile: string;
  statsFile: string;
}

/** A running (or restartable) server child. */
export class ServerProcess {
  readonly spec: ServerSpec;
  #child: ChildProcess | null = null;
  #exited: Promise<number | null> = Promise.resolve(null);

  constructor(spec: ServerSpec) {
    this.spec = spec;
  }

  get url(): string {
    return `http://127.0.0.1:${this.spec.port}`;
  }

  get pid(): number {
    const pid = this.#child?.pid;
    if (pid === undefined || this.#child?.exitCode !== null) throw new Error(`expected ${this.spec.name} to be running, it is not`);
    return pid;
  }

  get statsFile(): string {
    return this.spec.statsFile;
  }

  /** Starts the child and waits until it answers (at most `timeoutMs`). */
  async start(timeoutMs = 30_000): Promise<void> {
    const { spec } = this;
    const log = createWriteStream(spec.logFile, { flags: 'a' });
    const node = [process.execPath, '--expose-gc', '--import', PRELOAD, ...(spec.nodeArgs ?? []), ...spec.args].map(shellQuote).join(' ');
    // The soft descriptor limit is raised to the hard one where the shell may; `exec` keeps
    // the pid, so signals and /proc reach node itself.
    const child = spawn('/bin/sh', ['-c', `ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec ${node}`], {
      cwd: spec.cwd,
      env: { ...process.env, ...spec.env, LOAD_STATS_FILE: spec.statsFile },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
    this.#child = child;
    this.#exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`expected ${spec.name} to start, it exited with ${child.exitCode}; see ${spec.logFile}`);
      if (await this.#answers()) return;
      if (performance.now() > deadline) throw new Error(`expected ${spec.name} to answer within ${timeoutMs} ms, it did not; see ${spec.logFile}`);
      await sleep(100);
    }
  }

  async #answers(): Promise<boolean> {
    const { port, readyPath } = this.spec;
    if (readyPath === null) {
      return new Promise((resolve) => {
        const socket = connect(port, '127.0.0.1');
        socket.once('connect', () => {
          socket.destroy();
          resolve(true);
        });
        socket.once('error', () => resolve(false));
      });
    }
    try {
      const res = await fetch(`${this.url}${readyPath}`);
      await res.arrayBuffer();
      return res.status === 200;
    } catch {
      return false;
    }
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the child is gone. */
  async stop(graceMs = 15_000): Promise<number | null> {
    const child = this.#child;
    if (child === null || child.exitCode !== null || child.signalCode !== null) return child?.exitCode ?? null;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    const code = await this.#exited;
    clearTimeout(timer);
    return code;
  }
}

function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Runs a command to completion, failing with its output when it fails. */
export function run(cmd: string, args: string[], cwd: string, timeoutMs: number): void {
  const r = spawnSync(cmd, args, { cwd, stdio: 'pipe', timeout: timeoutMs, env: process.env });
  if (r.status !== 0) {
    throw new Error(`expected \`${cmd} ${args.join(' ')}\` in ${cwd} to succeed, got ${r.status ?? r.signal}:\n${String(r.stderr).slice(-2000)}`);
  }
}

/** The secret our app is started with, so the generator can sign session cookies for seeded users. */
export const LOAD_SECRET = 'load-benchmark-secret-key-base-'.padEnd(96, 's');

/** Builds our app (`npm run build`) unless told not to. */
export function buildApp(skip: boolean): void {
  if (!skip) run('npm', ['run', 'build', '--silent'], ROOT, 240_000);
  if (!existsSync(join(ROOT, 'dist/src/web/main.js'))) throw new Error('expected dist/src/web/main.js after the build, found none');
}

/** Our app on a free loopback port, over `dataDir`, with extra environment. */
export async function appSpec(workDir: string, dataDir: string, env: Record<string, string>, nodeArgs: string[] = []): Promise<ServerSpec> {
  const p = await freePort();
  return {
    name: 'todo-live',
    args: ['dist/src/web/main.js'],
    nodeArgs,
    cwd: ROOT,
    env: {
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      PORT: String(p),
      DATA_DIR: dataDir,
      SECRET_KEY_BASE: LOAD_SECRET,
      LOG_LEVEL: 'warn',
      SHUTDOWN_TIMEOUT_MS: '10000',
      // The generator opens thousands of sockets from a handful of loopback addresses.
      MAX_SOCKETS_PER_ADDRESS: '1000000',
      ...env,
    },
    port: p,
    readyPath: '/readyz',
    logFile: join(workDir, 'todo-live.log'),
    statsFile: join(workDir, `todo-live-${p}.stats.json`),
  };
}

/** The peer's source: `PEER_DIR`, or the checkout beside this repository's parent folder. */
const PEER_SOURCE = process.env.PEER_DIR ?? join(ROOT, '../shared/peers/liveviewjs-todo');

/**
 * Copies the LiveViewJS peer to `<tmp>/todo-live-load-peer`, installs its dependencies from
 * the npm registry (reused while the lock file is unchanged) and builds it.
 */
export function preparePeer(source = PEER_SOURCE): string {
  const dir = join(tmpdir(), 'todo-live-load-peer');
  const lock = readFileSync(join(source, 'package-lock.json'), 'utf8');
  const stamp = join(dir, '.installed-lock');
  const installed = existsSync(stamp) && readFileSync(stamp, 'utf8') === lock && existsSync(join(dir, 'node_modules'));
  if (!installed) rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  cpSync(join(source, 'src'), join(dir, 'src'), { recursive: true });
  for (const f of ['package.json', 'package-lock.json', 'tsconfig.json']) cpSync(join(source, f), join(dir, f));
  spawnSync('chmod', ['-R', 'u+w', dir]);
  if (!installed) {
    run('npm', ['install', '--no-audit', '--no-fund', '--registry=https://registry.npmjs.org/'], dir, 300_000);
    writeFileSync(stamp, lock);
  }
  run('npm', ['run', 'build', '--silent'], dir, 120_000);
  return dir;
}

/** The peer on a free loopback port. */
export async function peerSpec(workDir: string, peerDir: string): Promise<ServerSpec> {
  const port = await freePort();
  return {
    name: 'liveviewjs',
    args: ['dist/server.js'],
    cwd: peerDir,
    env: { NODE_ENV: 'production', HOST: '127.0.0.1', PORT: String(port), SECRET_KEY_BASE: LOAD_SECRET },
    port,
    readyPath: '/',
    logFile: join(workDir, 'liveviewjs.log'),
    statsFile: join(workDir, `liveviewjs-${port}.stats.json`),
  };
}

/**
 * The bare `ws` server of the baselines; with `durableDb`, its echo waits for a SQLite commit of
 * each frame, made on its event loop, or on a worker thread with `commitOnThread`.
 */
export async function rawSpec(workDir: string, replyBytes: number, durableDb?: string, commitOnThread = false): Promise<ServerSpec> {
  const port = await freePort();
  const name = durableDb === undefined ? 'raw ws' : commitOnThread ? 'raw durable ws thread' : 'raw durable ws';
  return {
    name,
    args: [new URL('./raw-ws-server.mjs', import.meta.url).pathname],
    cwd: ROOT,
    env: {
      PORT: String(port),
      REPLY_BYTES: String(replyBytes),
      ...(durableDb === undefined ? {} : { DURABLE_DB: durableDb }),
      ...(commitOnThread ? { DURABLE_THREAD: '1' } : {}),
    },
    port,
    readyPath: null,
    logFile: join(workDir, `${name.replaceAll(' ', '-')}.log`),
    statsFile: join(workDir, `raw-ws-${port}.stats.json`),
  };
}
