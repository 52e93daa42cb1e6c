/**
 * Time as the runtime sees it. Every timeout, backoff, idle check and server timer goes through
 * a {@link Clock}, so tests can swap real time for a {@link ManualClock} without patching globals.
 */

/** An opaque handle returned by {@link Clock.setTimer}. */
export type TimerHandle = object;

export interface Clock {
  /** Monotonic milliseconds; only differences between two readings mean anything. */
  now(): number;
  /**
   * Calls `callback(arg)` once after `ms`. Passing `arg` instead of capturing it keeps the hot
   * path free of a closure per timer. `keepAlive` timers hold the process open (a pending call
   * must settle); the others do not (an idle server's interval must not keep Node running).
   */
  setTimer<A>(ms: number, callback: (arg: A) => void, arg: A, keepAlive?: boolean): TimerHandle;
  clearTimer(handle: TimerHandle): void;
  /**
   * Lets a clock that drives time by hand ask a system whether it is still busy, so it can let
   * mailboxes drain between two timers. Real clocks ignore it. Returns a function that detaches.
   */
  watch?(isBusy: () => boolean): () => void;
}

/** Real time: `performance.now()` and Node's timers. */
export const realClock: Clock = {
  now: () => performance.now(),
  setTimer<A>(ms: number, callback: (arg: A) => void, arg: A, keepAlive = false): TimerHandle {
    const t = setTimeout(callback, clampDelay(ms), arg);
    if (!keepAlive) t.unref();
    return t;
  },
  clearTimer(handle: TimerHandle): void {
    clearTimeout(handle as ReturnType<typeof setTimeout>);
  },
};

// Node warns about and replaces delays above 2^31-1 ms with 1 ms; cap them instead.
const MAX_DELAY = 2_147_483_647;
function clampDelay(ms: number): number {
  return Math.min(MAX_DELAY, Math.max(0, ms));
}

/** A clock whose time moves only when a test says so. */
export interface ManualClock extends Clock {
  /**
   * Lets work already under way finish at the current time, then moves time forward by `ms`,
   * firing due timers one at a time in time order (ties in the order they were set) and
   * letting every watching system go quiet after each.
   */
  advance(ms: number): Promise<void>;
  /** Moves time to the next pending timer and fires it (and any due at the same instant); false when none. */
  advanceToNext(): Promise<boolean>;
  /** How many timers are pending. */
  pending(): number;
}

interface ManualTimer {
  due: number;
  seq: number;
  callback: (arg: unknown) => void;
  arg: unknown;
  cancelled: boolean;
}

/**
 * Creates a {@link ManualClock} starting at `startMs`.
 *
 * Between two timers `advance` yields to the event loop until every watching system reports
 * idle; a handler that awaits a timer further ahead would never let that happen, so the wait
 * gives up after `quietRounds` macrotask turns and time moves on.
 */
export function createManualClock(startMs = 0, quietRounds = 200): ManualClock {
  let now = startMs;
  let seq = 0;
  let advancing = false;
  const heap: ManualTimer[] = [];
  const watchers = new Set<() => boolean>();

  const busy = (): boolean => {
    for (const isBusy of watchers) if (isBusy()) return true;
    return false;
  };
  const quiesce = async (): Promise<void> => {
    // At least one turn, so promise chains started by the timer get to run.
    for (let round = 0; round < quietRounds; round++) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (!busy()) return;
    }
  };
  const fireDueAt = async (limit: number): Promise<boolean> => {
    let fired = false;
    for (;;) {
      const top = heap[0];
      if (top === undefined || top.due > limit) return fired;
      heapPop(heap);
      if (top.cancelled) continue;
      if (top.due > now) now = top.due;
      top.cancelled = true;
      fired = true;
      top.callback(top.arg);
      await quiesce();
    }
  };
  const exclusive = async <T>(work: () => Promise<T>): Promise<T> => {
    if (advancing) throw new Error('ManualClock: advance() called while another advance() is running');
    advancing = true;
    try {
      return await work();
    } finally {
      advancing = false;
    }
  };

  return {
    now: () => now,
    setTimer<A>(ms: number, callback: (arg: A) => void, arg: A): TimerHandle {
      const timer: ManualTimer = {
        due: now + Math.max(0, ms),
        seq: seq++,
        callback: callback as (arg: unknown) => void,
        arg,
        cancelled: false,
      };
      heapPush(heap, timer);
      return timer;
    },
    clearTimer(handle: TimerHandle): void {
      (handle as ManualTimer).cancelled = true;
    },
    watch(isBusy: () => boolean): () => void {
      watchers.add(isBusy);
      return () => watchers.delete(isBusy);
    },
    advance(ms: number): Promise<void> {
      if (!(ms >= 0)) return Promise.reject(new RangeError(`ManualClock.advance expects ms >= 0, got ${ms}`));
      return exclusive(async () => {
        const target = now + ms;
        // Work already under way happens at the current time, before time moves.
        await quiesce();
        await fireDueAt(target);
        now = target;
        await quiesce();
      });
    },
    advanceToNext(): Promise<boolean> {
      return exclusive(async () => {
        await quiesce();
        while (heap[0]?.cancelled) heapPop(heap);
        const top = heap[0];
        if (top === undefined) return false;
        return fireDueAt(top.due);
      });
    },
    pending(): number {
      let n = 0;
      for (const t of heap) if (!t.cancelled) n++;
      return n;
    },
  };
}

// A binary min-heap ordered by (due, seq): cancelled timers stay in it until they reach the top.
function before(a: ManualTimer, b: ManualTimer): boolean {
  return a.due < b.due || (a.due === b.due && a.seq < b.seq);
}

function heapPush(heap: ManualTimer[], item: ManualTimer): void {
  heap.push(item);
  let i = heap.length - 1;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    const p = heap[parent]!;
    if (!before(item, p)) break;
    heap[i] = p;
    i = parent;
  }
  heap[i] = item;
}

function heapPop(heap: ManualTimer[]): ManualTimer | undefined {
  const top = heap[0];
  const last = heap.pop();
  if (top === undefined || last === undefined || heap.length === 0) return top;
  let i = 0;
  const n = heap.length;
  for (;;) {
    const l = 2 * i + 1;
    if (l >= n) break;
    const r = l + 1;
    const child = r < n && before(heap[r]!, heap[l]!) ? r : l;
    if (!before(heap[child]!, last)) break;
    heap[i] = heap[child]!;
    i = child;
  }
  heap[i] = last;
  return top;
}
