/**
 * A child process for the crash test: writes to a SQLite store as fast as it can from many
 * users at once and reports on stdout, one line each,
 *   `send {"userId","opId","expectedVersion","mutation"}` before submitting a write and
 *   `ack <opId> <version>` once the store has acknowledged it.
 * It is meant to be killed with SIGKILL at a random moment; it also stops by itself after
 * `maxMs` so a parent that fails to kill it leaves nothing behind.
 *
 * Usage: store-crash-writer <db path> <seed> <users> <maxMs>
 */
import { openSqliteStore } from '../../src/store/index.js';
import type { Mutation } from '../../src/store/index.js';

const [path, seedArg, usersArg, maxMsArg] = process.argv.slice(2);
if (path === undefined) throw new Error('usage: store-crash-writer <db path> <seed> <users> <maxMs>');
let seed = Number(seedArg ?? 1) >>> 0 || 1;
const random = () => {
  // xorshift32: reproducible from the seed the parent prints when a round fails
  seed ^= seed << 13;
  seed >>>= 0;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  seed >>>= 0;
  return seed / 0x1_0000_0000;
};
const users = Number(usersArg ?? 20);
const deadline = Date.now() + Number(maxMsArg ?? 10_000);
const store = openSqliteStore({ path });
const out = (line: string) => process.stdout.write(`${line}\n`);
// Writes to a pipe may wait in the process while the pipe is full (a busy parent reads
// slowly), and SIGKILL drops them. A write may only be submitted once its `send` line has
// reached the pipe, or the oracle could see a stored write that was never announced.
const announce = (line: string) => new Promise<void>((resolve, reject) => process.stdout.write(`${line}\n`, (err) => (err ? reject(err) : resolve())));

async function writer(userId: string): Promise<void> {
  let { version, todos } = await store.load(userId);
  let n = 0;
  let last: { opId: string; expectedVersion: number; mutation: Mutation } | undefined;
  while (Date.now() < deadline) {
    const pick = random();
    const some = () => todos[Math.floor(random() * todos.length)]!.id;
    let request: { opId: string; expectedVersion: number; mutation: Mutation };
    if (last !== undefined && pick < 0.05) {
      request = last; // a retry of an acknowledged write: must not apply twice
    } else {
      const opId = `${process.pid}-${userId}-${++n}`;
      let mutation: Mutation;
      if (todos.length === 0 || pick < 0.5) mutation = { kind: 'add', title: `t ${opId}` };
      else if (pick < 0.65) mutation = { kind: 'toggle', id: some() };
      else if (pick < 0.7) mutation = { kind: 'set_all_completed', completed: random() < 0.5 };
      else if (pick < 0.75) mutation = { kind: 'clear_completed' };
      else if (pick < 0.85) mutation = { kind: 'move', id: some(), toIndex: Math.floor(random() * todos.length) };
      else if (pick < 0.95) mutation = { kind: 'rename', id: some(), title: `r ${opId}` };
      else mutation = { kind: 'delete', id: some() };
      request = { opId, expectedVersion: version, mutation };
    }
    await announce(`send ${JSON.stringify({ userId, ...request })}`);
    const result = await store.apply({ userId, ...request });
    out(`ack ${request.opId} ${result.version}`);
    last = request;
    ({ version, todos } = await store.load(userId));
  }
}

out('ready');
await Promise.all(Array.from({ length: users }, (_, i) => writer(`user-${i}`)));
await store.close();
out('done');
