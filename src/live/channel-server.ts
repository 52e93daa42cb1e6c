/**
 * Every joined view runs as a server of the actor runtime: its mailbox serialises the
 * client's pushes and the server-side messages (pub/sub), so one view handles one message
 * at a time, and a view that crashes takes down only itself. The restart type is
 * `temporary`: after a crash the runtime does not restart the view; the socket tells the
 * client (`phx_error`) and the client rejoins, which mounts a fresh one.
 */
import type { ActorSystem, DownReason, InstanceRef, ServerContext } from '../actors/index.js';
import { defineServer, noreply, stop } from '../actors/index.js';
import { type ChannelLogger, ViewChannel, type ViewChannelOptions } from './channel.js';
import { encodeFrame } from './frames.js';
import { ChannelEvents, ReplyStatus } from './protocol.js';

function errorReply(reason: string): { status: string; response: { reason: string } } {
  return { status: ReplyStatus.ERROR, response: { reason } };
}

/** Messages the socket pushes to a view, in the order they arrived. */
export type ViewCast =
  | { kind: 'join'; ref: string }
  | { kind: 'event'; ref: string | null; payload: Record<string, unknown> }
  | { kind: 'live_patch'; ref: string | null; payload: Record<string, unknown> }
  | { kind: 'leave'; ref: string | null }
  | { kind: 'ack'; ref: string | null; response: Record<string, unknown> };

type ViewInfo = { kind: 'info'; message: unknown } | { kind: 'hibernate' };
type ViewCall = { kind: 'sync' };

/** What the socket passes to start a view server; frames go to the {@link ViewOwner}. */
export interface ViewStartArg extends Omit<ViewChannelOptions, 'deliver' | 'pubsub' | 'logger' | 'send'> {
  /** The ref of the `phx_join` push, answered by the join reply. */
  joinPushRef: string;
}

/**
 * The socket a view was joined on: where the view's frames go and who hears that it is gone.
 * An object rather than two callbacks: a socket is the owner of all its views, so no view
 * needs closures of its own for it.
 */
export interface ViewOwner {
  /** Writes one encoded frame to the client; must be safe on a closing socket. */
  sendFrame(text: string): void;
  /** Called once when the view server of `handle` is gone; `crashed` when it did not stop cleanly. */
  viewDown(handle: ViewHandle, crashed: boolean): void;
}

/** Stands in for `deliver` until `init`, where the server's own ref exists. */
const notYetDeliverable = (): void => {
  throw new Error('a view delivered a message before its server started');
};

/** A view's `deliver`, bound to its server: one bound function per view, no closure and context. */
function deliverInfo(this: InstanceRef<unknown, unknown, unknown, ViewInfo>, message: unknown): void {
  this.send({ kind: 'info', message });
}

/**
 * The start argument of a view server, which is also its channel's options: one object per
 * tab, of one class, so that every tab's shares one hidden class (objects built by rest and
 * spread here got one of their own: about 1 KB per open tab in a heap snapshot), and `send`
 * is a method on the prototype rather than a closure per tab.
 */
class InternalArg implements ViewChannelOptions {
  readonly id: string;
  readonly topic: string;
  readonly joinRef: string;
  readonly joinPushRef: string;
  readonly route: ViewChannelOptions['route'];
  readonly router: ViewChannelOptions['router'];
  readonly url: string;
  readonly params: ViewChannelOptions['params'];
  readonly session: ViewChannelOptions['session'];
  readonly staticChanged: boolean | undefined;
  readonly owner: ViewOwner;
  deliver: ViewChannelOptions['deliver'] = notYetDeliverable;
  readonly pubsub: ViewChannelOptions['pubsub'];
  readonly logger: ChannelLogger | undefined;
  readonly hibernateAfterMs: number | undefined;

  constructor(arg: ViewStartArg, owner: ViewOwner, options: ViewServersOptions) {
    this.id = arg.id;
    this.topic = arg.topic;
    this.joinRef = arg.joinRef;
    this.joinPushRef = arg.joinPushRef;
    this.route = arg.route;
    this.router = arg.router;
    this.url = arg.url;
    this.params = arg.params;
    this.session = arg.session;
    this.staticChanged = arg.staticChanged;
    this.owner = owner;
    this.pubsub = options.pubsub;
    this.logger = options.logger;
    this.hibernateAfterMs = options.hibernateAfterMs;
  }

