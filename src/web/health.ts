/**
 * Liveness and readiness. `/healthz` only proves the event loop answers (no I/O, so a slow
 * database never gets the process killed); `/readyz` says whether new work should be sent
 * here: the store answers and the server is not draining. Probes hit these every few seconds,
 * so their requests are logged only when something is wrong.
 */
import type { FastifyInstance } from 'fastify';

export interface ReadinessProbe {
  /** True from the moment SIGTERM arrives: a proxy should stop sending new sockets. */
  draining(): boolean;
  /** Resolves when the store answers a trivial query; rejects or returns false otherwise. */
  storeReady(): Promise<boolean>;
}

/** Registers `GET /healthz` and `GET /readyz` on `app`. */
export function registerHealthRoutes(app: FastifyInstance, probe: ReadinessProbe): void {
  app.get('/healthz', { logLevel: 'warn' }, async (_req, reply) => {
    reply.header('cache-control', 'no-store');
    return { status: 'ok' };
  });
  app.get('/readyz', { logLevel: 'warn' }, async (_req, reply) => {
    reply.header('cache-control', 'no-store');
    if (probe.draining()) return reply.code(503).send({ status: 'draining' });
    let ready: boolean;
    try {
      ready = await probe.storeReady();
    } catch {
      ready = false;
    }
    if (!ready) return reply.code(503).send({ status: 'store unavailable' });
    return { status: 'ready' };
  });
}
