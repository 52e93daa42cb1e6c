/**
 * What a person sees when a page cannot be served: a small HTML page (styled by the app's own
 * stylesheet, no inline code, so the CSP holds) instead of Fastify's JSON, and never the
 * internal error message. Machines asking for JSON get `{ error }`.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isTodoLiveError } from '../errors.js';
import { escapeHTML } from '../live/index.js';
import type { AssetManifest } from './assets.js';

/** Failures that pass by themselves: the client should try again shortly. */
const TRANSIENT = new Set(['ACTOR_UNAVAILABLE', 'ACTOR_SHUTTING_DOWN', 'ACTOR_CALL_TIMEOUT', 'ACTOR_MAILBOX_FULL', 'STORE_LOCKED', 'STORE_CONNECTION_LOST', 'STORE_CLOSED']);

/** Installs the not-found and error handlers on `app`. */
export function registerErrorPages(app: FastifyInstance, assets: AssetManifest): void {
  app.setNotFoundHandler((request, reply) => {
    send(request, reply, 404, 'Nothing here', 'There is no page at this address.', assets);
  });
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const client = typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500;
    if (client) {
      send(request, reply, error.statusCode as number, 'That did not work', 'The request could not be understood.', assets);
      return;
    }
    const transient = isTodoLiveError(error) && TRANSIENT.has(error.code);
    request.log.error({ err: error }, 'request failed');
    if (transient) reply.header('retry-after', '5');
    send(
      request,
      reply,
      transient ? 503 : 500,
      transient ? 'Back in a moment' : 'Something went wrong',
      transient ? 'Your todos are safe; the server is busy. Try again in a few seconds.' : 'Your todos are safe. Reload the page to try again.',
      assets,
    );
  });
}

function send(request: FastifyRequest, reply: FastifyReply, status: number, title: string, text: string, assets: AssetManifest): void {
  reply.code(status).header('cache-control', 'no-store');
  if (!(request.headers.accept ?? '').includes('text/html')) {
    reply.send({ error: title });
    return;
  }
  reply.type('text/html; charset=utf-8').send(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHTML(title)} · TodoMVC</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${escapeHTML(assets.css)}">
</head>
<body>
<section class="todoapp">
<header class="header"><h1>todos</h1></header>
<main class="main error-page">
<h2>${escapeHTML(title)}</h2>
<p>${escapeHTML(text)}</p>
<p><a href="/">Back to your todos</a></p>
</main>
</section>
</body>
</html>
`);
}
