import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isTodoLiveError } from '../../src/errors.js';
import type { Rendered } from '../../src/live/protocol.js';
import { renderedToHTML, templateToHTML } from '../../src/live/render-html.js';
import { each, html } from '../../src/live/template.js';
import { ClientRendered } from '../support/client-rendered.js';

const isTemplateError = (e: unknown) => isTodoLiveError(e, 'LIVE_TEMPLATE');

/** Our HTML, checked against the client's own rendering of the same tree. */
function both(rendered: Rendered): string {
  const ours = renderedToHTML(rendered);
  assert.equal(ours, new ClientRendered('phx-render', rendered).toHTML());
  return ours;
}

describe('renderedToHTML', () => {
  it('interleaves statics and dynamics, nodes and keyed entries in position order', () => {
    const tree: Rendered = {
      s: ['<ul>', '</ul>', ''],
      0: { s: ['<li>', '</li>'], k: { 1: { 0: 'b' }, 0: { 0: 'a' }, kc: 2 } },
      1: { s: ['<p>', '</p>'], 0: 'x' },
    };
    assert.equal(both(tree), '<ul><li>a</li><li>b</li></ul><p>x</p>');
  });

  it('resolves integer statics against the root table, in nodes, comprehensions and entries', () => {
    const tree: Rendered = {
      s: ['', '', ''],
      0: { s: 0, 0: 'a' },
      1: { s: 1, k: { 0: { 0: { s: 0, 0: 'b' } }, kc: 1 } },
      p: { 0: ['<i>', '</i>'], 1: ['<li>', '</li>'] },
    };
    assert.equal(both(tree), '<i>a</i><li><i>b</i></li>');
  });

  it('lets an enclosing table win over a comprehension\'s own, as the client does', () => {
    const tree: Rendered = {
      s: ['', ''],
      0: { s: ['<li>', '</li>'], k: { 0: { 0: { s: 0, 0: 'x' } }, kc: 1 }, p: { 0: ['<b>', '</b>'] } },
    };
    assert.equal(both(tree), '<li><b>x</b></li>');
    const shadowed: Rendered = { ...tree, p: { 0: ['<i>', '</i>'] } };
    assert.equal(both(shadowed), '<li><i>x</i></li>');
  });

  it('renders an empty comprehension as nothing', () => {
    assert.equal(both({ s: ['<ul>', '</ul>'], 0: { s: ['<li>', '</li>'], k: { kc: 0 } } }), '<ul></ul>');
  });

  it('refuses components, moves, missing statics and dangling indexes: it renders full trees only', () => {
    assert.throws(() => renderedToHTML({ s: ['', ''], 0: 1 }), isTemplateError);
    assert.throws(() => renderedToHTML({ s: ['', ''], 0: { s: ['<li>', '</li>'], k: { 0: 1, kc: 1 } } }), isTemplateError);
    assert.throws(() => renderedToHTML({ s: ['', ''], 0: { 0: 'x' } } as Rendered), isTemplateError);
    assert.throws(() => renderedToHTML({ s: ['', ''], 0: { s: 3, 0: 'x' } }), isTemplateError);
    assert.throws(() => renderedToHTML({ s: ['', ''], 0: { s: ['<li>', '</li>'], k: { kc: 2, 0: { 0: 'a' } } } }), isTemplateError);
  });
});

describe('templateToHTML', () => {
  it('renders a template as a freshly joined client would see it', () => {
    const t = html`<ul>${each(['a', 'b'], (x) => x, (x) => html`<li>${x}</li>`)}</ul>`;
    assert.equal(templateToHTML(t), '<ul><li>a</li><li>b</li></ul>');
  });
});
