/**
 * The live socket: one object per WebSocket connection, speaking Phoenix channel framing.
 *
 * A connection routes frames by topic: heartbeats on `phoenix`, joins and everything else on
 * `lv:<id>` to the view server of that join. It never trusts a frame: bad frames get an error
 * reply or a close code, never an exception out of a `message` handler (which `ws` would not
 * catch for us). Outgoing frames go through one guarded `send` that is a no-op on a closing
 * socket and closes sockets whose readers fall behind.
 */
import { isIPv4, isIPv6 } from 'node:net';
import type { RawData, WebSocket } from 'ws';
import { isTodoLiveError } from '../errors.js';
import { joinUrl } from './channel.js';
import type { ViewHandle, ViewOwner, ViewServers } from './channel-server.js';
import { type DecodedFrame, decodeFrame, encodeFrame, salvageRefs } from './frames.js';
import { IdleDeadlines } from './idle-deadlines.js';
import {
  CHANNEL_CRASH_REASON,
  ChannelEvents,
  JoinErrorReasons,
  ReplyStatus,
  Topics,
  UNMATCHED_TOPIC_REASON,
} from './protocol.js';
import { checkRateLimit, TokenBucket } from './rate-limit.js';
import type { LiveRouter } from './router.js';
import { type StaticAssets, trackedStatic } from './static-tracking.js';
import type { ViewSessionClaims, ViewTokens } from './tokens.js';

/** WebSocket close codes we use, and what the client does with each. */
export const CloseCodes = {
  /** Going away (drain, restart): the client reconnects with backoff and rejoins. */
  GOING_AWAY: 1001,
  /** A binary frame: we speak text only. */
  UNSUPPORTED_DATA: 1003,
  /** A frame that is not a decodable Phoenix frame. */
  INVALID_DATA: 1007,
  /** Policy: rate limit exceeded, too slow a reader, too many bad frames, idle. */
  POLICY: 1008,
  /** Frame larger than the maximum payload (`ws` sends this itself). */
  TOO_BIG: 1009,
} as const;

export interface SocketLimits {
  /** Events (and patches) a socket may send at once. */
  eventBurst: number;
  /** Sustained events per second per socket. */
  eventsPerSecond: number;
  /** Refused events tolerated before the socket is closed with 1008. */
  maxRefusedEvents: number;
  /** Frames that fail to decode tolerated before the socket is closed with 1007. */
  maxBadFrames: number;
  /** Views joined at once on one socket. */
  maxChannels: number;
  /**
   * Bytes queued for a reader beyond which it is considered too slow: the next frame closes
   * the socket instead of being queued. One frame may be larger than this.
   */
  maxBufferedBytes: number;
  /** Close a socket that sent nothing (not even a heartbeat) for this long. */
  idleTimeoutMs: number;
}

export const DEFAULT_SOCKET_LIMITS: SocketLimits = {
  eventBurst: 40,
  eventsPerSecond: 20,
  maxRefusedEvents: 40,
  maxBadFrames: 10,
  maxChannels: 32,
  maxBufferedBytes: 1024 * 1024,
  idleTimeoutMs: 60_000,
};

export interface SocketLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** What the HTTP upgrade established about the connecting client. */
export interface ConnectionIdentity {
  /** The signed session cookie's id, or null when the upgrade carried none. */
  sessionId: string | null;
  /** Whether `_csrf_token` matched the session; without it every join answers `stale`. */
  csrfValid: boolean;
  /** The client's address as the HTTP layer sees it (behind a trusted proxy, the forwarded one); for logs. */
  remoteAddress?: string | undefined;
  /**
   * What per-address caps count against: the address, or its network where one client
   * commonly holds many addresses (see {@link addressGroup}). Null or absent: not counted.
   */
  addressGroup?: string | null | undefined;
}

