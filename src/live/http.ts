/**
 * The HTTP side of the live layer, as one Fastify plugin: the first ("dead") render of every
 * live route, and the `/live/websocket` endpoint with its checks before the upgrade (Origin
 * allow-list, CSRF token bound to the session cookie, serializer version, sockets per session
 * and per client address).
 *
 * The dead render goes through the same `DiffTracker.mount` → `renderedToHTML` path as the
 * join reply, so the first paint and the live tree cannot disagree.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import websocket from '@fastify/websocket';
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { ActorSystem } from '../actors/index.js';
import { ErrorCodes, TodoLiveError } from '../errors.js';
import { type ChannelLogger, relativeUrl } from './channel.js';
import { ViewServers } from './channel-server.js';
import { DiffTracker } from './diff.js';
import { mountView } from './lifecycle.js';
import { SERIALIZER_VSN } from './protocol.js';
import type { PubSub } from './pubsub.js';
import { renderedToHTML } from './render-html.js';
import { type LiveRoute, LiveRouter, type LiveRouteSpec } from './router.js';
import { SessionCookie } from './session.js';
import { addressGroup, type ConnectionIdentity, LiveSocketServer, type SocketLimits } from './socket-server.js';
import { StaticAssets } from './static-tracking.js';
import { escapeHTML } from './template.js';
import { CsrfTokens, deriveKeys, ViewTokens } from './tokens.js';
import type { WebSocket } from 'ws';
import { ViewSocketImpl } from './view-socket.js';

/** Default of {@link LiveEndpointOptions.maxSocketsPerSession}: tabs of one browser. */
export const DEFAULT_MAX_SOCKETS_PER_SESSION = 10;

/** Default of {@link LiveEndpointOptions.maxSocketsPerAddress}: a household or small office behind one address. */
export const DEFAULT_MAX_SOCKETS_PER_ADDRESS = 50;

/** WebSocket frames above this size close the socket with 1009. */
export const MAX_FRAME_BYTES = 64 * 1024;

/** What the app's layout receives to build the page around the view. */
export interface LayoutContext {
  /** The page title the view set (plain text: escape it), or `''`. */
  title: string;
  /** The masked CSRF token for `<meta name="csrf-token" content="…">` (URL-safe). */
  csrfToken: string;
  /** The view's container element, ready to insert verbatim. */
  content: string;
  /** Logical asset name → URL, from the build's manifest. */
  assets: Readonly<Record<string, string>>;
  /** The requested URL. */
  url: URL;
}

/** Builds the whole HTML document around a rendered view. */
export type LiveLayout = (context: LayoutContext) => string;

export interface LiveEndpointOptions {
  /** Root secret; every key (cookie, CSRF, view tokens) is derived from it with HKDF. */
  secretKeyBase: string;
  routes: readonly LiveRouteSpec[];
  layout: LiveLayout;
  /** Origins allowed to open the socket: exact `scheme://host[:port]` matches. */
  allowedOrigins: readonly string[];
  /** The actor system the view servers run in. */
  system: ActorSystem;
  pubsub?: PubSub;
  /** Adds `Secure` and the `__Host-` prefix to the session cookie (set behind https). */
  secureCookie?: boolean;
  cookieName?: string;
  /**
   * Logical asset name → URL, or read from a manifest file with {@link loadAssetManifest}.
   * Joining clients whose `phx-track-static` URLs are not among these see
   * `socket.staticChanged`.
   */
  assets?: Readonly<Record<string, string>>;
  /** Extra JSON-safe session data signed into the view token at render time. */
  sessionData?: (request: FastifyRequest) => Record<string, unknown>;
  /** Mount point of the socket; the client appends `/websocket`. Default `/live`. */
  socketPath?: string;
  limits?: Partial<SocketLimits>;
  /** Sockets one session may hold open at once. Default 10. */
  maxSocketsPerSession?: number;
  /**
   * Sockets one client address may hold open at once, whatever sessions they carry (an IPv6
   * address counts as its /64; see {@link addressGroup}). The address is Fastify's
   * `request.ip`, so it is the forwarded one only when the app trusts its proxy. Default 50.
   */
  maxSocketsPerAddress?: number;
  /** Maximum age of view tokens; two weeks by default. */
  tokenMaxAgeMs?: number;
  /**
   * Idle time after which views that can hibernate drop their reloadable state (see
   * `LiveView.hibernate`). Off when unset.
   */
  hibernateAfterMs?: number;
  /** Receives connection, refusal and view failure lines (a pino logger fits). */
  logger?: ChannelLogger;
}

