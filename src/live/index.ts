/**
 * A Phoenix LiveView protocol server: templates and a pure diff engine, views as actor
 * servers, channels over WebSocket, signed tokens and the first HTTP render. It knows nothing
 * about the app that uses it: an app supplies views, routes and a layout.
 */

// --- wire vocabulary ------------------------------------------------------------------------
export * from './protocol.js';

// --- templates, diffs, HTML -----------------------------------------------------------------
export {
  attr,
  type Dynamic,
  each,
  escapeHTML,
  html,
  isDevMode,
  type Key,
  KeyedList,
  MemoList,
  Raw,
  raw,
  setDevMode,
  Template,
} from './template.js';
export { DiffTracker } from './diff.js';
export { renderedToHTML, templateToHTML } from './render-html.js';

// --- the view contract ----------------------------------------------------------------------
export {
  type AnyLiveView,
  defineView,
  type EventValue,
  type LiveSession,
  type LiveView,
  type NavigateOptions,
  type ViewSocket,
} from './view.js';
export { decodeParams, type Params, type ParamValue } from './params.js';
export { LiveRouter, type LiveRoute, type LiveRouteSpec, type RouteMatch } from './router.js';
export { LocalPubSub, type PubSub, type PubSubListener, type Unsubscribe } from './pubsub.js';

// --- channels and sockets -------------------------------------------------------------------
export { type ChannelLogger, decodeEventValue, ViewChannel, type ViewChannelOptions, ViewCrash } from './channel.js';
export { liveViewServer, type ViewCast, type ViewHandle, ViewServers, type ViewStartArg } from './channel-server.js';
export { type DecodedFrame, decodeFrame, encodeFrame } from './frames.js';
export {
  addressGroup,
  CloseCodes,
  type ConnectionIdentity,
  DEFAULT_SOCKET_LIMITS,
  LiveSocketServer,
  type LiveSocketServerOptions,
  type SocketLimits,
} from './socket-server.js';
export { TokenBucket } from './rate-limit.js';
export { StaticAssets, trackedStatic } from './static-tracking.js';

// --- HTTP and security ----------------------------------------------------------------------
export {
  DEFAULT_MAX_SOCKETS_PER_ADDRESS,
  DEFAULT_MAX_SOCKETS_PER_SESSION,
  type LayoutContext,
  type LiveEndpointOptions,
  type LiveLayout,
  LiveEndpoint,
  loadAssetManifest,
  MAX_FRAME_BYTES,
  newViewId,
} from './http.js';
export { SessionCookie, type SessionCookieOptions } from './session.js';
export {
  CsrfTokens,
  DEFAULT_TOKEN_MAX_AGE_MS,
  type DerivedKeys,
  deriveKeys,
  type KeyPurpose,
  TOKEN_VERSION,
  type ViewSessionClaims,
  ViewTokens,
} from './tokens.js';
