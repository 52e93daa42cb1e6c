import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LiveClient } from '../support/live-client.js';
import { useSharedApp } from '../support/shared-app.js';
import { TodoTab } from '../support/todo-tab.js';

const server = useSharedApp();

const NOTICE = /A new version of this page is available\. <a href="([^"]*)">Reload to update\.<\/a>/;

/** The absolute URLs of the page's `phx-track-static` elements, as the browser sends them. */
function trackedUrls(client: LiveClient): string[] {
  const urls: string[] = [];
  for (const m of client.page.html.matchAll(/<(?:link|script)\b[^>]*\sphx-track-static[^>]*>/g)) {
    const url = /\s(?:href|src)="([^"]*)"/.exec(m[0])?.[1];
    if (url !== undefined) urls.push(new URL(url, client.baseUrl).toString());
  }
  return urls;
}

/** The same URLs as a page from an earlier build would hold: other digests. */
function staleUrls(current: string[]): string[] {
  return current.map((url) => url.replace(/-([A-Za-z0-9_]+)\.(js|css)$/, '-OLDBUILD.$2'));
}

async function open(path = '/'): Promise<LiveClient> {
  const client = await LiveClient.open(server.url, path);
  server.track(client);
  return client;
}

async function joinWith(client: LiveClient, tracked: string[] | undefined): Promise<string> {
  const reply = await client.join(tracked === undefined ? {} : { params: { _track_static: tracked } });
  assert.equal(reply.status, 'ok', `join failed: ${JSON.stringify(reply.response)}`);
  return client.html();
}

describe('after a deploy changed the assets', () => {
  it('serves a page that tracks its digested script and stylesheet, with no notice in the first render', async () => {
    const client = await open();
    const tracked = trackedUrls(client);
    assert.equal(tracked.length, 2, `expected the stylesheet and the script to be tracked in ${client.page.html}`);
    assert.ok(staleUrls(tracked).every((url, i) => url !== tracked[i]), 'stale URLs must differ from the current ones');
    assert.doesNotMatch(client.page.html, NOTICE);
    assert.match(client.page.containerHTML, /<div class="update-banner" role="status"><\/div>/);
  });

  it('shows no notice to a page that runs the current assets', async () => {
    const client = await open();
    const html = await joinWith(client, trackedUrls(client));
    assert.doesNotMatch(html, NOTICE);
    assert.match(html, /<div class="update-banner" role="status"><\/div>/);
  });

  it('shows no notice when the client tracks no assets', async () => {
    const client = await open();
    assert.doesNotMatch(await joinWith(client, undefined), NOTICE);
    assert.doesNotMatch(await joinWith(await open(), []), NOTICE);
  });

  it('tells a page with assets from an earlier build to reload, with a plain link to where it is', async () => {
    const client = await open('/active');
    const html = await joinWith(client, staleUrls(trackedUrls(client)));
    const notice = /<div class="update-banner" role="status">(.*?)<\/div>/s.exec(html)?.[1] ?? '';
    assert.match(notice, NOTICE);
    assert.equal(NOTICE.exec(notice)?.[1], '/active');
    assert.doesNotMatch(notice, /data-phx-link|<script|\son[a-z]+=/);
  });

  it('counts one stale asset among current ones as a change, whatever origin the client saw', async () => {
    const client = await open();
    const [css, js] = trackedUrls(client);
    assert.ok(css !== undefined && js !== undefined);
    const [staleJs] = staleUrls([js]);
    const elsewhere = new URL(new URL(css).pathname, 'https://cdn.example.com').toString();
    assert.match(await joinWith(client, [elsewhere, staleJs ?? '']), NOTICE);
  });

  it('shows the notice when a page reconnects after a deploy, and keeps it while the user works', async () => {
    const tab = await TodoTab.open(server.url, '/');
    server.track(tab.client);
    const current = trackedUrls(tab.client);
    assert.doesNotMatch(tab.html(), NOTICE);
    // The browser keeps its page (and its old script) across the reconnect.
    const reply = await tab.client.reconnect({}, { params: { _track_static: staleUrls(current) } });
    assert.equal(reply.status, 'ok');
    assert.match(tab.html(), NOTICE);
    await tab.add('still works');
    assert.deepEqual(tab.titles(), ['still works']);
    assert.match(tab.html(), NOTICE);
    await tab.client.patch('/completed');
    assert.equal(NOTICE.exec(tab.html())?.[1], '/completed');
  });
});