/** Reads `dist/static/manifest.json` (logical name → digested URL). */
export function loadAssetManifest(path: string): Record<string, string> {
  const parsed: unknown = JSON.parse(readFileSync(path, 'utf8'));
  if (typeof parsed !== 'object' || parsed === null) {
    throw new TodoLiveError(ErrorCodes.LIVE_NO_ROUTE, `expected ${path} to hold a JSON object of asset URLs`);
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(parsed)) if (typeof v === 'string') out[k] = v;
  return out;
}

/** A fresh container id: `phx-` and 16 URL-safe random characters, like Phoenix's. */
export function newViewId(): string {
  return `phx-${randomBytes(12).toString('base64url')}`;
}

/**
 * The live endpoint: register {@link plugin} on a Fastify instance, then call
 * {@link drain} on shutdown before `app.close()`.
 */
export class LiveEndpoint {
  readonly router: LiveRouter;
  readonly sessions: SessionCookie;
  readonly csrf: CsrfTokens;
  readonly tokens: ViewTokens;
  readonly sockets: LiveSocketServer;
  readonly plugin: FastifyPluginAsync;
  readonly #o: LiveEndpointOptions;
  readonly #allowed: Set<string>;
  readonly #identities = new WeakMap<FastifyRequest, ConnectionIdentity>();

  constructor(options: LiveEndpointOptions) {
    this.#o = options;
    const keys = deriveKeys(options.secretKeyBase);
    this.router = new LiveRouter(options.routes);
    this.sessions = new SessionCookie(keys, {
      secure: options.secureCookie ?? false,
      ...(options.cookieName === undefined ? {} : { name: options.cookieName }),
    });
    this.csrf = new CsrfTokens(keys);
    this.tokens = new ViewTokens(keys, options.tokenMaxAgeMs === undefined ? {} : { maxAgeMs: options.tokenMaxAgeMs });
    this.#allowed = new Set(options.allowedOrigins.map((o) => new URL(o).origin));
    const views = new ViewServers(options.system, {
      ...(options.pubsub === undefined ? {} : { pubsub: options.pubsub }),
      ...(options.logger === undefined ? {} : { logger: options.logger }),
      ...(options.hibernateAfterMs === undefined ? {} : { hibernateAfterMs: options.hibernateAfterMs }),
    });
    this.sockets = new LiveSocketServer({
      router: this.router,
      tokens: this.tokens,
      views,
      staticAssets: StaticAssets.fromManifest(options.assets ?? {}),
      ...(options.limits === undefined ? {} : { limits: options.limits }),
      ...(options.logger === undefined ? {} : { logger: options.logger }),
    });
    this.plugin = async (app) => this.#register(app);
  }

  /**
   * The session id of a request, issuing a new signed cookie on `reply` when there is none
   * (or it was forged). Apps use this id as the anonymous user's token.
   */
  ensureSession(request: FastifyRequest, reply: FastifyReply): string {
    const existing = this.sessions.readHeader(request.headers.cookie);
    if (existing !== null) return existing;
    const id = this.sessions.newId();
    reply.header('set-cookie', this.sessions.setCookieHeader(id));
    return id;
  }

  /** The session id of a request, or null (never issues a cookie). */
  sessionOf(request: FastifyRequest): string | null {
    return this.sessions.readHeader(request.headers.cookie);
  }

  /** Adds an origin to the allow-list (e.g. once a server listening on port 0 knows its port). */
  allowOrigin(origin: string): void {
    this.#allowed.add(new URL(origin).origin);
  }

  /** Graceful shutdown of the sockets: see {@link LiveSocketServer.drain}. */
  drain(options: { batchSize?: number; intervalMs?: number } = {}): Promise<void> {
    return this.sockets.drain(options);
  }

  /** Closes every socket at once with 1001. */
  close(): Promise<void> {
    return this.sockets.close();
  }

