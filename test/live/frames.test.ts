import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isTodoLiveError } from '../../src/errors.js';
import { decodeFrame, encodeFrame, salvageRefs } from '../../src/live/frames.js';

const isBadFrame = (err: unknown) => isTodoLiveError(err, 'LIVE_BAD_FRAME');

describe('decodeFrame', () => {
  it('decodes the five elements of a serializer 2.0.0 frame', () => {
    assert.deepEqual(decodeFrame('["4","5","lv:phx-1","event",{"type":"click"}]'), {
      joinRef: '4',
      ref: '5',
      topic: 'lv:phx-1',
      event: 'event',
      payload: { type: 'click' },
    });
    assert.deepEqual(decodeFrame('[null,"12","phoenix","heartbeat",{}]').joinRef, null);
  });

  it('round-trips what encodeFrame produces', () => {
    const text = encodeFrame('1', '2', 'lv:x', 'phx_reply', { status: 'ok', response: {} });
    assert.deepEqual(decodeFrame(text), {
      joinRef: '1',
      ref: '2',
      topic: 'lv:x',
      event: 'phx_reply',
      payload: { status: 'ok', response: {} },
    });
  });

  it('rejects text that is not JSON, or not a 5-element array', () => {
    for (const text of ['', 'hello', '{}', '[]', '[1,2,3,4]', '["1","2","t","e",{},6]', 'null', '"str"']) {
      assert.throws(() => decodeFrame(text), isBadFrame, text);
    }
  });

  it('rejects wrong element types', () => {
    for (const text of [
      '[1,"2","t","e",{}]',
      '["1",2,"t","e",{}]',
      '["1","2",null,"e",{}]',
      '["1","2","","e",{}]',
      '["1","2","t",7,{}]',
      '["1","2","t","e",[]]',
      '["1","2","t","e","payload"]',
      '["1","2","t","e",null]',
    ]) {
      assert.throws(() => decodeFrame(text), isBadFrame, text);
    }
  });

  it('does not let __proto__ keys reach any prototype', () => {
    const frame = decodeFrame('["1","2","t","e",{"__proto__":{"polluted":true},"constructor":{"prototype":{"x":1}}}]');
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal(Object.getPrototypeOf(frame.payload), Object.prototype);
  });

  it('handles deep nesting without blowing the stack', () => {
    const deep = `["1","2","t","e",{"v":${'['.repeat(10_000)}${']'.repeat(10_000)}}]`;
    assert.equal(decodeFrame(deep).event, 'e');
  });

  it('never throws anything but LIVE_BAD_FRAME, whatever arrives', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json(), fc.jsonValue().map((v) => JSON.stringify(v))), (text) => {
        try {
          decodeFrame(text);
        } catch (err) {
          assert.ok(isBadFrame(err));
        }
      }),
      { numRuns: 500 },
    );
  });

  it('never throws on five-element arrays of arbitrary JSON', () => {
    fc.assert(
      fc.property(fc.array(fc.jsonValue(), { minLength: 5, maxLength: 5 }), (parts) => {
        try {
          const f = decodeFrame(JSON.stringify(parts));
          assert.equal(typeof f.topic, 'string');
        } catch (err) {
          assert.ok(isBadFrame(err));
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('salvageRefs', () => {
  it('recovers the ref and topic of a frame with a bad payload, so it can be answered', () => {
    assert.deepEqual(salvageRefs('["1","2","lv:x","event","not an object"]'), { joinRef: '1', ref: '2', topic: 'lv:x' });
  });

  it('gives up on frames without a ref or topic', () => {
    assert.equal(salvageRefs('not json'), null);
    assert.equal(salvageRefs('[null,null,"t","e",{}]'), null);
    assert.equal(salvageRefs('{"a":1}'), null);
  });
});
