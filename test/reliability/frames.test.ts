/**
 * Frames and the protocol decoder against the real app, each with a bystander: another user
 * whose tab is open the whole time and must neither notice nor change. The decoder's own
 * properties are in `test/live/frames.test.ts`; the fixture-server versions of several cases
 * are in `test/integration/live-security.test.ts`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { LiveClient, type WireFrame } from '../support/live-client.js';
import { type StartedApp, startApp } from '../support/start-app.js';
import { TodoTab } from '../support/todo-tab.js';

let server: StartedApp;
let bystander: TodoTab;
const open: { close(): Promise<void> }[] = [];
const BYSTANDER_TODOS = ['bystander one', 'bystander two'];

before(async () => {
  server = await startApp();
  bystander = await TodoTab.open(server.url);
  for (const title of BYSTANDER_TODOS) await bystander.add(title);
});

after(async () => {
  await Promise.all(open.map((c) => c.close().catch(() => {})));
  await bystander.close();
  await server.stop();
  server.remove();
});

async function joined(): Promise<LiveClient> {
  const client = await LiveClient.open(server.url, '/');
  open.push(client);
  assert.equal((await client.join()).status, 'ok');
  return client;
}

/** The bystander's tab still answers, shows its todos, and its stored list did not move. */
async function assertBystanderUntouched(): Promise<void> {
  assert.deepEqual(bystander.titles(), BYSTANDER_TODOS);
  const userId = bystander.client.jar.get('todo_live_session')!.split('.')[0]!;
  const stored = await server.app.store.load(userId);
  assert.deepEqual(
    stored.todos.map((t) => t.title),
    BYSTANDER_TODOS,
  );
  assert.equal((await bystander.client.heartbeat()).status, 'ok');
  await bystander.toggle('bystander one');
  await bystander.toggle('bystander one');
  assert.equal(bystander.todos()[0]?.completed, false);
}

/** Sends `text` and resolves with the first frame that answers `ref`, or the close. */
async function sendAndAwait(client: LiveClient, text: string, ref: string | null): Promise<WireFrame | { code: number }> {
  const answer = client.waitFor((f) => (ref === null ? true : f[1] === ref), 3000);
  client.sendText(text);
  return Promise.race([answer, client.closed]).catch(() => client.closed);
}