  async #register(app: FastifyInstance): Promise<void> {
    await app.register(websocket, {
      options: { maxPayload: MAX_FRAME_BYTES, perMessageDeflate: false },
      preClose: async () => {
        await this.sockets.close();
      },
    });
    for (const route of this.router.routes) {
      app.get(route.path, (request, reply) => this.#deadRender(route, request, reply));
    }
    const socketPath = `${this.#o.socketPath ?? '/live'}/websocket`;
    app.route({
      method: 'GET',
      url: socketPath,
      preValidation: async (request, reply) => {
        const refusal = this.#checkUpgrade(request);
        if (refusal !== null) {
          this.#o.logger?.warn(
            { origin: request.headers.origin, status: refusal.status, why: refusal.message, ip: request.ip },
            'live socket upgrade refused',
          );
          if (request.headers.upgrade !== undefined) {
            // A refused upgrade's socket belongs to no HTTP keep-alive machinery: end it
            // ourselves, or it lingers and holds up `app.close()`.
            const socket = request.raw.socket;
            reply.raw.once('finish', () => socket.destroy());
            reply.header('connection', 'close');
          }
          await reply.code(refusal.status).send({ error: refusal.message });
        }
      },
      handler: (_request, reply) => {
        reply.code(426).send({ error: 'expected a WebSocket upgrade' });
      },
      wsHandler: (socket, request) => {
        const identity = this.#identities.get(request) ?? { sessionId: null, csrfValid: false };
        releaseUpgrade(socket, request.raw.socket);
        this.sockets.accept(socket, identity);
      },
    });
  }

  /** Null when the upgrade may proceed, else the HTTP status and why. */
  #checkUpgrade(request: FastifyRequest): { status: number; message: string } | null {
    if (this.sockets.draining) return { status: 503, message: 'server is shutting down' };
    const query = request.query as Record<string, unknown>;
    if (query.vsn !== SERIALIZER_VSN) {
      return { status: 400, message: `expected vsn=${SERIALIZER_VSN}, got ${JSON.stringify(query.vsn ?? null)}` };
    }
    const origin = request.headers.origin;
    const sessionId = this.sessions.readHeader(request.headers.cookie);
    const csrfValid = sessionId !== null && this.csrf.verify(sessionId, query._csrf_token);
    if (origin !== undefined) {
      if (!this.#allowed.has(origin)) return { status: 403, message: 'origin not allowed' };
    } else if (!csrfValid) {
      // Non-browser clients send no Origin; they must then prove the session with the token.
      return { status: 403, message: 'no origin and no valid CSRF token' };
    }
    if (sessionId !== null && this.sockets.connectionsOf(sessionId) >= (this.#o.maxSocketsPerSession ?? DEFAULT_MAX_SOCKETS_PER_SESSION)) {
      return { status: 429, message: 'too many sockets for this session' };
    }
    // A fresh cookie per socket gets past the session cap; the address does not change.
    const group = addressGroup(request.ip);
    if (group !== null && this.sockets.connectionsFrom(group) >= (this.#o.maxSocketsPerAddress ?? DEFAULT_MAX_SOCKETS_PER_ADDRESS)) {
      return { status: 429, message: 'too many sockets from this address' };
    }
    if (request.headers.upgrade?.toLowerCase() !== 'websocket') return null;
    this.#identities.set(request, { sessionId, csrfValid, remoteAddress: request.ip, addressGroup: group });
    return null;
  }

  async #deadRender(route: LiveRoute, request: FastifyRequest, reply: FastifyReply): Promise<string> {
    const sessionId = this.ensureSession(request, reply);
    const url = new URL(request.url, `${request.protocol}://${request.host}`);
    const match = this.router.match(url);
    const params = match?.route === route ? match.params : {};
    const socket = new ViewSocketImpl({ id: newViewId(), connected: false });
    const data = this.#o.sessionData?.(request) ?? {};
    const outcome = await mountView(route.view, socket, this.router, route.name, url, params, {
      id: sessionId,
      data,
    });
    if (outcome.leaving !== null || outcome.patched !== null) {
      // Without a socket there is nothing to patch: the browser follows a plain redirect.
      const to = outcome.leaving?.to ?? relativeUrl(outcome.url);
      reply.redirect(to, 302);
      return '';
    }
    const rendered = new DiffTracker().mount(route.view.render(socket.assigns));
    const { title } = socket.takeEffects();
    const session = this.tokens.signSession({ lvId: socket.id, view: route.name, sid: sessionId, data });
    const staticToken = this.tokens.signStatic(socket.id);
    const content =
      `<div id="${socket.id}" data-phx-main data-phx-session="${escapeHTML(session)}" ` +
      `data-phx-static="${escapeHTML(staticToken)}">${renderedToHTML(rendered)}</div>`;
    reply.header('content-type', 'text/html; charset=utf-8').header('cache-control', 'no-store');
    return this.#o.layout({
      title: title ?? '',
      csrfToken: this.csrf.issue(sessionId),
      content,
      assets: this.#o.assets ?? {},
      url,
    });
  }
}

/**
 * Lets go of the upgrade's HTTP objects once the socket is open. The WebSocket plugin routes the
 * upgrade through a `ServerResponse` assigned to the TCP socket and closes over the request in
 * its `error` listener, so both stay reachable from a connection for its whole life: about 3 KB
 * of headers, buffers and request state per connected user, kept for nothing. The connection
 * installs its own `error` listener (`LiveSocketServer.accept`).
 */
function releaseUpgrade(ws: WebSocket, tcp: Socket): void {
  ws.removeAllListeners('error');
  const held = (tcp as Socket & { _httpMessage?: unknown })._httpMessage;
  if (held instanceof ServerResponse) held.detachSocket(tcp);
}
