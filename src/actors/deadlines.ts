/**
 * Call deadlines, grouped in lanes by timeout value. Calls with the same timeout expire in the
 * order they were made, so each lane is a FIFO list with a single timer for its head: a call
 * costs two pointer writes instead of a timer of its own, and answering it unlinks it in O(1).
 */
import type { Clock, TimerHandle } from './clock.js';

/** What a lane holds: anything with a deadline and the links this module manages. */
export interface Expiring {
  readonly deadline: number;
  lane: Lane | undefined;
  lanePrev: Expiring | undefined;
  laneNext: Expiring | undefined;
}

export class Lane {
  head: Expiring | undefined = undefined;
  tail: Expiring | undefined = undefined;
  timer: TimerHandle | undefined = undefined;
}

export class Deadlines {
  readonly #clock: Clock;
  readonly #expire: (item: Expiring) => void;
  readonly #lanes = new Map<number, Lane>();

  /** `expire` is called once per item whose deadline passed, after it was unwatched. */
  constructor(clock: Clock, expire: (item: Expiring) => void) {
    this.#clock = clock;
    this.#expire = expire;
  }

  /** Starts watching `item`, whose deadline is `timeoutMs` after now. */
  add(item: Expiring, timeoutMs: number): void {
    let lane = this.#lanes.get(timeoutMs);
    if (lane === undefined) {
      lane = new Lane();
      this.#lanes.set(timeoutMs, lane);
    }
    item.lane = lane;
    item.lanePrev = lane.tail;
    if (lane.tail === undefined) lane.head = item;
    else lane.tail.laneNext = item;
    lane.tail = item;
    // An armed timer stays armed when its head is answered: it wakes, finds the new head not
    // yet due and sleeps until then, which costs far less than re-arming on every answer.
    // It is held open on purpose: a caller must hear back even if nothing else keeps Node up.
    if (lane.timer === undefined) lane.timer = this.#clock.setTimer(item.deadline - this.#clock.now(), this.#fire, lane, true);
  }

  /** Cancels the timers of empty lanes, so nothing holds the process open once all is answered. */
  release(): void {
    for (const [ms, lane] of this.#lanes) {
      if (lane.head !== undefined) continue;
      if (lane.timer !== undefined) this.#clock.clearTimer(lane.timer);
      this.#lanes.delete(ms);
    }
  }

  readonly #fire = (lane: Lane): void => {
    lane.timer = undefined;
    const now = this.#clock.now();
    for (let item = lane.head; item !== undefined && item.deadline <= now; item = lane.head) {
      unwatch(item);
      this.#expire(item);
    }
    const head = lane.head;
    if (head !== undefined) lane.timer = this.#clock.setTimer(head.deadline - now, this.#fire, lane, true);
  };
}

/** Stops watching `item` (answered, failed or expired); harmless when not watched. */
export function unwatch(item: Expiring): void {
  const lane = item.lane;
  if (lane === undefined) return;
  const prev = item.lanePrev;
  const next = item.laneNext;
  if (prev === undefined) lane.head = next;
  else prev.laneNext = next;
  if (next === undefined) lane.tail = prev;
  else next.lanePrev = prev;
  item.lane = item.lanePrev = item.laneNext = undefined;
}
