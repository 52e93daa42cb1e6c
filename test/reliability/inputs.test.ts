/**
 * Hostile titles, ids and form payloads against the real app: what is stored obeys the title
 * rules whatever was typed, markup never reaches the page as markup, ids never reach another
 * user's list, and the per-user limit holds. Simpler cases (unknown ids, a few missing
 * fields, a retried submit) are in `test/integration/todo-actions.test.ts`.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { LiveClient } from '../support/live-client.js';
import { useSharedApp } from '../support/shared-app.js';
import { TodoTab } from '../support/todo-tab.js';

const server = useSharedApp();
const open = (path?: string): Promise<TodoTab> => server.open(path);

const userOf = (tab: TodoTab) => tab.client.jar.get('todo_live_session')!.split('.')[0]!;
const stored = async (tab: TodoTab) => (await server.app.store.load(userOf(tab))).todos;

let opSeq = 0;
/** A fresh operation id of the shape the page renders. */
const nextOp = () => `reliability-op-${++opSeq}`;

/** A title as the rules say a stored one must look, checked independently of their code. */
function assertWellFormedTitle(title: string, from: string): void {
  const why = `stored ${JSON.stringify(title)} from ${JSON.stringify(from)}`;
  assert.ok(title.length > 0, why);
  assert.equal(title, title.trim(), `${why}: trimmed`);
  assert.equal(title, title.normalize('NFC'), `${why}: NFC`);
  assert.doesNotMatch(title, /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/, `${why}: one line, no control characters`);
  assert.ok(!/\p{Surrogate}/u.test(title), `${why}: no lone surrogate`);
  assert.ok([...title].length <= 500, `${why}: at most 500 code points`);
}

