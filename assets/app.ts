// Browser entry: the official, unmodified Phoenix LiveView client, plus the few hooks the
// protocol has no binding for. Everything else (patching, focus, reconnect, form recovery,
// loading classes) is the client's own work.
import { Socket } from 'phoenix';
import { LiveSocket } from 'phoenix_live_view';

const csrfToken = document.querySelector("meta[name='csrf-token']")?.getAttribute('content') ?? '';

const hooks = {};

const liveSocket = new LiveSocket('/live', Socket, {
  params: { _csrf_token: csrfToken },
  hooks,
});
liveSocket.connect();

// Tests and people debugging in the console reach the socket here.
(window as unknown as { liveSocket: LiveSocket }).liveSocket = liveSocket;