export interface LiveSocketServerOptions {
  router: LiveRouter;
  tokens: ViewTokens;
  views: ViewServers;
  /** The assets this server serves, to tell joining clients whether theirs are stale. */
  staticAssets?: StaticAssets;
  limits?: Partial<SocketLimits>;
  logger?: SocketLogger;
  /** Milliseconds clock for rate limits; `performance.now` by default. */
  now?: () => number;
}

const OPEN = 1;

/** Accepts connections, routes their frames, and drains them on shutdown. */
export class LiveSocketServer {
  readonly #o: LiveSocketServerOptions;
  readonly limits: SocketLimits;
  readonly #table: ConnectionTable;
  #draining = false;
  #nextId = 1;

  constructor(options: LiveSocketServerOptions) {
    this.#o = options;
    this.limits = { ...DEFAULT_SOCKET_LIMITS, ...options.limits };
    this.#table = new ConnectionTable(this.limits.idleTimeoutMs);
    // Sockets make their buckets on their first event; nonsensical limits fail here, at once.
    checkRateLimit({ burst: this.limits.eventBurst, perSecond: this.limits.eventsPerSecond });
  }

  /** True once {@link drain} started: new upgrades must be refused (503). */
  get draining(): boolean {
    return this.#draining;
  }

  /** Open connections. */
  get size(): number {
    return this.#table.connections.size;
  }

  /** Open connections of one session (to cap sockets per session at upgrade). */
  connectionsOf(sessionId: string): number {
    return this.#table.perSession.get(sessionId);
  }

  /** Open connections from one address group (to cap sockets per address at upgrade). */
  connectionsFrom(addressGroup: string): number {
    return this.#table.perAddress.get(addressGroup);
  }

  /** Takes over an upgraded WebSocket. */
  accept(ws: WebSocket, identity: ConnectionIdentity): void {
    if (this.#draining) {
      ws.close(CloseCodes.GOING_AWAY, 'draining');
      return;
    }
    this.#table.add(new Connection(this.#nextId++, ws, identity, this.#o, this.limits, this.#table));
  }

  /**
   * Graceful shutdown of the sockets: refuse new ones, then, batch by batch, stop taking
   * messages, let each socket's in-flight events finish (their replies are sent), and close
   * it with 1001 so the client reconnects (to this server after a restart, or another node).
   */
  async drain(options: { batchSize?: number; intervalMs?: number } = {}): Promise<void> {
    this.#draining = true;
    const batchSize = Math.max(1, options.batchSize ?? 10_000);
    const intervalMs = Math.max(0, options.intervalMs ?? 2_000);
    const all = [...this.#table.connections];
    for (let i = 0; i < all.length; i += batchSize) {
      if (i > 0 && intervalMs > 0) await new Promise((r) => setTimeout(r, intervalMs));
      await Promise.all(all.slice(i, i + batchSize).map((c) => c.drain()));
    }
  }

  /** Drains every socket at once. */
  async close(): Promise<void> {
    await this.drain({ batchSize: Number.MAX_SAFE_INTEGER, intervalMs: 0 });
  }
}

/**
 * The open connections, what they count against, and their idle deadlines. A connection
 * holds this table and removes itself when it closes (rather than holding a callback per
 * connection), and touches its deadline here (rather than owning a timer).
 */
class ConnectionTable {
  readonly connections = new Set<Connection>();
  readonly perSession = new Counts();
  readonly perAddress = new Counts();
  readonly idle: IdleDeadlines<Connection>;

  constructor(idleTimeoutMs: number) {
    this.idle = new IdleDeadlines(idleTimeoutMs, (conn) => conn.idledOut());
  }

  add(conn: Connection): void {
    this.connections.add(conn);
    this.perSession.take(conn.sessionId);
    this.perAddress.take(conn.addressGroup);
  }

  remove(conn: Connection): void {
    this.idle.delete(conn);
    this.connections.delete(conn);
    this.perSession.release(conn.sessionId);
    this.perAddress.release(conn.addressGroup);
  }
}

/** Open connections per key; a key whose count drops to zero is forgotten. */
class Counts {
  readonly #counts = new Map<string, number>();

