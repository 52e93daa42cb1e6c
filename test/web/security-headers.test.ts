import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Fastify from 'fastify';
import { addSecurityHeaders, securityHeaders } from '../../src/web/security-headers.js';

describe('security headers', () => {
  it('allow sockets only to the public origin and the allowed origins, with their ws scheme', () => {
    const csp = securityHeaders('http://127.0.0.1:4000', ['http://127.0.0.1:4000', 'https://b.example'])['content-security-policy']!;
    assert.match(csp, /(^|;)connect-src 'self' ws:\/\/127\.0\.0\.1:4000 wss:\/\/b\.example(;|$)/);
    assert.doesNotMatch(csp, /upgrade-insecure-requests|unsafe/);
  });

  it('add HSTS and upgrade-insecure-requests only for an https public URL', () => {
    const plain = securityHeaders('http://todo.example', []);
    const secure = securityHeaders('https://todo.example', []);
    assert.equal(plain['strict-transport-security'], undefined);
    assert.equal(secure['strict-transport-security'], 'max-age=31536000; includeSubDomains');
    assert.match(secure['content-security-policy']!, /;upgrade-insecure-requests$/);
    assert.match(secure['content-security-policy']!, /connect-src 'self' wss:\/\/todo\.example;/);
  });

  it('deny framing in both the CSP and the legacy header', () => {
    const h = securityHeaders('http://todo.example', []);
    assert.match(h['content-security-policy']!, /frame-ancestors 'none'/);
    assert.equal(h['x-frame-options'], 'DENY');
  });

  it('are set on every reply: pages, not-found replies and errors', async () => {
    const fastify = Fastify();
    const headers = securityHeaders('http://todo.example', []);
    addSecurityHeaders(fastify, headers);
    fastify.get('/ok', async () => 'ok');
    fastify.get('/boom', async () => {
      throw new Error('expected failure');
    });
    try {
      for (const [url, status] of [['/ok', 200], ['/missing', 404], ['/boom', 500]] as const) {
        const res = await fastify.inject({ method: 'GET', url });
        assert.equal(res.statusCode, status, url);
        for (const [name, value] of Object.entries(headers)) assert.equal(res.headers[name], value, `${name} on ${url}`);
      }
    } finally {
      await fastify.close();
    }
  });
});
