/**
 * Entry point of the SQLite writer thread: owns the writer connection and answers the
 * store's requests in the order they arrive, committing the batches that wait together.
 */
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { isTodoLiveError, TodoLiveError } from '../errors.js';
import { toWireError, type WireError, type WireOutcome, type WriterConfig, type WriterReply, type WriterRequest } from './sqlite-protocol.js';
import { SqliteWriter } from './sqlite-writer.js';

const port = parentPort;
if (port === null) throw new Error('sqlite-writer-thread: expected to run in a worker thread');

function asWireError(err: unknown, action: string): WireError {
  if (isTodoLiveError(err)) return toWireError(err);
  return toWireError(new TodoLiveError('STORE_FAILED', `${action}: the writer thread failed unexpectedly (${err instanceof Error ? err.message : String(err)})`, { cause: err }));
}

let writer: SqliteWriter | undefined;
try {
  writer = new SqliteWriter(workerData as WriterConfig);
} catch (err) {
  // With no listener on the port the thread ends by itself once this message is out.
  port.postMessage({ type: 'open-failed', error: asWireError(err, 'open') });
}

if (writer !== undefined) {
  const open = writer;
  let commits = 0;
  const next = (): WriterRequest | undefined => (receiveMessageOnPort(port)?.message as WriterRequest | undefined);

  /**
   * Commits the batches in one transaction: every batch that reached the thread while the
   * previous commit ran shares the next one (one fsync for all of them).
   */
  const commitTogether = (batches: Extract<WriterRequest, { type: 'batch' }>[]): void => {
    const jobs = batches.length === 1 ? batches[0]!.jobs : batches.flatMap((b) => b.jobs);
    let outcomes: WireOutcome[];
    try {
      outcomes = open.runBatch(jobs).map((o) => (o.ok ? o : { ok: false, error: toWireError(o.error) }));
    } catch (err) {
      const error = asWireError(err, 'batch');
      for (const b of batches) port.postMessage({ type: 'batch', id: b.id, ok: false, error } satisfies WriterReply);
      return;
    }
    commits++;
    let at = 0;
    for (const b of batches) {
      const mine = batches.length === 1 ? outcomes : outcomes.slice(at, at + b.jobs.length);
      at += b.jobs.length;
      port.postMessage({ type: 'batch', id: b.id, ok: true, outcomes: mine, commit: commits } satisfies WriterReply);
    }
  };

  const answer = (request: Exclude<WriterRequest, { type: 'batch' }>): void => {
    let reply: WriterReply;
    try {
      switch (request.type) {
        case 'cleanup':
          reply = { type: 'cleanup', id: request.id, ok: true, ...open.cleanupSlice(request.slice) };
          break;
        case 'close':
          open.close();
          reply = { type: 'close', id: request.id, ok: true };
          break;
      }
    } catch (err) {
      reply = { type: request.type, id: request.id, ok: false, error: asWireError(err, request.type) };
    }
    port.postMessage(reply);
  };

  // Requests are answered in the order they arrive. Batches already waiting behind this one
  // are taken off the port now and committed with it; a cleanup or close ends the group.
  port.on('message', (first: WriterRequest) => {
    let request: WriterRequest | undefined = first;
    while (request !== undefined) {
      if (request.type !== 'batch') {
        answer(request);
        if (request.type === 'close') return;
        request = next();
        continue;
      }
      const batches = [request];
      for (request = next(); request?.type === 'batch'; request = next()) batches.push(request);
      commitTogether(batches);
      // What arrived during the commit is taken now, not after a trip through the event loop.
      request ??= next();
    }
  });
}
