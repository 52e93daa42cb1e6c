import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_TITLE, todoLayout } from '../../src/todo/layout.js';

const ctx = {
  title: '',
  csrfToken: 'tok-en_123',
  content: '<div id="phx-x" data-phx-main data-phx-session="s" data-phx-static="t"></div>',
  assets: { 'app.js': '/assets/app-abc.js', 'app.css': '/assets/app-def.css' },
  url: new URL('http://localhost/'),
};

describe('todoLayout', () => {
  it('links the digested assets with phx-track-static and carries the CSRF token', () => {
    const html = todoLayout(ctx);
    assert.match(html, /<meta name="csrf-token" content="tok-en_123">/);
    assert.match(html, /<link rel="stylesheet" href="\/assets\/app-def.css" phx-track-static>/);
    assert.match(html, /<script defer type="module" src="\/assets\/app-abc.js" phx-track-static><\/script>/);
    assert.match(html, new RegExp(`<title>${DEFAULT_TITLE}</title>`));
  });

  it('puts both connection banners right after the container, where the CSS finds them', () => {
    const html = todoLayout(ctx);
    assert.match(html, /data-phx-static="t"><\/div>\s*<div id="client-error" class="connection-banner connection-banner-client" role="alert">/);
    assert.match(html, /<div id="server-error" class="connection-banner connection-banner-server" role="alert">/);
  });

  it('escapes the title and has no inline script, style or handler', () => {
    const html = todoLayout({ ...ctx, title: '</title><script>x</script>' });
    assert.match(html, /<title>&lt;\/title&gt;&lt;script&gt;x&lt;\/script&gt;<\/title>/);
    assert.doesNotMatch(html.replace(/<script defer type="module" src="[^"]+" phx-track-static><\/script>/, ''), /<script|<style|style=|\son[a-z]+=/i);
  });
});
