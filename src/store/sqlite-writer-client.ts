/**
 * The main thread's handle on the SQLite writer thread: starts it, sends requests, matches
 * replies to them, and turns a thread that crashed or exited into a typed error for every
 * request pending or still to come, so that no caller ever waits for an answer that cannot
 * come.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { TodoLiveError } from '../errors.js';
import {
  type CleanupSlice,
  type CleanupSliceResult,
  fromWireError,
  type WireJob,
  type WireOutcome,
  type WriterConfig,
  type WriterOpenFailed,
  type WriterReply,
  type WriterRequest,
} from './sqlite-protocol.js';

type OkReply = Extract<WriterReply, { ok: true }>;
type Pending = { resolve: (reply: OkReply) => void; reject: (err: TodoLiveError) => void };

export class WriterClient {
  readonly #worker: Worker;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  #lost: TodoLiveError | undefined;
  #openFailure: TodoLiveError | undefined;
  #closing = false;
  readonly #exited: Promise<void>;

  constructor(config: WriterConfig) {
    this.#worker = spawnWriter(config);
    // The thread keeps the process alive only while it has work (see #track).
    this.#worker.unref();
    this.#worker.on('message', (message: WriterReply | WriterOpenFailed) => this.#onMessage(message));
    this.#worker.on('error', (err) => {
      this.#fail(
        new TodoLiveError('STORE_CONNECTION_LOST', `expected the SQLite writer thread to be running, but it crashed: ${err.message}`, { cause: err }),
      );
    });
    this.#exited = new Promise((resolve) => {
      this.#worker.once('exit', (code) => {
        this.#fail(
          this.#openFailure ??
            new TodoLiveError(
              'STORE_CONNECTION_LOST',
              `expected the SQLite writer thread to be running, but it ${this.#closing ? 'exited while closing' : 'exited'} (exit code ${code}); writes are refused until the store is opened again`,
              { details: { exitCode: code } },
            ),
        );
        resolve();
      });
    });
  }

  /** The thread itself, for fault-injection tests. */
  get worker(): Worker {
    return this.#worker;
  }

  /**
   * Commits `jobs` in one transaction (shared with other batches that reach the thread while
   * it is committing); resolves with one outcome per job once COMMIT returned, and the number
   * of that commit.
   */
  async batch(jobs: readonly WireJob[]): Promise<{ outcomes: readonly WireOutcome[]; commit: number }> {
    const reply = await this.#send((id) => ({ type: 'batch', id, jobs }));
    if (reply.type !== 'batch') throw unexpected(reply.type, 'batch');
    return { outcomes: reply.outcomes, commit: reply.commit };
  }

  /** Runs one slice of a cleanup in its own transaction (see {@link CleanupSlice}). */
  async cleanupSlice(slice: CleanupSlice): Promise<CleanupSliceResult> {
    const reply = await this.#send((id) => ({ type: 'cleanup', id, slice }));
    if (reply.type !== 'cleanup') throw unexpected(reply.type, 'cleanup');
    return { result: reply.result, bumped: reply.bumped, next: reply.next };
  }

  /** Asks the thread to close its connection, then ends the thread. */
  async close(): Promise<void> {
    this.#closing = true;
    try {
      if (this.#lost === undefined) await this.#send((id) => ({ type: 'close', id }));
    } finally {
      // The connection is closed once the reply is here: nothing is lost by ending the thread now.
      await this.#worker.terminate();
      await this.#exited;
    }
  }

  /** Sends the request `build` makes with its id (built whole: a spread of the id into it costs ~1 µs). */
  #send(build: (id: number) => WriterRequest): Promise<OkReply> {
    if (this.#lost !== undefined) return Promise.reject(this.#lost);
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#track();
      this.#worker.postMessage(build(id));
    });
  }

  #onMessage(message: WriterReply | WriterOpenFailed): void {
    if (message.type === 'open-failed') {
      // The thread ends right after this; its exit fails everything with this error.
      this.#openFailure = fromWireError(message.error);
      return;
    }
    const pending = this.#pending.get(message.id);
    if (pending === undefined) return;
    this.#pending.delete(message.id);
    this.#track();
    if (message.ok) pending.resolve(message);
    else pending.reject(fromWireError(message.error));
  }

  #fail(error: TodoLiveError): void {
    if (this.#lost !== undefined) return;
    this.#lost = error;
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const p of pending) p.reject(error);
  }

  #track(): void {
    if (this.#pending.size > 0) this.#worker.ref();
    else this.#worker.unref();
  }
}

function unexpected(got: string, expected: string): TodoLiveError {
  return new TodoLiveError('STORE_FAILED', `expected a ${expected} reply from the SQLite writer thread, got a ${got} reply`);
}

/**
 * Starts the thread from the build (`.js` next to this file) or, when this file runs from
 * source through tsx, from the `.ts` source. tsx does not load TypeScript in worker threads
 * on every Node version it supports, so then the thread registers tsx's require hook itself
 * (synchronous and in-thread: it starts faster than tsx's module hooks, which need a thread
 * of their own).
 */
function spawnWriter(config: WriterConfig): Worker {
  if (!import.meta.url.endsWith('.ts')) {
    return new Worker(new URL('./sqlite-writer-thread.js', import.meta.url), { workerData: config });
  }
  const entry = fileURLToPath(new URL('./sqlite-writer-thread.ts', import.meta.url));
  const tsx = createRequire(import.meta.url).resolve('tsx/cjs/api');
  // Valid both as a script and as a module (`--input-type=module` is inherited by eval code).
  const bootstrap = `const load = process.getBuiltinModule('node:module').createRequire(${JSON.stringify(entry)});
    load(${JSON.stringify(tsx)}).register();
    load(${JSON.stringify(entry)});`;
  return new Worker(bootstrap, { eval: true, workerData: config });
}
