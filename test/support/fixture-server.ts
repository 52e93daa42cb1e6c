/**
 * A real listening server (127.0.0.1, port 0 unless told) with the fixture views mounted
 * through the live endpoint, for behaviour tests through the headless client and for the
 * browser tier. It serves the built browser bundle when `dist/static/manifest.json` exists.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import Fastify, { type FastifyInstance } from 'fastify';
import { type ActorSystem, createSystem } from '../../src/actors/index.js';
import { type LayoutContext, LiveEndpoint, type LiveEndpointOptions, loadAssetManifest } from '../../src/live/http.js';
import { LocalPubSub } from '../../src/live/pubsub.js';
import type { LiveRouteSpec } from '../../src/live/router.js';
import { escapeHTML } from '../../src/live/template.js';
import { fixtureRoutes } from '../fixtures/views/index.js';

const root = new URL('../..', import.meta.url).pathname;
export const STATIC_DIR = join(root, 'dist/static');
export const MANIFEST_PATH = join(STATIC_DIR, 'manifest.json');

export const FIXTURE_SECRET = 'fixture-secret-'.padEnd(64, 'x');

/** The layout of fixture pages: CSRF meta tag, title, the bundle when built, the container. */
export function fixtureLayout({ title, csrfToken, content, assets }: LayoutContext): string {
  const script = assets['app.js'] === undefined ? '' : `<script defer type="module" src="${escapeHTML(assets['app.js'])}" phx-track-static></script>`;
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="csrf-token" content="${escapeHTML(csrfToken)}">
<link rel="icon" href="data:,">
<title data-default="Fixture">${escapeHTML(title || 'Fixture')}</title>
${script}
</head><body>${content}</body></html>`;
}

export interface FixtureServerOptions extends Partial<Omit<LiveEndpointOptions, 'system'>> {
  /** Listen on this port (to restart a server where clients expect it). Default 0. */
  port?: number;
  routes?: LiveRouteSpec[];
  /** Serve `dist/static` and put the bundle in the layout. Default: when the manifest exists. */
  withAssets?: boolean;
  /** Run the views in this actor system (default: a new one, shut down by `close`). */
  system?: ActorSystem;
}

export interface FixtureServer {
  app: FastifyInstance;
  endpoint: LiveEndpoint;
  system: ActorSystem;
  pubsub: LocalPubSub;
  baseUrl: string;
  port: number;
  /** Drains sockets (1001), closes HTTP, shuts the actor system down. */
  close(): Promise<void>;
}

export async function startFixtureServer(options: FixtureServerOptions = {}): Promise<FixtureServer> {
  const system = options.system ?? createSystem();
  const pubsub = new LocalPubSub();
  // Browsers keep idle and speculative connections open; a test server must not wait for them.
  const app = Fastify({ logger: false, forceCloseConnections: true });
  const withAssets = options.withAssets ?? existsSync(MANIFEST_PATH);
  const assets = withAssets ? loadAssetManifest(MANIFEST_PATH) : {};
  if (withAssets) await app.register(fastifyStatic, { root: STATIC_DIR, prefix: '/', index: false });
  // The allow-list is filled once the port is known; the endpoint reads it per upgrade.
  const allowedOrigins: string[] = [];
  const endpoint = new LiveEndpoint({
    secretKeyBase: FIXTURE_SECRET,
    layout: fixtureLayout,
    pubsub,
    assets,
    ...options,
    routes: options.routes ?? fixtureRoutes,
    allowedOrigins: options.allowedOrigins ?? allowedOrigins,
    system,
  });
  await app.register(endpoint.plugin);
  await app.listen({ host: '127.0.0.1', port: options.port ?? 0 });
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  const baseUrl = `http://127.0.0.1:${port}`;
  if (options.allowedOrigins === undefined) endpoint.allowOrigin(baseUrl);
  return {
    app,
    endpoint,
    system,
    pubsub,
    baseUrl,
    port,
    async close() {
      await endpoint.close();
      await app.close();
      await system.shutdown({ drainMs: 1000 });
    },
  };
}
