/**
 * One joined view: the protocol logic between a channel topic and a {@link LiveView}.
 *
 * A `ViewChannel` owns the view's socket (assigns), the diff tracker (what the client holds)
 * and the join ref every outgoing frame is stamped with. It is driven one message at a time
 * by the actor server in `channel-server.ts`, so frames leave in the order the state advances.
 * Every client push gets exactly one reply, including when the view rejects or crashes.
 */
import { describeValue, isTodoLiveError } from '../errors.js';
import { DiffTracker } from './diff.js';
import { encodeFrame } from './frames.js';
import { followNavigation, mountView, relativeUrl, resolveSameOrigin, type TurnOutcome } from './lifecycle.js';
import { decodeParams, mergeParams, type Params, toParamValue } from './params.js';
import { ChannelEvents, type Diff, LIVEVIEW_VERSION, ReplyStatus } from './protocol.js';
import type { PubSub } from './pubsub.js';
import type { LiveRoute, LiveRouter } from './router.js';
import { type InfoSink, ViewSocketImpl } from './view-socket.js';
import type { EventValue, LiveSession } from './view.js';

/** Whether the channel lives on after a message, or has ended (the server must stop). */
export type ChannelStatus = 'continue' | 'stop';

/** Where log lines about views go; pino's signature. */
export interface ChannelLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface ViewChannelOptions {
  /** The container id; the topic is `lv:<id>`. */
  id: string;
  topic: string;
  joinRef: string;
  route: LiveRoute;
  router: LiveRouter;
  /**
   * The page URL (or live redirect target) the client joined with, absolute and normalised
   * (a `URL`'s `href`). A string because a view keeps it for its whole life and a `URL`
   * object costs several times its text.
   */
  url: string;
  /** Params routed from `url`. */
  params: Params;
  session: LiveSession;
  /** Whether the client's tracked static assets differ from the server's (see `StaticAssets`). */
  staticChanged?: boolean;
  /** Writes one encoded frame to the client; must be safe on a closing socket. */
  send(text: string): void;
  /** Messages for the view's `handleInfo` go here (the server's mailbox). */
  deliver: InfoSink;
  pubsub?: PubSub;
  logger?: ChannelLogger;
}

/** A view failed in a way that must crash its server (after every reply owed was sent). */
export class ViewCrash extends Error {
  constructor(readonly where: string, cause: unknown) {
    super(`view crashed in ${where}: ${cause instanceof Error ? cause.message : describeValue(cause)}`, { cause });
    this.name = 'ViewCrash';
  }
}

/** The outcome of a turn that asked for no navigation. */
const STAYED: Omit<TurnOutcome, 'url'> = { patched: null, leaving: null };

const EVENT_TYPES = new Set(['click', 'form', 'keyup', 'keydown', 'blur', 'focus', 'hook']);

export class ViewChannel {
  readonly topic: string;
  readonly joinRef: string;
  readonly #o: ViewChannelOptions;
  readonly #socket: ViewSocketImpl;
  readonly #tracker = new DiffTracker();
  /** The view's current URL (`href`); parsed again only on the turns that need a `URL`. */
  #href: string;
  #terminated = false;
  /** The view dropped its reloadable state and the tracker forgot the client's tree. */
  #hibernating = false;
  /** The next render must send the whole page (after a wake). */
  #fullRender = false;

