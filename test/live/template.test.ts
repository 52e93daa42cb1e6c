import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import fc from 'fast-check';
import { isTodoLiveError } from '../../src/errors.js';
import { templateToHTML } from '../../src/live/render-html.js';
import {
  attr,
  callSite,
  type Dynamic,
  each,
  escapeHTML,
  fingerprint,
  html,
  isDevMode,
  KeyedList,
  leafToHTML,
  Raw,
  raw,
  setDevMode,
  Template,
} from '../../src/live/template.js';

const render = templateToHTML;
const isTemplateError = (err: unknown) => isTodoLiveError(err, 'LIVE_TEMPLATE');

describe('html', () => {
  it('returns the call site strings and the values without rendering anything', () => {
    const t = html`<li class="${'a'}">${'b'}</li>`;
    assert.ok(t instanceof Template);
    assert.deepEqual([...t.strings], ['<li class="', '">', '</li>']);
    assert.deepEqual(t.values, ['a', 'b']);
  });

  it('hands every evaluation of one call site the same strings array', () => {
    const site = (x: string) => html`<p>${x}</p>`;
    assert.equal(site('a').strings, site('b').strings);
    assert.notEqual(html`<p>${'a'}</p>`.strings, site('a').strings);
  });
});

describe('escaping', () => {
  it('escapes text content', () => {
    assert.equal(render(html`<p>${`<script>alert("x") & 'y'</script>`}</p>`), '<p>&lt;script&gt;alert(&quot;x&quot;) &amp; &#39;y&#39;&lt;/script&gt;</p>');
  });

  it('escapes attribute values in double and single quotes', () => {
    const hostile = `" onmouseover="alert(1)' x='`;
    assert.equal(
      render(html`<a title="${hostile}" data-x='${hostile}'>x</a>`),
      `<a title="&quot; onmouseover=&quot;alert(1)&#39; x=&#39;" data-x='&quot; onmouseover=&quot;alert(1)&#39; x=&#39;'>x</a>`,
    );
  });

  it('leaves entities as typed text rather than decoding them', () => {
    assert.equal(render(html`<p>${'&amp;'}</p>`), '<p>&amp;amp;</p>');
  });

  it('returns the same string when there is nothing to escape', () => {
    const s = 'plain text, no markup';
    assert.equal(escapeHTML(s), s);
  });

  it('never lets a markup character through and is reversible', () => {
    const decode = (s: string) =>
      s.replace(/&(lt|gt|quot|#39|amp);/g, (_, e: string) => ({ lt: '<', gt: '>', quot: '"', '#39': "'", amp: '&' })[e] as string);
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 80 }), (s) => {
        const out = escapeHTML(s);
        assert.ok(!/[<>"']/.test(out));
        assert.equal(decode(out), s);
      }),
      { numRuns: 300 },
    );
  });
});

describe('values', () => {
  it('renders null, undefined and false as nothing, true and numbers as text', () => {
    assert.equal(render(html`[${null}|${undefined}|${false}|${true}|${0}|${-1.5}|${10n}]`), '[|||true|0|-1.5|10]');
  });

  it('inserts raw() verbatim and refuses anything but a string', () => {
    assert.equal(render(html`<div>${raw('<b>trusted</b>')}</div>`), '<div><b>trusted</b></div>');
    assert.throws(() => raw(42 as unknown as string), isTemplateError);
  });

  it('refuses objects that are not templates, raw HTML or lists, naming what arrived', () => {
    assert.throws(
      () => render(html`<p>${{ title: 'x' } as unknown as string}</p>`),
      (err: unknown) => isTemplateError(err) && /object with keys \{title\}/.test((err as Error).message),
    );
    assert.throws(() => leafToHTML(Symbol('s')), isTemplateError);
    assert.throws(() => leafToHTML(() => 1), isTemplateError);
  });

  it('builds attribute fragments whose presence varies', () => {
    assert.equal(attr('checked', true).html, ' checked');
    assert.equal(attr('checked', false).html, '');
    assert.equal(attr('title', null).html, '');
    assert.equal(attr('title', undefined).html, '');
    assert.equal(attr('title', 'a "b" <c>').html, ' title="a &quot;b&quot; &lt;c&gt;"');
    assert.equal(attr('data-n', 3).html, ' data-n="3"');
    assert.ok(attr('x', true) instanceof Raw);
    assert.equal(render(html`<input type="checkbox"${attr('checked', true)}>`), '<input type="checkbox" checked>');
  });

  it('refuses an attribute name that could break out of the tag', () => {
    for (const name of ['', 'a b', 'x"', 'on>click', '1a']) assert.throws(() => attr(name, true), isTemplateError);
  });

  it('refuses a bad name every time, and still checks names after many good ones', () => {
    for (let i = 0; i < 1000; i++) assert.equal(attr(`data-n${i}`, true).html, ` data-n${i}`);
    for (let round = 0; round < 2; round++) {
      for (const name of ['a b', 'x"', 'data-n1 onclick']) assert.throws(() => attr(name, true), isTemplateError);
    }
  });
});

describe('nesting and conditionals', () => {
  it('renders nested templates in place', () => {
    const inner = (x: string) => html`<em>${x}</em>`;
    assert.equal(render(html`<p>${inner('a')} and ${inner('<b>')}</p>`), '<p><em>a</em> and <em>&lt;b&gt;</em></p>');
  });

  it('renders a conditional branch or nothing', () => {
    const view = (on: boolean) => html`<div>${on ? html`<span>on</span>` : ''}${on ? null : html`<i>off</i>`}</div>`;
    assert.equal(render(view(true)), '<div><span>on</span></div>');
    assert.equal(render(view(false)), '<div><i>off</i></div>');
  });
});

