import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { openDatabase, prepare } from '../../src/store/sqlite-handles.js';
import { openSqliteStore } from '../../src/store/index.js';
import type { Mutation } from '../../src/store/index.js';
import { makeTempDir } from '../support/temp-dir.js';
import { TodoModel } from '../support/todo-model.js';

const dir = makeTempDir('crash');
after(() => dir.remove());
const writerScript = new URL('../support/store-crash-writer.ts', import.meta.url).pathname;

interface Sent {
  userId: string;
  opId: string;
  expectedVersion: number;
  mutation: Mutation;
}

/** Runs the writer until it has made some progress, kills it with SIGKILL, returns what it printed. */
async function crashOnce(path: string, seed: number, killAfterAcks: number): Promise<string> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', writerScript, path, String(seed), '20', '15000'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let acks = 0;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  // A watchdog: the round never outlives 20 s even if the writer hangs.
  const watchdog = setTimeout(() => child.kill('SIGKILL'), 20_000);
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  child.stdout!.on('data', (d: Buffer) => {
    const text = d.toString();
    stdout += text;
    acks += text.split('\nack ').length - 1 + (text.startsWith('ack ') ? 1 : 0);
    if (acks >= killAfterAcks && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const { signal } = await exited;
  clearTimeout(watchdog);
  // Lines already in the pipe are delivered after exit; wait for the stream to end.
  if (!child.stdout!.readableEnded) await new Promise((r) => child.stdout!.once('end', r));
  assert.equal(signal, 'SIGKILL', `the writer ended by itself: ${stderr.slice(-2000)}`);
  return stdout;
}

describe('SQLite store under SIGKILL', () => {
  it('keeps every acknowledged write exactly once and no half-applied write, over several crashes', async () => {
    const path = join(dir.path, 'crash.sqlite');
    const sent = new Map<string, Sent>();
    const acked = new Map<string, number>();
    const rounds = 4;
    for (let round = 0; round < rounds; round++) {
      const seed = 1 + Math.floor(Math.random() * 1_000_000);
      const killAfter = 50 + Math.floor(Math.random() * 400);
      const output = await crashOnce(path, seed, killAfter);
      for (const line of output.split('\n')) {
        if (line.startsWith('send ')) {
          const s = JSON.parse(line.slice(5)) as Sent;
          if (!sent.has(s.opId)) sent.set(s.opId, s);
        } else if (line.startsWith('ack ')) {
          const [, opId, version] = line.split(' ');
          acked.set(opId!, Number(version));
        }
      }
      verify(path, sent, acked, `round ${round} (seed ${seed}, killed after ${killAfter} acks)`);
    }
    assert.ok(acked.size >= rounds * 50, `expected at least ${rounds * 50} acknowledged writes, got ${acked.size}`);
    // The lock died with the process: a normal open works and sees the same data.
    const store = openSqliteStore({ path });
    try {
      assert.equal((await store.load('user-0')).version > 0, true);
    } finally {
      await store.close();
    }
  });
});

/** Checks the database against what the writers said: the acknowledged-writes oracle. */
function verify(path: string, sent: Map<string, Sent>, acked: Map<string, number>, where: string): void {
  const db = openDatabase(path, { readonly: true });
  try {
    const ops = prepare(db, 'SELECT user_id, op_id, version, todo_id FROM operations ORDER BY user_id, version').all() as {
      user_id: string;
      op_id: string;
      version: number;
      todo_id: number | null;
    }[];
    const committed = new Map(ops.map((o) => [o.op_id, o]));
    for (const [opId, version] of acked) {
      const op = committed.get(opId);
      assert.ok(op !== undefined, `${where}: acknowledged write ${opId} is missing`);
      assert.equal(op.version, version, `${where}: ${opId} was acknowledged at version ${version}`);
    }
    const byUser = new Map<string, typeof ops>();
    for (const o of ops) {
      assert.ok(sent.has(o.op_id), `${where}: ${o.op_id} is stored but was never sent`);
      byUser.set(o.user_id, [...(byUser.get(o.user_id) ?? []), o]);
    }
    for (const [userId, userOps] of byUser) {
      const model = new TodoModel();
      for (const o of userOps) {
        assert.equal(o.version, model.version + 1, `${where}: ${userId} has a gap or a repeat at version ${o.version}`);
        const s = sent.get(o.op_id)!;
        assert.equal(s.expectedVersion, model.version, `${where}: ${o.op_id} was applied on the wrong version`);
        assert.ok(model.apply(s.mutation, () => o.todo_id!), `${where}: ${o.op_id} is stored but could not apply`);
      }
      const user = prepare(db, 'SELECT version FROM users WHERE id = ?').get(userId) as { version: number };
      assert.equal(user.version, model.version, `${where}: ${userId}'s version disagrees with its operations`);
      const rows = prepare(db, 'SELECT id, title, completed FROM todos WHERE user_id = ? ORDER BY position, id').all(userId) as {
        id: number;
        title: string;
        completed: number;
      }[];
      assert.deepEqual(
        rows.map((r) => ({ id: r.id, title: r.title, completed: r.completed === 1 })),
        model.todos,
        `${where}: ${userId}'s todos are not the result of its committed operations`,
      );
    }
  } finally {
    db.close();
  }
}