describe('malformed frames', () => {
  it('answers or closes on every kind of broken frame, and the bystander never notices', async () => {
    let client = await joined();
    const cases: { name: string; text: (c: LiveClient) => string; expect: 'reply' | 1007 | 1003 }[] = [
      { name: 'not JSON', text: () => 'hello', expect: 1007 },
      { name: 'empty text', text: () => '', expect: 1007 },
      { name: 'JSON string', text: () => '"phx_join"', expect: 1007 },
      { name: 'four elements', text: (c) => JSON.stringify([c.joinRef, 'r1', c.topic, 'event']), expect: 'reply' },
      { name: 'six elements', text: (c) => JSON.stringify([c.joinRef, 'r2', c.topic, 'event', {}, {}]), expect: 'reply' },
      { name: 'null topic', text: (c) => JSON.stringify([c.joinRef, 'r3', null, 'event', {}]), expect: 1007 },
      { name: 'numeric event', text: (c) => JSON.stringify([c.joinRef, 'r4', c.topic, 42, {}]), expect: 'reply' },
      { name: 'payload a string', text: (c) => JSON.stringify([c.joinRef, 'r5', c.topic, 'event', 'x']), expect: 'reply' },
      { name: 'payload null', text: (c) => JSON.stringify([c.joinRef, 'r6', c.topic, 'event', null]), expect: 'reply' },
      { name: 'unknown channel event', text: (c) => JSON.stringify([c.joinRef, 'r7', c.topic, 'allow_upload', {}]), expect: 'reply' },
      { name: 'unknown phoenix event', text: () => JSON.stringify([null, 'r8', 'phoenix', 'shutdown', {}]), expect: 'reply' },
      {
        name: 'unknown todo event',
        text: (c) => JSON.stringify([c.joinRef, 'r9', c.topic, 'event', { type: 'click', event: 'drop-tables', value: {} }]),
        expect: 'reply',
      },
      {
        name: 'event named after an Object.prototype member',
        text: (c) => JSON.stringify([c.joinRef, 'r10', c.topic, 'event', { type: 'click', event: '__proto__', value: {} }]),
        expect: 'reply',
      },
      {
        name: 'event named constructor',
        text: (c) => JSON.stringify([c.joinRef, 'r11', c.topic, 'event', { type: 'click', event: 'constructor', value: {} }]),
        expect: 'reply',
      },
      { name: 'ref too long', text: (c) => JSON.stringify([c.joinRef, 'r'.repeat(1000), c.topic, 'event', {}]), expect: 1007 },
      { name: 'topic of 10,000 characters', text: (c) => JSON.stringify([c.joinRef, 'r12', 'lv:'.padEnd(10_000, 'x'), 'event', {}]), expect: 1007 },
    ];
    for (const c of cases) {
      if (client.socket.readyState !== client.socket.OPEN) client = await joined();
      const ref = c.expect === 'reply' ? (/"(r\d+)"/.exec(c.text(client))?.[1] ?? null) : null;
      const outcome = await sendAndAwait(client, c.text(client), ref);
      if (c.expect === 'reply') {
        assert.ok(Array.isArray(outcome), `${c.name}: expected a reply, got ${JSON.stringify(outcome)}`);
        assert.equal(outcome[3], 'phx_reply', c.name);
      } else {
        assert.ok(!Array.isArray(outcome), `${c.name}: expected a close, got ${JSON.stringify(outcome)}`);
        assert.equal(outcome.code, c.expect, c.name);
      }
    }
    const binary = await joined();
    binary.socket.send(Buffer.from([0x83, 0x00, 0xff]), { binary: true });
    assert.equal((await binary.closed).code, 1003);
    await assertBystanderUntouched();
  });

  it('closes a socket after too many bad frames even when each could be answered', async () => {
    const client = await joined();
    for (let i = 0; i < 20 && client.socket.readyState === client.socket.OPEN; i++) {
      client.sendText(JSON.stringify([client.joinRef, `b${i}`, client.topic, 'event', 'not an object']));
    }
    assert.equal((await client.closed).code, 1007);
    await assertBystanderUntouched();
  });

  it('answers both frames of a duplicated ref, in order', async () => {
    const client = await joined();
    const replies: WireFrame[] = [];
    const both = new Promise<void>((resolve) => {
      client.socket.on('message', (data) => {
        const f = JSON.parse(String(data)) as WireFrame;
        if (f[1] === 'dup' && f[3] === 'phx_reply') replies.push(f);
        if (replies.length === 2) resolve();
      });
    });
    const frame = JSON.stringify([client.joinRef, 'dup', client.topic, 'event', { type: 'form', event: 'draft', value: 'title=x' }]);
    client.sendText(frame);
    client.sendText(frame);
    await both;
    assert.deepEqual(
      replies.map((f) => (f[4] as { status: string }).status),
      ['ok', 'ok'],
    );
  });
});

