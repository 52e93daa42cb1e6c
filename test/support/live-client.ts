/**
 * A headless LiveView client: it connects the way the browser does (GET the page with a
 * cookie jar, read the CSRF meta tag and the container's tokens, open the WebSocket with
 * `_csrf_token` and `vsn=2.0.0`, join with the page URL), sends events of every binding
 * type, and merges every diff through the official client's own `Rendered` code
 * (`client-rendered.ts`), so `html()` is what a browser's container would hold.
 *
 * It records what the server pushes (events, patches, redirects, titles) and offers waits
 * for the next diff, reply or close. Tests, the app's tests and the load benchmark use it.
 */
import WebSocket from 'ws';
import type { Diff, Rendered } from '../../src/live/protocol.js';
import { ClientRendered } from './client-rendered.js';

/** A raw frame as the socket carries it. */
export type WireFrame = [joinRef: string | null, ref: string | null, topic: string, event: string, payload: unknown];

/** A reply to a push: `status` and `response` as the server sent them. */
export interface PushReply {
  status: 'ok' | 'error';
  response: Record<string, unknown>;
}

/** Minimal cookie jar: name → value, fed from `Set-Cookie` headers. */
export class CookieJar {
  readonly #cookies = new Map<string, string>();

  store(setCookie: readonly string[]): void {
    for (const header of setCookie) {
      const pair = header.split(';')[0] ?? '';
      const eq = pair.indexOf('=');
      if (eq > 0) this.#cookies.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
    }
  }

  set(name: string, value: string): void {
    this.#cookies.set(name, value);
  }

  get(name: string): string | undefined {
    return this.#cookies.get(name);
  }

