/**
 * The composition root: configuration in, a running TodoMVC out. Opens the store, starts the
 * actor system and the todo service, mounts the live routes, static assets, health checks and
 * security headers on one Fastify instance, and knows how to shut all of it down in order.
 *
 * Shutdown order (SIGTERM): readiness turns 503 at once; the live sockets finish the events
 * they are handling and close with 1001 (clients reconnect, to this node after a restart or to
 * another one); the actor system drains what is queued; HTTP closes; the store flushes and
 * closes. The whole sequence is bounded by `shutdownTimeoutMs`.
 */
import fastifyStatic from '@fastify/static';
import Fastify, { type FastifyInstance } from 'fastify';
import { type ActorSystem, type Clock, createSystem } from '../actors/index.js';
import { LiveEndpoint, LocalPubSub } from '../live/index.js';
import { openStore, type StoreOptions, type TodoStore } from '../store/index.js';
import { createTodoLive, FILTER_PATHS, type TodoFaults, TodoService, todoLayout } from '../todo/index.js';
import { type AssetManifest, defaultStaticDir, loadManifest } from './assets.js';
import type { Config } from './config.js';
import { registerErrorPages } from './error-pages.js';
import { registerHealthRoutes } from './health.js';
import { loggerOptions, userTag } from './logger.js';
import { addSecurityHeaders, securityHeaders } from './security-headers.js';

export interface TodoAppOptions {
  readonly config: Config;
  /** The actor system's clock; tests pass a manual one. Default: real time. */
  readonly clock?: Clock;
  /** Wall-clock time for the store and cached timestamps. Default `Date.now`. */
  readonly now?: () => number;
  /** Test-only fault injection into the per-user servers. */
  readonly faults?: TodoFaults;
  /** The folder holding `manifest.json` and `assets/`. Default: the project's `dist/static`. */
  readonly staticDir?: string;
  /** Sockets closed per batch while draining, and the pause between batches. */
  readonly drain?: { batchSize?: number; intervalMs?: number };
}

/** A built app: listen, then shut down. */
export interface TodoApp {
  readonly fastify: FastifyInstance;
  readonly store: TodoStore;
  readonly system: ActorSystem;
  readonly service: TodoService;
  readonly live: LiveEndpoint;
  /** True from the start of {@link shutdown}. */
  readonly draining: boolean;
  /** Starts listening on the configured host and port; resolves with the base URL. */
  listen(): Promise<string>;
  /**
   * Graceful shutdown; idempotent. Resolves `true` when every step finished within
   * `shutdownTimeoutMs`, `false` when the deadline forced the rest closed.
   */
  shutdown(): Promise<boolean>;
}

/** Builds the app from validated configuration (see `loadConfig`). */
export async function createTodoApp(options: TodoAppOptions): Promise<TodoApp> {
  const { config } = options;
  const staticDir = options.staticDir ?? defaultStaticDir();
  const manifest = loadManifest(staticDir);

  const fastify = Fastify({
    logger: loggerOptions(config),
    trustProxy: config.trustProxy,
    // Live traffic goes over the socket; HTTP bodies are never large here.
    bodyLimit: 16 * 1024,
    forceCloseConnections: true,
  });

  const storeOptions: StoreOptions =
    config.store.kind === 'sqlite'
      ? { kind: 'sqlite', path: config.store.path, synchronous: config.store.synchronous }
      : { kind: 'postgres', url: config.store.url };
  const store = await openStore({
    ...storeOptions,
    limits: { maxTitleLength: config.maxTitleLength, maxTodosPerUser: config.maxTodosPerUser },
    seenResolutionMs: seenResolution(config.userRetentionMs),
    ...(options.now === undefined ? {} : { now: options.now }),
  } as StoreOptions);

  try {
    return await assemble(options, fastify, store, manifest, staticDir);
  } catch (err) {
    // A half-built app must not hold the database (or its lock) open.
    await fastify.close().catch(() => {});
    await store.close().catch(() => {});
    throw err;
  }
}

/**
 * How precisely the store keeps "last seen": a hundredth of the user retention, at most a day
 * (a year's retention then errs by under 0.3%). Within it an activation writes nothing, which
 * keeps a reconnect storm from queueing a commit per user.
 */
export function seenResolution(userRetentionMs: number): number {
  return Math.min(86_400_000, Math.floor(userRetentionMs / 100));
}