  get(key: string): number {
    return this.#counts.get(key) ?? 0;
  }

  take(key: string | null): void {
    if (key !== null) this.#counts.set(key, this.get(key) + 1);
  }

  release(key: string | null): void {
    if (key === null) return;
    const n = this.get(key) - 1;
    if (n <= 0) this.#counts.delete(key);
    else this.#counts.set(key, n);
  }
}

/**
 * The key a client address is counted under for per-address caps: an IPv4 address as it is
 * (IPv4-mapped IPv6 included), an IPv6 address as its /64, since one host or home is usually
 * given a whole /64 and could otherwise open sockets from a fresh address each time. Null
 * for something that is not an IP address.
 */
export function addressGroup(address: string | undefined): string | null {
  if (address === undefined) return null;
  const bare = address.replace(/%.*$/, '');
  if (isIPv4(bare)) return bare;
  if (!isIPv6(bare)) return null;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(bare);
  if (mapped !== null) return mapped[1]!;
  const [head = '', tail] = bare.toLowerCase().split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  // A trailing dotted quad counts as two groups; it lies past the first four in any case.
  const missing = Math.max(0, 8 - left.length - right.length);
  const groups = tail === undefined ? left : [...left, ...Array<string>(missing).fill('0'), ...right];
  const prefix = groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, ''));
  return `${prefix.join(':')}::/64`;
}

/** Where a socket's connection is kept on the socket itself, for the shared listeners below. */
const CONNECTION = Symbol('live connection');
type OwnedSocket = WebSocket & { [CONNECTION]?: Connection };

/**
 * One WebSocket connection and the views joined over it.
 *
 * Every open tab keeps one for its whole life, idle or not, so it holds as little as it can:
 * its socket listeners are functions shared by every connection (found through the
 * socket), not closures of its own; its idle deadline is an entry in the server's
 * {@link IdleDeadlines}, not a timer of its own; a single joined view (the usual case) is
 * kept as itself, not in a collection; the rate-limit bucket exists only while it is not full.
 */
class Connection implements ViewOwner {
  readonly #id: number;
  readonly #ws: WebSocket;
  /** The session the upgrade carried (counted against, whatever the CSRF check said). */
  readonly sessionId: string | null;
  /** Whether the upgrade's CSRF token matched the session; without it every join is stale. */
  readonly #csrfValid: boolean;
  /** What per-address caps count this connection against, or null. */
  readonly addressGroup: string | null;
  readonly #o: LiveSocketServerOptions;
  readonly #limits: SocketLimits;
  readonly #table: ConnectionTable;
  /** The joined views, at most one per topic: none, one, or several in an array. */
  #channels: ViewHandle | ViewHandle[] | null = null;
  /**
   * Null while full: a full bucket admits exactly what a new one does, so an idle socket
   * drops it (at a heartbeat) and the next event makes a new one.
   */
  #bucket: TokenBucket | null = null;
  #refused = 0;
  #badFrames = 0;
  #closing = false;

