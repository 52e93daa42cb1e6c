/**
 * Phoenix channel framing, serializer vsn 2.0.0: every text frame is the JSON array
 * `[join_ref, ref, topic, event, payload]`. The decoder is the first thing hostile input
 * reaches, so it never throws anything but a `LIVE_BAD_FRAME` error and it copies nothing
 * it has not checked.
 */
import { describeValue, ErrorCodes, TodoLiveError } from '../errors.js';

/** A decoded frame; `payload` is always a plain JSON object. */
export interface DecodedFrame {
  joinRef: string | null;
  ref: string | null;
  topic: string;
  event: string;
  payload: Record<string, unknown>;
}

/** Longest topic and event name we accept; real ones are a few dozen characters. */
const MAX_NAME_LENGTH = 256;
const MAX_REF_LENGTH = 32;

function bad(message: string, details?: Record<string, unknown>): TodoLiveError {
  return new TodoLiveError(ErrorCodes.LIVE_BAD_FRAME, message, details === undefined ? {} : { details });
}

function refOrNull(value: unknown, name: string): string | null {
  if (value === null) return null;
  if (typeof value === 'string' && value.length <= MAX_REF_LENGTH) return value;
  throw bad(`expected ${name} to be null or a short string, got ${describeValue(value)}`);
}

/**
 * Decodes one text frame. Throws `LIVE_BAD_FRAME` for anything that is not a 5-element
 * array with string-or-null refs, non-empty string topic and event, and an object payload.
 * `JSON.parse` builds plain objects (a `__proto__` key becomes an own property, it does not
 * reach any prototype), so nothing here can pollute prototypes.
 */
export function decodeFrame(text: string): DecodedFrame {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw bad(`expected a JSON array, got text that is not JSON (${text.length} chars)`);
  }
  if (!Array.isArray(parsed) || parsed.length !== 5) {
    throw bad(`expected a 5-element array [join_ref, ref, topic, event, payload], got ${describeValue(parsed)}`);
  }
  const [joinRef, ref, topic, event, payload] = parsed as unknown[];
  if (typeof topic !== 'string' || topic.length === 0 || topic.length > MAX_NAME_LENGTH) {
    throw bad(`expected the topic to be a non-empty string, got ${describeValue(topic)}`);
  }
  if (typeof event !== 'string' || event.length === 0 || event.length > MAX_NAME_LENGTH) {
    throw bad(`expected the event to be a non-empty string, got ${describeValue(event)}`);
  }
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    throw bad(`expected the payload to be an object, got ${describeValue(payload)}`);
  }
  return {
    joinRef: refOrNull(joinRef, 'join_ref'),
    ref: refOrNull(ref, 'ref'),
    topic,
    event,
    payload: payload as Record<string, unknown>,
  };
}

/** Encodes one frame; the inverse of {@link decodeFrame}. */
export function encodeFrame(
  joinRef: string | null,
  ref: string | null,
  topic: string,
  event: string,
  payload: unknown,
): string {
  return JSON.stringify([joinRef, ref, topic, event, payload]);
}

/**
 * Reads what a frame that failed to decode still tells us, so the error reply can reach the
 * right push on the client. Returns `null` when the frame is hopeless.
 */
export function salvageRefs(text: string): { joinRef: string | null; ref: string; topic: string } | null {
  try {
    const parsed: unknown = JSON.parse(text);
    if (!Array.isArray(parsed)) return null;
    const [joinRef, ref, topic] = parsed as unknown[];
    if (typeof ref !== 'string' || ref.length > MAX_REF_LENGTH) return null;
    if (typeof topic !== 'string' || topic.length === 0 || topic.length > MAX_NAME_LENGTH) return null;
    const jr = typeof joinRef === 'string' && joinRef.length <= MAX_REF_LENGTH ? joinRef : null;
    return { joinRef: jr, ref, topic };
  } catch {
    return null;
  }
}
