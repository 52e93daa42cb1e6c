/**
 * The frame and event fuzzer (design §2.4): random frames, mutated Phoenix frames and random
 * TodoMVC event payloads sent over a real socket to the real app, one at a time. Properties:
 * every frame is answered or closes its socket with a protocol close code; the process never
 * sees an uncaught exception or an unhandled rejection; a bystander user's socket keeps
 * working and its list never changes; whatever the fuzzed user ends up with in the store obeys
 * the title rules and is exactly what a fresh page of that user shows.
 *
 * Used by `fuzz.test.ts` (a couple of thousand cases in CI) and `scripts/fuzz.ts` (long runs).
 */
import fc from 'fast-check';
import { CookieJar, LiveClient, type WireFrame } from '../support/live-client.js';
import type { StartedApp } from '../support/start-app.js';
import { TodoTab } from '../support/todo-tab.js';

export interface FuzzOptions {
  runs: number;
  seed: number;
  /** Check the bystander every this many cases. Default 250. */
  checkEvery?: number;
  /** Called every `checkEvery` cases with the progress so far. */
  onProgress?: (stats: FuzzStats) => void;
}

export interface FuzzStats {
  cases: number;
  replies: number;
  /** Close codes seen on the fuzzed sockets, by code. */
  closes: Record<string, number>;
  /** Frames neither answered nor followed by a close within the wait (must stay 0). */
  silent: number;
  sockets: number;
  bystanderChecks: number;
  uncaught: number;
  /** The fuzzed user's todos at the end. */
  storedTodos: number;
  /** The fuzzed user's store version at the end: how many changes were committed. */
  committedChanges: number;
  failures: string[];
}

const TODO_EVENTS = ['draft', 'add', 'toggle', 'toggle-all', 'edit', 'save', 'cancel', 'destroy', 'clear-completed'];
const BYSTANDER_TITLES = ['bystander A', 'bystander B'];

// Strings a hostile page would try: markup, control characters, surrogates, numbers that are
// not quite numbers, prototype names, SQL, very long text.
const hostileString = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ maxLength: 40, unit: 'binary' }),
  fc.constantFrom(
    '', ' ', '\u0000', '\uD800', '\u202e', '<script>alert(1)</script>', '"><img src=x onerror=alert(1)>', '__proto__', 'constructor',
    'toString', 'hasOwnProperty', '1', '-1', '0', '1e309', 'NaN', '9007199254740993', '1.5', '0x1F', '١', "1' OR '1'='1", 'true', 'false',
    'on', 'null', 'undefined', '%00', '%E0%A4%A', '[]', '{}',
  ),
  fc.integer({ min: 1, max: 3000 }).map((n) => 'x'.repeat(n)),
);
const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 6, arbitrary: hostileString },
  { weight: 1, arbitrary: fc.integer() },
  { weight: 1, arbitrary: fc.double() },
  { weight: 1, arbitrary: fc.constantFrom(null, true, false) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
);
const fieldName = fc.oneof(
  { weight: 5, arbitrary: fc.constantFrom('id', 'op', 'title', 'completed', 'value', 'key', 'event', 'type') },
  { weight: 1, arbitrary: fc.constantFrom('__proto__', 'constructor', 'prototype', 'title[]', 'title[x]', 'op[]', '_target', '') },
  { weight: 1, arbitrary: fc.string({ maxLength: 12 }) },
);
const fields = fc.dictionary(fieldName, hostileValue, { maxKeys: 6 });
const formBody = fc.oneof(
  // URLSearchParams turns lone surrogates into U+FFFD, as the browser's form serialisation does.
  fc.array(fc.tuple(fieldName, hostileString), { maxLength: 6 }).map((pairs) => new URLSearchParams(pairs).toString()),
  fc.string({ maxLength: 80 }),
);

/** One fuzz case, resolved against the fuzzed tab's current join. */
type Case =
  | { kind: 'raw'; text: string }
  | { kind: 'binary'; bytes: Uint8Array }
  | { kind: 'frame'; joinRef: 'current' | 'null' | string; topic: 'current' | string; event: string; payload: unknown }
  | { kind: 'todo'; type: string; event: string; value: unknown; meta: unknown };

