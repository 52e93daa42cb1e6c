/**
 * Entry point of the SQLite writer thread: owns the writer connection and answers the
 * store's requests one at a time, in the order they arrive.
 */
import { parentPort, workerData } from 'node:worker_threads';
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
  port.on('message', (request: WriterRequest) => {
    let reply: WriterReply;
    try {
      switch (request.type) {
        case 'batch': {
          const outcomes: WireOutcome[] = open.runBatch(request.jobs).map((o) => (o.ok ? o : { ok: false, error: toWireError(o.error) }));
          reply = { type: 'batch', id: request.id, ok: true, outcomes };
          break;
        }
        case 'cleanup':
          reply = { type: 'cleanup', id: request.id, ok: true, ...open.cleanup(request.cutoffs) };
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
  });
}
