/**
 * Lifecycle events, for logs, metrics and a debug page. Emitting costs nothing when no one
 * listens: the runtime checks {@link EventBus.has} before building a payload.
 */
import type { StopReason } from './types.js';

interface Subject {
  /** Server type name. */
  type: string;
  key: string;
}

export interface ActorEvents {
  /** `init` finished; the instance takes messages. */
  started: Subject & { id: number; restarts: number };
  /** An instance is gone (after `terminate`), whatever the reason. */
  stopped: Subject & { id: number; reason: StopReason; uptimeMs: number };
  /** A callback (or `init`) threw; `droppedCasts` counts casts and infos lost from the mailbox. */
  crashed: Subject & { id: number; error: unknown; droppedCasts: number };
  /** A crashed (or permanent) server will start again after `delayMs`. */
  restarting: Subject & { delayMs: number; attempt: number };
  /** A key crashed more than `maxRestarts` times in `maxSeconds`; it refuses work until `untilMs`. */
  quarantined: Subject & { crashes: number; untilMs: number };
  /** A quarantine ended. */
  released: Subject;
  /** A caller stopped waiting; the server may still handle the request. */
  callTimeout: Subject & { timeoutMs: number };
  /** A message was refused because the mailbox was at its bound. */
  mailboxFull: Subject & { limit: number };
  /** A message accepted for later delivery (through a lazy ref) could not be delivered. */
  messageDropped: Subject & { error: unknown };
  /** `terminate` threw or overran its time. */
  terminateFailed: Subject & { id: number; error: unknown };
  /** An event or monitor listener threw; the runtime carries on. */
  listenerError: { error: unknown };
}

export type ActorEventName = keyof ActorEvents;
export type ActorEventListener<E extends ActorEventName> = (event: ActorEvents[E]) => void;

/** A minimal typed emitter whose listeners can never break the emitter. */
export class EventBus {
  #listeners: { [E in ActorEventName]?: ActorEventListener<E>[] } = {};

  on<E extends ActorEventName>(event: E, listener: ActorEventListener<E>): () => void {
    let list = this.#listeners[event] as ActorEventListener<E>[] | undefined;
    if (list === undefined) {
      list = [];
      (this.#listeners as Record<string, unknown>)[event] = list;
    }
    list.push(listener);
    return () => {
      const at = list.indexOf(listener);
      if (at >= 0) list.splice(at, 1);
    };
  }

  has(event: ActorEventName): boolean {
    const list = this.#listeners[event];
    return list !== undefined && list.length > 0;
  }

  emit<E extends ActorEventName>(event: E, payload: ActorEvents[E]): void {
    const list = this.#listeners[event] as ActorEventListener<E>[] | undefined;
    if (list === undefined) return;
    for (const listener of list.slice()) {
      try {
        listener(payload);
      } catch (error) {
        this.reportListenerError(error, event);
      }
    }
  }

  /** Reports a throwing listener; a throwing `listenerError` listener is ignored, not looped on. */
  reportListenerError(error: unknown, from?: ActorEventName): void {
    if (from === 'listenerError') return;
    this.emit('listenerError', { error });
  }
}
