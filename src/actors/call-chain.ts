/**
 * Which server is running the code that makes a call, so a call that would wait on itself
 * (directly, or through a chain of servers each waiting on the next) fails at once instead of
 * hanging until its timeout, as it would in OTP or Orleans.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

/** A server as the cycle check sees it: the servers its current turn is waiting on. */
export interface ChainNode {
  /** Servers this one's current turn is waiting on; cleared when the turn ends. */
  awaiting: ChainNode[] | undefined;
}

/** Holds the instance whose drain loop (init, turns, terminate) is running. */
export const currentServer = new AsyncLocalStorage<ChainNode>();

/**
 * True when `target` is `caller` or waits, through `awaiting` links, on `caller`: the call
 * `caller → target` would then close a cycle.
 */
export function closesCycle(caller: ChainNode, target: ChainNode): boolean {
  if (caller === target) return true;
  if (target.awaiting === undefined) return false;
  const seen = new Set<ChainNode>();
  const stack: ChainNode[] = [target];
  while (stack.length > 0) {
    const node = stack.pop()!;
    const next = node.awaiting;
    if (next === undefined || seen.has(node)) continue;
    seen.add(node);
    for (const n of next) {
      if (n === caller) return true;
      stack.push(n);
    }
  }
  return false;
}

/** Records that `caller` waits on `target` until the call settles or the turn ends. */
export function addAwaiting(caller: ChainNode, target: ChainNode): void {
  if (caller.awaiting === undefined) caller.awaiting = [target];
  else caller.awaiting.push(target);
}

export function removeAwaiting(caller: ChainNode, target: ChainNode): void {
  const list = caller.awaiting;
  if (list === undefined) return;
  const at = list.indexOf(target);
  if (at < 0) return;
  if (list.length === 1) caller.awaiting = undefined;
  else list.splice(at, 1);
}
