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

/**
 * Where pub/sub messages for this view go (the view's mailbox). It is subscribed as the
 * pub/sub listener itself, so it is called as one: with the topic as a second argument.
 */
export type InfoSink = (message: unknown) => void;

export class ViewSocketImpl<A extends object = Record<string, unknown>> implements ViewSocket<A> {
  readonly id: string;
  readonly connected: boolean;
  readonly staticChanged: boolean;
  #assigns: A;
  #changed = true;
  #navigation: Navigation | null = null;
  /** Created by the first pushed event of a turn: most turns push none. */
  #events: PushedEvent[] | null = null;
  #title: string | null = null;
  #hookReply: Record<string, unknown> | null = null;
  readonly #pubsub: PubSub | null;
  readonly #deliver: InfoSink | null;
  /**
   * Topic and unsubscribe of each subscription, flat (`[topic, off, topic, off, …]`), null
   * when none: a view holds one or two, and every open tab pays for this (a `Map` costs
   * three times as much for one entry).
   */
  #subscriptions: (string | Unsubscribe)[] | null = null;

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
    (this.#events ??= []).push([String(name), payload]);
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
    if (this.#indexOf(topic) >= 0) return;
    // The sink itself is the listener: the pub/sub keeps each subscription distinct.
    const off = this.#pubsub.subscribe(topic, this.#deliver);
    if (this.#subscriptions === null) this.#subscriptions = [topic, off];
    else this.#subscriptions.push(topic, off);
  }

  unsubscribe(topic: string): void {
    const at = this.#indexOf(topic);
    if (at < 0) return;
    const subscriptions = this.#subscriptions!;
    (subscriptions[at + 1] as Unsubscribe)();
    if (subscriptions.length === 2) this.#subscriptions = null;
    else subscriptions.splice(at, 2);
  }

  /** Where `topic` sits in {@link #subscriptions}, or -1. */
  #indexOf(topic: string): number {
    const subscriptions = this.#subscriptions;
    if (subscriptions === null) return -1;
    for (let i = 0; i < subscriptions.length; i += 2) if (subscriptions[i] === topic) return i;
    return -1;
  }

  get subscriber(): InfoSink | null {
    return this.connected && this.#pubsub !== null ? this.#deliver : null;
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
    return this.#events !== null || this.#title !== null || this.#hookReply !== null;
  }

  /** Returns and clears the events, title and hook reply the callbacks asked for. */
  takeEffects(): Effects {
    const effects: Effects = {
      events: this.#events ?? [],
      title: this.#title,
      hookReply: this.#hookReply,
    };
    this.#events = null;
    this.#title = null;
    this.#hookReply = null;
    return effects;
  }

  /** Drops every pub/sub subscription (the view is stopping). */
  unsubscribeAll(): void {
    const subscriptions = this.#subscriptions;
    if (subscriptions === null) return;
    for (let i = 1; i < subscriptions.length; i += 2) (subscriptions[i] as Unsubscribe)();
    this.#subscriptions = null;
  }

  /** Topics currently subscribed (for introspection and tests). */
  get topics(): string[] {
    const subscriptions = this.#subscriptions;
    if (subscriptions === null) return [];
    return subscriptions.filter((_, i) => i % 2 === 0) as string[];
  }
}
