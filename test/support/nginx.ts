/**
 * A throwaway nginx in front of the app for one test file: its own master process (never the
 * system service) with a generated config in a temp folder, listening on 127.0.0.1 on a free
 * port and proxying `/` (plain HTTP and the WebSocket upgrade) to the app, the way the
 * deployment docs put nginx in front of it. Logs, temp files and the pid file stay inside the
 * temp folder, so it runs as root or as any other user.
 *
 * `reload()` is `nginx -s reload` (SIGHUP to the master), `restart()` is a stop and a start on
 * the same port, `stop()` ends it. A master left running when the test process exits is
 * killed with its workers.
 *
 * When nginx is not installed the tests are skipped with a message naming scripts/setup.sh,
 * except under CI=true where they fail: CI must run every tier.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { freePort } from './free-port.js';
import { makeTempDir } from './temp-dir.js';

export const NGINX_PATH = '/usr/sbin/nginx';

/**
 * The reason nginx tests cannot run, or undefined when they can. Under CI=true a missing
 * nginx is an error, so this throws instead of returning a reason.
 */
export function nginxUnavailable(): string | undefined {
  if (existsSync(NGINX_PATH)) return undefined;
  const message = `${NGINX_PATH} is missing: run scripts/setup.sh to install nginx`;
  if (process.env.CI === 'true') throw new Error(`${message} (CI=true: the proxy tier must not be skipped)`);
  return message;
}

export interface NginxOptions {
  /** The app's port on 127.0.0.1. */
  readonly upstreamPort: number;
  /** Default: a free port, kept across restarts. */
  readonly port?: number;
  /** `proxy_read_timeout`: how long a proxied connection may go without a byte from the app. Default 60 s, nginx's own. */
  readonly proxyReadTimeoutS?: number;
  /**
   * `worker_shutdown_timeout`: how long workers retired by a reload or a graceful quit keep
   * serving their open connections. Default: unset, as in nginx, where they wait for every
   * connection (a WebSocket included) to end by itself.
   */
  readonly workerShutdownTimeoutS?: number;
}

export interface ReloadResult {
  /** Workers that served before the reload; they finish their connections and exit. */
  readonly retired: number[];
  /** Workers started by the reload, serving every new connection. */
  readonly started: number[];
}

/** Every master any `TestNginx` started and not yet seen exit, for a last-resort cleanup. */
const masters = new Set<ChildProcess>();
const killAll = () => {
  for (const master of masters) killGroup(master, 'SIGKILL');
};
process.once('exit', killAll);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    killAll();
    process.kill(process.pid, signal);
  });
}

/** The master runs in its own process group with its workers: one signal reaches them all. */
function killGroup(master: ChildProcess, signal: NodeJS.Signals): void {
  if (master.pid === undefined || master.exitCode !== null || master.signalCode !== null) return;
  try {
    process.kill(-master.pid, signal);
  } catch {
    // Already gone.
  }
}

