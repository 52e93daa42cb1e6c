/**
 * Every joined view runs as a server of the actor runtime: its mailbox serialises the
 * client's pushes and the server-side messages (pub/sub), so one view handles one message
 * at a time, and a view that crashes takes down only itself. The restart type is
 * `temporary`: after a crash the runtime does not restart the view; the socket tells the
 * client (`phx_error`) and the client rejoins, which mounts a fresh one.
 */
import type { ActorSystem, InstanceRef, ServerContext } from '../actors/index.js';
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

/** What the socket passes to start a view server. */
export interface ViewStartArg extends Omit<ViewChannelOptions, 'deliver' | 'pubsub' | 'logger'> {
  /** The ref of the `phx_join` push, answered by the join reply. */
  joinPushRef: string;
}

/**
 * The start argument of a view server, which is also its channel's options: one object per
 * tab, spelled out as one literal so that every tab's shares one hidden class (objects built by
 * rest and spread here got one of their own: about 1 KB per open tab in a heap snapshot).
 */
interface InternalArg extends ViewChannelOptions {
  joinPushRef: string;
  hibernateAfterMs: number | undefined;
}

/** Stands in for `deliver` until `init`, where the server's own ref exists. */
const notYetDeliverable = (): void => {
  throw new Error('a view delivered a message before its server started');
};

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
    const self = ctx.self;
    arg.deliver = (message) => {
      self.send({ kind: 'info', message });
    };
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
  /** Queues a message for the view, in order. Client pushes are answered even if refused. */
  push(msg: ViewCast): void;
  /** Asks the view to stop after what is queued (socket closed, topic rejoined). */
  stop(reason: string): void;
  /** Resolves once everything pushed so far was handled, or the view is gone. */
  settled(): Promise<void>;
}

/** Called once when the view server is gone; `crashed` when it did not stop cleanly. */
export type ViewDownListener = (crashed: boolean) => void;

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
  start(arg: ViewStartArg, onDown: ViewDownListener): ViewHandle {
    const key = `${arg.topic}#${++this.#seq}`;
    const internal: InternalArg = {
      id: arg.id,
      topic: arg.topic,
      joinRef: arg.joinRef,
      joinPushRef: arg.joinPushRef,
      route: arg.route,
      router: arg.router,
      url: arg.url,
      params: arg.params,
      session: arg.session,
      staticChanged: arg.staticChanged,
      send: arg.send,
      deliver: notYetDeliverable,
      pubsub: this.#o.pubsub,
      logger: this.#o.logger,
      hibernateAfterMs: this.#o.hibernateAfterMs,
    };
    return new ViewHandleImpl(this.#system, key, internal, this.#o.settleTimeoutMs ?? 5_000, onDown);
  }
}

type ViewRef = InstanceRef<ViewCall, true, ViewCast, ViewInfo>;

/**
 * One view's handle. A class rather than closures: an open tab keeps it for its whole life,
 * and its methods live on the prototype, not in five closures and their contexts per tab.
 */
class ViewHandleImpl implements ViewHandle {
  readonly #system: ActorSystem;
  readonly #arg: InternalArg;
  readonly #settleTimeoutMs: number;
  readonly #onDown: ViewDownListener;
  readonly #ready: Promise<ViewRef | null>;
  /** The view server once started; `null` when it failed to start; `undefined` until then. */
  #ref: ViewRef | null | undefined = undefined;
  #down = false;

  constructor(system: ActorSystem, key: string, arg: InternalArg, settleTimeoutMs: number, onDown: ViewDownListener) {
    this.#system = system;
    this.#arg = arg;
    this.#settleTimeoutMs = settleTimeoutMs;
    this.#onDown = onDown;
    this.#ready = system.startOrGet(liveViewServer, key, { arg }).then(
      (ref) => {
        // Only a stop the view or the socket asked for is clean; a crash, a shutdown of the
        // runtime or a server already gone must make the client rejoin.
        system.monitor(ref, (reason) => this.#notify(reason.kind !== 'normal'));
        ref.cast({ kind: 'join', ref: arg.joinPushRef });
        this.#ref = ref;
        return ref;
      },
      (err: unknown) => {
        arg.logger?.error({ err, topic: arg.topic }, 'view server failed to start');
        arg.send(encodeFrame(arg.joinRef, arg.joinPushRef, arg.topic, ChannelEvents.REPLY, errorReply('join crashed')));
        this.#notify(false);
        this.#ref = null;
        return null;
      },
    );
  }

  push(msg: ViewCast): void {
    // Once started, straight into the mailbox. Before that, messages wait on the start in a
    // promise chain, in arrival order; they all run before any later message can arrive.
    const ref = this.#ref;
    if (ref === undefined) {
      void this.#ready.then((r) => this.#deliver(r, msg));
      return;
    }
    this.#deliver(ref, msg);
  }

  stop(reason: string): void {
    void this.#ready.then((ref) => {
      if (ref !== null) void this.#system.stop(ref, { kind: 'normal', detail: reason });
    });
  }

  async settled(): Promise<void> {
    const ref = await this.#ready;
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
    this.#onDown(crashed);
  }
}