  static #onSocketMessage(this: OwnedSocket, data: RawData, isBinary: boolean): void {
    const conn = this[CONNECTION]!;
    try {
      conn.#onMessage(data, isBinary);
    } catch (err) {
      // Nothing above should throw; if it does, only this socket pays for it.
      conn.#o.logger?.error({ err, conn: conn.#id }, 'live socket message handler failed');
      conn.#close(CloseCodes.INVALID_DATA, 'internal error');
    }
  }

  static #onSocketClose(this: OwnedSocket, code: number): void {
    const conn = this[CONNECTION]!;
    conn.#o.logger?.info({ conn: conn.#id, code, views: conn.#views().length }, 'live socket closed');
    conn.#onClose();
  }

  static #onSocketError(this: OwnedSocket, err: Error): void {
    const conn = this[CONNECTION]!;
    conn.#o.logger?.warn({ err: err.message, conn: conn.#id }, 'live socket error');
  }

  constructor(
    id: number,
    ws: WebSocket,
    identity: ConnectionIdentity,
    options: LiveSocketServerOptions,
    limits: SocketLimits,
    table: ConnectionTable,
  ) {
    this.#id = id;
    this.#ws = ws;
    this.sessionId = identity.sessionId;
    this.#csrfValid = identity.csrfValid;
    this.addressGroup = identity.addressGroup ?? null;
    this.#o = options;
    this.#limits = limits;
    this.#table = table;
    table.idle.touch(this);
    options.logger?.info({ conn: id, ip: identity.remoteAddress, session: identity.sessionId !== null }, 'live socket opened');
    (ws as OwnedSocket)[CONNECTION] = this;
    ws.on('message', Connection.#onSocketMessage);
    ws.on('close', Connection.#onSocketClose);
    ws.on('error', Connection.#onSocketError);
  }

  /** Nothing (not even a heartbeat) came for the idle timeout. */
  idledOut(): void {
    this.#close(CloseCodes.POLICY, 'idle');
  }

  /** Stops intake, waits for in-flight work of every view, then closes with 1001. */
  drain(): Promise<void> {
    return this.#closeAfterInFlight(CloseCodes.GOING_AWAY, 'server shutting down');
  }

  /** Takes no more messages, lets the views answer what they already took, then closes. */
  async #closeAfterInFlight(code: number, reason: string): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    await Promise.all(this.#views().map((handle) => handle.settled()));
    this.#close(code, reason);
  }

  #onMessage(data: unknown, isBinary: boolean): void {
    if (this.#closing) return;
    this.#table.idle.touch(this);
    if (isBinary) {
      this.#close(CloseCodes.UNSUPPORTED_DATA, 'binary frames are not supported');
      return;
    }
    const text = Buffer.isBuffer(data) ? data.toString('utf8') : Array.isArray(data) ? Buffer.concat(data).toString('utf8') : String(data);
    let frame: DecodedFrame;
    try {
      frame = decodeFrame(text);
    } catch (err) {
      if (!isTodoLiveError(err)) throw err;
      this.#onBadFrame(text, err.message);
      return;
    }
    this.#route(frame);
  }

  #onBadFrame(text: string, reason: string): void {
    this.#o.logger?.warn({ conn: this.#id, reason }, 'live socket got a bad frame');
    if (++this.#badFrames > this.#limits.maxBadFrames) {
      this.#close(CloseCodes.INVALID_DATA, 'too many bad frames');
      return;
    }
    const refs = salvageRefs(text);
    if (refs === null) {
      this.#close(CloseCodes.INVALID_DATA, 'undecodable frame');
      return;
    }
    this.#reply(refs.joinRef, refs.ref, refs.topic, ReplyStatus.ERROR, { reason: 'bad frame' });
  }

  #route(frame: DecodedFrame): void {
    const { topic, event } = frame;
    if (topic === Topics.PHOENIX) {
      if (event === ChannelEvents.HEARTBEAT) {
        if (this.#bucket?.full === true) this.#bucket = null;
        this.#reply(null, frame.ref, topic, ReplyStatus.OK, {});
      } else this.#reply(frame.joinRef, frame.ref, topic, ReplyStatus.ERROR, { reason: 'unknown event' });
      return;
    }
    if (event === ChannelEvents.JOIN) {
      this.#join(frame);
      return;
    }
    const handle = this.#channel(topic);
    if (handle === undefined || handle.joinRef !== frame.joinRef) {
      this.#reply(frame.joinRef, frame.ref, topic, ReplyStatus.ERROR, { reason: UNMATCHED_TOPIC_REASON });
      return;
    }
    switch (event) {
      case ChannelEvents.EVENT:
      case ChannelEvents.LIVE_PATCH:
        if (!this.#admit(frame)) return;
        handle.push(
          event === ChannelEvents.EVENT
            ? { kind: 'event', ref: frame.ref, payload: frame.payload }
            : { kind: 'live_patch', ref: frame.ref, payload: frame.payload },
        );
        return;
      case ChannelEvents.LEAVE:
        // The topic is free at once: a message after the leave is for an unjoined topic.
        this.#forget(handle);
        handle.push({ kind: 'leave', ref: frame.ref });
        return;
      case ChannelEvents.CIDS_WILL_DESTROY:
        handle.push({ kind: 'ack', ref: frame.ref, response: {} });
        return;
      case ChannelEvents.CIDS_DESTROYED: {
        // We render no components, so none are deleted; echo what the client asked about.
        const cids = Array.isArray(frame.payload.cids) ? frame.payload.cids.filter((c) => typeof c === 'number') : [];
        handle.push({ kind: 'ack', ref: frame.ref, response: { cids } });
        return;
      }
      default:
        this.#reply(frame.joinRef, frame.ref, topic, ReplyStatus.ERROR, { reason: 'unknown event' });
    }
  }

  /** The joined views, in the order they joined. */
  #views(): readonly ViewHandle[] {
    const channels = this.#channels;
    if (channels === null) return [];
    return Array.isArray(channels) ? channels : [channels];
  }

  /** The view joined on `topic`, if any. */
  #channel(topic: string): ViewHandle | undefined {
    const channels = this.#channels;
    if (channels === null) return undefined;
    if (Array.isArray(channels)) return channels.find((handle) => handle.topic === topic);
    return channels.topic === topic ? channels : undefined;
  }

  #addChannel(handle: ViewHandle): void {
    const channels = this.#channels;
    if (channels === null) this.#channels = handle;
    else if (Array.isArray(channels)) channels.push(handle);
    else this.#channels = [channels, handle];
  }

  /** Removes a joined view; false when it was not (or no longer) joined. */
  #forget(handle: ViewHandle): boolean {
    const channels = this.#channels;
    if (channels === handle) {
      this.#channels = null;
      return true;
    }
    if (!Array.isArray(channels)) return false;
    const at = channels.indexOf(handle);
    if (at < 0) return false;
    channels.splice(at, 1);
    if (channels.length === 1) this.#channels = channels[0]!;
    return true;
  }

  /** Rate limit for client events; refusals are answered, and too many close the socket. */
  #admit(frame: DecodedFrame): boolean {
    this.#bucket ??= new TokenBucket({
      burst: this.#limits.eventBurst,
      perSecond: this.#limits.eventsPerSecond,
      ...(this.#o.now === undefined ? {} : { now: this.#o.now }),
    });
    if (this.#bucket.take()) return true;
    this.#reply(frame.joinRef, frame.ref, frame.topic, ReplyStatus.ERROR, { reason: 'rate limited' });
    if (++this.#refused > this.#limits.maxRefusedEvents) {
      this.#o.logger?.warn({ conn: this.#id }, 'live socket closed for exceeding its event rate');
      void this.#closeAfterInFlight(CloseCodes.POLICY, 'rate limit exceeded');
    }
    return false;
  }

  #join(frame: DecodedFrame): void {
    const { topic, ref, payload } = frame;
    const joinRef = frame.joinRef ?? ref;
    const fail = (response: Record<string, unknown>) => this.#reply(joinRef, ref, topic, ReplyStatus.ERROR, response);
    if (ref === null || joinRef === null) {
      fail({ reason: 'join without a ref' });
      return;
    }
    if (!topic.startsWith(Topics.LIVEVIEW_PREFIX)) {
      fail({ reason: UNMATCHED_TOPIC_REASON });
      return;
    }
    const old = this.#channel(topic);
    if (old !== undefined) {
      // A second join of a topic replaces the first (live redirect, client rejoin).
      this.#forget(old);
      old.stop('replaced');
      this.#send(encodeFrame(old.joinRef, old.joinRef, topic, ChannelEvents.CLOSE, {}));
    }
    if (this.#views().length >= this.#limits.maxChannels) {
      fail({ reason: 'too many views on one socket' });
      return;
    }
    const id = topic.slice(Topics.LIVEVIEW_PREFIX.length);
    const verdict = this.#checkTokens(payload, id);
    if (typeof verdict === 'string') {
      this.#o.logger?.warn({ conn: this.#id, topic, why: verdict }, 'live join refused as stale');
      fail({ reason: JoinErrorReasons.STALE });
      return;
    }
    const { sessionId, claims } = verdict;
    const rawUrl = joinUrl(payload);
    let url: URL | null;
    try {
      url = rawUrl === null ? null : new URL(rawUrl);
    } catch {
      url = null;
    }
    const match = url === null ? null : this.#o.router.match(url);
    const isRedirectJoin = typeof payload.url !== 'string';
    if (url === null || match === null || (!isRedirectJoin && match.route.name !== claims.view)) {
      this.#o.logger?.warn({ conn: this.#id, topic, url: rawUrl }, 'live join refused as unauthorized');
      fail({ reason: JoinErrorReasons.UNAUTHORIZED });
      return;
    }
    const handle = this.#o.views.start(
      {
        id,
        topic,
        joinRef,
        joinPushRef: ref,
        route: match.route,
        router: this.#o.router,
        url: url.href,
        params: match.params,
        session: { id: sessionId, data: claims.data ?? {} },
        staticChanged: this.#o.staticAssets?.changed(trackedStatic(payload)) ?? false,
      },
      this,
    );
    this.#addChannel(handle);
  }

  /** {@link ViewOwner}: a view's frames leave through the socket's one way out. */
  sendFrame(text: string): void {
    this.#send(text);
  }

  /** {@link ViewOwner}: a view is gone; a crashed one still joined tells the client to rejoin. */
  viewDown(handle: ViewHandle, crashed: boolean): void {
    if (!this.#forget(handle)) return;
    if (crashed) {
      const { joinRef, topic } = handle;
      this.#send(encodeFrame(joinRef, joinRef, topic, ChannelEvents.ERROR, { reason: CHANNEL_CRASH_REASON }));
    }
  }

  /** The verified session and claims of a join, or why it is stale. */
  #checkTokens(payload: Record<string, unknown>, id: string): { sessionId: string; claims: ViewSessionClaims } | string {
    const sessionId = this.sessionId;
    if (!this.#csrfValid || sessionId === null) return 'no valid CSRF token or session';
    const verified = this.#o.tokens.verifySession(payload.session);
    if (!verified.ok) return `session token ${verified.reason}`;
    const claims = verified.data;
    if (claims.lvId !== id) return 'session token minted for another view id';
    if (claims.sid !== sessionId) return 'session token minted for another session';
    if (!this.#o.tokens.verifyStatic(payload.static, id)) return 'static token invalid';
    return { sessionId, claims };
  }

  #reply(joinRef: string | null, ref: string | null, topic: string, status: string, response: object): void {
    this.#send(encodeFrame(joinRef, ref, topic, ChannelEvents.REPLY, { status, response }));
  }

  /**
   * The one way out: a no-op once the socket is closing; closes readers that fall behind.
   * The bound is on what is already queued, not on the frame at hand: a reader that keeps up
   * gets a frame of any size (a large list's join reply), one that stopped reading is cut off
   * at its next frame, so a socket holds at most the bound plus one frame.
   */
  #send(text: string): void {
    if (this.#ws.readyState !== OPEN) return;
    if (this.#ws.bufferedAmount > this.#limits.maxBufferedBytes) {
      this.#o.logger?.warn({ conn: this.#id, buffered: this.#ws.bufferedAmount }, 'live socket reader too slow; closing');
      this.#ws.terminate();
      return;
    }
    this.#ws.send(text);
  }

  #close(code: number, reason: string): void {
    if (this.#ws.readyState === OPEN) this.#ws.close(code, reason);
    this.#closing = true;
  }

  #onClose(): void {
    this.#closing = true;
    const views = this.#views();
    this.#channels = null;
    for (const handle of views) handle.stop('closed');
    this.#table.remove(this);
  }
}