describe('lists', () => {
  afterEach(() => setDevMode(true));

  it('renders keyed entries in order, computing keys and entries when built', () => {
    let calls = 0;
    const list = each(
      ['a', 'b', 'c'],
      (x) => x,
      (x, i) => {
        calls++;
        return html`<li>${i}:${x}</li>`;
      },
    );
    assert.equal(calls, 3);
    assert.ok(list instanceof KeyedList);
    assert.deepEqual(list.keys, ['a', 'b', 'c']);
    assert.equal(render(html`<ul>${list}</ul>`), '<ul><li>0:a</li><li>1:b</li><li>2:c</li></ul>');
  });

  it('accepts any iterable', () => {
    const list = each(new Set([3, 1]), (x) => x, (x) => html`<b>${x}</b>`);
    assert.equal(render(html`${list}`), '<b>3</b><b>1</b>');
  });

  it('renders plain arrays of mixed values by position', () => {
    assert.equal(render(html`<p>${['a', 1, null, html`<b>${'<'}</b>`, [2, 3]]}</p>`), '<p>a1<b>&lt;</b>23</p>');
  });

  it('renders an empty list as nothing', () => {
    assert.equal(render(html`<ul>${each([], String, () => '')}</ul>`), '<ul></ul>');
    assert.equal(render(html`<ul>${[]}</ul>`), '<ul></ul>');
  });

  it('refuses duplicate keys in development, naming the key and where it repeats', () => {
    assert.ok(isDevMode());
    assert.throws(
      () => each([1, 2, 1], (x) => x, (x) => html`<li>${x}</li>`),
      (err: unknown) => isTemplateError(err) && /number 1 twice \(again at position 2\)/.test((err as Error).message),
    );
  });

  it('refuses keys that are not strings or numbers in development', () => {
    assert.throws(() => each([{}], (x) => x as unknown as string, () => ''), isTemplateError);
  });

  it('skips the key checks when development checks are off', () => {
    setDevMode(false);
    const list = each([1, 1], (x) => x, (x) => html`<li>${x}</li>`);
    assert.deepEqual(list.keys, [1, 1]);
  });
});

describe('fingerprint', () => {
  it('gives each call site one small id, stable across calls', () => {
    const a = (x: number) => html`<a>${x}</a>`;
    const b = (x: number) => html`<a>${x}</a>`;
    const id = fingerprint(a(1).strings);
    assert.ok(Number.isInteger(id) && id >= 0);
    assert.equal(fingerprint(a(2).strings), id);
    assert.notEqual(fingerprint(b(1).strings), id);
  });

  it('refuses strings that did not come from a tagged template', () => {
    const forged = ['<p>', '</p>'] as unknown as TemplateStringsArray;
    assert.throws(() => fingerprint(forged), isTemplateError);
    assert.throws(() => render(new Template(forged, ['x'])), isTemplateError);
  });

  it('refuses a value in an unquoted attribute, where escaping cannot protect', () => {
    assert.throws(
      () => render(html`<input value=${'x onfocus=alert(1)'}>`),
      (err: unknown) => isTemplateError(err) && /unquoted attribute value/.test((err as Error).message),
    );
    assert.throws(() => render(html`<a href="/" title = ${'x'}>`), isTemplateError);
  });

  it('refuses a value inside a script or style body', () => {
    assert.throws(() => render(html`<script>var x = ${'1'};</script>`), isTemplateError);
    assert.throws(() => render(html`<STYLE>p { color: ${'red'} }</STYLE>`), isTemplateError);
  });

  it('accepts values in text, quoted attributes, attribute-fragment positions and comments', () => {
    assert.equal(
      render(html`<p class="${'a'}" id='${'b'}'${attr('hidden', true)}>${'t'}</p><!-- ${'c'} --><script src="${'/x.js'}"></script>${'after'}`),
      `<p class="a" id='b' hidden>t</p><!-- c --><script src="/x.js"></script>after`,
    );
  });

  it('refuses a value in a tag name', () => {
    assert.throws(() => render(html`<${'img src=x onerror=alert(1)'}>`), (err: unknown) => isTemplateError(err) && /tag name/.test((err as Error).message));
    assert.throws(() => render(html`<b></${'b'}>`), isTemplateError);
  });

  it('takes only bare attribute names, attr(), raw() or nothing among a tag\'s attributes', () => {
    const input = (v: Dynamic) => html`<input type="checkbox"${v}>`;
    assert.equal(render(input(' checked')), '<input type="checkbox" checked>');
    assert.equal(render(input(' checked disabled ')), '<input type="checkbox" checked disabled >');
    assert.equal(render(input(attr('title', 'x'))), '<input type="checkbox" title="x">');
    for (const ok of ['', null, undefined, false, raw(' data-x="1"')]) render(input(ok));
    for (const bad of [' onclick=alert(1)', 'x"', html`<b>${'x'}</b>`, [' checked']] as Dynamic[]) {
      assert.throws(
        () => render(input(bad)),
        (err: unknown) => isTemplateError(err) && /among a tag's attributes/.test((err as Error).message),
      );
    }
  });

  it('reports the call site once scanned: its id and the slots among attributes', () => {
    const t = html`<a href="${'/'}"${attr('x', 1)}>${'t'}</a>`;
    const site = callSite(t.strings);
    assert.equal(site.strings, t.strings);
    assert.equal(site.id, fingerprint(t.strings));
    assert.deepEqual(site.attributeSlots, [1]);
    assert.equal(callSite(html`<p>${1}</p>`.strings).attributeSlots, null);
  });

  it('does not mistake a quoted greater-than sign for the end of a tag', () => {
    assert.throws(() => render(html`<a title="a>b" href=${'x'}>`), isTemplateError);
  });
});