describe('size and shape limits', () => {
  it('takes a frame of exactly 64 KiB and closes with 1009 on one byte more', async () => {
    const client = await joined();
    const frameOf = (bytes: number) => {
      const head = JSON.stringify([client.joinRef, 'big', client.topic, 'event', { type: 'form', event: 'draft', value: 'title=' }]);
      const pad = bytes - head.length;
      return head.replace('"title="', `"title=${'a'.repeat(pad)}"`);
    };
    const exact = frameOf(64 * 1024);
    assert.equal(Buffer.byteLength(exact), 64 * 1024);
    const reply = await sendAndAwait(client, exact, 'big');
    assert.ok(Array.isArray(reply), 'a frame at the limit is answered');
    const over = frameOf(64 * 1024 + 1);
    client.sendText(over);
    assert.equal((await client.closed).code, 1009);
    const huge = await joined();
    huge.sendText(JSON.stringify([huge.joinRef, 'h', huge.topic, 'event', { type: 'form', event: 'add', value: `title=${'x'.repeat(1024 * 1024)}` }]));
    assert.equal((await huge.closed).code, 1009);
    await assertBystanderUntouched();
  });

  it('answers payloads nested 10,000 deep without blowing the stack', async () => {
    const client = await joined();
    const deepArray = `${'['.repeat(10_000)}${']'.repeat(10_000)}`;
    const deepObject = `${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}`;
    const frames = [
      `[${JSON.stringify(client.joinRef)},"d1",${JSON.stringify(client.topic)},"event",{"type":"click","event":"toggle","value":{"id":${deepArray},"completed":"true"}}]`,
      `[${JSON.stringify(client.joinRef)},"d2",${JSON.stringify(client.topic)},"event",{"type":"hook","event":"edit","value":${deepObject}}]`,
      `[${JSON.stringify(client.joinRef)},"d3",${JSON.stringify(client.topic)},"event",${deepObject}]`,
      `[${JSON.stringify(client.joinRef)},"d4",${JSON.stringify(client.topic)},"live_patch",{"url":${deepArray}}]`,
      `[null,"d5","phoenix","heartbeat",${deepArray}]`,
    ];
    for (const [i, text] of frames.entries()) {
      const outcome = await sendAndAwait(client, text, `d${i + 1}`);
      assert.ok(Array.isArray(outcome), `frame d${i + 1} was answered, not ${JSON.stringify(outcome)}`);
    }
    assert.equal((await client.heartbeat()).status, 'ok');
    await assertBystanderUntouched();
  });

  it('lets no __proto__ or constructor key of an event reach a prototype', async () => {
    const client = await joined();
    const raw =
      `[${JSON.stringify(client.joinRef)},"p1",${JSON.stringify(client.topic)},"event",` +
      `{"type":"click","event":"toggle","value":{"id":"1","completed":"true","__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}}}}]`;
    await sendAndAwait(client, raw, 'p1');
    await client.submit('add', 'op=proto-op-0001&title=x&__proto__[polluted]=yes&constructor[prototype][polluted]=yes');
    await client.submit('save', '__proto__%5Bpolluted%5D=yes&title=y');
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted'), false);
    await assertBystanderUntouched();
  });
});

describe('floods', () => {
  it('rate-limits a burst of 1,000 events in a second, closing the socket with 1008, while the bystander stays fast', async () => {
    const client = await joined();
    let ok = 0;
    let limited = 0;
    client.socket.on('message', (data) => {
      const f = JSON.parse(String(data)) as WireFrame;
      if (f[3] !== 'phx_reply' || !String(f[1]).startsWith('f')) return;
      const body = f[4] as { status: string; response: { reason?: string } };
      if (body.status === 'ok') ok++;
      else if (body.response.reason === 'rate limited') limited++;
    });
    const started = Date.now();
    for (let i = 0; i < 1000 && client.socket.readyState === client.socket.OPEN; i++) {
      client.sendText(JSON.stringify([client.joinRef, `f${i}`, client.topic, 'event', { type: 'form', event: 'draft', value: `title=${i}` }]));
      if (i % 100 === 99) await new Promise((r) => setTimeout(r, 90));
    }
    const sentFor = Date.now() - started;
    const closed = await client.closed;
    assert.equal(closed.code, 1008);
    assert.ok(ok >= 40 && ok <= 80, `the burst (40) and the refill were admitted, not more: ${ok} in ${sentFor} ms`);
    assert.ok(limited >= 40, `refusals were answered before the close: ${limited}`);
    const t = Date.now();
    await assertBystanderUntouched();
    assert.ok(Date.now() - t < 2000, 'the bystander was answered promptly');
  });

  it('survives a flood of 300 joins on one socket, ending with one live view', async () => {
    const client = await LiveClient.open(server.url, '/');
    open.push(client);
    const before = server.app.system.snapshot().filter((s) => s.type === 'live-view').length;
    let last: Promise<unknown> = Promise.resolve();
    for (let i = 0; i < 300; i++) last = client.join().catch((err: unknown) => err);
    await last;
    if (client.socket.readyState === client.socket.OPEN) {
      assert.equal((await client.heartbeat()).status, 'ok');
      await client.close();
    }
    // Replaced joins stop their views; once the socket is gone, none of its views remain.
    const deadline = Date.now() + 5000;
    let now = Infinity;
    while (Date.now() < deadline) {
      now = server.app.system.snapshot().filter((s) => s.type === 'live-view').length;
      if (now <= before) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(now <= before, `view servers back to ${before}, found ${now}`);
    await assertBystanderUntouched();
  });
});
