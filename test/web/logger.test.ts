import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import pino from 'pino';
import { loggerOptions, userTag } from '../../src/web/logger.js';

function capture(): { stream: Writable; lines: () => string } {
  let text = '';
  const stream = new Writable({
    write(chunk, _enc, done) {
      text += String(chunk);
      done();
    },
  });
  return { stream, lines: () => text };
}

describe('loggerOptions', () => {
  it('redacts cookies, tokens and the CSRF token wherever they appear', () => {
    const { stream, lines } = capture();
    const log = pino(loggerOptions({ logLevel: 'info', env: 'test' }) as pino.LoggerOptions, stream);
    log.info(
      {
        req: { headers: { cookie: 'todo_live_session=secret-cookie' } },
        res: { headers: { 'set-cookie': 'todo_live_session=secret-set-cookie' } },
        payload: { session: 'secret-session', static: 'secret-static', _csrf_token: 'secret-csrf' },
        token: 'secret-token',
      },
      'hello',
    );
    assert.doesNotMatch(lines(), /secret-/);
    assert.match(lines(), /\[redacted\]/);
  });

  it('logs the path of a request without its query string (the socket URL carries the CSRF token)', () => {
    const options = loggerOptions({ logLevel: 'info', env: 'test' }) as { serializers: { req(r: unknown): unknown } };
    assert.deepEqual(options.serializers.req({ method: 'GET', url: '/live/websocket?_csrf_token=abc&vsn=2.0.0', ip: '127.0.0.1' }), {
      method: 'GET',
      url: '/live/websocket',
      ip: '127.0.0.1',
    });
  });

  it('names users by a short hash that is stable and does not reveal the token', () => {
    const token = '9d86eeb3-cf45-47bf-9430-3893caedbe4a';
    assert.equal(userTag(token), userTag(token));
    assert.notEqual(userTag(token), userTag(`${token}x`));
    assert.match(userTag(token), /^[0-9a-f]{12}$/);
    assert.ok(!token.includes(userTag(token)));
  });
});