describe('hostile titles', () => {
  it('stores named hostile titles normalised, refuses what cannot be a title, and renders all as text', async () => {
    const tab = await open();
    const cases: [string, string | null][] = [
      ['', null],
      [' \t\n\r ', null],
      ['\u0000\u0001\u0002', null],
      ['a\u0000b\u0007c\u001bd\u007fe\u0085f', 'a b c d e f'],
      ['line one\nline two\r\nthree\u2028four', 'line one line two  three four'],
      ['\u202eevil\u202c.exe', '\u202eevil\u202c.exe'],
      ['e\u0301 n\u0303 \uD83D\uDC69\u200D\uD83D\uDE80 \uD83D\uDC4D\uD83C\uDFFD', 'é ñ 👩‍🚀 👍🏽'],
      ['lone \uD800 high and \uDFFF low', 'lone \uFFFD high and \uFFFD low'],
      ['<script>alert(1)</script>', '<script>alert(1)</script>'],
      ['"><img src=x onerror=alert(1)>', '"><img src=x onerror=alert(1)>'],
      ["' onmouseover='alert(1)", "' onmouseover='alert(1)"],
      ['{{7*7}} ${7*7} <%= 7*7 %>', '{{7*7}} ${7*7} <%= 7*7 %>'],
      ["Robert'); DROP TABLE todos;--", "Robert'); DROP TABLE todos;--"],
      ['x'.repeat(10_000), null],
      ['👍'.repeat(501), null],
    ];
    const expected: string[] = [];
    for (const [input, result] of cases) {
      const op = tab.addOp();
      await tab.client.change('draft', { op, title: input }, 'title');
      const reply = await tab.client.submit('add', { op, title: input });
      assert.equal(reply.status, 'ok', `acknowledged: ${JSON.stringify(input.slice(0, 40))}`);
      if (result !== null) expected.push(result);
      assert.deepEqual(tab.titles(), expected, `after ${JSON.stringify(input.slice(0, 40))}`);
    }
    assert.deepEqual(
      (await stored(tab)).map((t) => t.title),
      expected,
    );
    // The dead render and the live view both carry the markup as text only.
    const page = await LiveClient.fetchPage(server.url, '/', tab.client.jar);
    for (const html of [page.html, tab.html()]) {
      assert.doesNotMatch(html, /<script>alert|<img src=x|onmouseover='alert/);
    }
    assert.doesNotMatch(page.html, /<script(?![^>]*src="\/assets\/)/, 'no script element but the bundle');
  });

  it('keeps every stored title well-formed whatever is typed (property, 150 titles)', async () => {
    const first = await open();
    const hostileChar = fc.constantFrom(
      '\u0000', '\t', '\n', '\r', '\u0007', '\u001b', '\u007f', '\u0085', '\u2028', '\u2029', '\u202e', '\u200d',
      '\uD800', '\uDC00', '\uFEFF', '\u0301', '<', '>', '&', '"', "'", '`', '\\', ' ', '\u00a0', '\u3000',
    );
    const title = fc.oneof(
      fc.string({ maxLength: 60, unit: 'binary' }),
      fc.string({ maxLength: 60, unit: 'grapheme' }),
      fc.array(fc.oneof(hostileChar, fc.string({ maxLength: 4 })), { maxLength: 40 }).map((parts) => parts.join('')),
      fc.string({ minLength: 490, maxLength: 520, unit: 'grapheme-ascii' }),
    );
    const samples = fc.sample(title, { numRuns: 150, seed: 424242 });
    let accepted = 0;
    let tab = first;
    for (const [i, input] of samples.entries()) {
      // A fresh tab of the same browser every 30 submits stays under the per-socket rate limit.
      if (i > 0 && i % 30 === 0) {
        tab = await tab.sibling();
        server.track(tab);
      }
      const before = tab.todos().length;
      const reply = await tab.client.submit('add', { op: tab.addOp(), title: input });
      assert.equal(reply.status, 'ok');
      if (tab.todos().length > before) accepted++;
    }
    const list = await stored(tab);
    assert.equal(list.length, accepted, 'the page shows exactly what was stored');
    for (const [i, todo] of list.entries()) assertWellFormedTitle(todo.title, `sample #${i}`);
    assert.deepEqual(
      tab.titles(),
      list.map((t) => t.title),
      'rendered titles read back exactly as stored',
    );
    assert.ok(accepted > 50, `enough titles were accepted to mean something: ${accepted}`);
  });
});

describe('hostile ids', () => {
  it("never touches another user's todo, whatever id shape is sent", async () => {
    // Ids are numbered per list, so the victim's id is one the attacker's own list never had:
    // the attack can only reach another list by its id, and must not.
    const victim = await open();
    await victim.add('victim first');
    await victim.add('victim todo');
    const victimId = String(victim.idOf('victim todo'));
    const attacker = await open();
    await attacker.add('attacker todo');
    assert.notEqual(String(attacker.idOf('attacker todo')), victimId);
    const ids = [victimId, ` ${victimId}`, `${victimId}.0`, `+${victimId}`, `0${victimId}`, `0x${Number(victimId).toString(16)}`];
    for (const id of ids) {
      for (const [event, value] of [
        ['toggle', { id, value: 'on' }],
        ['destroy', { id }],
        ['edit', { id }],
      ] as const) {
        assert.equal((await attacker.client.click(event, value)).status, 'ok', `${event} ${id}`);
      }
      await attacker.client.blur('save', { id, value: 'renamed by attacker' });
      await attacker.client.submit('save', { id, op: nextOp(), title: 'renamed by attacker' });
    }
    const victimStored = await stored(victim);
    assert.deepEqual(
      victimStored.map((t) => [t.title, t.completed]),
      [['victim first', false], ['victim todo', false]],
    );
    assert.deepEqual(attacker.titles(), ['attacker todo']);
    assert.deepEqual(victim.titles(), ['victim first', 'victim todo']);
  });

  it('refuses ids that are strings, floats, negative, huge or not ASCII digits, changing nothing', async () => {
    const tab = await open();
    await tab.add('keep me');
    const real = tab.idOf('keep me');
    // A JSON number is stringified by the protocol layer as Phoenix does, so the todo's own
    // id as a number is a valid id, not a hostile one; its negation and fractions are not.
    const ids: unknown[] = [
      'abc', '1.5', '-1', '1e309', 'NaN', 'Infinity', '9'.repeat(15), '9'.repeat(16), '١', '１', `${real}\u0000`,
      `${real} OR 1=1`, '', null, 1.5, -real, real + 0.5, true, [String(real)], { id: String(real) },
    ];
    let client = tab.client;
    for (const [i, id] of ids.entries()) {
      if (i === 10) {
        // A second tab of the same browser stays under the per-socket rate limit.
        const second = await tab.sibling();
        server.track(second);
        client = second.client;
      }
      assert.equal((await client.click('toggle', { id, value: 'on' })).status, 'ok');
      assert.equal((await client.click('destroy', { id })).status, 'ok');
    }
    assert.deepEqual(
      (await stored(tab)).map((t) => [t.title, t.completed]),
      [['keep me', false]],
    );
  });
});

describe('form payloads', () => {
  it('adds only the title of a submit with extra fields, and nothing for missing or mistyped ones', async () => {
    const victim = await open();
    const tab = await open();
    const extra = new URLSearchParams({
      op: nextOp(),
      title: 'with extras',
      completed: 'true',
      id: '1',
      user_id: userOf(victim),
      userId: userOf(victim),
      position: '-5',
    }).toString();
    assert.equal((await tab.client.submit('add', extra)).status, 'ok');
    const list = await stored(tab);
    assert.deepEqual(
      list.map((t) => [t.title, t.completed]),
      [['with extras', false]],
    );
    assert.deepEqual(await stored(victim), []);

    for (const body of [
      'title=no+op',
      `op=${nextOp()}`,
      `op=short&title=bad+op`,
      `op=${'x'.repeat(65)}&title=long+op`,
      `op=${nextOp()}&title[nested]=x`,
      `op[]=${nextOp()}&title=array+op`,
      '',
      '&&&==&',
    ]) {
      assert.equal((await tab.client.submit('add', body)).status, 'ok', body);
    }
    assert.deepEqual(
      (await stored(tab)).map((t) => t.title),
      ['with extras'],
    );
    // Broken percent-encoding is decoded leniently into text, never into anything else.
    await tab.client.submit('add', `op=${nextOp()}&title=%E0%A4%A%00%ZZ`);
    const last = (await stored(tab)).at(-1)!.title;
    assertWellFormedTitle(last, '%E0%A4%A%00%ZZ');
  });

  it('takes one title from a repeated field, never two todos from one submit', async () => {
    const tab = await open();
    await tab.client.submit('add', `op=${nextOp()}&title=first&title=second`);
    const titles = (await stored(tab)).map((t) => t.title);
    assert.ok(titles.length <= 1, `one submit stores at most one todo, got ${JSON.stringify(titles)}`);
  });
});

describe('the per-user limit on the default configuration', () => {
  it('refuses the 1,001st todo, and toggle all and clear completed work on 0, 1 and 1,000 todos', { timeout: 60_000 }, async () => {
    // Empty list: both bulk controls are harmless.
    const empty = await open();
    assert.equal((await empty.client.click('toggle-all', { op: nextOp(), value: 'on' })).status, 'ok');
    assert.equal((await empty.client.click('clear-completed', { op: nextOp() })).status, 'ok');
    assert.deepEqual(await stored(empty), []);

    const one = await open();
    await one.add('only');
    await one.toggleAll();
    assert.deepEqual(
      (await stored(one)).map((t) => t.completed),
      [true],
    );
    await one.clearCompleted();
    assert.deepEqual(await stored(one), []);

    // A full list is written straight to the store (a thousand submits would only test the
    // rate limit), then the tab works on it through the page.
    const jar = TodoTab.newBrowser();
    await LiveClient.fetchPage(server.url, '/', jar);
    const userId = jar.get('todo_live_session')!.split('.')[0]!;
    await Promise.all(
      Array.from({ length: 1000 }, (_, i) => server.app.store.apply({ userId, opId: `fill-${i}`, mutation: { kind: 'add', title: `todo ${i}` } })),
    );
    const full = await TodoTab.open(server.url, '/', { jar });
    server.track(full);
    assert.equal(full.todos().length, 1000);
    await full.add('one too many');
    assert.equal(full.todos().length, 1000);
    assert.match(full.html(), /already holds 1000 todos/);
    assert.equal(full.draft(), 'one too many');
    assert.equal((await stored(full)).length, 1000);
    await full.toggleAll();
    assert.ok(full.todos().every((t) => t.completed));
    assert.ok((await stored(full)).every((t) => t.completed));
    await full.clearCompleted();
    assert.deepEqual(full.todos(), []);
    assert.deepEqual(await stored(full), []);
  });
});
