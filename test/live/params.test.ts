import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { decodeParams, mergeParams } from '../../src/live/params.js';

describe('decodeParams', () => {
  it('decodes URL-encoded forms with + as space', () => {
    assert.deepEqual(decodeParams('title=Call+mom&x=%26%3D'), { title: 'Call mom', x: '&=' });
  });

  it('nests bracketed names and collects [] lists', () => {
    assert.deepEqual(decodeParams('todo[title]=a&todo[meta][tag]=b&ids[]=1&ids[]=2'), {
      todo: { title: 'a', meta: { tag: 'b' } },
      ids: ['1', '2'],
    });
  });

  it('drops keys that could reach a prototype', () => {
    const out = decodeParams('__proto__[polluted]=1&constructor[prototype][x]=1&a[__proto__]=2&ok=1');
    assert.deepEqual(out, { ok: '1', a: {} });
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  it('never throws and never pollutes, whatever the text', () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        decodeParams(text);
        assert.equal(({} as Record<string, unknown>).polluted, undefined);
      }),
      { numRuns: 500 },
    );
  });
});

describe('mergeParams', () => {
  it('lays meta over form values, stringifying numbers', () => {
    assert.deepEqual(mergeParams({ a: '1', b: '2' }, { b: 3, _target: 'b', __proto__x: 'k' }), {
      a: '1',
      b: '3',
      _target: 'b',
      __proto__x: 'k',
    });
  });
});
