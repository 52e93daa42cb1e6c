/**
 * Bytes on the wire per user action: the event frame the client sends, and every frame the
 * server sends back for it (the reply with its diff, and any push that follows within a
 * quiet period). Sizes are frame texts; WebSocket framing adds 2–4 bytes server → client
 * and 6–8 client → server.
 */
import type { LiveTab } from './client.js';
import type { EventPayload } from './dialect.js';
import { sleep } from './proc.js';

export interface WireSample {
  /** Client → server frame text bytes. */
  up: number;
  /** Server → client frame text bytes (reply and any follow-up push). */
  down: number;
  /** Frames received for it. */
  frames: number;
  status: string;
  /** Why it could not be measured. */
  error?: string;
}

/** Sends `payload` on `tab` and counts both directions until 60 ms pass with no frame. */
export async function measureEvent(tab: LiveTab, payload: EventPayload): Promise<WireSample> {
  const inBefore = tab.bytesIn;
  const framesBefore = tab.framesIn;
  const outBefore = tab.bytesOut;
  const reply = await tab.push(payload);
  let frames = tab.framesIn;
  for (let i = 0; i < 50; i++) {
    await sleep(60);
    if (tab.framesIn === frames) break;
    frames = tab.framesIn;
  }
  return { up: tab.bytesOut - outBefore, down: tab.bytesIn - inBefore, frames: tab.framesIn - framesBefore, status: reply.status };
}
