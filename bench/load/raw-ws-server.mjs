// The raw baseline: a bare `ws` server on 127.0.0.1:$PORT with no framework. Each text frame
// is parsed as JSON (as any server must) and answered with a frame of $REPLY_BYTES that
// carries the request's ref, so round trips compare like for like with the live server's
// event → reply. Idle sockets cost only what `ws` itself keeps per connection.
//
// With $DURABLE_DB the echo is durable: each frame becomes one row INSERTed into that SQLite
// file (WAL, synchronous=FULL), and its reply is sent only after the COMMIT that holds it
// returned. The frames of one event-loop turn share one transaction (one fsync), committed
// on the event loop at the end of the turn: no thread hop, no framework, nothing else on the
// path, so it is the floor for an acknowledgement that waits for the disk.
//
// With $DURABLE_THREAD=1 as well, the same commits run on a worker thread, scheduled as our
// store schedules them: frames go to an idle thread as soon as the current microtasks have run,
// to a busy one at the end of the turn, and the thread commits every batch waiting on its port
// in one transaction. The event loop never waits for the disk, at the price of a round trip
// between threads: the floor for a server built that way.
import Database from 'better-sqlite3';
import { isMainThread, parentPort, receiveMessageOnPort, Worker, workerData } from 'node:worker_threads';
import { WebSocketServer } from 'ws';

/** Opens the durable echo's table; returns a function committing many refs in one transaction. */
function openEvents(path) {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec('CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY, ref TEXT, at INTEGER NOT NULL)');
  const insert = db.prepare('INSERT INTO events (ref, at) VALUES (?, ?)');
  return db.transaction((refs) => {
    for (const ref of refs) insert.run(ref, Date.now());
  });
}

/** The worker thread: commits the batches waiting together, answers with their ids. */
function commitOnThread() {
  const commitRefs = openEvents(workerData.path);
  parentPort.on('message', (first) => {
    const batches = [first];
    for (let m = receiveMessageOnPort(parentPort); m !== undefined; m = receiveMessageOnPort(parentPort)) batches.push(m.message);
    commitRefs(batches.length === 1 ? first.refs : batches.flatMap((b) => b.refs));
    parentPort.postMessage(batches.map((b) => b.id));
  });
}

/** Durable acknowledgements on a worker thread: `(ws, frame) => void`. */
function threadedCommits(path, reply) {
  const worker = new Worker(new URL(import.meta.url), { workerData: { path } });
  const waiting = new Map();
  let nextId = 1;
  let inFlight = 0;
  let open = [];
  let scheduled = false;
  const send = () => {
    scheduled = false;
    const id = nextId++;
    waiting.set(id, open);
    worker.postMessage({ id, refs: open.map(([, frame]) => String(frame[1])) });
    open = [];
    inFlight++;
  };
  worker.on('message', (ids) => {
    for (const id of ids) {
      inFlight--;
      for (const [ws, frame] of waiting.get(id)) ws.send(reply(frame));
      waiting.delete(id);
    }
  });
  worker.on('error', (err) => {
    console.error(err);
    process.exit(1);
  });
  return (ws, frame) => {
    open.push([ws, frame]);
    if (scheduled) return;
    scheduled = true;
    if (inFlight === 0) queueMicrotask(send);
    else setImmediate(send);
  };
}

/** Durable acknowledgements committed on the event loop at the end of each turn. */
function inlineCommits(path, reply) {
  const commitRefs = openEvents(path);
  let pending = [];
  const flush = () => {
    const items = pending;
    pending = [];
    commitRefs(items.map(([, frame]) => String(frame[1])));
    for (const [ws, frame] of items) ws.send(reply(frame));
  };
  return (ws, frame) => {
    if (pending.length === 0) setImmediate(flush);
    pending.push([ws, frame]);
  };
}

function serve() {
  const port = Number(process.env.PORT);
  const replyBytes = Number(process.env.REPLY_BYTES ?? 150);
  const wss = new WebSocketServer({ host: '127.0.0.1', port, perMessageDeflate: false, maxPayload: 64 * 1024 });

  const reply = (frame) => {
    const ref = Array.isArray(frame) ? frame[1] : null;
    const head = JSON.stringify([frame[0] ?? null, ref, frame[2] ?? 'echo', 'phx_reply', { status: 'ok', response: { pad: '' } }]);
    const pad = 'x'.repeat(Math.max(0, replyBytes - head.length));
    return JSON.stringify([frame[0] ?? null, ref, frame[2] ?? 'echo', 'phx_reply', { status: 'ok', response: { pad } }]);
  };

  const path = process.env.DURABLE_DB;
  // Takes frames that are arrays (the caller checks).
  const durable = !path ? null : process.env.DURABLE_THREAD === '1' ? threadedCommits(path, reply) : inlineCommits(path, reply);

  wss.on('connection', (ws) => {
    ws.on('message', (data) => {
      let frame;
      try {
        frame = JSON.parse(String(data));
      } catch {
        ws.close(1007);
        return;
      }
      // Heartbeats are answered at once, as a live server does.
      if (durable !== null && Array.isArray(frame) && frame[2] !== 'phoenix') durable(ws, frame);
      else ws.send(reply(frame));
    });
  });
  process.on('SIGTERM', () => {
    for (const ws of wss.clients) ws.terminate();
    wss.close(() => process.exit(0));
  });
}

if (isMainThread) serve();
else commitOnThread();
