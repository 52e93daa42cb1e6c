/**
 * The LiveView wire vocabulary, named once.
 *
 * Every key of a rendered tree or diff, every channel event and topic, every join error reason
 * the browser client (`phoenix_live_view` 1.2.12 over `phoenix` 1.8.x, serializer 2.0.0)
 * understands is declared here, with the TypeScript shapes of what travels. Both the server and
 * the test clients import these names; the single-letter protocol never appears as a bare
 * literal in logic.
 *
 * This module is a leaf: it imports nothing.
 */

// --- versions -----------------------------------------------------------------------------------

/** The client version we speak; echoed as `liveview_version` in every join reply. */
export const LIVEVIEW_VERSION = '1.2.12';

/** The only serializer accepted in the socket URL (`?vsn=2.0.0`): frames are 5-element arrays. */
export const SERIALIZER_VSN = '2.0.0';

// --- keys of a rendered tree and of a diff ------------------------------------------------------

/**
 * Keys of rendered nodes and diffs. The client reads `t`, `e`, `r` and `c` only at the top level
 * of a diff; everything else at the top level is the root node. (There is no fingerprint key on
 * the wire: fingerprints are the server's business, see `template.ts`.)
 */
export const DiffKeys = {
  /** Statics of a node: an array of N+1 strings, or an integer index into the nearest `p`. */
  STATIC: 's',
  /** Keyed entries of a comprehension (an object keyed by the entry's new position). */
  KEYED: 'k',
  /** Entry count of a comprehension; required in every `k` object. */
  KEYED_COUNT: 'kc',
  /** `true` when a `k` object contains a move; 1.2.8+ throws on a move without it. */
  KEYED_MOVED: 'km',
  /** Shared statics table: integer `s` values index into it. Not merged across diffs. */
  TEMPLATES: 'p',
  /** Nested node: "my HTML is one root element". At the top level the same key is `REPLY`. */
  ROOT: 'r',
  /** Top level only: the reply value for a hook's `pushEvent` callback. */
  REPLY: 'r',
  /** Top level only: the new page title. */
  TITLE: 't',
  /** Top level only: events to dispatch as `phx:<name>` window events and to hooks. */
  EVENTS: 'e',
  /** Top level only: the components map (cid → node). Not emitted by this server. */
  COMPONENTS: 'c',
  /** Inside a comprehension: stream operations. Not emitted by this server. */
  STREAM: 'stream',
} as const;

// --- channels -----------------------------------------------------------------------------------

/** Channel events of the Phoenix framing and of LiveView, both directions. */
export const ChannelEvents = {
  /** C→S: join a topic; `join_ref === ref`. Needs a reply. */
  JOIN: 'phx_join',
  /** S→C: reply to any client push, matched by `ref`. */
  REPLY: 'phx_reply',
  /** C→S: the client is done with the view. Reply ok, then destroy it. */
  LEAVE: 'phx_leave',
  /** S→C: the server ended the channel; the client does not rejoin. */
  CLOSE: 'phx_close',
  /** S→C: the view died; the client shows an error and rejoins with backoff. */
  ERROR: 'phx_error',
  /** C→S on the `phoenix` topic every 30 s; reply ok or the client reconnects. */
  HEARTBEAT: 'heartbeat',
  /** C→S: a binding fired (`click`, `form`, `keydown`, `hook`…). Needs a reply. */
  EVENT: 'event',
  /** S→C: an unsolicited diff (from pub/sub, timers). */
  DIFF: 'diff',
  /** Both ways: C→S patch link click (needs a reply); S→C server push-patch. */
  LIVE_PATCH: 'live_patch',
  /** S→C: navigate to another view over the same socket. */
  LIVE_REDIRECT: 'live_redirect',
  /** S→C: full page navigation. */
  REDIRECT: 'redirect',
  /** C→S: components are about to leave the DOM. Reply `{}`. */
  CIDS_WILL_DESTROY: 'cids_will_destroy',
  /** C→S: components left the DOM. Reply `{cids: [...]}`. */
  CIDS_DESTROYED: 'cids_destroyed',
} as const;

export type ChannelEvent = (typeof ChannelEvents)[keyof typeof ChannelEvents];

/** Topics and topic prefixes. */
export const Topics = {
  /** The socket-level topic (heartbeats). */
  PHOENIX: 'phoenix',
  /** Prefix of a LiveView topic: `lv:<container id>`. */
  LIVEVIEW_PREFIX: 'lv:',
  /** Prefix of an upload topic (not implemented). */
  UPLOAD_PREFIX: 'lvu:',
} as const;

/** Reply statuses. */
export const ReplyStatus = { OK: 'ok', ERROR: 'error' } as const;