const refOrJunk = fc.oneof(
  { weight: 6, arbitrary: fc.constant<'current'>('current') },
  { weight: 1, arbitrary: fc.constant<'null'>('null') },
  { weight: 1, arbitrary: fc.string({ maxLength: 6 }) },
);
const topicOrJunk = fc.oneof(
  { weight: 6, arbitrary: fc.constant<'current'>('current') },
  { weight: 1, arbitrary: fc.constantFrom('phoenix', 'lv:phx-elsewhere', 'lvu:0', 'lv:', 'todos:someone') },
  { weight: 1, arbitrary: fc.string({ minLength: 1, maxLength: 20 }) },
);
// Well-formed events with hostile contents, so most cases reach the app's handlers and the
// store. Ids are small numbers: some name the fuzzed user's todos, some the bystander's.
const opId = fc.stringMatching(/^[A-Za-z0-9_-]{8,24}$/);
const smallId = fc.integer({ min: 1, max: 60 }).map(String);
const completed = fc.constantFrom('true', 'false');
const form = (entries: fc.Arbitrary<Record<string, string>>) => entries.map((e) => new URLSearchParams(e).toString());
const wellFormed: fc.Arbitrary<Case> = fc.oneof(
  form(fc.record({ op: opId, title: hostileString })).map((value) => todo('form', 'add', value)),
  form(fc.record({ op: opId, title: hostileString })).map((value) => todo('form', 'draft', value)),
  fc.record({ id: smallId, completed }).map((value) => todo('click', 'toggle', value)),
  fc.record({ op: opId, completed }).map((value) => todo('click', 'toggle-all', value)),
  fc.record({ id: smallId }).map((value) => todo('hook', 'edit', value)),
  form(fc.record({ op: opId, title: hostileString })).map((value) => todo('form', 'save', value)),
  fc.record({ id: smallId, value: hostileString }).map((value) => todo('blur', 'save', value)),
  fc.record({ id: smallId, key: fc.constant('Escape') }).map((value) => todo('keydown', 'cancel', value)),
  fc.record({ id: smallId }).map((value) => todo('click', 'destroy', value)),
  fc.record({ op: opId }).map((value) => todo('click', 'clear-completed', value)),
);

function todo(type: string, event: string, value: unknown): Case {
  return { kind: 'todo', type, event, value, meta: undefined };
}

const caseArb: fc.Arbitrary<Case> = fc.oneof(
  { weight: 10, arbitrary: wellFormed },
  { weight: 2, arbitrary: fc.oneof(fc.string({ maxLength: 120 }), fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v))).map((text) => ({ kind: 'raw' as const, text })) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map((bytes) => ({ kind: 'binary' as const, bytes })) },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant<'frame'>('frame'),
      joinRef: refOrJunk,
      topic: topicOrJunk,
      event: fc.oneof(
        fc.constantFrom('event', 'live_patch', 'heartbeat', 'phx_join', 'phx_leave', 'cids_will_destroy', 'cids_destroyed', 'allow_upload', 'progress'),
        fc.string({ maxLength: 16 }),
      ),
      payload: fc.oneof(fields, fc.jsonValue({ maxDepth: 4 }), fc.record({ url: hostileString }), fc.record({ cids: fc.array(hostileValue, { maxLength: 4 }) })),
    }),
  },
  {
    weight: 10,
    arbitrary: fc.record({
      kind: fc.constant<'todo'>('todo'),
      type: fc.oneof(fc.constantFrom('click', 'form', 'keyup', 'keydown', 'blur', 'focus', 'hook'), fc.string({ maxLength: 8 })),
      event: fc.oneof({ weight: 8, arbitrary: fc.constantFrom(...TODO_EVENTS) }, { weight: 1, arbitrary: hostileString }),
      value: fc.oneof(fields, formBody, hostileValue),
      meta: fc.oneof(fc.constant(undefined), fields),
    }),
  },
);