  send(text: string): void {
    this.owner.sendFrame(text);
  }
}

/**
 * A view server's state: the channel, and when it last had a message. One hibernation timer
 * at most is pending per view; when it fires early (there was activity since) it is re-armed
 * for the rest, so a busy view costs no timer work per message.
 */
interface ViewState {
  readonly channel: ViewChannel;
  readonly hibernateAfterMs: number | undefined;
  lastActive: number;
  timerArmed: boolean;
}

function armHibernation(state: ViewState, ctx: ServerContext<ViewInfo>, ms: number): void {
  state.timerArmed = true;
  ctx.sendAfter({ kind: 'hibernate' }, ms);
}

/** Records activity; a view that hibernated (no timer pending) gets its timer back. */
function touch(state: ViewState, ctx: ServerContext<ViewInfo>): void {
  state.lastActive = ctx.now();
  if (state.hibernateAfterMs !== undefined && !state.timerArmed) armHibernation(state, ctx, state.hibernateAfterMs);
}

function onHibernateTimer(state: ViewState, ctx: ServerContext<ViewInfo>): void {
  state.timerArmed = false;
  const after = state.hibernateAfterMs;
  if (after === undefined) return;
  const idleFor = ctx.now() - state.lastActive;
  if (idleFor < after) armHibernation(state, ctx, after - idleFor);
  else state.channel.hibernate();
}

/** The actor server type of a joined view. */
export const liveViewServer = defineServer<ViewState, ViewCall, true, ViewCast, ViewInfo, InternalArg>({
  name: 'live-view',
  restart: 'temporary',
  // A burst of events queues here; beyond the bound the socket answers for the view.
  mailboxLimit: 256,
  init(_key, ctx, arg) {
    arg.deliver = deliverInfo.bind(ctx.self);
    const channel = new ViewChannel(arg);
    return { channel, hibernateAfterMs: arg.hibernateAfterMs, lastActive: ctx.now(), timerArmed: false };
  },
  async handleCast(msg, state, ctx) {
    const { channel } = state;
    touch(state, ctx);
    let status: 'continue' | 'stop' = 'continue';
    switch (msg.kind) {
      case 'join':
        status = await channel.join(msg.ref);
        break;
      case 'event':
        status = await channel.event(msg.ref, msg.payload);
        break;
      case 'live_patch':
        status = await channel.livePatch(msg.ref, msg.payload);
        break;
      case 'leave':
        status = await channel.leave(msg.ref);
        break;
      case 'ack':
        channel.ack(msg.ref, msg.response);
        break;
    }
    return status === 'stop' ? stop('normal', state) : noreply(state);
  },
  async handleInfo(msg, state, ctx) {
    if (msg.kind === 'hibernate') {
      onHibernateTimer(state, ctx);
      return noreply(state);
    }
    touch(state, ctx);
    const status = await state.channel.info(msg.message);
    return status === 'stop' ? stop('normal', state) : noreply(state);
  },
  handleCall(_msg, state) {
    return { kind: 'reply', reply: true, state };
  },
  async terminate(reason, state) {
    await state.channel.terminate(reason.kind === 'normal' && reason.detail !== undefined ? reason.detail : reason.kind);
  },
});

/** The socket's handle on one view server; usable before the server finished starting. */
export interface ViewHandle {
  /** The topic the view was joined on (`lv:<id>`). */
  readonly topic: string;
  /** The join ref of the join that started the view. */
  readonly joinRef: string;
  /** Queues a message for the view, in order. Client pushes are answered even if refused. */
  push(msg: ViewCast): void;
  /** Asks the view to stop after what is queued (socket closed, topic rejoined). */
  stop(reason: string): void;
  /** Resolves once everything pushed so far was handled, or the view is gone. */
  settled(): Promise<void>;
}

export interface ViewServersOptions {
  pubsub?: ViewChannelOptions['pubsub'];
  logger?: ChannelLogger;
  /** How long {@link ViewHandle.settled} waits for a busy view. */
  settleTimeoutMs?: number;
  /** Idle time after which a view that can hibernate does (see `LiveView.hibernate`); off when unset. */
  hibernateAfterMs?: number;
}

/** Starts view servers in an actor system and hands the socket a {@link ViewHandle} for each. */
export class ViewServers {
  readonly #system: ActorSystem;
  readonly #o: ViewServersOptions;
  #seq = 0;

  constructor(system: ActorSystem, options: ViewServersOptions = {}) {
    this.#system = system;
    this.#o = options;
  }