/** Join error reasons the client acts on: both trigger an immediate full page load. */
export const JoinErrorReasons = {
  /** Session token invalid, expired, or unverifiable; or the CSRF token is wrong. */
  STALE: 'stale',
  /** Token fine but the URL no longer maps to the view in the token. */
  UNAUTHORIZED: 'unauthorized',
} as const;

/** Reason of a `phx_error` push when a view crashed. */
export const CHANNEL_CRASH_REASON = 'channel_crash';

/** Reason of the error reply to a message for a topic never joined on this socket. */
export const UNMATCHED_TOPIC_REASON = 'unmatched topic';

/** A serializer-2.0.0 frame: `[join_ref, ref, topic, event, payload]`. */
export type Frame = [joinRef: string | null, ref: string | null, topic: string, event: string, payload: unknown];

// --- the rendered tree ----------------------------------------------------------------------------

/** Statics of a node: the literal HTML between its dynamics (`dynamics + 1` strings). */
export type Statics = readonly string[];

/** A shared statics table (`p`): integer `s` values in the same diff index into it. */
export type TemplatesTable = { [index: number]: Statics };

/**
 * What a dynamic slot holds on the wire:
 * - a string: raw HTML the client inserts verbatim between two statics (we escape it first);
 * - a {@link RenderedNode} or {@link Comprehension}: a nested node, merged or replaced;
 * - a number: a component id, looked up in `c` (this server never emits one, and a stray number
 *   aborts the client's render, which is why every value is stringified).
 */
export type RenderedDynamic = string | RenderedNode | Comprehension | number;

/**
 * A rendered node: statics plus dynamics at keys `"0"`…`"N-1"`.
 *
 * In a full render `s` is always present. In a diff, a node *with* `s` replaces whatever the
 * client holds at that slot (so it carries every dynamic); a node *without* `s` is merged into
 * the node the client holds, and carries only the slots that changed.
 */
export interface RenderedNode {
  /** Statics, or an index into the nearest enclosing `p`. */
  s?: Statics | number;
  /** Shared statics for this node and everything below it. */
  p?: TemplatesTable;
  /** Single-root flag; enables the client's skip optimisation. Never emitted by this server. */
  r?: 1;
  [slot: number]: RenderedDynamic;
}

/**
 * One entry of a keyed comprehension, inside `k`, at the entry's new position:
 * - an object: merged into the entry the client holds at this position (a new entry carries
 *   every slot, nested nodes with their statics, so the merge is a replace);
 * - a number `j`: this position now holds the client's old entry `j`, unchanged (a move);
 * - `[j, diff]`: old entry `j`, with `diff` merged into it (a move with changes).
 * Moves read from a snapshot of the old list, so any permutation fits in one diff.
 */
export type KeyedEntry = EntryDynamics | number | [oldPosition: number, diff: EntryDynamics];

/** The dynamics of one comprehension entry; the statics are the comprehension's. */
export interface EntryDynamics {
  [slot: number]: RenderedDynamic;
}

/**
 * The `k` object: entries keyed by their new position, plus the count. Positions absent from it
 * keep their current entry; entries at positions `>= kc` are dropped.
 */
export interface KeyedEntries {
  /** The new entry count; required in every `k`, or the client renders the list empty. */
  kc: number;
  /** Present (and `true`) whenever an entry is a number or an array. */
  km?: true;
  [position: number]: KeyedEntry;
}

/** A keyed comprehension: shared statics and keyed entries. */
export interface Comprehension {
  /** Statics shared by every entry; absent in a diff when the client already holds them. */
  s?: Statics | number;
  k: KeyedEntries;
  p?: TemplatesTable;
}

/** An event pushed to the client: `[name, payload]`, or `[name, payload, true]` to dispatch before the patch. */
export type PushedEvent = [name: string, payload: unknown] | [name: string, payload: unknown, beforePatch: true];

/**
 * The top level of a full render (the join reply's `rendered`) or of a diff (`diff` pushes,
 * event replies): the root node's keys, plus the top-level-only keys.
 */
export interface RenderedRoot extends Omit<RenderedNode, 'r'> {
  /** Reply value for a hook's `pushEvent` callback (type `hook` events only). Not rendered. */
  r?: unknown;
  /** New page title. */
  t?: string;
  /** Events dispatched to `window` as `phx:<name>` and to hooks. */
  e?: PushedEvent[];
}

/** A full render: a root node with its statics. */
export type Rendered = RenderedRoot & { s: Statics | number };

/** A diff: only what changed since the last frame on the wire; every key optional. */
export type Diff = RenderedRoot;
