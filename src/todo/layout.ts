/**
 * The HTML document around the live container: the CSRF meta tag the client reads, the
 * digested stylesheet and script (both `phx-track-static`, so a deploy is noticed), and the
 * two connection banners of a Phoenix layout. The banners are plain markup; CSS shows them
 * while the container carries `phx-client-error` or `phx-server-error`, so nothing inline is
 * needed and the page works under a strict Content-Security-Policy.
 */
import { escapeHTML, type LayoutContext } from '../live/index.js';

/** The document title when the view sets none. */
export const DEFAULT_TITLE = 'todos · TodoMVC';

/** Renders the page; assets come from the build's manifest (`app.js`, `app.css`). */
export function todoLayout(ctx: LayoutContext): string {
  const css = ctx.assets['app.css'];
  const js = ctx.assets['app.js'];
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="csrf-token" content="${escapeHTML(ctx.csrfToken)}">
<title>${escapeHTML(ctx.title === '' ? DEFAULT_TITLE : ctx.title)}</title>
<link rel="icon" href="data:,">
${css === undefined ? '' : `<link rel="stylesheet" href="${escapeHTML(css)}" phx-track-static>`}
${js === undefined ? '' : `<script defer type="module" src="${escapeHTML(js)}" phx-track-static></script>`}
</head>
<body>
${ctx.content}
<div id="client-error" class="connection-banner connection-banner-client" role="alert">
<p><strong>We can't find the internet.</strong> Attempting to reconnect…</p>
</div>
<div id="server-error" class="connection-banner connection-banner-server" role="alert">
<p><strong>Something went wrong!</strong> Attempting to reconnect…</p>
</div>
</body>
</html>
`;
}
