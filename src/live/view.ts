/**
 * The view contract: what an app writes to get a live page. A view is a plain object of
 * callbacks; its state lives in the assigns of the {@link ViewSocket} each callback receives,
 * one socket per joined page. The same callbacks run for the first HTTP render (with
 * `socket.connected === false`) and for every live join.
 */
import type { Params } from './params.js';
import type { PubSubListener } from './pubsub.js';
import type { Template } from './template.js';

/** Session data a view receives at mount: the session cookie id plus what the route added. */
export interface LiveSession {
  /** The signed session cookie's random id: the anonymous identity of the browser. */
  readonly id: string;
  /** Extra JSON-safe data the route put into the signed view token at render time. */
  readonly data: Readonly<Record<string, unknown>>;
}

/** Values of a client event, decoded: `phx-value-*` attributes, form fields, key names. */
export type EventValue = Params;

/** Options of {@link ViewSocket.pushPatch} and {@link ViewSocket.pushNavigate}. */
export interface NavigateOptions {
  /** Replace the current history entry instead of pushing a new one. */
  replace?: boolean;
}

/**
 * What a view callback can do. Changes to assigns are collected and turned into one diff
 * after the callback returns; navigation and pushed events are sent with that diff.
 */
export interface ViewSocket<A extends object = Record<string, unknown>> {
  /** The container id (`lv:<id>` is the channel topic). */
  readonly id: string;
  /** False during the first HTTP render, true once a client joined over the socket. */
  readonly connected: boolean;
  /**
   * True when the connected client runs assets (scripts, stylesheets marked
   * `phx-track-static`) that this server no longer serves: a deploy happened since the page
   * was loaded and it should be reloaded. Always false during the first HTTP render and when
   * the client tracks no assets.
   */
  readonly staticChanged: boolean;
  /** Current assigns; replace them with {@link assign}, never mutate them in place. */
  readonly assigns: Readonly<A>;
  /** Merges `values` into the assigns; the view re-renders after the callback. */
  assign(values: Partial<A>): void;
  /** Changes the URL of this view without a page load; `handleParams` runs with it. */
  pushPatch(to: string, options?: NavigateOptions): void;
  /** Navigates to another live route without a page load (a new view is mounted). */
  pushNavigate(to: string, options?: NavigateOptions): void;
  /** Full page navigation to `to` (any URL). */
  redirect(to: string): void;
  /** Dispatches `phx:<name>` on the client's window and to hooks' `handleEvent`. */
  pushEvent(name: string, payload: Record<string, unknown>): void;
  /** Sets the page title (the `<title>` element of the document). */
  setTitle(title: string): void;
  /** Replies to the hook event being handled (its `pushEvent` callback receives `value`). */
  replyToHook(value: Record<string, unknown>): void;
  /** Delivers messages published on `topic` to `handleInfo` until the view stops. */
  subscribe(topic: string): void;
  /** Stops delivering `topic`. */
  unsubscribe(topic: string): void;
  /** Publishes on the view layer's pub/sub (to every subscriber, this view included). */
  publish(topic: string, message: unknown): Promise<void>;
  /**
   * This view as a pub/sub subscriber, null when it cannot subscribe (a dead render): the
   * `from` of `PubSub.publishFrom`, which leaves this view out of a message about a change it
   * already knows of (its own).
   */
  readonly subscriber: PubSubListener | null;
}

/**
 * A live view. Every callback may be async: the view's turn lasts until it settles and no
 * other message for the view is handled meanwhile. A callback that throws a
 * `TodoLiveError` rejects the event (it is acknowledged, the view lives on); any other error
 * crashes the view: its client shows the error state and rejoins with a fresh mount.
 */
export interface LiveView<A extends object = Record<string, unknown>, I = unknown> {
  /** Name recorded in the signed view token; routes fill it from their key when absent. */
  readonly name?: string;
  /** Sets the initial assigns. Runs for the HTTP render and for every (re)join. */
  mount?(params: Params, session: LiveSession, socket: ViewSocket<A>): void | Promise<void>;
  /** Runs after mount and on every patch (client `live_patch` or `pushPatch`). */
  handleParams?(params: Params, uri: URL, socket: ViewSocket<A>): void | Promise<void>;
  /** Handles a client event (click, form, key, blur, focus, hook). */
  handleEvent?(event: string, value: EventValue, socket: ViewSocket<A>): void | Promise<void>;
  /** Handles a message from pub/sub or any other server-side source. */
  handleInfo?(message: I, socket: ViewSocket<A>): void | Promise<void>;
  /**
   * Drops what {@link wake} can rebuild, once the view has had no message for the endpoint's
   * `hibernateAfterMs`: an idle page then costs its socket and a few assigns, not its data.
   * Nothing is sent; the client keeps its page. Views without `wake` never hibernate.
   */
  hibernate?(socket: ViewSocket<A>): void;
  /**
   * Rebuilds what {@link hibernate} dropped, before the next message (client event, patch or
   * server message) is handled. The next diff then carries the whole page, since the server
   * no longer knows what the client holds.
   */
  wake?(socket: ViewSocket<A>): void | Promise<void>;
  /** Best-effort cleanup when the view stops (leave, socket closed, navigation). */
  terminate?(reason: string, socket: ViewSocket<A>): void | Promise<void>;
  /** Renders the assigns. Must be pure: same assigns, same template. */
  render(assigns: A): Template;
}

/** Declares a view, inferring its assigns type from the callbacks. */
export function defineView<A extends object, I = unknown>(view: LiveView<A, I>): LiveView<A, I> {
  return view;
}

/** A view of any assigns type, as stored in routes. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- routes hold views of different assigns types
export type AnyLiveView = LiveView<any, any>;
