/**
 * A throwaway PostgreSQL cluster for one test file: initdb into a temp folder, listen on
 * 127.0.0.1 on a free port (unix socket inside the temp folder), stop and delete at the end.
 *
 * When the server binaries are missing the tests are skipped with a message naming
 * scripts/setup.sh, except under CI=true where they fail: CI must run every tier.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { makeTempDir } from './temp-dir.js';
import { freePort } from './free-port.js';

export interface TestPostgres {
  /** The admin URL (database `postgres`). */
  readonly adminUrl: string;
  /** Creates an empty database and returns its URL. */
  createDatabase(): Promise<string>;
  /** Runs one SQL statement as the superuser on the `postgres` database. */
  adminQuery(sql: string, values?: unknown[]): Promise<pg.QueryResult>;
  stop(): Promise<void>;
}

/** Where initdb and pg_ctl live, newest major first; undefined when PostgreSQL is not installed. */
export function findPostgresBin(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, 'bin', 'initdb')) && existsSync(join(root, v, 'bin', 'pg_ctl')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] === undefined ? undefined : join(root, versions[0], 'bin');
}

/**
 * The reason PostgreSQL tests cannot run, or undefined when they can. Under CI=true a
 * missing server is an error, so this throws instead of returning a reason.
 */
export function postgresUnavailable(): string | undefined {
  if (findPostgresBin() !== undefined) return undefined;
  const message = 'PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin; run scripts/setup.sh to install them';
  if (process.env.CI === 'true') throw new Error(`${message} (CI=true: the PostgreSQL tier must not be skipped)`);
  return message;
}

export interface StartOptions {
  /**
   * Keep fsync and synchronous commit on, as in production: needed to measure durable write
   * rates. Off by default, because correctness tests do not depend on it and every CREATE
   * DATABASE would otherwise wait on the disk.
   */
  readonly durable?: boolean;
}

/** Starts a cluster; call `stop()` in an `after` hook. */
export async function startPostgres(options: StartOptions = {}): Promise<TestPostgres> {
  const bin = findPostgresBin();
  if (bin === undefined) throw new Error(postgresUnavailable() ?? 'PostgreSQL not found');
  const dir = makeTempDir('pg');
  const data = join(dir.path, 'data');
  const asRoot = process.getuid?.() === 0;
  // initdb refuses to run as root: run the server binaries as the postgres OS user.
  const run = (file: string, args: string[]) => {
    const [cmd, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', join(bin, file), ...args]] : [join(bin, file), args];
    const r = spawnSync(cmd, argv, { encoding: 'utf8', timeout: 60_000 });
    if (r.status !== 0) throw new Error(`${file} ${args.join(' ')} failed (${r.status}): ${r.stderr || r.stdout}`);
  };
  if (asRoot) {
    chmodSync(dir.path, 0o755);
    execFileSync('chown', ['postgres:postgres', dir.path]);
  }
  const port = await freePort();
  let started = false;
  try {
    run('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '--encoding=UTF8', '--locale=C.UTF-8', '--no-sync']);
    const serverOptions = [
      '-c listen_addresses=127.0.0.1',
      `-c port=${port}`,
      `-c unix_socket_directories=${dir.path}`,
      '-c max_connections=100',
      '-c shared_buffers=32MB',
      ...(options.durable === true ? [] : ['-c fsync=off', '-c synchronous_commit=off', '-c full_page_writes=off']),
    ].join(' ');
    run('pg_ctl', ['-D', data, '-l', join(dir.path, 'server.log'), '-o', serverOptions, '-w', '-t', '60', 'start']);
    started = true;
  } catch (err) {
    const log = join(dir.path, 'server.log');
    const tail = existsSync(log) ? readFileSync(log, 'utf8').slice(-2000) : '';
    if (started) run('pg_ctl', ['-D', data, '-m', 'immediate', 'stop']);
    dir.remove();
    throw new Error(`could not start a test PostgreSQL: ${(err as Error).message}\n${tail}`, { cause: err });
  }
  const adminUrl = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const admin = new pg.Pool({ connectionString: adminUrl, max: 2 });
  admin.on('error', () => {});
  let databases = 0;
  return {
    adminUrl,
    async createDatabase() {
      const name = `todo_live_test_${process.pid}_${++databases}`;
      await admin.query(`CREATE DATABASE ${name} TEMPLATE template0`);
      return `postgres://postgres@127.0.0.1:${port}/${name}`;
    },
    adminQuery: (sql, values) => admin.query(sql, values),
    async stop() {
      await admin.end().catch(() => {});
      try {
        run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
      } finally {
        dir.remove();
      }
    },
  };
}
