/**
 * A lean live tab for thousands of connections: one WebSocket opened the way the browser's
 * `LiveSocket` opens it, the view joined with the page's tokens, heartbeats every 30 s, and
 * pushes matched to their replies by ref. It keeps counters, not frames: received frames are
 * only scanned for their refs, and parsed in full only when a caller asks for a reply body.
 */
import WebSocket from 'ws';
import type { EventPayload } from './dialect.js';
import { type Cookies, cookieHeader, type Page } from './page.js';

/** Phoenix's default heartbeat interval. */
export const HEARTBEAT_MS = 30_000;

export interface Reply {
  /** Milliseconds from `send` to the reply. */
  ms: number;
  /** Text length of the reply frame. */
  bytes: number;
  status: string;
  /** The reply frame's text, kept only when asked for. */
  text: string | null;
}

interface Pending {
  sentAt: number;
  keepText: boolean;
  resolve: (r: Reply) => void;
  reject: (e: Error) => void;
}

const HEAD = /^\[(?:null|"[^"]*"),(?:null|"([^"]*)"),"[^"]*","([^"]*)",\{"(?:status":"([a-z]+)|response)/;

export class LiveTab {
  readonly page: Page;
  readonly jar: Cookies;
  readonly topic: string;
  ws: WebSocket | null = null;
  /** The source address of the last open, reused when the tab reconnects. */
  localAddress: string | undefined;
  joinRef: string | null = null;
  /** Bytes of every frame text received / sent over this tab's sockets. */
  bytesIn = 0;
  bytesOut = 0;
  framesIn = 0;
  #ref = 0;
  readonly #pending = new Map<string, Pending>();
  #heartbeat: NodeJS.Timeout | null = null;
  /** Called when the socket closes; the close code. */
  onClose: ((code: number) => void) | null = null;

  constructor(page: Page, jar: Cookies) {
    this.page = page;
    this.jar = jar;
    this.topic = `lv:${page.viewId}`;
  }

  /** Opens the socket from `localAddress` (a 127.0.0.x source). */
  open(baseUrl: string, localAddress?: string, timeoutMs = 30_000): Promise<void> {
    this.localAddress = localAddress;
    const url = new URL('/live/websocket', baseUrl);
    url.protocol = 'ws:';
    url.searchParams.set('_csrf_token', this.page.csrfToken);
    url.searchParams.set('vsn', '2.0.0');
    const headers: Record<string, string> = { origin: new URL(baseUrl).origin };
    if (this.jar.size > 0) headers.cookie = cookieHeader(this.jar);
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, {
        headers,
        perMessageDeflate: false,
        handshakeTimeout: timeoutMs,
        ...(localAddress === undefined ? {} : { localAddress }),
      });
      this.ws = ws;
      ws.once('open', () => {
        this.#heartbeat = setInterval(() => this.#send(JSON.stringify([null, this.#nextRef(), 'phoenix', 'heartbeat', {}])), HEARTBEAT_MS);
        this.#heartbeat.unref();
        resolve();
      });
      ws.once('unexpected-response', (_req, res) => {
        res.resume();
        ws.terminate();
        reject(new Error(`expected the WebSocket upgrade to succeed, got HTTP ${res.statusCode}`));
      });
      ws.once('error', reject);
      ws.on('message', (data: Buffer) => this.#onFrame(data));
      ws.once('close', (code) => {
        if (this.#heartbeat !== null) clearInterval(this.#heartbeat);
        this.#heartbeat = null;
        for (const p of this.#pending.values()) p.reject(new Error(`socket closed with ${code} before the reply`));
        this.#pending.clear();
        this.onClose?.(code);
      });
    });
  }

  /** Joins the page's view (a rejoin after a reconnect counts its mounts, like the browser). */
  async join(keepText = false): Promise<Reply> {
    const ref = this.#nextRef();
    const mounts = this.joinRef === null ? 0 : 1;
    this.joinRef = ref;
    const payload = {
      url: this.page.url,
      params: { _csrf_token: this.page.csrfToken, _mounts: mounts, _mount_attempts: 0 },
      session: this.page.session,
      static: this.page.static,
      sticky: false,
    };
    const reply = await this.#request(ref, JSON.stringify([ref, ref, this.topic, 'phx_join', payload]), keepText);
    if (reply.status !== 'ok') throw new Error(`expected the join to succeed, got status ${reply.status}`);
    return reply;
  }

  /** Sends an `event` push and resolves with its reply. */
  push(payload: EventPayload, keepText = false): Promise<Reply> {
    const ref = this.#nextRef();
    return this.#request(ref, JSON.stringify([this.joinRef, ref, this.topic, 'event', payload]), keepText);
  }

  /** The text of an `event` push, to count its bytes without sending it. */
  frameOf(payload: EventPayload): string {
    return JSON.stringify([this.joinRef, String(this.#ref + 1), this.topic, 'event', payload]);
  }

  get isOpen(): boolean {
    return this.ws?.readyState === WebSocket.OPEN;
  }

  /** Closes the socket and waits for it to be closed. */
  close(code = 1000): Promise<void> {
    const ws = this.ws;
    if (ws === null || ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      ws.once('close', () => resolve());
      if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
      else ws.close(code);
    });
  }

  #request(ref: string, text: string, keepText: boolean): Promise<Reply> {
    return new Promise((resolve, reject) => {
      if (this.ws?.readyState !== WebSocket.OPEN) {
        reject(new Error('expected an open socket, it is closed'));
        return;
      }
      this.#pending.set(ref, { sentAt: performance.now(), keepText, resolve, reject });
      this.#send(text);
    });
  }

  #send(text: string): void {
    if (this.ws?.readyState !== WebSocket.OPEN) return;
    this.bytesOut += Buffer.byteLength(text);
    this.ws.send(text);
  }

  #nextRef(): string {
    return String(++this.#ref);
  }

  #onFrame(data: Buffer): void {
    const now = performance.now();
    this.bytesIn += data.length;
    this.framesIn++;
    // Only the head of the frame is read: `[joinRef, ref, topic, event, {"status":…`.
    const head = HEAD.exec(data.toString('latin1', 0, Math.min(data.length, 256)));
    if (head === null || head[2] !== 'phx_reply' || head[1] === undefined) return;
    const pending = this.#pending.get(head[1]);
    if (pending === undefined) return;
    this.#pending.delete(head[1]);
    let status = head[3];
    let text: string | null = null;
    if (pending.keepText || status === undefined) {
      text = data.toString('utf8');
      const frame = JSON.parse(text) as [unknown, unknown, unknown, unknown, { status?: string }];
      status = frame[4]?.status ?? 'unknown';
    }
    pending.resolve({ ms: now - pending.sentAt, bytes: data.length, status, text: pending.keepText ? text : null });
  }
}

/** 127.0.0.2, 127.0.0.3, …: `count` loopback source addresses, so ports last for many sockets. */
export function sourceAddresses(count: number): string[] {
  return Array.from({ length: Math.max(1, count) }, (_, i) => `127.0.0.${2 + i}`);
}
