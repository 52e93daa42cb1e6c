/**
 * Configuration from the environment, validated once at start-up.
 *
 * Every variable has a documented default except `SECRET_KEY_BASE` in production. A bad
 * value stops the process with one message listing every problem, so an operator fixes them
 * all in one go instead of one restart per mistake.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { ErrorCodes, TodoLiveError } from '../errors.js';

/** Plug's cookie store refuses shorter secrets; so do we. */
export const MIN_SECRET_BYTES = 64;

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

export type StoreConfig =
  | { kind: 'sqlite'; path: string; synchronous: 'FULL' | 'NORMAL' }
  | { kind: 'postgres'; url: string };

export interface Config {
  env: 'development' | 'production' | 'test';
  host: string;
  port: number;
  /** The origin people reach the app at; decides the cookie's Secure flag. */
  publicUrl: string;
  /** Origins allowed to open the live socket (exact match on scheme, host and port). */
  allowedOrigins: string[];
  secretKeyBase: string;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  store: StoreConfig;
  dataDir: string;
  /** A user's server stops after this long without a call or cast. */
  userIdleMs: number;
  /** How often each user's server runs its cleanup. */
  cleanupIntervalMs: number;
  /** Completed todos older than this are deleted by the cleanup. */
  completedRetentionMs: number;
  /** Users not seen for this long are deleted with their todos. */
  userRetentionMs: number;
  /** How long SIGTERM waits for in-flight work before closing everything. */
  shutdownTimeoutMs: number;
  maxTitleLength: number;
  maxTodosPerUser: number;
  /** Most user servers in memory at once; activating one more is refused until others idle out. */
  maxResidentUsers: number;
  /** Most live sockets open at once from one client address (an IPv6 /64). */
  maxSocketsPerAddress: number;
  /** Idle time after which an open tab drops its copy of the list (reloaded on its next message); 0 turns it off. */
  viewHibernateMs: number;
  trustProxy: boolean;
}

const duration = (fallback: number) => z.coerce.number().int().min(0).default(fallback);

const schema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  HOST: z.string().min(1).default('localhost'),
  PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  PUBLIC_URL: z.url({ protocol: /^https?$/ }).optional(),
  ALLOWED_ORIGINS: z.string().optional(),
  SECRET_KEY_BASE: z.string().optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  DATA_DIR: z.string().min(1).default('./data'),
  DATABASE_URL: z.string().min(1).optional(),
  SQLITE_SYNCHRONOUS: z.enum(['FULL', 'NORMAL']).default('FULL'),
  USER_IDLE_MS: duration(5 * MINUTE),
  VIEW_HIBERNATE_MS: duration(MINUTE),
  CLEANUP_INTERVAL_MS: duration(HOUR).refine((v) => v >= SECOND, 'must be at least 1000 ms'),
  COMPLETED_RETENTION_MS: duration(30 * DAY),
  USER_RETENTION_MS: duration(365 * DAY),
  SHUTDOWN_TIMEOUT_MS: duration(10 * SECOND),
  MAX_TITLE_LENGTH: z.coerce.number().int().min(500).max(10_000).default(500),
  MAX_TODOS_PER_USER: z.coerce.number().int().min(1).max(100_000).default(1000),
  MAX_RESIDENT_USERS: z.coerce.number().int().min(1).default(100_000),
  MAX_SOCKETS_PER_ADDRESS: z.coerce.number().int().min(1).default(50),
  TRUST_PROXY: z.enum(['true', 'false']).default('false'),
});

export interface LoadConfigOptions {
  /** Folder that relative paths are resolved against. */
  cwd?: string;
}