/** Pids whose parent is `ppid` (Linux `/proc`). */
function childrenOf(ppid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // The command name is in parentheses and may hold spaces: fields start after the last ')'.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) === ppid) out.push(Number(name));
    } catch {
      // The process ended while we looked.
    }
  }
  return out.sort((a, b) => a - b);
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function tcpAccepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export class TestNginx {
  port = 0;
  /** How many times a master was started. */
  starts = 0;
  readonly #options: NginxOptions;
  readonly #dir = makeTempDir('nginx');
  #master: ChildProcess | null = null;
  #exited: Promise<void> = Promise.resolve();
  #output = '';

  constructor(options: NginxOptions) {
    this.#options = options;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The master's pid. */
  get pid(): number {
    const pid = this.#master?.pid;
    if (pid === undefined) throw new Error('nginx is not running');
    return pid;
  }

  get running(): boolean {
    const m = this.#master;
    return m !== null && m.exitCode === null && m.signalCode === null;
  }

  /** The current worker pids. */
  workers(): number[] {
    return this.running ? childrenOf(this.pid) : [];
  }

  /** The error log (notice level) and what the master printed, for failure messages. */
  log(): string {
    const file = join(this.#dir.path, 'error.log');
    return `${existsSync(file) ? readFileSync(file, 'utf8').slice(-4000) : ''}${this.#output.slice(-2000)}`;
  }

  /** Starts a master and resolves once its port accepts and a worker runs. */
  async start(): Promise<void> {
    if (this.running) throw new Error('nginx is already running');
    if (this.port === 0) this.port = this.#options.port ?? (await freePort());
    const conf = join(this.#dir.path, 'nginx.conf');
    writeFileSync(conf, this.#config());
    const master = spawn(NGINX_PATH, ['-p', this.#dir.path, '-c', conf, '-e', join(this.#dir.path, 'error.log'), '-g', 'daemon off;'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group, so the last-resort cleanup reaches the workers too.
      detached: true,
    });
    masters.add(master);
    this.#master = master;
    this.starts++;
    const append = (d: Buffer) => {
      this.#output = (this.#output + d.toString()).slice(-20_000);
    };
    master.stdout?.on('data', append);
    master.stderr?.on('data', append);
    this.#exited = new Promise((resolve) =>
      master.once('exit', () => {
        masters.delete(master);
        resolve();
      }),
    );
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (!this.running) throw new Error(`nginx exited before serving:\n${this.log()}`);
      if (this.workers().length > 0 && (await tcpAccepts(this.port))) return;
      if (Date.now() > deadline) {
        await this.stop();
        throw new Error(`nginx did not serve within 10 s:\n${this.log()}`);
      }
      await sleep(20);
    }
  }

  /**
   * `nginx -s reload`: the master rereads the config and starts new workers; the old ones stop
   * accepting and finish what they hold. Resolves once a new worker runs.
   */
  async reload(): Promise<ReloadResult> {
    const before = this.workers();
    process.kill(this.pid, 'SIGHUP');
    const deadline = Date.now() + 10_000;
    for (;;) {
      const started = this.workers().filter((p) => !before.includes(p));
      if (started.length > 0) return { retired: before, started };
      if (Date.now() > deadline) throw new Error(`nginx started no new worker within 10 s of a reload:\n${this.log()}`);
      await sleep(20);
    }
  }

  /**
   * Stops the master: `fast` (SIGTERM, what `nginx -s stop` sends) closes every connection at
   * once; `graceful` (SIGQUIT, `nginx -s quit`) lets workers finish theirs first. Anything
   * still there after `timeoutMs` is killed.
   */
  async stop(mode: 'fast' | 'graceful' = 'fast', timeoutMs = 10_000): Promise<void> {
    const master = this.#master;
    if (master === null || !this.running) return;
    const workers = this.workers();
    // The signals `nginx -s stop` and `nginx -s quit` send; the master tells its workers.
    master.kill(mode === 'fast' ? 'SIGTERM' : 'SIGQUIT');
    const timer = setTimeout(() => killGroup(master, 'SIGKILL'), timeoutMs);
    try {
      await this.#exited;
    } finally {
      clearTimeout(timer);
    }
    // The master waits for its workers, but a SIGKILL leaves no one to wait: make sure.
    for (let i = 0; i < 100 && workers.some(pidAlive); i++) await sleep(20);
    this.#master = null;
  }

  /** A stop and a start on the same port. */
  async restart(mode: 'fast' | 'graceful' = 'fast'): Promise<void> {
    await this.stop(mode);
    await this.start();
  }

  /** Stops nginx and deletes its folder. */
  async close(): Promise<void> {
    try {
      await this.stop();
    } finally {
      this.#dir.remove();
    }
  }

  #config(): string {
    const dir = this.#dir.path;
    const o = this.#options;
    // As root the master would hand workers to `nobody`, who cannot enter the private temp
    // folder; a non-root master ignores `user` (with a warning), so only set it as root.
    const user = process.getuid?.() === 0 ? 'user root;' : '';
    const shutdown = o.workerShutdownTimeoutS === undefined ? '' : `worker_shutdown_timeout ${o.workerShutdownTimeoutS}s;`;
    return `${user}
worker_processes 1;
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'error.log')} notice;
${shutdown}
events {
  worker_connections 1024;
}
http {
  access_log ${join(dir, 'access.log')};
  client_body_temp_path ${join(dir, 'client_body')};
  proxy_temp_path ${join(dir, 'proxy')};
  fastcgi_temp_path ${join(dir, 'fastcgi')};
  uwsgi_temp_path ${join(dir, 'uwsgi')};
  scgi_temp_path ${join(dir, 'scgi')};

  map $http_upgrade $connection_upgrade {
    default upgrade;
    ''      close;
  }

  server {
    listen 127.0.0.1:${this.port};
    location / {
      proxy_pass http://127.0.0.1:${o.upstreamPort};
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_read_timeout ${o.proxyReadTimeoutS ?? 60}s;
    }
  }
}
`;
  }
}