  /**
   * Starts the server of one join, casts the join into it, and watches it. Messages pushed
   * while it starts wait in a promise chain, which keeps them in arrival order.
   */
  start(arg: ViewStartArg, owner: ViewOwner): ViewHandle {
    const key = `${arg.topic}#${++this.#seq}`;
    return new ViewHandleImpl(this.#system, key, new InternalArg(arg, owner, this.#o), this.#o.settleTimeoutMs ?? 5_000);
  }
}

type ViewRef = InstanceRef<ViewCall, true, ViewCast, ViewInfo>;

/**
 * One view's handle. A class rather than closures: an open tab keeps it for its whole life,
 * and its methods live on the prototype, not in closures and their contexts per tab.
 */
class ViewHandleImpl implements ViewHandle {
  readonly #system: ActorSystem;
  readonly #arg: InternalArg;
  readonly #settleTimeoutMs: number;
  /** The start under way; dropped once it settled, so a started view keeps no promise. */
  #starting: Promise<ViewRef | null> | null;
  /** The view server once started; `null` when it failed to start; `undefined` until then. */
  #ref: ViewRef | null | undefined = undefined;
  #down = false;

  /** The monitor's listener, one function for every view, bound to each view's handle. */
  static #onServerDown(this: ViewHandleImpl, reason: DownReason): void {
    // Only a stop the view or the socket asked for is clean; a crash, a shutdown of the
    // runtime or a server already gone must make the client rejoin.
    this.#notify(reason.kind !== 'normal');
  }

  constructor(system: ActorSystem, key: string, arg: InternalArg, settleTimeoutMs: number) {
    this.#system = system;
    this.#arg = arg;
    this.#settleTimeoutMs = settleTimeoutMs;
    this.#starting = system.startOrGet(liveViewServer, key, { arg }).then(
      (ref) => {
        system.monitor(ref, ViewHandleImpl.#onServerDown.bind(this));
        ref.cast({ kind: 'join', ref: arg.joinPushRef });
        this.#ref = ref;
        this.#starting = null;
        return ref;
      },
      (err: unknown) => {
        arg.logger?.error({ err, topic: arg.topic }, 'view server failed to start');
        arg.send(encodeFrame(arg.joinRef, arg.joinPushRef, arg.topic, ChannelEvents.REPLY, errorReply('join crashed')));
        this.#notify(false);
        this.#ref = null;
        this.#starting = null;
        return null;
      },
    );
  }

  get topic(): string {
    return this.#arg.topic;
  }

  get joinRef(): string {
    return this.#arg.joinRef;
  }

  /** The started server (or `null`), as a promise that settles in the same turn as the start's did. */
  #started(): Promise<ViewRef | null> {
    return this.#starting ?? Promise.resolve(this.#ref as ViewRef | null);
  }

  push(msg: ViewCast): void {
    // Once started, straight into the mailbox. Before that, messages wait on the start in a
    // promise chain, in arrival order; they all run before any later message can arrive.
    const ref = this.#ref;
    if (ref === undefined) {
      void this.#started().then((r) => this.#deliver(r, msg));
      return;
    }
    this.#deliver(ref, msg);
  }

  stop(reason: string): void {
    void this.#started().then((ref) => {
      if (ref !== null) void this.#system.stop(ref, { kind: 'normal', detail: reason });
    });
  }

  async settled(): Promise<void> {
    const ref = await this.#started();
    if (ref === null) return;
    try {
      await ref.call({ kind: 'sync' }, { timeoutMs: this.#settleTimeoutMs });
    } catch {
      // Gone or stuck: either way there is nothing more to wait for.
    }
  }

  #deliver(ref: ViewRef | null, msg: ViewCast): void {
    if (ref !== null && ref.cast(msg)) return;
    // A client push the view cannot take still gets its reply, so the client's loading
    // state clears; `view busy` tells a debugging human what happened.
    if (msg.kind === 'event' || msg.kind === 'live_patch' || msg.kind === 'leave' || msg.kind === 'ack') {
      const arg = this.#arg;
      arg.send(encodeFrame(arg.joinRef, msg.ref, arg.topic, ChannelEvents.REPLY, errorReply('view busy')));
    }
  }

  #notify(crashed: boolean): void {
    if (this.#down) return;
    this.#down = true;
    this.#arg.owner.viewDown(this, crashed);
  }
}
