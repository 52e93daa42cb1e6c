// Browser entry: the official, unmodified Phoenix LiveView client, plus the few hooks the
// protocol has no binding for. Everything else (patching, focus, reconnect, form recovery,
// loading classes) is the client's own work.
import { Socket } from 'phoenix';
import { LiveSocket, type ViewHook } from 'phoenix_live_view';

const csrfToken = document.querySelector("meta[name='csrf-token']")?.getAttribute('content') ?? '';

// LiveView has no double-click binding: a title asks to be edited on dblclick. One listener on
// the list serves every item, present and future; a title's element id is a letter and the
// todo's id (`l12`).
const TodoEdit: Partial<ViewHook> & ThisType<ViewHook> = {
  mounted() {
    this.el.addEventListener('dblclick', (event: MouseEvent) => {
      const title = event.target instanceof Element ? event.target.closest('.view > label[id]') : null;
      if (title !== null) this.pushEvent('edit', { id: title.id.replace(/^\D+/, '') });
    });
  },
};

const liveSocket = new LiveSocket('/live', Socket, {
  params: { _csrf_token: csrfToken },
  hooks: { TodoEdit },
});
liveSocket.connect();

// Tests and people debugging in the console reach the socket here.
(window as unknown as { liveSocket: LiveSocket }).liveSocket = liveSocket;