async function assemble(
  options: TodoAppOptions,
  fastify: FastifyInstance,
  store: TodoStore,
  manifest: AssetManifest,
  staticDir: string,
): Promise<TodoApp> {
  const { config } = options;
  const log = fastify.log;
  const system = createSystem(options.clock === undefined ? {} : { clock: options.clock });
  system.on('crashed', (e) => log.error({ err: e.error, server: e.type, user: userTag(e.key) }, 'server crashed'));
  system.on('quarantined', (e) => log.error({ server: e.type, user: userTag(e.key), crashes: e.crashes }, 'server quarantined'));
  system.on('callTimeout', (e) => log.warn({ server: e.type, user: userTag(e.key), timeoutMs: e.timeoutMs }, 'call timed out'));

  const pubsub = new LocalPubSub({ onListenerError: (err, topic) => log.error({ err, topic: topic.split(':')[0] }, 'pub/sub listener failed') });
  const service = new TodoService({
    system,
    store,
    pubsub,
    userIdleMs: config.userIdleMs,
    cleanupIntervalMs: config.cleanupIntervalMs,
    completedRetentionMs: config.completedRetentionMs,
    userRetentionMs: config.userRetentionMs,
    maxTitleLength: config.maxTitleLength,
    maxTodosPerUser: config.maxTodosPerUser,
    maxResidentUsers: config.maxResidentUsers,
    ...(options.now === undefined ? {} : { now: options.now }),
    ...(options.faults === undefined ? {} : { faults: options.faults }),
    onCleanup: (r) => {
      if (r.todosDeleted + r.usersDeleted > 0) log.info({ ...r }, 'cleanup removed old data');
    },
  });
  await service.start();

  const view = createTodoLive({
    backend: service,
    maxTitleLength: config.maxTitleLength,
    onFailure: (err, userId) => log.warn({ err, user: userTag(userId) }, 'todo change not saved'),
  });
  const live = new LiveEndpoint({
    secretKeyBase: config.secretKeyBase,
    routes: Object.values(FILTER_PATHS).map((path) => ({ path, view })),
    layout: todoLayout,
    allowedOrigins: config.allowedOrigins,
    system,
    pubsub,
    secureCookie: config.publicUrl.startsWith('https:'),
    assets: { 'app.js': manifest.js, 'app.css': manifest.css },
    maxSocketsPerAddress: config.maxSocketsPerAddress,
    ...(config.viewHibernateMs > 0 ? { hibernateAfterMs: config.viewHibernateMs } : {}),
    logger: log,
  });

  let draining = false;
  addSecurityHeaders(fastify, securityHeaders(config.publicUrl, config.allowedOrigins));
  await fastify.register(fastifyStatic, {
    root: `${staticDir}/assets`,
    prefix: '/assets/',
    // Names carry a content digest: a file never changes under its name.
    immutable: true,
    maxAge: '365d',
    decorateReply: false,
    index: false,
  });
  registerErrorPages(fastify, manifest);
  registerHealthRoutes(fastify, {
    draining: () => draining,
    storeReady: async () => {
      await store.version('readiness-probe');
      return true;
    },
  });
  await fastify.register(live.plugin);

  let shutdownPromise: Promise<boolean> | null = null;
  const shutdown = (): Promise<boolean> => {
    shutdownPromise ??= runShutdown();
    return shutdownPromise;
  };
  const runShutdown = async (): Promise<boolean> => {
    draining = true;
    const started = Date.now();
    const remaining = () => Math.max(0, config.shutdownTimeoutMs - (Date.now() - started));
    log.info({ timeoutMs: config.shutdownTimeoutMs }, 'shutting down');
    let failed = false;
    // Every step runs even if one before it failed: the store must close whatever happened.
    const step = async (name: string, work: () => unknown): Promise<void> => {
      try {
        await work();
      } catch (err) {
        failed = true;
        log.error({ err, step: name }, 'shutdown step failed');
      }
    };
    const orderly = async (): Promise<void> => {
      await step('sockets', () => live.drain({ batchSize: options.drain?.batchSize ?? 200, intervalMs: options.drain?.intervalMs ?? 20 }));
      await step('servers', () => system.shutdown({ drainMs: Math.max(1, Math.floor(remaining() / 2)) }));
      await step('store listener', () => service.stop());
      await step('http', () => fastify.close());
      await step('store', () => store.close());
    };
    const clean = (await within(remaining(), orderly())) && !failed;
    if (!clean) {
      log.error({ timeoutMs: config.shutdownTimeoutMs }, 'shutdown deadline reached; closing what is left');
      service.stop();
      await Promise.allSettled([live.close(), fastify.close(), store.close()]);
    }
    log.info({ clean, ms: Date.now() - started }, 'stopped');
    return clean;
  };

  return {
    fastify,
    store,
    system,
    service,
    live,
    get draining() {
      return draining;
    },
    async listen() {
      const address = await fastify.listen({ host: config.host, port: config.port });
      return address;
    },
    shutdown,
  };
}

/** True when `work` settles (either way) within `ms`. */
async function within(ms: number, work: Promise<unknown>): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(resolve, ms, false);
  });
  try {
    return await Promise.race([work.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