  constructor(options: ViewChannelOptions) {
    this.#o = options;
    this.topic = options.topic;
    this.joinRef = options.joinRef;
    this.#href = options.url;
    this.#socket = new ViewSocketImpl({
      id: options.id,
      connected: true,
      staticChanged: options.staticChanged === true,
      deliver: options.deliver,
      ...(options.pubsub === undefined ? {} : { pubsub: options.pubsub }),
    });
  }

  /** The view's current URL (moves with patches). */
  get url(): URL {
    return new URL(this.#href);
  }

  /** The view's socket, for introspection in tests. */
  get socket(): ViewSocketImpl {
    return this.#socket;
  }

  /**
   * Mounts the view and answers the join pushed with `ref`: a full render, or an error
   * reply the client acts on (`redirect`, `live_redirect`, `join crashed`).
   */
  async join(ref: string): Promise<ChannelStatus> {
    const { view } = this.#o.route;
    let outcome: TurnOutcome;
    let rendered: Diff;
    try {
      outcome = await mountView(
        view,
        this.#socket,
        this.#o.router,
        this.#o.route.name,
        new URL(this.#href),
        this.#o.params,
        this.#o.session,
      );
      if (outcome.leaving !== null) {
        this.#reply(ref, ReplyStatus.ERROR, this.#leavingResponse(outcome.leaving));
        await this.terminate('navigated');
        return 'stop';
      }
      this.#moveTo(outcome.url);
      rendered = this.#tracker.mount(view.render(this.#socket.assigns));
      this.#socket.markRendered();
    } catch (err) {
      this.#o.logger?.error({ err, topic: this.topic, view: this.#o.route.name }, 'view failed to mount');
      this.#reply(ref, ReplyStatus.ERROR, { reason: 'join crashed' });
      await this.terminate('crash');
      return 'stop';
    }
    this.#addEffects(rendered);
    const response: Record<string, unknown> = { rendered, liveview_version: LIVEVIEW_VERSION };
    if (outcome.patched !== null) response.live_patch = outcome.patched;
    this.#reply(ref, ReplyStatus.OK, response);
    return 'continue';
  }

  /** Whether the view is hibernating (see {@link hibernate}). */
  get hibernating(): boolean {
    return this.#hibernating;
  }

  /**
   * Lets an idle view drop its reloadable state (`LiveView.hibernate`) and forgets the
   * client's tree, which is most of a view's memory. False when the view cannot hibernate
   * (no `hibernate`/`wake` pair) or already does, or has ended.
   */
  hibernate(): boolean {
    const { view } = this.#o.route;
    if (this.#hibernating || this.#terminated || view.hibernate === undefined || view.wake === undefined) return false;
    try {
      view.hibernate(this.#socket);
    } catch (err) {
      // Staying awake is always safe: the view keeps what it has.
      this.#o.logger?.warn({ err, topic: this.topic }, 'view failed to hibernate');
      return false;
    }
    // What the view dropped was never rendered; the client still shows the page as it was.
    this.#socket.markRendered();
    this.#tracker.reset();
    this.#hibernating = true;
    return true;
  }

  /** Handles an `event` push (every binding type) and always replies. */
  async event(ref: string | null, payload: Record<string, unknown>): Promise<ChannelStatus> {
    const { type, event } = payload;
    if (typeof type !== 'string' || !EVENT_TYPES.has(type) || typeof event !== 'string') {
      this.#reply(ref, ReplyStatus.ERROR, {
        reason: `expected an event payload {type, event, value}, got type ${describeValue(type)} and event ${describeValue(event)}`,
      });
      return 'continue';
    }
    const value = decodeEventValue(type, payload.value, payload.meta);
    return this.#turn(ref, 'handleEvent', async () => {
      const handler = this.#o.route.view.handleEvent;
      if (handler === undefined) {
        this.#o.logger?.warn({ topic: this.topic, event }, 'view has no handleEvent; event ignored');
        return;
      }
      await handler.call(this.#o.route.view, event, value, this.#socket);
    });
  }

  /** Handles a client `live_patch` (patch link, back/forward button). */
  async livePatch(ref: string | null, payload: Record<string, unknown>): Promise<ChannelStatus> {
    const target = typeof payload.url === 'string' ? resolveSameOrigin(payload.url, new URL(this.#href)) : null;
    const match = target === null ? null : this.#o.router.match(target);
    if (target === null || match === null || match.route.name !== this.#o.route.name) {
      // Another view (or none): the client turns this into a live redirect.
      this.#reply(ref, ReplyStatus.OK, { link_redirect: true });
      return 'continue';
    }
    return this.#turn(ref, 'handleParams', async () => {
      this.#moveTo(target);
      await this.#o.route.view.handleParams?.(match.params, target, this.#socket);
    });
  }

  /** Handles a server-side message (pub/sub, timers): pushes a diff if anything changed. */
  async info(message: unknown): Promise<ChannelStatus> {
    return this.#turn(null, 'handleInfo', async () => {
      const handler = this.#o.route.view.handleInfo;
      if (handler === undefined) return;
      await handler.call(this.#o.route.view, message, this.#socket);
    });
  }

  /** Replies to a push the view has nothing to do with (`cids_*`, unknown events). */
  ack(ref: string | null, response: Record<string, unknown> = {}): void {
    this.#reply(ref, ReplyStatus.OK, response);
  }

  /** Answers a `phx_leave` and ends the view. */
  async leave(ref: string | null): Promise<ChannelStatus> {
    this.#reply(ref, ReplyStatus.OK, {});
    await this.terminate('left');
    return 'stop';
  }

  /** Runs the view's `terminate` once and drops its subscriptions. Never throws. */
  async terminate(reason: string): Promise<void> {
    if (this.#terminated) return;
    this.#terminated = true;
    this.#socket.unsubscribeAll();
    try {
      await this.#o.route.view.terminate?.(reason, this.#socket);
    } catch (err) {
      this.#o.logger?.warn({ err, topic: this.topic }, 'view terminate failed');
    }
  }

  /**
   * One turn: run `body`, follow navigation, render the diff, then send it as the reply to
   * `ref` (client pushes) or as a `diff` push (server messages). A `TodoLiveError` from the
   * view is a rejection: acknowledged, the view lives on. Anything else is a crash: still
   * acknowledged (so the client's loading state clears), then thrown as {@link ViewCrash}.
   */
  async #turn(ref: string | null, where: string, body: () => Promise<void>): Promise<ChannelStatus> {
    const replying = ref !== null;
    let outcome: Omit<TurnOutcome, 'url'>;
    let diff: Diff | null;
    try {
      if (this.#hibernating) {
        // A failed wake is a crash: the client rejoins and mounts a fresh view.
        await this.#o.route.view.wake?.(this.#socket);
        this.#hibernating = false;
        this.#fullRender = true;
      }
      try {
        await body();
      } catch (err) {
        if (!isTodoLiveError(err)) throw err;
        // A rejection is the app saying no (an invalid title, say): worth a line, not an alarm.
        this.#o.logger?.info({ err, topic: this.topic, where }, 'view rejected a message');
      }
      const navigation = this.#socket.takeNavigation();
      if (navigation === null) {
        // Nothing to follow: the view stays where it is, and no URL needs parsing.
        outcome = STAYED;
      } else {
        const followed = await followNavigation(
          this.#o.route.view,
          this.#socket,
          this.#o.router,
          this.#o.route.name,
          new URL(this.#href),
          navigation,
        );
        this.#moveTo(followed.url);
        outcome = followed;
      }
      diff = this.#renderDiff();
    } catch (err) {
      if (replying) this.#reply(ref, ReplyStatus.OK, {});
      await this.terminate('crash');
      throw new ViewCrash(where, err);
    }
    const leaving = outcome.leaving === null ? null : this.#leavingResponse(outcome.leaving);
    if (replying) {
      const response: Record<string, unknown> = {};
      if (diff !== null) response.diff = diff;
      if (outcome.patched !== null) response.live_patch = outcome.patched;
      if (leaving !== null) Object.assign(response, leaving);
      this.#reply(ref, ReplyStatus.OK, response);
    } else {
      if (outcome.patched !== null) this.#push(ChannelEvents.LIVE_PATCH, outcome.patched);
      if (diff !== null) this.#push(ChannelEvents.DIFF, diff);
      if (leaving?.redirect !== undefined) this.#push(ChannelEvents.REDIRECT, leaving.redirect);
      if (leaving?.live_redirect !== undefined) this.#push(ChannelEvents.LIVE_REDIRECT, leaving.live_redirect);
    }
    if (leaving === null) return 'continue';
    this.#send(ChannelEvents.CLOSE, this.joinRef, {});
    await this.terminate('navigated');
    return 'stop';
  }

  /** Records the view's URL; an unchanged one keeps the string it has rather than an equal copy. */
  #moveTo(url: URL): void {
    const href = url.href;
    if (href !== this.#href) this.#href = href;
  }

  #leavingResponse(nav: NonNullable<TurnOutcome['leaving']>): {
    redirect?: { to: string };
    live_redirect?: { to: string; kind: 'push' | 'replace' };
  } {
    if (nav.kind === 'redirect') return { redirect: { to: nav.to } };
    return { live_redirect: { to: nav.to, kind: nav.replace ? 'replace' : 'push' } };
  }

  #renderDiff(): Diff | null {
    let diff: Diff | null = null;
    if (this.#fullRender) {
      // A whole render with its statics: the client replaces the tree it holds.
      diff = this.#tracker.mount(this.#o.route.view.render(this.#socket.assigns));
      this.#socket.markRendered();
      this.#fullRender = false;
    } else if (this.#socket.changed) {
      diff = this.#tracker.diff(this.#o.route.view.render(this.#socket.assigns));
      this.#socket.markRendered();
    }
    if (this.#socket.hasEffects) {
      diff ??= {};
      this.#addEffects(diff);
    }
    return diff;
  }

  #addEffects(target: Diff): void {
    const { events, title, hookReply } = this.#socket.takeEffects();
    if (title !== null) target.t = title;
    if (events.length > 0) target.e = events;
    if (hookReply !== null) target.r = hookReply;
  }

  #reply(ref: string | null, status: string, response: Record<string, unknown>): void {
    this.#send(ChannelEvents.REPLY, ref, { status, response });
  }

  #push(event: string, payload: unknown): void {
    this.#send(event, null, payload);
  }

  #send(event: string, ref: string | null, payload: unknown): void {
    this.#o.send(encodeFrame(this.joinRef, ref, this.topic, event, payload));
  }
}

/**
 * Decodes an event's value into params: form events carry URL-encoded text with `meta`
 * merged on top (as Phoenix does); the others carry an object of `phx-value-*` strings
 * (numbers such as an `<li>`'s `value: 0` become strings).
 */
export function decodeEventValue(type: string, value: unknown, meta: unknown): EventValue {
  const metaObject = typeof meta === 'object' && meta !== null && !Array.isArray(meta) ? (meta as Record<string, unknown>) : undefined;
  if (type === 'form') {
    return mergeParams(decodeParams(typeof value === 'string' ? value : ''), metaObject);
  }
  const converted = toParamValue(value, 0);
  let out: Params;
  if (converted === undefined) out = {};
  else if (typeof converted === 'object' && !Array.isArray(converted)) out = converted;
  else out = { value: converted };
  return mergeParams(out, metaObject);
}

/** The URL the client reports for a join: `url` on a normal join, `redirect` on a live redirect. */
export function joinUrl(payload: Record<string, unknown>): string | null {
  if (typeof payload.url === 'string') return payload.url;
  if (typeof payload.redirect === 'string') return payload.redirect;
  return null;
}

export { relativeUrl };