  /** The `Cookie` request header, or undefined when the jar is empty. */
  header(): string | undefined {
    if (this.#cookies.size === 0) return undefined;
    return [...this.#cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
}

/** What the dead render told us. */
export interface DeadPage {
  url: string;
  status: number;
  html: string;
  csrfToken: string;
  viewId: string;
  session: string;
  static: string | null;
  title: string | null;
  /** The container's inner HTML as served. */
  containerHTML: string;
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'", '#x27': "'" };
function unescapeAttr(value: string): string {
  return value.replace(/&(amp|lt|gt|quot|#39|#x27);/g, (_, e: string) => ENTITIES[e] ?? '');
}

function attrOf(tag: string, name: string): string | null {
  const m = new RegExp(`\\s${name}="([^"]*)"`).exec(tag);
  return m === null ? null : unescapeAttr(m[1] ?? '');
}

/** Inner HTML of the element starting at `start` (a `<div …>`), by counting nested divs. */
function innerOfDiv(html: string, start: number): string {
  const open = html.indexOf('>', start) + 1;
  const re = /<div[\s>]|<\/div>/g;
  re.lastIndex = open;
  let depth = 1;
  for (let m = re.exec(html); m !== null; m = re.exec(html)) {
    depth += m[0].startsWith('</') ? -1 : 1;
    if (depth === 0) return html.slice(open, m.index);
  }
  throw new Error('unterminated container <div> in the page');
}

/** Parses a dead render: CSRF meta tag, container attributes and inner HTML, title. */
export function parseDeadPage(url: string, status: number, html: string): DeadPage {
  const csrf = /<meta name="csrf-token" content="([^"]*)"/.exec(html)?.[1];
  const containerStart = html.search(/<div [^>]*data-phx-session=/);
  if (csrf === undefined || containerStart < 0) {
    throw new Error(`expected a live page with a csrf-token meta tag and a container at ${url}, got status ${status}`);
  }
  const tag = html.slice(containerStart, html.indexOf('>', containerStart) + 1);
  const title = /<title[^>]*>([^<]*)<\/title>/.exec(html)?.[1];
  return {
    url,
    status,
    html,
    csrfToken: unescapeAttr(csrf),
    viewId: attrOf(tag, 'id') ?? '',
    session: attrOf(tag, 'data-phx-session') ?? '',
    static: attrOf(tag, 'data-phx-static') || null,
    title: title === undefined ? null : unescapeAttr(title),
    containerHTML: innerOfDiv(html, containerStart),
  };
}

export interface ConnectOptions {
  /** The `Origin` header of the upgrade; defaults to the server's origin; `null` sends none. */
  origin?: string | null;
  /** Shared jar (two clients of one browser share one). */
  jar?: CookieJar;
  /** Replaces the page's CSRF token in the socket URL. */
  csrfToken?: string;
  /** Extra query parameters of the socket URL (`vsn` included, to test refusals). */
  socketParams?: Record<string, string>;
  /** Milliseconds to wait for any reply. Default 5000. */
  timeoutMs?: number;
}

/** Outcome of a socket that failed to open: the HTTP status of the refused upgrade. */
export class UpgradeRefused extends Error {
  constructor(readonly status: number) {
    super(`WebSocket upgrade refused with HTTP ${status}`);
  }
}

interface Waiter {
  match: (frame: WireFrame) => boolean;
  resolve: (frame: WireFrame) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

/**
 * One browser tab: a page, its socket, and the main view joined on it.
 *
 * @example
 * ```ts
 * const client = await LiveClient.open(baseUrl, '/counter');
 * await client.join();
 * await client.click('inc', { by: '1' });
 * assert.match(client.html(), /1/);
 * await client.close();
 * ```
 */
export class LiveClient {
  readonly baseUrl: string;
  readonly jar: CookieJar;
  page: DeadPage;
  /** The current socket (replaced by {@link reconnect}). */
  socket: WebSocket;
  /** Every frame received, oldest first. */
  readonly frames: WireFrame[] = [];
  /** `e` events pushed to the view, as `[name, payload]`. */
  readonly events: unknown[] = [];
  /** `live_patch` pushes and reply entries (`{to, kind}`). */
  readonly patches: { to: string; kind: string }[] = [];
  /** `redirect` and `live_redirect` (pushes, replies, join errors). */
  readonly redirects: { kind: 'redirect' | 'live_redirect'; to: string }[] = [];
  /** Current page title (from `<title>`, then `t` of frames). */
  title: string | null;
  /** Current URL of the view (moves with patches). */
  url: string;
  /** Resolves with the close code and reason when the current socket closes. */
  closed!: Promise<{ code: number; reason: string }>;
  topic: string;
  joinRef: string | null = null;
  #rendered: ClientRendered | null = null;
  #ref = 0;
  #waiters: Waiter[] = [];
  readonly #timeoutMs: number;

  private constructor(baseUrl: string, jar: CookieJar, page: DeadPage, socket: WebSocket, timeoutMs: number) {
    this.baseUrl = baseUrl;
    this.jar = jar;
    this.page = page;
    this.socket = socket;
    this.title = page.title;
    this.url = page.url;
    this.topic = `lv:${page.viewId}`;
    this.#timeoutMs = timeoutMs;
    this.#attach(socket);
  }

  #attach(socket: WebSocket): void {
    this.socket = socket;
    this.closed = new Promise((resolve) => {
      socket.on('close', (code, reason) => {
        for (const w of this.#waiters.splice(0)) {
          clearTimeout(w.timer);
          w.reject(new Error(`socket closed with ${code} while waiting`));
        }
        resolve({ code, reason: reason.toString() });
      });
    });
    socket.on('message', (data) => this.#onFrame(JSON.parse(String(data)) as WireFrame));
  }

  /**
   * What the browser does after the socket dropped: opens a new socket for the same page
   * (same cookies, same CSRF token) and rejoins the view with its current URL.
   */
  async reconnect(options: ConnectOptions = {}, joinOptions: Parameters<LiveClient['join']>[0] = {}): Promise<PushReply> {
    if (this.socket.readyState !== WebSocket.CLOSED) await this.close();
    this.#attach(await LiveClient.openSocket(this.baseUrl, this.page, this.jar, options));
    return this.join(joinOptions);
  }

  /** GETs a page with the jar's cookies (storing new ones). */
  static async fetchPage(baseUrl: string, path: string, jar: CookieJar = new CookieJar()): Promise<DeadPage> {
    const url = new URL(path, baseUrl).toString();
    const cookie = jar.header();
    const res = await fetch(url, { redirect: 'manual', headers: cookie === undefined ? {} : { cookie } });
    jar.store(res.headers.getSetCookie());
    return parseDeadPage(url, res.status, await res.text());
  }

  /** Opens a raw socket like the browser's `LiveSocket` would for `page`. */
  static openSocket(baseUrl: string, page: DeadPage | null, jar: CookieJar, options: ConnectOptions = {}): Promise<WebSocket> {
    const wsUrl = new URL('/live/websocket', baseUrl);
    wsUrl.protocol = wsUrl.protocol === 'https:' ? 'wss:' : 'ws:';
    const params: Record<string, string> = { _csrf_token: options.csrfToken ?? page?.csrfToken ?? '', vsn: '2.0.0' };
    Object.assign(params, options.socketParams);
    for (const [k, v] of Object.entries(params)) wsUrl.searchParams.set(k, v);
    const headers: Record<string, string> = {};
    const origin = options.origin === undefined ? new URL(baseUrl).origin : options.origin;
    if (origin !== null) headers.origin = origin;
    const cookie = jar.header();
    if (cookie !== undefined) headers.cookie = cookie;
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(wsUrl, { headers, perMessageDeflate: false });
      socket.once('open', () => resolve(socket));
      socket.once('unexpected-response', (_req, res) => {
        reject(new UpgradeRefused(res.statusCode ?? 0));
        res.resume();
        socket.terminate();
      });
      socket.once('error', reject);
    });
  }

  /** GETs `path`, then opens the socket for it (not joined yet: call {@link join}). */
  static async open(baseUrl: string, path: string, options: ConnectOptions = {}): Promise<LiveClient> {
    const jar = options.jar ?? new CookieJar();
    const page = await LiveClient.fetchPage(baseUrl, path, jar);
    const socket = await LiveClient.openSocket(baseUrl, page, jar, options);
    return new LiveClient(baseUrl, jar, page, socket, options.timeoutMs ?? 5_000);
  }

  /** The merged container HTML, rendered by the official client code. */
  html(): string {
    if (this.#rendered === null) throw new Error('not joined: no rendered tree yet');
    return this.#rendered.toHTML();
  }

  /** Sends any push and waits for its reply (matched by ref). */
  async push(topic: string, event: string, payload: unknown, joinRef: string | null = this.joinRef): Promise<PushReply> {
    const ref = this.#nextRef();
    const reply = this.waitFor((f) => f[1] === ref && f[3] === 'phx_reply');
    this.sendFrame([joinRef, ref, topic, event, payload]);
    return (await reply)[4] as PushReply;
  }

  /** Sends a frame as given (any shape, for protocol tests). */
  sendFrame(frame: unknown): void {
    this.sendText(JSON.stringify(frame));
  }

  sendText(text: string): void {
    this.socket.send(text);
  }

  /**
   * Joins the page's view (or rejoins: a new join ref), with `_mounts` like the browser's;
   * `params` adds connect params (such as `_track_static`) or overrides those.
   */
  async join(
    options: { url?: string; redirect?: string; session?: string; static?: string | null; topic?: string; params?: Record<string, unknown> } = {},
  ): Promise<PushReply> {
    const ref = this.#nextRef();
    const topic = options.topic ?? this.topic;
    const payload: Record<string, unknown> = {
      params: { _csrf_token: this.page.csrfToken, _mounts: this.joinRef === null ? 0 : 1, _mount_attempts: 0, ...options.params },
      session: options.session ?? this.page.session,
      static: options.static === undefined ? this.page.static : options.static,
      sticky: false,
    };
    if (options.redirect !== undefined) payload.redirect = new URL(options.redirect, this.baseUrl).toString();
    else payload.url = options.url === undefined ? this.url : new URL(options.url, this.baseUrl).toString();
    const previousJoin = this.joinRef;
    this.joinRef = ref;
    this.topic = topic;
    const replyPromise = this.waitFor((f) => f[1] === ref && f[3] === 'phx_reply');
    this.sendFrame([ref, ref, topic, 'phx_join', payload]);
    const reply = (await replyPromise)[4] as PushReply;
    if (reply.status === 'ok') {
      this.#rendered = new ClientRendered(this.page.viewId, reply.response.rendered as Rendered);
      this.#absorbTopLevel();
      if (typeof payload.redirect === 'string') this.url = payload.redirect;
      else if (typeof payload.url === 'string') this.url = payload.url;
      this.#followReply(reply.response);
    } else {
      this.joinRef = previousJoin;
      this.#followReply(reply.response);
    }
    return reply;
  }

  /** Leaves the view. */
  leave(): Promise<PushReply> {
    return this.push(this.topic, 'phx_leave', {});
  }

  /** `phx-click` with `phx-value-*` values. */
  click(event: string, value: Record<string, unknown> = {}): Promise<PushReply> {
    return this.#event('click', event, value);
  }

  /** `phx-submit`: fields are URL-encoded like the browser's form serialisation. */
  submit(event: string, fields: Record<string, string> | string, meta: Record<string, unknown> = {}): Promise<PushReply> {
    return this.#event('form', event, encodeForm(fields), { meta });
  }

  /** `phx-change`, with `_target` naming the field that changed. */
  change(event: string, fields: Record<string, string> | string, target?: string): Promise<PushReply> {
    return this.#event('form', event, encodeForm(fields), { meta: { _target: target ?? 'undefined' }, uploads: {} });
  }

  keyup(event: string, key: string, value: Record<string, unknown> = {}): Promise<PushReply> {
    return this.#event('keyup', event, { key, ...value });
  }

  keydown(event: string, key: string, value: Record<string, unknown> = {}): Promise<PushReply> {
    return this.#event('keydown', event, { key, ...value });
  }

  blur(event: string, value: Record<string, unknown> = {}): Promise<PushReply> {
    return this.#event('blur', event, value);
  }

  focus(event: string, value: Record<string, unknown> = {}): Promise<PushReply> {
    return this.#event('focus', event, value);
  }

  /** A hook's `this.pushEvent(event, payload)`. */
  hook(event: string, payload: Record<string, unknown> = {}): Promise<PushReply> {
    return this.#event('hook', event, payload);
  }

  /** A patch link click (or back/forward): `live_patch` with the absolute URL. */
  async patch(path: string): Promise<PushReply> {
    const url = new URL(path, this.baseUrl).toString();
    const reply = await this.push(this.topic, 'live_patch', { url });
    if (reply.status === 'ok' && reply.response.link_redirect !== true) this.url = url;
    return reply;
  }

  /** Heartbeat on the `phoenix` topic. */
  heartbeat(): Promise<PushReply> {
    return this.push('phoenix', 'heartbeat', {}, null);
  }

  /** Waits for the next frame that satisfies `match` (already received frames do not count). */
  waitFor(match: (frame: WireFrame) => boolean, timeoutMs = this.#timeoutMs): Promise<WireFrame> {
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        match,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.#waiters = this.#waiters.filter((w) => w !== waiter);
          reject(new Error(`no matching frame within ${timeoutMs} ms`));
        }, timeoutMs),
      };
      this.#waiters.push(waiter);
    });
  }

  /** Waits for the next unsolicited `diff` push of the current join. */
  async nextDiff(timeoutMs?: number): Promise<Diff> {
    const frame = await this.waitFor((f) => f[3] === 'diff' && f[0] === this.joinRef, timeoutMs);
    return frame[4] as Diff;
  }

  /** Waits for the next frame of `event` (e.g. `phx_error`, `phx_close`) on the current topic. */
  async next(event: string, timeoutMs?: number): Promise<WireFrame> {
    return this.waitFor((f) => f[3] === event && f[2] === this.topic, timeoutMs);
  }

  /** Closes the socket and waits for it to close. */
  async close(): Promise<void> {
    if (this.socket.readyState === WebSocket.OPEN || this.socket.readyState === WebSocket.CONNECTING) this.socket.close(1000);
    await this.closed;
  }

  async #event(type: string, event: string, value: unknown, extra: Record<string, unknown> = {}): Promise<PushReply> {
    return this.push(this.topic, 'event', { type, event, value, ...extra });
  }

  #nextRef(): string {
    return String(++this.#ref);
  }

  #onFrame(frame: WireFrame): void {
    this.frames.push(frame);
    const [joinRef, , topic, event, payload] = frame;
    const current = topic === this.topic && (joinRef === null || joinRef === this.joinRef);
    if (current && this.#rendered !== null) {
      const body = payload as Record<string, unknown>;
      if (event === 'diff') this.#merge(body as Diff);
      else if (event === 'phx_reply' && typeof body.response === 'object' && body.response !== null) {
        const response = body.response as Record<string, unknown>;
        if (response.diff !== undefined && frame[1] !== joinRef) this.#merge(response.diff as Diff);
        if (frame[1] !== joinRef) this.#followReply(response);
      } else if (event === 'live_patch') this.#recordPatch(body);
      else if (event === 'redirect') this.redirects.push({ kind: 'redirect', to: String(body.to) });
      else if (event === 'live_redirect') this.redirects.push({ kind: 'live_redirect', to: String(body.to) });
    }
    for (const waiter of [...this.#waiters]) {
      if (!waiter.match(frame)) continue;
      clearTimeout(waiter.timer);
      this.#waiters = this.#waiters.filter((w) => w !== waiter);
      waiter.resolve(frame);
    }
  }

  #merge(diff: Diff): void {
    this.#rendered?.merge(diff);
    this.#absorbTopLevel();
  }

  #absorbTopLevel(): void {
    const r = this.#rendered;
    if (r === null) return;
    if (r.title !== undefined) this.title = r.title;
    this.events.splice(0, this.events.length, ...r.events);
  }

  #followReply(response: Record<string, unknown>): void {
    const patch = response.live_patch as { to: string; kind: string } | undefined;
    if (patch !== undefined) this.#recordPatch(patch);
    const redirect = response.redirect as { to: string } | undefined;
    if (redirect !== undefined) this.redirects.push({ kind: 'redirect', to: redirect.to });
    const live = response.live_redirect as { to: string } | undefined;
    if (live !== undefined) this.redirects.push({ kind: 'live_redirect', to: live.to });
  }

  #recordPatch(patch: Record<string, unknown>): void {
    const to = String(patch.to);
    this.patches.push({ to, kind: String(patch.kind) });
    this.url = new URL(to, this.baseUrl).toString();
  }
}

/** URL-encodes form fields the way the browser's `FormData` serialisation does. */
export function encodeForm(fields: Record<string, string> | string): string {
  return typeof fields === 'string' ? fields : new URLSearchParams(fields).toString();
}
