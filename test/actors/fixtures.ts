/** Small server definitions and a system on a manual clock, shared by the actor tests. */
import assert from 'node:assert/strict';
import {
  type ActorEventName,
  type ActorEvents,
  type ActorSystem,
  createManualClock,
  createSystem,
  defineServer,
  type ManualClock,
  noreply,
  reply,
  type SystemOptions,
} from '../../src/actors/index.js';
import { type ErrorCode, isTodoLiveError } from '../../src/errors.js';

export interface Harness {
  clock: ManualClock;
  system: ActorSystem;
  /** Every event emitted, in order, as [name, payload]. */
  events: [ActorEventName, unknown][];
  named<E extends ActorEventName>(name: E): ActorEvents[E][];
}

const ALL_EVENTS: ActorEventName[] = [
  'started',
  'stopped',
  'crashed',
  'restarting',
  'quarantined',
  'released',
  'callTimeout',
  'mailboxFull',
  'messageDropped',
  'terminateFailed',
  'listenerError',
];

/** A system on a manual clock with jitter-free backoff, recording every event. */
export function harness(options: SystemOptions = {}): Harness {
  const clock = createManualClock();
  const system = createSystem({ clock, random: () => 0.5, ...options });
  const events: [ActorEventName, unknown][] = [];
  for (const name of ALL_EVENTS) system.on(name, (e) => events.push([name, e]));
  return {
    clock,
    system,
    events,
    named: <E extends ActorEventName>(name: E) =>
      events.filter(([n]) => n === name).map(([, e]) => e as ActorEvents[E]),
  };
}

/** Asserts that `promise` rejects with a TodoLiveError of `code`, and returns the error. */
export async function rejectsWith(promise: Promise<unknown>, code: ErrorCode): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    assert.ok(isTodoLiveError(error, code), `expected ${code}, got ${String(error)}`);
    return error as Error;
  }
  assert.fail(`expected a rejection with ${code}, the promise resolved`);
}

/** Settles a promise into a plain record, so tests can look without awaiting. */
export function track<T>(promise: Promise<T>): { done: boolean; value?: T; error?: unknown; settles: number } {
  const record: { done: boolean; value?: T; error?: unknown; settles: number } = { done: false, settles: 0 };
  promise.then(
    (value) => {
      record.done = true;
      record.value = value;
      record.settles++;
    },
    (error: unknown) => {
      record.done = true;
      record.error = error;
      record.settles++;
    },
  );
  return record;
}

/** A promise with its resolve function, to hold a handler mid-turn. */
export function gate<T = void>(): { promise: Promise<T>; open: (value: T) => void } {
  let open!: (value: T) => void;
  const promise = new Promise<T>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

export type CounterCall = { type: 'get' } | { type: 'add'; n: number } | { type: 'boom' };
export type CounterCast = { type: 'add'; n: number } | { type: 'boom' };

/** Counts; starts from its start argument (default 0); `boom` crashes it. */
export const Counter = defineServer<number, CounterCall, number, CounterCast, 'tick', number | undefined>({
  name: 'counter',
  init: (_key, _ctx, arg) => arg ?? 0,
  handleCall(msg, state) {
    if (msg.type === 'boom') throw new Error('boom');
    if (msg.type === 'add') return reply(state + msg.n, state + msg.n);
    return reply(state, state);
  },
  handleCast(msg, state) {
    if (msg.type === 'boom') throw new Error('boom');
    return noreply(state + msg.n);
  },
  handleInfo: (_msg, state) => noreply(state + 1),
});

export const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