/** Runs the fuzzer against a started app. Never throws for a finding: it reports it. */
export async function runFuzz(server: StartedApp, options: FuzzOptions): Promise<FuzzStats> {
  const checkEvery = options.checkEvery ?? 250;
  const stats: FuzzStats = {
    cases: 0,
    replies: 0,
    closes: {},
    silent: 0,
    sockets: 0,
    bystanderChecks: 0,
    uncaught: 0,
    storedTodos: 0,
    committedChanges: 0,
    failures: [],
  };
  const onUncaught = (err: unknown) => {
    stats.uncaught++;
    stats.failures.push(`uncaught: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  };
  process.on('uncaughtException', onUncaught);
  process.on('unhandledRejection', onUncaught);

  const bystander = await TodoTab.open(server.url);
  for (const t of BYSTANDER_TITLES) await bystander.add(t);
  const bystanderUser = bystander.client.jar.get('todo_live_session')!.split('.')[0]!;
  const jar = new CookieJar();
  let client: LiveClient | null = null;
  let used = 0;
  let ref = 0;

  const rotate = async (): Promise<LiveClient> => {
    if (client !== null) {
      const old = client;
      old.socket.terminate();
    }
    const next = await LiveClient.open(server.url, '/', { jar, timeoutMs: 5000 });
    const reply = await next.join();
    if (reply.status !== 'ok') stats.failures.push(`a fresh tab of the fuzzed user did not join: ${JSON.stringify(reply)}`);
    stats.sockets++;
    used = 0;
    client = next;
    return next;
  };

  const checkBystander = async (): Promise<void> => {
    stats.bystanderChecks++;
    try {
      const stored = (await server.app.store.load(bystanderUser)).todos.map((t) => t.title);
      if (JSON.stringify(stored) !== JSON.stringify(BYSTANDER_TITLES)) stats.failures.push(`bystander's list changed: ${JSON.stringify(stored)}`);
      if (JSON.stringify(bystander.titles()) !== JSON.stringify(BYSTANDER_TITLES)) stats.failures.push(`bystander's page changed: ${JSON.stringify(bystander.titles())}`);
      const beat = await bystander.client.heartbeat();
      const reply = await bystander.client.change('draft', { op: bystander.addOp(), title: `still here ${stats.cases}` }, 'title');
      if (beat.status !== 'ok' || reply.status !== 'ok') stats.failures.push('the bystander socket stopped answering');
    } catch (err) {
      stats.failures.push(`bystander check failed: ${String(err)}`);
    }
  };

  try {
    let fuzz = await rotate();
    const chunk = 500;
    for (let done = 0; done < options.runs; done += chunk) {
      const cases = fc.sample(caseArb, { numRuns: Math.min(chunk, options.runs - done), seed: options.seed + done });
      for (const c of cases) {
        if (fuzz.socket.readyState !== fuzz.socket.OPEN || used >= 30) fuzz = await rotate();
        used++;
        stats.cases++;
        const myRef = `z${++ref}`;
        const outcome = await sendCase(fuzz, c, myRef);
        if (outcome === 'reply') stats.replies++;
        else if (outcome === 'silent') {
          stats.silent++;
          if (stats.failures.length < 20) stats.failures.push(`no answer and no close for ${describeCase(c)}`);
        } else stats.closes[String(outcome)] = (stats.closes[String(outcome)] ?? 0) + 1;
        if (c.kind === 'frame' && (c.event === 'phx_leave' || c.event === 'phx_join')) used = 30;
        if (stats.cases % checkEvery === 0) {
          await checkBystander();
          options.onProgress?.(stats);
        }
      }
    }
    await checkBystander();

    // The fuzzed user's stored list obeys the title rules and is what a fresh page shows.
    const userId = jar.get('todo_live_session')!.split('.')[0]!;
    const list = await server.app.store.load(userId);
    const stored = list.todos;
    stats.storedTodos = stored.length;
    stats.committedChanges = list.version;
    for (const t of stored) {
      const title = t.title;
      const ok =
        title.length > 0 &&
        title === title.trim() &&
        title === title.normalize('NFC') &&
        !/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(title) &&
        !/\p{Surrogate}/u.test(title) &&
        [...title].length <= 500;
      if (!ok) stats.failures.push(`stored title breaks the rules: ${JSON.stringify(title.slice(0, 80))}`);
    }
    const fresh = await TodoTab.open(server.url, '/', { jar });
    const shown = fresh.titles();
    await fresh.close();
    if (JSON.stringify(shown) !== JSON.stringify(stored.map((t) => t.title))) stats.failures.push('a fresh page of the fuzzed user differs from the store');
    const health = await fetch(`${server.url}/healthz`);
    if (!health.ok) stats.failures.push(`/healthz answered ${health.status}`);
  } finally {
    // `rotate` assigns `client` inside a closure, which narrowing cannot see.
    (client as LiveClient | null)?.socket.terminate();
    await bystander.close().catch(() => {});
    // Late rejections of the run still count; give them a turn to surface.
    await new Promise((r) => setTimeout(r, 50));
    process.off('uncaughtException', onUncaught);
    process.off('unhandledRejection', onUncaught);
  }
  return stats;
}

/** Sends one case; resolves with how the server answered. */
async function sendCase(client: LiveClient, c: Case, ref: string): Promise<'reply' | 'silent' | number> {
  let text: string | null = null;
  let expectRef: string | null = null;
  switch (c.kind) {
    case 'raw':
      text = c.text;
      break;
    case 'binary':
      break;
    case 'frame': {
      const joinRef = c.joinRef === 'current' ? client.joinRef : c.joinRef === 'null' ? null : c.joinRef;
      const topic = c.topic === 'current' ? client.topic : c.topic;
      text = JSON.stringify([joinRef, ref, topic, c.event, c.payload]);
      expectRef = ref;
      break;
    }
    case 'todo': {
      const payload: Record<string, unknown> = { type: c.type, event: c.event, value: c.value };
      if (c.meta !== undefined) payload.meta = c.meta;
      text = JSON.stringify([client.joinRef, ref, client.topic, 'event', payload]);
      expectRef = ref;
      break;
    }
  }
  const answered = client
    .waitFor((f: WireFrame) => (expectRef === null ? true : f[1] === expectRef), 3000)
    .then(
      () => 'reply' as const,
      () => 'silent' as const,
    );
  const closed = client.closed.then((c) => c.code);
  if (c.kind === 'binary') client.socket.send(c.bytes, { binary: true });
  else client.sendText(text ?? '');
  const outcome = await Promise.race([answered, closed]);
  if (outcome === 'silent' && client.socket.readyState !== client.socket.OPEN) return client.closed.then((x) => x.code);
  return outcome;
}

function describeCase(c: Case): string {
  const text = JSON.stringify(c, (_k, v: unknown) => (v instanceof Uint8Array ? `<${v.length} bytes>` : v));
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}
