/**
 * The runtime side of {@link ViewSocket}: holds one view's assigns and collects what its
 * callbacks asked for (navigation, pushed events, title, hook reply) until the channel
 * turns them into frames.
 */
import type { PushedEvent } from './protocol.js';
import type { PubSub, Unsubscribe } from './pubsub.js';
import type { NavigateOptions, ViewSocket } from './view.js';

/** A navigation a callback asked for; the last one asked wins. */
export type Navigation =
  | { kind: 'patch'; to: string; replace: boolean }
  | { kind: 'navigate'; to: string; replace: boolean }
  | { kind: 'redirect'; to: string };

/** Everything a turn produced besides assigns and navigation. */
export interface Effects {
  events: PushedEvent[];
  title: string | null;
  hookReply: Record<string, unknown> | null;
}

/** Where pub/sub messages for this view go (the view's mailbox). */
export type InfoSink = (message: unknown) => void;

export class ViewSocketImpl<A extends object = Record<string, unknown>> implements ViewSocket<A> {
  readonly id: string;
  readonly connected: boolean;
  readonly staticChanged: boolean;
  #assigns: A;
  #changed = true;
  #navigation: Navigation | null = null;
  #events: PushedEvent[] = [];
  #title: string | null = null;
  #hookReply: Record<string, unknown> | null = null;
  readonly #pubsub: PubSub | null;
  readonly #deliver: InfoSink | null;
  #subscriptions: Map<string, Unsubscribe> | null = null;

  constructor(options: { id: string; connected: boolean; staticChanged?: boolean; pubsub?: PubSub; deliver?: InfoSink }) {
    this.id = options.id;
    this.connected = options.connected;
    // Only a connected client reports what it tracks; a dead render cannot be stale.
    this.staticChanged = options.connected && options.staticChanged === true;
    this.#pubsub = options.pubsub ?? null;
    this.#deliver = options.deliver ?? null;
    this.#assigns = {} as A;
  }

  get assigns(): Readonly<A> {
    return this.#assigns;
  }

  assign(values: Partial<A>): void {
    let changed = false;
    for (const key of Object.keys(values) as (keyof A)[]) {
      if (!Object.is(this.#assigns[key], values[key])) {
        changed = true;
        break;
      }
    }
    if (!changed) return;
    this.#assigns = { ...this.#assigns, ...values };
    this.#changed = true;
  }

  pushPatch(to: string, options: NavigateOptions = {}): void {
    this.#navigation = { kind: 'patch', to: String(to), replace: options.replace === true };
  }

  pushNavigate(to: string, options: NavigateOptions = {}): void {
    this.#navigation = { kind: 'navigate', to: String(to), replace: options.replace === true };
  }

  redirect(to: string): void {
    this.#navigation = { kind: 'redirect', to: String(to) };
  }

  pushEvent(name: string, payload: Record<string, unknown>): void {
    this.#events.push([String(name), payload]);
  }

  setTitle(title: string): void {
    this.#title = String(title);
  }

  replyToHook(value: Record<string, unknown>): void {
    this.#hookReply = value;
  }

  subscribe(topic: string): void {
    // Subscriptions only make sense for a connected view: a dead render ends at once.
    if (!this.connected || this.#pubsub === null || this.#deliver === null) return;
    this.#subscriptions ??= new Map();
    if (this.#subscriptions.has(topic)) return;
    const deliver = this.#deliver;
    this.#subscriptions.set(
      topic,
      this.#pubsub.subscribe(topic, (message) => deliver(message)),
    );
  }

  unsubscribe(topic: string): void {
    const off = this.#subscriptions?.get(topic);
    if (off === undefined) return;
    off();
    this.#subscriptions?.delete(topic);
  }

  async publish(topic: string, message: unknown): Promise<void> {
    if (this.#pubsub !== null) await this.#pubsub.publish(topic, message);
  }

  /** Whether assigns changed since the last {@link markRendered}. */
  get changed(): boolean {
    return this.#changed;
  }

  markRendered(): void {
    this.#changed = false;
  }

  /** Returns and clears the navigation the last callback asked for. */
  takeNavigation(): Navigation | null {
    const nav = this.#navigation;
    this.#navigation = null;
    return nav;
  }

  /** Whether anything besides assigns is waiting to be sent. */
  get hasEffects(): boolean {
    return this.#events.length > 0 || this.#title !== null || this.#hookReply !== null;
  }

  /** Returns and clears the events, title and hook reply the callbacks asked for. */
  takeEffects(): Effects {
    const effects: Effects = {
      events: this.#events,
      title: this.#title,
      hookReply: this.#hookReply,
    };
    if (this.#events.length > 0) this.#events = [];
    this.#title = null;
    this.#hookReply = null;
    return effects;
  }

  /** Drops every pub/sub subscription (the view is stopping). */
  unsubscribeAll(): void {
    if (this.#subscriptions === null) return;
    for (const off of this.#subscriptions.values()) off();
    this.#subscriptions = null;
  }

  /** Topics currently subscribed (for introspection and tests). */
  get topics(): string[] {
    return this.#subscriptions === null ? [] : [...this.#subscriptions.keys()];
  }
}