/**
 * Reads and validates the configuration. In development a missing `SECRET_KEY_BASE` is
 * generated once and kept in the data folder, so sessions survive restarts.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, options: LoadConfigOptions = {}): Config {
  const cwd = options.cwd ?? process.cwd();
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `  ${i.path.join('.') || '(env)'}: ${i.message}`);
    throw new TodoLiveError(ErrorCodes.CONFIG_INVALID, `invalid configuration:\n${problems.join('\n')}`);
  }
  const e = parsed.data;
  const problems: string[] = [];
  const dataDir = isAbsolute(e.DATA_DIR) ? e.DATA_DIR : resolve(cwd, e.DATA_DIR);

  let secretKeyBase = e.SECRET_KEY_BASE;
  if (secretKeyBase === undefined || secretKeyBase === '') {
    if (e.NODE_ENV === 'production') {
      problems.push(
        `SECRET_KEY_BASE: required in production, at least ${MIN_SECRET_BYTES} bytes (generate one with: openssl rand -base64 64)`,
      );
    } else {
      secretKeyBase = developmentSecret(dataDir);
    }
  } else if (Buffer.byteLength(secretKeyBase) < MIN_SECRET_BYTES) {
    problems.push(
      `SECRET_KEY_BASE: expected at least ${MIN_SECRET_BYTES} bytes, got ${Buffer.byteLength(secretKeyBase)}`,
    );
  }

  let store: StoreConfig | undefined;
  const url = e.DATABASE_URL ?? `sqlite:${resolve(dataDir, 'todos.db')}`;
  if (/^postgres(ql)?:\/\//.test(url)) {
    store = { kind: 'postgres', url };
  } else if (url.startsWith('sqlite:') || !url.includes('://')) {
    const path = url.startsWith('sqlite:') ? url.slice('sqlite:'.length) : url;
    if (path === '') problems.push('DATABASE_URL: expected sqlite:<path> with a path, got an empty path');
    else store = { kind: 'sqlite', path: isAbsolute(path) ? path : resolve(cwd, path), synchronous: e.SQLITE_SYNCHRONOUS };
  } else {
    problems.push(`DATABASE_URL: expected sqlite:<path> or postgres://…, got a URL with scheme ${url.split(':')[0]}`);
  }

  const publicUrl = (e.PUBLIC_URL ?? `http://${e.HOST === '0.0.0.0' ? 'localhost' : e.HOST}:${e.PORT}`).replace(/\/$/, '');
  const allowedOrigins = e.ALLOWED_ORIGINS
    ? e.ALLOWED_ORIGINS.split(',').map((o) => o.trim()).filter((o) => o !== '')
    : defaultOrigins(publicUrl, e.PORT);
  for (const origin of allowedOrigins) {
    if (!/^https?:\/\/[^/]+$/.test(origin)) problems.push(`ALLOWED_ORIGINS: expected scheme://host[:port], got ${JSON.stringify(origin)}`);
  }

  if (problems.length > 0 || store === undefined || secretKeyBase === undefined) {
    throw new TodoLiveError(ErrorCodes.CONFIG_INVALID, `invalid configuration:\n${problems.map((p) => `  ${p}`).join('\n')}`);
  }

  return {
    env: e.NODE_ENV,
    host: e.HOST,
    port: e.PORT,
    publicUrl,
    allowedOrigins,
    secretKeyBase,
    logLevel: e.LOG_LEVEL,
    store,
    dataDir,
    userIdleMs: e.USER_IDLE_MS,
    cleanupIntervalMs: e.CLEANUP_INTERVAL_MS,
    completedRetentionMs: e.COMPLETED_RETENTION_MS,
    userRetentionMs: e.USER_RETENTION_MS,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    maxTitleLength: e.MAX_TITLE_LENGTH,
    maxTodosPerUser: e.MAX_TODOS_PER_USER,
    maxResidentUsers: e.MAX_RESIDENT_USERS,
    maxSocketsPerAddress: e.MAX_SOCKETS_PER_ADDRESS,
    viewHibernateMs: e.VIEW_HIBERNATE_MS,
    trustProxy: e.TRUST_PROXY === 'true',
  };
}

/** A local browser may call the app localhost or 127.0.0.1; allow both for the public URL's port. */
function defaultOrigins(publicUrl: string, port: number): string[] {
  const origins = new Set([new URL(publicUrl).origin]);
  const { hostname } = new URL(publicUrl);
  if (hostname === 'localhost' || hostname === '127.0.0.1') {
    origins.add(`http://localhost:${port}`);
    origins.add(`http://127.0.0.1:${port}`);
  }
  return [...origins];
}

function developmentSecret(dataDir: string): string {
  const file = resolve(dataDir, 'secret_key_base');
  if (existsSync(file)) {
    const kept = readFileSync(file, 'utf8').trim();
    if (Buffer.byteLength(kept) >= MIN_SECRET_BYTES) return kept;
  }
  mkdirSync(dirname(file), { recursive: true });
  const secret = randomBytes(64).toString('base64url');
  writeFileSync(file, `${secret}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  return secret;
}
